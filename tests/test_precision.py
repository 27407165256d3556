"""`kgan.precision` and `train(precision=...)`: which dtype policy a run uses, that the networks
are built with it and keep it, and that exports of a mixed-precision generator compute in
float32 with its weights."""

import json

import keras
import numpy as np
import onnxruntime
import pytest
import tensorflow as tf

import kgan
from kgan import export, precision
from kgan.runs import folder as run_folder
from kgan.training import train

SMALL = dict(num_samples=64, batch_size=32, base_filters=8, latent_dim=8)


@pytest.mark.parametrize(
    "flags, expected",
    [
        ("fpu sse avx512f avx512_bf16 avx512_vnni", True),
        ("fpu sse amx_bf16 amx_tile", True),
        ("fpu sse avx2 avx512f", False),
    ],
)
def test_cpu_has_bfloat16_reads_the_cpu_flags(tmp_path, flags, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\nbogomips\t: 4000\n")
    assert precision.cpu_has_bfloat16(str(cpuinfo)) is expected
    assert precision.cpu_has_bfloat16(str(tmp_path / "missing")) is False


@pytest.mark.parametrize("has_bfloat16, expected", [(True, "mixed_bfloat16"), (False, "float32")])
def test_auto_uses_bfloat16_only_on_a_cpu_that_has_it(monkeypatch, has_bfloat16, expected):
    monkeypatch.setattr(precision, "cpu_has_bfloat16", lambda: has_bfloat16)
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    assert precision.resolve("auto") == expected
    # Not yet measured on a GPU: float32 there.
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["GPU:0"])
    assert precision.resolve("auto") == "float32"
    for explicit in ("float32", "mixed_bfloat16", "mixed_float16"):
        assert precision.resolve(explicit) == explicit
    # A policy the user set is kept.
    keras.mixed_precision.set_global_policy("mixed_float16")
    assert precision.resolve("auto") == "mixed_float16"
    assert precision.resolve("float32") == "float32"


def test_unknown_precision_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="`precision` must be one of .*Received: precision='fp8'"):
        precision.resolve("fp8")
    with pytest.raises(ValueError, match="Received: precision='bf16'"):
        train(tmp_path / "run", epochs=1, verbose=0, precision="bf16", **SMALL)
    assert not (tmp_path / "run").exists()


def test_policy_scope_restores_the_previous_policy_after_an_error():
    with pytest.raises(RuntimeError):
        with precision.policy_scope("mixed_bfloat16"):
            assert keras.config.dtype_policy().name == "mixed_bfloat16"
            raise RuntimeError("inside")
    assert keras.config.dtype_policy().name == "float32"


@pytest.fixture(scope="module")
def bfloat16_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("bf16") / "run"
    gan, _ = train(run, epochs=1, verbose=0, precision="mixed_bfloat16", **SMALL)
    return run, gan


def test_a_bfloat16_run_computes_in_bfloat16_and_records_it(bfloat16_run):
    run, gan = bfloat16_run
    # The global policy is back to float32 after training ...
    assert keras.config.dtype_policy().name == "float32"
    # ... while the networks keep theirs, float32 weights and float32 outputs.
    for network in (gan.generator, gan.discriminator, gan.inference_generator):
        assert any(layer.compute_dtype == "bfloat16" for layer in network.layers)
        assert all(weight.dtype == "float32" for weight in network.weights)
    assert gan.generate(2, seed=0).dtype == np.float32
    config = json.loads((run / "config.json").read_text())
    assert config["precision"] == "mixed_bfloat16" and config["dtype_policy"] == "mixed_bfloat16"
    loaded = keras.saving.load_model(run / "model.keras")
    assert any(layer.compute_dtype == "bfloat16" for layer in loaded.inference_generator.layers)
    # Loaded where the global policy is float32, every layer (the blocks' sublayers too) keeps
    # the policy it was trained with: the same images, bit for bit.
    for network in (loaded.generator, loaded.discriminator, loaded.inference_generator):
        assert all(weight.dtype == "float32" for weight in network.weights)
        for block in network.layers:
            for sublayer in getattr(block, "_sublayers", []):
                assert sublayer.dtype_policy.name == block.dtype_policy.name == "mixed_bfloat16"
    np.testing.assert_array_equal(loaded.generate(3, seed=0), gan.generate(3, seed=0))


def test_exports_of_a_bfloat16_generator_compute_in_float32(bfloat16_run, tmp_path):
    _, gan = bfloat16_run
    z = np.random.default_rng(0).normal(size=(5, gan.latent_dim)).astype("float32")
    with precision.policy_scope("mixed_bfloat16"):  # Whatever the global policy is.
        full = export.float32_copy(gan.inference_generator)
    assert all(layer.compute_dtype == "float32" for layer in full.layers)
    for block in full.layers:
        assert all(sub.compute_dtype == "float32" for sub in getattr(block, "_sublayers", []))
    expected = keras.ops.convert_to_numpy(full(z, training=False))
    bfloat16 = keras.ops.convert_to_numpy(gan.inference_generator(z, training=False))
    # The same weights: bfloat16 arithmetic (8 bits of mantissa) is all that differs.
    assert 0 < np.max(np.abs(bfloat16 - expected)) < 0.1

    saved = export.to_saved_model(gan, tmp_path / "saved")
    serve = tf.saved_model.load(saved).signatures["serving_default"]
    images = serve(z=tf.constant(z))["images"]
    assert images.dtype == tf.float32
    np.testing.assert_allclose(images.numpy(), expected, atol=1e-5)

    onnx_path = export.to_onnx(gan, tmp_path / "g.onnx")
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (onnx_images,) = session.run(["images"], {"z": z})
    np.testing.assert_allclose(onnx_images, expected, atol=1e-4)


def test_float32_copy_keeps_a_float32_generator_itself():
    generator = kgan.models.mlp_generator((4,), latent_dim=2, hidden_units=(8,))
    assert export.float32_copy(generator) is generator


def test_auto_refuses_a_global_policy_with_16_bit_weights():
    keras.mixed_precision.set_global_policy("bfloat16")
    with pytest.raises(ValueError, match="float32 weights.*Received: precision='auto'"):
        precision.resolve("auto")


@pytest.mark.parametrize(
    "saved, requested, same",
    [
        # A run from before the option: float32, and "auto" or "float32" resume it.
        ({}, "auto", True),
        ({}, "float32", True),
        ({}, "mixed_bfloat16", False),
        ({"precision": "auto", "dtype_policy": "mixed_bfloat16"}, "auto", True),
        ({"precision": "auto", "dtype_policy": "mixed_bfloat16"}, "mixed_bfloat16", True),
        ({"precision": "auto", "dtype_policy": "mixed_bfloat16"}, "float32", False),
        ({"precision": "float32", "dtype_policy": "float32"}, "auto", False),
    ],
)
def test_which_precision_requests_continue_a_saved_run(saved, requested, same):
    assert run_folder.same_command(saved, {"precision": requested}) is same


def test_a_resumed_run_keeps_the_policy_it_was_trained_in(tmp_path, monkeypatch):
    """A run that "auto" started in bfloat16 continues in bfloat16 where "auto" would now pick
    float32 (another machine, a GPU appeared), and a run from before the option in float32."""
    run = tmp_path / "run"
    train(run, epochs=1, verbose=0, precision="auto", **SMALL)
    config = json.loads((run / "config.json").read_text())
    # Make it the record of an "auto" run that picked bfloat16 and was killed before its end.
    (run / "config.json").write_text(json.dumps({**config, "dtype_policy": "mixed_bfloat16"}))
    (run / "model.keras").unlink()
    monkeypatch.setattr(precision, "resolve", lambda name: "float32")
    gan, _ = train(run, epochs=1, verbose=0, precision="auto", **SMALL)
    assert any(layer.compute_dtype == "bfloat16" for layer in gan.generator.layers)
    assert json.loads((run / "config.json").read_text())["dtype_policy"] == "mixed_bfloat16"
    older = {
        key: value for key, value in config.items() if key not in ("precision", "dtype_policy")
    }
    assert run_folder.saved_policy(older) == "float32"


def test_float32_copy_of_conditional_averaged_and_nested_generators():
    with precision.policy_scope("mixed_bfloat16"):
        keras.utils.set_random_seed(0)
        inner = kgan.models.dcgan_generator((8, 8, 1), latent_dim=4, num_classes=3, base_filters=8)
        z = keras.Input((4,), name="z")
        labels = keras.Input((), dtype="int32", name="labels")
        nested = keras.Model([z, labels], inner([z, labels]), name="nested")
        discriminator = kgan.models.dcgan_discriminator((8, 8, 1), num_classes=3, base_filters=8)
        gan = kgan.GAN(nested, discriminator, num_classes=3, ema_decay=0.9)
    assert gan.inference_generator is not gan.generator
    for weight in gan.inference_generator.weights:  # Averages that differ from the live weights.
        weight.assign(weight + 0.01)
    rng = np.random.default_rng(0)
    inputs = [rng.normal(size=(4, 4)).astype("float32"), np.array([0, 1, 2, 0], "int32")]
    for network in (gan.generator, gan.inference_generator):
        copy = export.float32_copy(network)
        assert all(
            layer.dtype_policy.compute_dtype == "float32"
            for layer in copy._flatten_layers(include_self=False)
        )
        # The copy's images are the float32 computation of the same weights.
        reference = keras.ops.convert_to_numpy(network(inputs, training=False))
        images = keras.ops.convert_to_numpy(copy(inputs, training=False))
        assert 0 < np.max(np.abs(images - reference)) < 0.1
        for mine, theirs in zip(copy.weights, network.weights):
            np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    source = export.resolve_generator(gan)
    np.testing.assert_array_equal(
        source.keras_samples(*inputs),
        keras.ops.convert_to_numpy(export.float32_copy(gan.inference_generator)(inputs)),
    )


def test_float16_networks_get_loss_scaling_wherever_compile_is_called():
    with precision.policy_scope("mixed_float16"):
        generator = kgan.models.mlp_generator((4,), latent_dim=2, hidden_units=(8,))
        discriminator = kgan.models.mlp_discriminator((4,), hidden_units=(8,))
    gan = kgan.GAN(generator, discriminator)
    gan.compile()  # Under the float32 global policy.
    assert isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)


def test_spectral_normalisation_keeps_float32_weights_under_bfloat16():
    with precision.policy_scope("mixed_bfloat16"):
        block = kgan.layers.DownsampleBlock(8, spectral_norm=True)
        dense = kgan.models.mlp_discriminator((4,), hidden_units=(16,), spectral_norm=True)
    images = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
    for _ in range(2):
        block(images, training=True)  # Writes the normalised kernel back into its variable.
        dense(images[:, 0, 0, :1].repeat(4, axis=1), training=True)
    for layer in (block, dense):
        kernels = [w.numpy() for w in layer.weights if w.path.endswith("kernel")]
        assert kernels
        for kernel in kernels:
            assert kernel.dtype == np.float32
            # Not rounded to bfloat16's 8 bits of mantissa.
            rounded = tf.cast(tf.cast(kernel, tf.bfloat16), tf.float32).numpy()
            assert np.any(kernel != rounded)

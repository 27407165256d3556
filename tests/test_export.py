"""Tests of kgan.export: SavedModel in TF Serving's layout, ONNX, and `kgan export`.

Every export is reloaded (tf.saved_model.load, onnxruntime) and compared with the Keras
generator in inference mode at two batch sizes. The generators' batch-norm moving statistics
are set to non-trivial values first, so that an export running in training mode (batch
statistics) would fail the comparison.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import onnx
import onnxruntime
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

import kgan
from kgan import export
from kgan.images import to_uint8

LATENT_DIM = 8
NUM_CLASSES = 3
BATCH_SIZES = (1, 7)


def _randomize_batch_norm(generator, seed=0):
    rng = np.random.default_rng(seed)
    for variable in generator.weights:
        if variable.path.endswith("moving_mean"):
            variable.assign(rng.normal(0.0, 0.5, variable.shape).astype("float32"))
        elif variable.path.endswith("moving_variance"):
            variable.assign(rng.uniform(0.5, 2.0, variable.shape).astype("float32"))


def _shifted_dcgan():
    """A generator that surely differs from `_dcgan()`'s: every test starts from the same seed."""
    model = _dcgan()
    for weight in model.generator.trainable_weights:
        weight.assign(weight + 0.05)
    return model


def _dcgan(num_classes=None, image_shape=(8, 8, 1), model_class=kgan.GAN, **kwargs):
    generator = kgan.models.dcgan_generator(
        image_shape, latent_dim=LATENT_DIM, num_classes=num_classes, base_filters=8
    )
    discriminator = kgan.models.dcgan_discriminator(
        image_shape, num_classes=num_classes, base_filters=8
    )
    _randomize_batch_norm(generator)
    model = model_class(generator, discriminator, num_classes=num_classes, **kwargs)
    model.compile()
    return model


def _inputs(batch_size, num_classes=None, seed=0):
    rng = np.random.default_rng(seed + batch_size)
    z = rng.normal(size=(batch_size, LATENT_DIM)).astype("float32")
    labels = None if num_classes is None else (np.arange(batch_size) % num_classes).astype("int32")
    return z, labels


def _keras_images(generator, z, labels=None):
    inputs = z if labels is None else [z, labels]
    return keras.ops.convert_to_numpy(generator(inputs, training=False))


@pytest.fixture(scope="module")
def unconditional():
    return _dcgan()


@pytest.fixture(scope="module")
def conditional():
    return _dcgan(NUM_CLASSES)


@pytest.fixture(scope="module")
def unconditional_export(unconditional, tmp_path_factory):
    base_dir = tmp_path_factory.mktemp("savedmodels") / "uncond"
    history = {"d_loss": [0.9, 0.7], "g_loss": [1.2, 1.1]}
    return export.to_saved_model(unconditional, base_dir, max_samples=16, history=history)


@pytest.fixture(scope="module")
def conditional_export(conditional, tmp_path_factory):
    base_dir = tmp_path_factory.mktemp("savedmodels") / "cond"
    return export.to_saved_model(conditional, base_dir, max_samples=16)


def _signature_defs(export_dir):
    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(export_dir, "saved_model.pb"), "rb") as file:
        saved_model.ParseFromString(file.read())
    return saved_model.meta_graphs[0].signature_def


# ---------------------------------------------------------------------------------- SavedModel


def test_saved_model_signatures_unconditional(unconditional_export):
    assert os.path.basename(unconditional_export) == "1"
    loaded = tf.saved_model.load(unconditional_export)
    assert set(loaded.signatures) == {"serving_default", "generate"}

    serve = loaded.signatures["serving_default"]
    assert serve.structured_input_signature == (
        (),
        {"z": tf.TensorSpec([None, LATENT_DIM], tf.float32, name="z")},
    )
    assert serve.structured_outputs == {
        "images": tf.TensorSpec([None, 8, 8, 1], tf.float32, name="images")
    }
    generate = loaded.signatures["generate"]
    assert generate.structured_input_signature == (
        (),
        {
            "num_samples": tf.TensorSpec([], tf.int32, name="num_samples"),
            "seed": tf.TensorSpec([], tf.int64, name="seed"),
        },
    )
    assert generate.structured_outputs == {
        "images": tf.TensorSpec([None, 8, 8, 1], tf.uint8, name="images")
    }
    for name, signature in _signature_defs(unconditional_export).items():
        if name in ("serving_default", "generate"):
            assert signature.method_name == "tensorflow/serving/predict"


def test_saved_model_signatures_conditional(conditional_export):
    loaded = tf.saved_model.load(conditional_export)
    _, serve_inputs = loaded.signatures["serving_default"].structured_input_signature
    assert serve_inputs == {
        "z": tf.TensorSpec([None, LATENT_DIM], tf.float32, name="z"),
        "labels": tf.TensorSpec([None], tf.int32, name="labels"),
    }
    _, generate_inputs = loaded.signatures["generate"].structured_input_signature
    assert set(generate_inputs) == {"num_samples", "seed", "labels"}
    assert generate_inputs["labels"] == tf.TensorSpec([None], tf.int32, name="labels")
    signature_defs = _signature_defs(conditional_export)
    assert set(signature_defs["serving_default"].inputs) == {"z", "labels"}
    assert set(signature_defs["serving_default"].outputs) == {"images"}


@pytest.mark.parametrize("conditional_model", [False, True], ids=["unconditional", "conditional"])
def test_saved_model_matches_keras_at_two_batch_sizes(
    conditional_model, unconditional, conditional, unconditional_export, conditional_export
):
    model = conditional if conditional_model else unconditional
    path = conditional_export if conditional_model else unconditional_export
    serve = tf.saved_model.load(path).signatures["serving_default"]
    for batch_size in BATCH_SIZES:
        z, labels = _inputs(batch_size, model.num_classes)
        feeds = {"z": tf.constant(z)}
        if labels is not None:
            feeds["labels"] = tf.constant(labels)
        exported = serve(**feeds)["images"].numpy()
        expected = _keras_images(model.generator, z, labels)
        assert exported.shape == (batch_size, 8, 8, 1)
        np.testing.assert_allclose(exported, expected, atol=1e-5, rtol=0)
        # Inference mode: training mode (batch statistics) gives other images. A copy runs in
        # training mode because that updates the moving statistics.
        copy = keras.models.clone_model(model.generator)
        copy.set_weights(model.generator.get_weights())
        training = keras.ops.convert_to_numpy(
            copy(z if labels is None else [z, labels], training=True)
        )
        if batch_size > 1:
            assert np.max(np.abs(training - exported)) > 1e-2


def test_generate_signature_reproduces_keras_generate_per_seed(unconditional, unconditional_export):
    generate = tf.saved_model.load(unconditional_export).signatures["generate"]

    def call(num_samples, seed):
        return generate(
            num_samples=tf.constant(num_samples, tf.int32), seed=tf.constant(seed, tf.int64)
        )["images"].numpy()

    first = call(6, 42)
    assert first.dtype == np.uint8 and first.shape == (6, 8, 8, 1)
    np.testing.assert_array_equal(call(6, 42), first)
    assert np.any(call(6, 43) != first)
    expected = to_uint8(unconditional.generate(6, seed=42)).astype(int)
    assert np.max(np.abs(first.astype(int) - expected)) <= 1


def test_generate_signature_conditional_uses_labels(conditional, conditional_export):
    generate = tf.saved_model.load(conditional_export).signatures["generate"]
    labels = np.array([2, 0, 1, 1], "int32")
    images = generate(
        num_samples=tf.constant(4), seed=tf.constant(7, tf.int64), labels=tf.constant(labels)
    )["images"].numpy()
    expected = to_uint8(conditional.generate(4, seed=7, labels=labels)).astype(int)
    assert np.max(np.abs(images.astype(int) - expected)) <= 1
    other = generate(
        num_samples=tf.constant(4), seed=tf.constant(7, tf.int64), labels=tf.constant(labels[::-1])
    )["images"].numpy()
    assert np.any(other != images)


def test_generate_signature_rejects_too_many_samples(conditional_export, unconditional_export):
    generate = tf.saved_model.load(unconditional_export).signatures["generate"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="must be at most 16"):
        generate(num_samples=tf.constant(17), seed=tf.constant(0, tf.int64))
    with pytest.raises(tf.errors.InvalidArgumentError, match="must be at least 1"):
        generate(num_samples=tf.constant(0), seed=tf.constant(0, tf.int64))
    assert generate(num_samples=tf.constant(16), seed=tf.constant(0, tf.int64))["images"].shape == (
        16,
        8,
        8,
        1,
    )

    generate = tf.saved_model.load(conditional_export).signatures["generate"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="one label per sample"):
        generate(
            num_samples=tf.constant(3), seed=tf.constant(0, tf.int64), labels=tf.zeros([2], "int32")
        )
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"classes in \[0, 3\)"):
        generate(
            num_samples=tf.constant(2), seed=tf.constant(0, tf.int64), labels=tf.constant([0, 3])
        )


def test_saved_model_cli_lists_signatures(unconditional_export):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tensorflow.python.tools.saved_model_cli",
            "show",
            "--all",
            "--dir",
            unconditional_export,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "signature_def['serving_default']" in out
    assert "signature_def['generate']" in out
    assert out.count("Method name is: tensorflow/serving/predict") >= 2
    assert "inputs['z'] tensor_info:" in out
    assert "inputs['num_samples'] tensor_info:" in out
    assert "inputs['seed'] tensor_info:" in out
    assert "dtype: DT_UINT8" in out
    assert "outputs['images'] tensor_info:" in out


def test_metadata_travels_with_the_model(unconditional_export):
    metadata = export.read_metadata(unconditional_export)
    with open(os.path.join(unconditional_export, "assets", "kgan.json")) as file:
        assert json.load(file) == metadata
    assert metadata["latent_dim"] == LATENT_DIM
    assert metadata["image_shape"] == [8, 8, 1]
    assert metadata["num_classes"] is None
    assert metadata["value_range"] == [-1.0, 1.0]
    assert metadata["model_class"] == "GAN"
    assert metadata["kgan_version"] == kgan.__version__
    assert metadata["max_samples"] == 16
    assert metadata["version"] == 1
    training = metadata["training"]
    assert training["config"]["generator_loss"] == "non_saturating"
    assert "generator" not in training["config"] and "discriminator" not in training["config"]
    assert training["generator_steps"] == 0
    assert training["history"] == {"epochs": 2, "final": {"d_loss": 0.7, "g_loss": 1.1}}
    assert metadata["verification"]["max_abs_difference"] <= 1e-5
    assert metadata["verification"]["generate_max_level_difference"] <= 1


def test_versions_increase_and_are_never_overwritten_silently(unconditional, tmp_path):
    base_dir = tmp_path / "model"
    kwargs = {"verify": False}
    assert export.to_saved_model(unconditional, base_dir, **kwargs) == str(base_dir / "1")
    assert export.to_saved_model(unconditional, base_dir, **kwargs) == str(base_dir / "2")
    assert export.to_saved_model(unconditional, base_dir, version=10, **kwargs) == str(
        base_dir / "10"
    )
    assert export.to_saved_model(unconditional, base_dir, **kwargs) == str(base_dir / "11")
    assert export.list_versions(base_dir) == [1, 2, 10, 11]
    with pytest.raises(FileExistsError, match="Version 2 already exists"):
        export.to_saved_model(unconditional, base_dir, version=2, **kwargs)
    with pytest.raises(ValueError, match="must be a positive integer"):
        export.to_saved_model(unconditional, base_dir, version=0, **kwargs)
    assert sorted(os.listdir(base_dir)) == ["1", "10", "11", "2"]


def test_overwrite_replaces_a_version(tmp_path):
    base_dir = tmp_path / "model"
    first, second = _dcgan(), _shifted_dcgan()
    z, _ = _inputs(2)
    assert not np.allclose(_keras_images(first.generator, z), _keras_images(second.generator, z))
    export.to_saved_model(first, base_dir, version=3, verify=False)
    export.to_saved_model(second, base_dir, version=3, overwrite=True, verify=False)
    assert sorted(os.listdir(base_dir)) == ["3"]
    images = (
        tf.saved_model.load(str(base_dir / "3"))
        .signatures["serving_default"](z=tf.constant(z))["images"]
        .numpy()
    )
    np.testing.assert_allclose(images, _keras_images(second.generator, z), atol=1e-5)


@pytest.mark.parametrize("failure", [RuntimeError, KeyboardInterrupt])
def test_export_failing_half_way_leaves_no_version(unconditional, tmp_path, monkeypatch, failure):
    base_dir = tmp_path / "model"
    export.to_saved_model(unconditional, base_dir, version=1, verify=False)

    def fail(*args, **kwargs):
        raise failure("disk full")

    # The SavedModel is on disk in the temporary folder when the metadata is written.
    monkeypatch.setattr(export, "_write_metadata_file", fail)
    with pytest.raises(failure):
        export.to_saved_model(unconditional, base_dir, verify=False)
    with pytest.raises(failure):
        export.to_saved_model(unconditional, base_dir, version=1, overwrite=True, verify=False)
    assert os.listdir(base_dir) == ["1"]
    assert export.read_metadata(base_dir / "1")["version"] == 1


def test_failed_verification_leaves_no_version(unconditional, tmp_path, monkeypatch):
    base_dir = tmp_path / "model"
    export.to_saved_model(unconditional, base_dir, verify=False)
    real_source = export.resolve_generator(unconditional)
    # Export another generator in its place: the SavedModel cannot match `unconditional`.
    other = export.resolve_generator(_shifted_dcgan())
    monkeypatch.setattr(export, "resolve_generator", lambda *args, **kwargs: other)
    real_verify = export.verify_saved_model
    monkeypatch.setattr(
        export,
        "verify_saved_model",
        lambda source, path, **kwargs: real_verify(real_source, path, **kwargs),
    )
    with pytest.raises(export.ExportVerificationError, match="differs from the Keras generator"):
        export.to_saved_model(unconditional, base_dir)
    assert os.listdir(base_dir) == ["1"]


def test_exports_the_averaged_generator(tmp_path):
    model = _dcgan(ema_decay=0.99)
    # Make the live weights differ from their averages, as after training.
    for weight in model.generator.trainable_weights:
        weight.assign(weight + 0.05)
    path = export.to_saved_model(model, tmp_path / "ema")
    z, _ = _inputs(3)
    images = (
        tf.saved_model.load(path).signatures["serving_default"](z=tf.constant(z))["images"].numpy()
    )
    np.testing.assert_allclose(images, _keras_images(model.inference_generator, z), atol=1e-5)
    assert np.max(np.abs(images - _keras_images(model.generator, z))) > 1e-3
    assert export.read_metadata(path)["uses_averaged_weights"] is True


def test_bare_generators(tmp_path):
    inputs = keras.Input((LATENT_DIM,), name="z")
    x = keras.layers.Dense(16)(inputs)
    x = keras.layers.Dropout(0.5)(x)
    x = keras.layers.Dense(8 * 8 * 1, activation="tanh")(x)
    generator = keras.Model(inputs, keras.layers.Reshape((8, 8, 1))(x))
    path = export.to_saved_model(generator, tmp_path / "bare")
    serve = tf.saved_model.load(path).signatures["serving_default"]
    z, _ = _inputs(5)
    # No dropout at inference: the same request twice gives the same images, Keras' images.
    first = serve(z=tf.constant(z))["images"].numpy()
    np.testing.assert_array_equal(serve(z=tf.constant(z))["images"].numpy(), first)
    np.testing.assert_allclose(first, _keras_images(generator, z), atol=1e-5)

    conditional = kgan.models.mlp_generator((8, 8, 1), latent_dim=LATENT_DIM, num_classes=4)
    with pytest.raises(ValueError, match="pass its number of classes as `num_classes=`"):
        export.to_saved_model(conditional, tmp_path / "cond")
    with pytest.raises(ValueError, match="leave `num_classes` unset"):
        export.to_saved_model(generator, tmp_path / "x", num_classes=4)
    assert not os.path.exists(tmp_path / "cond")
    path = export.to_saved_model(conditional, tmp_path / "cond", num_classes=4)
    assert export.read_metadata(path)["num_classes"] == 4


def test_non_image_generator_has_no_generate_signature(tmp_path):
    generator = kgan.models.mlp_generator((2,), latent_dim=LATENT_DIM, output_activation=None)
    path = export.to_saved_model(generator, tmp_path / "toy")
    assert set(tf.saved_model.load(path).signatures) == {"serving_default"}
    assert export.read_metadata(path)["value_range"] is None


# ---------------------------------------------------------------------------------- ONNX


def _builder(kind, num_classes):
    if kind == "dcgan":
        generator = kgan.models.dcgan_generator(
            (16, 16, 3), latent_dim=LATENT_DIM, num_classes=num_classes, base_filters=8
        )
    else:
        generator = kgan.models.mlp_generator(
            (8, 8, 1),
            latent_dim=LATENT_DIM,
            hidden_units=(32,),
            num_classes=num_classes,
            batch_norm=True,
        )
    _randomize_batch_norm(generator)
    return generator


@pytest.mark.parametrize("kind", ["dcgan", "mlp"])
@pytest.mark.parametrize("num_classes", [None, NUM_CLASSES], ids=["unconditional", "conditional"])
def test_onnx_matches_keras(kind, num_classes, tmp_path):
    generator = _builder(kind, num_classes)
    path = export.to_onnx(generator, tmp_path / "g.onnx", num_classes=num_classes)
    proto = onnx.load(path)
    expected_inputs = ["z"] if num_classes is None else ["z", "labels"]
    assert [value.name for value in proto.graph.input] == expected_inputs
    assert [value.name for value in proto.graph.output] == ["images"]
    for value in list(proto.graph.input) + list(proto.graph.output):
        assert value.type.tensor_type.shape.dim[0].dim_param == "batch"
    metadata = json.loads({p.key: p.value for p in proto.metadata_props}["kgan"])
    assert metadata == export.read_metadata(path)
    assert metadata["latent_dim"] == LATENT_DIM and metadata["num_classes"] == num_classes
    assert metadata["verification"]["max_abs_difference"] <= 1e-4

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    input_types = {value.name: value.type for value in session.get_inputs()}
    assert input_types["z"] == "tensor(float)"
    if num_classes is not None:
        assert input_types["labels"] == "tensor(int32)"
    for batch_size in BATCH_SIZES:
        z, labels = _inputs(batch_size, num_classes)
        feeds = {"z": z} if labels is None else {"z": z, "labels": labels}
        (images,) = session.run(["images"], feeds)
        np.testing.assert_allclose(images, _keras_images(generator, z, labels), atol=1e-4, rtol=0)


def test_onnx_verification_fails_on_a_mismatch(unconditional, tmp_path):
    path = export.to_onnx(unconditional, tmp_path / "g.onnx")
    assert export.verify_onnx(unconditional, path)["max_abs_difference"] <= 1e-4
    with pytest.raises(export.ExportVerificationError, match="differ from the Keras generator"):
        export.verify_onnx(_shifted_dcgan(), path)


# ---------------------------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("run")
    model = _dcgan(NUM_CLASSES, model_class=kgan.WGANGP)
    model.save(directory / "model.keras")
    # As `kgan train` writes them.
    with open(directory / "history.json", "w") as file:
        json.dump(
            {
                "epochs": 3,
                "seconds": 12.5,
                "metrics": {"d_loss": [1.0, 0.5, 0.25], "g_loss": [0.1, 0.2, 0.3]},
                "health_events": [],
            },
            file,
        )
    with open(directory / "config.json", "w") as file:
        json.dump({"data": "fashion_mnist_sample", "epochs": 3}, file)
    return directory


def test_cli_export(run_dir, tmp_path, capsys):
    from kgan.cli import main

    saved_model = tmp_path / "savedmodels" / "demo"
    onnx_path = tmp_path / "savedmodels" / "demo.onnx"
    code = main(
        [
            "export",
            str(run_dir),
            "--saved-model",
            str(saved_model),
            "--version",
            "4",
            "--onnx",
            str(onnx_path),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert f"wrote SavedModel {saved_model / '4'}" in out
    assert f"wrote ONNX {onnx_path}" in out
    assert out.count("verified against Keras") == 2
    metadata = export.read_metadata(saved_model / "4")
    assert metadata["model_class"] == "WGANGP"
    assert metadata["num_classes"] == NUM_CLASSES
    assert metadata["training"]["history"] == {
        "epochs": 3,
        "final": {"d_loss": 0.25, "g_loss": 0.3},
        "seconds": 12.5,
        "health_events": 0,
    }
    assert metadata["training"]["run_config"] == {"data": "fashion_mnist_sample", "epochs": 3}
    assert export.read_metadata(onnx_path)["training"] == metadata["training"]

    assert main(["export", str(run_dir), "--saved-model", str(saved_model), "--version", "4"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["export", str(run_dir)]) == 2
    assert "Nothing to export" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing"), "--onnx", str(onnx_path)]) == 2
    assert "No run folder" in capsys.readouterr().err


def test_a_small_sample_limit_still_exports_and_verifies(unconditional, tmp_path):
    path = export.to_saved_model(unconditional, tmp_path / "model", max_samples=2)
    generate = tf.saved_model.load(str(path)).signatures["generate"]
    images = generate(num_samples=tf.constant(2), seed=tf.constant(0, tf.int64))["images"]
    assert images.shape[0] == 2
    with pytest.raises(tf.errors.InvalidArgumentError, match="at most 2"):
        generate(num_samples=tf.constant(3), seed=tf.constant(0, tf.int64))

"""Tests of kgan.export.saved_model: the SavedModel's signatures and what they compute.

Every export is reloaded with tf.saved_model.load and compared with the Keras generator in
inference mode at two batch sizes.
"""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

import kgan
from kgan import export
from kgan.images import to_uint8

BATCH_SIZES = (1, 7)


def _signature_defs(export_dir):
    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(export_dir, "saved_model.pb"), "rb") as file:
        saved_model.ParseFromString(file.read())
    return saved_model.meta_graphs[0].signature_def


def test_saved_model_signatures_unconditional(unconditional_export, latent_dim):
    assert os.path.basename(unconditional_export) == "1"
    loaded = tf.saved_model.load(unconditional_export)
    assert set(loaded.signatures) == {"serving_default", "generate", "generate_png"}

    serve = loaded.signatures["serving_default"]
    assert serve.structured_input_signature == (
        (),
        {"z": tf.TensorSpec([None, latent_dim], tf.float32, name="z")},
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
    generate_png = loaded.signatures["generate_png"]
    assert generate_png.structured_input_signature == generate.structured_input_signature
    assert generate_png.structured_outputs == {
        "png_bytes": tf.TensorSpec([None], tf.string, name="png_bytes")
    }
    for name, signature in _signature_defs(unconditional_export).items():
        if name in ("serving_default", "generate", "generate_png"):
            assert signature.method_name == "tensorflow/serving/predict"


def test_saved_model_signatures_conditional(conditional_export, latent_dim):
    loaded = tf.saved_model.load(conditional_export)
    _, serve_inputs = loaded.signatures["serving_default"].structured_input_signature
    assert serve_inputs == {
        "z": tf.TensorSpec([None, latent_dim], tf.float32, name="z"),
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
    conditional_model,
    unconditional,
    conditional,
    unconditional_export,
    conditional_export,
    latent_inputs,
    keras_images,
):
    model = conditional if conditional_model else unconditional
    path = conditional_export if conditional_model else unconditional_export
    serve = tf.saved_model.load(path).signatures["serving_default"]
    for batch_size in BATCH_SIZES:
        z, labels = latent_inputs(batch_size, model.num_classes)
        feeds = {"z": tf.constant(z)}
        if labels is not None:
            feeds["labels"] = tf.constant(labels)
        exported = serve(**feeds)["images"].numpy()
        expected = keras_images(model.generator, z, labels)
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


def test_generate_png_signature_encodes_the_generate_images(conditional_export):
    loaded = tf.saved_model.load(conditional_export)
    inputs = {
        "num_samples": tf.constant(4),
        "seed": tf.constant(7, tf.int64),
        "labels": tf.constant([2, 0, 1, 1]),
    }
    images = loaded.signatures["generate"](**inputs)["images"].numpy()
    pngs = loaded.signatures["generate_png"](**inputs)["png_bytes"].numpy()
    assert pngs.shape == (4,) and all(png.startswith(b"\x89PNG\r\n") for png in pngs)
    np.testing.assert_array_equal(kgan.serving.decode_pngs(list(pngs)), images)
    with pytest.raises(tf.errors.InvalidArgumentError, match="must be at most 16"):
        loaded.signatures["generate_png"](
            num_samples=tf.constant(17),
            seed=tf.constant(0, tf.int64),
            labels=tf.zeros([17], "int32"),
        )
    metadata = export.read_metadata(conditional_export)
    assert metadata["signatures"] == ["serving_default", "generate", "generate_png"]
    assert metadata["verification"]["generate_png_matches_generate"] is True


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
    assert "signature_def['generate_png']" in out
    assert out.count("Method name is: tensorflow/serving/predict") >= 3
    assert "outputs['png_bytes'] tensor_info:" in out and "dtype: DT_STRING" in out
    assert "inputs['z'] tensor_info:" in out
    assert "inputs['num_samples'] tensor_info:" in out
    assert "inputs['seed'] tensor_info:" in out
    assert "dtype: DT_UINT8" in out
    assert "outputs['images'] tensor_info:" in out


def test_non_image_generator_has_no_generate_signature(tmp_path, latent_dim):
    generator = kgan.models.mlp_generator((2,), latent_dim=latent_dim, output_activation=None)
    path = export.to_saved_model(generator, tmp_path / "toy")
    assert set(tf.saved_model.load(path).signatures) == {"serving_default"}
    assert export.read_metadata(path)["value_range"] is None


def test_a_small_sample_limit_still_exports_and_verifies(unconditional, tmp_path):
    path = export.to_saved_model(unconditional, tmp_path / "model", max_samples=2)
    generate = tf.saved_model.load(str(path)).signatures["generate"]
    images = generate(num_samples=tf.constant(2), seed=tf.constant(0, tf.int64))["images"]
    assert images.shape[0] == 2
    with pytest.raises(tf.errors.InvalidArgumentError, match="at most 2"):
        generate(num_samples=tf.constant(3), seed=tf.constant(0, tf.int64))


@pytest.mark.parametrize("which", ["unconditional", "conditional"])
def test_each_weight_is_saved_once(which, request):
    """The variables file holds the averaged generator's weights once (tracking the model in
    the archive as well as through the endpoints once stored every weight twice)."""
    model = request.getfixturevalue(which)
    version = request.getfixturevalue(f"{which}_export")
    stored = [
        int(np.prod(shape))
        for name, shape in tf.train.list_variables(os.path.join(version, "variables", "variables"))
        if name != "_CHECKPOINTABLE_OBJECT_GRAPH"
    ]
    weights = model.inference_generator.weights
    assert len(stored) == len(weights)
    assert sum(stored) == sum(int(np.prod(w.shape)) for w in weights)

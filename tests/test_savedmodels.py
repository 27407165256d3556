"""The generators shipped in savedmodels/ keep TF Serving's contract and agree with their ONNX."""

from pathlib import Path

import numpy as np
import onnxruntime as ort
import tensorflow as tf

from kgan import export

SAVEDMODELS = Path(__file__).resolve().parents[1] / "savedmodels"


def test_shipped_mnist_generator():
    version = SAVEDMODELS / "mnist_dcgan" / "1"
    metadata = export.read_metadata(version)
    assert metadata["latent_dim"] == 64 and metadata["image_shape"] == [28, 28, 1]
    loaded = tf.saved_model.load(str(version))
    assert set(loaded.signatures) == {"serving_default", "generate"}
    z = np.random.default_rng(0).normal(size=(3, 64)).astype("float32")
    images = loaded.signatures["serving_default"](z=tf.constant(z))["images"].numpy()
    assert images.shape == (3, 28, 28, 1) and np.abs(images).max() <= 1.0
    session = ort.InferenceSession(str(SAVEDMODELS / "mnist_dcgan.onnx"))
    np.testing.assert_allclose(session.run(["images"], {"z": z})[0], images, atol=1e-4)
    generate = loaded.signatures["generate"]
    first = generate(num_samples=tf.constant(4), seed=tf.constant(7, tf.int64))["images"]
    again = generate(num_samples=tf.constant(4), seed=tf.constant(7, tf.int64))["images"]
    assert first.dtype == tf.uint8
    np.testing.assert_array_equal(first.numpy(), again.numpy())

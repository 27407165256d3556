"""Tests of kgan.export.source: which generator is exported, from a kgan model or a bare one."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan import export


def test_exports_the_averaged_generator(tmp_path, make_dcgan, latent_inputs, keras_images):
    model = make_dcgan(ema_decay=0.99)
    # Make the live weights differ from their averages, as after training.
    for weight in model.generator.trainable_weights:
        weight.assign(weight + 0.05)
    path = export.to_saved_model(model, tmp_path / "ema")
    z, _ = latent_inputs(3)
    images = (
        tf.saved_model.load(path).signatures["serving_default"](z=tf.constant(z))["images"].numpy()
    )
    np.testing.assert_allclose(images, keras_images(model.inference_generator, z), atol=1e-5)
    assert np.max(np.abs(images - keras_images(model.generator, z))) > 1e-3
    assert export.read_metadata(path)["uses_averaged_weights"] is True


def test_bare_generators(tmp_path, latent_dim, latent_inputs, keras_images):
    inputs = keras.Input((latent_dim,), name="z")
    x = keras.layers.Dense(16)(inputs)
    x = keras.layers.Dropout(0.5)(x)
    x = keras.layers.Dense(8 * 8 * 1, activation="tanh")(x)
    generator = keras.Model(inputs, keras.layers.Reshape((8, 8, 1))(x))
    path = export.to_saved_model(generator, tmp_path / "bare")
    serve = tf.saved_model.load(path).signatures["serving_default"]
    z, _ = latent_inputs(5)
    # No dropout at inference: the same request twice gives the same images, Keras' images.
    first = serve(z=tf.constant(z))["images"].numpy()
    np.testing.assert_array_equal(serve(z=tf.constant(z))["images"].numpy(), first)
    np.testing.assert_allclose(first, keras_images(generator, z), atol=1e-5)

    conditional = kgan.models.mlp_generator((8, 8, 1), latent_dim=latent_dim, num_classes=4)
    with pytest.raises(ValueError, match="pass its number of classes as `num_classes=`"):
        export.to_saved_model(conditional, tmp_path / "cond")
    with pytest.raises(ValueError, match="leave `num_classes` unset"):
        export.to_saved_model(generator, tmp_path / "x", num_classes=4)
    assert not os.path.exists(tmp_path / "cond")
    path = export.to_saved_model(conditional, tmp_path / "cond", num_classes=4)
    assert export.read_metadata(path)["num_classes"] == 4

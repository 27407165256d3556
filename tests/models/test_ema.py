"""The exponential moving average of the generator's weights (`ema_decay=`)."""

import keras
import numpy as np
import pytest

import kgan
from kgan.models import ema, mlp_generator


def _numpy(weights):
    return [keras.ops.convert_to_numpy(w).copy() for w in weights]


def test_averaged_copy_starts_from_the_generator_and_is_frozen():
    generator = mlp_generator((3,), latent_dim=2, hidden_units=(4,), batch_norm=True)
    copy = ema.averaged_copy(generator, np.zeros((2, 2), "float32"))
    assert copy is not generator and not copy.trainable_weights
    assert len(copy.weights) == len(generator.weights)
    for a, b in zip(copy.weights, generator.weights):
        assert a is not b
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))


def test_update_average_averages_trainable_weights_and_copies_moving_statistics():
    generator = mlp_generator((3,), latent_dim=2, hidden_units=(4,), batch_norm=True)
    average = ema.averaged_copy(generator, np.zeros((2, 2), "float32"))
    old = _numpy(generator.weights)
    for weight in generator.weights:
        weight.assign(weight + 1.0)
    new = _numpy(generator.weights)
    ema.update_average(average, generator, decay=0.75)
    trainable = {id(w) for w in generator.trainable_weights}
    checked = {"averaged": 0, "copied": 0}
    for averaged, weight, before, after in zip(average.weights, generator.weights, old, new):
        averaged = keras.ops.convert_to_numpy(averaged)
        if id(weight) in trainable:
            np.testing.assert_allclose(averaged, 0.75 * before + 0.25 * after, rtol=1e-6)
            checked["averaged"] += 1
        else:  # Batch-norm moving mean and variance.
            np.testing.assert_array_equal(averaged, after)
            checked["copied"] += 1
    assert checked == {"averaged": 6, "copied": 2}


def test_ema_is_the_exponential_moving_average_of_the_weights(small_dcgan, images):
    gan = kgan.GAN(*small_dcgan(), ema_decay=0.5)
    gan.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2))
    before = _numpy(gan.generator.trainable_weights)
    gan.fit(images(16), batch_size=16, epochs=1, verbose=0)  # One generator update.
    after = _numpy(gan.generator.trainable_weights)
    trainable = {id(w) for w in gan.generator.trainable_weights}
    averages = [
        keras.ops.convert_to_numpy(a)
        for a, w in zip(gan.ema_weights, gan.generator.weights)
        if id(w) in trainable
    ]
    assert len(averages) == len(before)
    for average, old, new in zip(averages, before, after):
        np.testing.assert_allclose(average, 0.5 * old + 0.5 * new, rtol=1e-5, atol=1e-7)


def test_ema_generator_is_used_by_generate_and_saved(tmp_path, small_dcgan, images):
    gan = kgan.GAN(*small_dcgan(), ema_decay=0.5)
    gan.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2))
    gan.fit(images(32), batch_size=16, epochs=2, verbose=0)
    raw = gan.generator.get_weights()
    averaged = [keras.ops.convert_to_numpy(w) for w in gan.ema_weights]
    assert not all(np.allclose(a, b) for a, b in zip(raw, averaged))
    z = np.random.default_rng(0).normal(size=(3, 8)).astype("float32")
    with_ema = gan.generate(z=z)
    without = keras.ops.convert_to_numpy(gan.generator(z, training=False))
    assert not np.allclose(with_ema, without)
    path = str(tmp_path / "ema.keras")
    gan.save(path)
    np.testing.assert_allclose(keras.saving.load_model(path).generate(z=z), with_ema, atol=1e-6)


def test_averaged_weights_are_saved_without_calling_generate_first(tmp_path, small_dcgan, images):
    gan = kgan.GAN(*small_dcgan(), ema_decay=0.5)
    gan.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2))
    gan.fit(images(16), batch_size=16, epochs=1, verbose=0)
    averaged = _numpy(gan.ema_weights)
    gan.save(tmp_path / "ema.keras")
    loaded = keras.saving.load_model(tmp_path / "ema.keras")
    for expected, actual in zip(averaged, loaded.ema_weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(actual), expected)
    # The reloaded model keeps averaging from there.
    loaded.fit(images(16, seed=1), batch_size=16, epochs=1, verbose=0)
    assert not np.allclose(keras.ops.convert_to_numpy(loaded.ema_weights[0]), averaged[0])


@pytest.mark.parametrize("ema_decay", [None, 0.9])
def test_inference_generator_is_the_generator_only_without_ema(ema_decay, small_dcgan):
    gan = kgan.GAN(*small_dcgan(), ema_decay=ema_decay)
    assert (gan.inference_generator is gan.generator) == (ema_decay is None)
    assert (gan.ema_weights is None) == (ema_decay is None)
    # The model's trainable weights are the two networks', never the average's.
    networks = gan.generator.trainable_weights + gan.discriminator.trainable_weights
    assert {id(w) for w in gan.trainable_weights} == {id(w) for w in networks}

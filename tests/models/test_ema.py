"""The exponential moving average of the generator's weights (`ema_decay=`)."""

import os

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


def test_update_average_averages_weights_and_moving_statistics():
    generator = mlp_generator((3,), latent_dim=2, hidden_units=(4,), batch_norm=True)
    average = ema.averaged_copy(generator, np.zeros((2, 2), "float32"))
    old = _numpy(generator.weights)
    for weight in generator.weights:
        weight.assign(weight + 1.0)
    new = _numpy(generator.weights)
    ema.update_average(average, generator, decay=0.75)
    for averaged, before, after in zip(average.weights, old, new):
        averaged = keras.ops.convert_to_numpy(averaged)
        np.testing.assert_allclose(averaged, 0.75 * before + 0.25 * after, rtol=1e-6)
    # Two Dense kernels and biases, gamma, beta: 6 trainable; moving mean and variance: 2.
    assert len(average.weights) == 8 and len(generator.trainable_weights) == 6


@pytest.mark.parametrize("step, decay", [(0, 0.1), (2, 0.25), (90, 0.91), (10**6, 0.99)])
def test_warmup_decay_is_min_of_decay_and_one_plus_t_over_ten_plus_t(step, decay):
    generator = mlp_generator((1,), latent_dim=1, hidden_units=(1,))
    average = ema.averaged_copy(generator, np.zeros((2, 1), "float32"))
    old = _numpy(generator.weights)
    for weight in generator.weights:
        weight.assign(weight + 1.0)
    ema.update_average(average, generator, decay=0.99, step=step)
    for averaged, before in zip(average.weights, old):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(averaged), before + (1 - decay), rtol=1e-5, atol=1e-6
        )


def test_ema_is_the_exponential_moving_average_of_the_weights(small_dcgan, images):
    gan = kgan.GAN(*small_dcgan(), ema_decay=0.5, ema_warmup=False)
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


class _GeneratorWeights(keras.callbacks.Callback):
    """Keeps the generator's weights (moving statistics included) after every step."""

    def __init__(self):
        super().__init__()
        self.steps = []

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append(_numpy(self.model.generator.weights))


def _bn_gan(**kwargs):
    generator = mlp_generator((3,), latent_dim=2, hidden_units=(5,), batch_norm=True)
    discriminator = kgan.models.mlp_discriminator((3,), hidden_units=(5,))
    gan = kgan.GAN(generator, discriminator, seed=3, ema_decay=0.8, **kwargs)
    gan.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2))
    return gan


def test_averaged_weights_and_statistics_follow_the_warmup_by_hand():
    gan = _bn_gan()
    average = _numpy(gan.generator.weights)
    record = _GeneratorWeights()
    data = np.random.default_rng(0).normal(size=(40, 3)).astype("float32")
    gan.fit(data, batch_size=8, epochs=1, verbose=0, callbacks=[record])
    assert len(record.steps) == 5
    for t, weights in enumerate(record.steps):
        decay = min(0.8, (1 + t) / (10 + t))
        average = [decay * a + (1 - decay) * w for a, w in zip(average, weights)]
    for expected, actual, weight in zip(average, gan.ema_weights, gan.generator.weights):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(actual), expected, rtol=1e-5, atol=1e-6, err_msg=weight.path
        )
    # The moving statistics are averaged too, not copied from the generator.
    moving_mean = [w.path.endswith("moving_mean") for w in gan.generator.weights].index(True)
    assert not np.allclose(average[moving_mean], record.steps[-1][moving_mean])


def _statistics_by_hand(gan, z):
    """Batch mean and (biased) variance of the averaged generator's first Dense layer."""
    dense = gan.inference_generator.get_layer("dense_0")
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in dense.weights)
    activations = z @ kernel + bias
    return activations.mean(axis=0), activations.var(axis=0)


def test_recompute_ema_statistics_averages_batch_statistics_by_hand():
    gan = _bn_gan()
    data = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    gan.fit(data, batch_size=8, epochs=1, verbose=0)
    trainable_before = _numpy(gan.inference_generator.trainable_weights)
    gan.recompute_ema_statistics(num_batches=3, batch_size=10, seed=7)
    z = kgan.models.sample_latent(30, 2, seed=7).numpy()
    statistics = [_statistics_by_hand(gan, batch) for batch in np.split(z, 3)]
    norm = gan.inference_generator.get_layer("norm_0")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(norm.moving_mean),
        np.mean([mean for mean, _ in statistics], axis=0),
        rtol=1e-5,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(norm.moving_variance),
        np.mean([variance for _, variance in statistics], axis=0),
        rtol=1e-4,
        atol=1e-6,
    )
    # The other weights, the layer's momentum and the copy's frozen state are unchanged.
    for before, after in zip(trainable_before, gan.inference_generator.trainable_weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(after), before)
    assert norm.momentum == 0.9 and not gan.inference_generator.trainable_weights


def test_fit_recomputes_the_statistics_when_asked():
    data = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    results = {}
    for statistics in ("average", "recompute"):
        gan = _bn_gan(ema_statistics=statistics)
        gan.fit(data, batch_size=8, epochs=1, verbose=0)
        results[statistics] = gan
    recomputed = results["recompute"]
    mean = keras.ops.convert_to_numpy(
        recomputed.inference_generator.get_layer("norm_0").moving_mean
    )
    averaged = results["average"].inference_generator.get_layer("norm_0").moving_mean
    assert not np.allclose(mean, keras.ops.convert_to_numpy(averaged))
    # The end of fit ran `recompute_ema_statistics(seed=model.seed)` with the defaults.
    recomputed.recompute_ema_statistics(seed=3)
    again = recomputed.inference_generator.get_layer("norm_0").moving_mean
    np.testing.assert_allclose(keras.ops.convert_to_numpy(again), mean, rtol=1e-5, atol=1e-6)


def test_recompute_needs_an_average(small_dcgan):
    with pytest.raises(ValueError, match="Received: ema_decay=None"):
        kgan.GAN(*small_dcgan()).recompute_ema_statistics()
    with pytest.raises(ValueError, match="Received: num_batches=0"):
        kgan.GAN(*small_dcgan(), ema_decay=0.9).recompute_ema_statistics(num_batches=0)


def _mlp_gan(**options):
    generator = mlp_generator((3,), latent_dim=2, hidden_units=(5,), output_activation=None)
    discriminator = kgan.models.mlp_discriminator((3,), hidden_units=(5,))
    return kgan.GAN(generator, discriminator, seed=0, **options)


def test_ema_warmup_counts_generator_steps_across_compile():
    """A second `compile` (new optimisers) continues the warm-up where it was: step t = 3 uses
    decay min(0.999, 4 / 13), not the 0.1 of a fresh start."""
    gan = _mlp_gan(ema_decay=0.999)
    gan.compile()
    data = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    for _ in range(3):
        gan.train_on_batch(data)
    assert int(gan.generator_steps.numpy()) == 3
    gan.compile(keras.optimizers.Adam(1e-5), keras.optimizers.Adam(1e-5))
    before = _numpy(gan.ema_weights)
    gan.train_on_batch(data)
    assert int(gan.generator_steps.numpy()) == 4
    decay = 4 / 13
    for averaged, old, new in zip(_numpy(gan.ema_weights), before, _numpy(gan.generator.weights)):
        np.testing.assert_allclose(averaged, decay * old + (1 - decay) * new, rtol=1e-5, atol=1e-7)


def test_generator_steps_are_saved_and_counted_for_older_files(tmp_path):
    gan = _mlp_gan(ema_decay=0.9)
    gan.compile()
    gan.train_on_batch(np.zeros((4, 3), "float32"))
    gan.save(tmp_path / "gan.keras")
    assert int(keras.saving.load_model(tmp_path / "gan.keras").generator_steps.numpy()) == 1
    # A file saved before the count existed (two generator updates): the count resumes from
    # the generator's optimiser.
    fixture = os.path.join(os.path.dirname(__file__), os.pardir, "fixtures", "cdcgan_ema.keras")
    older = keras.saving.load_model(fixture)
    images = np.zeros((4, 8, 8, 1), "float32")
    older.train_on_batch(images, np.zeros(4, "int32"))
    assert int(older.generator_steps.numpy()) == int(older.g_optimizer.iterations.numpy()) == 3

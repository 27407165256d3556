"""`GAN(update=...)`: the order of the discriminator's and the generator's updates in a step."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan import losses
from kgan.models import mlp_discriminator, mlp_generator, noise

LATENT_DIM = 3
LEARNING_RATE = 0.5
SEED = 42


def _networks():
    keras.utils.set_random_seed(7)
    generator = mlp_generator((4,), latent_dim=LATENT_DIM, hidden_units=(8,))
    discriminator = mlp_discriminator((4,), hidden_units=(8,))
    return generator, discriminator


def _one_step(update, real):
    generator, discriminator = _networks()
    gan = kgan.GAN(generator, discriminator, update=update, seed=SEED)
    gan.compile(keras.optimizers.SGD(LEARNING_RATE), keras.optimizers.SGD(LEARNING_RATE))
    gan.train_on_batch(real)
    return gan


def _sgd(tape, loss, network):
    gradients = tape.gradient(loss, network.trainable_variables)
    for variable, gradient in zip(network.trainable_variables, gradients):
        variable.assign_sub(LEARNING_RATE * gradient)


def _real(count=16):
    return np.tanh(np.random.default_rng(0).normal(size=(count, 4))).astype("float32")


def test_shared_update_trains_both_networks_on_one_generated_batch():
    real = _real()
    gan = _one_step("shared", real)

    # The same step by hand: G(z) once; the discriminator's SGD step on it; then the
    # generator's SGD step through the same G(z), scored by the updated discriminator.
    generator, discriminator = _networks()
    # The step's first draw (see `noise.StepSeeds`).
    seed = noise.StepSeeds(keras.random.SeedGenerator(SEED)).next()
    z = noise.replica_latent(len(real), LATENT_DIM, "normal", seed=seed)
    with tf.GradientTape() as g_tape:
        fake = generator(z, training=True)
        with tf.GradientTape() as d_tape:
            d_loss = tf.reduce_mean(
                losses.minimax_discriminator_loss(
                    discriminator(real, training=True),
                    discriminator(tf.stop_gradient(fake), training=True),
                    1.0,
                    0.0,
                )
            )
        _sgd(d_tape, d_loss, discriminator)
        g_loss = tf.reduce_mean(
            losses.non_saturating_generator_loss(discriminator(fake, training=True))
        )
    _sgd(g_tape, g_loss, generator)

    for name, expected, actual in [
        ("discriminator", discriminator, gan.discriminator),
        ("generator", generator, gan.generator),
    ]:
        for want, got in zip(expected.get_weights(), actual.get_weights()):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=name)


def test_shared_and_alternating_differ_only_in_the_generator_update():
    real = _real()
    initial_generator = _networks()[0].get_weights()
    shared = _one_step("shared", real)
    alternating = _one_step("alternating", real)
    # Both draw the discriminator's batch from the same noise: the same D update.
    for a, b in zip(shared.discriminator.get_weights(), alternating.discriminator.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    # The alternating generator update draws fresh noise: another G update, both real moves.
    moved_shared = [
        np.abs(a - w).max() for a, w in zip(shared.generator.get_weights(), initial_generator)
    ]
    gap = [
        np.abs(a - b).max()
        for a, b in zip(shared.generator.get_weights(), alternating.generator.get_weights())
    ]
    assert max(moved_shared) > 1e-3
    assert max(gap) > 1e-4


def test_update_is_checked_and_saved_in_the_config():
    generator, discriminator = _networks()
    with pytest.raises(ValueError, match="Received: update='both'"):
        kgan.GAN(generator, discriminator, update="both")
    gan = kgan.GAN(generator, discriminator, update="shared")
    assert kgan.GAN.from_config(gan.get_config()).update == "shared"

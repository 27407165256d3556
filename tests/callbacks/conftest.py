"""Fixtures of the callback tests: the four-Gaussian toy data and a small GAN trained on it."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan


def _square_data(num_samples=2000, seed=0):
    rng = np.random.default_rng(seed)
    angles = rng.integers(0, 4, num_samples) * np.pi / 2
    points = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return (points + 0.05 * rng.standard_normal((num_samples, 2))).astype("float32")


def _toy_gan(d_learning_rate=2e-4, g_learning_rate=2e-4, **kwargs):
    keras.utils.set_random_seed(0)
    generator = kgan.models.mlp_generator(
        (2,), latent_dim=4, hidden_units=(32, 32), output_activation=None
    )
    discriminator = kgan.models.mlp_discriminator((2,), hidden_units=(32, 32))
    gan = kgan.GAN(generator, discriminator, seed=0, **kwargs)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(d_learning_rate, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(g_learning_rate, beta_1=0.5),
    )
    return gan


def _toy_dataset(points):
    return tf.data.Dataset.from_tensor_slices(points).shuffle(len(points), seed=0).batch(50)


@pytest.fixture
def square_data():
    """`square_data(num_samples=2000, seed=0)`: four Gaussians at (+-1, 0), (0, +-1), std 0.05."""
    return _square_data


@pytest.fixture
def toy_gan():
    """`toy_gan(d_learning_rate=2e-4, g_learning_rate=2e-4, **gan_kwargs)`: a compiled MLP GAN
    for 2-D points (latent_dim=4), seeded."""
    return _toy_gan


@pytest.fixture
def toy_dataset():
    """`toy_dataset(points)`: the points shuffled (seed 0) in batches of 50."""
    return _toy_dataset

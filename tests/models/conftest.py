"""Fixtures of the model tests: small DCGAN networks for 8x8x1 images, and images for them."""

import numpy as np
import pytest

from kgan.models import dcgan_discriminator, dcgan_generator

IMAGE_SHAPE = (8, 8, 1)


def _small_dcgan(num_classes=None, normalization="batch", latent_dim=8):
    generator = dcgan_generator(IMAGE_SHAPE, latent_dim, num_classes, base_filters=4)
    discriminator = dcgan_discriminator(
        IMAGE_SHAPE, num_classes, base_filters=4, normalization=normalization
    )
    return generator, discriminator


def _images(count=32, seed=0, shape=IMAGE_SHAPE):
    return np.random.default_rng(seed).uniform(-1, 1, (count, *shape)).astype("float32")


@pytest.fixture
def small_dcgan():
    """`small_dcgan(num_classes=None, normalization="batch", latent_dim=8)`: a DCGAN
    `(generator, discriminator)` pair for 8x8x1 images, 4 base filters."""
    return _small_dcgan


@pytest.fixture
def images():
    """`images(count=32, seed=0, shape=(8, 8, 1))`: uniform values in [-1, 1], float32."""
    return _images

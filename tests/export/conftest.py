"""Shared fixtures of the kgan.export tests: small DCGAN models and their exports.

The generators' batch-norm moving statistics are set to non-trivial values, so that an export
running in training mode (batch statistics) would fail the comparisons with Keras. Fixtures
that outlive one test seed themselves: they are built before the autouse seed fixture runs.
Helpers are handed to the tests as fixtures (`make_dcgan`, `latent_inputs`, `keras_images`),
since test modules imported with `--import-mode=importlib` cannot import each other.
"""

import keras
import numpy as np
import pytest

import kgan
from kgan import export

LATENT_DIM = 8
NUM_CLASSES = 3


def randomize_batch_norm(generator, seed=0):
    rng = np.random.default_rng(seed)
    for variable in generator.weights:
        if variable.path.endswith("moving_mean"):
            variable.assign(rng.normal(0.0, 0.5, variable.shape).astype("float32"))
        elif variable.path.endswith("moving_variance"):
            variable.assign(rng.uniform(0.5, 2.0, variable.shape).astype("float32"))


def dcgan(
    num_classes=None, image_shape=(8, 8, 1), model_class=kgan.GAN, *, shifted=False, **kwargs
):
    """A small compiled DCGAN model with `LATENT_DIM` latent dimensions.

    With `shifted`, every trainable generator weight is moved by 0.05: a generator that surely
    differs from another one built from the same seed.
    """
    generator = kgan.models.dcgan_generator(
        image_shape, latent_dim=LATENT_DIM, num_classes=num_classes, base_filters=8
    )
    discriminator = kgan.models.dcgan_discriminator(
        image_shape, num_classes=num_classes, base_filters=8
    )
    randomize_batch_norm(generator)
    model = model_class(generator, discriminator, num_classes=num_classes, **kwargs)
    model.compile()
    if shifted:
        for weight in model.generator.trainable_weights:
            weight.assign(weight + 0.05)
    return model


def inputs(batch_size, num_classes=None, seed=0):
    """`(z, labels)` for a batch: normal latent vectors and cycling labels (or `None`)."""
    rng = np.random.default_rng(seed + batch_size)
    z = rng.normal(size=(batch_size, LATENT_DIM)).astype("float32")
    labels = None if num_classes is None else (np.arange(batch_size) % num_classes).astype("int32")
    return z, labels


def keras_images(generator, z, labels=None):
    """The generator's samples in inference mode, as a NumPy array."""
    generator_inputs = z if labels is None else [z, labels]
    return keras.ops.convert_to_numpy(generator(generator_inputs, training=False))


@pytest.fixture(scope="session")
def latent_dim():
    return LATENT_DIM


@pytest.fixture(scope="session")
def make_dcgan():
    return dcgan


@pytest.fixture(scope="session")
def latent_inputs():
    return inputs


@pytest.fixture(name="keras_images", scope="session")
def keras_images_fixture():
    return keras_images


@pytest.fixture(name="randomize_batch_norm", scope="session")
def randomize_batch_norm_fixture():
    return randomize_batch_norm


@pytest.fixture(scope="session")
def unconditional():
    keras.utils.set_random_seed(1)
    return dcgan()


@pytest.fixture(scope="session")
def conditional():
    keras.utils.set_random_seed(2)
    return dcgan(NUM_CLASSES)


@pytest.fixture(scope="session")
def unconditional_export(unconditional, tmp_path_factory):
    base_dir = tmp_path_factory.mktemp("savedmodels") / "uncond"
    history = {"d_loss": [0.9, 0.7], "g_loss": [1.2, 1.1]}
    return export.to_saved_model(unconditional, base_dir, max_samples=16, history=history)


@pytest.fixture(scope="session")
def conditional_export(conditional, tmp_path_factory):
    base_dir = tmp_path_factory.mktemp("savedmodels") / "cond"
    return export.to_saved_model(conditional, base_dir, max_samples=16)

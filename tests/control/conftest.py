"""Shared fixtures of the kgan.control tests.

- `toy_gan`: a class-conditional GAN on 2-D data where class c is a Gaussian at
  `CENTERS[c]`, trained in seconds; `center_classifier` is the exact classifier of that data.
- `image_gan` and `image_exports`: a small conditional DCGAN for 8x8x1 images (untrained, with
  non-trivial batch-norm statistics) saved as a run folder and exported as SavedModel versions
  and ONNX; `image_classifier` is a fixed linear classifier on its images, saved as `.keras`.

Fixtures that outlive one test seed themselves: they are built before the autouse seed fixture.
"""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan import export

CENTERS = np.array([[-2.0, 0.0], [2.0, 0.0], [0.0, 2.0]], "float32")
IMAGE_SHAPE = (8, 8, 1)
LATENT_DIM = 8
NUM_CLASSES = 3


@pytest.fixture(scope="session")
def centers():
    return CENTERS


@pytest.fixture(scope="session")
def toy_gan():
    """A conditional MLP GAN whose class c is N(CENTERS[c], 0.05^2 I), trained for 600 steps."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, len(CENTERS), 3000).astype("int32")
    points = CENTERS[labels] + 0.05 * rng.normal(size=(3000, 2)).astype("float32")
    generator = kgan.models.mlp_generator(
        (2,), 4, (32,), num_classes=len(CENTERS), output_activation=None
    )
    discriminator = kgan.models.mlp_discriminator((2,), (32,), num_classes=len(CENTERS))
    gan = kgan.GAN(generator, discriminator, num_classes=len(CENTERS), seed=0)
    gan.compile(keras.optimizers.Adam(2e-3, 0.5), keras.optimizers.Adam(2e-3, 0.5))
    dataset = tf.data.Dataset.from_tensor_slices((points, labels)).shuffle(3000, seed=0)
    gan.fit(dataset.batch(100), epochs=20, verbose=0)
    return gan


@pytest.fixture(scope="session")
def center_classifier():
    """Logits `2 c . x - |c|^2` = `|x|^2 - |x - c|^2`: the nearest centre wins."""
    points = keras.Input(shape=(2,))
    dense = keras.layers.Dense(len(CENTERS))
    model = keras.Model(points, dense(points), name="center_classifier")
    dense.set_weights([2.0 * CENTERS.T, -np.sum(CENTERS**2, axis=1)])
    return model


def _randomize_batch_norm(generator, seed=0):
    rng = np.random.default_rng(seed)
    for variable in generator.weights:
        if variable.path.endswith("moving_mean"):
            variable.assign(rng.normal(0.0, 0.5, variable.shape).astype("float32"))
        elif variable.path.endswith("moving_variance"):
            variable.assign(rng.uniform(0.5, 2.0, variable.shape).astype("float32"))


def _image_gan(seed, num_classes=NUM_CLASSES):
    keras.utils.set_random_seed(seed)
    generator = kgan.models.dcgan_generator(IMAGE_SHAPE, LATENT_DIM, num_classes, base_filters=8)
    discriminator = kgan.models.dcgan_discriminator(IMAGE_SHAPE, num_classes, base_filters=8)
    _randomize_batch_norm(generator, seed)
    gan = kgan.GAN(generator, discriminator, num_classes=num_classes, ema_decay=0.9)
    gan.compile()
    # The averaged generator differs from the trained one: every format must sample from it.
    for weight in gan.inference_generator.weights:
        if weight.path.endswith("kernel"):
            weight.assign(weight * 1.1)
    return gan


@pytest.fixture(scope="session")
def image_gan():
    return _image_gan(5)


@pytest.fixture(scope="session")
def image_exports(image_gan, tmp_path_factory):
    """Paths of `image_gan` in every format: `run` (folder), `keras` (file), `saved_model`
    (base folder whose highest version, 2, is `image_gan`; version 1 is another generator),
    `version` (`saved_model/2`) and `onnx`."""
    root = tmp_path_factory.mktemp("control_exports")
    run = root / "run"
    run.mkdir()
    image_gan.save(run / "model.keras")
    with open(run / "config.json", "w") as file:
        json.dump({"epochs": 0}, file)
    base = root / "savedmodels" / "cond"
    export.to_saved_model(_image_gan(6), base, version=1, verify=False)
    version = export.to_saved_model(image_gan, base, version=2, max_samples=64)
    onnx_path = export.to_onnx(image_gan, root / "savedmodels" / "cond.onnx")
    return {
        "run": str(run),
        "keras": str(run / "model.keras"),
        "saved_model": str(base),
        "version": str(version),
        "onnx": str(onnx_path),
    }


@pytest.fixture(scope="session")
def image_classifier(tmp_path_factory):
    """`(model, path)`: a fixed linear 3-class classifier on 8x8x1 images, saved as .keras."""
    keras.utils.set_random_seed(7)
    images = keras.Input(shape=IMAGE_SHAPE, name="images")
    logits = keras.layers.Dense(NUM_CLASSES, name="logits")(keras.layers.Flatten()(images))
    model = keras.Model(images, logits, name="image_classifier")
    path = tmp_path_factory.mktemp("classifier") / "classifier.keras"
    model.save(path)
    return model, str(path)

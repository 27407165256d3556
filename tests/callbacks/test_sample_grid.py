"""Tests of kgan.callbacks.SampleGrid: PNG grids and TensorBoard images of fixed samples."""

import glob
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import kgan
from kgan.callbacks import SampleGrid

# Four known 2x2 images, as the uint8 pixels they must become; class k generates image k.
_PIXELS = np.array(
    [
        [[0, 10], [20, 30]],
        [[40, 50], [60, 70]],
        [[80, 90], [100, 110]],
        [[120, 130], [140, 150]],
    ],
    dtype="uint8",
)
# The 2x2 grid of the four images, class 0 top left, 2 pixels of white (255) padding.
_GRID = np.array(
    [
        [255, 255, 255, 255, 255, 255, 255, 255, 255, 255],
        [255, 255, 255, 255, 255, 255, 255, 255, 255, 255],
        [255, 255, 0, 10, 255, 255, 40, 50, 255, 255],
        [255, 255, 20, 30, 255, 255, 60, 70, 255, 255],
        [255, 255, 255, 255, 255, 255, 255, 255, 255, 255],
        [255, 255, 255, 255, 255, 255, 255, 255, 255, 255],
        [255, 255, 80, 90, 255, 255, 120, 130, 255, 255],
        [255, 255, 100, 110, 255, 255, 140, 150, 255, 255],
        [255, 255, 255, 255, 255, 255, 255, 255, 255, 255],
        [255, 255, 255, 255, 255, 255, 255, 255, 255, 255],
    ],
    dtype="uint8",
)
# The PNG file upscales 2-pixel images 32 times (to 64 pixels); the padding stays 2 pixels.
_PNG_REPEATS = [1, 1, 32, 32, 1, 1, 32, 32, 1, 1]


def _as_png_file(grid):
    return grid.repeat(_PNG_REPEATS, axis=0).repeat(_PNG_REPEATS, axis=1)


def _known_images_gan():
    """A conditional GAN whose generator ignores z and draws `_PIXELS[label]`, and keeps doing so
    while it trains (its learning rate is 0)."""
    keras.utils.set_random_seed(0)
    generator = kgan.models.mlp_generator(
        (2, 2, 1), latent_dim=4, hidden_units=(), num_classes=4, output_activation=None
    )
    kernel = np.zeros((8, 4), dtype="float32")  # inputs: z (4), then the one-hot class (4)
    kernel[4:] = _PIXELS.reshape(4, 4) / 127.5 - 1.0
    generator.get_layer("output").set_weights([kernel, np.zeros(4, dtype="float32")])
    discriminator = kgan.models.mlp_discriminator((2, 2, 1), hidden_units=(8,), num_classes=4)
    gan = kgan.GAN(generator, discriminator, num_classes=4, seed=0)
    gan.compile(g_optimizer=keras.optimizers.SGD(0.0))
    return gan


def _images(count=32):
    return np.random.default_rng(0).uniform(-1, 1, (count, 2, 2, 1)).astype("float32")


def _tensorboard_images(log_dir):
    """`[(tag, step, uint8 image)]` of the image summaries in the event files of `log_dir`."""
    found = []
    for path in sorted(glob.glob(os.path.join(log_dir, "*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                width, height, png = tf.make_ndarray(value.tensor)
                image = tf.io.decode_png(png).numpy()
                assert image.shape[:2] == (int(height), int(width))
                found.append((value.tag, event.step, image))
    return found


def test_sample_grid_writes_the_samples_of_fixed_inputs_as_png_and_tensorboard_image(tmp_path):
    gan = _known_images_gan()
    grid = SampleGrid(tmp_path / "samples", num_samples=4, seed=3, tensorboard_dir=tmp_path / "tb")
    labels = np.arange(32) % 4
    gan.fit(_images(), labels, batch_size=8, epochs=2, verbose=0, callbacks=[grid])
    files = sorted(os.listdir(tmp_path / "samples"))
    assert files == ["epoch_001.png", "epoch_002.png"]
    assert grid.paths == [str(tmp_path / "samples" / name) for name in files]
    # Classes cycle 0, 1, 2, 3 by default: each tile is its class's known image.
    written = np.asarray(Image.open(tmp_path / "samples" / "epoch_002.png"))
    assert written.dtype == np.uint8 and written.shape == (134, 134)
    np.testing.assert_array_equal(written, _as_png_file(_GRID))
    # The same grid, not upscaled, is a TensorBoard image summary, one per epoch.
    summaries = _tensorboard_images(tmp_path / "tb")
    assert [(tag, step) for tag, step, _ in summaries] == [("samples", 1), ("samples", 2)]
    for _, _, image in summaries:
        np.testing.assert_array_equal(image, _GRID[..., None])


def test_sample_grid_every_n_epochs_and_labels(tmp_path):
    gan = _known_images_gan()
    grid = SampleGrid(tmp_path, num_samples=4, labels=2, every_n_epochs=2)
    labels = np.arange(16) % 4
    gan.fit(_images(16), labels, batch_size=8, epochs=3, verbose=0, callbacks=[grid])
    assert sorted(os.listdir(tmp_path)) == ["epoch_002.png", "epoch_003.png"]  # And the last.
    # labels=2: every tile is the image of class 2.
    written = np.asarray(Image.open(tmp_path / "epoch_002.png"))
    white = [255] * 10
    expected = np.array(
        [
            white,
            white,
            [255, 255, 80, 90, 255, 255, 80, 90, 255, 255],
            [255, 255, 100, 110, 255, 255, 100, 110, 255, 255],
            white,
            white,
            [255, 255, 80, 90, 255, 255, 80, 90, 255, 255],
            [255, 255, 100, 110, 255, 255, 100, 110, 255, 255],
            white,
            white,
        ],
        dtype="uint8",
    )
    np.testing.assert_array_equal(written, _as_png_file(expected))
    # In a run of 1,000 epochs or more every name has four digits, so that they sort by name,
    # those of the shorter run it trains further too.
    gan.fit(_images(16), labels, epochs=1000, initial_epoch=996, verbose=0, callbacks=[grid])
    names = ["epoch_0002.png", "epoch_0003.png", "epoch_0998.png", "epoch_1000.png"]
    assert sorted(os.listdir(tmp_path)) == names
    assert grid.paths == [str(tmp_path / name) for name in names]
    np.testing.assert_array_equal(
        np.asarray(Image.open(tmp_path / "epoch_0002.png")), _as_png_file(expected)
    )


def test_sample_grid_rejects_vector_samples(tmp_path, toy_gan, square_data):
    gan = toy_gan()
    with pytest.raises(ValueError, match="must output images"):
        gan.fit(square_data(100), epochs=1, verbose=0, callbacks=[SampleGrid(tmp_path)])


def _unconditional_images_gan():
    keras.utils.set_random_seed(0)
    generator = kgan.models.mlp_generator((2, 2, 1), latent_dim=4, hidden_units=())
    discriminator = kgan.models.mlp_discriminator((2, 2, 1), hidden_units=())
    return kgan.GAN(generator, discriminator)


@pytest.mark.parametrize(
    "labels, conditional, message",
    [
        ([0, 9], True, "Received: label 9"),
        ([0, 1, 2], True, "one label per sample"),
        ([0, 1], False, "the model is unconditional"),
    ],
)
def test_sample_grid_checks_its_labels_before_making_its_folder(
    tmp_path, labels, conditional, message
):
    gan = _known_images_gan() if conditional else _unconditional_images_gan()
    directory = tmp_path / "samples"
    grid = SampleGrid(directory, num_samples=2, labels=labels)
    grid.set_model(gan)
    with pytest.raises(ValueError, match=message):
        grid.on_train_begin()
    assert not directory.exists()


def test_sample_grid_names_a_directory_that_cannot_be_one(tmp_path):
    with pytest.raises(TypeError, match="Received: directory=None"):
        SampleGrid(None)
    file = tmp_path / "file.png"
    file.write_bytes(b"")
    with pytest.raises(ValueError, match="not a file. Received: directory="):
        SampleGrid(file)
    # A file that appears after the callback was made is named at the start of training.
    grid = SampleGrid(tmp_path / "later")
    (tmp_path / "later").write_bytes(b"")
    grid.set_model(_unconditional_images_gan())
    with pytest.raises(ValueError, match="Received: directory="):
        grid.on_train_begin()

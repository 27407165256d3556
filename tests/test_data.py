"""Tests of kgan.data: local IDX files, folders, arrays, tfds (mocked), toy distributions."""

import gzip
import os
import pathlib

import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan.data import local

REPO = pathlib.Path(__file__).resolve().parents[1]
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def _shared_data():
    configured = os.environ.get("KGAN_DATA_DIR")
    candidates = [pathlib.Path(configured)] if configured else []
    candidates.append(REPO.parent / "shared" / "data")
    for candidate in candidates:
        if (candidate / "mnist" / "train-images-idx3-ubyte.gz").is_file():
            return candidate
    return None


SHARED_DATA = _shared_data()
needs_mnist = pytest.mark.skipif(
    SHARED_DATA is None,
    reason="the MNIST IDX files are not available: set KGAN_DATA_DIR to a folder holding "
    "mnist/train-images-idx3-ubyte.gz etc. (../shared/data in this repository's checkout)",
)


@pytest.fixture
def no_env_data_dir(monkeypatch):
    monkeypatch.delenv(local.ENV_VAR, raising=False)


def _first_batch(dataset):
    return tf.nest.map_structure(lambda t: t.numpy(), next(iter(dataset)))


def _write_png(path, array):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


# ----------------------------------------------------------------------------- IDX reader


@needs_mnist
def test_read_idx_mnist_train_labels_have_the_published_class_counts():
    labels = kgan.data.read_idx(SHARED_DATA / "mnist" / "train-labels-idx1-ubyte.gz")
    assert labels.dtype == np.uint8 and labels.shape == (60000,)
    assert np.bincount(labels, minlength=10).tolist() == MNIST_TRAIN_COUNTS


@needs_mnist
def test_read_idx_mnist_images_shape_and_pixels():
    images = kgan.data.read_idx(SHARED_DATA / "mnist" / "t10k-images-idx3-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert images.min() == 0 and images.max() == 255
    assert images.flags.writeable  # Users may modify what read_idx returns.


def test_write_idx_read_idx_round_trip_gzip_and_raw(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("a-idx3-ubyte.gz", "a-idx3-ubyte"):
        kgan.data.write_idx(tmp_path / name, array)
        np.testing.assert_array_equal(kgan.data.read_idx(tmp_path / name), array)
    assert (tmp_path / "a-idx3-ubyte.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert (tmp_path / "a-idx3-ubyte").read_bytes()[:4] == b"\x00\x00\x08\x03"


@pytest.fixture
def small_idx(tmp_path):
    """An uncompressed labels file (header + 10 values) to corrupt in several ways."""
    path = tmp_path / "labels-idx1-ubyte"
    kgan.data.write_idx(path, np.arange(10, dtype=np.uint8))
    return path


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda b: b"\x00\x00\x0d\x01" + b[4:], "magic number is 0x00000D01"),  # float type
        (lambda b: b"\x12\x34" + b[2:], "magic number is 0x12340801"),
        (lambda b: b[:-3], "truncated"),
        (lambda b: b[:6], "truncated inside its header"),
        (lambda b: b + b"\x00", "longer than its header says"),
        (lambda b: b[:4] + (11).to_bytes(4, "big") + b[8:], "truncated"),  # count too big
        (lambda b: b[:2], "truncated"),
    ],
)
def test_read_idx_rejects_corrupt_files_naming_them(small_idx, corrupt, message):
    small_idx.write_bytes(corrupt(small_idx.read_bytes()))
    with pytest.raises(ValueError, match=message) as info:
        kgan.data.read_idx(small_idx)
    assert f"path={str(small_idx)!r}" in str(info.value)


def test_read_idx_rejects_truncated_gzip(tmp_path):
    path = tmp_path / "images-idx3-ubyte.gz"
    kgan.data.write_idx(path, np.random.default_rng(0).integers(0, 256, (50, 28, 28)))
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    with pytest.raises(ValueError, match="corrupt or truncated.*Received: path="):
        kgan.data.read_idx(path)


@needs_mnist
def test_truncated_copy_of_real_mnist_file_is_rejected(tmp_path):
    # The real file, decompressed and cut by one image: the header still says 10000.
    raw = gzip.decompress((SHARED_DATA / "mnist" / "t10k-images-idx3-ubyte.gz").read_bytes())
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(raw[: -28 * 28])
    with pytest.raises(ValueError, match="truncated.*7840016 bytes.*7839232"):
        kgan.data.read_idx(path)


def test_read_idx_missing_file():
    with pytest.raises(FileNotFoundError, match="does not exist"):
        kgan.data.read_idx("/nonexistent/train-images-idx3-ubyte.gz")


# ----------------------------------------------------------------------------- local files


@pytest.fixture
def fake_mnist_dir(tmp_path):
    """A data folder with a small, known MNIST-format train and test split."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "data"
    (folder / "mnist").mkdir(parents=True)
    arrays = {}
    for split, count in (("train", 50), ("t10k", 20)):
        images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        labels = (np.arange(count) % 10).astype(np.uint8)
        kgan.data.write_idx(folder / "mnist" / f"{split}-images-idx3-ubyte.gz", images)
        kgan.data.write_idx(folder / "mnist" / f"{split}-labels-idx1-ubyte", labels)  # raw
        arrays[split] = images, labels
    return folder, arrays


def test_local_idx_files_are_loaded_scaled_and_in_file_order(fake_mnist_dir, no_env_data_dir):
    folder, arrays = fake_mnist_dir
    dataset = kgan.data.load(
        "mnist", data_dir=folder, with_labels=True, shuffle=False, batch_size=64
    )
    images, labels = _first_batch(dataset)
    expected_images, expected_labels = arrays["train"]
    assert images.shape == (50, 28, 28, 1) and images.dtype == np.float32
    assert labels.dtype == np.int32
    np.testing.assert_allclose(images[..., 0], expected_images / 127.5 - 1.0, atol=1e-6)
    np.testing.assert_array_equal(labels, expected_labels)
    assert dataset.class_names == [str(d) for d in range(10)]


def test_local_files_come_from_the_environment_variable(fake_mnist_dir, monkeypatch):
    folder, arrays = fake_mnist_dir
    monkeypatch.setenv(local.ENV_VAR, str(folder))
    assert kgan.data.data_dir() == folder.resolve()
    assert kgan.data.data_dir(str(folder / "mnist")) == (folder / "mnist").resolve()
    images = _first_batch(kgan.data.load("mnist", split="test", shuffle=False, batch_size=100))
    assert images.shape == (20, 28, 28, 1)
    np.testing.assert_allclose(images[0, ..., 0], arrays["t10k"][0][0] / 127.5 - 1.0, atol=1e-6)


def test_data_dir_unset_and_missing(no_env_data_dir, monkeypatch, tmp_path):
    assert kgan.data.data_dir() is None
    with pytest.raises(ValueError, match="does not exist. Received: data_dir='/nonexistent'"):
        kgan.data.data_dir("/nonexistent")
    monkeypatch.setenv(local.ENV_VAR, str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="`KGAN_DATA_DIR` environment variable does not exist"):
        kgan.data.load("mnist")


def test_local_split_slices_resize_and_rgb(fake_mnist_dir, no_env_data_dir):
    folder, _ = fake_mnist_dir
    dataset = kgan.data.load(
        "mnist",
        data_dir=folder,
        split="train[10:30]",
        image_size=32,
        color_mode="rgb",
        shuffle=False,
        batch_size=8,
    )
    batches = [b.numpy() for b in dataset]
    assert [len(b) for b in batches] == [8, 8, 4]
    assert batches[0].shape == (8, 32, 32, 3)
    np.testing.assert_array_equal(batches[0][..., 0], batches[0][..., 2])  # grey as RGB
    assert -1.0 <= batches[0].min() and batches[0].max() <= 1.0


def test_unknown_local_split_lists_the_splits(fake_mnist_dir, no_env_data_dir):
    folder, _ = fake_mnist_dir
    with pytest.raises(ValueError, match=r"'train', 'test'. Received: split='validation'"):
        kgan.data.load("mnist", data_dir=folder, split="validation")


def test_corrupt_local_file_fails_loading_instead_of_returning_garbage(
    fake_mnist_dir, no_env_data_dir
):
    folder, _ = fake_mnist_dir
    path = folder / "mnist" / "train-images-idx3-ubyte.gz"
    content = path.read_bytes()
    path.write_bytes(content[:-20])
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz"):
        kgan.data.load("mnist", data_dir=folder)


def test_labels_file_not_matching_images_is_rejected(fake_mnist_dir, no_env_data_dir):
    folder, _ = fake_mnist_dir
    kgan.data.write_idx(folder / "mnist" / "train-labels-idx1-ubyte", np.zeros(49, np.uint8))
    with pytest.raises(ValueError, match="50 images.*labels of shape \\(49,\\)"):
        kgan.data.load("mnist", data_dir=folder, with_labels=True)
    # Without labels the images alone are fine.
    assert _first_batch(kgan.data.load("mnist", data_dir=folder, batch_size=50)).shape[0] == 50


def test_missing_labels_file_when_labels_are_asked(fake_mnist_dir, no_env_data_dir):
    folder, _ = fake_mnist_dir
    (folder / "mnist" / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(ValueError, match="no labels file.*Received: with_labels=True"):
        kgan.data.load("mnist", data_dir=folder, with_labels=True)


@needs_mnist
def test_real_mnist_loads_from_the_shared_folder(no_env_data_dir):
    dataset = kgan.data.load("mnist", data_dir=SHARED_DATA, with_labels=True, batch_size=256)
    images, labels = _first_batch(dataset)
    assert images.shape == (256, 28, 28, 1) and images.dtype == np.float32
    assert images.min() == -1.0 and images.max() == 1.0
    assert labels.dtype == np.int32 and set(labels) <= set(range(10))
    assert int(dataset.cardinality()) == -(-60000 // 256)


# ----------------------------------------------------------------------------- embedded


def test_embedded_sample_works_offline_with_no_data_folder(no_env_data_dir):
    assert kgan.data.EMBEDDED_DATASET == "fashion_mnist_sample"
    dataset = kgan.data.load(kgan.data.EMBEDDED_DATASET, with_labels=True, batch_size=2000, seed=0)
    images, labels = _first_batch(dataset)
    assert images.shape == (2000, 28, 28, 1) and images.dtype == np.float32
    assert images.min() == -1.0 and images.max() == 1.0
    assert np.bincount(labels).tolist() == [200] * 10
    assert dataset.class_names[0] == "T-shirt/top"
    with pytest.raises(ValueError, match="'train'. Received: split='test'"):
        kgan.data.load(kgan.data.EMBEDDED_DATASET, split="test")


def test_embedded_sample_resources_are_packaged_with_their_licence():
    resources = REPO / "kgan" / "resources"
    for path in local.EMBEDDED_FILES:
        assert path.parent == resources and path.is_file()
    assert "MIT License" in (resources / "FASHION_MNIST_LICENSE.txt").read_text()


@pytest.mark.skipif(
    _shared_data() is None or not (_shared_data() / "fashion_mnist").is_dir(),
    reason="the Fashion-MNIST IDX files are not available (KGAN_DATA_DIR or ../shared/data)",
)
def test_embedded_sample_is_the_first_200_of_each_class():
    source = _shared_data() / "fashion_mnist"
    labels = kgan.data.read_idx(source / "train-labels-idx1-ubyte.gz")
    images = kgan.data.read_idx(source / "train-images-idx3-ubyte.gz")
    chosen = np.sort(np.concatenate([np.flatnonzero(labels == c)[:200] for c in range(10)]))
    np.testing.assert_array_equal(kgan.data.read_idx(local.EMBEDDED_FILES[0]), images[chosen])
    np.testing.assert_array_equal(kgan.data.read_idx(local.EMBEDDED_FILES[1]), labels[chosen])


# ----------------------------------------------------------------------------- determinism


def test_same_seed_same_order_other_seed_other_order(no_env_data_dir):
    def first_two(seed):
        dataset = kgan.data.load(kgan.data.EMBEDDED_DATASET, batch_size=16, seed=seed)
        iterator = iter(dataset)
        return next(iterator).numpy(), next(iterator).numpy()

    a, b, c = first_two(3), first_two(3), first_two(4)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_epochs_are_reshuffled_and_cover_every_example_once(no_env_data_dir):
    dataset = kgan.data.from_arrays(
        np.arange(10, dtype=np.float32)[:, None] / 10, batch_size=4, seed=1
    )
    epochs = [np.concatenate([b.numpy()[:, 0] for b in dataset]) for _ in range(2)]
    for epoch in epochs:
        np.testing.assert_allclose(np.sort(epoch), np.arange(10) / 10, atol=1e-6)
    assert not np.array_equal(epochs[0], epochs[1])


# ----------------------------------------------------------------------------- arrays


def test_from_arrays_scales_uint8_and_adds_a_channel_axis():
    x = np.array([[[0, 255], [127, 128]]] * 3, dtype=np.uint8)  # (3, 2, 2)
    y = np.array([0, 1, 2])
    images, labels = _first_batch(kgan.data.from_arrays(x, y, shuffle=False))
    assert images.shape == (3, 2, 2, 1) and images.dtype == np.float32
    np.testing.assert_allclose(
        images[0, ..., 0], [[-1.0, 1.0], [127 / 127.5 - 1, 128 / 127.5 - 1]], atol=1e-6
    )
    np.testing.assert_array_equal(labels, [0, 1, 2])
    assert labels.dtype == np.int32


def test_from_arrays_passes_float_images_in_range_through():
    x = np.linspace(-1, 1, 2 * 4 * 4 * 3, dtype=np.float64).reshape(2, 4, 4, 3)
    images = _first_batch(kgan.data.from_arrays(x, shuffle=False))
    assert images.dtype == np.float32
    np.testing.assert_allclose(images, x, atol=1e-6)


@pytest.mark.parametrize(
    "x, y, message",
    [
        (np.full((2, 4, 4), 255.0), None, r"\[-1, 1\].*values in \[255.0, 255.0\]"),
        (np.zeros((2, 4, 4), np.int64) + 300, None, r"\[0, 255\].*\[300, 300\]"),
        (np.zeros((0, 4, 4), np.uint8), None, "non-empty"),
        (np.zeros((3, 4, 4), np.uint8), [0, 1], r"one integer label per example \(3\)"),
        (np.zeros((2, 4, 4), np.uint8), [0.5, 1], "integer class labels"),
    ],
)
def test_from_arrays_rejects_bad_input(x, y, message):
    with pytest.raises(ValueError, match=message):
        kgan.data.from_arrays(x, y)


def test_from_arrays_warns_about_images_in_zero_one():
    with pytest.warns(UserWarning, match=r"\[0, 1\]"):
        kgan.data.from_arrays(np.full((2, 4, 4, 1), 0.5, np.float32))


def test_batch_arguments_are_validated():
    x = np.zeros((4, 2, 2), np.uint8)
    with pytest.raises(ValueError, match="Received: batch_size=0"):
        kgan.data.from_arrays(x, batch_size=0)
    with pytest.raises(ValueError, match="Received: seed='a'"):
        kgan.data.from_arrays(x, seed="a")
    with pytest.raises(ValueError, match="Received: color_mode='cmyk'"):
        kgan.data.load(kgan.data.EMBEDDED_DATASET, color_mode="cmyk")
    with pytest.raises(ValueError, match=r"Received: image_size=\(0, 3\)"):
        kgan.data.load(kgan.data.EMBEDDED_DATASET, image_size=(0, 3))


def test_drop_remainder():
    x = np.zeros((10, 2, 2), np.uint8)
    assert [len(b) for b in kgan.data.from_arrays(x, batch_size=4)] == [4, 4, 2]
    assert [len(b) for b in kgan.data.from_arrays(x, batch_size=4, drop_remainder=True)] == [4, 4]


# ----------------------------------------------------------------------------- folders


@pytest.fixture
def class_folder(tmp_path):
    """Two classes: 3 grey 'cats' (values 10, 20, 30) and 2 grey 'dogs' (200, 210)."""
    root = tmp_path / "pets"
    for name, values in (("cat", (10, 20, 30)), ("dog", (200, 210))):
        for i, value in enumerate(values):
            _write_png(root / name / f"{i}.png", np.full((6, 5), value, np.uint8))
    return root


def test_folder_with_class_subfolders_gives_labels(class_folder):
    dataset = kgan.data.load(class_folder, with_labels=True, shuffle=False, batch_size=8)
    images, labels = _first_batch(dataset)
    assert images.shape == (5, 6, 5, 1)
    np.testing.assert_allclose(
        images[:, 0, 0, 0], np.array([10, 20, 30, 200, 210]) / 127.5 - 1, atol=1e-6
    )
    np.testing.assert_array_equal(labels, [0, 0, 0, 1, 1])
    assert dataset.class_names == ["cat", "dog"]


def test_folder_resize_and_color_mode(class_folder):
    _write_png(
        class_folder / "dog" / "rgb.png",
        np.zeros((9, 9, 3), np.uint8) + np.array([255, 0, 0], np.uint8),
    )
    dataset = kgan.data.from_folder(
        str(class_folder), image_size=(4, 4), color_mode="rgb", shuffle=False
    )
    images = _first_batch(dataset)
    assert images.shape == (6, 4, 4, 3)
    np.testing.assert_allclose(images[-1, 0, 0], [1.0, -1.0, -1.0], atol=1e-6)  # red stays red
    grey = _first_batch(kgan.data.from_folder(class_folder, image_size=4, color_mode="grayscale"))
    assert grey.shape == (6, 4, 4, 1)


def test_folder_errors(tmp_path, class_folder):
    with pytest.raises(ValueError, match="does not exist. Received: name="):
        kgan.data.load(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    with pytest.raises(ValueError, match="holds no images"):
        kgan.data.load(tmp_path / "empty")
    with pytest.raises(ValueError, match="split.*Received: split='test'"):
        kgan.data.load(class_folder, split="test")


def test_flat_folder_has_no_labels(tmp_path):
    for i in range(3):
        _write_png(tmp_path / "flat" / f"{i}.png", np.full((4, 4), i, np.uint8))
    assert _first_batch(kgan.data.load(tmp_path / "flat")).shape == (3, 4, 4, 1)
    with pytest.raises(
        ValueError, match="not arranged in one sub-folder per class.*with_labels=True"
    ):
        kgan.data.load(tmp_path / "flat", with_labels=True)


def test_unreadable_image_is_named(class_folder):
    (class_folder / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(ValueError, match="broken.png"):
        kgan.data.load(class_folder, color_mode="grayscale")


def test_images_of_different_sizes_need_image_size(class_folder):
    _write_png(class_folder / "dog" / "big.png", np.zeros((12, 12), np.uint8))
    with pytest.raises(ValueError, match="big.png.*12x12.*Received: image_size=None"):
        kgan.data.load(class_folder)
    assert _first_batch(kgan.data.load(class_folder, image_size=6)).shape == (6, 6, 6, 1)


# ----------------------------------------------------------------------------- tfds


@pytest.fixture
def mock_tfds(no_env_data_dir):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=10):
        yield tfds


def test_tfds_dataset_by_name(mock_tfds, tmp_path):
    dataset = kgan.data.load("cifar10", with_labels=True, batch_size=4, seed=0, data_dir=tmp_path)
    images, labels = _first_batch(dataset)
    assert images.shape == (4, 32, 32, 3) and images.dtype == np.float32
    assert -1.0 <= images.min() and images.max() <= 1.0
    assert labels.dtype == np.int32 and set(labels) <= set(range(10))
    assert len(dataset.class_names) == 10
    assert sum(len(b[0]) for b in dataset) == 10
    assert sum(len(b) for b in kgan.data.load("cifar10", num_samples=3, batch_size=2)) == 3


def test_tfds_resize_grayscale_and_determinism(mock_tfds):
    def first(seed):
        return _first_batch(
            kgan.data.load(
                "cifar10", batch_size=5, image_size=16, color_mode="grayscale", seed=seed
            )
        )

    a, b = first(1), first(1)
    assert a.shape == (5, 16, 16, 1)
    np.testing.assert_array_equal(a, b)


def test_tfds_without_labels_when_labels_are_asked(mock_tfds):
    with pytest.raises(ValueError, match="no `label` feature.*attributes.*with_labels=True"):
        kgan.data.load("celeb_a", with_labels=True)


def test_unknown_name_lists_the_local_sources_and_tfds(mock_tfds, fake_mnist_dir):
    folder, _ = fake_mnist_dir
    with pytest.raises(ValueError) as info:
        kgan.data.load("not_a_dataset_xyz", data_dir=folder)
    message = str(info.value)
    assert "'fashion_mnist_sample'" in message and "'gaussian_ring'" in message
    assert f"local IDX files in {folder.resolve()} for 'mnist'" in message
    assert "tensorflow-datasets" in message
    assert message.endswith("Received: name='not_a_dataset_xyz'")


def test_non_image_tfds_dataset_is_rejected(mock_tfds):
    with pytest.raises(ValueError, match="no `image` feature.*Received: name='imdb_reviews'"):
        kgan.data.load("imdb_reviews")


def test_offline_without_local_copy_says_which_files_to_put_where(
    no_env_data_dir, monkeypatch, tmp_path
):
    tfds = pytest.importorskip("tensorflow_datasets")

    def offline(self, *args, **kwargs):
        raise ConnectionError("Failed to establish a new connection: [Errno -3] name resolution")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", offline)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError) as info:
        kgan.data.load("mnist", data_dir=empty, split="test")
    message = str(info.value)
    assert "t10k-images-idx3-ubyte.gz" in message and "t10k-labels-idx1-ubyte.gz" in message
    assert str(empty.resolve() / "mnist") in message
    assert "ConnectionError" in message and info.value.__cause__ is None
    with pytest.raises(FileNotFoundError, match="KGAN_DATA_DIR environment variable"):
        kgan.data.load("fashion_mnist")
    with pytest.raises(FileNotFoundError, match="needs a network connection"):
        kgan.data.load("cifar10", data_dir=empty)


def test_tfds_data_feeds_gan_fit(mock_tfds):
    generator = kgan.models.dcgan_generator((32, 32, 3), latent_dim=8, base_filters=8)
    discriminator = kgan.models.dcgan_discriminator((32, 32, 3), base_filters=8)
    gan = kgan.GAN(generator, discriminator, seed=0)
    gan.compile()
    history = gan.fit(kgan.data.load("cifar10", batch_size=5, seed=0), epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][-1])


# ----------------------------------------------------------------------------- toys


def test_gaussian_ring_geometry_and_moments():
    ring = kgan.data.gaussian_ring()
    assert ring.name == "gaussian_ring" and ring.num_modes == 8 and ring.std == 0.01
    assert ring.means.dtype == np.float32 and ring.means.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(ring.means, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(ring.means[2], [0.0, 1.0], atol=1e-6)  # 2 pi * 2 / 8 = 90 degrees
    x, modes = ring.sample(80_000, seed=0)
    assert x.dtype == np.float32 and x.shape == (80_000, 2) and modes.shape == (80_000,)
    counts = np.bincount(modes, minlength=8)
    assert np.all(np.abs(counts - 10_000) < 500)  # equal weights; 5 binomial sigmas
    residual = x - ring.means[modes]
    np.testing.assert_allclose(residual.mean(axis=0), 0.0, atol=3e-4)
    np.testing.assert_allclose(residual.std(axis=0), 0.01, rtol=0.02)
    nearest = np.argmin(((x[:, None] - ring.means[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(nearest, modes)  # modes are 76 std apart


def test_gaussian_grid_geometry_and_moments():
    grid = kgan.data.gaussian_grid()
    assert grid.name == "gaussian_grid" and grid.num_modes == 25 and grid.std == 0.05
    assert {tuple(m) for m in grid.means.tolist()} == {
        (a, b) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)
    }
    x, modes = grid.sample(100_000, seed=1)
    assert len(np.unique(modes)) == 25
    np.testing.assert_allclose((x - grid.means[modes]).std(axis=0), 0.05, rtol=0.02)
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=0.03)
    np.testing.assert_allclose(
        x.std(axis=0), np.sqrt(8 + 0.05**2), rtol=0.02
    )  # Var of U{-4..4 step 2} = 8


def test_toy_datasets_are_seeded_unclipped_batches():
    grid = kgan.data.gaussian_grid()
    dataset = grid.dataset(num_samples=1000, batch_size=100, seed=0, with_labels=True)
    points, modes = _first_batch(dataset)
    assert points.shape == (100, 2) and points.dtype == np.float32 and modes.dtype == np.int32
    assert np.abs(points).max() > 3.5  # not clipped to [-1, 1]
    np.testing.assert_allclose(points, grid.means[modes], atol=0.05 * 6)
    assert sum(len(b[0]) for b in dataset) == 1000
    same = _first_batch(kgan.data.load("gaussian_grid", batch_size=100, seed=0, num_samples=1000))
    np.testing.assert_array_equal(same, points)
    ring_a = _first_batch(kgan.data.load("gaussian_ring", batch_size=100, seed=0))
    ring_b = _first_batch(
        kgan.data.gaussian_ring().dataset(num_samples=100_000, batch_size=100, seed=0)
    )
    np.testing.assert_array_equal(ring_a, ring_b)


def test_num_samples_takes_the_first_examples_of_other_sources(class_folder, no_env_data_dir):
    full = _first_batch(kgan.data.load(kgan.data.EMBEDDED_DATASET, shuffle=False, batch_size=5))
    dataset = kgan.data.load(kgan.data.EMBEDDED_DATASET, num_samples=5, batch_size=100)
    assert int(dataset.cardinality()) == 1
    first = _first_batch(dataset)
    assert first.shape == (5, 28, 28, 1)
    np.testing.assert_array_equal(np.sort(first.ravel()), np.sort(full.ravel()))
    assert _first_batch(kgan.data.load(class_folder, num_samples=2)).shape[0] == 2
    with pytest.raises(ValueError, match="Received: num_samples=0"):
        kgan.data.load(kgan.data.EMBEDDED_DATASET, num_samples=0)


@needs_mnist
def test_stacked_mnist_channels_are_mnist_digits_and_labels_their_triple():
    mnist = kgan.data.read_idx(SHARED_DATA / "mnist" / "train-images-idx3-ubyte.gz")
    digit_labels = kgan.data.read_idx(SHARED_DATA / "mnist" / "train-labels-idx1-ubyte.gz")
    stacked = kgan.data.stacked_mnist(20_000, data_dir=SHARED_DATA, seed=0)
    assert stacked.num_modes == 1000 and stacked.labels.shape == (20_000,)
    dataset = stacked.dataset(batch_size=64, with_labels=True, shuffle=False)
    images, labels = _first_batch(dataset)
    assert images.shape == (64, 28, 28, 3) and images.dtype == np.float32
    assert images.min() == -1.0 and images.max() == 1.0
    for i in range(3):
        rows = stacked.indices[i]
        np.testing.assert_allclose(
            images[i], np.stack([mnist[r] for r in rows], -1) / 127.5 - 1, atol=1e-6
        )
        d0, d1, d2 = digit_labels[rows].astype(int)
        assert labels[i] == 100 * d0 + 10 * d1 + d2
    np.testing.assert_array_equal(
        stacked.label_to_digits(labels[:3]), digit_labels[stacked.indices[:3]]
    )
    # 20 samples per mode on average: every one of the 1000 triples appears (P(miss) ~ 2e-6).
    assert len(np.unique(stacked.labels)) == 1000
    assert np.bincount(stacked.digits.ravel(), minlength=10).min() > 5000


@needs_mnist
def test_stacked_mnist_is_seeded_and_loadable_by_name(no_env_data_dir):
    a = kgan.data.stacked_mnist(1000, data_dir=SHARED_DATA, seed=5)
    b = kgan.data.stacked_mnist(1000, data_dir=SHARED_DATA, seed=5)
    c = kgan.data.stacked_mnist(1000, data_dir=SHARED_DATA, seed=6)
    np.testing.assert_array_equal(a.indices, b.indices)
    assert not np.array_equal(a.indices, c.indices)
    by_name = kgan.data.load(
        "stacked_mnist", data_dir=SHARED_DATA, num_samples=1000, seed=5, batch_size=32
    )
    np.testing.assert_array_equal(_first_batch(by_name), _first_batch(a.dataset(batch_size=32)))
    images, labels = a.sample(10, seed=0)
    assert images.shape == (10, 28, 28, 3) and labels.max() < 1000

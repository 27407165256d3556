"""Tests of kgan.data.local: the data folder, local IDX files and the embedded sample."""

import pathlib

import numpy as np
import pytest

import kgan
from kgan.data import local

REPO = pathlib.Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------- local files


def test_local_idx_files_are_loaded_scaled_and_in_file_order(
    fake_mnist_dir, no_env_data_dir, first_batch
):
    folder, arrays = fake_mnist_dir
    dataset = kgan.data.load(
        "mnist", data_dir=folder, with_labels=True, shuffle=False, batch_size=64
    )
    images, labels = first_batch(dataset)
    expected_images, expected_labels = arrays["train"]
    assert images.shape == (50, 28, 28, 1) and images.dtype == np.float32
    assert labels.dtype == np.int32
    np.testing.assert_allclose(images[..., 0], expected_images / 127.5 - 1.0, atol=1e-6)
    np.testing.assert_array_equal(labels, expected_labels)
    assert dataset.class_names == [str(d) for d in range(10)]


def test_local_files_come_from_the_environment_variable(fake_mnist_dir, monkeypatch, first_batch):
    folder, arrays = fake_mnist_dir
    monkeypatch.setenv(local.ENV_VAR, str(folder))
    assert kgan.data.data_dir() == folder.resolve()
    assert kgan.data.data_dir(str(folder / "mnist")) == (folder / "mnist").resolve()
    images = first_batch(kgan.data.load("mnist", split="test", shuffle=False, batch_size=100))
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


def test_labels_file_not_matching_images_is_rejected(fake_mnist_dir, no_env_data_dir, first_batch):
    folder, _ = fake_mnist_dir
    kgan.data.write_idx(folder / "mnist" / "train-labels-idx1-ubyte", np.zeros(49, np.uint8))
    with pytest.raises(ValueError, match="50 images.*labels of shape \\(49,\\)"):
        kgan.data.load("mnist", data_dir=folder, with_labels=True)
    # Without labels the images alone are fine.
    assert first_batch(kgan.data.load("mnist", data_dir=folder, batch_size=50)).shape[0] == 50


def test_missing_labels_file_when_labels_are_asked(fake_mnist_dir, no_env_data_dir):
    folder, _ = fake_mnist_dir
    (folder / "mnist" / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(ValueError, match="no labels file.*Received: with_labels=True"):
        kgan.data.load("mnist", data_dir=folder, with_labels=True)


def test_real_mnist_loads_from_the_shared_folder(no_env_data_dir, shared_mnist, first_batch):
    dataset = kgan.data.load("mnist", data_dir=shared_mnist, with_labels=True, batch_size=256)
    images, labels = first_batch(dataset)
    assert images.shape == (256, 28, 28, 1) and images.dtype == np.float32
    assert images.min() == -1.0 and images.max() == 1.0
    assert labels.dtype == np.int32 and set(labels) <= set(range(10))
    assert int(dataset.cardinality()) == -(-60000 // 256)


# ----------------------------------------------------------------------------- embedded


def test_embedded_sample_works_offline_with_no_data_folder(no_env_data_dir, first_batch):
    assert kgan.data.EMBEDDED_DATASET == "fashion_mnist_sample"
    dataset = kgan.data.load(kgan.data.EMBEDDED_DATASET, with_labels=True, batch_size=2000, seed=0)
    images, labels = first_batch(dataset)
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


def test_embedded_sample_is_the_first_200_of_each_class(shared_fashion_mnist):
    source = shared_fashion_mnist
    labels = kgan.data.read_idx(source / "train-labels-idx1-ubyte.gz")
    images = kgan.data.read_idx(source / "train-images-idx3-ubyte.gz")
    chosen = np.sort(np.concatenate([np.flatnonzero(labels == c)[:200] for c in range(10)]))
    np.testing.assert_array_equal(kgan.data.read_idx(local.EMBEDDED_FILES[0]), images[chosen])
    np.testing.assert_array_equal(kgan.data.read_idx(local.EMBEDDED_FILES[1]), labels[chosen])


# ----------------------------------------------------------------------------- mnist_arrays


def test_mnist_arrays_reads_the_local_files_in_memory(fake_mnist_dir, no_env_data_dir):
    folder, arrays = fake_mnist_dir
    images, labels = local.mnist_arrays("train[10:20]", data_dir=folder)
    assert images.shape == (10, 28, 28, 1) and images.dtype == np.uint8
    np.testing.assert_array_equal(images[..., 0], arrays["train"][0][10:20])
    np.testing.assert_array_equal(labels, arrays["train"][1][10:20])
    assert labels.dtype == np.int32


def test_mnist_arrays_offline_without_local_copy_says_which_files_to_put_where(
    no_env_data_dir, tfds_data_dir, monkeypatch, tmp_path
):
    import tensorflow_datasets as tfds

    def offline(self, *args, **kwargs):
        raise ConnectionError("Failed to establish a new connection")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", offline)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError) as info:
        local.mnist_arrays("test", data_dir=empty)
    message = str(info.value)
    assert "t10k-images-idx3-ubyte.gz" in message and str(empty.resolve() / "mnist") in message
    assert message.endswith("Received: name='mnist'")

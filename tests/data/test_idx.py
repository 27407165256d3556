"""Tests of kgan.data.idx: the strict IDX reader and the writer."""

import gzip

import numpy as np
import pytest

import kgan

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_read_idx_mnist_train_labels_have_the_published_class_counts(shared_mnist):
    labels = kgan.data.read_idx(shared_mnist / "mnist" / "train-labels-idx1-ubyte.gz")
    assert labels.dtype == np.uint8 and labels.shape == (60000,)
    assert np.bincount(labels, minlength=10).tolist() == MNIST_TRAIN_COUNTS


def test_read_idx_mnist_images_shape_and_pixels(shared_mnist):
    images = kgan.data.read_idx(shared_mnist / "mnist" / "t10k-images-idx3-ubyte.gz")
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


def test_truncated_copy_of_real_mnist_file_is_rejected(tmp_path, shared_mnist):
    # The real file, decompressed and cut by one image: the header still says 10000.
    raw = gzip.decompress((shared_mnist / "mnist" / "t10k-images-idx3-ubyte.gz").read_bytes())
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(raw[: -28 * 28])
    with pytest.raises(ValueError, match="truncated.*7840016 bytes.*7839232"):
        kgan.data.read_idx(path)


def test_read_idx_missing_file():
    with pytest.raises(FileNotFoundError, match="does not exist"):
        kgan.data.read_idx("/nonexistent/train-images-idx3-ubyte.gz")

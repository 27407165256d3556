"""Fixtures of the kgan.data tests: small data folders, the shared MNIST files, mocked tfds."""

import os
import pathlib

import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan.data import local

REPO = pathlib.Path(__file__).resolve().parents[2]


def _shared_folder(dataset):
    """The data folder holding `<dataset>/train-images-idx3-ubyte.gz`, or `None`."""
    configured = os.environ.get(local.ENV_VAR)
    candidates = [pathlib.Path(configured)] if configured else []
    candidates.append(REPO.parent / "shared" / "data")
    for candidate in candidates:
        if (candidate / dataset / "train-images-idx3-ubyte.gz").is_file():
            return candidate
    return None


@pytest.fixture
def shared_mnist():
    """The data folder with the real MNIST IDX files; the test is skipped without them."""
    folder = _shared_folder("mnist")
    if folder is None:
        pytest.skip(
            "the MNIST IDX files are not available: set KGAN_DATA_DIR to a folder holding "
            "mnist/train-images-idx3-ubyte.gz etc. (../shared/data in this repository's checkout)"
        )
    return folder


@pytest.fixture
def shared_fashion_mnist():
    """The folder of the real Fashion-MNIST IDX files; the test is skipped without them."""
    folder = _shared_folder("fashion_mnist")
    if folder is None:
        pytest.skip(
            "the Fashion-MNIST IDX files are not available (KGAN_DATA_DIR or ../shared/data)"
        )
    return folder / "fashion_mnist"


@pytest.fixture
def no_env_data_dir(monkeypatch):
    monkeypatch.delenv(local.ENV_VAR, raising=False)


@pytest.fixture
def first_batch():
    """Returns a function giving a dataset's first batch as NumPy arrays."""

    def first(dataset):
        return tf.nest.map_structure(lambda t: t.numpy(), next(iter(dataset)))

    return first


def _write_png(path, array):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


@pytest.fixture
def write_png():
    """Returns a function writing a uint8 array as a PNG, creating its folder."""
    return _write_png


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


@pytest.fixture
def class_folder(tmp_path):
    """Two classes: 3 grey 'cats' (values 10, 20, 30) and 2 grey 'dogs' (200, 210)."""
    root = tmp_path / "pets"
    for name, values in (("cat", (10, 20, 30)), ("dog", (200, 210))):
        for i, value in enumerate(values):
            _write_png(root / name / f"{i}.png", np.full((6, 5), value, np.uint8))
    return root


@pytest.fixture
def tfds_data_dir(tmp_path, monkeypatch):
    """Points tensorflow-datasets' default data folder (~/tensorflow_datasets) at tmp_path."""
    tfds = pytest.importorskip("tensorflow_datasets")
    folder = tmp_path / "tensorflow_datasets"
    folder.mkdir()
    monkeypatch.setenv("TFDS_DATA_DIR", str(folder))
    monkeypatch.setattr(tfds.core.constants, "DATA_DIR", str(folder))
    return folder


@pytest.fixture
def mock_tfds(no_env_data_dir, tfds_data_dir, monkeypatch):
    """tensorflow-datasets answering from generated examples, as if online: no network."""
    tfds = pytest.importorskip("tensorflow_datasets")
    from kgan.data import tfds_source

    monkeypatch.setattr(tfds_source, "network_problem", lambda: None)
    with tfds.testing.mock_data(num_examples=10):
        yield tfds

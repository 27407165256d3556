"""Tests of kgan.data.tfds_source with tensorflow-datasets mocked: no network."""

import os

import numpy as np
import pytest

import kgan
from kgan.data import tfds_source


def test_tfds_dataset_by_name(mock_tfds, tmp_path, first_batch):
    dataset = kgan.data.load("cifar10", with_labels=True, batch_size=4, seed=0, data_dir=tmp_path)
    images, labels = first_batch(dataset)
    assert images.shape == (4, 32, 32, 3) and images.dtype == np.float32
    assert -1.0 <= images.min() and images.max() <= 1.0
    assert labels.dtype == np.int32 and set(labels) <= set(range(10))
    assert len(dataset.class_names) == 10
    assert sum(len(b[0]) for b in dataset) == 10
    assert sum(len(b) for b in kgan.data.load("cifar10", num_samples=3, batch_size=2)) == 3


def test_tfds_resize_grayscale_and_determinism(mock_tfds, first_batch):
    def first(seed):
        return first_batch(
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


def test_non_image_tfds_dataset_is_rejected(mock_tfds):
    with pytest.raises(ValueError, match="no `image` feature.*Received: name='imdb_reviews'"):
        kgan.data.load("imdb_reviews")


def test_offline_without_local_copy_says_which_files_to_put_where(
    no_env_data_dir, tfds_data_dir, monkeypatch, tmp_path
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
    with pytest.raises(FileNotFoundError, match="cifar-10-batches-py"):
        kgan.data.load("cifar10", data_dir=empty)
    with pytest.raises(FileNotFoundError, match="needs a network connection"):
        kgan.data.load("svhn_cropped", data_dir=empty)


def test_tfds_data_feeds_gan_fit(mock_tfds):
    generator = kgan.models.dcgan_generator((32, 32, 3), latent_dim=8, base_filters=8)
    discriminator = kgan.models.dcgan_discriminator((32, 32, 3), base_filters=8)
    gan = kgan.GAN(generator, discriminator, seed=0)
    gan.compile()
    history = gan.fit(kgan.data.load("cifar10", batch_size=5, seed=0), epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][-1])


def test_unknown_tfds_name_raises_the_public_error(mock_tfds, tfds_data_dir):
    with pytest.raises(tfds_source.UnknownDatasetError, match="not_a_dataset_xyz"):
        tfds_source.builder("not_a_dataset_xyz", tfds_data_dir)


def _closed_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_offline_download_fails_fast_and_leaves_nothing(
    no_env_data_dir, tfds_data_dir, monkeypatch
):
    import time

    tfds = pytest.importorskip("tensorflow_datasets")
    port = _closed_port()
    # Every download goes through a proxy that is not there: offline, on any machine.
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")

    def never(self, *args, **kwargs):
        raise AssertionError("no download may start without a network")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", never)
    started = time.monotonic()
    with pytest.raises(FileNotFoundError) as info:
        kgan.data.load("mnist", split="test")
    assert time.monotonic() - started < 10
    message = str(info.value)
    assert f"ConnectionError: cannot connect to 127.0.0.1:{port}" in message
    assert "t10k-images-idx3-ubyte.gz" in message and "KGAN_DATA_DIR" in message
    assert list(tfds_data_dir.iterdir()) == []


def test_a_failed_download_removes_what_it_wrote(no_env_data_dir, tfds_data_dir, monkeypatch):
    tfds = pytest.importorskip("tensorflow_datasets")

    def half_then_offline(self, *args, **kwargs):
        (tfds_data_dir / "mnist" / "3.0.1.incomplete7XZ").mkdir(parents=True)
        (tfds_data_dir / "downloads").mkdir()
        raise ConnectionError("Read timed out")

    monkeypatch.setattr(tfds_source, "network_problem", lambda: None)
    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", half_then_offline)
    (tfds_data_dir / "cifar10").mkdir()  # Someone else's data stays.
    with pytest.raises(FileNotFoundError, match="ConnectionError: Read timed out"):
        kgan.data.load("mnist")
    assert [p.name for p in tfds_data_dir.iterdir()] == ["cifar10"]


def test_network_problem_names_the_host_it_tried(monkeypatch):
    port = _closed_port()
    monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{port}")
    assert tfds_source.network_problem(timeout=2).startswith(f"cannot connect to 127.0.0.1:{port}")


def _no_proxy_environment(monkeypatch):
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)


def test_the_probe_goes_through_the_https_proxy(monkeypatch):
    _no_proxy_environment(monkeypatch)
    assert tfds_source._probe_address() == tfds_source.DOWNLOAD_HOST
    monkeypatch.setenv("ALL_PROXY", "proxy.example:3128")
    assert tfds_source._probe_address() == ("proxy.example", 3128)
    monkeypatch.setenv("https_proxy", "https://secure.example")
    assert tfds_source._probe_address() == ("secure.example", 443)


@pytest.mark.parametrize("no_proxy", ["storage.googleapis.com", ".googleapis.com", "*"])
def test_the_probe_skips_a_proxy_that_no_proxy_exempts(monkeypatch, no_proxy):
    _no_proxy_environment(monkeypatch)
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    assert tfds_source._probe_address() == tfds_source.DOWNLOAD_HOST
    monkeypatch.setenv("NO_PROXY", "other.example")
    assert tfds_source._probe_address() == ("proxy.example", 3128)

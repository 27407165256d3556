"""Tests of kgan.data.toys: the Gaussian mixtures and Stacked MNIST."""

import numpy as np
import pytest

import kgan


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


def test_toy_datasets_are_seeded_unclipped_batches(first_batch):
    grid = kgan.data.gaussian_grid()
    dataset = grid.dataset(num_samples=1000, batch_size=100, seed=0, with_labels=True)
    points, modes = first_batch(dataset)
    assert points.shape == (100, 2) and points.dtype == np.float32 and modes.dtype == np.int32
    assert np.abs(points).max() > 3.5  # not clipped to [-1, 1]
    np.testing.assert_allclose(points, grid.means[modes], atol=0.05 * 6)
    assert sum(len(b[0]) for b in dataset) == 1000
    same = first_batch(kgan.data.load("gaussian_grid", batch_size=100, seed=0, num_samples=1000))
    np.testing.assert_array_equal(same, points)
    ring_a = first_batch(kgan.data.load("gaussian_ring", batch_size=100, seed=0))
    ring_b = first_batch(
        kgan.data.gaussian_ring().dataset(num_samples=100_000, batch_size=100, seed=0)
    )
    np.testing.assert_array_equal(ring_a, ring_b)


def test_stacked_mnist_channels_are_mnist_digits_and_labels_their_triple(shared_mnist, first_batch):
    mnist = kgan.data.read_idx(shared_mnist / "mnist" / "train-images-idx3-ubyte.gz")
    digit_labels = kgan.data.read_idx(shared_mnist / "mnist" / "train-labels-idx1-ubyte.gz")
    stacked = kgan.data.stacked_mnist(20_000, data_dir=shared_mnist, seed=0)
    assert stacked.num_modes == 1000 and stacked.labels.shape == (20_000,)
    dataset = stacked.dataset(batch_size=64, with_labels=True, shuffle=False)
    images, labels = first_batch(dataset)
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


def test_stacked_mnist_is_seeded_and_loadable_by_name(no_env_data_dir, shared_mnist, first_batch):
    a = kgan.data.stacked_mnist(1000, data_dir=shared_mnist, seed=5)
    b = kgan.data.stacked_mnist(1000, data_dir=shared_mnist, seed=5)
    c = kgan.data.stacked_mnist(1000, data_dir=shared_mnist, seed=6)
    np.testing.assert_array_equal(a.indices, b.indices)
    assert not np.array_equal(a.indices, c.indices)
    by_name = kgan.data.load(
        "stacked_mnist", data_dir=shared_mnist, num_samples=1000, seed=5, batch_size=32
    )
    np.testing.assert_array_equal(first_batch(by_name), first_batch(a.dataset(batch_size=32)))
    images, labels = a.sample(10, seed=0)
    assert images.shape == (10, 28, 28, 3) and labels.max() < 1000


def test_toy_seeds_must_be_integers():
    ring = kgan.data.gaussian_ring()
    a, _ = ring.sample(5, seed=np.int64(3))
    np.testing.assert_array_equal(a, ring.sample(5, seed=3)[0])
    for seed in (1.5, True, "0"):
        with pytest.raises(ValueError, match=f"Received: seed={seed!r}"):
            ring.sample(5, seed=seed)
    with pytest.raises(ValueError, match="Received: seed=1.5"):
        kgan.data.stacked_mnist(10, seed=1.5)

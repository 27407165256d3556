"""Tests of kgan.metrics.modes: the Gaussian-mixture protocol and Stacked MNIST's 1000 modes."""

import math

import keras
import numpy as np
import pytest

import kgan
from kgan import metrics

# ---------------------------------------------------------------------------- mode coverage

GRID_MEANS = np.array([[x, y] for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)], "float32")


def test_mode_coverage_of_a_perfect_sampler():
    grid = kgan.data.gaussian_grid()
    samples, _ = grid.sample(2500, seed=0)
    result = metrics.mode_coverage(samples, grid.means, grid.std)
    assert result["modes_covered"] == 25 and result["num_modes"] == 25
    # 1 - exp(-4.5) = 98.89%; the binomial spread at 2500 samples is 0.2%.
    assert result["high_quality"] == pytest.approx(metrics.PERFECT_HIGH_QUALITY_2D, abs=0.008)
    assert metrics.PERFECT_HIGH_QUALITY_2D == pytest.approx(0.98889, abs=1e-5)
    assert result["kl_to_uniform"] < 0.03


def test_mode_coverage_of_a_collapsed_sampler():
    rng = np.random.default_rng(0)
    samples = GRID_MEANS[7] + 0.05 * rng.standard_normal((2500, 2)) * 0.5
    result = metrics.mode_coverage(samples, GRID_MEANS, 0.05)
    assert result["modes_covered"] == 1
    assert result["high_quality"] == 1.0
    assert result["mode_counts"][7] == 2500
    assert result["kl_to_uniform"] == pytest.approx(math.log(25))


def test_mode_coverage_of_off_mode_noise():
    # Points halfway between modes are sqrt(2) / 0.05 = 28 standard deviations from any mean.
    samples = np.array([[1.0, 1.0], [-1.0, 3.0], [3.0, -3.0]] * 10)
    result = metrics.mode_coverage(samples, GRID_MEANS, 0.05)
    assert result["modes_covered"] == 0 and result["high_quality"] == 0.0
    assert math.isnan(result["kl_to_uniform"])
    # Half on two modes, half off: 2 modes, 50% high quality, KL = log(25 / 2).
    mixed = np.concatenate([samples, np.repeat(GRID_MEANS[[0, 24]], 15, axis=0)])
    result = metrics.mode_coverage(mixed, GRID_MEANS, 0.05)
    assert result["modes_covered"] == 2 and result["high_quality"] == 0.5
    assert result["kl_to_uniform"] == pytest.approx(math.log(12.5))


def test_mode_coverage_threshold_is_three_standard_deviations():
    means = np.array([[0.0, 0.0], [10.0, 0.0]])
    inside = metrics.mode_coverage([[0.5 * 2.9, 0.0]], means, 0.5)
    outside = metrics.mode_coverage([[0.5 * 3.1, 0.0]], means, 0.5)
    assert inside["high_quality"] == 1.0 and inside["modes_covered"] == 1
    assert outside["high_quality"] == 0.0 and outside["modes_covered"] == 0
    with pytest.raises(ValueError, match="Received: std=0"):
        metrics.mode_coverage([[0.0, 0.0]], means, 0)


def test_kl_to_uniform_hand_computed():
    assert metrics.kl_to_uniform([1, 1, 0, 0]) == pytest.approx(math.log(2))
    assert metrics.kl_to_uniform([3, 3, 3]) == pytest.approx(0.0)


# ---------------------------------------------------------------------------- Stacked MNIST


def _level_classifier():
    """A stand-in MNIST classifier: an image whose pixels all equal -0.9 + 0.2 d is digit d."""
    images = keras.Input((28, 28, 1))
    mean = keras.layers.GlobalAveragePooling2D()(images)
    centres = np.linspace(-0.9, 0.9, 10).astype("float32")
    logits = keras.layers.Lambda(lambda m: -((m - centres) ** 2))(mean)
    return keras.Model(images, logits)


def _stacked(digits):
    levels = -0.9 + 0.2 * np.asarray(digits, "float32")
    return np.broadcast_to(levels[:, None, None, :], (len(digits), 28, 28, 3)).copy()


def test_stacked_mnist_modes_and_coverage():
    assert metrics.stacked_mnist_modes([[1, 2, 3], [0, 0, 7]]).tolist() == [123, 7]
    classifier = _level_classifier()
    collapsed = metrics.stacked_mnist_coverage(_stacked([[1, 2, 3]] * 4), classifier)
    assert collapsed["modes_covered"] == 1 and collapsed["mode_counts"][123] == 4
    assert collapsed["kl_to_uniform"] == pytest.approx(math.log(1000))
    every = np.array([[m // 100, m // 10 % 10, m % 10] for m in range(1000)])
    full = metrics.stacked_mnist_coverage(_stacked(every), classifier)
    assert full["modes_covered"] == 1000 and full["kl_to_uniform"] == pytest.approx(0.0)
    assert full["channel_kl_to_uniform"] == pytest.approx([0.0, 0.0, 0.0])
    # Every mode whose first digit is 0 or 1, evenly: the first channel holds all the KL.
    halves = metrics.stacked_mnist_coverage(_stacked(every[every[:, 0] < 2]), classifier)
    assert halves["kl_to_uniform"] == pytest.approx(math.log(5))
    assert halves["channel_kl_to_uniform"] == pytest.approx([math.log(5), 0.0, 0.0])


def test_stacked_mnist_modes_are_the_labels_of_the_data():
    digits = np.array([[9, 9, 9], [0, 4, 2], [3, 0, 0]])
    modes = metrics.stacked_mnist_modes(digits)
    assert modes.tolist() == [999, 42, 300] and modes.dtype == np.int64
    np.testing.assert_array_equal(modes, kgan.data.StackedMNIST.digits_to_label(digits))
    np.testing.assert_array_equal(kgan.data.StackedMNIST.label_to_digits(modes), digits)
    with pytest.raises(ValueError, match=r"Received: digits of shape \(2, 2\)"):
        metrics.stacked_mnist_modes([[1, 2], [3, 4]])

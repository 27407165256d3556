"""Tests of kgan.metrics against hand computations, closed forms and published numbers."""

import math

import keras
import numpy as np
import pytest
import scipy.linalg
import tensorflow as tf

import kgan
from kgan import metrics

# ---------------------------------------------------------------------------- FID


def test_frechet_distance_hand_computed_1d():
    # a = [0, 2]: mean 1, variance 2; b = [1, 5]: mean 3, variance 8 (unbiased).
    # FID = (1 - 3)^2 + 2 + 8 - 2 sqrt(16) = 4 + 10 - 8 = 6.
    assert metrics.frechet_distance([[0.0], [2.0]], [[1.0], [5.0]]) == pytest.approx(6.0, abs=1e-12)


def test_frechet_distance_is_zero_for_identical_sets():
    features = np.random.default_rng(0).standard_normal((500, 32))
    assert metrics.frechet_distance(features, features) == pytest.approx(0.0, abs=1e-8)
    # And it is symmetric.
    other = features[::-1] * 1.5 + 0.3
    assert metrics.frechet_distance(features, other) == pytest.approx(
        metrics.frechet_distance(other, features), rel=1e-9
    )


def test_frechet_distance_matches_closed_form_for_diagonal_gaussians():
    # For commuting covariances: d^2 = |mu_a - mu_b|^2 + sum_i (sqrt(s_a,i) - sqrt(s_b,i))^2.
    mean_a, mean_b = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.0])
    var_a, var_b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    expected = 1 + 0 + 4 + (1 - 2) ** 2 + (2 - 1) ** 2 + 0
    value = metrics.frechet_distance_from_statistics(mean_a, np.diag(var_a), mean_b, np.diag(var_b))
    assert value == pytest.approx(expected, abs=1e-10)


def test_frechet_distance_matches_ttur_reference_formula_on_general_covariances():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((6, 6)), rng.standard_normal((6, 6))
    cov_a, cov_b = a @ a.T + 0.1 * np.eye(6), b @ b.T + 0.1 * np.eye(6)
    mean_a, mean_b = rng.standard_normal(6), rng.standard_normal(6)
    # bioinf-jku/TTUR's calculate_frechet_distance, with scipy's general matrix square root.
    covmean = scipy.linalg.sqrtm(cov_a @ cov_b).real
    expected = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2 * covmean)
    value = metrics.frechet_distance_from_statistics(mean_a, cov_a, mean_b, cov_b)
    assert value == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_of_samples_approaches_the_gaussians_value():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((20000, 1))
    b = 2.0 + 2.0 * rng.standard_normal((20000, 1))
    # N(0, 1) vs N(2, 4): (0 - 2)^2 + (1 - 2)^2 = 5.
    assert metrics.frechet_distance(a, b) == pytest.approx(5.0, abs=0.15)


def test_frechet_distance_is_finite_on_rank_deficient_covariances():
    # 20 samples in 64 dimensions: both covariances are singular, where sqrtm of the product
    # can return complex values.
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((20, 64)), rng.standard_normal((20, 64)) + 0.5
    value = metrics.frechet_distance(a, b)
    assert math.isfinite(value) and value > 0
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_rejects_mismatched_features():
    with pytest.raises(ValueError, match="same number of features.*Received"):
        metrics.frechet_distance(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="NaN"):
        metrics.frechet_distance(np.full((4, 2), np.nan), np.zeros((4, 2)))


# ---------------------------------------------------------------------------- KID


def test_mmd2_unbiased_hand_computed():
    # k(a, b) = (a b + 1)^3 in 1-D. x = [0, 1], y = [2, 3]:
    # K_xx off-diagonal: k(0, 1) = 1 -> 1; K_yy: k(2, 3) = 343 -> 343;
    # K_xy: 1, 1, 27, 64 -> mean 23.25. MMD^2_u = 1 + 343 - 2 * 23.25 = 297.5.
    x, y = np.array([[0.0], [1.0]]), np.array([[2.0], [3.0]])
    assert metrics.mmd2_unbiased(x, y) == pytest.approx(297.5)
    # With subsets as large as the sets, every subset gives the same estimate.
    kid, spread = metrics.kernel_distance(x, y, num_subsets=3, subset_size=10)
    assert kid == pytest.approx(297.5) and spread == pytest.approx(0.0)


def test_kernel_distance_uses_the_cubic_kernel_scaled_by_dimension():
    x = np.array([[1.0, 1.0], [0.0, 2.0]])
    # (x.y / d + 1)^3 with d = 2: x0.x1 = 2 -> (2 / 2 + 1)^3 = 8.
    assert metrics.polynomial_kernel(x, x)[0, 1] == pytest.approx(8.0)


def test_kernel_distance_is_unbiased_near_zero_for_equal_distributions():
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((3000, 16)), rng.standard_normal((3000, 16))
    same, same_spread = metrics.kernel_distance(a, b, num_subsets=20, subset_size=500)
    shifted, _ = metrics.kernel_distance(a, b + 0.5, num_subsets=20, subset_size=500)
    assert abs(same) < 3 * same_spread
    assert shifted > 20 * abs(same) and shifted > 0


# ---------------------------------------------------------------------------- k-NN metrics

REAL_1D = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]])
FAKE_1D = np.array([[0.5], [10.0], [2.2]])


def test_precision_recall_hand_computed():
    # k = 1: every real radius is 1. Fake 0.5 and 2.2 lie in real balls, 10 does not: 2/3.
    # Fake radii: 0.5 -> 1.7, 2.2 -> 1.7, 10 -> 7.8; every real point is in some fake ball
    # (4 only in the outlier's huge ball, the weakness density/coverage fix): recall 1.
    result = metrics.precision_recall(REAL_1D, FAKE_1D, k=1)
    assert result["precision"] == pytest.approx(2 / 3)
    assert result["recall"] == pytest.approx(1.0)


def test_density_coverage_hand_computed():
    # k = 1, real radii 1 (strict): 0.5 is in the balls of 0 and 1, 2.2 in those of 2 and 3,
    # 10 in none: density = 4 / (1 * 3). Real points 0..3 have a fake point within 1, 4 not.
    result = metrics.density_coverage(REAL_1D, FAKE_1D, k=1)
    assert result["density"] == pytest.approx(4 / 3)
    assert result["coverage"] == pytest.approx(0.8)


def test_knn_metrics_on_identical_and_disjoint_sets():
    real = np.random.default_rng(5).standard_normal((300, 8))
    assert metrics.precision_recall(real, real) == {"precision": 1.0, "recall": 1.0}
    far = metrics.precision_recall(real, real + 100.0)
    assert far == {"precision": 0.0, "recall": 0.0}
    assert metrics.density_coverage(real, real + 100.0) == {"density": 0.0, "coverage": 0.0}


def test_knn_metrics_need_more_points_than_k():
    with pytest.raises(ValueError, match="more than k=3"):
        metrics.precision_recall(np.zeros((3, 2)), np.zeros((10, 2)), k=3)


@pytest.mark.slow
def test_prdc_matches_the_published_example():
    # clovaai/generative-evaluation-prdc README: two draws of N(0, I) in 1000-D, 10k each,
    # k = 5: precision 0.4772, recall 0.4705, density 1.0555, coverage 0.9735.
    # The published figures come from one unseeded draw, and single draws scatter: over seeds
    # 0, 1, 2 precision was 0.456-0.497 and density 0.912-1.070 (1000-D nearest neighbours
    # have hubs). The test compares the mean of three draws, with tolerances of that spread.
    results = []
    for seed in range(3):
        rng = np.random.default_rng(seed)
        real, fake = rng.standard_normal((10000, 1000)), rng.standard_normal((10000, 1000))
        results.append(
            {
                **metrics.precision_recall(real, fake, k=5),
                **metrics.density_coverage(real, fake, k=5),
            }
        )
    mean = {key: np.mean([r[key] for r in results]) for key in results[0]}
    assert mean["precision"] == pytest.approx(0.4772, abs=0.02)
    assert mean["recall"] == pytest.approx(0.4705, abs=0.02)
    assert mean["density"] == pytest.approx(1.0555, abs=0.1)
    assert mean["coverage"] == pytest.approx(0.9735, abs=0.01)


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


# ---------------------------------------------------------------------------- feature networks


def test_inception_feature_extractor_shapes_without_weights():
    extractor = metrics.inception_feature_extractor(image_size=75, weights=None)
    gray = np.zeros((2, 28, 28, 1), "float32")
    color = np.zeros((3, 32, 32, 3), "float32")
    assert extractor(gray).shape == (2, 2048)
    assert extractor(color).shape == (3, 2048)
    with pytest.raises(ValueError, match="at least 75x75"):
        metrics.inception_feature_extractor(image_size=32, weights=None)


def test_mnist_classifier_features_and_short_fit():
    rng = np.random.default_rng(0)
    # Two separable classes: dark and bright images.
    labels = rng.integers(0, 2, 256)
    images = np.where(labels[:, None, None, None] == 1, 0.5, -0.5) + 0.1 * rng.standard_normal(
        (256, 28, 28, 1)
    )
    data = tf.data.Dataset.from_tensor_slices((images.astype("float32"), labels)).batch(64)
    classifier = metrics.train_mnist_classifier(data, data, epochs=2, verbose=0)
    assert classifier.output_shape == (None, 10)
    assert classifier.test_accuracy > 0.9
    features = metrics.classifier_feature_extractor(classifier)
    assert features.output_shape == (None, 128)
    values = metrics.compute_features(features, images[:10], batch_size=4)
    assert values.shape == (10, 128) and values.dtype == np.float64
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        metrics.classifier_feature_extractor(classifier, layer="nope")


@pytest.mark.slow
def test_train_mnist_classifier_reaches_99_percent():
    classifier = metrics.train_mnist_classifier(epochs=3, verbose=0)
    assert classifier.test_accuracy >= 0.99

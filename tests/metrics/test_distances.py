"""Tests of kgan.metrics.distances against hand computations, closed forms and published numbers."""

import math

import numpy as np
import pytest
import scipy.linalg
import scipy.spatial

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


def _clovaai_prdc(real, fake, k):
    """clovaai/generative-evaluation-prdc's `compute_prdc`, with scipy's distances: the code
    behind the published PRDC figures. It uses strict inequalities for precision and recall,
    the improved-precision-recall code `<=`; without ties (continuous draws) both agree."""
    real_real = scipy.spatial.distance.cdist(real, real)
    fake_fake = scipy.spatial.distance.cdist(fake, fake)
    real_fake = scipy.spatial.distance.cdist(real, fake)
    # k + 1 smallest per row, itself included; the largest of them is the k-th neighbour.
    real_radii = np.sort(real_real, axis=1)[:, k]
    fake_radii = np.sort(fake_fake, axis=1)[:, k]
    return {
        "precision": (real_fake < real_radii[:, None]).any(axis=0).mean(),
        "recall": (real_fake < fake_radii[None, :]).any(axis=1).mean(),
        "density": (real_fake < real_radii[:, None]).sum(axis=0).mean() / k,
        "coverage": (real_fake.min(axis=1) < real_radii).mean(),
    }


def _prdc(real, fake, k=5):
    return {
        **metrics.precision_recall(real, fake, k=k),
        **metrics.density_coverage(real, fake, k=k),
    }


def test_prdc_equals_the_published_code_on_the_published_kind_of_draw():
    """The published example's kind of data (two draws of N(0, I), 1000-D, k = 5) at 600
    points instead of 10,000: kgan gives exactly what the code of the published figures
    gives (`_clovaai_prdc`)."""
    rng = np.random.default_rng(0)
    real, fake = rng.standard_normal((600, 1000)), rng.standard_normal((700, 1000))
    expected = _clovaai_prdc(real, fake, k=5)
    got = _prdc(real, fake, k=5)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-12), key


def test_density_and_coverage_have_their_published_expectations_at_any_size():
    """Naeem et al. (2020, Section 4) prove that for identical real and fake distributions
    E[density] = 1 and E[coverage] = 1 - prod_{i=1..k} (N - i) / (N + M - i), whatever the
    distribution and dimension: 1 - 1/2^k (0.969 for k = 5) for N = M large. The published
    example (10,000 points of N(0, I) in 1000-D; density 1.0555, coverage 0.9735, one unseeded
    draw of these expectations) is checked through them on 24 draws of 300 points in 64-D,
    cheap enough for every run. The precision and recall of that example have no closed form
    and depend on the number of points (0.60, 0.55, 0.51 at 1,000, 2,000, 5,000 points against
    0.47 at 10,000), so only the full-size slow test compares them with the published figures.
    """
    n, m, k, dim, draws = 300, 300, 5, 64, 24
    rng = np.random.default_rng(1)
    results = [
        metrics.density_coverage(rng.standard_normal((n, dim)), rng.standard_normal((m, dim)), k=k)
        for _ in range(draws)
    ]
    density = np.array([r["density"] for r in results])
    coverage = np.array([r["coverage"] for r in results])
    expected_coverage = 1 - np.prod([(n - i) / (n + m - i) for i in range(1, k + 1)])
    assert expected_coverage == pytest.approx(0.9695, abs=1e-4)
    # Within four standard errors of the mean over the draws.
    assert abs(density.mean() - 1) < 4 * density.std(ddof=1) / np.sqrt(draws)
    assert abs(coverage.mean() - expected_coverage) < 4 * coverage.std(ddof=1) / np.sqrt(draws)


@pytest.mark.slow
def test_prdc_matches_the_published_example():
    # clovaai/generative-evaluation-prdc README: two draws of N(0, I) in 1000-D, 10k each,
    # k = 5: precision 0.4772, recall 0.4705, density 1.0555, coverage 0.9735.
    # The published figures come from one unseeded draw, and single draws scatter: over seeds
    # 0, 1, 2 precision was 0.456-0.497 and density 0.912-1.070 (1000-D nearest neighbours
    # have hubs). The test compares the mean of three draws, with tolerances of that spread.
    # Slow (minutes: 20,000 points in 1000-D): precision and recall depend on the number of
    # points, so no smaller draw has the published values; density and coverage are checked
    # in every run through their expectations (the test above).
    results = []
    for seed in range(3):
        rng = np.random.default_rng(seed)
        real, fake = rng.standard_normal((10000, 1000)), rng.standard_normal((10000, 1000))
        results.append(_prdc(real, fake, k=5))
    mean = {key: np.mean([r[key] for r in results]) for key in results[0]}
    assert mean["precision"] == pytest.approx(0.4772, abs=0.02)
    assert mean["recall"] == pytest.approx(0.4705, abs=0.02)
    assert mean["density"] == pytest.approx(1.0555, abs=0.1)
    assert mean["coverage"] == pytest.approx(0.9735, abs=0.01)


# ---------------------------------------------------------------------------- diversity


def test_mean_pairwise_distance_hand_computed():
    # A 3-4-5 triangle: the ordered pairs of distinct points average (5 + 4 + 3) / 3 = 4.
    points = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 4.0]])
    assert metrics.mean_pairwise_distance(points) == pytest.approx(4.0)
    # Trailing axes are flattened: the same points as (3, 1, 2) images.
    assert metrics.mean_pairwise_distance(points[:, None, :]) == pytest.approx(4.0)
    # Identical samples (total collapse) have no diversity.
    assert metrics.mean_pairwise_distance(np.ones((5, 4))) == 0.0


def test_mean_pairwise_distance_needs_two_samples_and_passes_nan_through():
    with pytest.raises(ValueError, match=r"at least two samples.*shape \(1, 2\)"):
        metrics.mean_pairwise_distance(np.zeros((1, 2)))
    assert math.isnan(metrics.mean_pairwise_distance([[0.0, np.nan], [1.0, 1.0]]))


def test_non_finite_features_are_reported_by_count_and_first_row():
    features = np.zeros((500, 40))
    features[7, 3], features[9, 1], features[9, 2] = np.nan, np.inf, -np.inf
    for distance in (metrics.frechet_distance, metrics.kernel_distance):
        with pytest.raises(ValueError) as error:
            distance(np.ones((500, 40)), features)
        message = str(error.value)
        assert "`features_b` contains 3 NaN or infinite values, the first in row 7" in message
        assert "Received: features_b of shape (500, 40)" in message
        assert "\n" not in message and len(message) < 200


def test_features_that_are_not_numbers_are_named():
    with pytest.raises(TypeError, match="Received: features_a='abc' of type str"):
        metrics.frechet_distance("abc", np.zeros((4, 2)))
    with pytest.raises(ValueError, match="`features_b` must be an array of numbers"):
        metrics.kernel_distance(np.zeros((4, 2)), [["a", "b"], ["c", "d"]])

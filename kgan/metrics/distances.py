"""Distances between two sets of features: FID, KID, precision/recall, density/coverage.

Also the mean pairwise distance within one set, the diversity statistic of the training
monitor's mode-collapse check. All statistics are computed in float64 with NumPy: they are
evaluated once per evaluation, not inside a training step, and float32 loses digits in
covariance products.
"""

import numpy as np

from kgan._validation import check_positive_int
from kgan.metrics.arrays import as_features, check_same_width, pairwise_distances

# ---------------------------------------------------------------------------- FID


def gaussian_statistics(features):
    """Mean and covariance (unbiased, N - 1) of a feature matrix, in float64.

    Args:
        features: array of shape `(num_samples, num_features)`.

    Returns:
        `(mean, covariance)` of shapes `(d,)` and `(d, d)`.
    """
    features = as_features("features", features)
    if features.shape[0] < 2:
        raise ValueError(
            "At least two samples are needed for a covariance. "
            f"Received: features of shape {features.shape}"
        )
    return features.mean(axis=0), np.cov(features, rowvar=False).reshape(
        features.shape[1], features.shape[1]
    )


def _sqrt_psd(matrix):
    """Square root of a symmetric positive semi-definite matrix by eigendecomposition."""
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2.0)
    # Round-off leaves tiny negative eigenvalues on rank-deficient covariances (fewer samples
    # than features); they are zero in exact arithmetic.
    eigenvalues = np.clip(eigenvalues, 0.0, None)
    return (eigenvectors * np.sqrt(eigenvalues)) @ eigenvectors.T


def frechet_distance_from_statistics(mean_a, covariance_a, mean_b, covariance_b):
    """Frechet distance between two Gaussians N(mean_a, covariance_a) and N(mean_b, covariance_b).

    d^2 = ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))   (Heusel et al. 2017,
    arXiv:1706.08500; Dowson and Landau 1982).

    The trace of (S_a S_b)^(1/2) is computed in the eigenvalue form: S_a S_b is similar to the
    symmetric positive semi-definite M = S_a^(1/2) S_b S_a^(1/2), so Tr (S_a S_b)^(1/2) =
    sum_i sqrt(lambda_i(M)). Unlike the general matrix square root of the non-symmetric product
    (`scipy.linalg.sqrtm`, used by the TTUR reference code with an epsilon retry), this form
    never produces complex values or NaN on singular covariances.

    Returns:
        The squared distance as a Python float (the quantity reported as "FID").
    """
    mean_a = np.atleast_1d(np.asarray(mean_a, dtype="float64"))
    mean_b = np.atleast_1d(np.asarray(mean_b, dtype="float64"))
    covariance_a = np.atleast_2d(np.asarray(covariance_a, dtype="float64"))
    covariance_b = np.atleast_2d(np.asarray(covariance_b, dtype="float64"))
    width = mean_a.shape[0]
    for name, value, shape in (
        ("mean_b", mean_b, (width,)),
        ("covariance_a", covariance_a, (width, width)),
        ("covariance_b", covariance_b, (width, width)),
    ):
        if value.shape != shape:
            raise ValueError(
                f"`{name}` must have shape {shape} to match mean_a. Received: {name} of shape "
                f"{value.shape}"
            )
    root_a = _sqrt_psd(covariance_a)
    middle = root_a @ covariance_b @ root_a
    eigenvalues = np.clip(np.linalg.eigvalsh((middle + middle.T) / 2.0), 0.0, None)
    trace_sqrt = float(np.sum(np.sqrt(eigenvalues)))
    difference = mean_a - mean_b
    distance = float(
        difference @ difference + np.trace(covariance_a) + np.trace(covariance_b) - 2 * trace_sqrt
    )
    # The exact value is non-negative; round-off can leave -1e-12 for identical sets.
    return max(distance, 0.0)


def frechet_distance(features_a, features_b):
    """Frechet Inception Distance (FID) between two sets of features.

    Fits a Gaussian to each set and returns
    ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))   (Heusel et al. 2017,
    arXiv:1706.08500), with unbiased covariances, in float64. See
    `frechet_distance_from_statistics` for the numerically stable trace.

    FID is biased upwards with few samples: use at least 10,000 per set (as the TTUR reference
    code advises) and compare models only at the same sample count.

    Args:
        features_a: array `(N, d)`, for example InceptionV3 pool features of real images.
        features_b: array `(M, d)`, the same features of generated images.

    Returns:
        The FID as a Python float; 0 for identical sets.
    """
    features_a = as_features("features_a", features_a)
    features_b = as_features("features_b", features_b)
    check_same_width(features_a, features_b)
    return frechet_distance_from_statistics(
        *gaussian_statistics(features_a), *gaussian_statistics(features_b)
    )


# ---------------------------------------------------------------------------- KID


def polynomial_kernel(features_a, features_b, degree=3, gamma=None, coef0=1.0):
    """k(x, y) = (gamma x.y + coef0)^degree with gamma = 1 / d by default (KID's kernel)."""
    gamma = 1.0 / features_a.shape[1] if gamma is None else gamma
    return (gamma * features_a @ features_b.T + coef0) ** degree


def mmd2_unbiased(features_a, features_b, kernel=polynomial_kernel):
    """Unbiased estimate of the squared maximum mean discrepancy (Gretton et al. 2012, eq. 3).

    MMD^2_u = 1/(m(m-1)) sum_{i != j} k(x_i, x_j) + 1/(n(n-1)) sum_{i != j} k(y_i, y_j)
              - 2/(mn) sum_{i, j} k(x_i, y_j)

    Can be slightly negative when the two distributions are equal.
    """
    m, n = features_a.shape[0], features_b.shape[0]
    if m < 2 or n < 2:
        raise ValueError(
            f"The unbiased MMD needs at least two samples per set. Received: {m} and {n} samples"
        )
    k_aa = kernel(features_a, features_a)
    k_bb = kernel(features_b, features_b)
    k_ab = kernel(features_a, features_b)
    term_aa = (k_aa.sum() - np.trace(k_aa)) / (m * (m - 1))
    term_bb = (k_bb.sum() - np.trace(k_bb)) / (n * (n - 1))
    return float(term_aa + term_bb - 2.0 * k_ab.mean())


def kernel_distance(features_a, features_b, *, num_subsets=100, subset_size=1000, seed=0):
    """Kernel Inception Distance (KID) between two sets of features.

    The unbiased MMD^2 with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged
    over `num_subsets` random subsets of `subset_size` samples drawn without replacement from
    each set (Binkowski et al. 2018, "Demystifying MMD GANs", arXiv:1801.01401; 100 subsets of
    1000 are their command-line defaults). Unlike FID it is unbiased, so values at different
    sample counts can be compared, and its spread over subsets says how much to trust it.

    Args:
        features_a: array `(N, d)`.
        features_b: array `(M, d)`.
        num_subsets: number of random subsets.
        subset_size: samples per subset; capped at the size of the smaller set.
        seed: seed of the subset draws.

    Returns:
        `(kid, kid_std)`: the mean of the subset estimates and their standard deviation.
    """
    check_positive_int("num_subsets", num_subsets)
    check_positive_int("subset_size", subset_size)
    features_a = as_features("features_a", features_a)
    features_b = as_features("features_b", features_b)
    check_same_width(features_a, features_b)
    size = min(subset_size, features_a.shape[0], features_b.shape[0])
    rng = np.random.default_rng(seed)
    estimates = np.array(
        [
            mmd2_unbiased(
                features_a[rng.choice(features_a.shape[0], size, replace=False)],
                features_b[rng.choice(features_b.shape[0], size, replace=False)],
            )
            for _ in range(num_subsets)
        ]
    )
    return float(estimates.mean()), float(estimates.std())


# ---------------------------------------------------------------------------- k-NN metrics


def _kth_neighbour_radii(features, k, chunk=2048):
    """Distance of each point to its k-th nearest neighbour in its own set, itself excluded."""
    if features.shape[0] <= k:
        raise ValueError(
            f"Each set needs more than k={k} points for k-nearest-neighbour radii. "
            f"Received: {features.shape[0]} points"
        )
    radii = np.empty(features.shape[0])
    for start in range(0, features.shape[0], chunk):
        distances = pairwise_distances(features[start : start + chunk], features)
        # Column 0 of the sorted distances is the point itself (distance 0), so the k-th
        # neighbour is at index k, as in the reference implementations.
        radii[start : start + chunk] = np.partition(distances, k, axis=1)[:, k]
    return radii


def _count_inside(points, centres, radii, *, strict, chunk=2048):
    """For each point, how many balls B(centre_i, radius_i) contain it (chunked, O(chunk N))."""
    counts = np.empty(points.shape[0], dtype="int64")
    for start in range(0, points.shape[0], chunk):
        distances = pairwise_distances(points[start : start + chunk], centres)
        inside = distances < radii[None, :] if strict else distances <= radii[None, :]
        counts[start : start + chunk] = inside.sum(axis=1)
    return counts


def precision_recall(real, fake, k=3):
    """Improved precision and recall (Kynkaanniemi et al. 2019, arXiv:1904.06991).

    Each set's manifold is the union of balls around its points, each ball's radius the
    distance to the point's k-th nearest neighbour in its set. Precision is the share of
    generated points inside the real manifold (quality); recall is the share of real points
    inside the generated manifold (diversity). A point on a ball's boundary counts as inside,
    as in the reference code (kynkaat/improved-precision-and-recall-metric).

    Args:
        real: features of real samples, `(N, d)`.
        fake: features of generated samples, `(M, d)`.
        k: the neighbour that sets the radii (3 in the paper).

    Returns:
        A dict with `precision` and `recall`, each in [0, 1].
    """
    check_positive_int("k", k)
    real = as_features("real", real)
    fake = as_features("fake", fake)
    check_same_width(real, fake)
    real_radii = _kth_neighbour_radii(real, k)
    fake_radii = _kth_neighbour_radii(fake, k)
    precision = np.mean(_count_inside(fake, real, real_radii, strict=False) > 0)
    recall = np.mean(_count_inside(real, fake, fake_radii, strict=False) > 0)
    return {"precision": float(precision), "recall": float(recall)}


def density_coverage(real, fake, k=5):
    """Density and coverage (Naeem et al. 2020, arXiv:2002.09797).

    With r_i the distance of real point X_i to its k-th nearest real neighbour and B(X_i, r_i)
    its ball (strict inequality, as in clovaai/generative-evaluation-prdc):

        density  = 1/(k M) sum_j sum_i 1[Y_j in B(X_i, r_i)]
        coverage = 1/N sum_i 1[exists j: Y_j in B(X_i, r_i)]

    Density counts how many real balls hold each generated point (about 1 when the two
    distributions match, above 1 for samples packed in dense regions); coverage is the share of
    real points with a generated sample nearby. Both use only the real manifold, which makes
    them robust to outliers among the generated samples.

    Args:
        real: features of real samples, `(N, d)`.
        fake: features of generated samples, `(M, d)`.
        k: the neighbour that sets the radii (5 in the paper).

    Returns:
        A dict with `density` (in [0, N/k]) and `coverage` (in [0, 1]).
    """
    check_positive_int("k", k)
    real = as_features("real", real)
    fake = as_features("fake", fake)
    check_same_width(real, fake)
    radii = _kth_neighbour_radii(real, k)
    # Number of real balls holding each generated point, then, per real point, the distance
    # to its nearest generated point against its own radius.
    density = _count_inside(fake, real, radii, strict=True).sum() / (k * fake.shape[0])
    nearest_fake = np.empty(real.shape[0])
    for start in range(0, real.shape[0], 2048):
        nearest_fake[start : start + 2048] = pairwise_distances(
            real[start : start + 2048], fake
        ).min(axis=1)
    coverage = np.mean(nearest_fake < radii)
    return {"density": float(density), "coverage": float(coverage)}


# ---------------------------------------------------------------------------- diversity


def mean_pairwise_distance(samples):
    """Mean Euclidean distance between distinct samples: a scale-aware diversity statistic.

    (1 / (N (N - 1))) sum_{i != j} ||x_i - x_j||, on the flattened samples in float64. It
    falls towards 0 when a generator's samples from different noise become alike (mode
    collapse); compare it with the same statistic on real samples. NaN in the samples gives
    NaN, so a diverged generator reads as "unknown", not as an error.

    Args:
        samples: array `(N, ...)` with N >= 2.

    Returns:
        The mean distance as a Python float.
    """
    flat = np.asarray(samples, dtype="float64")
    if flat.ndim == 0 or flat.shape[0] < 2:
        raise ValueError(
            "The mean pairwise distance needs at least two samples. "
            f"Received: samples of shape {flat.shape}"
        )
    flat = flat.reshape(flat.shape[0], -1)
    count = flat.shape[0]
    return float(pairwise_distances(flat, flat).sum() / (count * (count - 1)))

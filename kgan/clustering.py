"""k-means for self-conditioning (`kgan.callbacks.SelfConditioning`), in NumPy.

`kmeans` fits centroids with Lloyd's algorithm, from k-means++ seeds (Arthur & Vassilvitskii
2007) or from given centroids; `assign` gives each row its nearest centroid, a block of rows
at a time, so that assigning many rows never holds their full distance matrix.
"""

import numpy as np

from kgan._validation import check_positive_int

_BLOCK_ROWS = 4096


def assign(features, centroids):
    """The index of the nearest centroid (squared Euclidean distance) of each row."""
    features = np.asarray(features, np.float32)
    centroids = np.asarray(centroids, np.float32)
    squared_norms = np.sum(centroids**2, axis=1)
    nearest = np.empty(len(features), np.int64)
    for start in range(0, len(features), _BLOCK_ROWS):
        block = features[start : start + _BLOCK_ROWS]
        # |x - c|^2 = |x|^2 - 2 x.c + |c|^2; |x|^2 is the same for every centroid.
        nearest[start : start + len(block)] = np.argmin(
            squared_norms[None, :] - 2.0 * block @ centroids.T, axis=1
        )
    return nearest


def _plus_plus_seeds(features, k, rng):
    seeds = [features[rng.integers(len(features))]]
    distances = np.sum((features - seeds[0]) ** 2, axis=1)
    for _ in range(1, k):
        total = distances.sum()
        index = rng.choice(len(features), p=distances / total) if total > 0 else 0
        seeds.append(features[index])
        distances = np.minimum(distances, np.sum((features - seeds[-1]) ** 2, axis=1))
    return np.stack(seeds)


def kmeans(features, k, *, init=None, seed=None, max_iterations=50):
    """Fits `k` centroids to the rows of `features`.

    Args:
        features: array `(n, d)` with `n >= k`.
        k: number of clusters.
        init: starting centroids `(k, d)`, or `None` for k-means++ seeds.
        seed: seed of the k-means++ draws.
        max_iterations: Lloyd iterations at most; it stops earlier once no row changes
            cluster.

    Returns:
        `(centroids, assignments)`: float32 `(k, d)`, and int64 `(n,)` the nearest centroid
        of each row. A cluster that loses every row during the iterations is moved onto the
        row farthest from its centroid.
    """
    features = np.asarray(features, np.float32)
    check_positive_int("k", k)
    check_positive_int("max_iterations", max_iterations)
    if features.ndim != 2 or len(features) < k:
        raise ValueError(
            f"k-means needs a 2-D array of at least k={k} rows. Received: features of shape "
            f"{features.shape}"
        )
    rng = np.random.default_rng(seed)
    if init is None:
        centroids = _plus_plus_seeds(features, k, rng)
    else:
        centroids = np.array(init, np.float32)
        if centroids.shape != (k, features.shape[1]):
            raise ValueError(
                f"`init` must hold k={k} centroids of {features.shape[1]} values. Received: "
                f"init of shape {centroids.shape}"
            )
    assignments = None
    for _ in range(max_iterations):
        new = assign(features, centroids)
        if assignments is not None and np.array_equal(new, assignments):
            return centroids, assignments
        assignments = new
        counts = np.bincount(assignments, minlength=k)
        one_hot = np.zeros((k, len(features)), np.float32)
        one_hot[assignments, np.arange(len(features))] = 1.0
        sums = one_hot @ features
        filled = counts > 0
        centroids[filled] = sums[filled] / counts[filled, None]
        for empty in np.flatnonzero(~filled):
            distance = np.sum((features - centroids[assignments]) ** 2, axis=1)
            farthest = int(np.argmax(distance))
            centroids[empty] = features[farthest]
            assignments[farthest] = empty
    return centroids, assign(features, centroids)

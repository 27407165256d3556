"""Tests of kgan.clustering: k-means and nearest-centroid assignment."""

import numpy as np
import pytest

from kgan import clustering


def _blobs(seed=0, per_blob=100):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(4, 6)) * 20
    truth = np.repeat(np.arange(4), per_blob)
    return centres[truth] + rng.normal(size=(len(truth), 6)), truth, centres


def test_kmeans_finds_separated_clusters_from_plus_plus_seeds():
    features, truth, _ = _blobs()
    centroids, assignments = clustering.kmeans(features, 4, seed=0)
    assert centroids.shape == (4, 6) and centroids.dtype == np.float32
    # Each true cluster maps to one found cluster and back: a permutation.
    pairs = set(zip(truth.tolist(), assignments.tolist()))
    assert len(pairs) == 4 and len({found for _, found in pairs}) == 4
    for cluster in range(4):
        np.testing.assert_allclose(
            centroids[cluster], features[assignments == cluster].mean(axis=0), rtol=1e-4
        )


def test_kmeans_from_given_centroids_keeps_their_order():
    features, truth, centres = _blobs(seed=1)
    order = [2, 0, 3, 1]
    _, assignments = clustering.kmeans(features, 4, init=centres[order] + 1.0)
    np.testing.assert_array_equal(assignments, np.argsort(order)[truth])


def test_assign_matches_brute_force_across_blocks(monkeypatch):
    monkeypatch.setattr(clustering, "_BLOCK_ROWS", 7)
    rng = np.random.default_rng(2)
    features, centroids = rng.normal(size=(50, 3)), rng.normal(size=(5, 3))
    distances = ((features[:, None, :] - centroids[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(clustering.assign(features, centroids), distances.argmin(1))


def test_kmeans_leaves_no_cluster_empty():
    # Three points, three clusters, and seeds that would leave one empty: two on one point.
    features = np.array([[0.0], [10.0], [20.0]])
    _, assignments = clustering.kmeans(features, 3, init=[[0.0], [0.0], [20.0]])
    assert sorted(assignments.tolist()) == [0, 1, 2]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"features": np.zeros((3, 2)), "k": 4}, r"Received: features of shape \(3, 2\)"),
        ({"features": np.zeros(5), "k": 2}, r"Received: features of shape \(5,\)"),
        ({"features": np.zeros((5, 2)), "k": 0}, "Received: k=0"),
        (
            {"features": np.zeros((5, 2)), "k": 2, "init": np.zeros((3, 2))},
            r"Received: init of shape \(3, 2\)",
        ),
    ],
)
def test_kmeans_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        clustering.kmeans(**kwargs)

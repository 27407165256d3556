"""Array checks and the chunked distance matrix shared by the metrics modules."""

import numpy as np

from kgan._validation import short


def as_features(name, features):
    """Returns `features` as a float64 matrix `(N, d)`, flattening any trailing axes."""
    if isinstance(features, (str, bytes)):
        raise TypeError(
            f"`{name}` must be an array of shape (num_samples, num_features). "
            f"Received: {name}={short(repr(features))} of type {type(features).__name__}"
        )
    try:
        array = np.asarray(features, dtype="float64")
    except (TypeError, ValueError) as error:
        raise type(error)(
            f"`{name}` must be an array of numbers of shape (num_samples, num_features) "
            f"({short(error)}). Received: {name}={short(repr(features))}"
        ) from None
    if array.ndim < 2 or array.shape[0] == 0:
        raise ValueError(
            f"`{name}` must be a non-empty array of shape (num_samples, num_features). "
            f"Received: {name} of shape {array.shape}"
        )
    array = array.reshape(array.shape[0], -1)
    finite = np.isfinite(array)
    if not finite.all():
        rows = np.flatnonzero(~finite.all(axis=1))
        raise ValueError(
            f"`{name}` contains {np.size(finite) - np.count_nonzero(finite)} NaN or infinite "
            f"values, the first in row {rows[0]}. Received: {name} of shape {array.shape}"
        )
    return array


def check_same_width(features_a, features_b):
    if features_a.shape[1] != features_b.shape[1]:
        raise ValueError(
            "Both feature sets must have the same number of features. Received: "
            f"features_a of shape {features_a.shape} and features_b of shape {features_b.shape}"
        )


def pairwise_distances(rows, columns, chunk=2048):
    """Euclidean distances `(len(rows), len(columns))`, computed in row chunks."""
    column_norms = np.sum(columns**2, axis=1)
    out = np.empty((rows.shape[0], columns.shape[0]), dtype="float64")
    for start in range(0, rows.shape[0], chunk):
        block = rows[start : start + chunk]
        squared = np.sum(block**2, axis=1)[:, None] + column_norms[None, :] - 2 * block @ columns.T
        out[start : start + chunk] = np.sqrt(np.clip(squared, 0.0, None))
    return out

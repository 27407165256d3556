"""Sample-quality metrics and the feature networks they use.

* `distances`: distances between sets of features (FID, KID), precision/recall and
  density/coverage on k-nearest-neighbour balls, and the mean pairwise distance of one set.
* `modes`: mode coverage on the 2-D Gaussian mixtures and on Stacked MNIST.
* `features`: the feature extractors, InceptionV3 from `keras.applications` and a small MNIST
  classifier that kgan trains itself, so that MNIST-like data can be scored without downloads.

All statistics are computed in float64 with NumPy: they are evaluated once per evaluation, not
inside a training step, and float32 loses digits in covariance products.
"""

from kgan.metrics.distances import (
    density_coverage,
    frechet_distance,
    frechet_distance_from_statistics,
    gaussian_statistics,
    kernel_distance,
    mean_pairwise_distance,
    mmd2_unbiased,
    polynomial_kernel,
    precision_recall,
)
from kgan.metrics.features import (
    CLASSIFIER_SETTINGS,
    classifier_feature_extractor,
    compute_features,
    image_classifier,
    inception_feature_extractor,
    mnist_classifier,
    shipped_classifier_path,
    train_classifier,
    train_mnist_classifier,
)
from kgan.metrics.modes import (
    PERFECT_HIGH_QUALITY_2D,
    kl_to_uniform,
    mode_coverage,
    stacked_mnist_coverage,
    stacked_mnist_modes,
)

__all__ = [
    "PERFECT_HIGH_QUALITY_2D",
    "classifier_feature_extractor",
    "compute_features",
    "density_coverage",
    "frechet_distance",
    "frechet_distance_from_statistics",
    "gaussian_statistics",
    "inception_feature_extractor",
    "kernel_distance",
    "kl_to_uniform",
    "mean_pairwise_distance",
    "mmd2_unbiased",
    "CLASSIFIER_SETTINGS",
    "image_classifier",
    "mnist_classifier",
    "shipped_classifier_path",
    "train_classifier",
    "mode_coverage",
    "polynomial_kernel",
    "precision_recall",
    "stacked_mnist_coverage",
    "stacked_mnist_modes",
    "train_mnist_classifier",
]

"""Mode coverage: the 2-D Gaussian mixtures and Stacked MNIST of the mode-collapse literature.

References:
    Srivastava et al., VEEGAN, NeurIPS 2017 (arXiv:1705.07761). Lin et al., PacGAN, NeurIPS
    2018 (arXiv:1712.04086), Tables 1 and 2.
"""

import math

import numpy as np

from kgan.data.toys import digits_to_label
from kgan.metrics.arrays import as_features, check_same_width, pairwise_distances

# Share of a perfect 2-D sampler's points within 3 standard deviations of their mode:
# P(chi^2_2 <= 9) = 1 - exp(-9 / 2), the ceiling of the high-quality share in `mode_coverage`.
PERFECT_HIGH_QUALITY_2D = 1.0 - math.exp(-4.5)


def kl_to_uniform(counts):
    """KL(p || uniform) in nats of the histogram `counts` over K bins: sum_i p_i log(p_i K).

    Empty bins contribute 0 (0 log 0 = 0). Returns NaN for an empty histogram.
    """
    counts = np.asarray(counts, dtype="float64")
    total = counts.sum()
    if total == 0:
        return float("nan")
    p = counts[counts > 0] / total
    return float(np.sum(p * np.log(p * counts.shape[0])))


def mode_coverage(samples, means, std, *, threshold=3.0):
    """Mode collapse on a mixture of equal isotropic Gaussians (VEEGAN, PacGAN protocol).

    Each sample goes to its nearest mean, the distance measured in standard deviations,
    sqrt(sum_d (x_d - mu_d)^2 / sigma^2); it is *high quality* when that distance is below
    `threshold` (3). A mode is covered when at least one high-quality sample lies at it
    (Srivastava et al. 2017, arXiv:1705.07761; Lin et al. 2018, arXiv:1712.04086, Table 1,
    which evaluates 2,500 samples). A perfect sampler in 2-D scores
    P(chi^2_2 <= 9) = 1 - exp(-4.5) = 98.89% high quality.

    Args:
        samples: array `(N, D)` of generated points.
        means: array `(K, D)` of the mixture's means.
        std: the components' standard deviation (a scalar).
        threshold: the high-quality distance, in standard deviations.

    Returns:
        A dict with `modes_covered` (int), `num_modes` (K), `high_quality` (share of samples
        that are high quality, in [0, 1]), `kl_to_uniform` (KL in nats of the histogram of the
        high-quality samples over the modes from uniform; off-mode samples belong to no mode;
        NaN when no sample is high quality) and `mode_counts` (high-quality samples per mode).
    """
    samples = as_features("samples", samples)
    means = as_features("means", means)
    check_same_width(means, samples)
    if not (np.isscalar(std) and float(std) > 0):
        raise ValueError(f"`std` must be a positive number. Received: std={std!r}")
    distances = pairwise_distances(samples, means) / float(std)
    nearest = distances.argmin(axis=1)
    good = distances[np.arange(samples.shape[0]), nearest] < threshold
    counts = np.bincount(nearest[good], minlength=means.shape[0])
    return {
        "modes_covered": int(np.count_nonzero(counts)),
        "num_modes": int(means.shape[0]),
        "high_quality": float(good.mean()),
        "kl_to_uniform": kl_to_uniform(counts),
        "mode_counts": counts.tolist(),
    }


def stacked_mnist_modes(digits):
    """Mode index 100 d0 + 10 d1 + d2 of Stacked MNIST samples from their per-channel digits.

    The labels of `kgan.data.StackedMNIST`, as int64.
    """
    digits = np.asarray(digits)
    if digits.ndim != 2 or digits.shape[1] != 3:
        raise ValueError(
            f"`digits` must have shape (num_samples, 3). Received: digits of shape {digits.shape}"
        )
    return digits_to_label(digits).astype("int64")


def stacked_mnist_coverage(samples, classifier, *, batch_size=512):
    """Modes covered out of 1000 and KL to uniform on Stacked MNIST (VEEGAN / PacGAN Table 2).

    Each of the three channels of a generated `(28, 28, 3)` sample is classified by an MNIST
    classifier; the digit triple is the sample's mode. A mode is covered by at least one sample;
    KL is KL(generated mode histogram || uniform over 1000) in nats. The papers use 26,000
    samples, where even a perfect uniform sampler shows a plug-in KL of about 0.019.

    Args:
        samples: array `(N, 28, 28, 3)` in [-1, 1].
        classifier: a `keras.Model` from `(28, 28, 1)` images in [-1, 1] to 10 class scores,
            for example `train_mnist_classifier()`.
        batch_size: classification batch size.

    Returns:
        A dict with `modes_covered`, `num_modes` (1000), `kl_to_uniform`, `mode_counts` and
        `channel_kl_to_uniform`: each channel's KL of its digit histogram to uniform over 10,
        which says how much of the modes' KL comes from unbalanced digits rather than from
        how the channels' digits go together.
    """
    samples = np.asarray(samples, dtype="float32")
    if samples.ndim != 4 or samples.shape[-1] != 3:
        raise ValueError(
            "Stacked MNIST samples must have shape (num_samples, height, width, 3). "
            f"Received: samples of shape {samples.shape}"
        )
    channels = np.concatenate([samples[..., c : c + 1] for c in range(3)])
    scores = classifier.predict(channels, batch_size=batch_size, verbose=0)
    digits = np.argmax(scores, axis=-1).reshape(3, samples.shape[0]).T
    counts = np.bincount(stacked_mnist_modes(digits), minlength=1000)
    return {
        "modes_covered": int(np.count_nonzero(counts)),
        "num_modes": 1000,
        "kl_to_uniform": kl_to_uniform(counts),
        "mode_counts": counts.tolist(),
        "channel_kl_to_uniform": [
            kl_to_uniform(np.bincount(digits[:, c], minlength=10)) for c in range(3)
        ],
    }

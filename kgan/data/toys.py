"""Toy distributions of the mode-collapse literature, with their modes exposed for evaluation.

* `gaussian_ring`: 8 equal Gaussians, means on a circle of radius 1, std 0.01.
* `gaussian_grid`: 25 equal Gaussians, means at {-4, -2, 0, 2, 4}^2, std 0.05.
* `stacked_mnist`: three random MNIST digits as the three channels of one image; 1000 modes.

References:
    Srivastava et al., VEEGAN: Reducing Mode Collapse in GANs using Implicit Variational
    Learning, NeurIPS 2017 (arXiv:1705.07761). Lin et al., PacGAN: The power of two samples in
    generative adversarial networks, NeurIPS 2018 (arXiv:1712.04086), Tables 1 and 2.
"""

import itertools
import math

import numpy as np
import tensorflow as tf

from kgan._validation import check_positive_int, check_seed
from kgan.data import pipeline
from kgan.data.local import mnist_arrays


def digits_to_label(digits):
    """Maps digit triples `(..., 3)` to Stacked MNIST mode labels `100 * d0 + 10 * d1 + d2`."""
    digits = np.asarray(digits)
    return (100 * digits[..., 0] + 10 * digits[..., 1] + digits[..., 2]).astype(np.int32)


class GaussianMixture:
    """A mixture of equal-weight isotropic 2-D Gaussians: the ring and grid benchmarks.

    A sample picks a mode uniformly at random, then adds N(0, std^2 I) noise to its mean, as in
    the VEEGAN and PacGAN experiments (PacGAN, Lin et al. 2018, Table 1; VEEGAN, Srivastava et
    al. 2017). Evaluation assigns each generated point to its nearest mean and measures the
    distance in units of `std`; `means`, `std` and `num_modes` are exposed for that.

    Args:
        means: array `(num_modes, 2)` of the modes' centres.
        std: standard deviation of every mode, per coordinate.
        name: name of the distribution, for example `"gaussian_ring"`.

    Attributes:
        name: the name.
        means: float32 array `(num_modes, 2)`.
        std: float.
        num_modes: number of modes.

    Example:
    >>> ring = kgan.data.gaussian_ring()
    >>> x, modes = ring.sample(2500, seed=0)
    >>> dataset = ring.dataset(num_samples=100_000, batch_size=100, seed=0)
    """

    def __init__(self, means, std, *, name="gaussian_mixture"):
        means = np.asarray(means, dtype=np.float32)
        if means.ndim != 2 or means.shape[0] < 1 or not np.all(np.isfinite(means)):
            raise ValueError(
                "`means` must be a finite array of shape (num_modes, dimensions). "
                f"Received: means of shape {means.shape}"
            )
        if isinstance(std, bool) or not isinstance(std, (int, float)) or not std > 0:
            raise ValueError(f"`std` must be a positive number. Received: std={std!r}")
        self.name = name
        self.means = means
        self.means.flags.writeable = False
        self.std = float(std)

    @property
    def num_modes(self):
        return len(self.means)

    def sample(self, num_samples, *, seed=None):
        """Draws points from the mixture.

        Args:
            num_samples: number of points.
            seed: integer for a reproducible draw, or `None`.

        Returns:
            `(points, modes)`: float32 `(num_samples, 2)` and the int32 index `(num_samples,)`
            of the mode each point was drawn from.
        """
        check_positive_int("num_samples", num_samples)
        check_seed(seed)
        rng = np.random.default_rng(seed)
        modes = rng.integers(0, self.num_modes, size=num_samples).astype(np.int32)
        noise = rng.standard_normal((num_samples, self.means.shape[1]))
        points = (self.means[modes] + self.std * noise).astype(np.float32)
        return points, modes

    def dataset(
        self,
        num_samples=100_000,
        *,
        batch_size=100,
        seed=None,
        with_labels=False,
        shuffle=True,
        drop_remainder=False,
    ):
        """A training set of `num_samples` fixed points, reshuffled every epoch.

        The points are not clipped or rescaled (the grid spans [-4.15, 4.15]), so the
        generator's last layer must be linear, as in the papers.

        Args:
            num_samples: size of the training set (100,000 in PacGAN).
            batch_size: points per batch (100 in PacGAN).
            seed: seeds both the points and the shuffling.
            with_labels: yield `(points, mode index)` batches.
            shuffle: reshuffle every epoch.
            drop_remainder: drop a last, smaller batch.

        Returns:
            A `tf.data.Dataset` of float32 batches `(batch_size, 2)`.
        """
        pipeline.check_batching(batch_size, shuffle, seed, drop_remainder)
        points, modes = self.sample(num_samples, seed=seed)
        return pipeline.array_dataset(
            points,
            modes if with_labels else None,
            batch_size=batch_size,
            shuffle=shuffle,
            seed=seed,
            drop_remainder=drop_remainder,
        )

    def __repr__(self):
        return f"GaussianMixture(name={self.name!r}, num_modes={self.num_modes}, std={self.std})"


def gaussian_ring(num_modes=8, radius=1.0, std=0.01):
    """The ring: `num_modes` Gaussians with means `radius * (cos 2 pi i / K, sin 2 pi i / K)`.

    Defaults are the PacGAN/VEEGAN benchmark: 8 modes, radius 1, std 0.01.

    Returns:
        A `GaussianMixture` named `"gaussian_ring"`.
    """
    check_positive_int("num_modes", num_modes)
    if isinstance(radius, bool) or not isinstance(radius, (int, float)) or not radius > 0:
        raise ValueError(f"`radius` must be a positive number. Received: radius={radius!r}")
    angles = 2.0 * math.pi * np.arange(num_modes) / num_modes
    means = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return GaussianMixture(means, std, name="gaussian_ring")


def gaussian_grid(values=(-4, -2, 0, 2, 4), std=0.05):
    """The grid: Gaussians with means at every point of `values` x `values`.

    Defaults are the PacGAN/VEEGAN benchmark: 25 modes at {-4, -2, 0, 2, 4}^2, std 0.05. Mode
    `i` has mean `(values[i // len(values)], values[i % len(values)])`.

    Returns:
        A `GaussianMixture` named `"gaussian_grid"`.
    """
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 1 or len(values) == 0 or len(np.unique(values)) != len(values):
        raise ValueError(
            "`values` must be a non-empty sequence of distinct numbers. "
            f"Received: values={values!r}"
        )
    means = np.array(list(itertools.product(values, values)), dtype=np.float32)
    return GaussianMixture(means, std, name="gaussian_grid")


class StackedMNIST:
    """Stacked MNIST: three random MNIST digits as the R, G and B channels of one image.

    Each example draws three MNIST images independently and uniformly; its mode is the digit
    triple, so there are 1000 modes, labelled `100 * d0 + 10 * d1 + d2` where `d0` is the digit
    in channel 0 (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018, Table 2: 128,000
    training images). Only the `(num_samples, 3)` indices are stored: the images are gathered
    from the 60,000 MNIST digits batch by batch inside the tf.data pipeline.

    Args:
        num_samples: size of the training set.
        split: MNIST split the digits come from (`"train"` or `"test"`, slices allowed).
        data_dir: folder holding `mnist/` IDX files; else `$KGAN_DATA_DIR`, else tfds.
        seed: seeds the draw of the triples (and by default the shuffling).

    Attributes:
        num_modes: 1000.
        image_shape: `(28, 28, 3)`.
        indices: int32 `(num_samples, 3)`, the MNIST rows stacked in each example.
        digits: int32 `(num_samples, 3)`, their digits.
        labels: int32 `(num_samples,)`, the mode `100 * d0 + 10 * d1 + d2`.

    Example:
    >>> stacked = kgan.data.stacked_mnist(128_000, seed=0)
    >>> dataset = stacked.dataset(batch_size=64, with_labels=True)
    """

    name = "stacked_mnist"
    num_modes = 1000
    image_shape = (28, 28, 3)

    def __init__(self, num_samples=128_000, *, split="train", data_dir=None, seed=0):
        check_positive_int("num_samples", num_samples)
        check_seed(seed)
        digit_images, digit_labels = mnist_arrays(split=split, data_dir=data_dir)
        self.seed = seed
        self.num_samples = num_samples
        self._digit_images = digit_images[..., 0]  # (M, 28, 28) uint8
        self._digit_labels = digit_labels
        rng = np.random.default_rng(seed)
        self.indices = rng.integers(0, len(digit_images), size=(num_samples, 3)).astype(np.int32)
        self.digits = digit_labels[self.indices]
        self.labels = self.digits_to_label(self.digits)

    # The one definition of the labels, also used by `kgan.metrics.stacked_mnist_modes`.
    digits_to_label = staticmethod(digits_to_label)

    @staticmethod
    def label_to_digits(labels):
        """Maps mode labels back to digit triples `(..., 3)`: the inverse of `digits_to_label`."""
        labels = np.asarray(labels)
        return np.stack([labels // 100, labels // 10 % 10, labels % 10], axis=-1).astype(np.int32)

    def _stack(self, triples):
        """Gathers `(B, 3)` MNIST rows into float32 images `(B, 28, 28, 3)` in [-1, 1]."""
        digit_images = tf.constant(self._digit_images)

        def stack(batch_triples):
            channels = tf.gather(digit_images, batch_triples)  # (B, 3, 28, 28)
            return pipeline.scale_images(tf.transpose(channels, [0, 2, 3, 1]))

        if triples is None:
            return stack
        return stack(tf.constant(triples)).numpy()

    def images(self, start=0, stop=None):
        """The training images `start:stop` as a float32 array `(n, 28, 28, 3)` in [-1, 1]."""
        return self._stack(self.indices[start:stop])

    def sample(self, num_samples, *, seed=None):
        """Draws fresh examples (not from the training set), for reference statistics.

        Returns:
            `(images, labels)`: float32 `(num_samples, 28, 28, 3)` in [-1, 1] and int32 modes.
        """
        check_positive_int("num_samples", num_samples)
        check_seed(seed)
        triples = np.random.default_rng(seed).integers(
            0, len(self._digit_images), size=(num_samples, 3)
        )
        return self._stack(triples), self.digits_to_label(self._digit_labels[triples])

    def dataset(
        self, batch_size=128, *, with_labels=False, shuffle=True, seed=None, drop_remainder=False
    ):
        """The training set as a `tf.data.Dataset` of `(batch, 28, 28, 3)` float32 batches.

        Args:
            batch_size: examples per batch.
            with_labels: yield `(images, labels)` with the 1000-way mode labels.
            shuffle: reshuffle every epoch.
            seed: seed of the shuffling; by default the seed the triples were drawn with.
            drop_remainder: drop a last, smaller batch.
        """
        seed = self.seed if seed is None else seed
        pipeline.check_batching(batch_size, shuffle, seed, drop_remainder)
        indices = tf.constant(self.indices)
        stack = self._stack(None)
        return pipeline.array_dataset(
            None,
            self.labels if with_labels else None,
            num_examples=self.num_samples,
            batch_size=batch_size,
            shuffle=shuffle,
            seed=seed,
            drop_remainder=drop_remainder,
            gather_fn=lambda batch_indices: stack(tf.gather(indices, batch_indices)),
        )

    def __repr__(self):
        return f"StackedMNIST(num_samples={self.num_samples}, seed={self.seed})"


def stacked_mnist(num_samples=128_000, *, split="train", data_dir=None, seed=0):
    """Stacked MNIST with `num_samples` training images; see `StackedMNIST`."""
    return StackedMNIST(num_samples, split=split, data_dir=data_dir, seed=seed)

"""Jacobian-based truncation: leaving out the samples a generator stretches between modes.

A generator is a continuous map from a connected latent space, so on data made of separate
modes (the Gaussian mixtures, or the classes of an unconditional image GAN) it must spend some
latent mass on *bridges* between them: samples that belong to no mode. Around a bridge the
generator stretches space, so the Frobenius norm of its Jacobian dG/dz is large there.
Tanielian et al. (2020, "Learning disconnected manifolds: a no GAN's land", ICML,
arXiv:2006.04596) leave out the samples whose Jacobian norm lies above a quantile of its
distribution under the prior (JBT).

`truncated_generate` is that rule as a rejection sampler: the threshold is the `1 - share`
quantile of the norms of `calibration` prior samples, and each requested sample is drawn again
until its norm is below it. The thresholds are per class for a conditional generator, whose
every output slot keeps its class, and per class for a generator that draws its class from z
(`prior.latent_classes`, a `kgan.layers.ClusterFromLatent`: a self-conditioned run's), so that
each class loses the same share and the classes keep their frequencies. The norm is exact up to
`EXACT_UP_TO` latent dimensions (one forward-mode pass per dimension), so the samples follow
the generator's distribution restricted to the accepted part of the latent space; above, it is
estimated from `PROJECTIONS` random directions per candidate, so the boundary of that part is
blurred by the estimate's noise.

`AdversarialModel.generate(..., jacobian_truncation=share)` and the `kgan.control` generators
(Keras and SavedModel; `kgan sample --jacobian-truncation SHARE`) call it.
"""

import weakref

import keras
import numpy as np
import tensorflow as tf

from kgan.models import generation
from kgan.models.noise import sample_latent
from kgan.networks.inputs import with_labels
from kgan.progress import Progress

# Latent vectors drawn for the threshold, at least (and at least one per requested sample).
CALIBRATION_SAMPLES = 10_000
# Calibration samples of each class, at least, when the thresholds are per class.
MIN_PER_CLASS = 50
# Seed streams of `sample_latent`: 0 is `generate`'s own draw, 1 the calibration, 2... the
# rounds of the rejection sampler.
_CALIBRATION_STREAM = 1
_FIRST_ROUND_STREAM = 2
# Up to this latent size the norms are exact (one pass per latent dimension); above it they are
# estimated from `PROJECTIONS` random directions (see `jacobian_norms`).
EXACT_UP_TO = 8
PROJECTIONS = 8
# Rounds of the rejection sampler before it gives up: a slot is still empty after them with
# probability share ** MAX_ROUNDS.
MAX_ROUNDS = 1000
# Each generator's norm function (see `_squared_norms_function`).
_FUNCTIONS = weakref.WeakKeyDictionary()


def jacobian_norms(generator, z, labels=None, *, batch_size=256, projections=None, seed=None):
    """The Frobenius norm of the Jacobian of `generator` at each latent vector, in inference
    mode: `sqrt(sum_ij (d G(z)_i / d z_j)^2)`.

    Exact by default: one forward-mode pass (a Jacobian-vector product) per latent dimension.
    With `projections=k` it is estimated from `k` random directions `v ~ N(0, I)` per sample,
    `sqrt(mean ||J v||^2)`: unbiased for the squared norm, `k` passes whatever the latent size
    (the stochastic approximation of Tanielian et al. 2020, with exact directional derivatives
    in place of finite differences).

    Args:
        generator: a Keras generator taking `z` (or `[z, labels]`), or a function
            `(z, labels) -> samples` of TensorFlow operations (`labels` an int32 tensor or
            `None`), such as a `kgan.control` generator.
        z: float32 array `(N, latent_dim)`.
        labels: int32 array `(N,)` for a conditional generator, else `None`.
        batch_size: latent vectors per pass.
        projections: `None` (exact) or the number of random directions.
        seed: seed of the random directions (what `numpy.random.default_rng` takes).

    Returns:
        A float64 NumPy array `(N,)`.
    """
    return _norms(_squared_norms_function(generator), z, labels, batch_size, projections, seed)


def _norms(squared_norms, z, labels, batch_size, projections, seed, progress=None):
    z = np.asarray(z, "float32")
    count, latent_dim = z.shape
    if projections is None:
        identity = np.eye(latent_dim, dtype="float32")[:, None]
        directions = np.broadcast_to(identity, (latent_dim, count, latent_dim))
    else:
        rng = np.random.default_rng(_non_negative(seed))
        directions = rng.standard_normal((projections, count, latent_dim), dtype="float32")
    norms = np.empty((count,), "float64")
    for start in range(0, count, batch_size):
        stop = start + batch_size
        batch_labels = None if labels is None else tf.constant(labels[start:stop], tf.int32)
        squared = squared_norms(
            tf.constant(z[start:stop]), batch_labels, tf.constant(directions[:, start:stop])
        )
        norms[start:stop] = np.sqrt(squared.numpy() / (1 if projections is None else projections))
        if progress is not None:
            progress.add(len(norms[start:stop]))
    return norms


def _squared_norms_function(generator):
    """A `tf.function` `(z, labels, directions) -> sum_k ||J(z) directions[k]||^2`, one per
    generator (kept while the generator lives), so that repeated `generate` calls reuse its
    traces."""
    try:
        return _FUNCTIONS[generator]
    except (KeyError, TypeError):
        pass
    reference = weakref.ref(generator)
    # Forward mode where it runs; else J v as the derivative of the vector-Jacobian product
    # (J^T u) . v in u, from two backward passes (the same product, by other operations).
    jvp = _forward_jvp if getattr(generator, "forward_differentiable", True) else _backward_jvp

    @tf.function(reduce_retracing=True)
    def squared_norms(z, labels, directions):
        total = tf.zeros([tf.shape(z)[0]], tf.float32)
        for k in tf.range(tf.shape(directions)[0]):
            product = tf.cast(jvp(reference(), z, labels, directions[k]), tf.float32)
            total += tf.reduce_sum(tf.reshape(product, [tf.shape(z)[0], -1]) ** 2, axis=1)
        return total

    try:
        _FUNCTIONS[generator] = squared_norms
    except TypeError:  # Not weakly referable: traced again at every call.
        pass
    return squared_norms


def truncated_generate(
    generator,
    prior,
    labels,
    *,
    count,
    share,
    seed,
    batch_size=256,
    calibration=CALIBRATION_SAMPLES,
    verbose="auto",
):
    """`count` latent vectors whose Jacobian norm lies below the `1 - share` quantile of its
    distribution under the prior (of each slot's class).

    Args:
        generator: the generator, as in `jacobian_norms`.
        prior: what says how `generator` is fed: an object with `latent_dim`,
            `latent_distribution` and `num_classes` (thresholds are per class when set), such
            as the kgan model or the `kgan.control` generator; with a `latent_classes`
            attribute that is not `None` (a `ClusterFromLatent`), thresholds are per class of z.
        labels: int32 classes of the `count` slots, or `None` (unconditional).
        count: how many samples.
        share: the share of the prior's samples left out, in (0, 1).
        seed: integer seed: the same seed gives the same samples.
        batch_size: latent vectors per generator call.
        calibration: prior samples that set the threshold (at least `count`).
        verbose: progress of the threshold's calibration (`kgan.progress`).

    Returns:
        The accepted latent vectors, a float32 array `(count, latent_dim)`.

    Raises:
        ValueError: if a Jacobian norm is not finite (the generator outputs NaN or inf).
        RuntimeError: if some slot found no accepted vector in `MAX_ROUNDS` rounds.
    """
    latent_dim, distribution = prior.latent_dim, prior.latent_distribution
    num_classes = prior.num_classes
    if num_classes is not None and labels is None:
        raise ValueError(
            "A conditional generator needs the class of every slot. Received: labels=None "
            f"with num_classes={num_classes}"
        )
    latent_classes = getattr(prior, "latent_classes", None) if num_classes is None else None
    classes = num_classes or (None if latent_classes is None else len(latent_classes.frequencies))
    draws = max(int(calibration), count, MIN_PER_CLASS * (classes or 0))
    projections = None if latent_dim <= EXACT_UP_TO else PROJECTIONS
    _check_memory(draws, latent_dim, projections, count)
    # A generator that draws a class from z itself (a self-conditioned one) is calibrated
    # per class too: as many calibration samples of each class, each z moved into its class.
    calibration_labels = calibration_classes = None
    if num_classes is not None:
        calibration_labels = (np.arange(draws) % num_classes).astype("int32")
        calibration_classes = calibration_labels
    calibration_z = _latent(draws, latent_dim, seed, _CALIBRATION_STREAM, distribution)
    if latent_classes is not None:
        drawn = np.flatnonzero(np.asarray(latent_classes.frequencies) > 0)
        calibration_classes = drawn[np.arange(draws) % drawn.size]
        calibration_z = latent_classes.within_classes(calibration_z, calibration_classes)
    squared_norms = _squared_norms_function(generator)  # Traced once for every round.

    def norms_of(z, labels, stream, progress=None):
        directions_seed = None if seed is None else (seed, stream)
        return _finite(
            _norms(squared_norms, z, labels, batch_size, projections, directions_seed, progress)
        )

    progress = Progress(
        f"Jacobian truncation: the norms of {draws:,} calibration samples", draws, verbose=verbose
    )
    calibration_norms = norms_of(calibration_z, calibration_labels, _CALIBRATION_STREAM, progress)
    if calibration_classes is None:
        threshold = np.quantile(calibration_norms, 1.0 - share)

        def thresholds_of(candidates, slots):
            return np.full((slots.size,), threshold)

    else:
        thresholds = np.full((classes,), np.nan)
        for c in np.unique(calibration_classes):
            thresholds[c] = np.quantile(calibration_norms[calibration_classes == c], 1.0 - share)

        def thresholds_of(candidates, slots):
            if latent_classes is not None:
                return thresholds[latent_classes.classes_of(candidates)]
            return thresholds[labels[slots]]

    z = np.empty((count, latent_dim), "float32")
    pending = np.arange(count)
    stream = _FIRST_ROUND_STREAM
    while pending.size:
        if stream - _FIRST_ROUND_STREAM >= MAX_ROUNDS:
            raise RuntimeError(
                f"Jacobian truncation found no accepted latent vector for {pending.size} of "
                f"{count} samples in {MAX_ROUNDS} rounds; lower `jacobian_truncation`. "
                f"Received: jacobian_truncation={share}"
            )
        candidates = _latent(pending.size, latent_dim, seed, stream, distribution)
        candidate_labels = None if labels is None else labels[pending]
        norms = norms_of(candidates, candidate_labels, stream)
        accepted = norms <= thresholds_of(candidates, pending)
        z[pending[accepted]] = candidates[accepted]
        pending = pending[~accepted]
        stream += 1
    return z


def _forward_jvp(generator, z, labels, direction):
    with tf.autodiff.ForwardAccumulator(z, direction) as accumulator:
        samples = _call(generator, z, labels)
    return accumulator.jvp(samples)


def _backward_jvp(generator, z, labels, direction):
    with tf.GradientTape() as inner:
        inner.watch(z)
        samples = _call(generator, z, labels)
    cotangent = tf.zeros_like(samples)
    with tf.GradientTape() as outer:
        outer.watch(cotangent)
        pulled_back = inner.gradient(samples, z, output_gradients=cotangent)
    return outer.gradient(pulled_back, cotangent, output_gradients=direction)


def _call(generator, z, labels):
    if isinstance(generator, keras.Model):
        return generator(with_labels(z, labels), training=False)
    return generator(z, labels)


def _check_memory(draws, latent_dim, projections, count):
    """Refuses a threshold whose latent vectors (and random directions) cannot fit in memory."""
    generation.check_fits_in_memory(
        4 * draws * latent_dim * (1 + (projections or 0)),
        f"Jacobian truncation's threshold needs {draws:,} latent vectors of size {latent_dim} "
        f"(and {projections or 0} random directions each): {{needed}}, more than this "
        "machine's {available} of memory.",
        f"num_samples={count} with latent_dim={latent_dim}",
    )


def _non_negative(seed):
    """`seed` (an integer, a tuple of integers or `None`) as NumPy's generators take it: they
    refuse negative integers, which `generate` accepts."""
    if seed is None:
        return None
    if isinstance(seed, tuple):
        return tuple(int(part) % 2**64 for part in seed)
    return int(seed) % 2**64


def _finite(norms):
    if not np.all(np.isfinite(norms)):
        raise ValueError(
            "The generator's Jacobian is not finite at some latent vectors (it outputs NaN or "
            "inf), so Jacobian truncation cannot rank its samples."
        )
    return norms


def _latent(count, latent_dim, seed, stream, distribution):
    return sample_latent(
        count, latent_dim, seed=seed, stream=stream, distribution=distribution
    ).numpy()

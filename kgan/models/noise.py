"""Noise: latent vectors for generation, and each replica's share of a training batch's noise."""

import keras
import tensorflow as tf

from kgan._validation import check_choice

LATENT_DISTRIBUTIONS = ("normal", "uniform")


def sample_latent(num_samples, latent_dim, *, seed=None, distribution="normal", stream=0):
    """Draws latent vectors: N(0, I), or U(-1, 1) per coordinate.

    With an integer `seed` the draw is a pure function of `(seed, num_samples, latent_dim)`, so
    the same seed gives the same vectors in `GAN.generate` and in an exported model's `generate`
    signature (both call this function). `stream` selects an independent draw from the same
    seed (0 is `generate`'s).

    Returns:
        A float32 tensor of shape `(num_samples, latent_dim)`.
    """
    check_choice("distribution", distribution, LATENT_DISTRIBUTIONS)
    shape = tf.stack([tf.cast(num_samples, tf.int32), tf.constant(latent_dim, tf.int32)])
    if seed is None:
        seed = tf.random.uniform([], 0, 2**31 - 1, dtype=tf.int64)
    seed_pair = tf.stack([tf.cast(seed, tf.int64), tf.constant(stream, tf.int64)])
    if distribution == "normal":
        return tf.random.stateless_normal(shape, seed=seed_pair)
    return tf.random.stateless_uniform(shape, seed=seed_pair, minval=-1.0, maxval=1.0)


def replica_noise(distribution, local_batch, inner_shape=(), *, seed, **kwargs):
    """Draws this replica's slice of the noise of the global batch.

    Every replica draws the values of the whole global batch from the same seed and keeps its
    own slice. Replicas thus get different noise, and a run on N devices sees exactly the noise
    of a run on one device with the same global batch.

    Args:
        distribution: `"normal"` (`keras.random.normal`) or `"uniform"` (`keras.random.uniform`).
        local_batch: this replica's batch size.
        inner_shape: shape of one example's noise.
        seed: a `keras.random.SeedGenerator`, shared by the replicas.
        **kwargs: passed to the draw (`minval`, `maxval`, `stddev`...).

    Returns:
        A tensor of shape `(local_batch, *inner_shape)`.
    """
    draw = keras.random.normal if distribution == "normal" else keras.random.uniform
    context = tf.distribute.get_replica_context()
    replicas = context.num_replicas_in_sync if context is not None else 1
    if replicas == 1:
        return draw((local_batch, *inner_shape), seed=seed, **kwargs)
    values = draw((local_batch * replicas, *inner_shape), seed=seed, **kwargs)
    start = tf.cast(context.replica_id_in_sync_group, tf.int32) * local_batch
    return values[start : start + local_batch]


def replica_latent(local_batch, latent_dim, distribution, *, seed):
    """This replica's latent vectors during training, from the prior `distribution`."""
    if distribution == "normal":
        return replica_noise("normal", local_batch, (latent_dim,), seed=seed)
    return replica_noise("uniform", local_batch, (latent_dim,), seed=seed, minval=-1.0, maxval=1.0)


def seed_states(*networks):
    """The state variables of the seed generators inside `networks` (dropout layers...), each
    network once, in a fixed order: what a resumed run must restore to replay their noise."""
    unique = {id(network): network for network in networks}.values()
    return [
        variable
        for network in unique
        for variable in network.non_trainable_variables
        if variable.path.endswith("seed_generator_state")
    ]

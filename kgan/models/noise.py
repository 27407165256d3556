"""Noise: latent vectors for generation, each replica's share of a training batch's noise, the
seeds of a training step's draws (`StepSeeds`), and the noise of test steps (`HeldOutNoise`).

A test step scores the adversarial game on held-out data: the discriminator on held-out real
samples and on samples generated from fresh noise. That noise must not come from the model's
training noise generator, whose state decides the noise of the next training steps (and is
saved with the model): evaluating a model would otherwise change how it goes on training. The
evaluation draws from a generator of its own instead, which restarts at its seed at the start of
every `evaluate` or `test_on_batch` call, so the same weights and data always give the same
numbers.
"""

import functools
import threading

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
        seed: a `keras.random.SeedGenerator`, shared by the replicas, or a stateless seed (an
            integer tensor of shape `(2,)`, from `StepSeeds`).
        **kwargs: passed to the draw (`minval`, `maxval`, `stddev`...).

    Returns:
        A tensor of shape `(local_batch, *inner_shape)`.
    """
    context = tf.distribute.get_replica_context()
    replicas = context.num_replicas_in_sync if context is not None else 1
    if replicas == 1:
        return _draw(distribution, (local_batch, *inner_shape), seed, kwargs)
    values = _draw(distribution, (local_batch * replicas, *inner_shape), seed, kwargs)
    start = tf.cast(context.replica_id_in_sync_group, tf.int32) * local_batch
    return values[start : start + local_batch]


def _draw(distribution, shape, seed, kwargs):
    if isinstance(seed, keras.random.SeedGenerator):
        draw = keras.random.normal if distribution == "normal" else keras.random.uniform
        return draw(shape, seed=seed, **kwargs)
    draw = tf.random.stateless_normal if distribution == "normal" else tf.random.stateless_uniform
    return draw(shape, seed=seed, **kwargs)


class StepSeeds:
    """The seeds of one training step's draws.

    The step advances the model's `keras.random.SeedGenerator` once, and its k-th draw uses the
    stateless seed `fold_in(step_seed, k)`, with a 64-bit key. The noise of a step is thus a
    function of the generator's state and of the order in which the step's code asks for it,
    not of the order in which TensorFlow runs the draws. Draws that each read and advance the
    shared state, one inside a `tf.cond` (the DiffAugment of a lazy R1 term) and one beside it
    (bCR's), can run in either order, and two runs from the same seed then get different noise,
    with op determinism on or off.

    k is counted as the step is traced: a draw inside a `tf.while_loop` would take one seed
    for all its iterations.
    """

    def __init__(self, seed_generator):
        self._seed = seed_generator.next()
        self._count = 0

    def next(self):
        """The stateless seed of the step's next draw."""
        index = tf.constant(self._count, tf.int64)
        self._count += 1
        return tf.random.experimental.stateless_fold_in(self._seed, index)


def one_seed_per_step(train_step):
    """Decorates an `AdversarialModel.train_step` so that its draws come from `StepSeeds`. A
    decorated step that calls another (`super().train_step`) shares its seeds with it."""

    @functools.wraps(train_step)
    def step(model, data):
        active = _active_steps()
        if id(model) in active:
            return train_step(model, data)
        active[id(model)] = StepSeeds(model.seed_generator)
        try:
            return train_step(model, data)
        finally:
            del active[id(model)]

    return step


def next_seed(model):
    """The seed of `model`'s next draw: the next of its step's seeds inside a `train_step`
    decorated with `one_seed_per_step`, else its seed generator."""
    seeds = _active_steps().get(id(model))
    return model.seed_generator if seeds is None else seeds.next()


_THREAD = threading.local()


def _active_steps():
    """The `StepSeeds` of the train steps this thread is tracing, by model. Per thread, since
    `tf.distribute.MirroredStrategy` traces each replica's step in a thread of its own."""
    if not hasattr(_THREAD, "steps"):
        _THREAD.steps = {}
    return _THREAD.steps


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


class HeldOutNoise:
    """The noise of test steps: a `keras.random.SeedGenerator` that `reset` restarts.

    Args:
        seed: the model's seed; `None` draws one once, when the model is created.
    """

    def __init__(self, seed):
        # A different stream from the training noise drawn from the same seed.
        seed = None if seed is None else seed + 1
        self.seed_generator = keras.random.SeedGenerator(seed, name="held_out_noise_seed")
        self._start = self.seed_generator.state.numpy()

    def reset(self):
        """Restarts the noise at its seed (called at the start of every evaluation)."""
        self.seed_generator.state.assign(self._start)

    def latent(self, batch_size, latent_dim, latent_distribution):
        """This replica's latent vectors, as `AdversarialModel._sample_z` draws them."""
        return replica_latent(batch_size, latent_dim, latent_distribution, seed=self.seed_generator)

    def uniform(self, batch_size, inner_shape=()):
        """This replica's U(0, 1) values (the gradient penalty's interpolation weights)."""
        return replica_noise("uniform", batch_size, inner_shape, seed=self.seed_generator)

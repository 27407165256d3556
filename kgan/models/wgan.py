"""`WGAN` (weight clipping) and `WGANGP` (gradient penalty): Wasserstein GANs."""

import math
import warnings

import keras
import numpy as np
import tensorflow as tf

from kgan import losses, penalties
from kgan._validation import check_choice, check_non_negative, check_positive_int
from kgan.data import order as data_order
from kgan.models import checks, noise
from kgan.models.base import AdversarialModel
from kgan.networks.inputs import split_batch, with_labels
from kgan.networks.packing import packing_of

# "fresh": every critic update trains on its own real batch (Algorithm 1 of both papers);
# "reuse": all n_critic updates of a step train on the same real batch.
CRITIC_BATCHES = ("fresh", "reuse")


class _WassersteinModel(AdversarialModel):
    """Shared train step: `n_critic` critic updates, then one generator update.

    Every critic update draws fresh noise (and, for WGAN-GP, fresh interpolation weights) and,
    with `critic_batches="fresh"`, its own real batch; the generator update then draws fresh
    noise again. The logged losses are those of the step's last critic update; each penalty
    (R1 / R2, `consistency`, WGAN-GP's terms) is its mean over the step's `n_critic` updates,
    so with a lazy term `d_loss` is not the sum of the logged values.
    """

    def __init__(self, generator, discriminator, *, n_critic=5, critic_batches="fresh", **kwargs):
        check_positive_int("n_critic", n_critic)
        check_choice("critic_batches", critic_batches, CRITIC_BATCHES)
        if packing_of(discriminator) > 1:
            raise ValueError(
                f"{type(self).__name__} scores the samples one by one (its gradient penalty and "
                "critic batches are per sample); a packing discriminator is for kgan.GAN. "
                f"Received: a discriminator with packing={packing_of(discriminator)}"
            )
        super().__init__(generator, discriminator, **kwargs)
        self.n_critic = int(n_critic)
        self.critic_batches = critic_batches
        self.loss_family = losses.get("wasserstein")

    def fit(self, x=None, y=None, batch_size=None, *args, **kwargs):
        """Trains the model; see `kgan.models.AdversarialModel.fit`.

        With `critic_batches="fresh"` (and `n_critic` > 1) each step takes `n_critic` real
        batches: a `tf.data.Dataset` of batches of B is rebatched into batches of n_critic * B
        (`unbatch().batch(n_critic * B, drop_remainder=True)`, B read from its first batch),
        and arrays (`x`, and `y` for a conditional model) the same way, as a dataset of batches
        of `batch_size` (32 by default), shuffled each epoch when `shuffle` is true (Keras'
        default), after `validation_split` takes its share. One step is one generator update,
        as in the papers, so an epoch has 1 / n_critic as many steps as batches.

        Only whole groups are trained on: the examples left after the last group of n_critic
        full batches (fewer than n_critic * B) are dropped from that epoch, for datasets and
        arrays alike, so that every critic and generator update sees B examples. Data that is
        shuffled each epoch drops other examples each time; data in a fixed order drops the
        same ones. A dataset of fewer than n_critic batches (arrays of fewer than
        n_critic * B examples) makes one step, its examples shared out among the critic
        updates. Under `tf.distribute` the examples of a batch are ordered so that each critic
        update trains on the same examples as on one device.
        """
        if self.critic_batches != "fresh" or self.n_critic == 1:
            return super().fit(x, y, batch_size, *args, **kwargs)
        if _is_array(x):
            x, batch_size, args, kwargs = _arrays_as_dataset(
                x, y, batch_size, args, kwargs, self.n_critic
            )
            y = None
        replicas = self.distribute_strategy.num_replicas_in_sync
        rebatched, batch_size = _fresh_critic_batches(x, batch_size, self.n_critic, replicas)
        with warnings.catch_warnings():
            if _unknown_length(x, rebatched) and kwargs.get("steps_per_epoch") is None:
                # Keras counts the steps of a dataset of unknown length during its first epoch
                # and then warns that "your input ran out of data", which here it did not.
                warnings.filterwarnings("ignore", message="Your input ran out of data")
            return super().fit(rebatched, y, batch_size, *args, **kwargs)

    def _critic_batches(self, real, labels):
        """The `(real, labels)` of each critic update: `n_critic` disjoint chunks of the batch
        with `critic_batches="fresh"`, else the whole batch each time."""
        if self.critic_batches == "reuse" or self.n_critic == 1:
            return [(real, labels)] * self.n_critic
        # A batch holds n_critic * B examples (`fit` drops a remainder); the one batch of data
        # too small for a group is cut as evenly as it allows (chunks wrap around when it has
        # fewer than n_critic examples).
        size = tf.shape(real)[0]
        chunk = tf.maximum(size // self.n_critic, 1)
        chunks = []
        for index in range(self.n_critic):
            rows = tf.math.floormod(tf.range(chunk) + index * chunk, size)
            chunk_labels = None if labels is None else tf.gather(labels, rows)
            chunks.append((tf.gather(real, rows), chunk_labels))
        return chunks

    @noise.one_seed_per_step
    def train_step(self, data):
        batch, batch_labels = split_batch(data, self.num_classes)
        critic = self.discriminator

        # === Critic steps ===
        penalty_means = []
        for real, labels in self._critic_batches(batch, batch_labels):
            batch_size = tf.shape(real)[0]
            fake = self.generator(with_labels(self._sample_z(batch_size), labels), training=True)
            with tf.GradientTape() as tape:
                real_scores = self._discriminate(real, labels)
                fake_scores = self._discriminate(fake, labels)
                wasserstein_loss = self.loss_family.discriminator_loss(real_scores, fake_scores)
                penalties = self._penalty_values(real, fake, labels, real_scores, fake_scores)
                d_per_example = wasserstein_loss + sum(penalties.values())
                d_loss = self._reduce(d_per_example, critic)
                scaled = self.d_optimizer.scale_loss(d_loss)
            self._apply_gradients(self.d_optimizer, tape, scaled, critic)
            penalty_means.append({name: tf.reduce_mean(v) for name, v in penalties.items()})

        # === Generator step (the last critic batch's size and labels) ===
        z = self._sample_z(batch_size)
        with tf.GradientTape() as tape:
            fake = self.generator(with_labels(z, labels), training=True)
            fake_scores = self._discriminate(fake, labels)
            g_per_example = self.loss_family.generator_loss(None, fake_scores)
            g_loss = self._reduce(g_per_example, self.generator)
            scaled = self.g_optimizer.scale_loss(g_loss)
        self._apply_gradients(self.g_optimizer, tape, scaled, self.generator)
        self._update_ema()

        # The critic's losses describe its last step, the one closest to the generator's
        # update. C(x) - C(G(z)) is the critic's estimate of the Wasserstein-1 distance (up to
        # the Lipschitz constant); it should shrink as the generator improves. Each penalty is
        # the mean over the step's critic updates: a lazy term, due on some updates only,
        # would otherwise read 0 whenever the last update is not one of them.
        return self._track(
            d_loss=tf.reduce_mean(d_per_example),
            g_loss=tf.reduce_mean(g_per_example),
            wasserstein=-tf.reduce_mean(wasserstein_loss),
            **{name: tf.reduce_mean([m[name] for m in penalty_means]) for name in penalties},
        )

    def test_step(self, data):
        """Scores a held-out batch without updating anything (`evaluate`, `test_on_batch`,
        `fit(validation_data=...)`).

        The critic runs in inference mode on the batch and on as many samples of the trained
        (not averaged) generator, drawn from the held-out noise, without DiffAugment, with the
        penalties that are computed on held-out data (the gradient penalty and drift, not R1 /
        R2). Logs `d_loss`, `g_loss`, `wasserstein` and those penalties.
        """
        real, labels = split_batch(data, self.num_classes)
        z = self._held_out_z(tf.shape(real)[0])
        fake = self.generator(with_labels(z, labels), training=False)
        real_scores = self.discriminator(with_labels(real, labels), training=False)
        fake_scores = self.discriminator(with_labels(fake, labels), training=False)
        wasserstein_loss = self.loss_family.discriminator_loss(real_scores, fake_scores)
        # The gradient penalty costs one more critic pass and its gradient: cheap next to a
        # training step's n_critic updates.
        penalties = self._penalty_values(
            real, fake, labels, real_scores, fake_scores, training=False
        )
        g_per_example = self.loss_family.generator_loss(None, fake_scores)
        return self._track_held_out(
            d_loss=tf.reduce_mean(wasserstein_loss + sum(penalties.values())),
            g_loss=tf.reduce_mean(g_per_example),
            wasserstein=-tf.reduce_mean(wasserstein_loss),
            **{name: tf.reduce_mean(values) for name, values in penalties.items()},
        )

    def get_config(self):
        config = super().get_config()
        config["n_critic"] = self.n_critic
        config["critic_batches"] = self.critic_batches
        return config


def _replica_major(batch, n_critic, replicas):
    """Orders a batch of n_critic * B examples so that replica r's contiguous share holds
    its part of each of the n_critic batches, in order.

    `tf.distribute` gives each replica a contiguous slice of the global batch, and
    `_critic_batches` cuts each replica's slice into n_critic chunks; with this order, critic
    update i trains on the i-th B examples of the batch on any number of replicas, as on one.
    """

    def reorder(values):
        shape = tf.shape(values)
        values = tf.reshape(values, tf.concat([[n_critic, replicas, -1], shape[1:]], 0))
        values = tf.transpose(values, [1, 0, 2] + list(range(3, values.shape.rank)))
        return tf.reshape(values, shape)

    batch = tf.nest.map_structure(reorder, batch)
    return batch[0] if len(batch) == 1 else batch


def _unknown_length(x, rebatched):
    """Whether rebatching `x` lost the length of a dataset whose length was known."""
    return (
        isinstance(x, tf.data.Dataset)
        and int(x.cardinality()) >= 0
        and int(rebatched.cardinality()) < 0
    )


def _is_array(x):
    return isinstance(x, (np.ndarray, tf.Tensor)) or (
        hasattr(x, "__array__") and not isinstance(x, tf.data.Dataset)
    )


def _arrays_as_dataset(x, y, batch_size, args, kwargs, n_critic):
    """`fit`'s arrays as a dataset of batches of `batch_size`, shuffled each epoch as Keras
    shuffles arrays, with `validation_split` taken off first (Keras' rule: the last share,
    before shuffling). Returns `(dataset, None, args, kwargs)` for `fit`."""
    import inspect

    bound = inspect.signature(keras.Model.fit).bind(None, x, y, batch_size, *args, **kwargs)
    options = {**bound.arguments, **bound.arguments.pop("kwargs", {})}
    for name in ("self", "x", "y", "batch_size"):
        options.pop(name, None)
    size = 32 if batch_size is None else batch_size
    check_positive_int("batch_size", size)
    data = tuple(np.asarray(values) for values in ((x,) if y is None else (x, y)))
    split = options.pop("validation_split", 0.0) or 0.0
    if split:
        split_at = int(math.floor(len(data[0]) * (1.0 - split)))
        validation = tuple(values[split_at:] for values in data)
        data = tuple(values[:split_at] for values in data)
        validation = tf.data.Dataset.from_tensor_slices(_single(validation)).batch(size)
        options["validation_data"] = validation
    count = len(data[0])
    dataset = tf.data.Dataset.from_tensor_slices(_single(data))
    if options.pop("shuffle", True):
        dataset = dataset.shuffle(max(count, 1), reshuffle_each_iteration=True)
    # Whole batches when there is a whole group of them (a remainder is dropped anyway).
    dataset = dataset.batch(size, drop_remainder=count >= n_critic * size)
    return dataset, None, (), options


def _single(values):
    return values[0] if len(values) == 1 else values


def _fresh_critic_batches(x, batch_size, n_critic, replicas=1):
    """`(x, batch_size)` for `fit` such that one batch holds `n_critic` real batches."""
    if isinstance(x, tf.data.Dataset):
        size = tf.nest.flatten(x.element_spec)[0].shape[0]
        static = size is not None
        if not static:
            first = next(iter(x.take(1)), None)
            if first is None:
                raise ValueError("The training dataset is empty. Received: x=" + repr(x))
            size = int(tf.shape(tf.nest.flatten(first)[0])[0])
        batches = int(x.cardinality())
        if batches == 0:
            raise ValueError("The training dataset is empty. Received: x=" + repr(x))
        order = data_order.epoch_order_of(x)
        if 0 <= batches < n_critic:
            # Too few batches for one step: one step on all of them, whose critic updates
            # share its examples out (see `_critic_batches`).
            whole = x.unbatch().batch(n_critic * size)
            whole = whole.apply(tf.data.experimental.assert_cardinality(1))
            return data_order.attach(whole, order), batch_size
        rebatched = x.unbatch().batch(n_critic * size, drop_remainder=True)
        if replicas > 1 and size % replicas == 0:
            rebatched = rebatched.map(
                lambda *batch: _replica_major(batch, n_critic, replicas),
                num_parallel_calls=tf.data.AUTOTUNE,
            )
        if static and batches >= 0:
            # All batches hold B examples, so n_critic of them make one batch. (The length of
            # a dataset with a last partial batch, or of batches of any size, stays unknown.)
            rebatched = rebatched.apply(
                tf.data.experimental.assert_cardinality(batches // n_critic)
            )
        # The rebatched dataset keeps the epoch order of a seeded kgan dataset (resuming).
        return data_order.attach(rebatched.prefetch(tf.data.AUTOTUNE), order), batch_size
    raise ValueError(
        f"With critic_batches='fresh' each step takes n_critic={n_critic} real batches, which "
        "kgan arranges for a tf.data.Dataset or arrays; pass one of those, or "
        f"critic_batches='reuse' (every critic update then uses the same batch). Received: x "
        f"of type {type(x).__name__}"
    )


class _Clip(keras.constraints.Constraint):
    """Clips a weight to [-clip_value, clip_value], after any constraint it already had."""

    def __init__(self, clip_value, inner=None):
        self.clip_value = clip_value
        self.inner = inner

    def __call__(self, w):
        if self.inner is not None:
            w = self.inner(w)
        return keras.ops.clip(w, -self.clip_value, self.clip_value)


@keras.saving.register_keras_serializable(package="kgan")
class WGAN(_WassersteinModel):
    """Wasserstein GAN with weight clipping (Arjovsky et al. 2017, arXiv:1701.07875).

    Critic loss C(G(z)) - C(x), generator loss -C(G(z)); after every critic update each of the
    critic's trainable weights is clipped to [-clip_value, clip_value] (the clipping is attached
    to the weights as a Keras constraint, which the optimiser applies after its update, also
    under `tf.distribute`).

    Args:
        generator: `keras.Model` from `z` (or `[z, labels]`) to samples.
        discriminator: the critic: `keras.Model` from samples to one unbounded score per
            example.
        n_critic: critic updates per generator update (5 in the paper).
        critic_batches: `"fresh"` (default): every critic update trains on its own real
            batch, as in the paper's Algorithm 1; `fit` then hands each step n_critic
            batches, so an epoch has 1 / n_critic as many steps (one step = one generator
            update). `"reuse"`: all n_critic updates train on the step's one batch.
        clip_value: the clipping bound c (0.01 in the paper).
        **kwargs: `latent_dim`, `num_classes` and the options of
            `kgan.models.AdversarialModel` (`augment`, `r1_weight`, `ema_decay`...).

    Metrics: `d_loss`, `g_loss`, `wasserstein` (C(x) - C(G(z)), the critic's estimate of the
    Wasserstein distance).
    """

    def __init__(self, generator, discriminator, *, n_critic=5, clip_value=0.01, **kwargs):
        check_non_negative("clip_value", clip_value)
        if clip_value == 0:
            raise ValueError(f"`clip_value` must be positive. Received: clip_value={clip_value}")
        super().__init__(generator, discriminator, n_critic=n_critic, **kwargs)
        self.clip_value = float(clip_value)
        for variable in self.discriminator.trainable_variables:
            inner = variable.constraint
            if isinstance(inner, _Clip):
                inner = inner.inner
            variable.constraint = _Clip(self.clip_value, inner)
        self._make_trackers(["d_loss", "g_loss", "wasserstein"])

    def default_optimizers(self):
        """RMSprop with learning rate 5e-5 for both networks, as in the WGAN paper."""
        return (
            keras.optimizers.RMSprop(5e-5, name="d_rmsprop"),
            keras.optimizers.RMSprop(5e-5, name="g_rmsprop"),
        )

    def get_config(self):
        config = super().get_config()
        config["clip_value"] = self.clip_value
        return config


@keras.saving.register_keras_serializable(package="kgan")
class WGANGP(_WassersteinModel):
    """Wasserstein GAN with gradient penalty (Gulrajani et al. 2017, arXiv:1704.00028).

    Critic loss, per example:

        C(G(z)) - C(x) + lambda * (||grad C(x_hat)||_2 - 1)^2 + drift * C(x)^2

    with x_hat = alpha x + (1 - alpha) G(z), alpha ~ U(0, 1) per example, drawn afresh for each
    critic update (see `kgan.penalties.gradient_penalty`). The drift term (Karras et al. 2018) is
    off by default.

    The penalty is per example, so the critic must not mix the examples of a batch: use no
    normalisation or layer normalisation in it, not batch normalisation.

    Args:
        generator: `keras.Model` from `z` (or `[z, labels]`) to samples.
        discriminator: the critic, one unbounded score per example.
        n_critic: critic updates per generator update (5 in the paper).
        critic_batches: `"fresh"` (default): every critic update trains on its own real
            batch, as in the paper's Algorithm 1; `fit` then hands each step n_critic
            batches, so an epoch has 1 / n_critic as many steps (one step = one generator
            update). `"reuse"`: all n_critic updates train on the step's one batch.
        gradient_penalty_weight: lambda (10 in the paper).
        drift_weight: weight of the drift term (0.001 in Karras et al.; 0 disables it).
        **kwargs: `latent_dim`, `num_classes` and the options of
            `kgan.models.AdversarialModel` (`augment`, `r1_weight`, `ema_decay`...).

    Metrics: `d_loss`, `g_loss`, `wasserstein` (C(x) - C(G(z))), `gradient_penalty`
    (lambda-weighted) and `drift` when it is on. The losses are those of a step's last critic
    update, the penalties (with R1 / R2 and `consistency` when they are on) their means over
    the step's `n_critic` updates.
    """

    def __init__(
        self,
        generator,
        discriminator,
        *,
        n_critic=5,
        gradient_penalty_weight=10.0,
        drift_weight=0.0,
        **kwargs,
    ):
        check_non_negative("gradient_penalty_weight", gradient_penalty_weight)
        check_non_negative("drift_weight", drift_weight)
        super().__init__(generator, discriminator, n_critic=n_critic, **kwargs)
        self.gradient_penalty_weight = float(gradient_penalty_weight)
        self.drift_weight = float(drift_weight)
        if self.gradient_penalty_weight:
            checks.warn_batch_norm_penalty(self.discriminator, "WGAN-GP gradient penalty")
        terms = (penalties.gradient_penalty_term(self.gradient_penalty_weight),)
        if self.drift_weight:
            terms += (penalties.drift_term(self.drift_weight),)
        self._penalties = terms + self._penalties
        self._make_trackers(["d_loss", "g_loss", "wasserstein"])

    def default_optimizers(self):
        """Adam, learning rate 1e-4, betas (0.5, 0.9), for both networks.

        These are the settings of the authors' released code (igul222/improved_wgan_training),
        with which their published results were produced; the paper's Algorithm 1 lists
        beta_1 = 0. Pass your own optimisers to `compile` to use the paper's.
        """
        return (
            keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9, name="d_adam"),
            keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9, name="g_adam"),
        )

    def get_config(self):
        config = super().get_config()
        config["gradient_penalty_weight"] = self.gradient_penalty_weight
        config["drift_weight"] = self.drift_weight
        return config

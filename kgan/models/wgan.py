"""`WGAN` (weight clipping) and `WGANGP` (gradient penalty): Wasserstein GANs."""

import warnings

import keras
import tensorflow as tf

from kgan import losses
from kgan._validation import check_non_negative, check_positive_int
from kgan.models.base import AdversarialModel
from kgan.models.inputs import split_batch, with_labels


class _WassersteinModel(AdversarialModel):
    """Shared train step: `n_critic` critic updates, then one generator update.

    Every critic update draws fresh noise (and, for WGAN-GP, fresh interpolation weights) and
    uses the batch's real samples; the generator update then draws fresh noise again.
    """

    def __init__(self, generator, discriminator, *, n_critic=5, **kwargs):
        check_positive_int("n_critic", n_critic)
        super().__init__(generator, discriminator, **kwargs)
        self.n_critic = int(n_critic)

    def _critic_penalty(self, real, fake, labels, real_scores):
        """Per-example extra terms of the critic's loss: a dict name -> per-example values."""
        return {}

    def train_step(self, data):
        real, labels = split_batch(data, self.num_classes)
        batch_size = tf.shape(real)[0]
        critic = self.discriminator

        # === Critic steps ===
        for _ in range(self.n_critic):
            fake = self.generator(with_labels(self._sample_z(batch_size), labels), training=True)
            with tf.GradientTape() as tape:
                real_scores = critic(with_labels(real, labels), training=True)
                fake_scores = critic(with_labels(fake, labels), training=True)
                wasserstein_loss = losses.wasserstein_discriminator_loss(real_scores, fake_scores)
                penalties = self._critic_penalty(real, fake, labels, real_scores)
                d_per_example = wasserstein_loss + sum(penalties.values())
                d_loss = self._reduce(d_per_example, critic)
                scaled = self.d_optimizer.scale_loss(d_loss)
            self._apply_gradients(self.d_optimizer, tape, scaled, critic)

        # === Generator step ===
        z = self._sample_z(batch_size)
        with tf.GradientTape() as tape:
            fake = self.generator(with_labels(z, labels), training=True)
            fake_scores = critic(with_labels(fake, labels), training=True)
            g_per_example = losses.wasserstein_generator_loss(fake_scores)
            g_loss = self._reduce(g_per_example, self.generator)
            scaled = self.g_optimizer.scale_loss(g_loss)
        self._apply_gradients(self.g_optimizer, tape, scaled, self.generator)
        self._update_ema()

        # The critic's metrics describe its last step, the one closest to the generator's
        # update. C(x) - C(G(z)) is the critic's estimate of the Wasserstein-1 distance (up to
        # the Lipschitz constant); it should shrink as the generator improves.
        return self._track(
            d_loss=tf.reduce_mean(d_per_example),
            g_loss=tf.reduce_mean(g_per_example),
            wasserstein=-tf.reduce_mean(wasserstein_loss),
            **{name: tf.reduce_mean(values) for name, values in penalties.items()},
        )

    def get_config(self):
        config = super().get_config()
        config["n_critic"] = self.n_critic
        return config


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
        clip_value: the clipping bound c (0.01 in the paper).
        **kwargs: `latent_dim`, `num_classes` and the options of
            `kgan.models.AdversarialModel`.

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
    critic update (see `kgan.losses.gradient_penalty`). The drift term (Karras et al. 2018) is
    off by default.

    The penalty is per example, so the critic must not mix the examples of a batch: use no
    normalisation or layer normalisation in it, not batch normalisation.

    Args:
        generator: `keras.Model` from `z` (or `[z, labels]`) to samples.
        discriminator: the critic, one unbounded score per example.
        n_critic: critic updates per generator update (5 in the paper).
        gradient_penalty_weight: lambda (10 in the paper).
        drift_weight: weight of the drift term (0.001 in Karras et al.; 0 disables it).
        **kwargs: `latent_dim`, `num_classes` and the options of
            `kgan.models.AdversarialModel`.

    Metrics: `d_loss`, `g_loss`, `wasserstein` (C(x) - C(G(z))), `gradient_penalty`
    (lambda-weighted) and `drift` when it is on.
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
        # `_flatten_layers` is Keras-internal, but Keras has no public walk over nested layers
        # (`Model.layers` lists the top level only, and kgan's own blocks hold their
        # BatchNormalization one level down).
        if any(
            isinstance(layer, keras.layers.BatchNormalization)
            for layer in self.discriminator._flatten_layers()
        ):
            warnings.warn(
                "The WGAN-GP critic contains BatchNormalization, which makes each example's "
                "score depend on the rest of its batch and invalidates the per-example gradient "
                "penalty. Use normalization=None or 'layer' in the critic.",
                stacklevel=2,
            )
        names = ["d_loss", "g_loss", "wasserstein", "gradient_penalty"]
        self._make_trackers(names + (["drift"] if self.drift_weight else []))

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

    def _critic_penalty(self, real, fake, labels, real_scores):
        terms = {}
        if self.gradient_penalty_weight:
            alpha = self._random("uniform", tf.shape(real)[0])

            def critic(inputs):
                return self.discriminator(inputs, training=True)

            terms["gradient_penalty"] = self.gradient_penalty_weight * losses.gradient_penalty(
                critic, real, fake, alpha, critic_inputs=labels
            )
        else:
            terms["gradient_penalty"] = tf.zeros([tf.shape(real)[0]])
        if self.drift_weight:
            terms["drift"] = self.drift_weight * losses.drift_penalty(real_scores)
        return terms

    def get_config(self):
        config = super().get_config()
        config["gradient_penalty_weight"] = self.gradient_penalty_weight
        config["drift_weight"] = self.drift_weight
        return config

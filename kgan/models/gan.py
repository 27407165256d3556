"""`GAN`: the original adversarial game with binary cross-entropy."""

import keras
import tensorflow as tf

from kgan import losses
from kgan._validation import check_choice, check_non_negative, check_range
from kgan.models.base import AdversarialModel
from kgan.models.inputs import split_batch, with_labels

_GENERATOR_LOSSES = {
    "non_saturating": losses.non_saturating_generator_loss,
    "minimax": losses.minimax_generator_loss,
}


@keras.saving.register_keras_serializable(package="kgan")
class GAN(AdversarialModel):
    """A GAN trained with binary cross-entropy (Goodfellow et al. 2014, arXiv:1406.2661).

    Each `train_step` updates the discriminator once on a real batch and a generated batch, then
    the generator once on fresh noise against the updated discriminator (Algorithm 1 of the
    paper with k = 1). Both networks run in training mode there (batch statistics, dropout).

    Args:
        generator: `keras.Model` from `z` (or `[z, labels]`) to samples in [-1, 1].
        discriminator: `keras.Model` from samples (or `[samples, labels]`) to one *logit* per
            example (no sigmoid: the loss works from logits, which is numerically stable).
        latent_dim: size of `z`; read from the generator when `None`.
        num_classes: number of classes for class-conditional training, or `None`.
        generator_loss: `"non_saturating"` (default, -log D(G(z))) or `"minimax"`
            (log(1 - D(G(z)))).
        label_smoothing: one-sided label smoothing (Salimans et al. 2016): real targets become
            `1 - label_smoothing`; fake targets stay 0.
        label_noise: noisy labels: real targets drawn from U(1 - s - a, 1 - s) and fake targets
            from U(0, a) for `label_noise=a`.
        label_flip_prob: probability of swapping an example's real/fake target when training
            the discriminator.
        instance_noise: standard deviation of Gaussian noise added to every input of the
            discriminator, real and fake (Sonderby et al. 2016, arXiv:1610.04490).
        **kwargs: `latent_distribution`, `ema_decay`, `seed`, `terminate_on_nan`,
            `check_inputs`, `name` (see `kgan.models.AdversarialModel`).

    Metrics (progress bar and `History`): `d_loss`, `g_loss`, `d_real` (mean D(x)) and
    `d_fake` (mean D(G(z))), measured in the discriminator's step.

    Example:
    >>> generator = kgan.models.dcgan_generator((28, 28, 1), latent_dim=64)
    >>> discriminator = kgan.models.dcgan_discriminator((28, 28, 1))
    >>> gan = kgan.GAN(generator, discriminator)
    >>> gan.compile()  # Adam(2e-4, beta_1=0.5) for both networks, as in DCGAN
    >>> gan.fit(dataset, epochs=5)  # batches of images in [-1, 1]
    >>> images = gan.generate(16, seed=0)
    """

    def __init__(
        self,
        generator,
        discriminator,
        *,
        generator_loss="non_saturating",
        label_smoothing=0.0,
        label_noise=0.0,
        label_flip_prob=0.0,
        instance_noise=0.0,
        **kwargs,
    ):
        check_choice("generator_loss", generator_loss, tuple(_GENERATOR_LOSSES))
        check_range("label_smoothing", label_smoothing, 0.0, 0.5, include_high=False)
        check_range("label_noise", label_noise, 0.0, 0.5, include_high=False)
        check_range("label_flip_prob", label_flip_prob, 0.0, 0.5, include_high=False)
        check_non_negative("instance_noise", instance_noise)
        if label_smoothing + label_noise >= 0.5:
            raise ValueError(
                "`label_smoothing + label_noise` must stay below 0.5 so real targets stay above "
                f"fake ones. Received: label_smoothing={label_smoothing}, "
                f"label_noise={label_noise}"
            )
        super().__init__(generator, discriminator, **kwargs)
        self.generator_loss = generator_loss
        self.label_smoothing = float(label_smoothing)
        self.label_noise = float(label_noise)
        self.label_flip_prob = float(label_flip_prob)
        self.instance_noise = float(instance_noise)
        self._generator_loss_fn = _GENERATOR_LOSSES[generator_loss]
        self._make_trackers(["d_loss", "g_loss", "d_real", "d_fake"])

    def default_optimizers(self):
        """Adam, learning rate 2e-4, beta_1 0.5, for both networks (Radford et al. 2015)."""
        return (
            keras.optimizers.Adam(2e-4, beta_1=0.5, name="d_adam"),
            keras.optimizers.Adam(2e-4, beta_1=0.5, name="g_adam"),
        )

    def _noisy(self, samples):
        """`samples` plus the instance noise N(0, instance_noise^2), when it is on."""
        if not self.instance_noise:
            return samples
        noise = self._random("normal", tf.shape(samples)[0], tuple(samples.shape[1:]))
        return samples + tf.cast(self.instance_noise * noise, samples.dtype)

    def _targets(self, batch_size):
        """Real and fake targets of the discriminator, scalars when no trick is on."""
        real = 1.0 - self.label_smoothing
        fake = 0.0
        if self.label_noise:
            real = real - self.label_noise * self._random("uniform", batch_size)
            fake = fake + self.label_noise * self._random("uniform", batch_size)
        if self.label_flip_prob:
            flip = self._random("uniform", batch_size) < self.label_flip_prob
            real, fake = (
                tf.where(flip, fake * tf.ones([batch_size]), real * tf.ones([batch_size])),
                tf.where(flip, real * tf.ones([batch_size]), fake * tf.ones([batch_size])),
            )
        if not isinstance(real, float):
            real = tf.reshape(real, [-1, 1])
        if not isinstance(fake, float):
            fake = tf.reshape(fake, [-1, 1])
        return real, fake

    def train_step(self, data):
        real, labels = split_batch(data, self.num_classes)
        batch_size = tf.shape(real)[0]

        # === Discriminator step ===
        fake = self.generator(with_labels(self._sample_z(batch_size), labels), training=True)
        real_targets, fake_targets = self._targets(batch_size)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(with_labels(self._noisy(real), labels), training=True)
            fake_logits = self.discriminator(with_labels(self._noisy(fake), labels), training=True)
            d_per_example = losses.minimax_discriminator_loss(
                real_logits, fake_logits, real_targets, fake_targets
            )
            d_loss = self._reduce(d_per_example, self.discriminator)
            scaled = self.d_optimizer.scale_loss(d_loss)
        self._apply_gradients(self.d_optimizer, tape, scaled, self.discriminator)

        # === Generator step (fresh noise, against the updated discriminator) ===
        z = self._sample_z(batch_size)
        with tf.GradientTape() as tape:
            fake = self.generator(with_labels(z, labels), training=True)
            logits = self.discriminator(with_labels(self._noisy(fake), labels), training=True)
            g_per_example = self._generator_loss_fn(logits)
            g_loss = self._reduce(g_per_example, self.generator)
            scaled = self.g_optimizer.scale_loss(g_loss)
        self._apply_gradients(self.g_optimizer, tape, scaled, self.generator)
        self._update_ema()

        return self._track(
            d_loss=tf.reduce_mean(d_per_example),
            g_loss=tf.reduce_mean(g_per_example),
            d_real=tf.reduce_mean(tf.sigmoid(tf.cast(real_logits, tf.float32))),
            d_fake=tf.reduce_mean(tf.sigmoid(tf.cast(fake_logits, tf.float32))),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "generator_loss": self.generator_loss,
                "label_smoothing": self.label_smoothing,
                "label_noise": self.label_noise,
                "label_flip_prob": self.label_flip_prob,
                "instance_noise": self.instance_noise,
            }
        )
        return config

"""`GAN`: the original adversarial game with binary cross-entropy, and its hinge and
least-squares variants."""

import keras
import tensorflow as tf

from kgan import losses
from kgan._validation import check_choice, check_non_negative, check_range
from kgan.models import noise
from kgan.models.base import AdversarialModel
from kgan.networks.inputs import split_batch, with_labels

# The losses that the older `generator_loss` argument names.
_CROSS_ENTROPY = ("non_saturating", "minimax")
_UPDATES = ("alternating", "shared")


@keras.saving.register_keras_serializable(package="kgan")
class GAN(AdversarialModel):
    """A GAN trained with binary cross-entropy (Goodfellow et al. 2014, arXiv:1406.2661), or
    with the hinge or least-squares loss.

    Each `train_step` updates the discriminator once on a real batch and a generated batch, then
    the generator once against the updated discriminator (Algorithm 1 of the paper with k = 1).
    Both networks run in training mode there (batch statistics, dropout).

    Args:
        generator: `keras.Model` from `z` (or `[z, labels]`) to samples in [-1, 1].
        discriminator: `keras.Model` from samples (or `[samples, labels]`) to one *logit* per
            example (no sigmoid: the loss works from logits, which is numerically stable), an
            unbounded score for the hinge and least-squares losses.
        latent_dim: size of `z`; read from the generator when `None`.
        num_classes: number of classes for class-conditional training, or `None`.
        loss: the adversarial loss, a name registered in `kgan.losses` or a
            `kgan.losses.LossFamily` (`kgan.losses` holds each with its formula):
            `"non_saturating"` (default): cross-entropy for D, -log D(G(z)) for G.
            `"minimax"`: cross-entropy for D, log(1 - D(G(z))) for G (Goodfellow et al.).
            `"hinge"`: max(0, 1 - D(x)) + max(0, 1 + D(G(z))) for D, -D(G(z)) for G (Lim & Ye
            2017; SN-GAN, Miyato et al. 2018); no label options.
            `"least_squares"`: 1/2 (D(x) - 1)^2 + 1/2 D(G(z))^2 for D, 1/2 (D(G(z)) - 1)^2
            for G (LSGAN, Mao et al. 2017, a = 0, b = c = 1); the label options move the
            targets b and a as they move the cross-entropy's.
            Any other family registered with `kgan.losses.register` (`kgan.losses.names()`).
        generator_loss: the older name of the choice between `"non_saturating"` and
            `"minimax"`; still accepted, an error when it contradicts `loss`. `get_config`
            stores `loss`.
        label_smoothing: one-sided label smoothing (Salimans et al. 2016): real targets become
            `1 - label_smoothing`; fake targets stay 0.
        label_noise: noisy labels: real targets drawn from U(1 - s - a, 1 - s) and fake targets
            from U(0, a) for `label_noise=a`.
        label_flip_prob: probability of swapping an example's real/fake target when training
            the discriminator.
        instance_noise: standard deviation of Gaussian noise added to every input of the
            discriminator, real and fake (Sonderby et al. 2016, arXiv:1610.04490). The paper
            anneals it; `gan.instance_noise = value` changes it between steps without
            retracing, e.g. `keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs:
            setattr(gan, "instance_noise", 0.1 * 0.9**epoch))`. The saved model keeps the
            current value; `get_config` stores the constructor's.
        update: the order of the two updates in a step. `"alternating"` (default): the
            generator's update draws fresh noise and runs the generator again, as in the
            paper's Algorithm 1. `"shared"`: the generator runs once per step and its update
            goes through the same generated batch the discriminator was trained on (then
            scored by the updated discriminator), as in PyTorch's DCGAN example; it saves one
            generator forward pass per step.
        **kwargs: `latent_distribution`, `ema_decay`, `seed`, `terminate_on_nan`,
            `check_inputs`, `augment`, `r1_weight`, `r2_weight`, `penalty_interval`,
            `consistency_weight`, `ema_statistics`, `ema_warmup`, `name` (see
            `kgan.models.AdversarialModel`).

    Metrics (progress bar and `History`): `d_loss` (with the R1 / R2 and consistency terms when they
    are on), `g_loss`, `d_real` and `d_fake`, measured in the discriminator's step: the mean
    probability D(x) and D(G(z)) = sigmoid(logit) for the cross-entropy losses, the mean raw output
    for the hinge loss (margins at +1 and -1) and least squares (targets 1 and 0); `r1`, `r2` and
    `consistency` when `r1_weight`, `r2_weight` and `consistency_weight` are set.

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
        loss=None,
        generator_loss=None,
        label_smoothing=0.0,
        label_noise=0.0,
        label_flip_prob=0.0,
        instance_noise=0.0,
        update="alternating",
        **kwargs,
    ):
        family = _resolve_loss(loss, generator_loss)
        check_choice("update", update, _UPDATES)
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
        if not family.targets and (label_smoothing or label_noise or label_flip_prob):
            raise ValueError(
                f"The {family.name} loss takes no targets, so `label_smoothing`, "
                "`label_noise` and `label_flip_prob` do not apply to it. Received: "
                f"loss={family.name!r}, label_smoothing={label_smoothing}, "
                f"label_noise={label_noise}, label_flip_prob={label_flip_prob}"
            )
        super().__init__(generator, discriminator, **kwargs)
        self.loss_family = family
        self.adversarial_loss = family.name
        # Also under the argument's other name, as the model's arguments read back.
        self.generator_loss = family.name
        self.label_smoothing = float(label_smoothing)
        self.label_noise = float(label_noise)
        self.label_flip_prob = float(label_flip_prob)
        # The noise is drawn in the traced step when the model is built with it; its standard
        # deviation is a variable, so a callback can anneal it without retracing the step.
        self._instance_noise_on = bool(instance_noise)
        self._instance_noise_initial = float(instance_noise)
        self._instance_noise = keras.Variable(
            float(instance_noise), dtype="float32", trainable=False, name="instance_noise"
        )
        self._state_variables["instance_noise"] = self._instance_noise
        self.update = update
        self._make_trackers(["d_loss", "g_loss", "d_real", "d_fake"])

    def default_optimizers(self):
        """Adam, learning rate 2e-4, beta_1 0.5, for both networks (Radford et al. 2015)."""
        return (
            keras.optimizers.Adam(2e-4, beta_1=0.5, name="d_adam"),
            keras.optimizers.Adam(2e-4, beta_1=0.5, name="g_adam"),
        )

    def _noisy(self, samples):
        """`samples` plus the instance noise N(0, instance_noise^2), when it is on."""
        if not self._instance_noise_on:
            return samples
        noise = self._random("normal", tf.shape(samples)[0], tuple(samples.shape[1:]))
        return samples + tf.cast(self._instance_noise * noise, samples.dtype)

    @property
    def instance_noise(self):
        """The standard deviation of the instance noise, a float; settable (for example by a
        callback that anneals it) on a model built with `instance_noise > 0`."""
        return float(keras.ops.convert_to_numpy(self._instance_noise))

    @instance_noise.setter
    def instance_noise(self, value):
        check_non_negative("instance_noise", value)
        if not self._instance_noise_on:
            raise ValueError(
                "The model was built without instance noise, so its train step draws none; "
                "build it with `instance_noise > 0` to change the noise while training. "
                f"Received: instance_noise={value}"
            )
        self._instance_noise.assign(float(value))

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

    @noise.one_seed_per_step
    def train_step(self, data):
        real, labels = split_batch(data, self.num_classes)
        batch_size = tf.shape(real)[0]
        z = self._sample_z(batch_size)

        if self.update == "shared":
            # One generator pass serves both updates. The discriminator's step is left out of
            # the generator's tape, and the generator's loss then scores the same batch with
            # the updated discriminator.
            with tf.GradientTape() as g_tape:
                fake = self.generator(with_labels(z, labels), training=True)
                with g_tape.stop_recording():
                    d_per_example, real_logits, fake_logits, penalties = self._discriminator_step(
                        real, tf.stop_gradient(fake), labels
                    )
                g_per_example, g_scaled = self._generator_objective(real, fake, labels)
        else:
            fake = self.generator(with_labels(z, labels), training=True)
            d_per_example, real_logits, fake_logits, penalties = self._discriminator_step(
                real, fake, labels
            )
            # Fresh noise, against the updated discriminator.
            z = self._sample_z(batch_size)
            with tf.GradientTape() as g_tape:
                fake = self.generator(with_labels(z, labels), training=True)
                g_per_example, g_scaled = self._generator_objective(real, fake, labels)
        self._apply_gradients(self.g_optimizer, g_tape, g_scaled, self.generator)
        self._update_ema()

        return self._track(
            d_loss=tf.reduce_mean(d_per_example),
            g_loss=tf.reduce_mean(g_per_example),
            d_real=self._balance(real_logits),
            d_fake=self._balance(fake_logits),
            **{name: tf.reduce_mean(values) for name, values in penalties.items()},
        )

    def _balance(self, outputs):
        """`d_real` / `d_fake`: the mean probability sigmoid(D) for the losses whose scores are
        logits (`LossFamily.probabilities`), the mean raw output for the others."""
        outputs = tf.cast(outputs, tf.float32)
        if self.loss_family.probabilities:
            outputs = tf.sigmoid(outputs)
        return tf.reduce_mean(outputs)

    def _discriminator_step(self, real, fake, labels):
        """One update of the discriminator on `real` and `fake`; returns its per-example loss
        (the adversarial loss plus the R1 / R2 terms), its logits on both batches and the
        penalty terms (a dict name -> per-example values)."""
        real_targets, fake_targets = 1.0, 0.0
        if self.loss_family.targets:
            real_targets, fake_targets = self._targets(tf.shape(real)[0])
        with tf.GradientTape() as tape:
            real_logits = self._discriminate(self._noisy(real), labels)
            fake_logits = self._discriminate(self._noisy(fake), labels)
            d_per_example = self.loss_family.discriminator_loss(
                real_logits, fake_logits, real_targets, fake_targets
            )
            penalties = self._penalty_values(real, fake, labels, real_logits, fake_logits)
            d_per_example = d_per_example + sum(penalties.values())
            scaled = self.d_optimizer.scale_loss(self._reduce(d_per_example, self.discriminator))
        self._apply_gradients(self.d_optimizer, tape, scaled, self.discriminator)
        return d_per_example, real_logits, fake_logits, penalties

    def _generator_objective(self, real, fake, labels):
        """The generator's per-example loss on `fake` (against `real` for a family whose
        generator loss needs real scores) and its scaled loss, to call inside the generator's
        tape."""
        real_logits = None
        if self.loss_family.generator_needs_real_scores:
            real_logits = self._discriminate(self._noisy(real), labels)
        logits = self._discriminate(self._noisy(fake), labels)
        g_per_example = self.loss_family.generator_loss(real_logits, logits)
        g_loss = self._reduce(g_per_example, self.generator)
        return g_per_example, self.g_optimizer.scale_loss(g_loss)

    def test_step(self, data):
        """Scores a held-out batch without updating anything (`evaluate`, `test_on_batch`,
        `fit(validation_data=...)`).

        The discriminator runs in inference mode on the batch and on as many samples of the
        trained (not averaged) generator, drawn from the held-out noise; the losses are those
        of training without its random parts (label noise and flips, instance noise,
        DiffAugment) and without the R1 / R2 penalties. Logs `d_loss`, `g_loss`, `d_real` and
        `d_fake`.
        """
        real, labels = split_batch(data, self.num_classes)
        z = self._held_out_z(tf.shape(real)[0])
        fake = self.generator(with_labels(z, labels), training=False)
        real_logits = self.discriminator(with_labels(real, labels), training=False)
        fake_logits = self.discriminator(with_labels(fake, labels), training=False)
        d_per_example = self.loss_family.discriminator_loss(
            real_logits, fake_logits, 1.0 - self.label_smoothing, 0.0
        )
        g_per_example = self.loss_family.generator_loss(real_logits, fake_logits)
        return self._track_held_out(
            d_loss=tf.reduce_mean(d_per_example),
            g_loss=tf.reduce_mean(g_per_example),
            d_real=self._balance(real_logits),
            d_fake=self._balance(fake_logits),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "loss": self.adversarial_loss,
                "label_smoothing": self.label_smoothing,
                "label_noise": self.label_noise,
                "label_flip_prob": self.label_flip_prob,
                "instance_noise": self._instance_noise_initial,
                "update": self.update,
            }
        )
        return config


def _resolve_loss(loss, generator_loss):
    """The `LossFamily` of a `GAN`: `loss`, or the older `generator_loss`, which names the
    generator's loss of the cross-entropy game; `"non_saturating"` when neither is given."""
    if generator_loss is not None:
        check_choice("generator_loss", generator_loss, _CROSS_ENTROPY)
        if loss is not None and losses.get(loss).name != generator_loss:
            raise ValueError(
                "`generator_loss` is the older name of `loss` and contradicts it; pass `loss` "
                f"alone. Received: loss={loss!r}, generator_loss={generator_loss!r}"
            )
        loss = generator_loss
    family = losses.get("non_saturating" if loss is None else loss)
    if family.lipschitz:
        raise ValueError(
            f"The {family.name} loss needs a Lipschitz critic (weight clipping or a gradient "
            f"penalty); use kgan.WGAN or kgan.WGANGP. Received: loss={family.name!r}"
        )
    return family

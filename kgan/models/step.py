"""The protected helpers that `GAN.train_step` and the Wasserstein train steps are written with.

`TrainStepHelpers` is mixed into `AdversarialModel`: noise for this replica, the loss reduced
over the global batch, one optimiser step, the moving average, the discriminator's training
call (with DiffAugment) and its penalties (`kgan.penalties`), and the metric trackers.
"""

import keras
import tensorflow as tf

from kgan import penalties
from kgan.augment import diff_augment, num_random_values
from kgan.models import distribution, ema, noise
from kgan.models.inputs import with_labels


class TrainStepHelpers:
    """Train-step building blocks; expects the attributes `AdversarialModel` sets."""

    def _sample_z(self, batch_size):
        """This replica's latent vectors, from the prior (see `noise.replica_noise`)."""
        return noise.replica_latent(
            batch_size, self.latent_dim, self.latent_distribution, seed=self.seed_generator
        )

    def _random(self, distribution, batch_size, inner_shape=(), **kwargs):
        """This replica's `"normal"` or `"uniform"` noise, drawn from the model's seed."""
        return noise.replica_noise(
            distribution, batch_size, inner_shape, seed=self.seed_generator, **kwargs
        )

    @staticmethod
    def _reduce(per_example_loss, network):
        """The loss to minimise: the mean over the *global* batch, plus `network`'s own
        regularisation losses (`network.losses`).

        The optimisers sum gradients over replicas, so dividing by the global batch size
        (and the regularisation by the number of replicas) gives the gradient of the mean loss
        over the global batch, whatever the number of replicas.
        """
        loss = tf.nn.compute_average_loss(per_example_loss)
        if not network.losses:
            return loss
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync if context is not None else 1
        return loss + tf.add_n([tf.cast(x, tf.float32) for x in network.losses]) / replicas

    @staticmethod
    def _apply_gradients(optimizer, tape, scaled_loss, network):
        """One optimiser step on `network`'s trainable variables.

        `scaled_loss` is `optimizer.scale_loss(loss)`, computed inside the tape; a
        `LossScaleOptimizer` unscales the gradients again in `apply_gradients`.
        """
        variables = network.trainable_variables
        gradients = tape.gradient(scaled_loss, variables)
        optimizer.apply_gradients(zip(gradients, variables))

    def _update_ema(self):
        """Counts one generator update, and moves the generator's moving average one step
        when `ema_decay` is set."""
        steps = self.generator_steps
        # -1: a model loaded from a file that did not count its steps; the generator's
        # optimiser has counted them since it was created, this update included.
        step = tf.where(steps < 0, tf.cast(self.g_optimizer.iterations, tf.int64) - 1, steps)
        steps.assign(step + 1)
        if self.ema_decay is not None:
            warmup_step = step if self.ema_warmup else None
            ema.update_average(
                self.inference_generator, self.generator, self.ema_decay, step=warmup_step
            )

    def _discriminate(self, samples, labels):
        """The discriminator's training-mode output on `samples` (DiffAugment-ed if `augment`)."""
        if self.augment is not None:
            count = num_random_values(self.augment)
            uniform = self._random("uniform", tf.shape(samples)[0], (count,))
            samples = diff_augment(samples, self.augment, uniform=uniform)
        return self.discriminator(with_labels(samples, labels), training=True)

    def _penalty_values(self, real, fake, labels, real_scores, *, training=True):
        """The discriminator's penalty terms (`self._penalties`) of one update, or of one test
        step with `training=False`: a dict name -> weighted per-example values."""
        if training:
            inputs = penalties.PenaltyInputs(
                critic=lambda samples: self._discriminate(samples, labels),
                real=real,
                fake=fake,
                real_scores=real_scores,
                uniform=lambda batch_size: self._random("uniform", batch_size),
            )
        else:
            inputs = penalties.PenaltyInputs(
                critic=lambda samples: self.discriminator(
                    with_labels(samples, labels), training=False
                ),
                real=real,
                fake=fake,
                real_scores=real_scores,
                uniform=self._held_out_noise.uniform,
            )
        return penalties.compute(
            self._penalties,
            inputs,
            training=training,
            interval=self.penalty_interval,
            step=self.d_optimizer.iterations if training else None,
        )

    def _make_trackers(self, names):
        names = list(names) + [penalty.name for penalty in self._penalties]
        self._trackers = {name: keras.metrics.Mean(name=name) for name in names}

    def _track(self, **values):
        """Adds one step's values to the epoch means; returns the logs of `train_step`."""
        for name, value in values.items():
            self._trackers[name].update_state(value)
        logs = {name: tracker.result() for name, tracker in self._trackers.items()}
        return distribution.step_logs(logs)

    @property
    def metrics(self):
        # Listing the trackers here lets Keras reset them at the start of every epoch. Listing
        # only them keeps out the `loss` tracker that Keras' compile adds (a `loss: 0.0000`
        # entry would only mislead: kgan reports d_loss and g_loss).
        return list(self._trackers.values())

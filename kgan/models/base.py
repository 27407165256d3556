"""`AdversarialModel`: the `keras.Model` that `GAN`, `WGAN` and `WGANGP` extend.

It holds a generator and a discriminator and owns what does not depend on the loss: the two
optimisers' `compile`, `fit` with its first-batch checks, `generate`, the config and the
saving of the noise state. Subclasses write `train_step` with the protected helpers at the end
of the class (`_sample_z`, `_reduce`, `_apply_gradients`...). The checks are in `checks.py`,
the noise in `noise.py`, the generator's moving average in `ema.py`.
"""

import keras
import numpy as np
import tensorflow as tf

from kgan._validation import check_choice, check_positive_int, check_range, check_seed
from kgan.models import checks, ema, noise
from kgan.models.divergence import NonFiniteGuard, TrainingDivergedError
from kgan.models.inputs import with_labels
from kgan.models.noise import LATENT_DISTRIBUTIONS, sample_latent

# Export and evaluation import these from here, next to `AdversarialModel`.
__all__ = ["LATENT_DISTRIBUTIONS", "AdversarialModel", "TrainingDivergedError", "sample_latent"]

_SEED_STATE_KEY = "seed_generator_state"


class AdversarialModel(keras.Model):
    """Base class of kgan's adversarial models. Subclasses implement `train_step`.

    Args:
        generator: a `keras.Model` mapping `z` (or `[z, labels]` when `num_classes` is set) to
            samples.
        discriminator: a `keras.Model` mapping samples (or `[samples, labels]`) to one logit or
            score per example.
        latent_dim: size of `z`; read from the generator's input when `None`.
        num_classes: number of classes of a class-conditional model, or `None`.
        latent_distribution: `"normal"` (N(0, I), default) or `"uniform"` (U(-1, 1)).
        ema_decay: when set (for example 0.999), keep an exponential moving average of the
            generator's weights; `generate` and export then use the averaged weights.
        seed: seed of the noise drawn during training (latent vectors, label noise...).
        terminate_on_nan: stop `fit` with a `TrainingDivergedError` as soon as a tracked loss
            is NaN or infinite (default `True`).
        check_inputs: check the first batch given to `fit` (shapes, labels, and for images the
            value range [-1, 1]) before training starts (default `True`).

    Attributes:
        inference_generator: the generator that `generate` and export use: a frozen copy
            holding the averaged weights when `ema_decay` is set, else `generator` itself.
        ema_weights: the averaged weights (`inference_generator.weights`), or `None`.
        sample_shape: the shape of one generated sample.
    """

    def __init__(
        self,
        generator,
        discriminator,
        *,
        latent_dim=None,
        num_classes=None,
        latent_distribution="normal",
        ema_decay=None,
        seed=None,
        terminate_on_nan=True,
        check_inputs=True,
        **kwargs,
    ):
        # === Validation ===
        checks.check_network("generator", generator)
        checks.check_network("discriminator", discriminator)
        checks.check_num_classes(num_classes)
        check_positive_int("latent_dim", latent_dim, allow_none=True)
        check_choice("latent_distribution", latent_distribution, LATENT_DISTRIBUTIONS)
        if ema_decay is not None:
            check_range("ema_decay", ema_decay, 0.0, 1.0, include_high=False)
        check_seed(seed)
        input_shapes = [tuple(x.shape) for x in getattr(generator, "inputs", None) or []]
        latent_dim = checks.resolve_latent_dim(latent_dim, input_shapes, num_classes)
        sample_shape = checks.probe_networks(generator, discriminator, latent_dim, num_classes)

        super().__init__(**kwargs)

        # === Config ===
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.sample_shape = sample_shape
        self.latent_distribution = latent_distribution
        self.ema_decay = ema_decay
        self.seed = seed
        self.terminate_on_nan = terminate_on_nan
        self.check_inputs = check_inputs

        # === State ===
        self.generator = generator
        self.discriminator = discriminator
        self.seed_generator = keras.random.SeedGenerator(seed, name="noise_seed")
        self.inference_generator = generator
        if ema_decay is not None:
            example = with_labels(*checks.probe_inputs(latent_dim, num_classes))
            self.inference_generator = ema.averaged_copy(generator, example)
        self.d_optimizer = None
        self.g_optimizer = None
        self._compile_options = {}
        self._trackers = {}
        self.built = True

    @property
    def ema_weights(self):
        """The averaged weights of the generator (a list of variables), or `None`."""
        return None if self.ema_decay is None else self.inference_generator.weights

    # ------------------------------------------------------------------ compile and fit

    def default_optimizers(self):
        """The published optimiser settings of this model: `(d_optimizer, g_optimizer)`."""
        raise NotImplementedError

    def compile(
        self,
        d_optimizer=None,
        g_optimizer=None,
        *,
        jit_compile="auto",
        steps_per_execution=1,
        run_eagerly=False,
        **kwargs,
    ):
        """Configures the two optimisers.

        Args:
            d_optimizer: optimiser of the discriminator (critic): a `keras.optimizers.Optimizer`,
                a name or a config dict. Defaults to the published setting of the model.
            g_optimizer: optimiser of the generator, likewise.
            jit_compile, steps_per_execution, run_eagerly: as in `keras.Model.compile`.
        """
        checks.check_compile_arguments(type(self).__name__, kwargs)
        default_d, default_g = self.default_optimizers()
        d_optimizer = default_d if d_optimizer is None else keras.optimizers.get(d_optimizer)
        g_optimizer = default_g if g_optimizer is None else keras.optimizers.get(g_optimizer)
        if d_optimizer is g_optimizer:
            raise ValueError(
                "`d_optimizer` and `g_optimizer` must be two different optimiser objects: each "
                "keeps its own state. Received: the same object for both"
            )
        self.d_optimizer = _with_loss_scaling(d_optimizer)
        self.g_optimizer = _with_loss_scaling(g_optimizer)
        self._compile_options = {
            "jit_compile": jit_compile,
            "steps_per_execution": steps_per_execution,
            "run_eagerly": run_eagerly,
        }
        # optimizer=None: without it Keras would attach an unused RMSprop as `model.optimizer`,
        # which callbacks (TensorBoard's learning-rate scalar, ReduceLROnPlateau) would then
        # read and change silently. Schedules belong in `d_optimizer` / `g_optimizer`.
        super().compile(optimizer=None, **self._compile_options)
        # Building the optimisers now creates their variables before `fit` traces the step
        # (and before a saved model's optimiser state is loaded into them).
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    def get_compile_config(self):
        if not self.compiled or self.d_optimizer is None:
            return {}
        return {
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            **self._compile_options,
        }

    def compile_from_config(self, config):
        config = dict(config)
        config["d_optimizer"] = keras.saving.deserialize_keras_object(config["d_optimizer"])
        config["g_optimizer"] = keras.saving.deserialize_keras_object(config["g_optimizer"])
        self.compile(**config)

    def fit(self, x=None, y=None, *args, callbacks=None, **kwargs):
        """Trains the model; see `keras.Model.fit`.

        `x` is a `tf.data.Dataset` (or a NumPy array) of batches of real samples, or of
        `(samples, labels)` when `num_classes` is set; images in [-1, 1]. Labels are integers
        in `[0, num_classes)` (one-hot rows are accepted too); with NumPy arrays pass them as
        `y`.
        """
        if not self.compiled or self.d_optimizer is None:
            raise RuntimeError(
                f"{type(self).__name__} must be compiled before fit(): call "
                f"`model.compile()` (the defaults are the published optimiser settings)."
            )
        if self.check_inputs:
            samples, labels, batched = checks.first_batch(x, y)
            # `samples` is None for a generator, a PyDataset or a distributed dataset.
            if samples is not None:
                checks.check_training_samples(samples, self.sample_shape, batched=batched)
                checks.check_training_labels(labels, samples.shape[0], self.num_classes)
        if isinstance(x, tf.data.Dataset):
            # A dataset carries its own shuffling; Keras' default shuffle=True would only warn.
            kwargs.setdefault("shuffle", False)
        callbacks = list(callbacks or [])
        if self.terminate_on_nan:
            callbacks.append(NonFiniteGuard())
        return super().fit(x, y, *args, callbacks=callbacks, **kwargs)

    # ------------------------------------------------------------------ inference

    def call(self, inputs, training=False):
        """Runs the generator: `gan(z)` or `gan([z, labels])` returns samples."""
        return self.generator(inputs, training=training)

    def generate(self, num_samples=None, *, z=None, labels=None, seed=None, batch_size=256):
        """Generates samples in inference mode (batch-norm moving statistics, no dropout).

        Args:
            num_samples: how many samples to draw (not needed when `z` is given).
            z: latent vectors of shape `(num_samples, latent_dim)`; drawn from the prior when
                `None`.
            labels: integer classes of a class-conditional model, one per sample (or one
                integer for all); when `None`, classes cycle 0, 1, ..., num_classes - 1.
            seed: integer seed of `z`: the same seed gives the same samples.
            batch_size: how many samples go through the generator at once.

        Returns:
            A NumPy float32 array of shape `(num_samples, *sample_shape)`, images in [-1, 1].
        """
        if z is None:
            check_positive_int("num_samples", num_samples)
            check_seed(seed)
            z = sample_latent(
                num_samples, self.latent_dim, seed=seed, distribution=self.latent_distribution
            ).numpy()
        else:
            z = checks.latent_vectors(z, self.latent_dim, num_samples)
        count = z.shape[0]
        labels = checks.generation_labels(labels, count, self.num_classes)
        outputs = []
        for start in range(0, count, batch_size):
            batch_labels = None if labels is None else labels[start : start + batch_size]
            inputs = with_labels(z[start : start + batch_size], batch_labels)
            samples = self.inference_generator(inputs, training=False)
            outputs.append(keras.ops.convert_to_numpy(samples))
        if not outputs:
            return np.zeros((0, *self.sample_shape), "float32")
        return np.concatenate(outputs).astype("float32")

    # ------------------------------------------------------------------ config and saving

    def get_config(self):
        return {
            "name": self.name,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "num_classes": self.num_classes,
            "latent_distribution": self.latent_distribution,
            "ema_decay": self.ema_decay,
            "seed": self.seed,
            "terminate_on_nan": self.terminate_on_nan,
            "check_inputs": self.check_inputs,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)

    # The model owns no variables of its own: Keras saves the networks, the averaged generator
    # and the optimisers under their own names. Its own entry holds the noise state, which
    # Keras does not save with a SeedGenerator; without it a reloaded model would replay the
    # noise of its first training steps.

    def save_own_variables(self, store):
        store[_SEED_STATE_KEY] = self.seed_generator.state

    def load_own_variables(self, store):
        # Files saved by earlier kgan versions also number a copy of the averaged weights
        # here; the averaged generator's own entry (`inference_generator/`) restores the same
        # values, so they are skipped.
        if _SEED_STATE_KEY in store:
            self.seed_generator.state.assign(store[_SEED_STATE_KEY])

    # ------------------------------------------------------------------ train-step helpers

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
        """One step of the generator's moving average, when `ema_decay` is set."""
        if self.ema_decay is not None:
            ema.update_average(self.inference_generator, self.generator, self.ema_decay)

    def _make_trackers(self, names):
        self._trackers = {name: keras.metrics.Mean(name=name) for name in names}

    def _track(self, **values):
        """Adds one step's values to the epoch means; returns the logs of `train_step`."""
        for name, value in values.items():
            self._trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self._trackers.items()}

    @property
    def metrics(self):
        # Listing the trackers here lets Keras reset them at the start of every epoch. Listing
        # only them keeps out the `loss` tracker that Keras' compile adds (a `loss: 0.0000`
        # entry would only mislead: kgan reports d_loss and g_loss).
        return list(self._trackers.values())


def _with_loss_scaling(optimizer):
    """Wraps `optimizer` in a `LossScaleOptimizer` under a float16 policy."""
    if keras.mixed_precision.global_policy().name != "mixed_float16":
        return optimizer
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    # float16 gradients underflow without loss scaling.
    return keras.optimizers.LossScaleOptimizer(optimizer)

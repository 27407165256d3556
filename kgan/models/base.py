"""`AdversarialModel`: the `keras.Model` that `GAN`, `WGAN` and `WGANGP` extend.

It holds a generator and a discriminator and owns what does not depend on the loss: the two
optimisers' `compile`, `fit` with its first-batch checks, `generate`, the config and the
saving of the noise state, and the protected helpers that subclasses write `train_step` and
`test_step` with (`_sample_z`, `_discriminate`, `_penalty_values`, `_reduce`,
`_apply_gradients`, `_track`...). The checks are in `checks.py`, the noise in `noise.py`, the
generator's moving average in `ema.py`, what `compile` and `fit` hand to Keras in
`fitting.py`, and the body of `generate` in `generation.py`.
"""

import keras
import tensorflow as tf

from kgan import penalties
from kgan._validation import (
    check_bool,
    check_choice,
    check_num_classes,
    check_positive_int,
    check_range,
    check_seed,
)
from kgan.augment import check_augment, diff_augment, num_random_values
from kgan.models import checks, distribution, ema, fitting, generation, noise, saving
from kgan.models.fitting import TrainingDivergedError
from kgan.models.generation import MAX_GENERATE_SAMPLES
from kgan.models.noise import LATENT_DISTRIBUTIONS, sample_latent
from kgan.networks.inputs import with_labels

# Export and evaluation import these from here, next to `AdversarialModel`.
__all__ = [
    "LATENT_DISTRIBUTIONS",
    "MAX_GENERATE_SAMPLES",
    "AdversarialModel",
    "TrainingDivergedError",
    "sample_latent",
]


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
        augment: DiffAugment policy, e.g. `"color,translation,cutout"` (`kgan.augment`):
            applied to real and generated images wherever the discriminator sees them in
            training, never in `generate` or export. `None` (default) for none.
        r1_weight, r2_weight: gamma of the zero-centred penalties (gamma / 2) E||grad D||^2
            on real (R1) and generated (R2) samples, Mescheder et al. 2018; 0 (default) is off.
            Metrics `r1`, `r2`: the terms added to the discriminator's loss.
        penalty_interval: compute R1 / R2 every k-th discriminator update, gamma times k
            (StyleGAN2's lazy regularisation). See `kgan.penalties`.
        consistency_weight: lambda of balanced consistency regularisation (bCR, Zhao et al.
            2020): lambda ||D(T(x)) - D(x)||^2 on real and on generated images, T a random flip
            and shift (`kgan.augment.consistency_transform`); the paper uses 10 on CIFAR-10.
            Two more discriminator passes per update; 0 (default) is off. With `augment`, each
            side of the difference gets its own DiffAugment draw. Metric `consistency`.
        ema_statistics: the averaged generator's batch-norm statistics: `"average"` (default,
            averaged with the weights) or `"recompute"` (also measured afresh at the end of
            every `fit`, see `recompute_ema_statistics`).
        ema_warmup: decay min(ema_decay, (1 + t) / (10 + t)) at generator step t, so that the
            average forgets the initial weights (default `True`). t is `generator_steps`,
            which a new `compile` does not reset.

    Attributes:
        inference_generator: the generator that `generate` and export use: a frozen copy
            holding the averaged weights when `ema_decay` is set, else `generator` itself.
        ema_weights: the averaged weights (`inference_generator.weights`), or `None`.
        sample_shape: the shape of one generated sample.
        generator_steps: a variable counting the generator's updates (saved with the model).
    """

    # Longer than 60 lines: KerasHub's constructor order (validate, build, store config)
    # for a dozen arguments; each check is one call into `checks` / `penalties`.
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
        augment=None,
        r1_weight=0.0,
        r2_weight=0.0,
        penalty_interval=1,
        consistency_weight=0.0,
        ema_statistics="average",
        ema_warmup=True,
        **kwargs,
    ):
        # === Validation ===
        checks.check_network("generator", generator)
        checks.check_network("discriminator", discriminator)
        check_num_classes(num_classes)
        check_positive_int("latent_dim", latent_dim, allow_none=True)
        check_choice("latent_distribution", latent_distribution, LATENT_DISTRIBUTIONS)
        if ema_decay is not None:
            check_range("ema_decay", ema_decay, 0.0, 1.0, include_high=False)
        check_seed(seed)
        input_shapes = [tuple(x.shape) for x in getattr(generator, "inputs", None) or []]
        latent_dim = checks.resolve_latent_dim(latent_dim, input_shapes, num_classes)
        sample_shape = checks.probe_networks(generator, discriminator, latent_dim, num_classes)
        augment = check_augment(augment, sample_shape)
        penalties.check_penalties(r1_weight, r2_weight, penalty_interval, consistency_weight)
        if consistency_weight and len(sample_shape) != 3:
            raise ValueError(
                "`consistency_weight` compares the discriminator's scores of flipped and shifted "
                f"images (height, width, channels); the generator makes samples of shape "
                f"{tuple(sample_shape)}. Received: consistency_weight={consistency_weight}"
            )
        check_choice("ema_statistics", ema_statistics, ("average", "recompute"))
        check_bool("ema_warmup", ema_warmup)
        if r1_weight or r2_weight:
            checks.warn_batch_norm_penalty(discriminator, "R1 / R2 penalty", stacklevel=4)

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
        self.augment = augment
        self.r1_weight = float(r1_weight)
        self.r2_weight = float(r2_weight)
        self.penalty_interval = int(penalty_interval)
        self.consistency_weight = float(consistency_weight)
        self.ema_statistics = ema_statistics
        self.ema_warmup = bool(ema_warmup)
        # The discriminator's penalty terms; subclasses add theirs before making trackers.
        self._penalties = penalties.zero_centred_terms(
            r1_weight, r2_weight
        ) + penalties.consistency_terms(consistency_weight)

        # === State ===
        self.generator = generator
        self.discriminator = discriminator
        self.seed_generator = keras.random.SeedGenerator(seed, name="noise_seed")
        self._held_out_noise = noise.HeldOutNoise(seed)
        self.inference_generator = generator
        if ema_decay is not None:
            example = with_labels(*checks.probe_inputs(latent_dim, num_classes))
            self.inference_generator = ema.averaged_copy(generator, example)
        self.d_optimizer = None
        self.g_optimizer = None
        self._compile_options = {}
        self._trackers = {}
        # Generator updates so far: the clock of the EMA warm-up, kept by the model so that a
        # new `compile` (new optimisers, say a lower learning rate) does not restart it.
        self.generator_steps = keras.Variable(
            0,
            dtype="int64",
            trainable=False,
            name="generator_steps",
            aggregation="only_first_replica",
        )
        # Variables of the model's own state, saved under their names (`save_own_variables`).
        self._state_variables = {"generator_steps": self.generator_steps}
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
            jit_compile: `True`, `False` or `"auto"`, as in `keras.Model.compile`.
            steps_per_execution: a positive integer, as in `keras.Model.compile`.
            run_eagerly: `True` or `False`, as in `keras.Model.compile`.
        """
        checks.check_compile_arguments(type(self).__name__, kwargs)
        check_choice("jit_compile", jit_compile, (True, False, "auto"))
        check_positive_int("steps_per_execution", steps_per_execution)
        check_bool("run_eagerly", run_eagerly)
        self.d_optimizer, self.g_optimizer = fitting.optimizers(self, d_optimizer, g_optimizer)
        self._compile_options = {
            "jit_compile": jit_compile,
            "steps_per_execution": steps_per_execution,
            "run_eagerly": run_eagerly,
        }
        # optimizer=None: without it Keras would attach an unused RMSprop as `model.optimizer`,
        # which callbacks (TensorBoard's learning-rate scalar, ReduceLROnPlateau) would then
        # read and change silently. `model.optimizer` is the pair of the two instead, which
        # ReduceLROnPlateau and LearningRateScheduler recognise (see `fitting`).
        super().compile(optimizer=None, **self._compile_options)
        self.optimizer = fitting.OptimizerPair(self.d_optimizer, self.g_optimizer)
        # Building the optimisers now creates their variables before `fit` traces the step
        # (and before a saved model's optimiser state is loaded into them).
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

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
        x, callbacks, kwargs = fitting.prepare_fit(self, x, y, callbacks, kwargs)
        history = super().fit(x, y, *args, callbacks=callbacks, **kwargs)
        if self.ema_decay is not None and self.ema_statistics == "recompute":
            self.recompute_ema_statistics(seed=self.seed)
        return history

    def recompute_ema_statistics(self, num_batches=50, batch_size=256, *, seed=None):
        """Measures the averaged generator's batch-norm moving statistics for its weights.

        Runs the averaged generator in training mode on `num_batches` batches of fresh noise
        and sets each moving mean and variance to the mean of the batches' means and
        variances (`kgan.models.ema.recompute_statistics`). `fit` calls it at the end when
        `ema_statistics="recompute"`.

        Args:
            num_batches: how many batches to average over.
            batch_size: the size of each batch.
            seed: integer seed of the noise (see `kgan.models.ema.statistics_batches`);
                `None` draws one from the model's noise generator.
        """
        ema.recompute_model_statistics(self, num_batches, batch_size, seed)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Overrides Keras' private hook (`kgan._keras_internals.SYMBOLIC_BUILD_HOOK`), which
        # fails under several workers and has nothing to build for kgan's models (see
        # `kgan.models.distribution`).
        if distribution.needs_symbolic_build(self.distribute_strategy):
            super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    # ------------------------------------------------------------------ inference

    def call(self, inputs, training=False):
        """Generates samples: `gan(z)` or `gan([z, labels])`, and so `predict` and
        `predict_on_batch`, return what `generate(z=z, labels=labels)` returns: the output of
        `inference_generator` (the averaged generator when `ema_decay` is set)."""
        return self.inference_generator(inputs, training=training)

    def generate(
        self,
        num_samples=None,
        *,
        z=None,
        labels=None,
        seed=None,
        batch_size=256,
        jacobian_truncation=None,
        verbose="auto",
    ):
        """Generates samples in inference mode (batch-norm moving statistics, no dropout).

        Args:
            num_samples: how many samples to draw (not needed when `z` is given).
            z: latent vectors of shape `(num_samples, latent_dim)`; drawn from the prior when
                `None`.
            labels: integer classes of a class-conditional model, one per sample (or one
                integer for all); when `None`, classes cycle 0, 1, ..., num_classes - 1.
            seed: integer seed of `z`: the same seed gives the same samples.
            batch_size: how many samples go through the generator at once; the result is
                filled batch by batch.
            jacobian_truncation: a share in (0, 1) of the generator's samples to leave out:
                those where the Jacobian dG/dz has the largest norm, the samples the generator
                stretches *between* modes (Tanielian et al. 2020; see
                `kgan.models.truncation`). Each sample is drawn again until its norm is below
                the `1 - share` quantile (per class for a conditional model), so labels are
                kept. The threshold comes from max(10,000, num_samples) prior samples, shared
                evenly between the classes. Costs one forward-mode generator pass per latent
                dimension per candidate, or 8 passes (random directions) above 8 latent
                dimensions. Not with `z`.
            verbose: progress, as in `predict`: `"auto"` (a bar when the work takes more than
                one batch), 0, 1 (a bar) or 2 (one line per stage); see `kgan.progress`.

        Returns:
            A NumPy float32 array of shape `(num_samples, *sample_shape)`, images in [-1, 1].

        Raises:
            ValueError: if `num_samples` exceeds `MAX_GENERATE_SAMPLES` (TensorFlow's int32
                sizes), or if the latent vectors and samples would not fit in this machine's
                memory: draw them in several calls with different seeds instead.
        """
        return generation.generate(
            self,
            num_samples,
            z=z,
            labels=labels,
            seed=seed,
            batch_size=batch_size,
            jacobian_truncation=jacobian_truncation,
            verbose=verbose,
        )

    # ------------------------------------------------------------------ train and test steps

    def _sample_z(self, batch_size):
        """This replica's latent vectors, from the prior (see `noise.replica_noise`)."""
        return noise.replica_latent(
            batch_size, self.latent_dim, self.latent_distribution, seed=noise.next_seed(self)
        )

    def _random(self, distribution, batch_size, inner_shape=(), **kwargs):
        """This replica's `"normal"` or `"uniform"` noise, drawn from the model's seed."""
        return noise.replica_noise(
            distribution, batch_size, inner_shape, seed=noise.next_seed(self), **kwargs
        )

    @staticmethod
    def _reduce(per_example_loss, network):
        """The loss to minimise (see `distribution.global_mean_loss`)."""
        return distribution.global_mean_loss(per_example_loss, network)

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

    def _penalty_values(self, real, fake, labels, real_scores, fake_scores, *, training=True):
        """The discriminator's penalty terms (`self._penalties`) of one update, or of one test
        step with `training=False`: a dict name -> weighted per-example values."""

        def critic(samples):
            if training:
                return self._discriminate(samples, labels)
            return self.discriminator(with_labels(samples, labels), training=False)

        def uniform(batch_size):
            if training:
                return self._random("uniform", batch_size)
            return self._held_out_noise.uniform(batch_size)

        inputs = penalties.PenaltyInputs(critic, real, fake, real_scores, uniform, fake_scores)
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

    def evaluate(self, *args, **kwargs):
        """`keras.Model.evaluate`: the losses and balance metrics on held-out data, without
        updating any weight, optimiser or the training noise (see each model's `test_step`).

        The generated half of each batch comes from noise of its own that restarts at every
        call, so the same weights and data give the same numbers. `fit(validation_data=...)`
        reports the same metrics with the prefix `val_`.
        """
        self._held_out_noise.reset()
        return super().evaluate(*args, **kwargs)

    def test_on_batch(self, *args, **kwargs):
        """`keras.Model.test_on_batch`, with the held-out noise of `evaluate`."""
        self._held_out_noise.reset()
        return super().test_on_batch(*args, **kwargs)

    def _held_out_z(self, batch_size):
        """Latent vectors of a test step, from the held-out noise."""
        return self._held_out_noise.latent(batch_size, self.latent_dim, self.latent_distribution)

    def _track_held_out(self, **values):
        """Adds one test step's values to the running means; returns the logs of `test_step`:
        the means of the metrics in `values` only. Training metrics that a test step does not
        measure (a penalty computed from the training gradients, say) are left out rather than
        reported as 0."""
        for name, value in values.items():
            self._trackers[name].update_state(value)
        logs = {name: self._trackers[name].result() for name in values}
        return distribution.step_logs(logs)

    # ------------------------------------------------------------------ config and saving

    def get_config(self):
        return saving.base_config(self)

    @classmethod
    def from_config(cls, config):
        return cls(**saving.deserialize_networks(config))

    def get_compile_config(self):
        return saving.compile_config(self)

    def compile_from_config(self, config):
        self.compile(**saving.deserialize_optimizers(config))

    def save_own_variables(self, store):
        saving.save_state(self, store)

    def load_own_variables(self, store):
        saving.load_state(self, store)

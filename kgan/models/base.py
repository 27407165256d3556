"""`AdversarialModel`: the `keras.Model` that `GAN`, `WGAN` and `WGANGP` extend.

It holds a generator and a discriminator and owns what does not depend on the loss: the two
optimisers' `compile`, `fit` with its first-batch checks, `generate`, the config and the
saving of the noise state. Subclasses write `train_step` with the protected helpers of
`step.TrainStepHelpers` (`_sample_z`, `_reduce`, `_apply_gradients`...). The checks are in
`checks.py`, the noise in `noise.py`, the generator's moving average in `ema.py`.
"""

import keras
import numpy as np
import tensorflow as tf

from kgan import penalties
from kgan._keras_internals import flatten_layers
from kgan._validation import (
    check_bool,
    check_choice,
    check_positive_int,
    check_range,
    check_seed,
)
from kgan.augment import check_augment
from kgan.data import order as data_order
from kgan.data.pipeline import without_autotune_thread
from kgan.models import (
    callback_support,
    checks,
    distribution,
    ema,
    held_out,
    noise,
    truncation,
)
from kgan.models.divergence import NonFiniteGuard, TrainingDivergedError
from kgan.models.generation import MAX_GENERATE_SAMPLES, check_generate_size
from kgan.models.inputs import with_labels
from kgan.models.noise import LATENT_DISTRIBUTIONS, sample_latent
from kgan.models.step import TrainStepHelpers
from kgan.progress import Progress

# Export and evaluation import these from here, next to `AdversarialModel`.
__all__ = [
    "LATENT_DISTRIBUTIONS",
    "MAX_GENERATE_SAMPLES",
    "AdversarialModel",
    "TrainingDivergedError",
    "sample_latent",
]

_SEED_STATE_KEY = "seed_generator_state"


class AdversarialModel(held_out.HeldOutEvaluation, TrainStepHelpers, keras.Model):
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
        ema_statistics="average",
        ema_warmup=True,
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
        augment = check_augment(augment, sample_shape)
        penalties.check_penalties(r1_weight, r2_weight, penalty_interval)
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
        self.ema_statistics = ema_statistics
        self.ema_warmup = bool(ema_warmup)
        # The discriminator's penalty terms; subclasses add theirs before making trackers.
        self._penalties = penalties.zero_centred_terms(r1_weight, r2_weight)

        # === State ===
        self.generator = generator
        self.discriminator = discriminator
        self.seed_generator = keras.random.SeedGenerator(seed, name="noise_seed")
        self._held_out_noise = held_out.HeldOutNoise(seed)
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
        self.d_optimizer = _with_loss_scaling(d_optimizer, self.discriminator)
        self.g_optimizer = _with_loss_scaling(g_optimizer, self.generator)
        self._compile_options = {
            "jit_compile": jit_compile,
            "steps_per_execution": steps_per_execution,
            "run_eagerly": run_eagerly,
        }
        # optimizer=None: without it Keras would attach an unused RMSprop as `model.optimizer`,
        # which callbacks (TensorBoard's learning-rate scalar, ReduceLROnPlateau) would then
        # read and change silently. `model.optimizer` is the pair of the two instead, which
        # ReduceLROnPlateau and LearningRateScheduler recognise (see `callback_support`).
        super().compile(optimizer=None, **self._compile_options)
        self.optimizer = callback_support.OptimizerPair(self.d_optimizer, self.g_optimizer)
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
        callback_support.resolve_auto_modes(callbacks)
        if data_order.epoch_order_of(x) is not None:
            # Epoch e of a seeded kgan dataset gets the same order when a run is resumed.
            callbacks.append(data_order.EpochOrderSync(data_order.epoch_order_of(x)))
        if self.terminate_on_nan:
            callbacks.append(NonFiniteGuard())
        # No wait for tf.data's autotuning thread when fit destroys its iterators.
        if isinstance(x, tf.data.Dataset):
            x = without_autotune_thread(x)
        if isinstance(kwargs.get("validation_data"), tf.data.Dataset):
            kwargs["validation_data"] = without_autotune_thread(kwargs["validation_data"])
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
        if self.ema_decay is None:
            raise ValueError(
                "The model keeps no moving average of the generator, so there are no averaged "
                "statistics to recompute; pass `ema_decay` to the model. Received: ema_decay=None"
            )
        if seed is None:
            seed = int(keras.random.randint((), 0, 2**31 - 1, seed=self.seed_generator))
        batches = ema.statistics_batches(
            num_batches,
            batch_size,
            self.latent_dim,
            self.num_classes,
            self.latent_distribution,
            seed,
        )
        ema.recompute_statistics(self.inference_generator, batches)

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
        check_positive_int("batch_size", batch_size)
        if jacobian_truncation is not None:
            checks.truncation_share(jacobian_truncation, z)
        if z is None:
            check_positive_int("num_samples", num_samples)
            check_generate_size(num_samples, self.latent_dim, self.sample_shape)
            check_seed(seed)
        else:
            z = checks.latent_vectors(z, self.latent_dim, num_samples)
            check_generate_size(z.shape[0], 0, self.sample_shape)
        count = num_samples if z is None else z.shape[0]
        labels = checks.generation_labels(labels, count, self.num_classes)
        if jacobian_truncation is not None:
            z = truncation.truncated_generate(
                self.inference_generator,
                self,
                labels,
                count=count,
                share=jacobian_truncation,
                seed=seed,
                batch_size=batch_size,
                verbose=verbose,
            )
        elif z is None:
            z = sample_latent(
                num_samples, self.latent_dim, seed=seed, distribution=self.latent_distribution
            ).numpy()
        # Filled in place: concatenating per-batch results would need twice the memory.
        output = np.empty((count, *self.sample_shape), "float32")
        shown = Progress(f"Generating {count:,} samples", count, verbose=verbose)
        for start in range(0, count, batch_size):
            batch_labels = None if labels is None else labels[start : start + batch_size]
            inputs = with_labels(z[start : start + batch_size], batch_labels)
            samples = self.inference_generator(inputs, training=False)
            output[start : start + batch_size] = keras.ops.convert_to_numpy(samples)
            shown.add(len(samples))
        return output

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
            "augment": self.augment,
            "r1_weight": self.r1_weight,
            "r2_weight": self.r2_weight,
            "penalty_interval": self.penalty_interval,
            "ema_statistics": self.ema_statistics,
            "ema_warmup": self.ema_warmup,
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
        for name, variable in self._state_variables.items():
            store[name] = variable
        # The networks' own random layers (dropout...) keep their noise state in seed
        # generators that Keras does not save either; without them a resumed run would replay
        # their first masks (see `_network_seed_states`).
        for index, state in enumerate(self._network_seed_states()):
            store[f"{_SEED_STATE_KEY}_{index}"] = state

    def load_own_variables(self, store):
        # Files saved by earlier kgan versions also number a copy of the averaged weights
        # here; the averaged generator's own entry (`inference_generator/`) restores the same
        # values, so they are skipped. They hold no network seed states either.
        if _SEED_STATE_KEY in store:
            self.seed_generator.state.assign(store[_SEED_STATE_KEY])
        for name, variable in self._state_variables.items():
            if name in store:
                variable.assign(store[name])
        if "generator_steps" not in store:
            # Files saved before the model counted its steps: -1 tells the next train step to
            # take the count from the generator's optimiser (see `_update_ema`).
            self.generator_steps.assign(-1)
        for index, state in enumerate(self._network_seed_states()):
            if f"{_SEED_STATE_KEY}_{index}" in store:
                state.assign(store[f"{_SEED_STATE_KEY}_{index}"])

    def _network_seed_states(self):
        """The noise states of the networks' own random layers, in a fixed order."""
        return noise.seed_states(self.generator, self.discriminator, self.inference_generator)


def _with_loss_scaling(optimizer, network):
    """Wraps `optimizer` in a `LossScaleOptimizer` when `network` computes in float16 (built
    under `mixed_float16`, wherever `compile` is called) or the global policy is
    `mixed_float16`."""
    float16 = keras.mixed_precision.global_policy().name == "mixed_float16" or any(
        layer.dtype_policy.compute_dtype == "float16" for layer in flatten_layers(network)
    )
    if not float16:
        return optimizer
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    # float16 gradients underflow without loss scaling.
    return keras.optimizers.LossScaleOptimizer(optimizer)

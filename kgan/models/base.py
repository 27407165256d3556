"""The machinery shared by `GAN`, `WGAN` and `WGANGP`.

`AdversarialModel` is a `keras.Model` that holds a generator and a discriminator and trains them
with its own `train_step`. It owns what does not depend on the loss: checking the networks and
the data, sampling noise (the same under `tf.distribute` as on one device), reducing losses by
the global batch size, the optimisers' `compile`, `generate`, an optional exponential moving
average of the generator's weights, serialisation, and stopping on a non-finite loss.
"""

import math
import numbers
import weakref

import keras
import numpy as np
import tensorflow as tf

from kgan._validation import check_choice, check_positive_int, check_range

_LATENT_DISTRIBUTIONS = ("normal", "uniform")


class TrainingDivergedError(RuntimeError):
    """Raised by `fit` when a tracked loss or metric becomes NaN or infinite."""


def sample_latent(num_samples, latent_dim, *, seed=None, distribution="normal"):
    """Draws latent vectors: N(0, I), or U(-1, 1) per coordinate.

    With an integer `seed` the draw is a pure function of `(seed, num_samples, latent_dim)`, so
    the same seed gives the same vectors in `GAN.generate` and in an exported model's `generate`
    signature (both call this function).

    Returns:
        A float32 tensor of shape `(num_samples, latent_dim)`.
    """
    check_choice("distribution", distribution, _LATENT_DISTRIBUTIONS)
    shape = tf.stack([tf.cast(num_samples, tf.int32), tf.constant(latent_dim, tf.int32)])
    if seed is None:
        seed = tf.random.uniform([], 0, 2**31 - 1, dtype=tf.int64)
    seed_pair = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
    if distribution == "normal":
        return tf.random.stateless_normal(shape, seed=seed_pair)
    return tf.random.stateless_uniform(shape, seed=seed_pair, minval=-1.0, maxval=1.0)


def _static_shape(tensor_spec_or_tensor):
    shape = getattr(tensor_spec_or_tensor, "shape", None)
    return None if shape is None else tuple(shape)


def _format_shape(shape):
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + ")"


class _NonFiniteGuard(keras.callbacks.Callback):
    """Stops `fit` with a `TrainingDivergedError` naming the step where a loss became non-finite."""

    def __init__(self):
        super().__init__()
        self._epoch = 0
        self._steps_done = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._steps_done += 1
        for name, value in (logs or {}).items():
            try:
                value = float(value)
            except (TypeError, ValueError):
                continue
            if not math.isfinite(value):
                self.model.stop_training = True
                raise TrainingDivergedError(
                    f"Training diverged: `{name}` became {value} at epoch {self._epoch + 1}, "
                    f"step {batch + 1} (step {self._steps_done} of this fit() call). "
                    "The weights now hold non-finite values; restore them from your last "
                    "checkpoint. Lowering the learning rates, using the WGAN-GP loss or "
                    "checking the data for NaN usually helps. Metrics at that step: "
                    + ", ".join(f"{k}={float(v):.4g}" for k, v in logs.items())
                )


# Clones of generators that hold the averaged (EMA) weights, built on first use. Kept outside
# the model so that Keras' saving, which walks the model's attributes, does not store them.
_AVERAGED_GENERATORS = weakref.WeakKeyDictionary()


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
        for arg, model in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(model, keras.layers.Layer):
                raise TypeError(
                    f"`{arg}` must be a keras.Model. Received: {arg}={model!r} "
                    f"of type {type(model).__name__}"
                )
        check_positive_int("num_classes", num_classes, allow_none=True)
        if num_classes is not None and num_classes < 2:
            raise ValueError(
                f"`num_classes` must be at least 2 for a class-conditional model. "
                f"Received: num_classes={num_classes}"
            )
        check_positive_int("latent_dim", latent_dim, allow_none=True)
        check_choice("latent_distribution", latent_distribution, _LATENT_DISTRIBUTIONS)
        if ema_decay is not None:
            check_range("ema_decay", ema_decay, 0.0, 1.0, include_high=False)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise ValueError(f"`seed` must be an integer or None. Received: seed={seed!r}")

        super().__init__(**kwargs)

        # === Networks ===
        self.generator = generator
        self.discriminator = discriminator
        self.num_classes = num_classes
        self.latent_dim = self._resolve_latent_dim(latent_dim)
        self.sample_shape = self._check_networks()
        self.latent_distribution = latent_distribution
        self.ema_decay = ema_decay
        self.seed = seed
        self.terminate_on_nan = terminate_on_nan
        self.check_inputs = check_inputs
        self.seed_generator = keras.random.SeedGenerator(seed, name="noise_seed")
        self.d_optimizer = None
        self.g_optimizer = None

        # The averaged weights are variables of this model, so they are saved with it, and
        # are written by the first replica only (every replica computes the same value).
        self.ema_weights = None
        if ema_decay is not None:
            self.ema_weights = [
                self.add_weight(
                    shape=tuple(v.shape),
                    dtype=v.dtype,
                    initializer="zeros",
                    trainable=False,
                    aggregation="only_first_replica",
                    name=f"ema_{i}",
                )
                for i, v in enumerate(self.generator.weights)
            ]
            for average, weight in zip(self.ema_weights, self.generator.weights):
                average.assign(weight)
        self.built = True

    # ------------------------------------------------------------------ checks

    def _resolve_latent_dim(self, latent_dim):
        inputs = getattr(self.generator, "inputs", None)
        inferred = None
        if inputs:
            if self.num_classes is not None and len(inputs) != 2:
                raise ValueError(
                    "A class-conditional generator takes two inputs, `[z, labels]`. "
                    f"Received: generator with {len(inputs)} input(s) and "
                    f"num_classes={self.num_classes}"
                )
            if self.num_classes is None and len(inputs) != 1:
                raise ValueError(
                    f"The generator takes {len(inputs)} inputs; an unconditional generator takes "
                    "one, `z`. Pass `num_classes` for a class-conditional generator. "
                    f"Received: num_classes={self.num_classes}"
                )
            inferred = inputs[0].shape[-1]
        if latent_dim is None:
            if inferred is None:
                raise ValueError(
                    "`latent_dim` could not be read from the generator (it has no static input "
                    "shape); pass it explicitly. Received: latent_dim=None"
                )
            return int(inferred)
        if inferred is not None and int(inferred) != latent_dim:
            raise ValueError(
                f"`latent_dim` does not match the generator, whose input `z` has size "
                f"{inferred}. Received: latent_dim={latent_dim}"
            )
        return int(latent_dim)

    def _check_networks(self):
        """Runs both networks once on two examples to check that their shapes agree."""
        z = tf.zeros((2, self.latent_dim), "float32")
        labels = tf.zeros((2,), "int32")
        try:
            samples = self.generator(self._generator_inputs(z, labels), training=False)
        except Exception as error:
            raise ValueError(
                f"The generator could not be called on a batch of latent vectors of shape "
                f"(2, {self.latent_dim})"
                + (f" with labels (num_classes={self.num_classes})" if self.num_classes else "")
                + f": {_short(error, 300)}. Received: latent_dim={self.latent_dim}"
            ) from error
        sample_shape = tuple(samples.shape[1:])
        expected = None
        if getattr(self.discriminator, "inputs", None):
            expected = tuple(self.discriminator.inputs[0].shape[1:])
        if (
            expected is not None
            and any(e is not None and e != s for e, s in zip(expected, sample_shape))
            or (expected is not None and len(expected) != len(sample_shape))
        ):
            raise ValueError(
                "The generator's output shape does not match the discriminator's input shape "
                f"{_format_shape(expected)}. Received: generator output shape "
                f"{_format_shape(sample_shape)}"
            )
        try:
            scores = self.discriminator(self._discriminator_inputs(samples, labels), training=False)
        except Exception as error:
            raise ValueError(
                "The discriminator could not be called on the generator's output of shape "
                f"{_format_shape(sample_shape)}: {_short(error, 300)}"
            ) from error
        if len(scores.shape) != 2 or scores.shape[0] != 2 or scores.shape[1] != 1:
            raise ValueError(
                "The discriminator must return one logit per example, shape (batch, 1). "
                f"Received: discriminator output shape {_format_shape(scores.shape)}"
            )
        return sample_shape

    # ------------------------------------------------------------------ compile

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
        for unsupported in ("loss", "optimizer", "metrics", "loss_weights", "weighted_metrics"):
            if unsupported in kwargs:
                raise ValueError(
                    f"{type(self).__name__} computes its own losses and metrics and has two "
                    f"optimisers; use `d_optimizer=` and `g_optimizer=` (and the model's "
                    f"constructor arguments for the loss). Received: {unsupported}="
                    f"{kwargs[unsupported]!r}"
                )
        if kwargs:
            raise TypeError(f"Unexpected arguments to compile(): {sorted(kwargs)}")
        default_d, default_g = self.default_optimizers()
        d_optimizer = default_d if d_optimizer is None else keras.optimizers.get(d_optimizer)
        g_optimizer = default_g if g_optimizer is None else keras.optimizers.get(g_optimizer)
        if d_optimizer is g_optimizer:
            raise ValueError(
                "`d_optimizer` and `g_optimizer` must be two different optimiser objects: each "
                "keeps its own state. Received: the same object for both"
            )
        if keras.mixed_precision.global_policy().name == "mixed_float16":
            # float16 gradients underflow without loss scaling.
            if not isinstance(d_optimizer, keras.optimizers.LossScaleOptimizer):
                d_optimizer = keras.optimizers.LossScaleOptimizer(d_optimizer)
            if not isinstance(g_optimizer, keras.optimizers.LossScaleOptimizer):
                g_optimizer = keras.optimizers.LossScaleOptimizer(g_optimizer)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        # optimizer=None: without it Keras would attach an unused RMSprop as `model.optimizer`,
        # which callbacks (TensorBoard's learning-rate scalar, ReduceLROnPlateau) would then
        # read and change silently. Schedules belong in `d_optimizer` / `g_optimizer`.
        super().compile(
            optimizer=None,
            jit_compile=jit_compile,
            steps_per_execution=steps_per_execution,
            run_eagerly=run_eagerly,
        )
        # Keras adds a `loss` tracker on every compile; kgan reports d_loss and g_loss instead,
        # so a `loss: 0.0000` entry would only mislead.
        self._loss_tracker = None
        self._kgan_compile_config = {
            "jit_compile": jit_compile,
            "steps_per_execution": steps_per_execution,
            "run_eagerly": run_eagerly,
        }
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
            **self._kgan_compile_config,
        }

    def compile_from_config(self, config):
        config = dict(config)
        config["d_optimizer"] = keras.saving.deserialize_keras_object(config["d_optimizer"])
        config["g_optimizer"] = keras.saving.deserialize_keras_object(config["g_optimizer"])
        self.compile(**config)

    # ------------------------------------------------------------------ fit

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
            self._check_training_data(x, y, kwargs.get("batch_size"))
        if isinstance(x, tf.data.Dataset):
            # A dataset carries its own shuffling; Keras' default shuffle=True would only warn.
            kwargs.setdefault("shuffle", False)
        callbacks = list(callbacks or [])
        if self.terminate_on_nan:
            callbacks.append(_NonFiniteGuard())
        return super().fit(x, y, *args, callbacks=callbacks, **kwargs)

    def _first_batch(self, x, y, batch_size):
        if isinstance(x, tf.data.Dataset):
            element = next(iter(x.take(1)), None)
            if element is None:
                raise ValueError("The training dataset is empty. Received: x=" + repr(x))
            if isinstance(element, dict):
                return None, None, True
            if isinstance(element, (tuple, list)):
                samples = element[0]
                labels = element[1] if len(element) > 1 else None
            else:
                samples, labels = element, None
            return np.asarray(samples), None if labels is None else np.asarray(labels), True
        if isinstance(x, (np.ndarray, tf.Tensor)) or hasattr(x, "__array__"):
            return np.asarray(x), None if y is None else np.asarray(y), False
        return None, None, True

    def _check_training_data(self, x, y, batch_size):
        samples, labels, batched = self._first_batch(x, y, batch_size)
        if samples is None:
            return  # A generator, PyDataset or distributed dataset: nothing cheap to inspect.
        sample_shape = tuple(self.sample_shape)
        if batched and tuple(samples.shape) == sample_shape:
            raise ValueError(
                "The dataset yields single examples, not batches: call `dataset.batch(...)` "
                f"first. Received: elements of shape {_format_shape(samples.shape)}"
            )
        if len(samples.shape) != len(sample_shape) + 1 or any(
            e is not None and e != s for e, s in zip(sample_shape, samples.shape[1:])
        ):
            raise ValueError(
                "The training samples do not match the generator's output shape "
                f"{_format_shape((None,) + sample_shape)}. Received: samples of shape "
                f"{_format_shape(samples.shape)}"
            )
        if len(sample_shape) == 3 and samples.size:
            low, high = float(np.min(samples)), float(np.max(samples))
            if not (np.isfinite(low) and np.isfinite(high)):
                raise ValueError("The training images contain NaN or infinite values.")
            # A little slack for float round-off of a (x / 127.5 - 1) conversion.
            if low < -1.0 - 1e-3 or high > 1.0 + 1e-3:
                hint = " (raw 0..255 pixels?)" if high > 2 else ""
                raise ValueError(
                    "Training images must be scaled to [-1, 1] to match the generator's tanh "
                    f"output, for example with `images / 127.5 - 1`{hint}. Received: images with "
                    f"values in [{low:g}, {high:g}]"
                )
        if self.num_classes is None:
            if labels is not None:
                raise ValueError(
                    "The training data has labels but the model is unconditional. Pass "
                    "`num_classes=` to the model for class-conditional training, or drop the "
                    "labels (`dataset.map(lambda x, y: x)`). Received: labels of shape "
                    f"{_format_shape(labels.shape)} with num_classes=None"
                )
            return
        if labels is None:
            raise ValueError(
                f"A class-conditional model (num_classes={self.num_classes}) trains on "
                "`(images, labels)` batches. Received: samples without labels"
            )
        labels = self._labels_to_numpy(labels)
        if labels.shape[0] != samples.shape[0]:
            raise ValueError(
                f"There must be one label per sample. Received: {samples.shape[0]} samples and "
                f"{labels.shape[0]} labels"
            )
        _check_label_values(labels, self.num_classes)

    def _labels_to_numpy(self, labels):
        labels = np.asarray(labels)
        if labels.ndim == 2 and labels.shape[1] == self.num_classes and self.num_classes > 1:
            return labels.argmax(axis=1)
        if labels.ndim == 2 and labels.shape[1] == 1:
            return labels[:, 0]
        if labels.ndim != 1:
            raise ValueError(
                "Labels must be integers of shape (batch,) or one-hot rows of shape "
                f"(batch, {self.num_classes}). Received: labels of shape "
                f"{_format_shape(labels.shape)}"
            )
        return labels

    # ------------------------------------------------------------------ train-step helpers

    def _unpack(self, data):
        samples, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        if self.num_classes is None:
            return samples, None
        labels = tf.convert_to_tensor(labels)
        if labels.shape.rank == 2 and labels.shape[-1] == self.num_classes:
            labels = tf.argmax(labels, axis=-1)
        elif labels.shape.rank == 2:
            labels = tf.squeeze(labels, axis=-1)
        return samples, tf.cast(labels, "int32")

    def _generator_inputs(self, z, labels):
        return z if self.num_classes is None else [z, labels]

    def _discriminator_inputs(self, samples, labels):
        return samples if self.num_classes is None else [samples, labels]

    def _random(self, kind, local_batch, inner_shape=(), **kwargs):
        """Draws random values for this replica's slice of the global batch.

        Every replica draws the values of the whole global batch from the same seed and keeps
        its own slice. Replicas thus get different noise, and a run on N devices sees exactly
        the noise of a run on one device with the same global batch.
        """
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync if context is not None else 1
        draw = keras.random.normal if kind == "normal" else keras.random.uniform
        if replicas == 1:
            return draw((local_batch, *inner_shape), seed=self.seed_generator, **kwargs)
        values = draw((local_batch * replicas, *inner_shape), seed=self.seed_generator, **kwargs)
        start = tf.cast(context.replica_id_in_sync_group, tf.int32) * local_batch
        return values[start : start + local_batch]

    def _sample_z(self, batch_size):
        if self.latent_distribution == "normal":
            return self._random("normal", batch_size, (self.latent_dim,))
        return self._random("uniform", batch_size, (self.latent_dim,), minval=-1.0, maxval=1.0)

    @staticmethod
    def _reduce(per_example_loss):
        """Sums the per-example losses and divides by the *global* batch size.

        The optimisers sum gradients over replicas, so this gives the gradient of the mean
        loss over the global batch, whatever the number of replicas.
        """
        return tf.nn.compute_average_loss(per_example_loss)

    def _regularization(self, model):
        if not model.losses:
            return 0.0
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync if context is not None else 1
        return tf.add_n([tf.cast(loss, tf.float32) for loss in model.losses]) / replicas

    def _apply(self, optimizer, loss, tape, variables):
        gradients = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(gradients, variables))

    def _update_ema(self):
        if self.ema_weights is None:
            return
        decay = tf.constant(self.ema_decay, tf.float32)
        trainable = {id(v) for v in self.generator.trainable_weights}
        for average, weight in zip(self.ema_weights, self.generator.weights):
            if id(weight) in trainable:
                average.assign(decay * average + (1.0 - decay) * tf.cast(weight, average.dtype))
            else:
                # Batch-norm moving statistics are copied, not averaged: they already are
                # running averages of the current generator's activations.
                average.assign(weight)

    def _track(self, **values):
        for name, value in values.items():
            self._trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self._trackers.items()}

    def _make_trackers(self, names):
        self._trackers = {name: keras.metrics.Mean(name=name) for name in names}

    @property
    def metrics(self):
        # Listing the trackers here lets Keras reset them at the start of every epoch.
        return list(self._trackers.values())

    # ------------------------------------------------------------------ saving

    _SEED_STATE_KEY = "seed_generator_state"

    def save_own_variables(self, store):
        super().save_own_variables(store)
        # Keras does not save a SeedGenerator's state with the model; without it a reloaded
        # model would replay the noise of its first training steps.
        store[self._SEED_STATE_KEY] = self.seed_generator.state

    def load_own_variables(self, store):
        own_variables = self._trainable_variables + self._non_trainable_variables
        for index, variable in enumerate(own_variables):
            variable.assign(store[f"{index}"])
        if self._SEED_STATE_KEY in store:
            self.seed_generator.state.assign(store[self._SEED_STATE_KEY])

    # ------------------------------------------------------------------ inference

    def call(self, inputs, training=False):
        """Runs the generator: `gan(z)` or `gan([z, labels])` returns samples."""
        return self.generator(inputs, training=training)

    @property
    def inference_generator(self):
        """The generator used by `generate` and export: the averaged one when `ema_decay` is set."""
        if self.ema_weights is None:
            return self.generator
        clone = _AVERAGED_GENERATORS.get(self)
        if clone is None:
            clone = keras.models.clone_model(self.generator)
            _AVERAGED_GENERATORS[self] = clone
        clone.set_weights([keras.ops.convert_to_numpy(w) for w in self.ema_weights])
        return clone

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
            if seed is not None and (
                isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
            ):
                raise ValueError(f"`seed` must be an integer or None. Received: seed={seed!r}")
            z = sample_latent(
                num_samples, self.latent_dim, seed=seed, distribution=self.latent_distribution
            ).numpy()
        else:
            z = np.asarray(z, dtype="float32")
            if z.ndim != 2 or z.shape[1] != self.latent_dim:
                raise ValueError(
                    f"`z` must have shape (num_samples, {self.latent_dim}). "
                    f"Received: z of shape {_format_shape(z.shape)}"
                )
            if num_samples is not None and num_samples != z.shape[0]:
                raise ValueError(
                    f"`num_samples` does not match the {z.shape[0]} rows of `z`. "
                    f"Received: num_samples={num_samples}"
                )
        count = z.shape[0]
        labels = self._generation_labels(labels, count)
        generator = self.inference_generator
        outputs = []
        for start in range(0, count, batch_size):
            stop = min(start + batch_size, count)
            batch_labels = None if labels is None else labels[start:stop]
            inputs = self._generator_inputs(z[start:stop], batch_labels)
            outputs.append(keras.ops.convert_to_numpy(generator(inputs, training=False)))
        if not outputs:
            return np.zeros((0, *self.sample_shape), "float32")
        return np.concatenate(outputs).astype("float32")

    def _generation_labels(self, labels, count):
        if self.num_classes is None:
            if labels is not None:
                raise ValueError(
                    "`labels` were given but the model is unconditional. "
                    f"Received: labels={_short(labels)} with num_classes=None"
                )
            return None
        if labels is None:
            return (np.arange(count) % self.num_classes).astype("int32")
        labels = np.asarray(labels)
        if labels.ndim == 0:
            labels = np.full((count,), int(labels))
        labels = self._labels_to_numpy(labels)
        if labels.shape[0] != count:
            raise ValueError(
                f"There must be one label per sample ({count}). Received: {labels.shape[0]} labels"
            )
        _check_label_values(labels, self.num_classes)
        return labels.astype("int32")

    # ------------------------------------------------------------------ config

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


def _short(value, limit=80):
    text = str(value) if isinstance(value, Exception) else repr(value)
    return text if len(text) < limit else text[: limit - 3] + "..."


def _check_label_values(labels, num_classes):
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.all(np.equal(np.mod(labels, 1), 0)):
            raise ValueError(
                f"Labels must be integer classes in [0, {num_classes}). "
                f"Received: labels of dtype {labels.dtype} with values like {labels[:5].tolist()}"
            )
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)]
        raise ValueError(
            f"Labels must be in [0, {num_classes}) for num_classes={num_classes}. "
            f"Received: label {int(bad[0])}"
        )

"""What `AdversarialModel.compile` and `fit` hand to Keras' training loop.

* Loss scaling: a float16 network's optimiser is wrapped in a `LossScaleOptimizer`
  (`with_loss_scaling`).
How kgan's two-optimiser models meet Keras' own callbacks.

* `ReduceLROnPlateau` and `LearningRateScheduler` change `model.optimizer`. A kgan model has
  two optimisers, so its `model.optimizer` is an `OptimizerPair`: Keras' callbacks recognise
  its `optimizers` list and change each optimiser's learning rate (ReduceLROnPlateau multiplies
  both by its `factor`, keeping their ratio).
* `ModelCheckpoint`, `EarlyStopping` and `ReduceLROnPlateau` with `mode="auto"` (their default)
  know the direction of `loss` and of compiled metrics only; for any other name Keras raises
  "isn't able to automatically determine whether that metric should be maximized or
  minimized". `fit` therefore sets `mode="min"` on those that monitor one of kgan's losses or
  distances (`LOWER_IS_BETTER`, with or without `val_`), as the user would.
* A loss that becomes NaN or infinite stops `fit` with a `TrainingDivergedError`
  (`NonFiniteGuard`).
"""

import math

import keras
import tensorflow as tf

from kgan._keras_internals import flatten_layers
from kgan._validation import short
from kgan.data import order as data_order
from kgan.data.pipeline import without_autotune_thread
from kgan.models import checks

# The logs of kgan's models and callbacks for which lower is better: the two losses, and the
# Frechet and kernel Inception distances of `kgan.callbacks.EvaluationCallback`.
LOWER_IS_BETTER = ("d_loss", "g_loss", "fid", "kid")


class OptimizerPair:
    """`model.optimizer` of a kgan model: the discriminator's and the generator's optimisers.

    Not a Keras optimiser: kgan's train steps use `d_optimizer` and `g_optimizer` directly.
    This only lets Keras' callbacks (and `model.get_state_tree`) reach both.

    Attributes:
        optimizers: `[d_optimizer, g_optimizer]`.
    """

    built = True

    def __init__(self, d_optimizer, g_optimizer):
        self.optimizers = [d_optimizer, g_optimizer]

    def build(self, variables=None):
        """Nothing to build: `compile` builds each optimiser on its own network."""

    @property
    def iterations(self):
        """Train steps taken: the generator's optimiser updates once per step."""
        return self.optimizers[1].iterations

    @property
    def variables(self):
        return [v for optimizer in self.optimizers for v in optimizer.variables]

    def __repr__(self):
        names = ", ".join(optimizer.name for optimizer in self.optimizers)
        return f"<OptimizerPair {names}>"


def resolve_auto_modes(callbacks):
    """Sets `mode="min"` on the `mode="auto"` callbacks that monitor a `LOWER_IS_BETTER` name.

    Callbacks that monitor other names, or whose mode is set, are left as they are.
    """
    for callback in callbacks:
        monitor = getattr(callback, "monitor", None)
        if getattr(callback, "mode", None) != "auto" or not isinstance(monitor, str):
            continue
        if getattr(callback, "monitor_op", None) is not None:
            continue  # Already resolved by Keras (a callback reused across `fit` calls).
        if monitor.removeprefix("val_") in LOWER_IS_BETTER:
            callback.mode = "min"


class TrainingDivergedError(RuntimeError):
    """Raised by `fit` when a tracked loss or metric becomes NaN or infinite."""


def first_non_finite(logs):
    """The first `(name, value)` of `logs` whose value is NaN or infinite, else `None`.

    Entries that are not numbers are skipped.
    """
    for name, value in (logs or {}).items():
        try:
            value = float(value)
        except (TypeError, ValueError):
            continue
        if not math.isfinite(value):
            return name, value
    return None


class NonFiniteGuard(keras.callbacks.Callback):
    """Stops `fit` with a `TrainingDivergedError` naming the step where a loss became non-finite.

    `AdversarialModel.fit` adds it when the model's `terminate_on_nan` is set.
    """

    def __init__(self):
        super().__init__()
        self._epoch = 0
        self._steps_done = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._steps_done += 1
        found = first_non_finite(logs)
        if found is None:
            return
        name, value = found
        self.model.stop_training = True
        raise TrainingDivergedError(
            f"Training diverged: `{name}` became {value} at epoch {self._epoch + 1}, "
            f"step {batch + 1} (step {self._steps_done} of this fit() call). "
            "The weights now hold non-finite values; restore them from your last "
            "checkpoint. Lowering the learning rates, using the WGAN-GP loss or "
            "checking the data for NaN usually helps. Metrics at that step: "
            + ", ".join(f"{k}={float(v):.4g}" for k, v in logs.items())
        )


def with_loss_scaling(optimizer, network):
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


def get_optimizer(name, identifier):
    """`keras.optimizers.get(identifier)`, with errors that name the argument `name`."""
    # Before `get`, which lower-cases a config dict's class name in place.
    received = f"Received: {name}={short(repr(identifier))}"
    if not isinstance(identifier, (keras.optimizers.Optimizer, str, dict)):
        raise TypeError(
            f"`{name}` must be a keras.optimizers.Optimizer, an optimiser's name or a config "
            f"dict. {received} of type {type(identifier).__name__}"
        )
    try:
        return keras.optimizers.get(identifier)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(
            f"`{name}` could not be made into a Keras optimiser ({short(error)}): pass a "
            "keras.optimizers.Optimizer, an optimiser's name such as 'adam', or a config "
            f"dict. {received}"
        ) from error


def optimizers(model, d_optimizer, g_optimizer):
    """The `(d_optimizer, g_optimizer)` of `model.compile`: the model's published defaults
    where `None`, with loss scaling for float16 networks."""
    default_d, default_g = model.default_optimizers()
    d_optimizer = default_d if d_optimizer is None else get_optimizer("d_optimizer", d_optimizer)
    g_optimizer = default_g if g_optimizer is None else get_optimizer("g_optimizer", g_optimizer)
    if d_optimizer is g_optimizer:
        raise ValueError(
            "`d_optimizer` and `g_optimizer` must be two different optimiser objects: each "
            "keeps its own state. Received: the same object for both"
        )
    return (
        with_loss_scaling(d_optimizer, model.discriminator),
        with_loss_scaling(g_optimizer, model.generator),
    )


def prepare_fit(model, x, y, callbacks, kwargs):
    """`(x, callbacks, kwargs)` for Keras' `fit`: the first batch checked (with
    `check_inputs`), kgan's callbacks added, and no wait for tf.data's autotuning thread."""
    if x is None:
        raise ValueError(
            "`fit` needs training data: a `tf.data.Dataset` of batches or an array of samples "
            "as `x`. Received: x=None"
        )
    if model.check_inputs:
        samples, labels, batched = checks.first_batch(x, y)
        # `samples` is None for a generator, a PyDataset or a distributed dataset.
        if samples is not None:
            checks.check_training_samples(samples, model.sample_shape, batched=batched)
            checks.check_training_labels(labels, samples.shape[0], model.num_classes)
            checks.check_packing(
                model.discriminator,
                samples,
                batched=batched,
                fit_kwargs=kwargs,
                replicas=model.distribute_strategy.num_replicas_in_sync,
            )
    if isinstance(x, tf.data.Dataset):
        # A dataset carries its own shuffling; Keras' default shuffle=True would only warn.
        kwargs.setdefault("shuffle", False)
    callbacks = list(callbacks or [])
    resolve_auto_modes(callbacks)
    if data_order.epoch_order_of(x) is not None:
        # Epoch e of a seeded kgan dataset gets the same order when a run is resumed.
        callbacks.append(data_order.EpochOrderSync(data_order.epoch_order_of(x)))
    if model.terminate_on_nan:
        callbacks.append(NonFiniteGuard())
    # No wait for tf.data's autotuning thread when fit destroys its iterators.
    if isinstance(x, tf.data.Dataset):
        x = without_autotune_thread(x)
    if isinstance(kwargs.get("validation_data"), tf.data.Dataset):
        kwargs["validation_data"] = without_autotune_thread(kwargs["validation_data"])
    return x, callbacks, kwargs

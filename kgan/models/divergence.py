"""Stopping `fit` as soon as a loss or metric becomes NaN or infinite."""

import math

import keras


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

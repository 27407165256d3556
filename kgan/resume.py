"""Resuming `kgan train`: a backup of the run at every epoch end, and what a re-run does.

    RUN/backup/state.json             the commit point: completed epochs, the weights file,
                                      the metrics so far, the training monitor's record
    RUN/backup/epoch-0003.weights.h5  `model.save_weights` after epoch 3: both networks, the
                                      averaged generator, both optimisers (moments, iterations,
                                      so a learning-rate schedule's position) and the noise
                                      states

An epoch's weights are written under their own name first, then `state.json` is replaced to
name them (both through `kgan.atomic`: temporary name, flush, rename), then older weights are
removed. A kill at any moment therefore leaves a `state.json` naming complete weights, or none
(nothing to resume: the run starts over). The data order needs no backup: kgan's seeded
pipelines draw epoch `e`'s order from `(seed, e)` (`kgan.data.order`). The folder is removed
once the run has written `model.keras`.

Re-running `kgan train` with the same arguments on a run folder (`plan`):

* killed or failed before the end: it continues after the last completed epoch (from epoch 0
  when none completed), and the result is the one an uninterrupted run gives: the same weights
  bit for bit with `--deterministic`;
* finished (`model.keras` written): nothing to train; it says so and loads the run;
* diverged (a NaN or infinite loss): refused, since resuming would diverge again.

`--restart` (`restart=True`) starts over in every case. A folder holding another command's
run is left to `kgan.training.check_run_folder`.
"""

import dataclasses
import glob
import json
import os
import shutil
import time

import keras

from kgan import atomic
from kgan.callbacks.monitor import HealthEvent

BACKUP_DIR = "backup"
STATE_FILE = "state.json"
# Arguments that the saved `config.json` records as found rather than as given.
# Values found once the data is loaded; a request leaves them `None` (epochs: a recipe's).
_DERIVED = ("image_shape", "num_classes", "epochs")
# Runs written before `precision` existed trained in float32 and record no policy.
_POLICY_OF_OLDER_RUNS = "float32"


@dataclasses.dataclass
class Plan:
    """What `train` does with a run folder.

    Attributes:
        action: `"new"` (no run of this command there), `"resume"` (continue after
            `state["epoch"]` completed epochs, or start over when `state` is `None`),
            `"finished"` (nothing to train) or `"restart"`.
        state: the backup's `state.json` record when resuming, else `None`.
        policy: the dtype policy of the run being resumed (see `saved_policy`), else `None`.
    """

    action: str
    state: dict = None
    policy: str = None

    @property
    def initial_epoch(self):
        return self.state["epoch"] if self.state else 0


def plan(output_dir, request, *, restart=False):
    """Decides what `train(output_dir, ...)` does with what the folder holds.

    Args:
        output_dir: the run folder.
        request: the run's arguments as `config.json` records them (without the values found
            from the data: `image_shape`, and `num_classes` when it was not given).
        restart: start over whatever the folder holds.

    Raises:
        FileExistsError: if the folder holds a run of these arguments that diverged.
    """
    if restart:
        return Plan("restart")
    saved = _read_json(os.path.join(output_dir, "config.json"))
    if saved is None or not same_command(saved, request):
        return Plan("new")
    if os.path.isfile(os.path.join(output_dir, "model.keras")) and not os.path.isdir(
        os.path.join(output_dir, BACKUP_DIR)
    ):
        return Plan("finished")
    history = _read_json(os.path.join(output_dir, "history.json")) or {}
    if history.get("diverged"):
        raise FileExistsError(
            "The run in this folder stopped on a non-finite loss; resuming it would diverge "
            f"again ({history['diverged'][:200]}). Pass --restart (restart=True) to train it "
            f"from scratch, or train into another folder. Received: output_dir={output_dir!r}"
        )
    return Plan("resume", read_state(output_dir), saved_policy(saved))


def same_command(saved, request):
    """Whether the saved `config.json` record `saved` was written for the arguments `request`."""
    for key, value in request.items():
        if key in _DERIVED and value is None:
            continue
        if key == "precision":
            if not _same_precision(saved, value):
                return False
        elif saved.get(key) != value:
            return False
    return True


def _same_precision(saved, requested):
    """`"auto"` matches a run that asked for `"auto"` (or predates the option); a named policy
    matches a run trained in it."""
    if requested == "auto":
        return saved.get("precision", "auto") == "auto"
    return requested == saved_policy(saved)


def saved_policy(saved):
    """The dtype policy the run of the `config.json` record `saved` trained in.

    A resumed run keeps it, whatever `"auto"` would pick on this machine now: the backup's
    optimiser state and the promise of the uninterrupted run's weights hold for that policy.
    """
    return saved.get("dtype_policy", _POLICY_OF_OLDER_RUNS)


def read_state(output_dir):
    """The backup's `state.json` record, or `None` when there is no usable backup."""
    state = _read_json(os.path.join(output_dir, BACKUP_DIR, STATE_FILE))
    if not state or not os.path.isfile(os.path.join(output_dir, BACKUP_DIR, state["weights"])):
        return None
    return state


def restore(gan, output_dir, state, monitor):
    """Loads the backup's weights into `gan` (compiled) and the monitor's record."""
    gan.load_weights(os.path.join(output_dir, BACKUP_DIR, state["weights"]))
    monitor.history = list(state["monitor_history"])
    monitor.events = [HealthEvent(**event) for event in state["health_events"]]


def merged_history(state, history):
    """A `keras.callbacks.History` of the whole run: the backup's epochs, then `history`'s."""
    merged = keras.callbacks.History()
    metrics = (state or {}).get("metrics", {})
    merged.history = {name: list(values) for name, values in metrics.items()}
    for name, values in getattr(history, "history", {}).items():
        merged.history.setdefault(name, []).extend(float(value) for value in values)
    merged.epoch = list(range(len(next(iter(merged.history.values()), []))))
    if getattr(history, "model", None) is not None:
        merged.set_model(history.model)
    return merged


def remove_backup(output_dir):
    """Removes the backup once the run is complete (or is started over)."""
    shutil.rmtree(os.path.join(output_dir, BACKUP_DIR), ignore_errors=True)


class RunBackup(keras.callbacks.Callback):
    """Writes `RUN/backup/` at every epoch end (see the module docstring).

    Args:
        output_dir: the run folder.
        monitor: the run's `TrainingMonitor`, whose record is saved too.
        state: the backup the run resumed from, or `None`.
    """

    def __init__(self, output_dir, monitor, state=None):
        super().__init__()
        self.directory = os.path.join(output_dir, BACKUP_DIR)
        self.monitor = monitor
        self.metrics = {name: list(v) for name, v in (state or {}).get("metrics", {}).items()}
        self.seconds_before = (state or {}).get("seconds", 0.0)
        self._started = None

    def on_train_begin(self, logs=None):
        self._started = time.time()

    def on_epoch_end(self, epoch, logs=None):
        for name, value in (logs or {}).items():
            self.metrics.setdefault(name, []).append(float(value))
        os.makedirs(self.directory, exist_ok=True)
        weights = f"epoch-{epoch + 1:04d}.weights.h5"
        with atomic.replacing(os.path.join(self.directory, weights), suffix=".weights.h5") as temp:
            self.model.save_weights(temp)
        record = {
            "epoch": epoch + 1,
            "weights": weights,
            "metrics": self.metrics,
            "seconds": self.seconds_before + time.time() - self._started,
            "monitor_history": [_floats(entry) for entry in self.monitor.history],
            "health_events": [dataclasses.asdict(event) for event in self.monitor.events],
        }
        atomic.write_json(os.path.join(self.directory, STATE_FILE), record)
        for path in glob.glob(os.path.join(self.directory, "epoch-*.weights.h5")):
            if os.path.basename(path) != weights:
                os.remove(path)


def _floats(entry):
    return {name: float(value) for name, value in entry.items()}


def _read_json(path):
    try:
        with open(path) as file:
            return json.load(file)
    except (OSError, ValueError):
        return None

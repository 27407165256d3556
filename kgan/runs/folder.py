"""A `kgan train` run folder: its layout, its lock, its backup and its records.

    RUN/model.keras        the trained GAN/WGAN/WGANGP (`keras.saving.load_model`), the
                           last file a run writes
    RUN/history.json       the metrics of every epoch
    RUN/config.json        the arguments of the run (with a recipe, also the resolved
                           settings its networks were built from: `recipe_settings`)
    RUN/samples.png        a grid of samples from the final generator
    RUN/samples/           one grid per epoch from the same noise (every few in a long run)
    RUN/last_good.keras    the last checkpoint the training monitor found healthy
    RUN/logs/              TensorBoard logs, when asked for
    RUN/backup/            the backup of the last completed epoch (below)
    RUN/clusters.json      the clusters of a self-conditioned run (`kgan.runs.clusters`)
    RUN/.kgan-train.lock   held by the run writing the folder

`RunFolder` owns all of these: `train` asks it what to do (`plan`), for the folder's lock,
for the backup callback, and to write the records.

Two runs never share a folder. A run holds the lock while it writes there; a folder holding
files of a run but no `model.keras` holds an unfinished run, which is resumed by the same
command and refused otherwise; a finished run is removed whole before another one replaces it.

The backup:

    RUN/backup/state.json             the commit point: completed epochs, the weights file,
                                      the metrics so far, the training monitor's record
    RUN/backup/epoch-0003.weights.h5  `model.save_weights` after epoch 3: both networks, the
                                      averaged generator, both optimisers (moments, iterations,
                                      so a learning-rate schedule's position) and the noise
                                      states
    RUN/backup/epoch-0003.clusters.npz  a self-conditioned run's clusters after epoch 3
                                      (`kgan.runs.clusters`), named by `state.json` too

An epoch's weights are written under their own name first, then `state.json` is replaced to
name them (both through `kgan.atomic`: temporary name, flush, rename), then older weights are
removed. A kill at any moment therefore leaves a `state.json` naming complete weights, or none
(nothing to resume: the run starts over). The data order needs no backup: kgan's seeded
pipelines draw epoch `e`'s order from `(seed, e)` (`kgan.data.order`). The backup of the last
epoch stays once the run has written `model.keras`: it is what training further starts from.

Re-running `kgan train` with the same arguments on a run folder (`RunFolder.plan`):

* killed or failed before the end: it continues after the last completed epoch (from epoch 0
  when none completed), and the result is the one an uninterrupted run gives: the same weights
  bit for bit with `--deterministic`;
* finished (`model.keras` written): nothing to train; it says so and loads the run;
* finished, asked for more epochs and nothing else changed: it trains further from the
  backup of its last epoch, to the run the larger number of epochs gives from the start (the
  same weights bit for bit with `--deterministic`); its `model.keras` goes first, so that an
  interruption leaves an unfinished run of the new length, which the same command resumes;
* diverged (a NaN or infinite loss): refused, since resuming would diverge again.

Run with other arguments, on a finished or an unfinished run, it is refused, naming the
arguments that differ: replacing the run would delete hours of training over a changed option.
`--restart` (`restart=True`) starts over in every case. A folder holding files but no run
(neither `config.json` nor `model.keras`) is refused, with `--restart` too: a run would mix its
files with them, and starting over would delete those named like a run's (`samples/`, `logs/`).

A run folder on a URL (`gs://`, `s3://`, ...) is a local staging folder of this kind, copied
to and from the URL by `kgan.runs.remote`, whose docstring says what holds there.
"""

import contextlib
import dataclasses
import glob
import json
import os
import shutil
import time
import zipfile

import keras

from kgan import atomic
from kgan import images as kgan_images
from kgan._validation import short
from kgan.callbacks.monitor import HealthEvent
from kgan.runs import clusters as run_clusters

# The lock file a `train` call holds in its run folder while it writes there.
RUN_LOCK = ".kgan-train.lock"
# The files and folders `train` writes into a run folder.
RUN_FILES = (
    "config.json",
    "history.json",
    "model.keras",
    "last_good.keras",
    "samples.png",
    "samples",
    "logs",
    "clusters.json",
    "last_good.clusters.json",
)
# The records that make a folder a run folder: `config.json`, written before training starts,
# and `history.json`, the record of a finished run (older runs have no `config.json`). A
# run's clearing removes them last.
_RUN_RECORDS = ("config.json", "history.json")
BACKUP_DIR = "backup"
STATE_FILE = "state.json"
# Arguments that the saved `config.json` records as found rather than as given.
# Values found once the data is loaded; a request leaves them `None` (epochs: a recipe's).
_DERIVED = ("image_shape", "num_classes", "epochs")
# Arguments `config.json` records only when they are set, so that older runs still resume: a
# run with one differs from a request without it, and the other way round.
_RECORDED_WHEN_SET = ("image_size", "crop", "clusters", "recluster_steps")
# Runs written before `precision` existed trained in float32 and record no policy.
_POLICY_OF_OLDER_RUNS = "float32"


@dataclasses.dataclass
class Plan:
    """What `train` does with a run folder.

    Attributes:
        action: `"new"` (no run of this command there), `"resume"` (continue after
            `state["epoch"]` completed epochs, or start over when `state` is `None`),
            `"extend"` (a finished run asked for more epochs: continue after its last one),
            `"finished"` (nothing to train) or `"restart"`.
        state: the backup's `state.json` record when resuming or extending, else `None`.
        policy: the dtype policy of the run being resumed or kept finished (see
            `saved_policy`), else `None`.
        recipe_settings: the resolved recipe settings the run being resumed recorded
            (`kgan.recipes.recorded`), which rebuild its networks whatever the recipe says
            now; `None` without a recipe or for a run that predates the record.
        epochs: the epochs of the run being resumed, for a request that names none.
        differences: for a `"new"` run where the folder records a run of other arguments, how
            they differ (`"batch_size 4 there, 8 here"`), for `RunFolder.check_free`'s error.
    """

    action: str
    state: dict = None
    policy: str = None
    recipe_settings: dict = None
    epochs: int = None
    differences: str = None

    @property
    def initial_epoch(self):
        return self.state["epoch"] if self.state else 0


class RunFolder:
    """The run folder at `path` (see the module docstring).

    Args:
        path: the folder; it need not exist yet.
        location: what messages call the folder: `path` by default, the URL when `path` is
            the local staging folder of a run folder on a URL (`kgan.runs.remote`).
    """

    def __init__(self, path, *, location=None):
        self.path = os.fspath(path)
        self.location = self.path if location is None else os.fspath(location)

    def file(self, name):
        """The path of `name` in the folder."""
        return os.path.join(self.path, name)

    # ------------------------------------------------------------------ what a run does here

    def plan(self, request, *, restart=False):
        """Decides what `train` does with what the folder holds.

        Args:
            request: the run's arguments as `config.json` records them (without the values
                found from the data: `image_shape`, and `num_classes` when it was not given).
            restart: start over whatever the folder holds.

        Raises:
            FileExistsError: if the folder holds a run of these arguments that diverged, a
                finished run asked for more epochs whose last epoch has no backup, or a
                finished run of other arguments (which only `restart` replaces: hours of
                training are not deleted by a changed option), or files but no run
                (`_check_holds_a_run`), also with `restart`.
        """
        self._check_holds_a_run()
        if restart:
            return Plan("restart")
        saved = _read_json(self.file("config.json"))
        if saved is not None and _longer(saved, request):
            return self._extension(saved, request)
        if saved is None or not same_command(saved, request):
            if os.path.isfile(self.file("model.keras")):
                raise FileExistsError(
                    f"The run folder holds a finished run of other arguments "
                    f"({_differences(saved, request)}); this command would delete it. Pass "
                    "--restart (restart=True) to replace it, or train into another folder. "
                    f"Received: output_dir={self.location!r}"
                )
            return Plan("new", differences=saved and _differences(saved, request))
        if os.path.isfile(self.file("model.keras")):
            return Plan("finished", policy=saved_policy(saved))
        self._check_not_diverged()
        return Plan(
            "resume",
            self.read_state(),
            saved_policy(saved),
            saved.get("recipe_settings"),
            saved.get("epochs"),
        )

    def _check_holds_a_run(self):
        """Refuses a folder that holds files but no run (neither of `_RUN_RECORDS`, which a
        run writes first or last and `clear` removes last). A run would mix its files with
        them, and starting it over (`clear`) would delete those among them that have a run
        file's name (`samples/`, `logs/`) although no run wrote them. Hidden entries (a run's
        lock and temporary files, `.gitkeep`, `.DS_Store`) do not count: `clear` leaves them
        alone."""
        if not os.path.isdir(self.path) or any(
            os.path.lexists(self.file(name)) for name in _RUN_RECORDS
        ):
            return
        held = sorted(
            name + ("/" if os.path.isdir(self.file(name)) else "")
            for name in os.listdir(self.path)
            if not name.startswith(".")
        )
        if held:
            listed = ", ".join(held[:5]) + (f" and {len(held) - 5} more" if len(held) > 5 else "")
            raise FileExistsError(
                "The folder is not empty and holds no kgan run (no config.json or history.json; "
                f"it has {listed}). Train into a new or empty folder, or into a run folder. "
                f"Received: output_dir={self.location!r}"
            )

    def _extension(self, saved, request):
        """The plan for the run `saved` asked for `request["epochs"]` epochs, more than it
        has: continue after its last epoch when its backup holds that epoch."""
        self._check_not_diverged()
        state = self.read_state()
        if state is None or state["epoch"] != saved["epochs"]:
            finished = os.path.isfile(self.file("model.keras"))
            if not finished:  # Killed before its end: another command's unfinished run.
                return Plan("new", differences=_differences(saved, request))
            raise FileExistsError(
                f"The run in this folder finished its {saved['epochs']} epochs without keeping "
                "the backup of its last one, so it cannot be trained further to "
                f"{request['epochs']}. Pass --restart (restart=True) to train "
                f"{request['epochs']} epochs from scratch, or train into another folder. "
                f"Received: epochs={request['epochs']}, output_dir={self.location!r}"
            )
        return Plan("extend", state, saved_policy(saved), saved.get("recipe_settings"))

    def _check_not_diverged(self):
        history = _read_json(self.file("history.json")) or {}
        if history.get("diverged"):
            raise FileExistsError(
                "The run in this folder stopped on a non-finite loss; resuming it would diverge "
                f"again ({history['diverged'][:200]}). Pass --restart (restart=True) to train "
                f"it from scratch, or train into another folder. Received: "
                f"output_dir={self.location!r}"
            )

    def reopen(self):
        """Removes what marks the run finished (`model.keras` first, then its final sample
        grid) before it trains further: interrupted, the folder holds an unfinished run."""
        for name in ("model.keras", "samples.png"):
            if os.path.lexists(self.file(name)):
                os.remove(self.file(name))

    def check_free(self, differences=None):
        """Refuses to train into a folder that holds an unfinished run.

        Mixing the files of two runs (an old run's samples beside a new run's model, say) would
        make the folder lie about either, so a folder with files of a run but no `model.keras`
        (the last file a run writes) is refused: its run was killed, failed, or is still
        running. An empty or missing folder, or one holding a finished run, is accepted (a
        folder holding files but no run is refused by `plan`).

        Args:
            differences: how the arguments of the run there differ from this one's
                (`Plan.differences`), named in the error.

        Raises:
            FileExistsError: if the folder holds an unfinished run, naming what it holds.
        """
        if not os.path.isdir(self.path) or os.path.isfile(self.file("model.keras")):
            return
        present = [name for name in RUN_FILES if os.path.lexists(self.file(name))]
        if not present:
            return
        running = os.path.lexists(self.file(RUN_LOCK)) and not atomic.is_abandoned(
            self._lock_owner()
        )
        state = "is being written by another run" if running else "holds an unfinished run"
        if differences:
            state += f" of other arguments ({differences})"
        kept = (
            " Its last healthy checkpoint is last_good.keras."
            if "last_good.keras" in present
            else ""
        )
        # A run without its config.json cannot be resumed, only replaced.
        resume = ", run that run's own command again to resume it" if differences else ""
        choices = "Train into another folder" + (
            "" if running else f"{resume}, or pass --restart (restart=True) to replace it"
        )
        raise FileExistsError(
            f"The run folder {state} (it has {', '.join(present)} but no model.keras; killed, "
            f"failed or still running).{kept} {choices}. "
            f"Received: output_dir={self.location!r}"
        )

    @contextlib.contextmanager
    def lock(self):
        """Creates the folder and holds its lock (`kgan.atomic.exclusive_lock`) while a run
        writes there."""
        os.makedirs(self.path, exist_ok=True)
        with atomic.exclusive_lock(self.file(RUN_LOCK), what="The run folder"):
            yield self

    def clear(self):
        """Removes the files of the run a new run replaces (and its backup), so that none of
        them (an epoch's sample grid the new run does not reach, say) is mistaken for the new
        run's. `model.keras` goes first, so that an interrupted clear leaves the folder
        reading as unfinished, and the run's records last, so that it still reads as a run."""
        for name in ("model.keras", *(f for f in RUN_FILES if f not in _RUN_RECORDS)):
            self._remove(name)
        self.remove_backup()
        for name in _RUN_RECORDS:
            self._remove(name)

    def _remove(self, name):
        path = self.file(name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.remove(path)

    def _lock_owner(self):
        """The lock file's writer tag as a name `atomic.is_abandoned` reads (`""` if unknown)."""
        try:
            with open(self.file(RUN_LOCK), encoding="ascii", errors="replace") as file:
                return "lock-" + file.read(200).strip()
        except OSError:
            return ""

    # ------------------------------------------------------------------ backup

    def read_history(self):
        """The finished run's `history.json` record (see `write_history`)."""
        return _read_json(self.file("history.json"))

    def read_state(self):
        """The backup's `state.json` record, or `None` when there is no usable backup."""
        state = _read_json(self.backup_file(STATE_FILE))
        named = [state["weights"], state.get("clusters")] if state else []
        if not state or not all(os.path.isfile(self.backup_file(n)) for n in named if n):
            return None
        return state

    def backup_callback(self, monitor, state=None, self_conditioning=None):
        """The `RunBackup` callback that writes the folder's backup at every epoch end."""
        return RunBackup(self.path, monitor, state, self_conditioning)

    def backup_file(self, name):
        """The path of `name` (a file a `state.json` record names) in the backup."""
        return os.path.join(self.path, BACKUP_DIR, name)

    def restore(self, gan, state, monitor):
        """Loads the backup's weights into `gan` (compiled) and the monitor's record."""
        try:
            gan.load_weights(os.path.join(self.path, BACKUP_DIR, state["weights"]))
        except ValueError as error:
            raise ValueError(
                "The run's backup does not fit the networks these arguments build now "
                f"({short(error, 300)}): a recipe or kgan's defaults changed since the run "
                "started. Pass --restart (restart=True) to train it again from the start, or "
                "resume it with the kgan version that started it; the backup is kept. "
                f"Received: output_dir={self.location!r}"
            ) from error
        monitor.history = list(state["monitor_history"])
        monitor.events = [HealthEvent(**event) for event in state["health_events"]]

    def remove_backup(self):
        """Removes the backup when the run is started over."""
        shutil.rmtree(self.file(BACKUP_DIR), ignore_errors=True)

    # ------------------------------------------------------------------ records

    def write_config(self, config):
        atomic.write_json(self.file("config.json"), config)

    def write_history(self, history, seconds, monitor, diverged=None):
        """`history.json`: the metrics of every epoch, the time, the monitor's events, and
        the error of a run that diverged."""
        metrics = {k: [float(v) for v in vs] for k, vs in getattr(history, "history", {}).items()}
        record = {
            "epochs": len(next(iter(metrics.values()), [])),
            "seconds": round(seconds, 1),
            "metrics": metrics,
            "health_events": [str(event) for event in monitor.events],
        }
        if diverged:
            record["diverged"] = diverged
        atomic.write_json(self.file("history.json"), record)

    def write_model(self, gan):
        """`model.keras`, written beside its final name, then renamed: a crash never leaves
        half a file."""
        atomic.save_model(gan, self.file("model.keras"))

    def write_samples(self, samples, num_rows=None):
        kgan_images.save_image_grid(samples, self.file("samples.png"), num_rows=num_rows)


def same_command(saved, request):
    """Whether the saved `config.json` record `saved` was written for the arguments `request`."""
    for key, value in request.items():
        if key in _DERIVED and value is None:
            continue
        if not _same_value(saved, key, value):
            return False
    return all(saved.get(key) == request.get(key) for key in _RECORDED_WHEN_SET)


def _same_value(saved, key, value):
    """Whether the run `saved` had the argument `key` at `value`."""
    if key == "precision":
        return _same_precision(saved, value)
    return saved.get(key) == value


def _differences(saved, request):
    """The arguments in which the run `saved` (a `config.json` record, or `None`) differs from
    `request`, as `"batch_size 4 there, 8 here; ..."`."""
    if saved is None:
        return "it records none: no config.json"
    keys = [key for key in request if not (key in _DERIVED and request[key] is None)]
    keys += [key for key in _RECORDED_WHEN_SET if key not in request]
    keys = [key for key in keys if not _same_value(saved, key, request.get(key))]
    # Values the record holds first: those it lacks are older runs' (or a record's damage).
    keys.sort(key=lambda key: key not in saved)
    differing = [f"{key} {saved.get(key)!r} there, {request.get(key)!r} here" for key in keys]
    if len(differing) > 4:
        differing[3:] = [f"and {len(differing) - 3} more"]
    return "; ".join(differing) or "its arguments differ"


def _longer(saved, request):
    """Whether `request` asks the run `saved` for more epochs than it has, and nothing else."""
    epochs = request.get("epochs")
    if epochs is None or saved.get("epochs") is None or epochs <= saved["epochs"]:
        return False
    return same_command(saved, {**request, "epochs": saved["epochs"]})


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


class RunBackup(keras.callbacks.Callback):
    """Writes `RUN/backup/` at every epoch end (see the module docstring).

    Args:
        output_dir: the run folder.
        monitor: the run's `TrainingMonitor`, whose record is saved too.
        state: the backup the run resumed from, or `None`.
        self_conditioning: the `kgan.callbacks.SelfConditioning` of a self-conditioned run,
            whose clusters are saved too (`kgan.runs.clusters`); it must come before this
            callback in `fit`'s list, so that the backup holds the epoch's new clusters.
    """

    def __init__(self, output_dir, monitor, state=None, self_conditioning=None):
        super().__init__()
        self.directory = os.path.join(output_dir, BACKUP_DIR)
        self.monitor = monitor
        self.self_conditioning = self_conditioning
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
        written = {weights}
        clusters = None
        if self.self_conditioning is not None:
            clusters = f"epoch-{epoch + 1:04d}.clusters.npz"
            run_clusters.save_state(os.path.join(self.directory, clusters), self.self_conditioning)
            written.add(clusters)
        record = {
            "epoch": epoch + 1,
            "weights": weights,
            "metrics": self.metrics,
            "seconds": self.seconds_before + time.time() - self._started,
            "monitor_history": [_floats(entry) for entry in self.monitor.history],
            "health_events": [dataclasses.asdict(event) for event in self.monitor.events],
        }
        if clusters:
            record["clusters"] = clusters
        atomic.write_json(os.path.join(self.directory, STATE_FILE), record)
        for path in glob.glob(os.path.join(self.directory, "epoch-*")):
            if os.path.basename(path) not in written:
                os.remove(path)


def _floats(entry):
    return {name: float(value) for name, value in entry.items()}


def _is_saved_model_export(path):
    """Whether the folder `path` is a SavedModel, or a base folder of SavedModel versions."""
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return True
    return any(
        name.isdigit() and os.path.isfile(os.path.join(path, name, "saved_model.pb"))
        for name in os.listdir(path)
    )


def load_run(run_or_model, *, compile=True):
    """Loads a kgan model from a training run folder or a `.keras` file.

    Args:
        run_or_model: a folder written by `kgan train` (holding `model.keras`, and maybe
            `history.json` and `config.json`) or a `.keras` file.
        compile: passed to `keras.saving.load_model`: restore the optimisers and compile
            settings too.

    Returns:
        `(model, history, run_config)`: the loaded model, and the parsed `history.json` and
        `config.json` beside it (each `None` when absent).

    Raises:
        FileNotFoundError: if there is no model at `run_or_model`.
        ValueError: if `run_or_model` is a file that is not a `.keras` file, or not a readable
            one.
    """
    path = os.fspath(run_or_model)
    if os.path.isdir(path):
        model_path = os.path.join(path, "model.keras")
        run_dir = path
        if not os.path.isfile(model_path):
            checkpoint = os.path.join(path, "last_good.keras")
            hint = (
                f"; its run did not finish, but it holds {checkpoint}, the last checkpoint the "
                "training monitor found healthy: pass that file to use it"
                if os.path.isfile(checkpoint)
                else ""
            )
            if _is_saved_model_export(path):
                hint = (
                    "; this folder is a SavedModel export (TF Serving's layout), which `kgan "
                    "sample`, `evaluate` and `interpolate` read but which holds no training "
                    "state: pass the run folder or `.keras` file it was exported from"
                )
            raise FileNotFoundError(
                f"A run folder must contain `model.keras` (written by `kgan train`){hint}. "
                f"Received: run_or_model={path!r}"
            )
    elif os.path.isfile(path):
        if not path.endswith(".keras"):
            raise ValueError(
                "Pass a run folder or a `.keras` file saved with `model.save(...)`. "
                f"Received: run_or_model={path!r}"
            )
        model_path = path
        run_dir = os.path.dirname(path) or "."
    else:
        raise FileNotFoundError(
            "No saved model at this path: no run folder or `.keras` file. "
            f"Received: run_or_model={path!r}"
        )
    model = load_keras_file(model_path, compile=compile, name="run_or_model")
    records = (_read_json(os.path.join(run_dir, name)) for name in ("history.json", "config.json"))
    return (model, *records)


def load_keras_file(path, *, compile=True, name="path"):
    """`keras.saving.load_model(path)`, with an error that tells a damaged file (a truncated
    copy, or another format under a `.keras` name) from a missing one.

    Raises:
        ValueError: if the file is not a readable Keras model, naming `name`.
    """
    path = os.fspath(path)
    if os.path.isfile(path) and not zipfile.is_zipfile(path):
        raise ValueError(
            "The file exists but is not a readable Keras model: it is not a `.keras` zip "
            f"archive (truncated, or another format?). Received: {name}={path!r}"
        )
    try:
        # The kgan.models import above registers kgan's models and layers with Keras, which
        # deserialising them needs.
        return keras.saving.load_model(path, compile=compile)
    except (ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as error:
        if not os.path.isfile(path):
            raise
        raise ValueError(
            f"The file exists but is not a readable Keras model ({short(error, 200)}). "
            f"Received: {name}={path!r}"
        ) from error


def _read_json(path):
    try:
        with open(path) as file:
            return json.load(file)
    except (OSError, ValueError):
        return None

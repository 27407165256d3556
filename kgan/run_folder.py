"""A `kgan train` run folder: whether a new run may write into it, and who is writing it.

Two runs never share a folder. A run holds `RUN_LOCK` in its folder while it writes there;
a folder holding files of a run but no `model.keras` (the last file a run writes) holds an
unfinished run, which is resumed by the same command (`kgan.resume`) and refused otherwise; a
finished run is removed whole before another one replaces it.
"""

import os
import shutil

from kgan import atomic

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
)


def check_run_folder(output_dir):
    """Refuses to train into a folder that holds an unfinished run.

    Mixing the files of two runs (an old run's samples beside a new run's model, say) would
    make the folder lie about either, so a folder with files of a run but no `model.keras`
    (the last file a run writes) is refused: its run was killed, failed, or is still running.
    An empty or missing folder, or one holding a finished run, is accepted.

    Raises:
        FileExistsError: if `output_dir` holds an unfinished run, naming what it holds.
    """
    output_dir = os.fspath(output_dir)
    if not os.path.isdir(output_dir) or os.path.isfile(os.path.join(output_dir, "model.keras")):
        return
    present = [name for name in RUN_FILES if os.path.lexists(os.path.join(output_dir, name))]
    if not present:
        return
    running = os.path.lexists(os.path.join(output_dir, RUN_LOCK)) and not atomic.is_abandoned(
        _lock_owner(output_dir)
    )
    state = "is being written by another run" if running else "holds an unfinished run"
    kept = (
        " Its last healthy checkpoint is last_good.keras." if "last_good.keras" in present else ""
    )
    raise FileExistsError(
        f"The run folder {state} (it has {', '.join(present)} but no model.keras; killed, "
        f"failed or still running).{kept} Train into another folder, or delete this one to "
        f"start over. Received: output_dir={output_dir!r}"
    )


def remove_finished_run(output_dir):
    """Removes the files of the finished run a new run replaces, so that none of them (an
    epoch's sample grid the new run does not reach, say) is mistaken for the new run's.

    `model.keras` goes first: if this is interrupted, the folder reads as unfinished.
    """
    for name in ("model.keras", *RUN_FILES):
        path = os.path.join(output_dir, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.remove(path)


def _lock_owner(output_dir):
    """The lock file's writer tag as a name `atomic.is_abandoned` reads (`""` if unknown)."""
    try:
        with open(os.path.join(output_dir, RUN_LOCK), encoding="ascii", errors="replace") as file:
            return "lock-" + file.read(200).strip()
    except OSError:
        return ""

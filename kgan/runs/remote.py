"""Run folders on URLs (`gs://`, `s3://`, any `tf.io.gfile` scheme): the run is trained in a
local staging folder, which is copied from the URL before training and to it as training goes.

`train(output_dir="gs://bucket/runs/mnist")` (`kgan train --output gs://...`) trains in
`$KGAN_CACHE_DIR/runs/HASH` (`~/.cache/kgan/runs/HASH` when the variable is unset; `HASH` is
the first 16 hex digits of the URL's SHA-256), where `kgan.runs.folder.RunFolder` does all it
does in a local folder: its lock, its backup and resume, its records. `RemoteRunFolder` keeps
the URL and the staging folder in step:

* Pull, before anything else: the staging folder is rebuilt from the URL (every file but the
  hidden ones), so a run's state is the URL's, whichever machine trained it last. The same
  command continues on machine B a run killed on machine A, by the rules of a local folder: a
  finished run has nothing to train (unless asked for more epochs), an unfinished one resumes
  after the last epoch whose backup reached the URL, a diverged one is refused.
* Push, once the run has written `config.json` (so that a URL that cannot be written fails
  before training), after every epoch's backup commit (`backup/state.json`), when the run ends
  and when it diverges: the files that changed since the pull or the last push are copied to
  the URL, each to a hidden temporary name in its URL folder, then renamed over its name
  (`kgan.atomic.replacing`), in an order that keeps the URL resumable:

  1. `model.keras`, if the staging folder no longer has it (a run replacing a finished one, or
     training it further), is removed first, so that the URL stops reading as finished before
     the new run's files come;
  2. the other changed files: the epoch's weights and sample grid, `config.json`, ...;
  3. `backup/state.json`, the backup's commit point, after the weights it names;
  4. `model.keras`, the mark of a finished run, after every other file of the run;
  5. last, the files the staging folder no longer has are removed (older epochs' weights; a
     replaced run's backup, `state.json` before its weights), and the folders they emptied.

What holds on the URL:

* Every file is whole or absent: a copy appears under its name only through the rename (on
  object stores an object becomes visible once its upload completes, and `gs://`'s rename is a
  server-side copy of that whole object, then a delete of the temporary one).
* At any moment the URL holds a state the same command resumes from: a `state.json` whose
  weights are there (or no `state.json`), and a `model.keras` only once every other file of the
  run is there. A kill loses the epochs since the last push that completed, no more.
* Two processes of one machine training into one URL (spelled alike, with the same cache
  folder) are excluded, by a lock file beside the staging folder.

What does not:

* The locks are local. Two machines (or two cache folders) training into one URL are not
  excluded, and their pushes would mix the files of both runs: give each run its own URL.
* A reader listing the URL during a push sees a mix of two consecutive pushes (the next epoch's
  sample grid beside the previous epoch's `state.json`, say); the URL is resumable throughout,
  but only a URL holding `model.keras` is a finished run (whose older epochs' weights the push
  may still be removing).
* A kill after a file's upload to its temporary name and before its rename has finished (on an
  object store the rename is a copy then a delete) leaves a hidden temporary object
  (`.NAME.tmp-HOST-PID-RANDOM`). The next push of that name from the same host removes it once
  its process is gone; one left by another host stays. Hidden names are never pulled.
* No `fsync`: a file is as durable as the file system makes it once written.
* A push after an epoch (or after a divergence) that fails, on a network error say, warns,
  and the next epoch's push copies everything changed since. The first push and the final one
  raise instead. The staging folder is then kept (after a failed final push it holds the only
  complete copy of the run) until the next call for that URL rebuilds it from the URL;
  otherwise it is removed when `train` ends (a killed run's is replaced by the next pull).
"""

import contextlib
import errno
import hashlib
import os
import shutil
import warnings

import keras

from kgan import atomic, storage
from kgan._validation import short
from kgan.data import folder_cache
from kgan.runs.folder import BACKUP_DIR, STATE_FILE, RunFolder

MODEL_FILE = "model.keras"
# The backup's commit point, as a path relative to the run folder.
STATE_PATH = f"{BACKUP_DIR}/{STATE_FILE}"


def staging_root():
    """The folder of the staging folders: `$KGAN_CACHE_DIR/runs`, else `~/.cache/kgan/runs`."""
    return os.fspath(folder_cache.cache_root() / "runs")


def staging_folder(url):
    """The local staging folder of the run folder at `url`."""
    digest = hashlib.sha256(os.fspath(url).rstrip("/").encode("utf-8")).hexdigest()
    return os.path.join(staging_root(), digest[:16])


class RemoteRunFolder:
    """The run folder at the URL `url`, trained in a local staging folder (see the module
    docstring).

    Args:
        url: a URL of a scheme `tf.io.gfile` has a file system for.

    Raises:
        ValueError: if TensorFlow has no file system for the URL's scheme.
    """

    def __init__(self, url):
        url = os.fspath(url)
        if not storage.has_file_system(url):
            raise ValueError(
                f"`output_dir` (`kgan train --output`) is a URL of a scheme this TensorFlow "
                f"has no file system for ({storage.scheme(url)}://; it has "
                f"{', '.join(name + '://' for name in storage.registered_schemes())}). "
                "s3://, hdfs:// and az:// come with tensorflow-io: `pip install tensorflow-io` "
                "(kgan then does `import tensorflow_io`, which registers them). "
                f"Received: output_dir={url!r}"
            )
        self.url = url.rstrip("/")
        self.staging = staging_folder(self.url)
        # What the URL holds, as the staging folder's files it was copied from:
        # relative path -> (inode, size, modification time) of the local file.
        self._copied = {}
        # Whether the staging folder holds changes a push has not copied to the URL.
        self._unpushed = False

    @contextlib.contextmanager
    def staged(self):
        """Holds the staging folder's lock, pulls the URL into it, and yields the staging
        folder's `RunFolder`. The staging folder is removed at the end, unless a push failed."""
        os.makedirs(staging_root(), exist_ok=True)
        what = f"The staging folder of {self.url} ({self.staging})"
        with atomic.exclusive_lock(self.staging + ".lock", what=what):
            try:
                self.pull()
                yield RunFolder(self.staging, location=self.url)
            finally:
                if not self._unpushed:
                    shutil.rmtree(self.staging, ignore_errors=True)

    def pull(self):
        """Rebuilds the staging folder from the URL: every file but the hidden ones.

        Raises:
            OSError: if the URL cannot be read, naming `output_dir`.
        """
        shutil.rmtree(self.staging, ignore_errors=True)
        self._copied = {}
        try:
            if not storage.exists(self.url):
                return
            if not storage.isdir(self.url):
                raise NotADirectoryError(
                    errno.ENOTDIR, "`output_dir` (`kgan train --output`) names a file", self.url
                )
            for folder, _, names in storage.walk(self.url):
                for name in names:
                    relative = self._relative(folder, name)
                    if relative is None:
                        continue
                    local = os.path.join(self.staging, *relative.split("/"))
                    os.makedirs(os.path.dirname(local), exist_ok=True)
                    storage.copy(storage.join(folder, name), local)
                    self._copied[relative] = _signature(local)
        except OSError as error:
            if isinstance(error, NotADirectoryError) or not storage.is_url(error.filename or ""):
                raise
            raise type(error)(
                error.errno,
                "Could not read the run folder `output_dir` (`kgan train --output`): "
                f"{short(error.strerror or error, 300)}",
                self.url,
            ) from error

    def push(self, *, strict=False):
        """Copies the staging folder's changes to the URL, in the order of the module
        docstring.

        Args:
            strict: raise if a copy fails (before training, and once the run has ended).
                Otherwise warn; the next push copies what this one did not.

        Raises:
            OSError: if a copy fails and `strict`, naming the staging folder.
        """
        try:
            self._push()
        except OSError as error:
            self._unpushed = True
            if strict:
                raise OSError(
                    error.errno or errno.EIO,
                    f"Could not copy the run folder to {self.url} ({short(error, 300)}); its "
                    f"files are in the staging folder {self.staging} until the next "
                    "`kgan train` into this URL",
                    self.url,
                ) from error
            warnings.warn(
                f"Could not copy the run's latest epoch to {self.url} ({short(error, 300)}); "
                "the next epoch's copy tries again, and the URL keeps its last complete copy.",
                RuntimeWarning,
                stacklevel=2,
            )

    def callback(self):
        """The callback that pushes after every epoch; it must follow the backup's
        (`RunFolder.backup_callback`) in the callback list, so as to push its commit."""
        return _PushAfterEachEpoch(self)

    # ------------------------------------------------------------------ the copies

    def _push(self):
        local = self._local_files()
        changed = [name for name, signature in local.items() if self._copied.get(name) != signature]
        removed = [name for name in self._copied if name not in local]
        if MODEL_FILE in removed:
            self._remove(MODEL_FILE)
        for name in sorted(changed, key=_copy_order):
            self._copy(name, local[name])
        for name in sorted(removed, key=_removal_order):
            if name != MODEL_FILE:
                self._remove(name)
        for folder in sorted({name.rpartition("/")[0] for name in removed} - {""}):
            if not os.path.isdir(os.path.join(self.staging, *folder.split("/"))):
                storage.rmtree(self._url_of(folder))
        self._unpushed = False

    def _copy(self, name, signature):
        with atomic.replacing(self._url_of(name)) as temp:
            storage.copy(os.path.join(self.staging, *name.split("/")), temp)
        self._copied[name] = signature

    def _remove(self, name):
        with contextlib.suppress(FileNotFoundError):
            storage.remove(self._url_of(name))
        del self._copied[name]

    def _url_of(self, name):
        return storage.join(self.url, *name.split("/"))

    def _relative(self, folder, name):
        """The path of the URL's file `folder/name` relative to the URL, with `/`; `None`
        for a hidden file or folder."""
        parts = [part for part in folder[len(self.url) :].split("/") if part] + [name]
        return None if any(part.startswith(".") for part in parts) else "/".join(parts)

    def _local_files(self):
        """The staging folder's files but the hidden ones (the lock, temporary files)."""
        files = {}
        for folder, folders, names in os.walk(self.staging):
            folders[:] = [name for name in folders if not name.startswith(".")]
            for name in names:
                if not name.startswith("."):
                    path = os.path.join(folder, name)
                    relative = os.path.relpath(path, self.staging).replace(os.sep, "/")
                    files[relative] = _signature(path)
        return files


def _signature(path):
    """What changes when kgan rewrites the file at `path`: every rewrite through
    `kgan.atomic` is a new file (a new inode), and an append changes its size."""
    stat = os.stat(path)
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _copy_order(name):
    """Everything else, then the backup's commit point, then `model.keras`."""
    return ({STATE_PATH: 1, MODEL_FILE: 2}.get(name, 0), name)


def _removal_order(name):
    """The backup's commit point before the weights it names."""
    return (name != STATE_PATH, name)


class _PushAfterEachEpoch(keras.callbacks.Callback):
    def __init__(self, remote):
        super().__init__()
        self.remote = remote

    def on_epoch_end(self, epoch, logs=None):
        self.remote.push()

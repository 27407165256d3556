"""Where kgan writes: local paths through `os`, URLs (`gs://`, `s3://`, ...) through
`tf.io.gfile`, behind one set of functions so that `kgan.atomic` and `kgan.export.versions`
hold their logic once.

A path with `://` is a URL and goes through `tf.io.gfile`, so any scheme TensorFlow has a file
system for works: `gs://` is built in, `s3://` (and `hdfs://`, `az://`) come with
`tensorflow-io` (`import tensorflow_io`; `has_file_system` imports it when it is installed),
`file://` is the local file system reached through `tf.io.gfile` and `ram://` an in-memory one
(what the tests use). Every other path is local and keeps `os` semantics (`fsync`, hard links,
`rename(2)`).

What each file system guarantees to kgan's "write under a hidden name, then rename":

- Local (POSIX) paths: renaming a file or a folder is atomic. A reader sees the old name or the
  new one, never half of it; `kgan.atomic` also flushes files and folders to disk (`fsync`)
  and claims a file name with a hard link, so no concurrent writer replaces it. Windows
  renames are atomic too on NTFS.
- `file://` URLs: the same `rename(2)` underneath, so the same atomicity, but without the
  `fsync` and with a check-then-rename instead of the hard link (a narrow race between two
  writers of one name).
- Object stores (`gs://`, `s3://`): there are no folders and no rename. `tf.io.gfile.rename`
  of a folder copies each object to its new name and then deletes the old one, object by
  object; a reader listing the destination during the rename sees a partial folder. A single
  object appears whole or not at all (an upload becomes visible when it completes), so a
  single file written under a temporary name and renamed is still whole or absent. "Rename
  unless the destination exists" is a check, then the copy: two writers racing for one name
  are not excluded.

What this means for TF Serving version folders (`kgan.export.versions`): TF Serving loads every
child of the model's base folder whose name parses as an integer and honours no completion
marker (`tensorflow_serving/sources/storage_path/file_system_storage_path_source.cc` parses the
names only). The hidden staging name (`.tmp-<version>-...`) keeps an unfinished export
invisible on every file system. On a local disk the rename then makes the version appear whole.
On an object store the numeric folder fills object by object during the rename, so TF Serving
can find it half-copied: the load fails (the variables are missing) and is retried
(`--max_num_load_retries`, `--load_retry_interval_micros`) until the copy is complete. kgan
writes `kgan.complete` (see `COMPLETION_MARKER`) into a version folder on a URL after the
rename has finished, as the last object: kgan's own readers (`read_metadata`) treat a URL
version without it as incomplete, and deployment scripts can wait for it, but TF Serving does
not look at it. Replacing a version (`overwrite`) on an object store removes the old objects
before the new ones arrive, so the version is partial for the duration of both copies: prefer
a new version number there. Two exports racing for one version number on an object store can
mix their objects; give concurrent exports to one bucket folder distinct versions.
"""

import contextlib
import errno
import os
import posixpath
import shutil

# Written last into a version folder on a URL, once the rename has finished (see above).
COMPLETION_MARKER = "kgan.complete"


def is_url(path):
    """Whether `path` names a location with a scheme (`gs://...`), reached via `tf.io.gfile`."""
    return "://" in os.fspath(path)


def scheme(path):
    """The scheme of the URL `path` (`"gs"` for `gs://bucket/x`), `""` for a local path."""
    path = os.fspath(path)
    return path.split("://", 1)[0] if is_url(path) else ""


def has_file_system(path):
    """Whether `tf.io.gfile` can reach `path`: a local path, or a URL whose scheme TensorFlow
    has a file system for. tensorflow-io registers its schemes (`s3`, `hdfs`, `az`, ...) when
    imported, which is done here when a scheme is missing and it is installed."""
    wanted = scheme(path)
    if not wanted or wanted in registered_schemes():
        return True
    # An absent or broken tensorflow-io (one built for another TensorFlow) leaves the scheme
    # missing, which the caller reports.
    with contextlib.suppress(Exception):
        import tensorflow_io  # noqa: F401
    return wanted in registered_schemes()


def registered_schemes():
    """The URL schemes `tf.io.gfile` has a file system for (`["file", "gs", "ram"]`, ...)."""
    return sorted(name for name in _gfile().get_registered_schemes() if name)


def _gfile():
    import tensorflow as tf

    return tf.io.gfile


@contextlib.contextmanager
def _os_errors(path):
    """Turns `tf.io.gfile`'s errors into the `OSError`s that `os` raises for the same cause,
    so the callers handle both file systems alike."""
    import tensorflow as tf

    try:
        yield
    except tf.errors.NotFoundError as error:
        raise FileNotFoundError(errno.ENOENT, error.message, path) from error
    except tf.errors.AlreadyExistsError as error:
        raise FileExistsError(errno.EEXIST, error.message, path) from error
    except tf.errors.PermissionDeniedError as error:
        raise PermissionError(errno.EACCES, error.message, path) from error
    except tf.errors.OpError as error:
        raise OSError(errno.EIO, error.message, path) from error


def check_path(name, value):
    """`value`, the argument `name`, as a `str` path: it must be a non-empty `str` or an
    `os.PathLike` of one."""
    path = os.fspath(value) if isinstance(value, os.PathLike) else value
    if not isinstance(path, str):
        raise TypeError(
            f"`{name}` must be a path: a str or an os.PathLike (a local path or a URL such as "
            f"'gs://bucket/folder'). Received: {name}={value!r} of type {type(value).__name__}"
        )
    if not path.strip():
        raise ValueError(f"`{name}` must be a non-empty path. Received: {name}={value!r}")
    return path


def check_no_file_above(name, path):
    """Raises `NotADirectoryError` naming the argument `name` when the nearest existing
    ancestor of the local `path` is a file, which makes `path` impossible to create. URLs are
    not checked: on an object store a folder is a prefix of object names, not an entry that a
    file can block."""
    path = os.fspath(path)
    if is_url(path):
        return
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.lexists(parent):
        above = os.path.dirname(parent)
        if above == parent:
            return
        parent = above
    if not os.path.isdir(parent):
        raise NotADirectoryError(
            errno.ENOTDIR,
            f"`{name}` cannot be written: {parent!r} above it is a file, not a folder. "
            f"Received: {name}={path!r}",
        )


def absolute(path):
    """`path` made absolute (local paths; a URL already is)."""
    path = os.fspath(path)
    return path if is_url(path) else os.path.abspath(path)


def join(path, *names):
    path = os.fspath(path)
    return posixpath.join(path, *names) if is_url(path) else os.path.join(path, *names)


def split(path):
    """`(folder, name)` of `absolute(path)`."""
    path = absolute(path)
    return posixpath.split(path.rstrip("/")) if is_url(path) else os.path.split(path)


def exists(path):
    """Whether anything is at `path` (for local paths, also a dangling link)."""
    path = os.fspath(path)
    if not is_url(path):
        return os.path.lexists(path)
    with _os_errors(path):
        return _gfile().exists(path)


def isdir(path):
    path = os.fspath(path)
    if not is_url(path):
        return os.path.isdir(path)
    with _os_errors(path):
        return _gfile().isdir(path)


def isfile(path):
    path = os.fspath(path)
    if not is_url(path):
        return os.path.isfile(path)
    with _os_errors(path):
        return _gfile().exists(path) and not _gfile().isdir(path)


def listdir(path):
    """The names in the folder `path` (object stores list sub-folders with a trailing `/`,
    removed here)."""
    path = os.fspath(path)
    if not is_url(path):
        return os.listdir(path)
    with _os_errors(path):
        return [name.rstrip("/") for name in _gfile().listdir(path)]


def makedirs(path):
    path = os.fspath(path)
    if not is_url(path):
        os.makedirs(path, exist_ok=True)
        return
    with _os_errors(path):
        _gfile().makedirs(path)


def remove(path):
    path = os.fspath(path)
    if not is_url(path):
        os.remove(path)
        return
    with _os_errors(path):
        _gfile().remove(path)


def rmtree(path):
    """Removes the folder `path` and everything in it, as far as possible (best effort)."""
    path = os.fspath(path)
    if not is_url(path):
        shutil.rmtree(path, ignore_errors=True)
        return
    with contextlib.suppress(OSError), _os_errors(path):
        _gfile().rmtree(path)


def walk(path):
    """`os.walk(path)`, or `tf.io.gfile.walk` for a URL (folder names without a trailing `/`).
    A folder that cannot be listed raises, rather than reading as empty."""
    path = os.fspath(path)
    if not is_url(path):
        yield from os.walk(path, onerror=_raise)
        return
    with _os_errors(path):
        for folder, folders, names in _gfile().walk(path, onerror=_raise):
            yield folder.rstrip("/"), [name.rstrip("/") for name in folders], names


def _raise(error):
    raise error


def copy(source, destination):
    """Copies the file `source` onto `destination` (replacing it), either of them a URL."""
    source, destination = os.fspath(source), os.fspath(destination)
    if not is_url(source) and not is_url(destination):
        shutil.copyfile(source, destination)
        return
    with _os_errors(source):
        _gfile().copy(source, destination, overwrite=True)


def open_file(path, mode="r"):
    """`open(path, mode)`, or a `tf.io.gfile.GFile` for a URL."""
    path = os.fspath(path)
    if not is_url(path):
        return open(path, mode)
    return _gfile().GFile(path, mode)


def read_text(path):
    """The text of the file at `path`, local or a URL (`tf.io.gfile`'s errors as `OSError`s)."""
    with _os_errors(path), open_file(path) as file:
        return file.read()


def rename(source, destination, *, overwrite):
    """Renames `source` to `destination` on a URL (see the module docstring for what it
    guarantees there); raises `FileExistsError` if `destination` exists and not `overwrite`.
    Local paths go through `os` in the callers, which know which guarantee they need."""
    if not is_url(source):
        raise ValueError(f"`rename` is for URLs; local paths use `os`. Received: {source=!r}")
    with _os_errors(destination):
        _gfile().rename(source, destination, overwrite=overwrite)

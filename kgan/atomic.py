"""Writing files that are whole or absent, and recognising what a killed writer left behind.

Every file kgan writes for later use (checkpoints, `model.keras`, `history.json`,
`config.json`, ONNX files, `models.config`) is written to a temporary name in the same folder,
flushed to disk and renamed onto its final name. A reader, or a run restarted after a kill,
sees the previous file or the new one, never half of one.

Temporary names carry the writer's host and process id (`.NAME.tmp-HOST-PID-RANDOM`). A later
writer removes the ones whose process is gone (`is_abandoned`); the ones of a live process,
or of another host sharing the folder, are left alone since nothing proves them abandoned.

Paths with a scheme (`gs://`, `s3://`, `file://`) go through `tf.io.gfile` (`kgan.storage`,
whose docstring says what each file system guarantees): there a file is written under the same
temporary name and renamed, without `fsync`; on object stores a single object appears whole or
not at all, so a reader still sees a whole file or none.
"""

import contextlib
import errno
import json
import os
import re
import socket
import sys
import uuid

from kgan import storage

# `HOST-PID-RANDOM` at the end of a temporary name, before an optional extension.
_TAG = re.compile(r"-(?P<host>[A-Za-z0-9]+)-(?P<pid>[0-9]+)-(?P<random>[0-9a-f]{8})(?:\.|$)")


def _host():
    return re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"


def writer_tag():
    """`HOST-PID-RANDOM`: names this process as the writer of a temporary file or folder."""
    return f"{_host()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _process_alive(pid):
    if pid == os.getpid():
        return True
    if sys.platform == "win32":
        # `os.kill(pid, 0)` sends CTRL_C_EVENT on Windows: no safe probe, so never "dead".
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: the process exists under another user.
        return True
    return True


def is_abandoned(name):
    """Whether the temporary file or folder `name` was left by a process of this host that no
    longer runs. Names without a writer tag, or written on another host, are never abandoned."""
    matches = list(_TAG.finditer(os.path.basename(name)))
    match = matches[-1] if matches else None
    if match is None or match.group("host") != _host():
        return False
    return not _process_alive(int(match.group("pid")))


def temp_path(path, suffix=""):
    """A hidden temporary name beside `path`, tagged with this process (see `writer_tag`)."""
    directory, name = storage.split(path)
    return storage.join(directory, f".{name}.tmp-{writer_tag()}{suffix}")


def remove_abandoned_temps(path):
    """Removes the temporary files of `path` that killed writers left behind."""
    directory, name = storage.split(path)
    prefix = f".{name}.tmp-"
    try:
        names = storage.listdir(directory)
    except OSError:
        return
    for entry in names:
        if entry.startswith(prefix) and is_abandoned(entry):
            with contextlib.suppress(OSError):
                storage.remove(storage.join(directory, entry))


def fsync_path(path):
    """Flushes a file's (or, where the platform allows, a folder's) contents to disk; nothing
    for a URL, whose file system has no such call (its writes are durable once closed)."""
    if storage.is_url(path):
        return
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return  # Folders cannot be opened on Windows; the rename is still atomic there.
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # Some file systems (and folders on some platforms) do not support fsync.
    finally:
        os.close(descriptor)


def publish(temp, path, *, overwrite=True):
    """Renames the complete file `temp` onto `path`.

    With `overwrite`, an existing `path` is replaced atomically. Without it, `path` is created
    only if nothing is there, also against a concurrent writer (a hard link fails when the name
    exists), and `FileExistsError` is raised otherwise, leaving `temp` to the caller.

    On a URL the rename is `tf.io.gfile.rename`, and "only if nothing is there" a check before
    it (see `kgan.storage`).
    """
    if storage.is_url(path):
        try:
            storage.rename(temp, path, overwrite=overwrite)
        except FileExistsError:
            raise FileExistsError(errno.EEXIST, "The file already exists", path) from None
        return
    exists = FileExistsError(errno.EEXIST, "The file already exists", path)
    if overwrite:
        os.replace(temp, path)
    else:
        try:
            os.link(temp, path)
        except FileExistsError:
            raise exists from None
        except OSError as error:
            # A file system without hard links: check, then rename (a narrow race remains).
            if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            if os.path.lexists(path):
                raise exists from None
            os.replace(temp, path)
        else:
            os.remove(temp)
    fsync_path(os.path.dirname(os.path.abspath(path)))


@contextlib.contextmanager
def replacing(path, *, suffix="", overwrite=True):
    """Yields a temporary path beside `path` to write; when the block ends without error, the
    file is flushed to disk and renamed onto `path` (see `publish`); else it is removed. An
    `OSError` about the temporary file (a folder where no file can be created) names `path`.

    Args:
        path: the final file.
        suffix: an extension the temporary name must end with (Keras saves only to `.keras`).
        overwrite: replace an existing `path` (else `FileExistsError`).
    """
    path = os.fspath(path)
    storage.makedirs(storage.split(path)[0])
    remove_abandoned_temps(path)
    temp = temp_path(path, suffix)
    try:
        yield temp
        fsync_path(temp)
        publish(temp, path, overwrite=overwrite)
    except OSError as error:
        # The temporary name is this module's business: the caller asked for `path`.
        if error.filename is not None and os.fspath(error.filename) == temp:
            error.filename = path
            if error.filename2 is not None and os.fspath(error.filename2) == path:
                error.filename2 = None
        raise
    finally:
        with contextlib.suppress(OSError):
            if storage.exists(temp):
                storage.remove(temp)


def write_bytes(path, data, *, overwrite=True):
    """Writes `data` to `path` atomically (see `replacing`)."""
    with replacing(path, overwrite=overwrite) as temp:
        with storage.open_file(temp, "wb") as file:
            file.write(data)


def write_text(path, text, *, overwrite=True):
    """Writes `text` (UTF-8) to `path` atomically (see `replacing`)."""
    write_bytes(path, text.encode("utf-8"), overwrite=overwrite)


def write_json(path, record, **kwargs):
    """Writes `record` as indented JSON to `path` atomically; `kwargs` go to `json.dumps`."""
    kwargs.setdefault("indent", 2)
    write_text(path, json.dumps(record, **kwargs) + "\n")


def save_model(model, path):
    """`model.save(path)` atomically: a kill during the save leaves the previous file whole.

    Keras chooses the format from the extension, so the temporary name keeps `path`'s.
    """
    path = os.fspath(path)
    with replacing(path, suffix=os.path.splitext(path)[1]) as temp:
        model.save(temp)


@contextlib.contextmanager
def exclusive_lock(path, *, what):
    """Holds the lock file `path` (host and process id inside) for the block.

    A lock left by a killed process of this host is taken over; one held by a live process (or
    by another host) raises `FileExistsError` naming it. `what` says what the lock protects.
    """
    path = os.fspath(path)
    for _ in range(3):
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            owner = _read_owner(path)
            if owner is None or not is_abandoned(f"x-{owner}"):
                raise FileExistsError(
                    errno.EEXIST,
                    f"{what} is in use by another process ({owner or 'unknown'}); wait for it "
                    "to end or use another folder",
                    path,
                ) from None
            # Move the stale lock to a unique name first: of two processes taking it over,
            # only one rename succeeds, so only one of them goes on to create the lock.
            stale = temp_path(path, ".stale")
            with contextlib.suppress(FileNotFoundError):
                os.rename(path, stale)
                os.remove(stale)
    else:
        raise FileExistsError(errno.EEXIST, f"{what} is in use by another process", path)
    try:
        os.write(descriptor, writer_tag().encode("ascii"))
    finally:
        os.close(descriptor)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.remove(path)


def _read_owner(path):
    try:
        with open(path, encoding="ascii", errors="replace") as file:
            text = file.read(200).strip()
    except OSError:
        return None
    return text if _TAG.search(f"-{text}") else None

"""Version folders in TF Serving's layout, and how a new version appears in them atomically.

TF Serving watches a model's base folder for integer sub-folders and loads the largest. A
version is written to a hidden sibling folder (`.tmp-<version>-<writer>`, a name that is not an
integer) and renamed into place once complete, so a server never sees half a version and a
failed export leaves nothing.

The rename is also what claims a version number: it fails when the folder exists, so of two
concurrent exports to one base folder, one gets the number and the other takes the next one
(or, when a version was asked for explicitly, fails). Replacing a version (`overwrite`) renames
the old folder away to `.old-<version>-<writer>` first; if the export is killed before the new
folder is in place, the next export or `list_versions` call puts the old one back. Temporary
folders carry their writer's host and process id, and are removed once that process is gone
(`kgan.atomic.is_abandoned`).

A base folder on a URL (`gs://`, `s3://`, any scheme `tf.io.gfile` knows) goes through the
same steps with `tf.io.gfile` (`kgan.storage`). There the rename into place is a copy, object
by object, then a delete, not an atomic step: TF Serving, which honours no completion marker,
can list a half-copied version (its load then fails and is retried). Once the rename has
finished, `COMPLETION_MARKER` (`kgan.complete`) is written into the version as its last
object; `is_complete` checks for it. `kgan.storage` says what each file system guarantees.
"""

import contextlib
import errno
import numbers
import os
import re

from kgan import atomic, storage
from kgan.storage import COMPLETION_MARKER

_STAGING = re.compile(r"^\.(?P<kind>tmp|old)-(?P<version>[0-9]+)-")
# More attempts than concurrent exports can plausibly take numbers from under one another.
_MAX_ATTEMPTS = 100
# The files that make a folder a SavedModel.
_SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


def list_versions(base_dir):
    """The integer version folders under `base_dir`, sorted (empty if it does not exist).

    A version that an `overwrite` export killed half-way had renamed away is put back first
    (see `recover`).
    """
    base_dir = os.fspath(base_dir)
    if not storage.isdir(base_dir):
        return []
    recover(base_dir)
    return _integer_folders(base_dir)


def _integer_folders(base_dir):
    return sorted(
        int(name)
        for name in storage.listdir(base_dir)
        if name.isdigit() and storage.isdir(storage.join(base_dir, name))
    )


def is_complete(version_dir):
    """Whether the version folder `version_dir` was published whole.

    A local folder is whole once it has its name (the rename is atomic). A folder on a URL is
    whole once it holds `COMPLETION_MARKER`, written after the rename had copied every object;
    without it the folder is being copied or its export was interrupted.
    """
    if not storage.isdir(version_dir):
        return False
    return not storage.is_url(version_dir) or storage.exists(
        storage.join(version_dir, COMPLETION_MARKER)
    )


def next_version(base_dir):
    """The version `to_saved_model` writes by default: one more than the largest, or 1.

    A version being replaced right now (renamed away for an instant) still counts.
    """
    versions = list_versions(base_dir)
    if storage.isdir(base_dir):
        for name in storage.listdir(base_dir):
            match = _STAGING.match(name)
            if match and match.group("kind") == "old":
                versions.append(int(match.group("version")))
    return max(versions) + 1 if versions else 1


def recover(base_dir):
    """Finishes what killed exports left in `base_dir`, once their process is provably gone.

    A version renamed away by an interrupted `overwrite` (`.old-<version>-*`) is put back when
    no folder took its place (the export never happened), else removed (the export had
    completed); unfinished `.tmp-*` folders are removed. Folders of live exports, and of other
    hosts sharing the folder, are left alone. Best effort: a folder that cannot be changed
    (read-only, no permission) stays as it is.

    Returns:
        The names of the folders put back or removed.
    """
    base_dir = os.fspath(base_dir)
    try:
        names = sorted(storage.listdir(base_dir))
    except OSError:
        return []
    handled = []
    for name in names:
        match = _STAGING.match(name)
        if not match or not atomic.is_abandoned(name):
            continue
        path = storage.join(base_dir, name)
        final_dir = storage.join(base_dir, str(int(match.group("version"))))
        if match.group("kind") == "old" and not storage.exists(final_dir):
            with contextlib.suppress(OSError):
                _move_into_place(path, final_dir)
                handled.append(name)
            continue
        storage.rmtree(path)
        if not storage.exists(path):
            handled.append(name)
    return handled


def check_version(version):
    """`version` as an `int`, which must be positive: TF Serving loads integer folders."""
    if isinstance(version, bool) or not isinstance(version, numbers.Integral) or version < 1:
        raise ValueError(
            "`version` must be a positive integer (TF Serving loads integer folders). "
            f"Received: version={version!r}"
        )
    return int(version)


def check_base_dir(base_dir):
    """`base_dir` as a `str`, checked to be a folder or a path where one can be made.

    Raises:
        TypeError: if `base_dir` is not a `str` or `os.PathLike`.
        NotADirectoryError: if `base_dir`, or a folder above it, is a file.
    """
    base_dir = storage.check_path("base_dir", base_dir)
    if storage.exists(base_dir) and not storage.isdir(base_dir):
        raise NotADirectoryError(
            errno.ENOTDIR,
            "`base_dir` is a file; pass the model's folder (TF Serving's `--model_base_path`), "
            f"which holds the version folders. Received: base_dir={base_dir!r}",
        )
    storage.check_no_file_above("base_dir", base_dir)
    if any(storage.exists(storage.join(base_dir, name)) for name in _SAVED_MODEL_FILES):
        parent = os.path.dirname(base_dir.rstrip("/")) or "."
        raise ValueError(
            "`base_dir` is a SavedModel itself (it holds saved_model.pb), such as one version of "
            "a model; a version written into it would be a folder inside a version, which TF "
            "Serving does not load. Pass the model's folder, which holds the version folders "
            f"(TF Serving's `--model_base_path`; here probably {parent!r}). "
            f"Received: base_dir={base_dir!r}"
        )
    return base_dir


def _exists_error(base_dir, version):
    return FileExistsError(
        f"Version {version} already exists in {base_dir!r}; pass `overwrite=True` "
        f"(`kgan export --overwrite`) to replace it, or leave `version` unset (no `--version`) "
        f"to write version {next_version(base_dir)}. Received: version={version}"
    )


def version_folder(base_dir, version, *, overwrite):
    """Chooses the version to write and checks that it may be written.

    The check is early, to fail before a long export; `publish` makes the decision that
    counts, atomically.

    Args:
        base_dir: the model's folder (`os.fspath`-able).
        version: a positive integer, or `None` for `next_version(base_dir)`.
        overwrite: whether an existing version may be replaced.

    Returns:
        `(version, final_dir)`.

    Raises:
        FileExistsError: if `base_dir/<version>` exists and `overwrite` is false.
        NotADirectoryError: if `base_dir`, or a folder above it, is a file.
    """
    base_dir = check_base_dir(base_dir)
    if version is None:
        version = next_version(base_dir)
    version = check_version(version)
    final_dir = storage.join(base_dir, str(version))
    if storage.exists(final_dir) and not overwrite:
        raise _exists_error(base_dir, version)
    return version, final_dir


@contextlib.contextmanager
def staging_folder(base_dir, version):
    """Yields a hidden folder in `base_dir` to write a version into; removes it on exit unless
    `publish` moved it into place."""
    base_dir = os.fspath(base_dir)
    storage.makedirs(base_dir)
    recover(base_dir)
    # A hidden name: TF Serving only loads folders whose name is an integer.
    temp_dir = storage.join(base_dir, f".tmp-{version}-{atomic.writer_tag()}")
    try:
        yield temp_dir
    finally:
        # Reached with the folder still present only when something failed.
        if storage.exists(temp_dir):
            storage.rmtree(temp_dir)


def _rename_no_clobber(source, destination):
    """Renames the folder `source` to `destination`, which must not exist.

    POSIX `rename` replaces an empty folder and fails on a non-empty one; both become
    `FileExistsError` here, so a version is never replaced without `overwrite`. On a URL,
    `tf.io.gfile.rename` checks that `destination` is absent, then copies (see `kgan.storage`).
    """
    if storage.is_url(source):
        storage.rename(source, destination, overwrite=False)
        return
    if os.path.lexists(destination):
        raise FileExistsError(errno.EEXIST, "Folder exists", destination)
    try:
        os.rename(source, destination)
    except OSError as error:
        if error.errno in (errno.EEXIST, errno.ENOTEMPTY) or os.path.lexists(destination):
            raise FileExistsError(errno.EEXIST, "Folder exists", destination) from error
        raise


def _replace(temp_dir, final_dir):
    """Replaces the version folder `final_dir` with `temp_dir`.

    `os.rename` cannot replace a non-empty folder, so the old version is renamed away first.
    TF Serving sees the version missing for the instant between the two renames, never a mix;
    a kill in that instant leaves `.old-*` for `recover` to put back.
    """
    base_dir, version = storage.split(final_dir)
    old_dir = storage.join(base_dir, f".old-{version}-{atomic.writer_tag()}")
    try:
        if storage.is_url(final_dir):
            storage.rename(final_dir, old_dir, overwrite=False)
        else:
            os.rename(final_dir, old_dir)
    except FileNotFoundError:
        _move_into_place(temp_dir, final_dir)  # Removed meanwhile: nothing to replace.
        return
    try:
        _move_into_place(temp_dir, final_dir)
    except BaseException:
        with contextlib.suppress(OSError):
            _move_into_place(old_dir, final_dir)
        raise
    storage.rmtree(old_dir)


def _move_into_place(source, final_dir):
    """Renames the version folder `source` to `final_dir` (see `_rename_no_clobber`).

    On a URL, `COMPLETION_MARKER` is then written as the folder's last object; one that
    `source` holds (a version put back) is removed first, since the object-by-object copy
    would carry it over before the rest. A local folder is complete once renamed, and gets
    no marker.
    """
    if not storage.is_url(source):
        _rename_no_clobber(source, final_dir)
        return
    with contextlib.suppress(FileNotFoundError):
        storage.remove(storage.join(source, COMPLETION_MARKER))
    _rename_no_clobber(source, final_dir)
    atomic.write_text(storage.join(final_dir, COMPLETION_MARKER), atomic.writer_tag() + "\n")


def publish(temp_dir, base_dir, version, *, overwrite, renumber, on_renumber=None):
    """Moves the complete version in `temp_dir` into place as `base_dir/<version>`.

    Args:
        temp_dir: the staging folder (see `staging_folder`).
        base_dir: the model's folder.
        version: the version chosen by `version_folder`.
        overwrite: replace an existing version.
        renumber: when the version appeared meanwhile (a concurrent export took the number),
            take the next free one instead of failing; for versions not asked for explicitly.
        on_renumber: called with the new version before it is taken, to update the files in
            `temp_dir` that name it.

    Returns:
        `(version, final_dir)`: the version written.

    Raises:
        FileExistsError: if the version exists and neither `overwrite` nor `renumber` is set.
    """
    base_dir = os.fspath(base_dir)
    for _ in range(_MAX_ATTEMPTS):
        final_dir = storage.join(base_dir, str(version))
        try:
            if overwrite and storage.exists(final_dir):
                _replace(temp_dir, final_dir)
            else:
                _move_into_place(temp_dir, final_dir)
            atomic.fsync_path(base_dir)
            return version, final_dir
        except FileExistsError:
            if overwrite:
                continue  # The version appeared meanwhile: replace it on the next attempt.
            if not renumber:
                raise _exists_error(base_dir, version) from None
        version = max(next_version(base_dir), version + 1)
        if on_renumber is not None:
            on_renumber(version)
    raise FileExistsError(
        f"Could not take a free version number in {base_dir!r} after {_MAX_ATTEMPTS} attempts "
        f"(other exports keep taking them). Received: version={version}"
    )

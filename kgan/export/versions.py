"""Version folders in TF Serving's layout, and how a new version appears in them atomically.

TF Serving watches a model's base folder for integer sub-folders and loads the largest. A
version is written to a hidden sibling folder (a name that is not an integer) and renamed into
place once complete, so a server never sees half a version and a failed export leaves nothing.
"""

import contextlib
import numbers
import os
import shutil
import uuid


def list_versions(base_dir):
    """The integer version folders under `base_dir`, sorted (empty if it does not exist)."""
    base_dir = os.fspath(base_dir)
    if not os.path.isdir(base_dir):
        return []
    return sorted(
        int(name)
        for name in os.listdir(base_dir)
        if name.isdigit() and os.path.isdir(os.path.join(base_dir, name))
    )


def next_version(base_dir):
    """The version `to_saved_model` writes by default: one more than the largest, or 1."""
    versions = list_versions(base_dir)
    return versions[-1] + 1 if versions else 1


def check_version(version):
    """`version` as an `int`, which must be positive: TF Serving loads integer folders."""
    if isinstance(version, bool) or not isinstance(version, numbers.Integral) or version < 1:
        raise ValueError(
            "`version` must be a positive integer (TF Serving loads integer folders). "
            f"Received: version={version!r}"
        )
    return int(version)


def version_folder(base_dir, version, *, overwrite):
    """Chooses the version to write and checks that it may be written.

    Args:
        base_dir: the model's folder (`os.fspath`-able).
        version: a positive integer, or `None` for `next_version(base_dir)`.
        overwrite: whether an existing version may be replaced.

    Returns:
        `(version, final_dir)`.

    Raises:
        FileExistsError: if `base_dir/<version>` exists and `overwrite` is false.
    """
    base_dir = os.fspath(base_dir)
    if version is None:
        version = next_version(base_dir)
    version = check_version(version)
    final_dir = os.path.join(base_dir, str(version))
    if os.path.exists(final_dir) and not overwrite:
        raise FileExistsError(
            f"Version {version} already exists in {base_dir!r}; pass `overwrite=True` to replace "
            f"it, or leave `version` unset to write version {next_version(base_dir)}. "
            f"Received: version={version}"
        )
    return version, final_dir


@contextlib.contextmanager
def staging_folder(base_dir, version):
    """Yields a hidden folder in `base_dir` to write a version into; removes it on exit unless
    `move_into_place` moved it away."""
    base_dir = os.fspath(base_dir)
    os.makedirs(base_dir, exist_ok=True)
    # A hidden name: TF Serving only loads folders whose name is an integer.
    temp_dir = os.path.join(base_dir, f".tmp-{version}-{uuid.uuid4().hex[:12]}")
    try:
        yield temp_dir
    finally:
        # Reached with the folder still present only when something failed.
        if os.path.exists(temp_dir):
            shutil.rmtree(temp_dir, ignore_errors=True)


def move_into_place(temp_dir, final_dir, *, overwrite):
    """Renames the complete `temp_dir` to `final_dir`, replacing it when `overwrite` is set."""
    if not os.path.exists(final_dir):
        try:
            os.rename(temp_dir, final_dir)
            return
        except OSError as error:
            # Another export created the same version between our check and the rename.
            if not os.path.exists(final_dir):
                raise
            if not overwrite:
                raise FileExistsError(
                    f"Version folder {final_dir!r} appeared while exporting. "
                    f"Received: overwrite={overwrite}"
                ) from error
    # Rename the old version away first: os.rename cannot replace a non-empty folder. TF
    # Serving sees the version missing for the instant between the two renames, never a mix.
    old_dir = os.path.join(
        os.path.dirname(final_dir), f".old-{os.path.basename(final_dir)}-{uuid.uuid4().hex[:12]}"
    )
    os.rename(final_dir, old_dir)
    try:
        os.rename(temp_dir, final_dir)
    except BaseException:
        os.rename(old_dir, final_dir)
        raise
    shutil.rmtree(old_dir, ignore_errors=True)

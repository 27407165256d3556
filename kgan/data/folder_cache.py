"""The on-disk cache of decoded image folders: decode a folder once, load it in seconds after.

A folder's decoded uint8 array is stored as one `.npz` file in the cache folder
(`$KGAN_CACHE_DIR/folders`, else `~/.cache/kgan/folders`). Its name is a hash of
everything that decides the array: every file's path, size, inode and modification and
status-change times (as git's index keeps them: a file rewritten with its old size and
modification time, as `cp -p` or `rsync -t` do, still has a new status-change time), and the
`image_size`, `crop` and `color_mode` it was decoded with. Any change to the folder or to
those arguments gives another name, so a stale entry is never read; the file also stores its
key, and an entry that cannot be read whole, or whose key differs, is decoded again.
Entries are written atomically (a complete file or none). An entry's name also starts with a
hash of what it was read from (the folder, the selection and the arguments, not the files'
contents): when the folder changes and is decoded again, the new entry replaces the old one
instead of piling up beside it.
"""

import hashlib
import json
import os
import pathlib

import numpy as np

from kgan import atomic

ENV_VAR = "KGAN_CACHE_DIR"
_FORMAT = 1


def cache_root():
    """kgan's cache folder: `$KGAN_CACHE_DIR`, else `~/.cache/kgan`. Decoded folders go to its
    `folders/`, the staging folders of runs at URLs (`kgan.runs.remote`) to its `runs/`."""
    folder = os.environ.get(ENV_VAR)
    if folder:
        return pathlib.Path(os.path.expanduser(folder))
    return pathlib.Path.home() / ".cache" / "kgan"


def cache_dir():
    """The folder of decoded folders: `$KGAN_CACHE_DIR/folders`, else `~/.cache/kgan/folders`."""
    return cache_root() / "folders"


def key(paths, *, image_size, crop, color_mode):
    """The cache key of decoding `paths` with these arguments (a hex digest)."""
    digest = hashlib.sha256()
    settings = {
        "format": _FORMAT,
        "image_size": None if image_size is None else list(image_size),
        "crop": crop,
        "color_mode": color_mode,
    }
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for path in paths:
        stat = os.stat(path)
        described = (
            os.path.abspath(path),
            stat.st_size,
            stat.st_ino,
            stat.st_mtime_ns,
            stat.st_ctime_ns,
        )
        digest.update(("\0".join(map(str, described)) + "\n").encode())
    return digest.hexdigest()


def source(directory, **selection):
    """What an entry was read from, whatever the files hold: the folder and the keyword
    arguments that select and decode its images (a hex digest)."""
    described = {"folder": os.path.abspath(directory), **selection}
    return hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()


def _entry(cache_key, source_key):
    return cache_dir() / f"{source_key[:16]}-{cache_key[:32]}.npz"


def read(cache_key, source_key):
    """The cached array for `cache_key`, or `None` when there is none or it is unreadable."""
    path = _entry(cache_key, source_key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as entry:
            if str(entry["key"]) != cache_key:
                return None
            return entry["images"]
    except Exception:  # Corrupt in any way (a garbled zip header raises NotImplementedError):
        return None  # the caller decodes again and rewrites it.


def write(cache_key, source_key, images):
    """Stores `images` under `cache_key`, and removes the entries of the same source that it
    supersedes; a cache folder that cannot be written is skipped."""
    path = _entry(cache_key, source_key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic.replacing(path, suffix=".npz") as temp:
            with open(temp, "wb") as file:
                np.savez(file, images=images, key=np.array(cache_key))
        superseded = [p for p in path.parent.glob(f"{source_key[:16]}-*.npz") if p != path]
        # The same array under a name of its key alone, as caches without sources name it.
        superseded.append(path.parent / f"{cache_key[:32]}.npz")
        for old in superseded:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # Caching is an optimisation: a read-only home must not stop training.

"""Local data: the data folder setting, the MNIST-format IDX files in it, the embedded sample.

kgan looks for local copies before anything is downloaded, so that training and tests work
offline. The data folder is the `data_dir=` argument, else the `KGAN_DATA_DIR` environment
variable, and holds the original distribution files:

    <data_dir>/mnist/train-images-idx3-ubyte.gz        (or uncompressed, or train-images.idx3-ubyte)
    <data_dir>/mnist/train-labels-idx1-ubyte.gz
    <data_dir>/mnist/t10k-images-idx3-ubyte.gz         (split="test")
    <data_dir>/mnist/t10k-labels-idx1-ubyte.gz
    <data_dir>/fashion_mnist/...                       (same names)
"""

import functools
import os
import pathlib

import numpy as np

from kgan.data.idx import read_idx

ENV_VAR = "KGAN_DATA_DIR"
EMBEDDED_DATASET = "fashion_mnist_sample"
IDX_DATASETS = ("mnist", "fashion_mnist")
IDX_SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
CLASS_NAMES = {
    "mnist": [str(digit) for digit in range(10)],
    "fashion_mnist": [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ],
}  # fmt: skip
CLASS_NAMES[EMBEDDED_DATASET] = CLASS_NAMES["fashion_mnist"]
RESOURCES = pathlib.Path(__file__).resolve().parents[1] / "resources"
EMBEDDED_FILES = (
    RESOURCES / f"{EMBEDDED_DATASET}-images-idx3-ubyte.gz",
    RESOURCES / f"{EMBEDDED_DATASET}-labels-idx1-ubyte.gz",
)


def data_dir(path=None):
    """Returns kgan's local data folder: `path` if given, else `$KGAN_DATA_DIR`, else `None`.

    Args:
        path: a folder given explicitly (the `data_dir=` argument of kgan's loaders).

    Returns:
        The folder as an absolute `pathlib.Path`, or `None` when neither is set.

    Raises:
        ValueError: if the folder is set but does not exist, naming where it was set.

    Example:
    >>> kgan.data.data_dir("~/datasets")
    PosixPath('/home/me/datasets')
    """
    if path is not None:
        source, value = "data_dir", path
    elif os.environ.get(ENV_VAR):
        source, value = ENV_VAR, os.environ[ENV_VAR]
    else:
        return None
    folder = pathlib.Path(os.path.expanduser(os.fspath(value))).resolve()
    if not folder.is_dir():
        where = "argument" if source == "data_dir" else "environment variable"
        raise ValueError(
            f"The data folder given by the `{source}` {where} does not exist. "
            f"Received: {source}={os.fspath(value)!r}"
        )
    return folder


def _find_file(folder, stem):
    """Finds `stem` in `folder` under the names distributions use (gzip or not, - or .)."""
    dotted = stem[::-1].replace("-", ".", 1)[
        ::-1
    ]  # train-images-idx3-ubyte -> ...images.idx3-ubyte
    for name in (f"{stem}.gz", stem, f"{dotted}.gz", dotted):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def find_idx_files(name, split, folder):
    """Returns `(images_path, labels_path_or_None)` of a split in `folder/name`, or `None`.

    Only the images file is required; a missing labels file is reported when labels are asked.
    """
    if folder is None:
        return None
    images_stem, labels_stem = IDX_SPLITS[split]
    images = _find_file(folder / name, images_stem)
    if images is None:
        return None
    return images, _find_file(folder / name, labels_stem)


def local_sources(folder):
    """Names of the IDX datasets with at least one split present in `folder`."""
    return [
        name
        for name in IDX_DATASETS
        if any(find_idx_files(name, split, folder) for split in IDX_SPLITS)
    ]


@functools.lru_cache(maxsize=8)
def _read_idx_cached(path, modified_ns, size):
    del modified_ns, size  # Part of the cache key only: a replaced file is read again.
    array = read_idx(path)
    array.flags.writeable = False  # Shared between callers; nobody may change it in place.
    return array


def read_idx_once(path):
    """`read_idx`, decoded once per process and file version (the loaders share the arrays)."""
    stat = os.stat(path)
    return _read_idx_cached(os.fspath(path), stat.st_mtime_ns, stat.st_size)


def load_idx_pair(images_path, labels_path, *, with_labels, source):
    """Reads an images file and, when asked, its labels file, and checks that they agree.

    Returns:
        `(images (N, H, W, 1) uint8, labels (N,) int32 or None)`.
    """
    images = read_idx_once(images_path)
    if images.ndim != 3:
        raise ValueError(
            f"An IDX images file must have 3 dimensions (count, rows, columns); this one has "
            f"shape {images.shape}. Received: path={os.fspath(images_path)!r}"
        )
    if len(images) == 0:
        raise ValueError(
            f"The IDX images file holds no images. Received: path={os.fspath(images_path)!r}"
        )
    images = images[..., np.newaxis]
    if not with_labels:
        return images, None
    if labels_path is None:
        raise ValueError(
            f"Labels were asked for but {source} has no labels file next to "
            f"{os.fspath(images_path)!r} (expected "
            f"{pathlib.Path(images_path).name.replace('images-idx3', 'labels-idx1')}). "
            "Received: with_labels=True"
        )
    labels = read_idx_once(labels_path)
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(
            f"The labels file does not match its images file: {len(images)} images in "
            f"{os.fspath(images_path)!r} but labels of shape {labels.shape}. "
            f"Received: path={os.fspath(labels_path)!r}"
        )
    if labels.max() > 9:
        raise ValueError(
            f"The labels file holds a label {int(labels.max())}; MNIST-format labels are "
            f"0 to 9, so the file is corrupt. Received: path={os.fspath(labels_path)!r}"
        )
    return images, labels.astype(np.int32)


def offline_instructions(name, split, folder):
    """Says which files to put where so that `name` loads without a network."""
    images_stem, labels_stem = IDX_SPLITS.get(split, IDX_SPLITS["train"])
    where = (
        f"{folder / name}"
        if folder is not None
        else f"<data folder>/{name}, where <data folder> is the `data_dir=` argument or the "
        f"{ENV_VAR} environment variable (not set now)"
    )
    return (
        f"To load {name!r} offline, put the original distribution files {images_stem}.gz and "
        f"{labels_stem}.gz (gzip or not) in {where}."
    )

"""Local data: the data folder setting, the MNIST-format IDX files in it, the embedded sample.

kgan looks for local copies before anything is downloaded, so that training and tests work
offline. The data folder is the `data_dir=` argument, else the `KGAN_DATA_DIR` environment
variable, and holds the original distribution files:

    <data_dir>/mnist/train-images-idx3-ubyte.gz        (or uncompressed, or train-images.idx3-ubyte)
    <data_dir>/mnist/train-labels-idx1-ubyte.gz
    <data_dir>/mnist/t10k-images-idx3-ubyte.gz         (split="test")
    <data_dir>/mnist/t10k-labels-idx1-ubyte.gz
    <data_dir>/fashion_mnist/...                       (same names)

`mnist_arrays` reads MNIST into memory from there, else through tensorflow-datasets: the digits
that Stacked MNIST stacks.
"""

import functools
import os
import pathlib

import numpy as np

from kgan.data import pipeline, tfds_source
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


# The loaders below take a `data_dir=` argument, which hides the function of that name.
_resolve_data_dir = data_dir


def _find_file(folder, stem):
    """Finds `stem` in `folder` under the names distributions use (gzip or not, - or .)."""
    # The last "-" becomes ".": train-images-idx3-ubyte -> train-images.idx3-ubyte.
    dotted = stem[::-1].replace("-", ".", 1)[::-1]
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


def idx_arrays(name, split, data_dir, *, with_labels):
    """Arrays of a local IDX dataset or of the embedded sample; `None` if not present locally.

    Returns:
        `(images uint8 (N, 28, 28, 1), labels int32 or None, slice function)` or `None`.
    """
    if name == EMBEDDED_DATASET:
        _, split_slice = pipeline.parse_split(
            split, ("train",), source=f"the embedded dataset {name!r}"
        )
        images, labels = load_idx_pair(*EMBEDDED_FILES, with_labels=with_labels, source=f"{name!r}")
        return images, labels, split_slice
    split_name, split_slice = pipeline.parse_split(
        split, tuple(IDX_SPLITS), source=f"the local {name!r} files"
    )
    files = find_idx_files(name, split_name, _resolve_data_dir(data_dir))
    if files is None:
        return None
    images, labels = load_idx_pair(*files, with_labels=with_labels, source=f"{name!r}")
    return images, labels, split_slice


def mnist_arrays(split="train", data_dir=None):
    """MNIST digits in memory, from the local IDX files or else tfds: `(images, labels)`.

    Returns:
        uint8 images `(N, 28, 28, 1)` and int32 labels `(N,)`.
    """
    found = idx_arrays("mnist", split, data_dir, with_labels=True)
    if found is not None:
        images, labels, split_slice = found
        selection = split_slice(len(images))
        return images[selection], labels[selection]
    advice = offline_instructions("mnist", split, _resolve_data_dir(data_dir))
    try:
        return tfds_source.load_arrays("mnist", split, data_dir, offline_advice=advice)
    except tfds_source.UnknownDatasetError:  # pragma: no cover - tfds always knows mnist.
        raise ValueError(
            "tensorflow-datasets does not know 'mnist'. Received: name='mnist'"
        ) from None

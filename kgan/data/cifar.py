"""CIFAR-10 from a local copy: class folders, or the original pickled or binary batches.

`load("cifar10")` looks in `<data_dir>/cifar10/` (see `kgan.data.data_dir`) for, in order:

    <data_dir>/cifar10/train/<class>/*.png|jpg     class folders, one per CIFAR-10 class name
    <data_dir>/cifar10/test/<class>/...
    <data_dir>/cifar10/cifar-10-batches-py/        the Python pickles (data_batch_1 ... 5,
                                                   test_batch)
    <data_dir>/cifar10/cifar-10-batches-bin/       the binary files (data_batch_1.bin ...,
                                                   test_batch.bin)

and falls back to tensorflow-datasets when none is there. Labels always follow CIFAR-10's
order (`CLASS_NAMES`: airplane ... truck), whichever source they come from. Class folders are
read one image of each class in turn (each class's in sorted file order), so that, as in the
original batches, the first images of a split hold every class.

Reference: Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", 2009
(https://www.cs.toronto.edu/~kriz/cifar.html describes both batch formats).
"""

import collections
import os
import pathlib
import pickle

import numpy as np

from kgan.data import folder, local, pipeline

NAME = "cifar10"
CLASS_NAMES = [
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
]  # fmt: skip
SPLITS = ("train", "test")
IMAGE_SHAPE = (32, 32, 3)
_PIXELS = 32 * 32 * 3
_BATCH_FILES = {
    "train": [f"data_batch_{i}" for i in range(1, 6)],
    "test": ["test_batch"],
}
_RECORD = 1 + _PIXELS  # Bytes of one image of a binary batch: its label, then its pixels.


# The only objects a CIFAR-10 pickle refers to by name: NumPy arrays (as NumPy 1 and 2 pickle
# them) and, in a pickle written by Python 3 with protocol 2, its bytes. Unpickling calls what
# a pickle names, so a file naming anything else is refused instead of run.
_PICKLE_GLOBALS = {
    *((module, name) for module in ("numpy.core.multiarray", "numpy._core.multiarray")
      for name in ("_reconstruct", "scalar")),
    *((module, "_frombuffer") for module in ("numpy.core.numeric", "numpy._core.numeric")),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}  # fmt: skip


class _BatchUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _PICKLE_GLOBALS:
            raise pickle.UnpicklingError(f"it refers to {module}.{name}, which no batch holds")
        return super().find_class(module, name)


def _read_pickle_batch(path):
    """One `cifar-10-batches-py` file: a pickled dict with b"data" (N, 3072) uint8 pixels and
    b"labels" (N integers)."""

    def refused(problem):
        return ValueError(
            f"A CIFAR-10 pickle batch could not be read ({problem}); the file is truncated or "
            f"not a CIFAR-10 batch. Received: file={os.fspath(path)!r}"
        )

    try:
        with open(path, "rb") as file:
            batch = _BatchUnpickler(file, encoding="bytes").load()
    except Exception as error:  # A garbled pickle can raise almost anything.
        raise refused(f"{type(error).__name__}: {error}") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise refused("it must be a dict with b'data' and b'labels'")
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[b"labels"])
    if data.ndim != 2 or data.shape[1] != _PIXELS or labels.shape != (len(data),):
        raise refused(
            f"it must hold data of shape (N, {_PIXELS}) and N labels; this one has data "
            f"{data.shape} and labels {labels.shape}"
        )
    if data.dtype.kind not in "iu" or labels.dtype.kind not in "iu":
        raise refused(f"its data and labels must be integers, not {data.dtype} and {labels.dtype}")
    if data.size and (data.min() < 0 or data.max() > 255):
        raise refused(f"its pixels must lie in 0-255, not {data.min()}-{data.max()}")
    return data.astype(np.uint8), labels


def _read_binary_batch(path):
    """One `cifar-10-batches-bin` file: records of 1 label byte then 3,072 pixel bytes."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % _RECORD:
        raise ValueError(
            f"A CIFAR-10 binary batch must be a whole number of {_RECORD}-byte records; this "
            f"file has {raw.size} bytes, so it is truncated or not a CIFAR-10 batch. "
            f"Received: file={os.fspath(path)!r}"
        )
    records = raw.reshape(-1, _RECORD)
    return records[:, 1:], records[:, 0]


def _check_binary_sizes(paths, directory):
    """Every binary batch of the distribution holds as many images (10,000 in the original), so
    a file of `paths` cut between two records, which reads without error, differs in size from
    most of the distribution's files (when most agree: a size more of them have than any
    other)."""
    present = [
        candidate
        for stems in _BATCH_FILES.values()
        for candidate in (directory / f"{stem}.bin" for stem in stems)
        if candidate.is_file()
    ]
    counts = collections.Counter(candidate.stat().st_size for candidate in present).most_common()
    if len(counts) < 2 or counts[0][1] == counts[1][1]:
        return  # All agree, or no size is the most common one.
    common = counts[0][0]
    for path in paths:
        size = path.stat().st_size
        if size != common and size % _RECORD == 0:
            raise ValueError(
                f"A CIFAR-10 binary batch holds {size // _RECORD} images where most batches "
                f"hold {common // _RECORD}, so it is truncated or not a CIFAR-10 batch. "
                f"Received: file={os.fspath(path)!r}"
            )


def _read_batches(paths, reader):
    images, labels = [], []
    for path in paths:
        data, batch_labels = reader(path)
        outside = (batch_labels > 9) | (batch_labels < 0)
        if np.any(outside):
            raise ValueError(
                f"A CIFAR-10 batch holds a label outside 0-9 ({int(batch_labels[outside][0])}), so "
                f"the file is corrupt. Received: file={os.fspath(path)!r}"
            )
        # Each row is the red, then green, then blue plane of 32x32, row-major.
        images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels.append(np.asarray(batch_labels, dtype=np.int32))
    return np.concatenate(images), np.concatenate(labels)


def _batch_paths(directory, split, suffix):
    paths = [directory / f"{stem}{suffix}" for stem in _BATCH_FILES[split]]
    missing = [os.fspath(p) for p in paths if not p.is_file()]
    if missing:
        raise ValueError(
            f"The CIFAR-10 folder {os.fspath(directory)!r} lacks the {split!r} split's "
            f"file(s) {missing}. Received: split={split!r}"
        )
    return paths


def _list_class_folders(split_folder):
    """`folder.list_images` of a class-folder split, refused before anything is decoded
    unless it is the ten class folders with the images directly inside."""
    paths, labels, class_names = folder.list_images(split_folder)
    if labels is None:
        root = pathlib.Path(os.path.expanduser(os.fspath(split_folder)))
        stray = next((p for p in paths if p.parent.parent != root), paths[0])
        raise ValueError(
            "A CIFAR-10 class-folder split must hold its images in the ten class folders "
            f"{CLASS_NAMES}, directly inside them; this one holds images elsewhere "
            f"(in the split folder itself or deeper), such as {os.fspath(stray)!r}. "
            f"Received: folder={os.fspath(split_folder)!r}"
        )
    if class_names != sorted(CLASS_NAMES):
        empty = sorted(
            name for name in set(CLASS_NAMES) - set(class_names) if (split_folder / name).is_dir()
        )
        if empty:
            raise ValueError(
                f"The CIFAR-10 class folder(s) {empty} hold no images (looked for "
                f"{', '.join(folder.IMAGE_EXTENSIONS)} files). "
                f"Received: folder={os.fspath(split_folder)!r}"
            )
        missing = sorted(set(CLASS_NAMES) - set(class_names))
        extra = sorted(set(class_names) - set(CLASS_NAMES))
        raise ValueError(
            "A CIFAR-10 class-folder split must hold exactly the ten class folders "
            f"{CLASS_NAMES}; missing {missing}, unexpected {extra}. "
            f"Received: folder={os.fspath(split_folder)!r}"
        )
    return paths, labels, class_names


def _class_folder_arrays(split_folder, *, image_size, crop, color_mode, verbose):
    images, labels, class_names = folder.read_folder(
        split_folder,
        image_size=image_size,
        crop=crop,
        color_mode=color_mode,
        with_labels=True,
        verbose=verbose,
        listing=_list_class_folders(split_folder),
    )
    # Sorted folder names -> CIFAR-10's label order.
    to_cifar = np.array([CLASS_NAMES.index(name) for name in class_names], dtype=np.int32)
    # The classes in turn, as the original batches mix them: the first N images of a split
    # (`num_samples`, `split="train[:N]"`) hold every class.
    order = folder.classes_in_turn(labels)
    return images[order], to_cifar[labels][order]


def find_source(data_dir):
    """The local CIFAR-10 source in `<data_dir>/cifar10/`: `(kind, path)` or `None`."""
    if data_dir is None:
        return None
    root = data_dir / NAME
    if (root / "train").is_dir() or (root / "test").is_dir():
        return "folders", root
    for kind, sub in (("pickle", "cifar-10-batches-py"), ("binary", "cifar-10-batches-bin")):
        if (root / sub).is_dir():
            return kind, root / sub
    return None


def offline_instructions(data_dir):
    """Says where a local CIFAR-10 copy must be for `load("cifar10")` to work offline."""
    where = (
        f"{data_dir / NAME}"
        if data_dir is not None
        else f"<data folder>/{NAME}, where <data folder> is the `data_dir=` argument or the "
        f"{local.ENV_VAR} environment variable (not set now)"
    )
    return (
        f"To load 'cifar10' offline, put in {where} either class folders train/<class>/ and "
        "test/<class>/ of PNG/JPEG images (class names airplane ... truck), or the original "
        "cifar-10-batches-py/ or cifar-10-batches-bin/ folder."
    )


def arrays(split, data_dir, *, image_size=None, crop=None, color_mode=None, verbose="auto"):
    """CIFAR-10 from the local data folder, or `None` when no local copy is there.

    Args:
        split: `"train"` or `"test"`, optionally sliced (`"train[:10000]"`).
        data_dir: the data folder (`None`: `$KGAN_DATA_DIR`).
        image_size, crop, color_mode: as in `kgan.data.load`; applied while decoding folders.
        verbose: progress while decoding a class-folder copy (as `keras.Model.predict`).

    Returns:
        `(images uint8 (N, H, W, C), labels int32 (N,), slice function, transformed)` or
        `None`. `transformed` says whether `image_size`/`crop`/`color_mode` were already
        applied (class folders apply them while decoding; the caller applies them to the
        original batches).
    """
    split_name, split_slice = pipeline.parse_split(split, SPLITS, source="the local CIFAR-10 copy")
    found = find_source(local.data_dir(data_dir))
    if found is None:
        return None
    kind, path = found
    if kind == "folders":
        split_folder = path / split_name
        if not split_folder.is_dir():
            raise ValueError(
                f"The CIFAR-10 copy in {os.fspath(path)!r} has no {split_name!r} folder. "
                f"Received: split={split!r}"
            )
        images, labels = _class_folder_arrays(
            split_folder, image_size=image_size, crop=crop, color_mode=color_mode, verbose=verbose
        )
        return images, labels, split_slice, True
    if kind == "pickle":
        images, labels = _read_batches(_batch_paths(path, split_name, ""), _read_pickle_batch)
    else:
        paths = _batch_paths(path, split_name, ".bin")
        _check_binary_sizes(paths, path)
        images, labels = _read_batches(paths, _read_binary_batch)
    return images, labels, split_slice, False

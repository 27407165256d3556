"""`load`: one entry point for every source, and the in-memory source `from_arrays`.

`load(name)` resolves `name` in this order:

1. `"fashion_mnist_sample"`: the 2,000-image Fashion-MNIST subset shipped inside kgan.
2. `"gaussian_ring"`, `"gaussian_grid"`, `"stacked_mnist"`: the toy distributions.
3. A path to a folder of PNG/JPEG images (a `pathlib.Path`, an existing folder, or a string
   starting with `/`, `.` or `~`).
4. `"mnist"`, `"fashion_mnist"`: the IDX files in the local data folder, when present.
5. Any other name: a tensorflow-datasets image dataset, downloaded by tfds on first use.
"""

import os

import numpy as np

from kgan._validation import check_positive_int
from kgan.data import cifar, folder, local, pipeline, tfds_source, toys
from kgan.progress import check_verbose

TOY_DATASETS = ("gaussian_ring", "gaussian_grid", "stacked_mnist")
_TOY_DEFAULT_SAMPLES = {
    "gaussian_ring": 100_000,
    "gaussian_grid": 100_000,
    "stacked_mnist": 128_000,
}


def _finish_arrays(
    images,
    labels,
    *,
    split_slice,
    batch_size,
    shuffle,
    seed,
    drop_remainder,
    image_size,
    color_mode,
    crop=None,
    num_samples=None,
    class_names=None,
    split=None,
):
    """Slices, transforms (once) and batches in-memory uint8 images from a local source."""
    total = len(images)
    selection = split_slice(total)
    images = images[selection][:num_samples]
    if labels is not None:
        labels = labels[selection][:num_samples]
    if len(images) == 0:
        raise ValueError(
            f"The split selects none of the {total} examples. Received: split={split!r}"
        )
    images = pipeline.transform_arrays(images, image_size, color_mode, crop)
    dataset = pipeline.array_dataset(
        images,
        labels,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        drop_remainder=drop_remainder,
    )
    if labels is not None and class_names is not None:
        dataset.class_names = list(class_names)
    return dataset


def from_arrays(
    x,
    y=None,
    *,
    batch_size=128,
    shuffle=True,
    seed=None,
    drop_remainder=False,
    image_size=None,
    color_mode=None,
):
    """A batched `tf.data.Dataset` of in-memory images (and labels), ready for `GAN.fit`.

    Args:
        x: uint8 images `(N, H, W)` or `(N, H, W, C)` in [0, 255], scaled per batch as
            `x / 127.5 - 1`; or float images already in [-1, 1], passed through as float32.
            `(N, H, W)` gets a channel axis. Float vectors `(N, D)` are accepted too.
        y: optional integer labels `(N,)`; the dataset then yields `(images, labels)`.
        batch_size: examples per batch.
        shuffle: reshuffle every epoch (a full permutation).
        seed: integer for a reproducible order, or `None`.
        drop_remainder: drop a last, smaller batch.
        image_size: `(height, width)` (or one int) to resize uint8 images to, once.
        color_mode: `"grayscale"` or `"rgb"` to convert uint8 images, once; `None` keeps them.

    Returns:
        A `tf.data.Dataset` of float32 batches `(B, H, W, C)` (with int32 labels `(B,)`).

    Example:
    >>> (x, y), _ = keras.datasets.mnist.load_data()
    >>> dataset = kgan.data.from_arrays(x, y, batch_size=128, seed=0)
    """
    pipeline.check_batching(batch_size, shuffle, seed, drop_remainder)
    image_size = pipeline.normalize_image_size(image_size)
    pipeline.check_color_mode(color_mode)
    images = pipeline.prepare_images(x)
    labels = None if y is None else pipeline.prepare_labels(y, len(images))
    if image_size is not None or color_mode is not None:
        if images.dtype != np.uint8 or images.ndim != 4:
            raise ValueError(
                "`image_size` and `color_mode` apply to uint8 images (N, H, W[, C]); resize "
                "float images yourself. Received: x of dtype "
                f"{images.dtype} and shape {images.shape}"
            )
        images = pipeline.transform_arrays(images, image_size, color_mode)
    return pipeline.array_dataset(
        images,
        labels,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        drop_remainder=drop_remainder,
    )


def is_path(name):
    """Whether `load` reads `name` as a folder path rather than a data set's name."""
    if isinstance(name, os.PathLike):
        return True
    return name.startswith(("/", ".", "~", "\\")) or os.path.isdir(name)


def _unknown_name_error(name, data_dir):
    try:
        folder_path = local.data_dir(data_dir)
    except ValueError:
        folder_path = None
    found = local.local_sources(folder_path) if folder_path is not None else []
    if folder_path is None:
        local_text = (
            f"no local data folder is set (pass data_dir= or set {local.ENV_VAR} to a folder "
            "with mnist/ or fashion_mnist/ IDX files)"
        )
    elif found:
        local_text = f"local IDX files in {folder_path} for {', '.join(repr(n) for n in found)}"
    else:
        local_text = f"no mnist/ or fashion_mnist/ IDX files in {folder_path}"
    return ValueError(
        f"Unknown dataset name. Available offline: {local.EMBEDDED_DATASET!r} (embedded), "
        f"{', '.join(repr(n) for n in TOY_DATASETS)}; {local_text}; or a path to a folder of "
        "PNG/JPEG images. Any other name is looked up in tensorflow-datasets, which downloads "
        f"an image dataset such as 'cifar10' or 'celeb_a' on first use (catalog: "
        f"{tfds_source.TFDS_CATALOG}), and tfds has no dataset of that name. "
        f"Received: name={name!r}"
    )


def builtin_class_names(name):
    """The class names of the data set `name` that kgan reads itself (`"mnist"`,
    `"fashion_mnist"`, `"cifar10"`, the embedded sample), in label order; else `None`.

    A run of a folder or a tensorflow-datasets name records the names it found
    (`dataset.class_names`) instead.
    """
    if name == cifar.NAME:
        return list(cifar.CLASS_NAMES)
    if isinstance(name, str) and name in local.CLASS_NAMES:
        return list(local.CLASS_NAMES[name])
    return None


# Longer than 60 lines: the checks of every argument, then one branch per kind of source.
def load(
    name,
    *,
    split="train",
    batch_size=128,
    with_labels=False,
    image_size=None,
    crop=None,
    color_mode=None,
    data_dir=None,
    shuffle=True,
    seed=None,
    drop_remainder=False,
    num_samples=None,
    cache=True,
    shuffle_buffer_size=None,
    verbose="auto",
):
    """Loads a dataset by name as a batched `tf.data.Dataset`, ready for `GAN.fit`.

    Images are float32 `(B, H, W, C)` in [-1, 1] (`x / 127.5 - 1`); with `with_labels=True`
    batches are `(images, labels)` with int32 labels. Local sources are preferred to downloads:

    * `"fashion_mnist_sample"` (`kgan.data.EMBEDDED_DATASET`): 2,000 Fashion-MNIST training
      images (the first 200 of each class) shipped with kgan; no network, no data folder.
    * `"mnist"`, `"fashion_mnist"`: the original IDX files in `<data_dir>/<name>/` (see
      `kgan.data.data_dir`), else tensorflow-datasets.
    * `"cifar10"`: a local copy in `<data_dir>/cifar10/` (class folders `train/<class>/`,
      or the original `cifar-10-batches-py` or `cifar-10-batches-bin` files; see
      `kgan.data.cifar`), else tensorflow-datasets. Labels in CIFAR-10's order.
    * A folder of PNG/JPEG images (see `from_folder`).
    * `"gaussian_ring"`, `"gaussian_grid"` (2-D points, not clipped) and `"stacked_mnist"`:
      the toy distributions, as `gaussian_ring().dataset(...)` etc.; labels are mode indices.
    * Any tensorflow-datasets image dataset (`"cifar10"`, `"celeb_a"`, ...) by its `image` and
      `label` features, downloaded by tfds into its own data folder (`data_dir` if given).

    Args:
        name: dataset name or folder path.
        split: `"train"`, `"test"`... with tfds-style slices such as `"train[:10%]"` or
            `"test[-500:]"`. Image folders and the 2-D toys have one split, `"train"`, which
            they do not slice (`num_samples` takes their first examples).
        batch_size: examples per batch.
        with_labels: yield `(images, labels)` batches.
        image_size: `(height, width)` (or one int) to resize to, applied once when decoding.
        crop: `"center"` keeps the aspect ratio when resizing (short side to fit, centre
            cropped), shrinking images, never enlarging them: an image whose centre crop is
            smaller than `image_size` is refused, naming the file when a folder is read into
            memory; streamed images (a folder too large for memory, tensorflow-datasets) stop
            at the batch that holds one, with the same message. `None` stretches to
            `image_size`. Needs `image_size`.
        color_mode: `"grayscale"` or `"rgb"`; `None` keeps the source's channels (a folder
            mixing grayscale and colour images is read in colour).
        data_dir: local data folder; default `$KGAN_DATA_DIR`. For tfds datasets, also tfds'
            data folder when given here (else tfds' own default).
        shuffle: reshuffle every epoch.
        seed: integer for a reproducible order (and toy samples), or `None`.
        drop_remainder: drop a last, smaller batch.
        num_samples: the number of training examples: the size of the toy distributions'
            training sets (default 100,000 for the Gaussians, 128,000 for Stacked MNIST); for
            every other source, the first `num_samples` examples of the split (in file order;
            for a folder, sorted file names, or one image of each class in turn when it has a
            sub-folder per class), all of them by default.
        cache: tfds only: `True` caches decoded examples in memory, a string in that file,
            `False` not at all. In-memory sources are always decoded once.
        shuffle_buffer_size: tfds only: size of the shuffle buffer, a positive integer
            (default: the whole dataset when cached in memory, else 10,000).
        verbose: progress while decoding an image folder, as in `keras.Model.predict`:
            `"auto"`, 0, 1 or 2.

    Returns:
        A `tf.data.Dataset`. Labelled image datasets carry a `class_names` attribute.

    Raises:
        ValueError: unknown name, missing or empty folder, corrupt file, unknown split, labels
            asked where none exist, or an invalid argument; the message names the argument.
        FileNotFoundError: the data is not available locally and could not be downloaded; the
            message says which files to put where.

    Example:
    >>> dataset = kgan.data.load("fashion_mnist_sample", batch_size=64, seed=0)
    >>> images = next(iter(dataset))  # float32 (64, 28, 28, 1) in [-1, 1]
    """
    if not isinstance(name, (str, os.PathLike)) or not os.fspath(name).strip():
        raise ValueError(f"`name` must be a dataset name or a folder path. Received: name={name!r}")
    pipeline.check_batching(batch_size, shuffle, seed, drop_remainder)
    if not isinstance(with_labels, (bool, np.bool_)):
        raise ValueError(
            f"`with_labels` must be True or False. Received: with_labels={with_labels!r}"
        )
    image_size = pipeline.normalize_image_size(image_size)
    pipeline.check_crop(crop, image_size)
    pipeline.check_color_mode(color_mode)
    check_positive_int("shuffle_buffer_size", shuffle_buffer_size, allow_none=True)
    check_verbose(verbose)
    batching = dict(
        batch_size=batch_size, shuffle=shuffle, seed=seed, drop_remainder=drop_remainder
    )

    if not isinstance(name, os.PathLike) and name in TOY_DATASETS:
        if crop is not None:
            raise ValueError(
                f"The toy distribution {name!r} has a fixed shape. Received: crop={crop!r}"
            )
        return _load_toy(
            name, split, data_dir, with_labels, image_size, color_mode, num_samples, batching
        )
    check_positive_int("num_samples", num_samples, allow_none=True)
    if is_path(name):
        _check_unsliced(split, source="an image folder (point `name` at a split's own folder)")
        return folder.from_folder(
            name,
            with_labels=with_labels,
            image_size=image_size,
            crop=crop,
            color_mode=color_mode,
            num_samples=num_samples,
            verbose=verbose,
            **batching,
        )

    found = None
    transform = dict(image_size=image_size, crop=crop, color_mode=color_mode)
    class_names = builtin_class_names(name)
    if name == local.EMBEDDED_DATASET or name in local.IDX_DATASETS:
        found = local.idx_arrays(name, split, data_dir, with_labels=with_labels)
    elif name == cifar.NAME:
        found = cifar.arrays(split, data_dir, verbose=verbose, **transform)
        if found is not None:
            images, labels, split_slice, transformed = found
            if transformed:  # Class folders are resized and cropped while they decode.
                transform = dict(image_size=None, crop=None, color_mode=None)
            found = images, labels if with_labels else None, split_slice
    if found is not None:
        images, labels, split_slice = found
        return _finish_arrays(
            images,
            labels,
            split_slice=split_slice,
            num_samples=num_samples,
            class_names=class_names,
            split=split,
            **transform,
            **batching,
        )

    streaming = dict(cache=cache, shuffle_buffer_size=shuffle_buffer_size, crop=crop)
    return _load_tfds(
        name, split, data_dir, with_labels, image_size, color_mode, num_samples, batching, streaming
    )


def _load_tfds(
    name, split, data_dir, with_labels, image_size, color_mode, num_samples, batching, streaming
):
    """A tensorflow-datasets dataset; a failed download says which local files would do."""
    local_folder = local.data_dir(data_dir)
    offline_advice = None
    if name in local.IDX_DATASETS:
        offline_advice = local.offline_instructions(name, split, local_folder)
    elif name == cifar.NAME:
        offline_advice = cifar.offline_instructions(local_folder)
    try:
        return tfds_source.load(
            name,
            split=split,
            with_labels=with_labels,
            image_size=image_size,
            color_mode=color_mode,
            data_dir=data_dir,
            offline_advice=offline_advice,
            num_samples=num_samples,
            **streaming,
            **batching,
        )
    except tfds_source.UnknownDatasetError:
        if _looks_like_path(name):
            # `missing/folder`: meant as a folder, which does not exist.
            raise ValueError(
                "The image folder does not exist (and tensorflow-datasets has no dataset of "
                f"that name). Received: name={name!r}"
            ) from None
        raise _unknown_name_error(name, data_dir) from None


def _looks_like_path(name):
    """A relative path such as `images/train` (tfds names such as `celeb_a_hq/128` are tried
    first, so this only decides how to report a name tfds does not know)."""
    return "/" in name or os.sep in name or (os.altsep is not None and os.altsep in name)


def _check_unsliced(split, *, source):
    """Checks that `split` is `"train"`, the only split of `source`, and not a slice of it:
    these sources would ignore a slice and return every example."""
    _, split_slice = pipeline.parse_split(split, ("train",), source=source)
    if split_slice(100) != slice(None, None):
        raise ValueError(
            f"Split slices do not apply to {source}; pass split='train', and `num_samples` "
            f"for the first examples only. Received: split={split!r}"
        )


def _load_toy(name, split, data_dir, with_labels, image_size, color_mode, num_samples, batching):
    if image_size is not None or color_mode is not None:
        raise ValueError(
            f"The toy distribution {name!r} has a fixed shape; `image_size` and `color_mode` "
            f"do not apply. Received: image_size={image_size!r}, color_mode={color_mode!r}"
        )
    if num_samples is None:
        num_samples = _TOY_DEFAULT_SAMPLES[name]
    if name == "stacked_mnist":
        stacked = toys.stacked_mnist(
            num_samples, split=split, data_dir=data_dir, seed=batching["seed"]
        )
        return stacked.dataset(with_labels=with_labels, **batching)
    _check_unsliced(split, source=f"the toy distribution {name!r}")
    mixture = toys.gaussian_ring() if name == "gaussian_ring" else toys.gaussian_grid()
    return mixture.dataset(num_samples, with_labels=with_labels, **batching)

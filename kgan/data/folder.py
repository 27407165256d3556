"""Folders of PNG and JPEG images, with one sub-folder per class giving labels: listed,
decoded once (cached on disk), or streamed when too large for memory."""

import collections
import os
import pathlib
import re
import warnings

import numpy as np
import tensorflow as tf

from kgan import _system
from kgan._validation import check_positive_int
from kgan.data import folder_cache, pipeline
from kgan.progress import Progress

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
_GRAYSCALE_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F", "P;L")
_DECODE_BATCH = 256


def list_images(directory):
    """Lists a folder's images and, if they are arranged one sub-folder per class, labels.

    Returns:
        `(paths, labels, class_names)`, where `labels` and `class_names` are `None` unless
        every image lies in a direct sub-folder (class names: the sorted sub-folder names).
    """
    root = pathlib.Path(os.path.expanduser(os.fspath(directory)))
    if not root.is_dir():
        problem = "is not a folder" if root.exists() else "does not exist"
        raise ValueError(f"The image folder {problem}. Received: name={os.fspath(directory)!r}")
    found = _image_files(os.fspath(root))
    if not found:
        raise ValueError(
            f"The image folder holds no images (looked for "
            f"{', '.join(IMAGE_EXTENSIONS)} files, also in sub-folders{_other_files(root)}). "
            f"Received: name={os.fspath(directory)!r}"
        )
    paths = [pathlib.Path(os.path.join(root, *parts)) for parts in found]
    if all(len(parts) == 2 for parts in found):
        class_names = sorted({parts[0] for parts in found})
        index = {name: i for i, name in enumerate(class_names)}
        labels = np.array([index[parts[0]] for parts in found], dtype=np.int32)
        return paths, labels, class_names
    return paths, None, None


def _image_files(root):
    """The image files under the folder `root`, at any depth, as tuples of their path's parts
    below it, sorted as paths are. Folders linked to by symbolic links are not entered; linked
    files are listed. One `os.scandir` a folder: a 50,000-image folder lists in a fraction of
    a second."""
    found, pending = [], [(root, ())]
    while pending:
        folder, parts = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append((entry.path, (*parts, entry.name)))
                elif (
                    os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS and entry.is_file()
                ):
                    found.append((*parts, entry.name))
    return sorted(found)


def _other_files(root):
    """What a folder without images holds instead: `"; found 2 .gif, 1 .txt"`, or
    `"; found no files"`."""
    counts = collections.Counter(
        os.path.splitext(name)[1].lower() or "extension-less"
        for _, _, names in os.walk(root)
        for name in names
    )
    found = ", ".join(f"{count} {kind}" for kind, count in sorted(counts.items()))
    return f"; found {found}" if found else "; found no files"


# The formats `tf.io.decode_image` reads, as Pillow names them (MPO: a JPEG with extra frames).
_DECODABLE_FORMATS = ("PNG", "JPEG", "MPO", "GIF", "BMP")


def _open_header(path):
    """`(mode, (height, width), format)` from an image file's header, read by Pillow. The
    pixels are not decoded, so Pillow's warning about huge images is silenced; past its hard
    limit it raises `ValueError`, as for a header it cannot read, and callers decode the file."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as image:
                return image.mode, (image.height, image.width), image.format
        except Image.DecompressionBombError as error:
            raise ValueError(str(error)) from None


def probe_color_mode(path):
    """`"grayscale"` or `"rgb"`: the colour mode of the image file at `path`, from its header,
    or from its decoded channels when Pillow cannot read the header."""
    from PIL import UnidentifiedImageError  # Only folders need Pillow.

    try:
        mode, _, _ = _open_header(path)
    except (OSError, UnidentifiedImageError, ValueError):
        try:
            channels = _decode(os.fspath(path), 0, None).shape[-1]
        except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as error:
            raise _undecodable_error(path, error.message) from None
        return "grayscale" if channels <= 2 else "rgb"
    return "grayscale" if mode in _GRAYSCALE_MODES else "rgb"


def probe_folder(directory, image_size=None):
    """`((height, width, channels), count)` of the images of `directory` as `from_folder`
    reads them when no colour mode is asked for: the size of the first image file's header (or
    `image_size`), in colour if any image is (`folder_color_mode`), and how many image files
    there are. Enough to choose a recipe, not a check of the folder; `None` when no image can
    be read there."""
    from PIL import UnidentifiedImageError

    try:
        paths = list_images(os.path.expanduser(directory))[0]
        _, size, _ = _open_header(paths[0])
        color_mode = folder_color_mode(paths)
    except (OSError, ValueError, IndexError, UnidentifiedImageError):
        return None
    if image_size is not None:
        size = pipeline.normalize_image_size(image_size)
    return (*size, 1 if color_mode == "grayscale" else 3), len(paths)


def folder_color_mode(paths):
    """`"rgb"` if any of the image files `paths` is in colour, else `"grayscale"`: the mode a
    folder is read in when none is asked for, so that a folder mixing both loses no colour.
    Headers are read in order until the first colour image (a whole grayscale folder is read
    through, a matter of seconds for 60,000 files)."""
    for path in paths:
        if probe_color_mode(path) == "rgb":
            return "rgb"
    return "grayscale"


def _decode(path, channels, image_size, crop=None):
    image = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
    return pipeline.resize_uint8(image, image_size, crop)


def _diagnose(paths, channels, image_size, crop, error):
    """Finds the file behind a failed batch decode, and raises an error that names it."""
    first = None
    for path in paths:
        try:
            image = _decode(os.fspath(path), channels, image_size, crop)
        except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as decode_error:
            if pipeline.CROP_DOES_NOT_FIT in decode_error.message:
                height, width = _decode(os.fspath(path), channels, None).shape[:2]
                raise _crop_error(path, height, width, image_size, crop) from None
            raise _undecodable_error(path, decode_error.message) from None
        if first is None:
            first = (path, tuple(image.shape[:2]))
        elif tuple(image.shape[:2]) != first[1]:
            raise _mixed_sizes_error(first, path, tuple(image.shape[:2]), image_size) from None
    raise error  # Not a file problem after all: let the original error through.


def _check_headers(paths, channels, image_size, crop, verbose):
    """What `_diagnose` finds after a failed decode, found before streaming: a file that
    cannot be decoded, images of different sizes without `image_size`, and a centre crop that
    does not fit an image. Sizes come from the files' headers (Pillow reads only those); a file
    whose header Pillow cannot read, or of a format TensorFlow does not decode, is decoded
    whole to judge it. A file that Pillow's header reading accepts but TensorFlow's decoder
    does not (cut short after a readable header, say) passes, and stops the stream with
    TensorFlow's error when its batch is decoded."""
    from PIL import UnidentifiedImageError

    progress = Progress("Checking images", len(paths), verbose=verbose, unit_name="image")
    first = None
    for count, path in enumerate(paths, start=1):
        try:
            _, (height, width), file_format = _open_header(path)
        except (OSError, UnidentifiedImageError, ValueError):
            file_format = None
        if file_format not in _DECODABLE_FORMATS:
            try:
                height, width = _decode(os.fspath(path), channels, None).shape[:2]
            except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as error:
                raise _undecodable_error(path, error.message) from None
        if image_size is None:
            if first is None:
                first = (path, (height, width))
            elif (height, width) != first[1]:
                raise _mixed_sizes_error(first, path, (height, width), image_size)
        elif crop == "center" and not pipeline.center_crop_fits(height, width, image_size):
            raise _crop_error(path, height, width, image_size, crop)
        if count % _DECODE_BATCH == 0 or count == len(paths):
            progress.add(count - progress.done)


def _crop_error(path, height, width, image_size, crop):
    return ValueError(
        f"{pipeline.CROP_DOES_NOT_FIT}: {os.fspath(path)!r} is {height}x{width}. "
        f"Received: image_size={tuple(image_size)!r}, crop={crop!r}"
    )


def _undecodable_error(path, message):
    # TensorFlow's text without its annotations of the op and graph node that failed.
    message = re.sub(r"\{\{function_node [^}]*\}\}|\[\[\{\{node [^}]*\}\}\]\]", "", message)
    message = re.sub(r"\[Op:[^\]]*\]( name: \S*)?", "", message)
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    message = lines[-1] if lines else "no reason given"
    return ValueError(
        f"An image file could not be decoded as PNG or JPEG ({message}). "
        f"Received: file={os.fspath(path)!r}"
    )


def _mixed_sizes_error(first, path, size, image_size):
    (first_path, (first_height, first_width)), (height, width) = first, size
    return ValueError(
        f"The images in a folder must have one size, or be resized with `image_size`: "
        f"{os.fspath(first_path)!r} is {first_height}x{first_width} but "
        f"{os.fspath(path)!r} is {height}x{width}. Received: image_size={image_size!r}"
    )


def read_folder(
    directory,
    *,
    image_size=None,
    crop=None,
    color_mode=None,
    with_labels=False,
    num_samples=None,
    cache=True,
    verbose="auto",
    listing=None,
):
    """Decodes every image of a folder once, in parallel, into a uint8 array.

    The decoded array is cached on disk (see `kgan.data.folder_cache`), keyed by the file
    list, the files' sizes, inodes and times, `image_size`, `crop` and `color_mode`, so a
    second read of the same folder loads one file instead of decoding every image.

    Args:
        directory: the folder.
        image_size: `(height, width)` to resize every image to; required when the images do
            not all share one size.
        crop: `"center"` to keep the aspect ratio (resize the short side, crop the centre);
            `None` stretches to `image_size`.
        color_mode: `"grayscale"`, `"rgb"`, or `None`: `"rgb"` if any image is in colour,
            else `"grayscale"` (`folder_color_mode`, decided when the folder is decoded).
        with_labels: also return the labels, which requires one sub-folder per class.
        num_samples: decode only the first `num_samples` images: in sorted path order, or, in a
            folder of one sub-folder per class, one of each class in turn (`classes_in_turn`),
            so that a subset keeps every class.
        cache: read and write the decoded-array cache.
        verbose: progress while decoding, as in `keras.Model.predict` (`kgan.progress`).
        listing: what `select_images(directory, with_labels, num_samples)` returned, for a
            caller that has listed the folder already (a large folder's listing is much of
            a cached load).

    Returns:
        `(images (N, H, W, C) uint8, labels (N,) int32 or None, class_names or None)`.
    """
    if listing is None:
        listing = select_images(directory, with_labels, num_samples)
    paths, labels, class_names = listing
    # `None` stays in the key: the mode it decides follows from the files, which the key holds.
    key = folder_cache.key(paths, image_size=image_size, crop=crop, color_mode=color_mode)
    source = folder_cache.source(
        directory,
        num_samples=num_samples,
        image_size=image_size,
        crop=crop,
        color_mode=color_mode,
    )
    if cache:
        cached = folder_cache.read(key, source)
        if cached is not None:
            return cached, (labels if with_labels else None), class_names
    images = _decode_all(paths, color_mode or folder_color_mode(paths), image_size, crop, verbose)
    if cache:
        folder_cache.write(key, source, images)
    return images, (labels if with_labels else None), class_names


def select_images(directory, with_labels, num_samples):
    """The images (and labels) `read_folder` and `from_folder` take from `directory`."""
    paths, labels, class_names = list_images(directory)
    if num_samples is not None:
        kept = np.arange(len(paths)) if labels is None else classes_in_turn(labels)
        kept = kept[:num_samples]
        paths = [paths[i] for i in kept]
        labels = None if labels is None else labels[kept]
    if with_labels and labels is None:
        raise ValueError(
            "Labels were asked for but the image folder is not arranged in one sub-folder per "
            f"class (images lie directly in {os.fspath(directory)!r} or deeper than one "
            "level), so it has none. Received: with_labels=True"
        )
    return paths, labels, class_names


def classes_in_turn(labels):
    """The indices of `labels` taking one example of each class in turn (each class's in their
    order), so that the first N of them hold every class, as evenly as the classes allow."""
    labels = np.asarray(labels)
    rank = np.zeros(len(labels), dtype=np.int64)
    for label in np.unique(labels):
        where = labels == label
        rank[where] = np.arange(np.count_nonzero(where))
    return np.lexsort((labels, rank))


def _channels(color_mode):
    return 1 if color_mode == "grayscale" else 3


def decoded_examples(paths, color_mode, image_size, crop):
    """A dataset decoding `paths` in parallel, in order, to uint8 `(H, W, C)` images."""
    channels = _channels(color_mode)
    names = tf.data.Dataset.from_tensor_slices([os.fspath(p) for p in paths])
    return names.map(
        lambda path: _decode(path, channels, image_size, crop),
        num_parallel_calls=pipeline.AUTOTUNE,
        deterministic=True,
    )


def _decode_all(paths, color_mode, image_size, crop, verbose):
    channels = _channels(color_mode)
    decoded = decoded_examples(paths, color_mode, image_size, crop).batch(_DECODE_BATCH)
    progress = Progress("Decoding images", len(paths), verbose=verbose, unit_name="image")
    batches = []
    try:
        for batch in decoded:
            batches.append(batch.numpy())
            progress.add(len(batches[-1]))
            if batches[-1].shape[1:] != batches[0].shape[1:]:  # Sizes differ across batches.
                raise tf.errors.InvalidArgumentError(None, None, "images of different sizes")
    except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as error:
        _diagnose(paths, channels, image_size, crop, error)
    return np.concatenate(batches, axis=0)


def from_folder(
    directory,
    *,
    batch_size=128,
    with_labels=False,
    image_size=None,
    crop=None,
    color_mode=None,
    shuffle=True,
    seed=None,
    drop_remainder=False,
    num_samples=None,
    verbose="auto",
):
    """A batched `tf.data.Dataset` of the PNG/JPEG images in a folder.

    Every image is decoded once (in parallel) into memory, and the decoded array is cached on
    disk (`kgan.data.folder_cache`), so a second load of the same folder takes seconds. A
    folder whose decoded images would take more than half of the available memory is
    streamed from disk instead (decoded in parallel every epoch), which is said once. With one
    sub-folder per class (`directory/cat/*.png`, `directory/dog/*.png`) the labels are the
    indices of the sorted sub-folder names, stored in the dataset's `class_names` attribute as
    in `keras.utils.image_dataset_from_directory`.

    Args:
        directory: the folder; images in sub-folders are included.
        batch_size: images per batch.
        with_labels: yield `(images, labels)`; needs one sub-folder per class.
        image_size: `(height, width)` (or one int) to resize every image to (bilinear,
            antialiased). Required when the images differ in size.
        crop: `"center"` keeps the aspect ratio: the short side is resized to fit and the
            centre cropped (178x218 faces to 64x64 without squashing), shrinking, never
            enlarging: an image whose centre crop is smaller than `image_size` is refused,
            naming it (a streamed folder's image headers are checked before streaming);
            `None` stretches.
        color_mode: `"grayscale"` (1 channel) or `"rgb"` (3); by default `"rgb"` if any image
            is in colour, else `"grayscale"`.
        shuffle: reshuffle every epoch.
        seed: integer for a reproducible order, or `None`.
        drop_remainder: drop a last, smaller batch.
        num_samples: read only the first `num_samples` images: in sorted path order, or one
            of each class in turn in a folder of one sub-folder per class (as `read_folder`).
        verbose: progress while decoding, as in `keras.Model.predict` (`"auto"`, 0, 1, 2).

    Returns:
        A `tf.data.Dataset` of float32 batches `(B, H, W, C)` in [-1, 1].

    Raises:
        ValueError: if the folder does not exist or holds no images, if a file cannot be
            decoded (the message names it), if sizes differ without `image_size`, or if labels
            are asked of a folder without class sub-folders.
    """
    pipeline.check_batching(batch_size, shuffle, seed, drop_remainder)
    image_size = pipeline.normalize_image_size(image_size)
    pipeline.check_crop(crop, image_size)
    pipeline.check_color_mode(color_mode)
    check_positive_int("num_samples", num_samples, allow_none=True)
    batching = dict(
        batch_size=batch_size, shuffle=shuffle, seed=seed, drop_remainder=drop_remainder
    )
    paths, labels, class_names = select_images(directory, with_labels, num_samples)
    if _too_large_for_memory(paths, image_size, crop, color_mode):
        dataset = _streamed_folder(
            paths, labels if with_labels else None, image_size, crop, color_mode, batching, verbose
        )
    else:
        images, labels, class_names = read_folder(
            directory,
            image_size=image_size,
            crop=crop,
            color_mode=color_mode,
            with_labels=with_labels,
            num_samples=num_samples,
            verbose=verbose,
            listing=(paths, labels, class_names),
        )
        dataset = pipeline.array_dataset(images, labels, **batching)
    if with_labels:
        dataset.class_names = class_names
    return dataset


def _too_large_for_memory(paths, image_size, crop, color_mode):
    """Whether the decoded folder would take more than half of the available memory."""
    color_mode = color_mode or probe_color_mode(paths[0])
    first = decoded_examples(paths[:1], color_mode, image_size, crop)
    try:
        shape = next(iter(first)).shape
    except Exception:  # A bad first file: `read_folder` reports it with its name.
        return False
    available = _system.available_memory()
    return available is not None and len(paths) * int(np.prod(shape)) > available // 2


def _streamed_folder(paths, labels, image_size, crop, color_mode, batching, verbose):
    color_mode = color_mode or folder_color_mode(paths)
    print(
        f"kgan: the {len(paths)} decoded images would take more than half of the available "
        "memory; streaming them from disk, decoded in parallel every epoch."
    )
    _check_headers(paths, _channels(color_mode), image_size, crop, verbose)
    examples = decoded_examples(paths, color_mode, image_size, crop)
    if labels is not None:
        examples = tf.data.Dataset.zip((examples, tf.data.Dataset.from_tensor_slices(labels)))
    return pipeline.streamed_dataset(examples, cache=False, **batching)

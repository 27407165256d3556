"""Folders of PNG and JPEG images, with one sub-folder per class giving labels."""

import os
import pathlib

import numpy as np
import tensorflow as tf

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
    paths = sorted(
        path
        for path in root.rglob("*")
        if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file()
    )
    if not paths:
        raise ValueError(
            f"The image folder holds no images (looked for "
            f"{', '.join(IMAGE_EXTENSIONS)} files, also in sub-folders). "
            f"Received: name={os.fspath(directory)!r}"
        )
    parts = [path.relative_to(root).parts for path in paths]
    if all(len(p) == 2 for p in parts):
        class_names = sorted({p[0] for p in parts})
        index = {name: i for i, name in enumerate(class_names)}
        labels = np.array([index[p[0]] for p in parts], dtype=np.int32)
        return paths, labels, class_names
    return paths, None, None


def probe_color_mode(path):
    from PIL import Image, UnidentifiedImageError  # Only folders need Pillow.

    try:
        with Image.open(path) as image:
            mode = image.mode
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise ValueError(
            f"An image file could not be read ({error}). Received: file={os.fspath(path)!r}"
        ) from None
    return "grayscale" if mode in _GRAYSCALE_MODES else "rgb"


def _decode(path, channels, image_size, crop=None):
    image = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
    return pipeline.resize_uint8(image, image_size, crop)


def _diagnose(paths, channels, image_size, crop, error):
    """Finds the file behind a failed batch decode, and raises an error that names it."""
    first_shape = None
    for path in paths:
        try:
            image = _decode(os.fspath(path), channels, image_size, crop)
        except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as decode_error:
            message = decode_error.message.strip().splitlines()[-1]
            raise ValueError(
                f"An image file could not be decoded as PNG or JPEG ({message}). "
                f"Received: file={os.fspath(path)!r}"
            ) from None
        if first_shape is None:
            first_shape, first_path = tuple(image.shape), path
        elif tuple(image.shape) != first_shape:
            raise ValueError(
                f"The images in a folder must have one size, or be resized with `image_size`: "
                f"{os.fspath(first_path)!r} is {first_shape[0]}x{first_shape[1]} but "
                f"{os.fspath(path)!r} is {image.shape[0]}x{image.shape[1]}. "
                f"Received: image_size={image_size!r}"
            )
    raise error  # Not a file problem after all: let the original error through.


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
):
    """Decodes every image of a folder once, in parallel, into a uint8 array.

    The decoded array is cached on disk (see `kgan.data.folder_cache`), keyed by the file
    list, the files' sizes and modification times, `image_size`, `crop` and `color_mode`, so a
    second read of the same folder loads one file instead of decoding every image.

    Args:
        directory: the folder.
        image_size: `(height, width)` to resize every image to; required when the images do
            not all share one size.
        crop: `"center"` to keep the aspect ratio (resize the short side, crop the centre);
            `None` stretches to `image_size`.
        color_mode: `"grayscale"`, `"rgb"`, or `None` for the mode of the first image (in
            sorted order).
        with_labels: also return the labels, which requires one sub-folder per class.
        num_samples: decode only the first `num_samples` images (sorted paths).
        cache: read and write the decoded-array cache.
        verbose: progress while decoding, as in `keras.Model.predict` (`kgan.progress`).

    Returns:
        `(images (N, H, W, C) uint8, labels (N,) int32 or None, class_names or None)`.
    """
    paths, labels, class_names = select_images(directory, with_labels, num_samples)
    if color_mode is None:
        color_mode = probe_color_mode(paths[0])
    key = folder_cache.key(paths, image_size=image_size, crop=crop, color_mode=color_mode)
    if cache:
        cached = folder_cache.read(key)
        if cached is not None:
            return cached, (labels if with_labels else None), class_names
    images = _decode_all(paths, color_mode, image_size, crop, verbose)
    if cache:
        folder_cache.write(key, images)
    return images, (labels if with_labels else None), class_names


def select_images(directory, with_labels, num_samples):
    """The images (and labels) `read_folder` and `stream_folder` take from `directory`."""
    paths, labels, class_names = list_images(directory)
    if num_samples is not None:
        paths = paths[:num_samples]
        labels = None if labels is None else labels[:num_samples]
    if with_labels and labels is None:
        raise ValueError(
            "Labels were asked for but the image folder is not arranged in one sub-folder per "
            f"class (images lie directly in {os.fspath(directory)!r} or deeper than one "
            "level), so it has none. Received: with_labels=True"
        )
    return paths, labels, class_names


def decoded_examples(paths, color_mode, image_size, crop):
    """A dataset decoding `paths` in parallel, in order, to uint8 `(H, W, C)` images."""
    channels = 1 if color_mode == "grayscale" else 3
    names = tf.data.Dataset.from_tensor_slices([os.fspath(p) for p in paths])
    return names.map(
        lambda path: _decode(path, channels, image_size, crop),
        num_parallel_calls=pipeline.AUTOTUNE,
        deterministic=True,
    )


def _decode_all(paths, color_mode, image_size, crop, verbose):
    channels = 1 if color_mode == "grayscale" else 3
    decoded = decoded_examples(paths, color_mode, image_size, crop).batch(_DECODE_BATCH)
    progress = Progress("Decoding images", len(paths), verbose=verbose, unit_name="image")
    batches = []
    try:
        for batch in decoded:
            batches.append(batch.numpy())
            progress.add(len(batches[-1]))
    except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as error:
        _diagnose(paths, channels, image_size, crop, error)
    return np.concatenate(batches, axis=0)

"""Turning generated samples into pictures: uint8 conversion, PNG grids, one PNG per sample
and animated GIFs."""

import math
import os

import numpy as np

from kgan import atomic
from kgan._validation import check_positive_int


def to_uint8(images):
    """Maps images in [-1, 1] to uint8 pixels in [0, 255] (rounded, values outside clipped)."""
    images = np.asarray(images, dtype="float32")
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype("uint8")


def image_grid(images, *, num_rows=None, padding=2, scale=1, pad_value=255):
    """Tiles a batch of images `(N, H, W, C)` in [-1, 1] into one uint8 image.

    Args:
        images: array of shape `(N, H, W, C)` with C = 1 or 3, values in [-1, 1].
        num_rows: rows of the grid; by default the grid is as square as possible.
        padding: pixels between tiles.
        scale: integer upscaling of each tile (nearest neighbour), for small images.
        pad_value: grey level of the padding.

    Returns:
        A uint8 array `(rows * (H + padding) + padding, cols * (W + padding) + padding, C)`.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or images.shape[0] == 0:
        raise ValueError(
            "`images` must be a non-empty batch of shape (N, height, width, 1 or 3). "
            f"Received: images of shape {images.shape}"
        )
    check_positive_int("scale", scale)
    count, height, width, channels = images.shape
    if num_rows is None:
        num_rows = max(1, int(math.floor(math.sqrt(count))))
    check_positive_int("num_rows", num_rows)
    num_cols = int(math.ceil(count / num_rows))
    pixels = to_uint8(images)
    if scale > 1:
        pixels = pixels.repeat(scale, axis=1).repeat(scale, axis=2)
        height, width = height * scale, width * scale
    grid = np.full(
        (num_rows * (height + padding) + padding, num_cols * (width + padding) + padding, channels),
        pad_value,
        dtype="uint8",
    )
    for index in range(count):
        row, col = divmod(index, num_cols)
        top = padding + row * (height + padding)
        left = padding + col * (width + padding)
        grid[top : top + height, left : left + width] = pixels[index]
    return grid


def _readable_scale(images, kwargs):
    """Small images (under 64 pixels on a side) are upscaled so that a person can see them."""
    images = np.asarray(images)
    if "scale" not in kwargs and images.ndim >= 4:
        kwargs["scale"] = max(1, 64 // max(images.shape[-3], images.shape[-2]))
    return kwargs


def _pil_image(pixels):
    from PIL import Image  # Imported here: only the files need Pillow.

    return Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)


def save_image_grid(images, path, **kwargs):
    """Writes `image_grid(images, **kwargs)` to `path` as a PNG; returns the path.

    Small images (under 64 pixels on a side) are upscaled so that a person can see them.
    """
    grid = image_grid(images, **_readable_scale(images, kwargs))
    # Written to a temporary name and renamed: a kill never leaves a truncated PNG.
    with atomic.replacing(path, suffix=".png") as temp:
        _pil_image(grid).save(temp, format="PNG")
    return path


def save_images(images, directory, names):
    """Writes each image of `images` (N, H, W, C) in [-1, 1] to `directory/names[i]` as a PNG,
    at its own size; returns the paths.

    The folder is created if needed; each file is written whole or not at all.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or len(names) != len(images):
        raise ValueError(
            "`images` must be a batch (N, height, width, 1 or 3) with one name per image. "
            f"Received: images of shape {images.shape} and {len(names)} names"
        )
    os.makedirs(directory, exist_ok=True)
    paths = []
    for pixels, name in zip(to_uint8(images), names):
        path = os.path.join(directory, name)
        with atomic.replacing(path, suffix=".png") as temp:
            _pil_image(pixels).save(temp, format="PNG")
        paths.append(path)
    return paths


def save_animation(frames, path, *, fps=10, **kwargs):
    """Writes an animated GIF whose frame `t` is `image_grid(frames[t], **kwargs)`; loops
    forever; returns the path.

    Args:
        frames: array `(num_frames, N, H, W, C)` in [-1, 1]: the images shown at each frame.
        path: the `.gif` file.
        fps: frames per second.
        **kwargs: `image_grid`'s `num_rows`, `padding`, `scale` (by default small images are
            upscaled as in `save_image_grid`).
    """
    frames = np.asarray(frames)
    if frames.ndim != 5 or len(frames) < 2:
        raise ValueError(
            "`frames` must hold at least two frames of images, shape (num_frames, N, height, "
            f"width, channels). Received: frames of shape {frames.shape}"
        )
    if not fps > 0:
        raise ValueError(f"`fps` must be a positive number. Received: fps={fps!r}")
    kwargs = _readable_scale(frames, kwargs)
    pictures = [_pil_image(image_grid(frame, **kwargs)) for frame in frames]
    with atomic.replacing(path, suffix=".gif") as temp:
        pictures[0].save(
            temp,
            format="GIF",
            save_all=True,
            append_images=pictures[1:],
            duration=round(1000 / fps),
            loop=0,
        )
    return path

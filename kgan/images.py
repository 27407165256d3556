"""Turning generated samples into pictures: uint8 conversion and PNG grids."""

import math

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


def save_image_grid(images, path, **kwargs):
    """Writes `image_grid(images, **kwargs)` to `path` as a PNG; returns the path.

    Small images (under 64 pixels on a side) are upscaled so that a person can see them.
    """
    from PIL import Image  # Imported here: only this function needs Pillow.

    images = np.asarray(images)
    if "scale" not in kwargs and images.ndim == 4:
        kwargs["scale"] = max(1, 64 // max(images.shape[1], images.shape[2]))
    grid = image_grid(images, **kwargs)
    # Written to a temporary name and renamed: a kill never leaves a truncated PNG.
    with atomic.replacing(path, suffix=".png") as temp:
        Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(temp, format="PNG")
    return path

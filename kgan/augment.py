"""Differentiable augmentation (DiffAugment) of the images a discriminator sees.

Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training"
(arXiv:2006.10738; code: mit-han-lab/data-efficient-gans, `DiffAugment_tf.py`). The same random
transformation family T is applied to real *and* generated images wherever the discriminator
sees them, in the discriminator's and the generator's loss terms alike; since T is
differentiable, the generator's gradient flows through it. The discriminator then cannot tell
real from fake by artefacts of the augmentation, and overfits a small training set much less.

The policies follow the reference code, per image:

* `"color"`: brightness + U(-0.5, 0.5); saturation: (x - mean over channels) * U(0, 2) +
  that mean; contrast: (x - mean over the image) * U(0.5, 1.5) + that mean.
* `"translation"`: a shift by a whole number of pixels in [-size/8, size/8] (each axis
  separately, rounded down), the uncovered border filled with zeros.
* `"cutout"`: a square of half the image's height and width, centred at a uniform position
  (it may stick out of the image), set to zero.

`consistency_transform` is the transformation T of balanced consistency regularisation (bCR,
Zhao et al. 2020, "Improved Consistency Regularization for GANs", arXiv:2002.04724, after
CR-GAN, Zhang et al. 2020, arXiv:1910.12027), which `kgan.penalties.consistency_terms` uses: a
horizontal flip with probability 1/2, then a shift of up to an eighth of each side with the
border filled by reflection (as StudioGAN's `cr.py` implements it).
"""

import keras
import tensorflow as tf

from kgan._validation import check_seed

DEFAULT_POLICY = "color,translation,cutout"
POLICIES = ("color", "translation", "cutout")

# Uniform numbers each policy draws per image: color 3 (brightness, saturation, contrast),
# translation 2 (rows, columns), cutout 2 (centre row, centre column).
_DRAWS = {"color": 3, "translation": 2, "cutout": 2}
# U(0, 1) numbers `consistency_transform` draws per image: flip, rows, columns.
CONSISTENCY_DRAWS = 3


def parse_policy(policy, name="policy"):
    """The policy names of a comma-separated `policy`, checked.

    Args:
        policy: for example `"color,translation,cutout"` or `"translation"`.
        name: the argument's name in error messages (`"augment"` for the models' argument).

    Returns:
        A tuple of policy names, in the order they are applied.
    """
    if not isinstance(policy, str) or not policy.strip():
        raise ValueError(
            f"`{name}` must be a comma-separated list of DiffAugment policies out of "
            f"{', '.join(POLICIES)}. Received: {name}={policy!r}"
        )
    names = tuple(part.strip() for part in policy.split(","))
    for part in names:
        if part not in POLICIES:
            raise ValueError(
                f"`{name}` names an unknown DiffAugment policy {part!r}; the policies are "
                f"{', '.join(POLICIES)}. Received: {name}={policy!r}"
            )
    return names


def check_augment(augment, sample_shape):
    """A model's `augment` argument as a checked policy (`None` for none): DiffAugment
    transforms images, so the model's samples must be `(height, width, channels)`."""
    if augment is None:
        return None
    policy = ",".join(parse_policy(augment, name="augment"))
    if len(sample_shape) != 3:
        raise ValueError(
            "`augment` transforms images (height, width, channels); the generator makes "
            f"samples of shape {tuple(sample_shape)}. Received: augment={augment!r}"
        )
    return policy


def num_random_values(policy):
    """How many U(0, 1) numbers `diff_augment` draws per image for `policy`."""
    return sum(_DRAWS[part] for part in parse_policy(policy))


def diff_augment(images, policy=DEFAULT_POLICY, *, seed=None, uniform=None):
    """Applies DiffAugment's random, differentiable transformations to a batch of images.

    Args:
        images: a float tensor `(batch, height, width, channels)`, values in [-1, 1].
        policy: comma-separated policies applied in order: `"color"`, `"translation"`,
            `"cutout"` (see the module's docstring).
        seed: an integer (the same seed gives the same transformations), a
            `keras.random.SeedGenerator`, or `None`.
        uniform: instead of a seed, the random numbers themselves: U(0, 1) values of shape
            `(batch, num_random_values(policy))`. The models draw them so that every replica of a
            distributed batch gets its own slice.

    Returns:
        The transformed images, same shape and dtype. Gradients flow to `images`.
    """
    names = parse_policy(policy)
    images = tf.convert_to_tensor(images)
    if images.shape.rank != 4:
        raise ValueError(
            "DiffAugment transforms batches of images (batch, height, width, channels). "
            f"Received: images of shape {tuple(images.shape)}"
        )
    count = sum(_DRAWS[part] for part in names)
    if uniform is None:
        if not isinstance(seed, keras.random.SeedGenerator):
            check_seed(seed)
        uniform = keras.random.uniform((tf.shape(images)[0], count), seed=seed)
    uniform = tf.convert_to_tensor(uniform)
    column = 0
    for part in names:
        draws = [uniform[:, column + i] for i in range(_DRAWS[part])]
        column += _DRAWS[part]
        images = _APPLY[part](images, *draws)
    return images


def consistency_transform(images, *, seed=None, uniform=None):
    """bCR's transformation T: each image flipped left to right with probability 1/2, then
    shifted by a whole number of pixels in [-size/8, size/8] on each axis (drawn separately),
    the uncovered border filled by reflecting the image at its edge.

    Args:
        images: a float tensor `(batch, height, width, channels)`.
        seed: an integer, a `keras.random.SeedGenerator`, or `None`.
        uniform: instead of a seed, U(0, 1) values of shape `(batch, CONSISTENCY_DRAWS)`
            (flip, rows, columns).

    Returns:
        The transformed images, same shape and dtype. Gradients flow to `images`.
    """
    images = tf.convert_to_tensor(images)
    if images.shape.rank != 4:
        raise ValueError(
            "The consistency transformation takes batches of images (batch, height, width, "
            f"channels). Received: images of shape {tuple(images.shape)}"
        )
    if uniform is None:
        if not isinstance(seed, keras.random.SeedGenerator):
            check_seed(seed)
        uniform = keras.random.uniform((tf.shape(images)[0], CONSISTENCY_DRAWS), seed=seed)
    uniform = tf.convert_to_tensor(uniform)
    flip = tf.reshape(uniform[:, 0] < 0.5, [-1, 1, 1, 1])
    images = tf.where(flip, tf.reverse(images, axis=[2]), images)
    height = images.shape[1] or tf.shape(images)[1]
    width = images.shape[2] or tf.shape(images)[2]
    max_rows, max_columns = height // 8, width // 8
    shift_rows = _whole_number(uniform[:, 1], 2 * max_rows + 1) - max_rows
    shift_columns = _whole_number(uniform[:, 2], 2 * max_columns + 1) - max_columns
    # Output pixel (i, j) reads pixel (i + shift_rows, j + shift_columns) of the image padded
    # by reflection, which holds every pixel a shift can reach.
    padded = tf.pad(
        images, [[0, 0], [max_rows, max_rows], [max_columns, max_columns], [0, 0]], "REFLECT"
    )
    column_index = tf.range(width)[None, :] + shift_columns[:, None] + max_columns
    row_index = tf.range(height)[None, :] + shift_rows[:, None] + max_rows
    shifted = tf.gather(padded, column_index, axis=2, batch_dims=1)
    return tf.gather(shifted, row_index, axis=1, batch_dims=1)


def _per_image(values, dtype):
    """Per-image numbers `(batch,)` as a `(batch, 1, 1, 1)` tensor of `dtype`."""
    return tf.reshape(tf.cast(values, dtype), [-1, 1, 1, 1])


def _color(images, brightness, saturation, contrast):
    dtype = images.dtype
    images = images + _per_image(brightness - 0.5, dtype)
    mean = tf.reduce_mean(images, axis=3, keepdims=True)
    images = (images - mean) * _per_image(saturation * 2.0, dtype) + mean
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    return (images - mean) * _per_image(contrast + 0.5, dtype) + mean


def _whole_number(uniform, count):
    """A whole number in [0, count) from a U(0, 1) value (a uniform pick among `count`)."""
    count = tf.cast(count, tf.int32)
    value = tf.cast(tf.floor(uniform * tf.cast(count, uniform.dtype)), tf.int32)
    return tf.minimum(value, count - 1)


def _translation(images, rows, columns):
    shape = tf.shape(images)
    height, width = shape[1], shape[2]
    max_rows, max_columns = height // 8, width // 8
    shift_rows = _whole_number(rows, 2 * max_rows + 1) - max_rows
    shift_columns = _whole_number(columns, 2 * max_columns + 1) - max_columns
    # Output pixel (i, j) reads input pixel (i + shift_rows, j + shift_columns); a one-pixel
    # frame of zeros around the input stands for everything outside it.
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]])
    column_index = tf.clip_by_value(
        tf.range(width)[None, :] + shift_columns[:, None] + 1, 0, width + 1
    )
    row_index = tf.clip_by_value(tf.range(height)[None, :] + shift_rows[:, None] + 1, 0, height + 1)
    shifted = tf.gather(padded, column_index, axis=2, batch_dims=1)
    return tf.gather(shifted, row_index, axis=1, batch_dims=1)


def _cutout(images, rows, columns):
    shape = tf.shape(images)
    height, width = shape[1], shape[2]
    cut_height, cut_width = height // 2, width // 2
    # As in the reference: the centre is uniform in [0, size + (1 - cut % 2)).
    top = _whole_number(rows, height + 1 - cut_height % 2) - cut_height // 2
    left = _whole_number(columns, width + 1 - cut_width % 2) - cut_width // 2
    row = tf.range(height)[None, :]
    column = tf.range(width)[None, :]
    in_rows = (row >= top[:, None]) & (row < top[:, None] + cut_height)
    in_columns = (column >= left[:, None]) & (column < left[:, None] + cut_width)
    inside = in_rows[:, :, None] & in_columns[:, None, :]
    mask = 1.0 - tf.cast(inside, images.dtype)
    return images * mask[:, :, :, None]


_APPLY = {"color": _color, "translation": _translation, "cutout": _cutout}

"""The tf.data pipelines every source ends in: shuffle with a seed, batch, scale, prefetch.

Two shapes of pipeline, chosen by where the decoded examples live:

* In memory (IDX files, image folders, NumPy arrays, toy distributions): the dataset shuffles
  indices and gathers a whole batch with one `tf.gather`, then scales the batch in one op. No
  per-example Python or per-example op runs, which keeps it far ahead of any training step.
* Streamed (tensorflow-datasets): examples are decoded and resized once in a parallel map,
  cached, shuffled, then batched and scaled per batch.

Images are kept as uint8 until the last step: a quarter of the memory of float32, and the scale
`x / 127.5 - 1` to [-1, 1] is applied per batch.
"""

import re
import warnings

import numpy as np
import tensorflow as tf

from kgan._validation import check_choice, check_positive_int, check_seed
from kgan.data import order as epoch_order

AUTOTUNE = tf.data.AUTOTUNE
COLOR_MODES = (None, "grayscale", "rgb")
CROPS = (None, "center")
_STREAMED_SHUFFLE_BUFFER = 10_000
# In-memory sources are resized this many images at a time, to bound the float32
# intermediate of `tf.image.resize`.
_RESIZE_CHUNK = 4096


def without_autotune_thread(dataset):
    """`dataset` with tf.data's autotuning thread off, unless its options already decide.

    Why: destroying a tf.data iterator joins its autotuning thread (`tf_data_model`, which
    runs `Model::OptimizeLoop`), and with TensorFlow 2.21 that join can last until the
    thread's current sleep ends, up to its 10.24 s optimisation period, when the thread missed
    the cancellation while it was busy optimising (which a loaded CPU makes likely). Keras
    destroys the iterator when `fit` returns, so every `fit` call could end seconds after its
    last step (`tools/benchmark_fit_wait.py` measures it). Without the thread nothing is left
    to wait for.

    Nothing is lost for the pipeline's speed: without autotuning, `num_parallel_calls=AUTOTUNE`
    runs min(16, number of cores) calls at once (the most the autotuner would choose) and
    `prefetch(AUTOTUNE)` sizes its buffer with tf.data's own buffer autotuner.

    A dataset whose options set `autotune.enabled` (True or False) is returned unchanged.
    """
    if dataset.options().autotune.enabled is not None:
        return dataset
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def scale_images(images):
    """Maps uint8 pixels [0, 255] to float32 [-1, 1] as `x / 127.5 - 1`."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def check_batching(batch_size, shuffle, seed, drop_remainder):
    check_positive_int("batch_size", batch_size)
    for name, value in (("shuffle", shuffle), ("drop_remainder", drop_remainder)):
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"`{name}` must be True or False. Received: {name}={value!r}")
    check_seed(seed)


def normalize_image_size(image_size):
    """Returns `image_size` as `(height, width)`, from an int, a pair or `None`."""
    if image_size is None:
        return None
    if isinstance(image_size, (int, np.integer)) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    try:
        height, width = (int(s) for s in image_size)
    except (TypeError, ValueError):
        height = width = 0
    if height < 1 or width < 1 or any(isinstance(s, bool) for s in np.ravel(image_size)):
        raise ValueError(
            "`image_size` must be a positive integer or a pair (height, width) of positive "
            f"integers. Received: image_size={image_size!r}"
        )
    return height, width


def check_color_mode(color_mode):
    check_choice("color_mode", color_mode, COLOR_MODES)


def convert_channels(images, color_mode):
    """Converts uint8 images `(..., H, W, C)` to 1 (grayscale) or 3 (rgb) channels.

    Grayscale uses ITU-R 601 luma (as `tf.image.rgb_to_grayscale`), rounded rather than
    truncated so that an image that was grey to begin with keeps its exact values.
    """
    channels = images.shape[-1]
    if color_mode is None:
        return images
    if color_mode == "rgb":
        if channels == 1:
            return tf.concat([images] * 3, axis=-1)
        return images[..., :3]  # Drops an alpha channel.
    if channels == 1:
        return images
    luma = tf.image.rgb_to_grayscale(tf.cast(images[..., :3], tf.float32))
    return tf.cast(tf.clip_by_value(tf.round(luma), 0.0, 255.0), tf.uint8)


def check_crop(crop, image_size):
    """Checks `crop` against the choices and that a crop has a size to crop to."""
    check_choice("crop", crop, CROPS)
    if crop is not None and image_size is None:
        raise ValueError(
            "`crop` needs `image_size`, the size to resize and crop to. "
            f"Received: crop={crop!r}, image_size=None"
        )


# The start of the error `center_crop_to_aspect` raises (a `tf.errors.InvalidArgumentError`).
CROP_DOES_NOT_FIT = (
    "The centre crop does not fit the image: with crop='center' images are shrunk to "
    "image_size, never enlarged; use a smaller image_size, or crop=None to resize them"
)


def center_crop_fits(height, width, image_size):
    """Whether a `height` x `width` image's centre crop to the aspect ratio of `image_size`
    holds at least `image_size` pixels (`center_crop_to_aspect`'s condition, in Python)."""
    target_height, target_width = image_size
    crop_height = min(height, (width * target_height) // target_width)
    crop_width = min(width, (height * target_width) // target_height)
    return crop_height >= target_height and crop_width >= target_width


def center_crop_to_aspect(images, image_size):
    """The centre of `images` `(..., H, W, C)` with the aspect ratio of `image_size`.

    Cropping to the target's aspect ratio and then resizing is the same as resizing the
    short side and then cropping the centre, with less work for the resize. The crop must
    hold at least `image_size` pixels: images are shrunk to it, never enlarged.

    Raises:
        tf.errors.InvalidArgumentError: starting `CROP_DOES_NOT_FIT`, if the crop is smaller
            than `image_size` in either dimension.
    """
    shape = tf.shape(images, out_type=tf.int64)  # Products of large sides overflow int32.
    height, width = shape[-3], shape[-2]
    target_height, target_width = (tf.constant(size, tf.int64) for size in image_size)
    # Integer arithmetic: crop_h = min(H, W * th / tw), crop_w = min(W, H * tw / th).
    crop_height = tf.minimum(height, (width * target_height) // target_width)
    crop_width = tf.minimum(width, (height * target_width) // target_height)
    # A centre crop that would have to be enlarged to `image_size` does not fit the image.
    tf.debugging.assert_greater_equal(
        tf.stack([crop_height, crop_width]),
        tf.stack([target_height, target_width]),
        message=CROP_DOES_NOT_FIT,
    )
    top = (height - crop_height) // 2
    left = (width - crop_width) // 2
    return images[..., top : top + crop_height, left : left + crop_width, :]


def resize_uint8(images, image_size, crop=None):
    """Resizes uint8 images to `image_size` (bilinear, antialiased) and rounds back to uint8.

    With `crop="center"` the aspect ratio is kept: the short side is resized to fit and the
    centre is cropped; otherwise the image is stretched to `image_size`.
    """
    if image_size is None:
        return images
    if crop == "center":
        images = center_crop_to_aspect(images, image_size)
    elif tuple(images.shape[-3:-1]) == tuple(image_size):
        return images
    resized = tf.image.resize(images, image_size, method="bilinear", antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), tf.uint8)


def transform_arrays(images, image_size, color_mode, crop=None):
    """Applies `image_size`, `crop` and `color_mode` to an in-memory uint8 array once."""
    if image_size is None and color_mode is None:
        return images
    chunks = []
    for start in range(0, max(len(images), 1), _RESIZE_CHUNK):
        chunk = tf.convert_to_tensor(images[start : start + _RESIZE_CHUNK])
        try:
            chunk = resize_uint8(convert_channels(chunk, color_mode), image_size, crop)
        except tf.errors.InvalidArgumentError as error:
            if CROP_DOES_NOT_FIT not in error.message:
                raise
            raise ValueError(
                f"{CROP_DOES_NOT_FIT}: the images are {images.shape[1]}x{images.shape[2]}. "
                f"Received: image_size={tuple(image_size)!r}, crop={crop!r}"
            ) from None
        chunks.append(chunk.numpy())
    return np.concatenate(chunks, axis=0)


def parse_split(split, available, *, source):
    """Resolves a split name, with tfds-style slices, against the splits a source has.

    Accepts `"train"`, `"test"` ... and slices such as `"train[:1000]"`, `"train[10%:]"` or
    `"test[-500:]"`; percentages are in [-100%, 100%], negative ones counting from the end.

    Returns:
        `(name, slice_function)`, where `slice_function(n)` gives the `slice` of the n examples.
    """
    match = re.fullmatch(r"\s*(\w+)\s*(?:\[\s*(-?\d+%?)?\s*:\s*(-?\d+%?)?\s*\])?\s*", str(split))
    if not isinstance(split, str) or match is None:
        raise ValueError(
            "`split` must be a split name such as 'train', optionally sliced like "
            f"'train[:1000]' or 'train[:10%]'. Received: split={split!r}"
        )
    name, start, stop = match.groups()
    if name not in available:
        raise ValueError(
            f"The split does not exist in {source}, which has the split(s) "
            f"{', '.join(repr(s) for s in available)}. Received: split={split!r}"
        )
    # As in tensorflow-datasets: a percentage counts from the end when negative, and one
    # beyond 100% would otherwise select the whole split silently.
    if any(text and text.endswith("%") and abs(int(text[:-1])) > 100 for text in (start, stop)):
        raise ValueError(
            f"The percentages of a split slice must be in [-100%, 100%]. Received: split={split!r}"
        )

    def bound(text, count):
        if text is None:
            return None
        if text.endswith("%"):
            return int(round(count * int(text[:-1]) / 100))
        return int(text)

    return name, lambda count: slice(bound(start, count), bound(stop, count))


def prepare_images(x, *, argument="x"):
    """Checks in-memory images and returns them as uint8 or float32 `(N, ...)` arrays.

    uint8 (and other integer arrays with values in [0, 255]) stay integers and are scaled per
    batch; float arrays must already be in [-1, 1] and pass through as float32. Images
    `(N, H, W)` get a channel axis; `(N, D)` vectors and `(N, H, W, C)` images keep their shape.
    """
    x = np.asarray(x)
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(
            f"`{argument}` must be a non-empty array of images (N, height, width[, channels]) "
            f"or vectors (N, features). Received: {argument} of shape {x.shape}"
        )
    if x.ndim == 3:
        x = x[..., np.newaxis]
    if np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_:
        if x.dtype != np.uint8:
            low, high = x.min(), x.max()
            if low < 0 or high > 255:
                raise ValueError(
                    f"Integer images must hold pixels in [0, 255]. Received: {argument} of "
                    f"dtype {x.dtype} with values in [{low}, {high}]"
                )
            x = x.astype(np.uint8)
        return x
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(
            f"`{argument}` must hold uint8 pixels or floats in [-1, 1]. Received: {argument} "
            f"of dtype {x.dtype}"
        )
    x = x.astype(np.float32, copy=False)
    low, high = float(x.min()), float(x.max())
    if not (np.isfinite(low) and np.isfinite(high)) or low < -1.0 or high > 1.0:
        raise ValueError(
            f"Float images must already be scaled to [-1, 1] (or pass uint8 pixels in "
            f"[0, 255], which are scaled as x / 127.5 - 1). Received: {argument} of dtype "
            f"float with values in [{low}, {high}]"
        )
    if low >= 0.0 and high > 0.0 and x.ndim == 4:
        # Images in [0, 1] pass the range check but train a GAN whose tanh output spans
        # [-1, 1] on half of it; this is the most common scaling slip, so say so.
        warnings.warn(
            f"`{argument}` holds float images in [{low:.3g}, {high:.3g}] with no negative "
            "value; kgan expects images in [-1, 1]. If they are in [0, 1], pass `x * 2 - 1`.",
            stacklevel=3,
        )
    return x


def prepare_labels(y, num_examples, *, argument="y"):
    """Checks integer class labels, one per example, and returns them as int32 `(N,)`."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or y.shape[0] != num_examples:
        raise ValueError(
            f"`{argument}` must hold one integer label per example ({num_examples}). "
            f"Received: {argument} of shape {y.shape}"
        )
    if not np.issubdtype(y.dtype, np.integer):
        if not np.issubdtype(y.dtype, np.floating) or np.any(np.mod(y, 1)):
            raise ValueError(
                f"`{argument}` must hold integer class labels. Received: {argument} of dtype "
                f"{y.dtype} with values like {y[:5].tolist()}"
            )
    if y.size and (y.min() < 0 or y.max() > np.iinfo(np.int32).max):
        raise ValueError(
            f"`{argument}` must hold non-negative integer labels. Received: {argument} with "
            f"values in [{y.min()}, {y.max()}]"
        )
    return y.astype(np.int32)


def array_dataset(
    images,
    labels=None,
    *,
    batch_size,
    shuffle,
    seed,
    drop_remainder,
    gather_fn=None,
    num_examples=None,
):
    """Batches in-memory examples: shuffled indices, one gather and one scale per batch.

    Args:
        images: uint8 array (scaled to [-1, 1] per batch) or float32 array (passed through).
        labels: optional int32 array, one per example.
        batch_size: examples per batch.
        shuffle: whether to shuffle the examples each epoch.
        seed: an integer for an order that is a function of `(seed, epoch)`, or `None`.
        drop_remainder: whether to drop the last batch when it is smaller.
        gather_fn: optional `indices -> batch` replacing the gather of `images`, for sources
            that build each example from several rows (Stacked MNIST), or that read labels
            which change during training (self-conditioning). It must return float32 images,
            or a tuple of them and labels.
        num_examples: number of examples, required with `gather_fn` (then `images` is unused).

    Returns:
        A `tf.data.Dataset` of batches `images` or `(images, labels)`. With an integer `seed`
        the order of epoch `e` is a pure function of `(seed, e)` (see `kgan.data.order`).
    """
    if gather_fn is None:
        num_examples = len(images)
        images = tf.constant(images)
    if labels is not None:
        labels = tf.constant(labels, tf.int32)
    indices = tf.data.Dataset.range(num_examples)
    order = None
    if shuffle and seed is not None:
        # A uniform random permutation per epoch, a pure function of (seed, epoch): see
        # `kgan.data.order`.
        indices, order = epoch_order.shuffled_indices(num_examples, seed)
    elif shuffle:
        # The whole index set is the buffer, so each epoch is a uniform random permutation.
        indices = indices.shuffle(num_examples, reshuffle_each_iteration=True)
    indices = indices.batch(batch_size, drop_remainder=drop_remainder)

    def gather(batch_indices):
        if gather_fn is not None:
            batch = gather_fn(batch_indices)
        else:
            batch = tf.gather(images, batch_indices)
            if batch.dtype == tf.uint8:
                batch = scale_images(batch)
        if labels is None:
            return batch
        return batch, tf.gather(labels, batch_indices)

    dataset = indices.map(gather, num_parallel_calls=AUTOTUNE, deterministic=True)
    return epoch_order.attach(without_autotune_thread(dataset.prefetch(AUTOTUNE)), order)


def streamed_dataset(
    examples,
    *,
    batch_size,
    shuffle,
    seed,
    drop_remainder,
    cache=True,
    shuffle_buffer_size=None,
):
    """Finishes a dataset of decoded uint8 examples: cache, shuffle, batch, scale, prefetch.

    Args:
        examples: `tf.data.Dataset` of uint8 images `(H, W, C)` or `(image, label)` pairs,
            already decoded and resized (in a parallel map) by the caller.
        batch_size: examples per batch.
        shuffle: whether to shuffle the examples each epoch.
        seed: an integer for an order that is a function of `(seed, epoch)`, or `None`.
        drop_remainder: whether to drop the last batch when it is smaller.
        cache: `True` caches the decoded examples in memory after the first epoch, a string
            caches them in that file, `False` decodes every epoch.
        shuffle_buffer_size: examples in the shuffle buffer; by default the whole dataset
            when it is cached in memory (a true permutation at no extra memory, since the buffer
            shares the cached tensors), else 10,000.
    """
    if cache is True:
        examples = examples.cache()
    elif isinstance(cache, str):
        examples = examples.cache(cache)
    elif cache is not False:
        raise ValueError(
            f"`cache` must be True (memory), False or a file name. Received: cache={cache!r}"
        )
    order = None
    if shuffle:
        if shuffle_buffer_size is None:
            count = int(examples.cardinality())
            shuffle_buffer_size = count if cache is True and count > 0 else _STREAMED_SHUFFLE_BUFFER
        check_positive_int("shuffle_buffer_size", shuffle_buffer_size)
        if seed is None:
            examples = examples.shuffle(shuffle_buffer_size, reshuffle_each_iteration=True)
        else:
            examples, order = epoch_order.shuffled_examples(examples, shuffle_buffer_size, seed)
    batches = examples.batch(batch_size, drop_remainder=drop_remainder)

    def scale(*batch):
        if len(batch) == 1:
            return scale_images(batch[0])
        return scale_images(batch[0]), batch[1]

    batches = batches.map(scale, num_parallel_calls=AUTOTUNE, deterministic=True)
    return epoch_order.attach(without_autotune_thread(batches.prefetch(AUTOTUNE)), order)

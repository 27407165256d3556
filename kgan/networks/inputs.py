"""Labels in the networks' inputs: the builders' `labels` input, `[x, labels]`, and batches.

A class-conditional generator takes `[z, labels]` and a conditional discriminator takes
`[samples, labels]`, with integer labels of shape `(batch,)`; unconditional networks take `z`
or `samples` alone.
"""

import keras
import tensorflow as tf


def with_labels(x, labels):
    """A network's inputs: `x` alone when `labels` is `None`, else `[x, labels]`."""
    return x if labels is None else [x, labels]


def split_batch(data, num_classes):
    """`(samples, labels)` of a training batch, inside `train_step`.

    Labels become int32 classes of shape `(batch,)` (from integers, `(batch, 1)` columns or
    one-hot rows); they are `None` for an unconditional model (`num_classes=None`).
    """
    samples, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
    if num_classes is None:
        return samples, None
    labels = tf.convert_to_tensor(labels)
    if labels.shape.rank == 2 and labels.shape[-1] == num_classes:
        labels = tf.argmax(labels, axis=-1)
    elif labels.shape.rank == 2:
        labels = tf.squeeze(labels, axis=-1)
    return samples, tf.cast(labels, "int32")


def label_input():
    """The `labels` input of a conditional network: integer classes of shape `(batch,)`."""
    return keras.Input(shape=(), dtype="int32", name="labels")


def concat_one_hot_label(x, num_classes, name):
    """Adds a `labels` input and concatenates its one-hot code to the features `x`.

    Returns:
        `(labels, x)`: the new input and the concatenated features (layer `name`).
    """
    labels = label_input()
    one_hot = keras.layers.CategoryEncoding(num_classes, output_mode="one_hot", name="one_hot")(
        labels
    )
    return labels, keras.layers.Concatenate(name=name)([x, one_hot])

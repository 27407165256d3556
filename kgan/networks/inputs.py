"""Labels in the networks' inputs: the builders' `labels` input, `[x, labels]`, and batches.

A class-conditional generator takes `[z, labels]` and a conditional discriminator takes
`[samples, labels]`, with integer labels of shape `(batch,)`; unconditional networks take `z`
or `samples` alone.
"""

import keras
import numpy as np
import tensorflow as tf

from kgan._validation import check_choice


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


@keras.saving.register_keras_serializable(package="kgan")
class ClusterFromLatent(keras.layers.Layer):
    """Draws a class for each latent vector from its first value, at given frequencies.

    The first value of `z` is mapped to u in [0, 1) by its distribution's CDF (N(0, 1) or
    U(-1, 1)), and the class is the one whose share of the cumulative `frequencies` holds u:
    classes come out at their frequencies, and the same `z` always gives the same class. It
    turns a class-conditional generator into one of `z` alone
    (`kgan.callbacks.SelfConditioning.generator`), which exports as an unconditional one.

    Args:
        frequencies: the probability of each class (non-negative, summing to 1).
        distribution: `"normal"` (default) or `"uniform"`, that of `z`.

    Input shape: `(batch, latent_dim)`. Output: int32 classes `(batch,)`.
    """

    def __init__(self, frequencies, distribution="normal", **kwargs):
        super().__init__(**kwargs)
        frequencies = np.asarray(frequencies, np.float64)
        if (
            frequencies.ndim != 1
            or len(frequencies) == 0
            or np.any(frequencies < 0)
            or not np.isclose(frequencies.sum(), 1.0, atol=1e-6)
        ):
            raise ValueError(
                "`frequencies` must be non-negative probabilities summing to 1. Received: "
                f"frequencies={frequencies.tolist()}"
            )
        check_choice("distribution", distribution, ("normal", "uniform"))
        self.frequencies = frequencies.tolist()
        self.distribution = distribution
        # The upper edge of every class but the last; u beyond them all is the last class.
        self._edges = np.cumsum(frequencies)[:-1].astype("float32")

    def call(self, z):
        first = keras.ops.cast(z[:, 0], "float32")
        if self.distribution == "normal":
            u = 0.5 * (1.0 + keras.ops.erf(first / np.sqrt(2.0).astype("float32")))
        else:
            u = (first + 1.0) / 2.0
        above = keras.ops.cast(u[:, None] >= keras.ops.convert_to_tensor(self._edges), "int32")
        return keras.ops.sum(above, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],)

    def compute_output_spec(self, z):
        return keras.KerasTensor((z.shape[0],), dtype="int32")

    def get_config(self):
        config = super().get_config()
        config.update({"frequencies": self.frequencies, "distribution": self.distribution})
        return config

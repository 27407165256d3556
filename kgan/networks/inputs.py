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
    """Splits a latent vector into a class drawn from its first value and the rest of it.

    The first value of each row is mapped to u in [0, 1) by its distribution's CDF (N(0, 1)
    or U(-1, 1)), and the class is the one whose share of the cumulative `frequencies` holds
    u, so classes come out at their frequencies and the same row always gives the same class.
    The other values, independent of the first, are the generator's z. It turns a
    class-conditional generator of `latent_dim` into one of `latent_dim + 1` values alone
    (`kgan.callbacks.SelfConditioning.generator`), which exports as an unconditional one.
    It computes in float32 whatever the global policy, so that the classes drawn do not
    depend on it.

    Args:
        frequencies: the probability of each class (non-negative, summing to 1).
        distribution: `"normal"` (default) or `"uniform"`, that of the latent values.

    Input shape: `(batch, latent_dim + 1)`. Outputs: `[z, classes]`, float32 `(batch,
    latent_dim)` and int32 `(batch,)`.
    """

    def __init__(self, frequencies, distribution="normal", **kwargs):
        kwargs.setdefault("dtype", "float32")
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

    def call(self, latent):
        latent = keras.ops.cast(latent, "float32")
        first = latent[:, 0]
        if self.distribution == "normal":
            u = 0.5 * (1.0 + keras.ops.erf(first / np.sqrt(2.0).astype("float32")))
        else:
            u = (first + 1.0) / 2.0
        above = keras.ops.cast(u[:, None] >= keras.ops.convert_to_tensor(self._edges), "int32")
        return [latent[:, 1:], keras.ops.sum(above, axis=1)]

    def classes_of(self, latent):
        """The class of each row of `latent`, an int32 NumPy array, as `call` draws it."""
        return keras.ops.convert_to_numpy(self(np.asarray(latent, "float32"))[1]).astype("int32")

    def within_classes(self, latent, classes):
        """`latent` with each row's first value moved into the part of the prior that draws
        `classes[i]`: its CDF value u is rescaled into that class's share of [0, 1), so rows
        that were distributed as the prior are distributed as the prior given their class.

        Args:
            latent: float32 `(batch, latent_dim + 1)` from the prior.
            classes: int `(batch,)`, each a class of non-zero frequency.

        Returns:
            A float32 copy of `latent` whose rows `classes_of` gives as `classes`.
        """
        latent = np.array(latent, dtype="float32")
        classes = np.asarray(classes, dtype="int64")
        frequencies = np.asarray(self.frequencies)
        if np.any(frequencies[classes] <= 0):
            raise ValueError(
                "Every class must have a non-zero frequency. Received: classes with frequency 0: "
                f"{sorted(set(classes[frequencies[classes] <= 0].tolist()))}"
            )
        lower = np.concatenate([[0.0], np.cumsum(frequencies)[:-1]])[classes]
        width = frequencies[classes]
        first = latent[:, 0].astype("float64")
        u = np.clip(self._cdf(first), 0.0, 1.0)
        value = self._inverse_cdf(lower + width * u).astype("float32")
        # A row whose value rounds onto an edge in float32 moves to its class's middle.
        wrong = self.classes_of(np.column_stack([value, latent[:, 1:]])) != classes
        if np.any(wrong):
            value[wrong] = self._inverse_cdf(lower + width * 0.5)[wrong]
        latent[:, 0] = value
        return latent

    def _cdf(self, value):
        if self.distribution == "normal":
            return 0.5 * (1.0 + tf.math.erf(tf.constant(value, tf.float64) / np.sqrt(2.0)).numpy())
        return (value + 1.0) / 2.0

    def _inverse_cdf(self, u):
        if self.distribution == "normal":
            return tf.math.ndtri(tf.constant(u, tf.float64)).numpy()
        return 2.0 * u - 1.0

    def compute_output_spec(self, latent):
        batch, width = latent.shape
        return [
            keras.KerasTensor((batch, None if width is None else width - 1), dtype="float32"),
            keras.KerasTensor((batch,), dtype="int32"),
        ]

    def get_config(self):
        config = super().get_config()
        config.update({"frequencies": self.frequencies, "distribution": self.distribution})
        return config


def cluster_layer(generator):
    """The `ClusterFromLatent` layer of a generator of latent vectors alone
    (`latent_class_generator`), else `None`."""
    for layer in getattr(generator, "layers", []):
        if isinstance(layer, ClusterFromLatent):
            return layer
    return None


def latent_class_generator(generator, frequencies, *, latent_distribution="normal", name=None):
    """A generator of latent vectors alone from a class-conditional `generator`.

    Its input has `latent_dim + 1` values from `latent_distribution`: the first picks the
    class at `frequencies` (`ClusterFromLatent`), the others are `generator`'s z, so the same
    vector always gives the same image, and the result exports as an unconditional generator.

    Args:
        generator: a class-conditional generator `keras.Model` taking `[z, labels]`.
        frequencies: the probability of each class.
        latent_distribution: `"normal"` or `"uniform"`, that of z.
        name: the model's name (default: the generator's, with `_of_clusters`).
    """
    if not isinstance(generator, keras.Model) or len(getattr(generator, "inputs", None) or []) != 2:
        raise ValueError(
            "`generator` must be a class-conditional generator keras.Model taking `[z, labels]`. "
            f"Received: generator={generator!r}"
        )
    latent_dim = generator.inputs[0].shape[-1]
    latent = keras.Input((latent_dim + 1,), name="z")
    z, classes = ClusterFromLatent(frequencies, latent_distribution, name="cluster")(latent)
    images = generator([z, classes])
    return keras.Model(latent, images, name=name or f"{generator.name}_of_clusters")

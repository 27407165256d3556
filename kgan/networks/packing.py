"""PacGAN's packing (Lin et al. 2018, arXiv:1712.04086): the discriminator judges `packing`
samples at once, all real or all generated, which makes a generator that repeats itself easy
to tell apart from the data.

`Pack` concatenates every `packing` consecutive samples of a batch along the last axis (the
channels of an image, the features of a vector); the discriminator's layers then see one
packed input per group. `Unpack` repeats each group's score for each of its samples, so that
the model's losses keep one score per sample: the loss averaged over the samples is the loss
averaged over the packs. A gradient penalty differentiates each sample's score, which is its
pack's, so it weighs a pack `packing` times (see `kgan.models.dcgan_discriminator`).
"""

import keras
import tensorflow as tf

from kgan._keras_internals import flatten_layers
from kgan._validation import check_positive_int


@keras.saving.register_keras_serializable(package="kgan")
class Pack(keras.layers.Layer):
    """Concatenates every `packing` consecutive samples along the last axis.

    Args:
        packing: samples per pack; the batch size must be a multiple of it.

    Input shape: `(batch, ..., channels)`.
    Output shape: `(batch / packing, ..., packing * channels)`; the first sample of a pack
    gives the first `channels` values.
    """

    def __init__(self, packing, **kwargs):
        super().__init__(**kwargs)
        check_positive_int("packing", packing)
        self.packing = packing

    def call(self, samples):
        inner = tuple(samples.shape[1:])
        batch = tf.shape(samples)[0]
        check = tf.debugging.Assert(
            tf.equal(batch % self.packing, 0),
            [
                f"A discriminator with packing={self.packing} judges the samples "
                f"{self.packing} at a time, so its batch size must be a multiple of "
                f"{self.packing} (batch the data with drop_remainder=True). Received: batch size",
                batch,
            ],
        )
        with tf.control_dependencies([check]):
            groups = tf.reshape(samples, [-1, self.packing, *inner])
        # (packs, packing, ..., channels) -> (packs, ..., packing, channels).
        rank = len(inner)
        groups = tf.transpose(groups, [0, *range(2, rank + 1), 1, rank + 1])
        return tf.reshape(groups, [-1, *inner[:-1], self.packing * inner[-1]])

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else input_shape[0] // self.packing
        return (batch, *input_shape[1:-1], self.packing * input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "packing": self.packing}


@keras.saving.register_keras_serializable(package="kgan")
class Unpack(keras.layers.Layer):
    """Repeats each pack's scores for each of its `packing` samples.

    Input shape: `(packs, ...)`. Output shape: `(packs * packing, ...)`.
    """

    def __init__(self, packing, **kwargs):
        super().__init__(**kwargs)
        check_positive_int("packing", packing)
        self.packing = packing

    def call(self, scores):
        return tf.repeat(scores, self.packing, axis=0)

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else input_shape[0] * self.packing
        return (batch, *input_shape[1:])

    def get_config(self):
        return {**super().get_config(), "packing": self.packing}


def packing_of(discriminator):
    """The `packing` of the `Pack` layer in `discriminator` (nested models too), 1 without
    one."""
    if not isinstance(discriminator, keras.layers.Layer):
        return 1
    for layer in flatten_layers(discriminator):
        if isinstance(layer, Pack):
            return layer.packing
    return 1

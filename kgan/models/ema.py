"""An exponential moving average (EMA) of the generator's weights.

After every generator update, each trainable weight of the average moves towards the
generator's:

    theta_avg <- decay * theta_avg + (1 - decay) * theta

Samples from the averaged weights are smoother and usually better than those of the last step
(Yazici et al. 2019, arXiv:1806.04498; Karras et al. 2018 sample from it).

The average lives in a frozen copy of the generator that the model holds as its
`inference_generator`. Being a Keras model held by the model, it is saved and restored with it
(in the `.keras` file under `inference_generator/`), and `generate` and export call it as they
would any generator.
"""

import keras
import tensorflow as tf


def averaged_copy(generator, example_inputs):
    """A frozen copy of `generator` holding its weights, to average them into.

    Args:
        generator: the generator being trained.
        example_inputs: inputs to call the copy with once, which builds the copy of a
            subclassed generator (a functional one is built already).
    """
    copy = keras.models.clone_model(generator)
    copy(example_inputs, training=False)
    copy.set_weights(generator.get_weights())
    copy.trainable = False
    return copy


def update_average(average, generator, decay):
    """Moves `average`'s weights one EMA step towards `generator`'s.

    Args:
        average: the copy made by `averaged_copy`.
        generator: the generator just updated.
        decay: the EMA decay in [0, 1), for example 0.999.
    """
    decay = tf.constant(decay, tf.float32)
    trainable = {id(weight) for weight in generator.trainable_weights}
    for averaged, weight in zip(average.weights, generator.weights):
        if id(weight) in trainable:
            averaged.assign(decay * averaged + (1.0 - decay) * tf.cast(weight, averaged.dtype))
        else:
            # Batch-norm moving statistics are copied, not averaged: they already are running
            # averages of the current generator's activations.
            averaged.assign(weight)

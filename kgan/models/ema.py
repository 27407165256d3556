"""An exponential moving average (EMA) of the generator's weights.

After every generator update, each trainable weight of the average moves towards the
generator's:

    theta_avg <- decay * theta_avg + (1 - decay) * theta

Samples from the averaged weights are smoother and usually better than those of the last step
(Yazici et al. 2019, arXiv:1806.04498; Karras et al. 2018 sample from it).

Early in training the average would remember the random initialisation for about
1 / (1 - decay) steps; with the warm-up (on by default) step t uses

    decay_t = min(decay, (1 + t) / (10 + t))

the `num_updates` form of `tf.train.ExponentialMovingAverage`, so the horizon grows with the
steps taken, like StyleGAN2's `ema_rampup`.

Batch normalisation: the averaged weights need moving statistics of their own. By default the
generator's moving mean and variance are averaged along with the weights (they change slowly
with the weights they describe). `recompute_statistics` instead measures them for the averaged
weights: it runs the averaged generator in training mode on fresh noise and sets each moving
mean and variance to the average of the batches' means and variances (the cumulative average,
as PyTorch's `update_bn` does for weight averaging).

The average lives in a frozen copy of the generator that the model holds as its
`inference_generator`. Being a Keras model held by the model, it is saved and restored with it
(in the `.keras` file under `inference_generator/`), and `generate` and export call it as they
would any generator.
"""

import keras
import tensorflow as tf

from kgan._keras_internals import flatten_layers
from kgan._validation import check_positive_int, check_seed
from kgan.models.noise import sample_latent
from kgan.networks.inputs import with_labels


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


def update_average(average, generator, decay, *, step=None):
    """Moves `average`'s weights one EMA step towards `generator`'s.

    Trainable weights and floating-point non-trainable ones (batch-norm moving statistics) are
    averaged; others (integer counters, seeds) are copied.

    Args:
        average: the copy made by `averaged_copy`.
        generator: the generator just updated.
        decay: the EMA decay in [0, 1), for example 0.999.
        step: the number of averaging steps before this one, for the warm-up
            `min(decay, (1 + step) / (10 + step))`; `None` uses `decay` from the start.
    """
    decay = tf.constant(decay, tf.float32)
    if step is not None:
        step = tf.cast(step, tf.float32)
        decay = tf.minimum(decay, (1.0 + step) / (10.0 + step))
    for averaged, weight in zip(average.weights, generator.weights):
        if not _is_float(averaged.dtype):
            averaged.assign(weight)
            continue
        rate = tf.cast(decay, averaged.dtype)
        averaged.assign(rate * averaged + (1.0 - rate) * tf.cast(weight, averaged.dtype))


def _is_float(dtype):
    return tf.as_dtype(dtype).is_floating


def recompute_statistics(average, batches):
    """Recomputes the batch-norm moving statistics of the averaged generator.

    Runs `average` in training mode on each batch of inputs; after batch i (from 1) each moving
    mean and variance is the mean over the first i batches of the batch means and (biased)
    variances. Layers other than batch normalisation keep their weights.

    Args:
        average: the averaged generator (frozen: its BatchNormalization layers are made
            trainable for the duration of the call, since a frozen one ignores `training`).
        batches: an iterable of generator inputs (`z` or `[z, labels]`).

    Returns:
        The number of BatchNormalization layers updated.
    """
    # kgan's blocks hold their BatchNormalization one level down.
    norms = [
        layer
        for layer in flatten_layers(average)
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    if not norms:
        return 0
    saved = [(layer.momentum, layer.trainable) for layer in norms]
    try:
        for layer in norms:
            layer.trainable = True
        for index, inputs in enumerate(batches):
            # moving <- i/(i+1) moving + 1/(i+1) batch: the running mean over the batches.
            for layer in norms:
                layer.momentum = index / (index + 1)
            average(inputs, training=True)
    finally:
        for layer, (momentum, trainable) in zip(norms, saved):
            layer.momentum = momentum
            layer.trainable = trainable
    return len(norms)


def statistics_batches(num_batches, batch_size, latent_dim, num_classes, distribution, seed):
    """The generator inputs `recompute_statistics` runs on: fresh noise from the prior.

    The latent vectors are `sample_latent(num_batches * batch_size, ..., seed=seed)` cut into
    batches; classes cycle 0, 1, ..., num_classes - 1 as in `generate`.
    """
    check_positive_int("num_batches", num_batches)
    check_positive_int("batch_size", batch_size)
    check_seed(seed)
    z = sample_latent(num_batches * batch_size, latent_dim, seed=seed, distribution=distribution)
    labels = None
    if num_classes is not None:
        labels = tf.cast(tf.range(num_batches * batch_size) % num_classes, tf.int32)
    for start in range(0, num_batches * batch_size, batch_size):
        batch_labels = None if labels is None else labels[start : start + batch_size]
        yield with_labels(z[start : start + batch_size], batch_labels)


def recompute_model_statistics(model, num_batches, batch_size, seed):
    """`model.recompute_ema_statistics(...)`: see `kgan.models.AdversarialModel`."""
    if model.ema_decay is None:
        raise ValueError(
            "The model keeps no moving average of the generator, so there are no averaged "
            "statistics to recompute; pass `ema_decay` to the model. Received: ema_decay=None"
        )
    if seed is None:
        seed = int(keras.random.randint((), 0, 2**31 - 1, seed=model.seed_generator))
    batches = statistics_batches(
        num_batches,
        batch_size,
        model.latent_dim,
        model.num_classes,
        model.latent_distribution,
        seed,
    )
    recompute_statistics(model.inference_generator, batches)

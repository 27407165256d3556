"""Checks of what users hand to an adversarial model: networks, training batches, labels, `z`.

Each check is a function of plain values (shapes, NumPy arrays, numbers) that returns the
normalised value or raises an error in Keras' form ("what is wrong. Received: ..."), so each
can be tested without building a model. `probe_networks` and `first_batch` are the two places
that call a network or read a dataset to get those values.
"""

import math
import numbers
import warnings

import keras
import numpy as np
import tensorflow as tf

from kgan._keras_internals import flatten_layers
from kgan._validation import short
from kgan.networks.inputs import with_labels
from kgan.networks.packing import packing_of

# `keras.Model.compile` arguments of a one-loss, one-optimiser model.
_SINGLE_MODEL_COMPILE_ARGUMENTS = (
    "loss",
    "optimizer",
    "metrics",
    "loss_weights",
    "weighted_metrics",
)


def format_shape(shape):
    """`(None, 28, 28, 1)`, `(64,)`: a shape as Keras prints it."""
    return str(tuple(None if s is None else int(s) for s in shape))


# ---------------------------------------------------------------------- model arguments


def check_network(name, network):
    if not isinstance(network, keras.layers.Layer):
        raise TypeError(
            f"`{name}` must be a keras.Model. Received: {name}={network!r} "
            f"of type {type(network).__name__}"
        )


def check_compile_arguments(model_name, kwargs):
    """Rejects `keras.Model.compile` arguments that a two-optimiser model has no use for."""
    for name in _SINGLE_MODEL_COMPILE_ARGUMENTS:
        if name in kwargs:
            raise ValueError(
                f"{model_name} computes its own losses and metrics and has two "
                f"optimisers; use `d_optimizer=` and `g_optimizer=` (and the model's "
                f"constructor arguments for the loss). Received: {name}={kwargs[name]!r}"
            )
    if kwargs:
        raise TypeError(f"Unexpected arguments to compile(): {sorted(kwargs)}")


# ---------------------------------------------------------------------- networks


def warn_batch_norm_penalty(discriminator, penalty, *, stacklevel=3):
    """Warns when `discriminator` holds BatchNormalization, under which a gradient penalty
    (`penalty`, for example "R1 penalty") is not per example.

    Batch statistics make each example's score depend on the rest of its batch, so the gradient
    of one score flows into the others; a penalty's extra pass over a batch also moves the
    moving statistics again.
    """
    # kgan's own blocks hold their BatchNormalization one level down.
    if any(
        isinstance(layer, keras.layers.BatchNormalization)
        for layer in flatten_layers(discriminator)
    ):
        warnings.warn(
            f"The discriminator contains BatchNormalization, which makes each example's score "
            f"depend on the rest of its batch: the {penalty} is then not per example, and its "
            "extra pass over a batch updates the moving statistics again. Use normalization=None "
            "or 'layer' in the discriminator (for example "
            "kgan.models.dcgan_discriminator(..., normalization='layer')).",
            stacklevel=stacklevel,
        )


def resolve_latent_dim(latent_dim, input_shapes, num_classes):
    """The size of `z`: `latent_dim`, checked against the generator's input shapes.

    Args:
        latent_dim: the size given by the user, or `None` to read it from the generator.
        input_shapes: the shapes of the generator's inputs (`generator.inputs`), or `None`
            when it has no static inputs (a subclassed model).
        num_classes: the model's number of classes, or `None`.
    """
    inferred = None
    if input_shapes:
        if num_classes is not None and len(input_shapes) != 2:
            raise ValueError(
                "A class-conditional generator takes two inputs, `[z, labels]`. "
                f"Received: generator with {len(input_shapes)} input(s) and "
                f"num_classes={num_classes}"
            )
        if num_classes is None and len(input_shapes) != 1:
            raise ValueError(
                f"The generator takes {len(input_shapes)} inputs; an unconditional generator "
                "takes one, `z`. Pass `num_classes` for a class-conditional generator. "
                f"Received: num_classes={num_classes}"
            )
        inferred = input_shapes[0][-1]
    if latent_dim is None:
        if inferred is None:
            raise ValueError(
                "`latent_dim` could not be read from the generator (it has no static input "
                "shape); pass it explicitly. Received: latent_dim=None"
            )
        return int(inferred)
    if inferred is not None and int(inferred) != latent_dim:
        raise ValueError(
            f"`latent_dim` does not match the generator, whose input `z` has size "
            f"{inferred}. Received: latent_dim={latent_dim}"
        )
    return int(latent_dim)


def check_sample_shape(sample_shape, discriminator_input_shape):
    """Checks the generator's output shape against the discriminator's input shape.

    Both are the shapes of one example; `None` entries (or a `None` input shape, for a
    discriminator without static inputs) match anything.
    """
    expected = discriminator_input_shape
    if expected is None:
        return
    if len(expected) != len(sample_shape) or any(
        e is not None and e != s for e, s in zip(expected, sample_shape)
    ):
        raise ValueError(
            "The generator's output shape does not match the discriminator's input shape "
            f"{format_shape(expected)}. Received: generator output shape "
            f"{format_shape(sample_shape)}"
        )


def check_reference_samples(name, samples, model):
    """Checks that the array `samples`, the argument `name` of a callback, holds samples of
    `model`'s size: the callbacks compare them with generated samples as flat vectors, so
    `(N, 28, 28)` serves a model of `(28, 28, 1)`. A model without `sample_shape` is not
    checked."""
    sample_shape = getattr(model, "sample_shape", None)
    if sample_shape is None:
        return
    if math.prod(samples.shape[1:]) != math.prod(tuple(sample_shape)):
        raise ValueError(
            f"`{name}` must hold samples of the model's shape {tuple(sample_shape)}. "
            f"Received: {name} of shape {samples.shape}"
        )


def check_scores_shape(scores_shape, batch_size):
    """The discriminator returns one logit (or score) per example: shape `(batch, 1)`."""
    if len(scores_shape) != 2 or scores_shape[0] != batch_size or scores_shape[1] != 1:
        raise ValueError(
            "The discriminator must return one logit per example, shape (batch, 1). "
            f"Received: discriminator output shape {format_shape(scores_shape)}"
        )


def probe_inputs(latent_dim, num_classes, batch_size=2):
    """`batch_size` zero latent vectors, and class-0 labels for a conditional model:
    `(z, labels)`."""
    labels = None if num_classes is None else tf.zeros((batch_size,), "int32")
    return tf.zeros((batch_size, latent_dim), "float32"), labels


def probe_networks(generator, discriminator, latent_dim, num_classes):
    """Runs both networks once on two examples (two packs of a packing discriminator) and
    checks that their shapes agree.

    Returns:
        The shape of one sample: the generator's output shape without the batch axis.
    """
    batch_size = 2 * packing_of(discriminator)
    z, labels = probe_inputs(latent_dim, num_classes, batch_size)
    try:
        samples = generator(with_labels(z, labels), training=False)
    except Exception as error:
        raise ValueError(
            f"The generator could not be called on a batch of latent vectors of shape "
            f"({batch_size}, {latent_dim})"
            + (f" with labels (num_classes={num_classes})" if num_classes else "")
            + f": {short(error, 300)}. Received: latent_dim={latent_dim}"
        ) from error
    sample_shape = tuple(samples.shape[1:])
    discriminator_inputs = getattr(discriminator, "inputs", None)
    expected = tuple(discriminator_inputs[0].shape[1:]) if discriminator_inputs else None
    check_sample_shape(sample_shape, expected)
    try:
        scores = discriminator(with_labels(samples, labels), training=False)
    except Exception as error:
        raise ValueError(
            "The discriminator could not be called on the generator's output of shape "
            f"{format_shape(sample_shape)}: {short(error, 300)}"
        ) from error
    check_scores_shape(tuple(scores.shape), batch_size)
    return sample_shape


# ---------------------------------------------------------------------- training data


def first_batch(x, y):
    """The first batch that `fit(x, y)` will train on, as NumPy arrays, when it is cheap to get.

    Returns:
        `(samples, labels, batched)`: `samples` is `None` for inputs with nothing cheap to
        inspect (a generator, a `PyDataset`, a dataset of dicts); `labels` is `None` when there
        are none; `batched` says whether `x` yields batches (a dataset) rather than being the
        whole array that `fit` will batch.
    """
    if isinstance(x, tf.data.Dataset):
        element = next(iter(x.take(1)), None)
        if element is None:
            raise ValueError("The training dataset is empty. Received: x=" + repr(x))
        if isinstance(element, dict):
            return None, None, True
        if isinstance(element, (tuple, list)):
            samples = element[0]
            labels = element[1] if len(element) > 1 else None
        else:
            samples, labels = element, None
        return np.asarray(samples), None if labels is None else np.asarray(labels), True
    if isinstance(x, (np.ndarray, tf.Tensor)) or hasattr(x, "__array__"):
        return np.asarray(x), None if y is None else np.asarray(y), False
    return None, None, True


def check_packing(discriminator, samples, *, batched, fit_kwargs, replicas=1):
    """Checks that the batches `fit` trains and validates on split into the packs of a packing
    discriminator on each of `replicas` replicas: the first batch of a dataset, or every batch
    `fit` cuts from an array (after `validation_split`)."""
    packing = packing_of(discriminator)
    if packing == 1:
        return
    unit = packing * replicas

    def refuse(problem):
        on = f" on each of {replicas} replicas" if replicas > 1 else ""
        raise ValueError(
            f"The discriminator packs {packing} samples at a time (packing={packing}){on}, so "
            f"every batch must hold a multiple of {unit}: {problem}"
        )

    def check_array(count, batch_size, kind, argument):
        if batch_size % unit:
            refuse(f"batches of {batch_size}. Received: {argument}={batch_size}")
        if count % batch_size % unit:
            refuse(
                f"{count} {kind} samples in batches of {batch_size} end with a batch of "
                f"{count % batch_size}. Received: {argument}={batch_size}"
            )

    batch_size = fit_kwargs.get("batch_size") or 32  # Keras' default.
    given = fit_kwargs.get("validation_batch_size")
    validation_size, argument = (
        (given, "validation_batch_size") if given else (batch_size, "batch_size")
    )
    if batched:
        if samples.shape[0] % unit:
            refuse(f"Received: a first batch of {samples.shape[0]}")
    else:
        split = fit_kwargs.get("validation_split") or 0.0
        training = int(math.floor(len(samples) * (1.0 - split)))
        check_array(training, batch_size, "training", "batch_size")
        if split:
            check_array(len(samples) - training, validation_size, "validation", argument)
    validation = fit_kwargs.get("validation_data")
    if validation is not None:
        x, y = (
            (validation[0], validation[1]) if isinstance(validation, tuple) else (validation, None)
        )
        held_out, _, held_out_batched = first_batch(x, y)
        if held_out is None:
            return
        if held_out_batched:
            if held_out.shape[0] % unit:
                refuse(f"Received: a first validation batch of {held_out.shape[0]}")
        else:
            check_array(len(held_out), validation_size, "validation", argument)


def check_training_samples(samples, sample_shape, *, batched):
    """Checks a batch of training samples against the generator's output.

    Samples must be batches of `sample_shape`; images (three axes) must be finite and scaled
    to the generator's tanh range [-1, 1].
    """
    sample_shape = tuple(sample_shape)
    if batched and tuple(samples.shape) == sample_shape:
        raise ValueError(
            "The dataset yields single examples, not batches: call `dataset.batch(...)` "
            f"first. Received: elements of shape {format_shape(samples.shape)}"
        )
    if len(samples.shape) != len(sample_shape) + 1 or any(
        e is not None and e != s for e, s in zip(sample_shape, samples.shape[1:])
    ):
        raise ValueError(
            "The training samples do not match the generator's output shape "
            f"{format_shape((None,) + sample_shape)}. Received: samples of shape "
            f"{format_shape(samples.shape)}"
        )
    if len(sample_shape) != 3 or not samples.size:
        return
    low, high = float(np.min(samples)), float(np.max(samples))
    if not (np.isfinite(low) and np.isfinite(high)):
        non_finite = ~np.isfinite(samples)
        first = int(np.argmax(non_finite.reshape(len(samples), -1).any(axis=1)))
        where = " in the first batch" if batched else ""
        raise ValueError(
            "The training images contain NaN or infinite values. Received: "
            f"{int(non_finite.sum())} non-finite values{where}, the first in image {first}"
        )
    # A little slack for float round-off of a (x / 127.5 - 1) conversion.
    if low < -1.0 - 1e-3 or high > 1.0 + 1e-3:
        hint = " (raw 0..255 pixels?)" if high > 2 else ""
        raise ValueError(
            "Training images must be scaled to [-1, 1] to match the generator's tanh "
            f"output, for example with `images / 127.5 - 1`{hint}. Received: images with "
            f"values in [{low:g}, {high:g}]"
        )


def check_training_labels(labels, num_samples, num_classes):
    """Checks a batch's labels: present exactly when the model is class-conditional, one per
    sample, classes in `[0, num_classes)`."""
    if num_classes is None:
        if labels is not None:
            raise ValueError(
                "The training data has labels but the model is unconditional. Pass "
                "`num_classes=` to the model for class-conditional training, or drop the "
                "labels (`dataset.map(lambda x, y: x)`). Received: labels of shape "
                f"{format_shape(labels.shape)} with num_classes=None"
            )
        return
    if labels is None:
        raise ValueError(
            f"A class-conditional model (num_classes={num_classes}) trains on "
            "`(images, labels)` batches. Received: samples without labels"
        )
    labels = labels_to_classes(labels, num_classes)
    if labels.shape[0] != num_samples:
        raise ValueError(
            f"There must be one label per sample. Received: {num_samples} samples and "
            f"{labels.shape[0]} labels"
        )
    check_label_values(labels, num_classes)


# ---------------------------------------------------------------------- labels


def labels_to_classes(labels, num_classes):
    """Integer classes of shape `(batch,)` from integers, `(batch, 1)` columns or one-hot rows."""
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == num_classes and num_classes > 1:
        return labels.argmax(axis=1)
    if labels.ndim == 2 and labels.shape[1] == 1:
        return labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(
            "Labels must be integers of shape (batch,) or one-hot rows of shape "
            f"(batch, {num_classes}). Received: labels of shape {format_shape(labels.shape)}"
        )
    return labels


def check_label_values(labels, num_classes):
    """Labels are whole numbers in `[0, num_classes)`."""
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.all(np.equal(np.mod(labels, 1), 0)):
            raise ValueError(
                f"Labels must be integer classes in [0, {num_classes}). "
                f"Received: labels of dtype {labels.dtype} with values like {labels[:5].tolist()}"
            )
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)]
        raise ValueError(
            f"Labels must be in [0, {num_classes}) for num_classes={num_classes}. "
            f"Received: label {int(bad[0])}"
        )


# ---------------------------------------------------------------------- generation


def generation_labels(labels, count, num_classes):
    """The int32 classes of `count` samples to generate, or `None` for an unconditional model.

    `labels` may be one class per sample, one integer for all, or `None` to cycle
    0, 1, ..., num_classes - 1.
    """
    if num_classes is None:
        if labels is not None:
            raise ValueError(
                "`labels` were given but the model is unconditional. "
                f"Received: labels={short(labels)} with num_classes=None"
            )
        return None
    if labels is None:
        return (np.arange(count) % num_classes).astype("int32")
    labels = np.asarray(labels)
    if labels.ndim == 0:
        labels = np.full((count,), int(labels))
    labels = labels_to_classes(labels, num_classes)
    if labels.shape[0] != count:
        raise ValueError(
            f"There must be one label per sample ({count}). Received: {labels.shape[0]} labels"
        )
    check_label_values(labels, num_classes)
    return labels.astype("int32")


def latent_vectors(z, latent_dim, num_samples=None):
    """`z` as a float32 array of shape `(num_samples, latent_dim)`."""
    z = np.asarray(z, dtype="float32")
    if z.ndim != 2 or z.shape[1] != latent_dim:
        raise ValueError(
            f"`z` must have shape (num_samples, {latent_dim}). "
            f"Received: z of shape {format_shape(z.shape)}"
        )
    if num_samples is not None and num_samples != z.shape[0]:
        raise ValueError(
            f"`num_samples` does not match the {z.shape[0]} rows of `z`. "
            f"Received: num_samples={num_samples}"
        )
    return z


def truncation_share(share, z):
    """Checks `generate`'s `jacobian_truncation`: a share in (0, 1), and no `z` with it."""
    if isinstance(share, bool) or not isinstance(share, numbers.Real) or not 0 < share < 1:
        raise ValueError(
            "`jacobian_truncation` must be a share of the samples to leave out, strictly "
            f"between 0 and 1 (for example 0.2). Received: jacobian_truncation={share!r}"
        )
    if z is not None:
        raise ValueError(
            "`jacobian_truncation` draws its own latent vectors; pass `num_samples` and `seed` "
            f"rather than `z`. Received: jacobian_truncation={share!r} with z of shape "
            f"{np.shape(z)}"
        )

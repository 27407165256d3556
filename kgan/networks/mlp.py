"""The small fully connected GAN: z 100 -> 128 -> 784, LeakyReLU and tanh (and 2-D toy data)."""

import math

import keras

from kgan._validation import check_bool, check_num_classes, check_positive_int, check_range
from kgan.networks.inputs import concat_one_hot_label


def _as_shape(name, shape):
    if isinstance(shape, int):
        shape = (shape,)
    try:
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"`{name}` must be a tuple of positive integers. Received: {name}={shape!r}"
        ) from None
    if not shape or min(shape) < 1:
        raise ValueError(
            f"`{name}` must be a tuple of positive integers. Received: {name}={shape!r}"
        )
    return shape


def _check_hidden_units(hidden_units):
    hidden_units = tuple(hidden_units)
    for units in hidden_units:
        check_positive_int("hidden_units", units)
    return hidden_units


def mlp_generator(
    output_shape,
    latent_dim=100,
    hidden_units=(128,),
    *,
    num_classes=None,
    negative_slope=0.2,
    batch_norm=False,
    sync_batch_norm=False,
    output_activation="tanh",
    name="generator",
):
    """Builds a fully connected generator.

    z -> [Dense -> (BatchNorm) -> LeakyReLU] per entry of `hidden_units` -> Dense to the
    output size -> `output_activation` -> Reshape to `output_shape`. The defaults are the
    classic MNIST MLP GAN (z 100 -> 128 -> 784 with tanh) once `output_shape=(28, 28, 1)`.

    Args:
        output_shape: shape of one sample, for example `(28, 28, 1)` or `(2,)` for 2-D toy data.
        latent_dim: size of z.
        hidden_units: units of each hidden layer.
        num_classes: number of classes of a conditional generator (inputs `[z, labels]`).
        negative_slope: slope of LeakyReLU.
        batch_norm: add BatchNormalization after each hidden Dense layer.
        sync_batch_norm: under `tf.distribute`, compute the batch statistics over the global
            batch (`BatchNormalization(synchronized=True)`) rather than over each replica's
            share of it (the default); needs `batch_norm=True`.
        output_activation: `"tanh"` for images in [-1, 1]; `None` (linear) for unbounded data
            such as the Gaussian mixtures.
        name: name of the model.
    """
    output_shape = _as_shape("output_shape", output_shape)
    check_positive_int("latent_dim", latent_dim)
    check_num_classes(num_classes)
    hidden_units = _check_hidden_units(hidden_units)
    check_range("negative_slope", negative_slope, 0.0, 1.0)
    check_bool("sync_batch_norm", sync_batch_norm)
    if sync_batch_norm and not batch_norm:
        raise ValueError(
            "`sync_batch_norm=True` synchronises BatchNormalization, which the generator only "
            "has with `batch_norm=True`. Received: sync_batch_norm=True, batch_norm=False"
        )

    z = keras.Input(shape=(latent_dim,), name="z")
    inputs, x = [z], z
    if num_classes is not None:
        labels, x = concat_one_hot_label(z, num_classes, "z_and_class")
        inputs.append(labels)
    for i, units in enumerate(hidden_units):
        x = keras.layers.Dense(units, name=f"dense_{i}")(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(
                momentum=0.9, synchronized=sync_batch_norm, name=f"norm_{i}"
            )(x)
        x = keras.layers.LeakyReLU(negative_slope=negative_slope, name=f"leaky_relu_{i}")(x)
    x = keras.layers.Dense(math.prod(output_shape), name="output")(x)
    x = keras.layers.Activation(output_activation or "linear", dtype="float32", name="activation")(
        x
    )
    # float32 here too: under a mixed-precision policy a float16 Reshape would cast the
    # float32 activation back to float16.
    samples = keras.layers.Reshape(output_shape, dtype="float32", name="samples")(x)
    return keras.Model(inputs if num_classes is not None else z, samples, name=name)


def mlp_discriminator(
    input_shape,
    hidden_units=(128,),
    *,
    num_classes=None,
    negative_slope=0.2,
    dropout=0.0,
    spectral_norm=False,
    name="discriminator",
):
    """Builds a fully connected discriminator (or critic): Flatten -> hidden layers -> 1 logit.

    Args:
        input_shape: shape of one sample, for example `(28, 28, 1)` or `(2,)`.
        hidden_units: units of each hidden layer, each followed by LeakyReLU (and dropout).
        num_classes: number of classes of a conditional discriminator (inputs
            `[samples, labels]`; the one-hot class is concatenated to the flattened sample).
        negative_slope: slope of LeakyReLU.
        dropout: dropout rate after each hidden layer.
        spectral_norm: wrap every Dense layer, the last included, in
            `keras.layers.SpectralNormalization` (Miyato et al. 2018, arXiv:1802.05957): in
            training mode each call runs one power iteration and divides the kernel by its
            estimated largest singular value.
        name: name of the model.
    """
    input_shape = _as_shape("input_shape", input_shape)
    hidden_units = _check_hidden_units(hidden_units)
    check_num_classes(num_classes)
    check_range("negative_slope", negative_slope, 0.0, 1.0)
    check_range("dropout", dropout, 0.0, 1.0, include_high=False)
    check_bool("spectral_norm", spectral_norm)

    def dense(units, name, **kwargs):
        layer = keras.layers.Dense(units, name=name, **kwargs)
        if not spectral_norm:
            return layer
        # float32 on the wrapper: it writes the normalised kernel back into the float32
        # variable, which a mixed policy would round to 16 bits at every step. (It casts its
        # output to its input's dtype; the next layer casts again to its own.)
        return keras.layers.SpectralNormalization(
            layer, dtype="float32", name=f"{name}_spectral_norm"
        )

    samples = keras.Input(shape=input_shape, name="samples")
    inputs = [samples]
    x = keras.layers.Flatten(name="flatten")(samples) if len(input_shape) > 1 else samples
    if num_classes is not None:
        labels, x = concat_one_hot_label(x, num_classes, "sample_and_class")
        inputs.append(labels)
    for i, units in enumerate(hidden_units):
        x = dense(units, f"dense_{i}")(x)
        x = keras.layers.LeakyReLU(negative_slope=negative_slope, name=f"leaky_relu_{i}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    logits = dense(1, "logits", dtype="float32")(x)
    return keras.Model(inputs if num_classes is not None else samples, logits, name=name)

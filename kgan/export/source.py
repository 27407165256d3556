"""Finding the generator to export, and what an export needs to know about it.

A kgan model knows its generator's latent size, classes, sample shape and prior; a bare
generator `keras.Model` is read from its static inputs and outputs instead.
"""

import keras

from kgan._keras_internals import flatten_layers
from kgan._validation import check_choice, check_positive_int
from kgan.models.base import LATENT_DISTRIBUTIONS, AdversarialModel
from kgan.networks.inputs import cluster_layer
from kgan.precision import policy_scope


class GeneratorSource:
    """What an export needs to know about a generator, read from a kgan model or a bare one.

    Built by `resolve_generator`. Attributes: `generator` (the `keras.Model` exported),
    `model` (the kgan model it came from, or `None`), `latent_dim`, `num_classes`,
    `sample_shape`, `latent_distribution`, `uses_averaged_weights`.
    """

    def __init__(
        self,
        generator,
        *,
        model,
        latent_dim,
        num_classes,
        sample_shape,
        latent_distribution,
        uses_averaged_weights,
    ):
        self.generator = generator
        self.model = model
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.sample_shape = tuple(sample_shape)
        self.latent_distribution = latent_distribution
        self.uses_averaged_weights = uses_averaged_weights

    @property
    def conditional(self):
        return self.num_classes is not None

    @property
    def is_image(self):
        return len(self.sample_shape) == 3

    def call(self, z, labels=None):
        """Runs the generator in inference mode (moving statistics, no dropout)."""
        inputs = [z, labels] if self.conditional else z
        return self.generator(inputs, training=False)

    def keras_samples(self, z, labels=None):
        return keras.ops.convert_to_numpy(self.call(z, labels)).astype("float32")


def resolve_generator(model, *, num_classes=None, latent_distribution=None):
    """Finds the generator to export and its latent size, classes and sample shape.

    Args:
        model: a `kgan.GAN`/`WGAN`/`WGANGP` (its `inference_generator` is exported: the
            averaged generator when `ema_decay` is set), a generator `keras.Model` taking `z`,
            or `[z, labels]` for a class-conditional one, or a `GeneratorSource` (returned as
            it is, such as a self-conditioned run's, `kgan.runs.clusters.generator_source`).
        num_classes: number of classes of a bare class-conditional generator (required for one;
            a kgan model knows its own).
        latent_distribution: `"normal"` or `"uniform"`, the prior of `z` for a bare generator
            (default: that of its `kgan.layers.ClusterFromLatent`, for the generator of a
            self-conditioned model, else `"normal"`); a kgan model knows its own.

    Returns:
        A `GeneratorSource`.

    Raises:
        TypeError: if `model` is not a Keras model.
        ValueError: if the generator's inputs do not match `num_classes`.
    """
    if isinstance(model, GeneratorSource):
        return model
    if isinstance(model, AdversarialModel):
        return _kgan_model_source(model, num_classes, latent_distribution)
    if not isinstance(model, keras.Model):
        raise TypeError(
            "`model` must be a kgan.GAN, WGAN or WGANGP, or a generator keras.Model. "
            f"Received: model={model!r} of type {type(model).__name__}"
        )
    drawn = cluster_layer(model)
    latent_distribution = latent_distribution or (drawn and drawn.distribution) or "normal"
    check_choice("latent_distribution", latent_distribution, LATENT_DISTRIBUTIONS)
    check_positive_int("num_classes", num_classes, allow_none=True)
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise ValueError(
            "The generator has no static inputs (a subclassed model that was never built?); "
            "export a functional generator such as kgan.models.dcgan_generator(...). "
            f"Received: model={model.name!r}"
        )
    _check_input_count(len(inputs), num_classes)
    z_shape = tuple(inputs[0].shape)
    if len(z_shape) != 2 or z_shape[1] is None:
        raise ValueError(
            "The generator's input `z` must have shape (batch, latent_dim). "
            f"Received: input shape {z_shape}"
        )
    output_shape = tuple(model.outputs[0].shape[1:]) if getattr(model, "outputs", None) else ()
    if not output_shape or any(dim is None for dim in output_shape):
        raise ValueError(
            "The generator's output must have a fully defined shape besides the batch. "
            f"Received: output shape {(None, *output_shape)}"
        )
    return GeneratorSource(
        float32_copy(model),
        model=None,
        latent_dim=int(z_shape[1]),
        num_classes=num_classes,
        sample_shape=output_shape,
        latent_distribution=latent_distribution,
        uses_averaged_weights=False,
    )


def _kgan_model_source(model, num_classes, latent_distribution):
    """The source of a kgan model, whose own settings `num_classes`/`latent_distribution`
    may repeat but not contradict."""
    if num_classes is not None and num_classes != model.num_classes:
        raise ValueError(
            f"`num_classes` does not match the model's ({model.num_classes}); leave it unset "
            f"for a kgan model. Received: num_classes={num_classes}"
        )
    if latent_distribution is not None and latent_distribution != model.latent_distribution:
        raise ValueError(
            "`latent_distribution` does not match the model's "
            f"({model.latent_distribution!r}); leave it unset for a kgan model. "
            f"Received: latent_distribution={latent_distribution!r}"
        )
    return GeneratorSource(
        float32_copy(model.inference_generator),
        model=model,
        latent_dim=int(model.latent_dim),
        num_classes=model.num_classes,
        sample_shape=model.sample_shape,
        latent_distribution=model.latent_distribution,
        uses_averaged_weights=model.ema_weights is not None,
    )


def float32_copy(generator):
    """`generator` itself when all its layers compute in float32, else a copy that does.

    A generator trained under a mixed-precision policy (`kgan train --precision`) keeps float32
    weights but computes in bfloat16 or float16, which ONNX runtimes and CPU serving support
    poorly. The export computes with the same weights in float32 instead: the copy is the same
    network rebuilt from its config with every 16-bit dtype policy (nested models and wrapped
    layers included) set to float32, and the weights copied over. A subclassed generator (no
    static inputs) cannot be rebuilt from its config and is returned as it is.
    """
    layers = flatten_layers(generator, include_self=False)
    if all(layer.dtype_policy.compute_dtype == "float32" for layer in layers):
        return generator
    if not getattr(generator, "inputs", None):
        return generator
    config = _in_float32(keras.saving.serialize_keras_object(generator))
    # Under float32 as the global policy, for anything the config leaves to it.
    with policy_scope("float32"):
        copy = keras.saving.deserialize_keras_object(config)
    copy.set_weights(generator.get_weights())
    return copy


_SIXTEEN_BIT_POLICIES = ("mixed_bfloat16", "mixed_float16", "bfloat16", "float16")


def _in_float32(config):
    """The serialised Keras object `config` with each 16-bit dtype policy made float32."""
    if isinstance(config, list):
        return [_in_float32(item) for item in config]
    if not isinstance(config, dict):
        return config
    if str(config.get("class_name", "")).endswith("DTypePolicy"):
        inner = config.get("config") or {}
        if inner.get("name") in _SIXTEEN_BIT_POLICIES:
            return {**config, "config": {**inner, "name": "float32"}}
        return config
    return {
        key: "float32" if key == "dtype" and value in _SIXTEEN_BIT_POLICIES else _in_float32(value)
        for key, value in config.items()
    }


def _check_input_count(count, num_classes):
    """A bare generator takes `z`, or `[z, labels]` when `num_classes` is given."""
    if count == 2 and num_classes is None:
        raise ValueError(
            "The generator takes two inputs, `[z, labels]`, so it is class-conditional; pass "
            "its number of classes as `num_classes=`. Received: num_classes=None"
        )
    if count == 1 and num_classes is not None:
        raise ValueError(
            "The generator takes one input, `z`, so it is unconditional; leave `num_classes` "
            f"unset. Received: num_classes={num_classes}"
        )
    if count > 2:
        raise ValueError(
            "A generator takes `z`, or `[z, labels]` for a class-conditional one. "
            f"Received: a generator with {count} inputs"
        )


def as_source(model_or_source, num_classes=None, latent_distribution=None):
    """`model_or_source` itself when it is a `GeneratorSource`, else `resolve_generator`'s."""
    if isinstance(model_or_source, GeneratorSource):
        return model_or_source
    return resolve_generator(
        model_or_source, num_classes=num_classes, latent_distribution=latent_distribution
    )

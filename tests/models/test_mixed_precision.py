"""Mixed precision (`mixed_float16`): float16 inside the networks, float32 at their outputs, and
train steps whose updates equal the float32 ones.

Loss scaling multiplies the loss by a large factor inside the tape and divides the gradients by
it again in the optimiser. A train step that forgot to scale the loss would apply updates that
factor (32768 at the start) too small; plain SGD shows that, where Adam's normalised steps
would hide it.
"""

import keras
import numpy as np
import pytest

import kgan
from kgan.models import dcgan_discriminator, dcgan_generator, mlp_discriminator, mlp_generator


def _networks(architecture, num_classes=None, negative_slope=0.2):
    if architecture == "dcgan":
        generator = dcgan_generator((8, 8, 1), 8, num_classes, base_filters=4)
        discriminator = dcgan_discriminator((8, 8, 1), num_classes, base_filters=4)
    else:
        kwargs = {"num_classes": num_classes, "negative_slope": negative_slope}
        generator = mlp_generator((6,), 8, (16,), **kwargs)
        discriminator = mlp_discriminator((6,), (16,), **kwargs)
    return generator, discriminator


# The update tests use LeakyReLUs of slope 1, without a kink: a hidden unit within float16's
# rounding of zero for one example would otherwise take the other slope in one of the two runs,
# and change that example's gradient by far more than the rounding. The loss scaling this file
# checks does not depend on the activation.
_SMOOTH = 1.0


@pytest.mark.parametrize("architecture", ["dcgan", "mlp"])
@pytest.mark.parametrize("num_classes", [None, 3])
def test_networks_compute_in_float16_and_output_float32(architecture, num_classes):
    keras.mixed_precision.set_global_policy("mixed_float16")
    generator, discriminator = _networks(architecture, num_classes)
    gan = kgan.GAN(generator, discriminator, num_classes=num_classes, ema_decay=0.9)
    z = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    labels = None if num_classes is None else np.array([0, 1, 2, 0], "int32")

    def inputs(x):
        return x if labels is None else [x, labels]

    # The policy is in effect: the hidden layers compute in float16 ...
    assert any(layer.compute_dtype == "float16" for layer in generator.layers)
    assert any(layer.compute_dtype == "float16" for layer in discriminator.layers)
    # ... and the networks' own outputs (not `generate`'s cast copy) are float32, for the
    # generator being trained and for its moving average that `generate` and export use.
    samples = generator(inputs(z), training=False)
    assert samples.dtype == "float32"
    assert gan.inference_generator(inputs(z), training=False).dtype == "float32"
    scores = discriminator(inputs(keras.ops.convert_to_numpy(samples)), training=False)
    assert scores.dtype == "float32"


def _one_step_update(cls, kwargs, policy, initial):
    """The weight changes of one `fit` step of `cls` from the `initial` weights."""
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(0)
    generator, discriminator = _networks("mlp", negative_slope=_SMOOTH)
    generator.set_weights(initial[0])
    discriminator.set_weights(initial[1])
    model = cls(generator, discriminator, seed=0, **kwargs)
    model.compile(keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.05))
    if policy == "mixed_float16":
        assert isinstance(model.d_optimizer, keras.optimizers.LossScaleOptimizer)
        assert isinstance(model.g_optimizer, keras.optimizers.LossScaleOptimizer)
    points = np.tanh(np.random.default_rng(1).normal(size=(32, 6))).astype("float32")
    model.fit(points, batch_size=32, epochs=1, shuffle=False, verbose=0)
    after = (generator.get_weights(), discriminator.get_weights())
    return [
        [new - old for new, old in zip(after[i], initial[i])] for i in range(2)
    ]  # [generator deltas, discriminator deltas]


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        (kgan.GAN, {}),
        # A clipping box wider than any weight: the update itself is compared.
        (kgan.WGAN, {"n_critic": 2, "clip_value": 10.0}),
    ],
    ids=["GAN", "WGAN"],
)
def test_mixed_precision_applies_the_float32_update(cls, kwargs):
    keras.utils.set_random_seed(0)
    generator, discriminator = _networks("mlp", negative_slope=_SMOOTH)
    initial = (generator.get_weights(), discriminator.get_weights())
    full = _one_step_update(cls, kwargs, "float32", initial)
    mixed = _one_step_update(cls, kwargs, "mixed_float16", initial)
    for name, full_deltas, mixed_deltas in zip(("generator", "discriminator"), full, mixed):
        scale = max(np.abs(delta).max() for delta in full_deltas)
        assert scale > 1e-4, name  # The step moved the weights.
        for full_delta, mixed_delta in zip(full_deltas, mixed_deltas):
            # float16 activations carry about three significant digits.
            np.testing.assert_allclose(
                mixed_delta, full_delta, rtol=0.05, atol=0.02 * scale, err_msg=name
            )

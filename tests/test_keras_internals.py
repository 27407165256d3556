"""The private Keras APIs of `kgan._keras_internals`, checked against the installed Keras.

A failure here names the API a Keras release changed; the fix belongs in
`kgan/_keras_internals.py` (and in `AdversarialModel`'s override of the build hook).
"""

import inspect

import keras

import kgan
from kgan import _keras_internals


def test_flatten_layers_walks_nested_layers():
    inner = keras.Sequential([keras.layers.Dense(2), keras.layers.BatchNormalization()])
    outer = keras.Sequential([keras.Input((3,)), inner, keras.layers.Dense(1)])
    assert hasattr(keras.layers.Layer, "_flatten_layers"), (
        "Keras no longer has `Layer._flatten_layers`, which kgan._keras_internals.flatten_layers "
        f"wraps. Received: keras=={keras.__version__}"
    )
    layers = _keras_internals.flatten_layers(outer)
    assert layers[0] is outer and inner in layers
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in layers), (
        "`Layer._flatten_layers` no longer yields nested layers. "
        f"Received: keras=={keras.__version__}"
    )
    assert outer not in _keras_internals.flatten_layers(outer, include_self=False)


def test_the_symbolic_build_hook_kgan_overrides_still_exists():
    name = _keras_internals.SYMBOLIC_BUILD_HOOK
    hook = getattr(keras.Model, name, None)
    assert hook is not None, (
        f"Keras no longer has `Model.{name}`, which kgan.models.base.AdversarialModel "
        f"overrides to skip building under several workers. Received: keras=={keras.__version__}"
    )
    parameters = tuple(inspect.signature(hook).parameters)[1:]
    assert parameters == _keras_internals.SYMBOLIC_BUILD_ARGUMENTS, (
        f"`Model.{name}` takes other arguments than AdversarialModel's override. "
        f"Received: {parameters} in keras=={keras.__version__}"
    )
    override = inspect.signature(getattr(kgan.models.AdversarialModel, name))
    assert tuple(override.parameters)[1:] == parameters

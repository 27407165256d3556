"""The private Keras APIs kgan relies on, in one place, for want of public ones.

- `flatten_layers`: every layer nested in a layer or model. `Model.layers` lists the top level
  only, and kgan's blocks (and wrappers such as spectral normalisation) hold their layers one
  level down; Keras' own walk, `Layer._flatten_layers`, has no public name.
- `SYMBOLIC_BUILD_HOOK`: the `keras.Model` method that `fit` calls to build the model on its
  first batch, which `kgan.models.base.AdversarialModel` overrides (see
  `kgan.models.distribution`); Keras has no public switch for it.

`tests/test_keras_internals.py` checks both against the installed Keras, so that a Keras
release that renames or changes them fails there, with a message naming them, rather than deep
inside a train step.
"""

# The name and arguments of the hook `AdversarialModel` overrides.
SYMBOLIC_BUILD_HOOK = "_maybe_symbolic_build"
SYMBOLIC_BUILD_ARGUMENTS = ("iterator", "data_batch")


def flatten_layers(layer, *, include_self=True):
    """Every layer in `layer`, nested ones included, depth first, each once: Keras'
    `Layer._flatten_layers`."""
    return list(layer._flatten_layers(include_self=include_self))

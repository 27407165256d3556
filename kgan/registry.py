"""The adversarial models known by name: what `kgan train`, the recipes and the command line's
`--model` choices read.

Only the names live here, so that the command line lists them without importing TensorFlow;
`model_class` imports the class from `kgan.models`.
"""

import importlib

from kgan._validation import check_choice

# Name -> class in `kgan.models`.
MODELS = {"gan": "GAN", "wgan": "WGAN", "wgangp": "WGANGP"}
MODEL_NAMES = tuple(MODELS)


def model_class(name):
    """The `kgan.models` class registered as `name` (`"gan"` -> `kgan.GAN`...)."""
    check_choice("model", name, MODEL_NAMES)
    return getattr(importlib.import_module("kgan.models"), MODELS[name])

"""kgan: generative adversarial networks for Keras, trained with `model.fit`.

import kgan
gan = kgan.GAN(kgan.models.dcgan_generator((28, 28, 1)),
               kgan.models.dcgan_discriminator((28, 28, 1)))
gan.compile()
gan.fit(dataset, epochs=10)
images = gan.generate(16, seed=0)
"""

import sys as _sys

from kgan import _backend

# Before anything imports Keras: under another backend, importing Keras can itself fail. The
# `kgan` command says so in one line, as it reports its other errors.
try:
    _backend.require_tensorflow_backend()
except ImportError as _error:
    if not _backend.running_as_command():
        raise
    print(f"kgan: error: {_error}", file=_sys.stderr)
    raise SystemExit(2) from None

from kgan.version import __version__  # noqa: E402

# The public names, and the sub-module each one comes from. They are imported when first used
# (`__getattr__` below), so that the `kgan` command answers `--help` and `--version` without
# importing TensorFlow; a library user's `import kgan` still imports them all at once (below),
# which registers kgan's Keras classes for `keras.saving.load_model`.
_SUBMODULES = (
    "augment",
    "callbacks",
    "control",
    "data",
    "export",
    "layers",
    "losses",
    "metrics",
    "models",
    "networks",
    "penalties",
    "recipes",
    "schedules",
    "serving",
    "training",
)
_ATTRIBUTES = {
    "evaluate": "kgan.evaluation",
    "GAN": "kgan.models",
    "WGAN": "kgan.models",
    "WGANGP": "kgan.models",
    "TrainingDivergedError": "kgan.models",
}


def __getattr__(name):
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f"kgan.{name}")
    if name in _ATTRIBUTES:
        value = getattr(importlib.import_module(_ATTRIBUTES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kgan' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES) | set(_ATTRIBUTES))


def _import_all():
    """Imports every public sub-module (and with them TensorFlow and Keras): what `import
    kgan` does outside the `kgan` command, which calls it once the arguments are parsed."""
    for name in (*_SUBMODULES, *_ATTRIBUTES):
        __getattr__(name)


if not _backend.running_as_command():
    _import_all()

__all__ = [
    "GAN",
    "WGAN",
    "WGANGP",
    "TrainingDivergedError",
    "augment",
    "data",
    "callbacks",
    "control",
    "evaluate",
    "metrics",
    "layers",
    "losses",
    "models",
    "networks",
    "penalties",
    "recipes",
    "schedules",
    "export",
    "serving",
    "training",
    "__version__",
]

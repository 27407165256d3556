"""kgan: generative adversarial networks for Keras, trained with `model.fit`.

import kgan
gan = kgan.GAN(kgan.models.dcgan_generator((28, 28, 1)),
               kgan.models.dcgan_discriminator((28, 28, 1)))
gan.compile()
gan.fit(dataset, epochs=10)
images = gan.generate(16, seed=0)
"""

import os as _os
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

# Run as the `kgan` command, TensorFlow's C++ start-up chatter (CUDA probing on a machine
# without a GPU, CPU features, graph-rewrite notes) is noise; it must be silenced before
# TensorFlow is first imported, which the package import below does. Part of it is printed
# before TF_CPP_MIN_LOG_LEVEL takes effect, so the import's stderr is captured too (and shown
# if the import fails). `kgan ... --verbose` and library users keep TensorFlow's own default.
if (
    _sys.argv
    and _os.path.basename(_sys.argv[0]) in ("kgan", "kgan.exe", "__main__.py")
    and "--verbose" not in _sys.argv
):
    _os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from kgan.console import quiet_native_stderr as _quiet_native_stderr

    with _quiet_native_stderr():
        import tensorflow as _tensorflow  # noqa: F401

from kgan import (  # noqa: E402
    augment,
    callbacks,
    control,
    data,
    export,
    layers,
    losses,
    metrics,
    models,
    recipes,
    serving,
)
from kgan.evaluation import evaluate  # noqa: E402
from kgan.models import GAN, WGAN, WGANGP, TrainingDivergedError  # noqa: E402

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
    "recipes",
    "export",
    "serving",
    "__version__",
]

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

from kgan.version import __version__

# Run as the `kgan` command, TensorFlow's C++ start-up chatter (CUDA probing on a machine
# without a GPU, CPU features, graph-rewrite notes) is noise; it must be silenced before
# TensorFlow is first imported, which the package import below does. Library users keep
# TensorFlow's own default.
if _sys.argv and _os.path.basename(_sys.argv[0]) in ("kgan", "kgan.exe", "__main__.py"):
    _os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from kgan import callbacks, data, export, layers, losses, metrics, models, serving  # noqa: E402
from kgan.evaluation import evaluate  # noqa: E402
from kgan.models import GAN, WGAN, WGANGP, TrainingDivergedError  # noqa: E402

__all__ = [
    "GAN",
    "WGAN",
    "WGANGP",
    "TrainingDivergedError",
    "data",
    "callbacks",
    "evaluate",
    "metrics",
    "layers",
    "losses",
    "models",
    "export",
    "serving",
    "__version__",
]

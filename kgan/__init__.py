"""kgan: generative adversarial networks for Keras, trained with `model.fit`.

    import kgan
    gan = kgan.GAN(kgan.models.dcgan_generator((28, 28, 1)),
                   kgan.models.dcgan_discriminator((28, 28, 1)))
    gan.compile()
    gan.fit(dataset, epochs=10)
    images = gan.generate(16, seed=0)
"""

__version__ = "0.1.0"

from kgan import layers, losses, models
from kgan.models import GAN, WGAN, WGANGP, TrainingDivergedError
from kgan import data
from kgan import callbacks, metrics
from kgan.evaluation import evaluate
from kgan import export, serving

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

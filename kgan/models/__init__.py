"""Adversarial models and network builders.

`GAN`, `WGAN` and `WGANGP` (also at the top level, `kgan.GAN` ...) train a generator and a
discriminator with `model.fit`; the builders make DCGAN and MLP networks for them.
"""

from kgan.models.base import AdversarialModel
from kgan.models.dcgan import dcgan_discriminator, dcgan_generator, num_upsampling_stages
from kgan.models.divergence import TrainingDivergedError
from kgan.models.gan import GAN
from kgan.models.mlp import mlp_discriminator, mlp_generator
from kgan.models.noise import sample_latent
from kgan.models.wgan import WGAN, WGANGP

__all__ = [
    "GAN",
    "WGAN",
    "WGANGP",
    "AdversarialModel",
    "TrainingDivergedError",
    "dcgan_discriminator",
    "dcgan_generator",
    "mlp_discriminator",
    "mlp_generator",
    "num_upsampling_stages",
    "sample_latent",
]

"""Adversarial models, and the network builders of `kgan.networks` under their public path.

`GAN`, `WGAN` and `WGANGP` (also at the top level, `kgan.GAN` ...) train a generator and a
discriminator with `model.fit`; the builders make DCGAN and MLP networks for them.
"""

from kgan.models.base import AdversarialModel
from kgan.models.fitting import TrainingDivergedError
from kgan.models.gan import GAN
from kgan.models.noise import sample_latent
from kgan.models.wgan import WGAN, WGANGP
from kgan.networks import (
    dcgan_discriminator,
    dcgan_generator,
    mlp_discriminator,
    mlp_generator,
    num_upsampling_stages,
)

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

"""The networks an adversarial model trains: builders of DCGAN and MLP generators and
discriminators, and the convolutional blocks they are made of.

`kgan.models` re-exports the builders (`kgan.models.dcgan_generator`...) and `kgan.layers` the
blocks (`kgan.layers.UpsampleBlock`).
"""

from kgan.networks.blocks import DownsampleBlock, UpsampleBlock
from kgan.networks.dcgan import dcgan_discriminator, dcgan_generator, num_upsampling_stages
from kgan.networks.inputs import latent_class_generator
from kgan.networks.mlp import mlp_discriminator, mlp_generator

__all__ = [
    "DownsampleBlock",
    "UpsampleBlock",
    "dcgan_discriminator",
    "dcgan_generator",
    "latent_class_generator",
    "mlp_discriminator",
    "mlp_generator",
    "num_upsampling_stages",
]

"""`kgan.layers`: the public path of the networks' blocks, which live in
`kgan.networks.blocks`, of PacGAN's packing layers (`kgan.networks.packing`) and of
`ClusterFromLatent` (`kgan.networks.inputs`)."""

from kgan.networks.blocks import (
    DCGAN_INITIALIZER_STDDEV,
    ClassConditionalBatchNormalization,
    DownsampleBlock,
    UpsampleBlock,
    batch_normalization,
    dcgan_initializer,
)
from kgan.networks.inputs import ClusterFromLatent
from kgan.networks.packing import Pack, Unpack

__all__ = [
    "DCGAN_INITIALIZER_STDDEV",
    "ClassConditionalBatchNormalization",
    "ClusterFromLatent",
    "DownsampleBlock",
    "Pack",
    "Unpack",
    "UpsampleBlock",
    "batch_normalization",
    "dcgan_initializer",
]

"""`kgan.layers`: the public path of the networks' blocks, which live in
`kgan.networks.blocks`."""

from kgan.networks.blocks import (
    DCGAN_INITIALIZER_STDDEV,
    DownsampleBlock,
    UpsampleBlock,
    batch_normalization,
    dcgan_initializer,
)

__all__ = [
    "DCGAN_INITIALIZER_STDDEV",
    "DownsampleBlock",
    "UpsampleBlock",
    "batch_normalization",
    "dcgan_initializer",
]

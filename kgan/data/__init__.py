"""Data for GANs: `tf.data` pipelines of images in [-1, 1], ready for `GAN.fit`.

    dataset = kgan.data.load("mnist", batch_size=128, seed=0)        # local IDX files, else tfds
    dataset = kgan.data.load(kgan.data.EMBEDDED_DATASET)             # shipped with kgan, offline
    dataset = kgan.data.load("path/to/images", image_size=64)        # a folder of PNG/JPEG
    dataset = kgan.data.from_arrays(x_uint8, y)                      # NumPy arrays
    ring = kgan.data.gaussian_ring(); ring.means, ring.std           # toy distributions

Local files come first (the `data_dir=` argument, else `$KGAN_DATA_DIR`); everything else goes
through tensorflow-datasets. Sources decode once, keep uint8 in memory, and batch, scale and
prefetch in parallel; `tools/benchmark_data.py` measures the pipeline against training.
"""

from kgan.data.folder import from_folder
from kgan.data.idx import read_idx, write_idx
from kgan.data.loading import TOY_DATASETS, from_arrays, load
from kgan.data.local import EMBEDDED_DATASET, data_dir
from kgan.data.toys import (
    GaussianMixture,
    StackedMNIST,
    gaussian_grid,
    gaussian_ring,
    stacked_mnist,
)

__all__ = [
    "EMBEDDED_DATASET",
    "TOY_DATASETS",
    "GaussianMixture",
    "StackedMNIST",
    "data_dir",
    "from_arrays",
    "from_folder",
    "gaussian_grid",
    "gaussian_ring",
    "load",
    "read_idx",
    "stacked_mnist",
    "write_idx",
]

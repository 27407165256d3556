"""`kgan train` runs: `train` trains a model into a run folder, `load_run` reads one back.

`kgan.runs.folder.RunFolder` owns a run folder's layout, lock, backup and records;
`kgan.runs.remote.RemoteRunFolder` keeps a run folder on a URL in step with a local staging copy;
`kgan.runs.training` is the run itself (data, networks, fit), which asks the folder at each step.
`kgan.runs.clusters` holds what a self-conditioned run (`--clusters`) adds: its clusters in
the backup and the folder, and the generator of latent vectors alone that samples it.
"""

from kgan.runs.folder import RunFolder, load_keras_file, load_run
from kgan.runs.training import ARCHITECTURES, build_model, grid_layout, train

__all__ = [
    "ARCHITECTURES",
    "RunFolder",
    "build_model",
    "grid_layout",
    "load_keras_file",
    "load_run",
    "train",
]

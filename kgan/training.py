"""`kgan.training`: the public path of `train`, `load_run` and `build_model`, which live in
`kgan.runs`."""

from kgan.runs import ARCHITECTURES, build_model, grid_layout, load_keras_file, load_run, train

__all__ = ["ARCHITECTURES", "build_model", "grid_layout", "load_keras_file", "load_run", "train"]

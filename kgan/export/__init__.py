"""Exporting a generator: SavedModel in TF Serving's layout, and ONNX.

Both exports take a trained `kgan.GAN`/`WGAN`/`WGANGP` (its `inference_generator`, which holds
the averaged weights when the model keeps them) or a bare generator `keras.Model`, and both
check themselves before they appear on disk: the artifact is reloaded and its outputs compared
with the Keras generator's at two batch sizes. The result of that check is part of the metadata
the artifact carries (`assets/kgan.json` in a SavedModel, `metadata_props` in ONNX), so
`read_metadata` tells later what was exported, from what, and how closely it matches.

    import kgan
    path = kgan.export.to_saved_model(gan, "savedmodels/mnist")  # savedmodels/mnist/1
    kgan.export.to_onnx(gan, "savedmodels/mnist.onnx")

Modules: `source` (the generator and its sizes), `metadata`, `versions` (version folders and
the atomic move into place), `saved_model`, `onnx` and `verify` (the comparison with Keras).
"""

from kgan.export.metadata import (
    METADATA_FILENAME,
    ONNX_METADATA_KEY,
    read_metadata,
    training_summary,
)
from kgan.export.onnx import to_onnx
from kgan.export.saved_model import DEFAULT_MAX_SAMPLES, to_saved_model
from kgan.export.source import GeneratorSource, float32_copy, resolve_generator
from kgan.export.verify import (
    ONNX_TOLERANCE,
    SAVED_MODEL_TOLERANCE,
    VERIFY_BATCH_SIZES,
    ExportVerificationError,
    verify_onnx,
    verify_saved_model,
)
from kgan.export.versions import list_versions, next_version
from kgan.training import load_run

__all__ = [
    "DEFAULT_MAX_SAMPLES",
    "METADATA_FILENAME",
    "ONNX_METADATA_KEY",
    "ONNX_TOLERANCE",
    "SAVED_MODEL_TOLERANCE",
    "VERIFY_BATCH_SIZES",
    "ExportVerificationError",
    "GeneratorSource",
    "float32_copy",
    "list_versions",
    "load_run",
    "next_version",
    "read_metadata",
    "resolve_generator",
    "to_onnx",
    "to_saved_model",
    "training_summary",
    "verify_onnx",
    "verify_saved_model",
]

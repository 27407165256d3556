"""Opening a generator from a path, as the `kgan sample`, `interpolate` and `edit` commands do.

A MODEL path is one of:

- a run folder written by `kgan train` (holding `model.keras`) or a `.keras` file;
- a SavedModel version folder written by `kgan export` (`savedmodels/NAME/1`), or the model's
  base folder, whose highest version is opened (as TF Serving does);
- an `.onnx` file written by `kgan export --onnx`.
"""

import os

import keras

from kgan.control.generators import Generator, KerasGenerator, OnnxGenerator, SavedModelGenerator
from kgan.export import list_versions, read_metadata
from kgan.export.metadata import run_class_names
from kgan.runs.clusters import load_run_generator

_KINDS = (
    "a run folder (with model.keras), a .keras file, a SavedModel version folder or its base "
    "folder of versions, or an .onnx file"
)


def load_generator(path):
    """Opens the generator at `path` (see the module docstring for the kinds of path).

    Returns:
        A `Generator`: `generate(num_samples, seed=..., labels=...)` gives the same images for
        the same seed whatever the format.

    Raises:
        FileNotFoundError: if nothing exists at `path`.
        ValueError: if `path` is none of the kinds above.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No model at this path. Received: model={path!r}")
    if os.path.isfile(path):
        if path.endswith(".keras"):
            return _keras_generator(path)
        if path.endswith(".onnx"):
            return OnnxGenerator(path, _metadata(path))
        raise ValueError(f"The model must be {_KINDS}. Received: model={path!r}")
    if os.path.isfile(os.path.join(path, "model.keras")):
        return _keras_generator(path)
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return SavedModelGenerator(path, _metadata(path))
    versions = [
        version
        for version in list_versions(path)
        if os.path.isfile(os.path.join(path, str(version), "saved_model.pb"))
    ]
    if versions:
        version_dir = os.path.join(path, str(versions[-1]))
        return SavedModelGenerator(version_dir, _metadata(version_dir))
    raise ValueError(f"The model must be {_KINDS}. Received: model={path!r}")


def as_generator(model, *, num_classes=None):
    """`model` as a `Generator`.

    Args:
        model: a `Generator`, a kgan model, a generator `keras.Model`, or a path that
            `load_generator` opens.
        num_classes: number of classes of a bare class-conditional `keras.Model`.
    """
    if isinstance(model, Generator):
        return model
    if isinstance(model, keras.Model):
        return KerasGenerator(model, num_classes=num_classes)
    if isinstance(model, (str, os.PathLike)):
        return load_generator(model)
    raise TypeError(
        "`model` must be a kgan model, a generator keras.Model, a kgan.control.Generator or a "
        f"path. Received: model={model!r} of type {type(model).__name__}"
    )


def _keras_generator(path):
    # A self-conditioned run's is its generator of latent vectors alone.
    model, _, run_config = load_run_generator(path)
    generator = KerasGenerator(model, path=path)
    generator.class_names = run_class_names(run_config, generator.num_classes)
    return generator


def _metadata(path):
    try:
        return read_metadata(path)
    except FileNotFoundError as error:
        raise ValueError(
            "The model must be exported by kgan (its metadata gives the latent size and "
            f"classes): {error}"
        ) from None

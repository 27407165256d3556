"""The metadata an export carries: what was exported, from what, and how closely it matches.

A SavedModel holds it as `assets/kgan.json`; an ONNX file holds the same JSON in its
`metadata_props` under the key `"kgan"`. `read_metadata` reads either.
"""

import datetime
import json
import numbers
import os

import keras
import numpy as np
import tensorflow as tf

from kgan import atomic, storage
from kgan.export import versions
from kgan.models.base import AdversarialModel
from kgan.networks.inputs import cluster_layer
from kgan.version import __version__

METADATA_FILENAME = "kgan.json"
# The key under which ONNX files carry the same JSON as a SavedModel's `assets/kgan.json`.
ONNX_METADATA_KEY = "kgan"
# The output of a SavedModel's `generate_png` signature. TF Serving's REST API writes a string
# output as `{"b64": ...}` only when its name ends in `_bytes`; other strings go out raw, which
# PNG bytes cannot be in JSON.
PNG_OUTPUT = "png_bytes"


def jsonable(value):
    """`value` with NumPy scalars, tuples and other objects turned into JSON types."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return str(value)


def _history_summary(history):
    """Epoch count and final value of each series of a `History.history`-like dict.

    Also reads the `history.json` of `kgan train`, `{"epochs", "seconds", "metrics": {...},
    "health_events": [...]}`.
    """
    if isinstance(history, keras.callbacks.History):
        history = history.history
    extra = {}
    if isinstance(history, dict):
        for key in ("metrics", "history"):
            if isinstance(history.get(key), dict):
                if isinstance(history.get("seconds"), numbers.Real):
                    extra["seconds"] = float(history["seconds"])
                if isinstance(history.get("health_events"), list):
                    extra["health_events"] = len(history["health_events"])
                history = history[key]
                break
    if not isinstance(history, dict):
        return None
    series = {
        name: values
        for name, values in history.items()
        if isinstance(values, list) and values and all(isinstance(v, numbers.Real) for v in values)
    }
    if not series:
        return None
    return {
        "epochs": max(len(values) for values in series.values()),
        "final": {name: float(values[-1]) for name, values in sorted(series.items())},
        **extra,
    }


def training_summary(model, history=None, run_config=None):
    """Summarises how a kgan model was trained, for the metadata of its exports.

    Args:
        model: a kgan model, or a bare generator (which has no training summary beyond its
            name).
        history: `History.history` (or the `History` object, or the parsed `history.json` of a
            run), or `None`.
        run_config: the settings of the training run (the `config.json` of a `kgan train`
            run: dataset, epochs...), or `None`.

    Returns:
        A JSON-serialisable dict: `model_class`, `config` (the model's `get_config()` without
        the nested networks), `generator_steps` and `discriminator_steps` (optimiser
        iterations; `None` when not compiled), `history` (epochs and final metrics) and
        `run_config`, the last two when given.
    """
    summary = {"model_class": type(model).__name__}
    if isinstance(model, AdversarialModel):
        config = model.get_config()
        config.pop("generator", None)
        config.pop("discriminator", None)
        summary["config"] = jsonable(config)
        for key, optimizer in (
            ("generator_steps", model.g_optimizer),
            ("discriminator_steps", model.d_optimizer),
        ):
            summary[key] = None if optimizer is None else int(optimizer.iterations.numpy())
    else:
        summary["config"] = {"name": model.name}
    history_summary = _history_summary(history) if history is not None else None
    if history_summary is not None:
        summary["history"] = history_summary
    if run_config is not None:
        summary["run_config"] = jsonable(run_config)
    return summary


def check_class_names(class_names, num_classes):
    """`class_names` as a list of `num_classes` distinct, non-empty strings (or `None`).

    Raises:
        ValueError: for names given to an unconditional generator, a count that is not the
            generator's number of classes, or an empty or repeated name.
    """
    if class_names is None:
        return None
    if isinstance(class_names, str) or not all(isinstance(n, str) for n in class_names):
        raise ValueError(
            "`class_names` must be a list of strings, one per class. "
            f"Received: class_names={class_names!r}"
        )
    class_names = list(class_names)
    if num_classes is None:
        raise ValueError(
            "`class_names` were given but the generator is unconditional. "
            f"Received: class_names={class_names!r}"
        )
    if len(class_names) != num_classes:
        raise ValueError(
            f"`class_names` must name each of the generator's {num_classes} classes. "
            f"Received: class_names with {len(class_names)} names"
        )
    repeated = sorted({n for n in class_names if class_names.count(n) > 1})
    if "" in class_names or repeated:
        raise ValueError(
            "`class_names` must be distinct, non-empty names. "
            f"Received: class_names={class_names!r}"
        )
    return class_names


def run_class_names(run_config, num_classes):
    """The names of the classes of a conditional run's labels, from its `config.json` record
    `run_config`: those it recorded, else those of a data set kgan reads itself (`"cifar10"`:
    `"airplane"`, ..., `"truck"`). `None` when the run has no labels (unconditional, or
    conditioned on clusters) or the names are unknown or do not fit `num_classes`."""
    if not isinstance(run_config, dict) or num_classes is None:
        return None
    if not run_config.get("conditional") or run_config.get("clusters"):
        return None
    from kgan.data.loading import builtin_class_names

    names = run_config.get("class_names") or builtin_class_names(run_config.get("data"))
    try:
        return check_class_names(names, num_classes)
    except ValueError:
        return None


def metadata_class_names(metadata):
    """The class names of an export's metadata (`read_metadata`): recorded under
    `class_names`, or, for an export that predates the key, those of its run."""
    num_classes = metadata.get("num_classes")
    if metadata.get("class_names") is not None:
        return list(metadata["class_names"])
    run_config = (metadata.get("training") or {}).get("run_config")
    return run_class_names(run_config, num_classes)


def build_metadata(source, *, model, history, run_config, max_samples=None, fmt, class_names=None):
    """The metadata shared by both formats; each export adds its own keys (version, opset,
    verification) before writing it. `class_names` (checked by `check_class_names`) default
    to those of the run (`run_class_names`)."""
    # The kgan model the generator came from, when the source knows it.
    if source.model is not None:
        model = source.model
    elif model is source:
        model = source.generator
    image_shape = list(source.sample_shape) if source.is_image else None
    inputs = {"z": {"dtype": "float32", "shape": [None, source.latent_dim]}}
    if source.conditional:
        inputs["labels"] = {"dtype": "int32", "shape": [None]}
    metadata = {
        "format": fmt,
        "kgan_version": __version__,
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
        "exported_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "model_class": type(model).__name__,
        "generator_name": source.generator.name,
        "latent_dim": source.latent_dim,
        "latent_distribution": source.latent_distribution,
        "num_classes": source.num_classes,
        "class_names": check_class_names(class_names, source.num_classes)
        or run_class_names(run_config, source.num_classes),
        "sample_shape": list(source.sample_shape),
        "image_shape": image_shape,
        # kgan's generators end in tanh: images in [-1, 1]. Other samples (2-D toy data) have
        # no fixed range.
        "value_range": [-1.0, 1.0] if source.is_image else None,
        "uses_averaged_weights": source.uses_averaged_weights,
        "inputs": inputs,
        "outputs": {"images": {"dtype": "float32", "shape": [None, *source.sample_shape]}},
        "training": training_summary(model, history, run_config),
    }
    drawn = cluster_layer(source.generator)
    if drawn is not None:
        # The generator picks a class from z's first value (a self-conditioned run's): how,
        # so that a loaded export can tell each z's class (`kgan.models.truncation`).
        metadata["latent_classes"] = {
            "frequencies": list(drawn.frequencies),
            "distribution": drawn.distribution,
        }
    if max_samples is not None:
        metadata["max_samples"] = max_samples
    return metadata


def write_metadata_file(export_dir, metadata):
    """Writes `metadata` to `export_dir/assets/kgan.json`, atomically: a version renumbered
    after it was published gets its metadata rewritten in place."""
    assets = storage.join(export_dir, "assets")
    storage.makedirs(assets)
    atomic.write_json(storage.join(assets, METADATA_FILENAME), jsonable(metadata), sort_keys=True)


def read_metadata(path):
    """Reads the kgan metadata of an export.

    Args:
        path: a SavedModel version folder (`base_dir/<version>`) or an `.onnx` file.

    Returns:
        The metadata dict (latent size, image shape, classes, value range, model class, kgan
        version, training summary, verification result...).

    Raises:
        FileNotFoundError: if `path` holds no kgan metadata, or is a version folder on a URL
            whose copy into place has not finished (see `kgan.export.versions.is_complete`).
    """
    path = os.fspath(path)
    folder, name = storage.split(path)
    if not storage.exists(path) and name.isdigit():
        # A version that an interrupted `overwrite` export renamed away comes back first.
        versions.recover(folder if storage.is_url(path) else os.path.dirname(path) or ".")
    if storage.isdir(path):
        metadata_path = storage.join(path, "assets", METADATA_FILENAME)
        if not storage.isfile(metadata_path):
            raise FileNotFoundError(
                "Not a SavedModel exported by kgan: it has no `assets/kgan.json`. "
                f"Received: path={path!r}"
            )
        if not versions.is_complete(path):
            raise FileNotFoundError(
                f"The version folder is incomplete: it has no `{storage.COMPLETION_MARKER}`, "
                "so its export is still being copied into place or was interrupted. "
                f"Received: path={path!r}"
            )
        with storage.open_file(metadata_path) as file:
            return json.load(file)
    if storage.isfile(path):
        import onnx

        with storage.open_file(path, "rb") as file:
            proto = onnx.load_from_string(file.read())
        for prop in proto.metadata_props:
            if prop.key == ONNX_METADATA_KEY:
                return json.loads(prop.value)
        raise FileNotFoundError(
            f"The ONNX file has no `{ONNX_METADATA_KEY}` metadata entry. Received: path={path!r}"
        )
    raise FileNotFoundError(f"No export at this path. Received: path={path!r}")

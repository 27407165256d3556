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
"""

import datetime
import json
import numbers
import os
import shutil
import uuid

import keras
import numpy as np
import tensorflow as tf

from kgan._validation import check_choice, check_positive_int
from kgan.models.base import _LATENT_DISTRIBUTIONS, AdversarialModel, sample_latent

METADATA_FILENAME = "kgan.json"
# The key under which ONNX files carry the same JSON as a SavedModel's `assets/kgan.json`.
ONNX_METADATA_KEY = "kgan"
# The batch sizes at which exports are compared with Keras: one, and one that is neither a
# power of two nor a multiple of anything a kernel might tile by.
VERIFY_BATCH_SIZES = (1, 5)
SAVED_MODEL_TOLERANCE = 1e-5
ONNX_TOLERANCE = 1e-4
DEFAULT_MAX_SAMPLES = 256
# Seed of the latent vectors used for verification, fixed so that two exports of the same
# weights record the same differences.
_VERIFY_SEED = 20240601


class ExportVerificationError(RuntimeError):
    """Raised when an exported artifact does not reproduce the Keras generator's outputs."""


# ---------------------------------------------------------------------------------- sources


class GeneratorSource:
    """What an export needs to know about a generator, read from a kgan model or a bare one.

    Built by `resolve_generator`. Attributes: `generator` (the `keras.Model` exported),
    `model` (the kgan model it came from, or `None`), `latent_dim`, `num_classes`,
    `sample_shape`, `latent_distribution`, `uses_averaged_weights`.
    """

    def __init__(
        self,
        generator,
        *,
        model,
        latent_dim,
        num_classes,
        sample_shape,
        latent_distribution,
        uses_averaged_weights,
    ):
        self.generator = generator
        self.model = model
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.sample_shape = tuple(sample_shape)
        self.latent_distribution = latent_distribution
        self.uses_averaged_weights = uses_averaged_weights

    @property
    def conditional(self):
        return self.num_classes is not None

    @property
    def is_image(self):
        return len(self.sample_shape) == 3

    def call(self, z, labels=None):
        """Runs the generator in inference mode (moving statistics, no dropout)."""
        inputs = [z, labels] if self.conditional else z
        return self.generator(inputs, training=False)

    def keras_samples(self, z, labels=None):
        return keras.ops.convert_to_numpy(self.call(z, labels)).astype("float32")


def resolve_generator(model, *, num_classes=None, latent_distribution=None):
    """Finds the generator to export and its latent size, classes and sample shape.

    Args:
        model: a `kgan.GAN`/`WGAN`/`WGANGP` (its `inference_generator` is exported: the
            averaged generator when `ema_decay` is set) or a generator `keras.Model` taking `z`,
            or `[z, labels]` for a class-conditional one.
        num_classes: number of classes of a bare class-conditional generator (required for one;
            a kgan model knows its own).
        latent_distribution: `"normal"` or `"uniform"`, the prior of `z` for a bare generator
            (default `"normal"`); a kgan model knows its own.

    Returns:
        A `GeneratorSource`.

    Raises:
        TypeError: if `model` is not a Keras model.
        ValueError: if the generator's inputs do not match `num_classes`.
    """
    if isinstance(model, AdversarialModel):
        if num_classes is not None and num_classes != model.num_classes:
            raise ValueError(
                f"`num_classes` does not match the model's ({model.num_classes}); leave it unset "
                f"for a kgan model. Received: num_classes={num_classes}"
            )
        if latent_distribution is not None and latent_distribution != model.latent_distribution:
            raise ValueError(
                "`latent_distribution` does not match the model's "
                f"({model.latent_distribution!r}); leave it unset for a kgan model. "
                f"Received: latent_distribution={latent_distribution!r}"
            )
        return GeneratorSource(
            model.inference_generator,
            model=model,
            latent_dim=int(model.latent_dim),
            num_classes=model.num_classes,
            sample_shape=model.sample_shape,
            latent_distribution=model.latent_distribution,
            uses_averaged_weights=model.ema_weights is not None,
        )
    if not isinstance(model, keras.Model):
        raise TypeError(
            "`model` must be a kgan.GAN, WGAN or WGANGP, or a generator keras.Model. "
            f"Received: model={model!r} of type {type(model).__name__}"
        )
    latent_distribution = latent_distribution or "normal"
    check_choice("latent_distribution", latent_distribution, _LATENT_DISTRIBUTIONS)
    check_positive_int("num_classes", num_classes, allow_none=True)
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise ValueError(
            "The generator has no static inputs (a subclassed model that was never built?); "
            "export a functional generator such as kgan.models.dcgan_generator(...). "
            f"Received: model={model.name!r}"
        )
    if len(inputs) == 2 and num_classes is None:
        raise ValueError(
            "The generator takes two inputs, `[z, labels]`, so it is class-conditional; pass "
            "its number of classes as `num_classes=`. Received: num_classes=None"
        )
    if len(inputs) == 1 and num_classes is not None:
        raise ValueError(
            "The generator takes one input, `z`, so it is unconditional; leave `num_classes` "
            f"unset. Received: num_classes={num_classes}"
        )
    if len(inputs) > 2:
        raise ValueError(
            "A generator takes `z`, or `[z, labels]` for a class-conditional one. "
            f"Received: a generator with {len(inputs)} inputs"
        )
    z_shape = tuple(inputs[0].shape)
    if len(z_shape) != 2 or z_shape[1] is None:
        raise ValueError(
            "The generator's input `z` must have shape (batch, latent_dim). "
            f"Received: input shape {z_shape}"
        )
    output_shape = tuple(model.outputs[0].shape[1:]) if getattr(model, "outputs", None) else ()
    if not output_shape or any(dim is None for dim in output_shape):
        raise ValueError(
            "The generator's output must have a fully defined shape besides the batch. "
            f"Received: output shape {(None, *output_shape)}"
        )
    return GeneratorSource(
        model,
        model=None,
        latent_dim=int(z_shape[1]),
        num_classes=num_classes,
        sample_shape=output_shape,
        latent_distribution=latent_distribution,
        uses_averaged_weights=False,
    )


def load_run(run_or_model):
    """Loads a kgan model from a training run folder or a `.keras` file.

    Args:
        run_or_model: a folder written by `kgan train` (holding `model.keras`, and maybe
            `history.json` and `config.json`) or a `.keras` file.

    Returns:
        `(model, history, run_config)`: the loaded model, and the parsed `history.json` and
        `config.json` beside it (each `None` when absent).

    Raises:
        FileNotFoundError: if there is no model at `run_or_model`.
    """
    path = os.fspath(run_or_model)
    if os.path.isdir(path):
        model_path = os.path.join(path, "model.keras")
        run_dir = path
        if not os.path.isfile(model_path):
            raise FileNotFoundError(
                "A run folder must contain `model.keras` (written by `kgan train`). "
                f"Received: run_or_model={path!r}"
            )
    elif os.path.isfile(path):
        if not path.endswith(".keras"):
            raise ValueError(
                "Pass a run folder or a `.keras` file saved with `model.save(...)`. "
                f"Received: run_or_model={path!r}"
            )
        model_path = path
        run_dir = os.path.dirname(path) or "."
    else:
        raise FileNotFoundError(
            f"No run folder or `.keras` file at this path. Received: run_or_model={path!r}"
        )
    import kgan  # noqa: F401  Registers kgan's classes with Keras before deserialising.

    model = keras.saving.load_model(model_path)
    return model, _read_json(run_dir, "history.json"), _read_json(run_dir, "config.json")


def _read_json(directory, name):
    path = os.path.join(directory, name)
    if not os.path.isfile(path):
        return None
    with open(path) as file:
        return json.load(file)


# ---------------------------------------------------------------------------------- metadata


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
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
        summary["config"] = _jsonable(config)
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
        summary["run_config"] = _jsonable(run_config)
    return summary


def _build_metadata(source, *, model, history, run_config, max_samples=None, fmt):
    from kgan import __version__

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
    if max_samples is not None:
        metadata["max_samples"] = max_samples
    return metadata


def read_metadata(path):
    """Reads the kgan metadata of an export.

    Args:
        path: a SavedModel version folder (`base_dir/<version>`) or an `.onnx` file.

    Returns:
        The metadata dict (latent size, image shape, classes, value range, model class, kgan
        version, training summary, verification result...).

    Raises:
        FileNotFoundError: if `path` holds no kgan metadata.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        metadata_path = os.path.join(path, "assets", METADATA_FILENAME)
        if not os.path.isfile(metadata_path):
            raise FileNotFoundError(
                "Not a SavedModel exported by kgan: it has no `assets/kgan.json`. "
                f"Received: path={path!r}"
            )
        with open(metadata_path) as file:
            return json.load(file)
    if os.path.isfile(path):
        import onnx

        proto = onnx.load(path, load_external_data=False)
        for prop in proto.metadata_props:
            if prop.key == ONNX_METADATA_KEY:
                return json.loads(prop.value)
        raise FileNotFoundError(
            f"The ONNX file has no `{ONNX_METADATA_KEY}` metadata entry. Received: path={path!r}"
        )
    raise FileNotFoundError(f"No export at this path. Received: path={path!r}")


# ---------------------------------------------------------------------------------- versions


def list_versions(base_dir):
    """The integer version folders under `base_dir`, sorted (empty if it does not exist)."""
    base_dir = os.fspath(base_dir)
    if not os.path.isdir(base_dir):
        return []
    return sorted(
        int(name)
        for name in os.listdir(base_dir)
        if name.isdigit() and os.path.isdir(os.path.join(base_dir, name))
    )


def next_version(base_dir):
    """The version `to_saved_model` writes by default: one more than the largest, or 1."""
    versions = list_versions(base_dir)
    return versions[-1] + 1 if versions else 1


# ---------------------------------------------------------------------------------- SavedModel


class _ServingModule(tf.Module):
    """The object saved as a SavedModel: the generator's variables and the two signatures."""

    def __init__(self, source, max_samples):
        super().__init__(name="kgan_generator")
        generator = source.generator
        # The signatures capture the tf.Variables under Keras' variables; tracking them here
        # (rather than the Keras model itself) is how Keras' own ExportArchive saves a model.
        self.generator_variables = [
            getattr(variable, "value", variable) for variable in generator.variables
        ]
        latent_dim = source.latent_dim
        num_classes = source.num_classes
        distribution = source.latent_distribution

        def check_labels(labels, count, count_name):
            """Returns `labels`, available only once they passed the checks."""
            checks = [
                tf.debugging.assert_equal(
                    tf.shape(labels)[0],
                    count,
                    message="There must be one label per sample: `labels` must have as many "
                    f"entries as {count_name}",
                ),
                tf.debugging.assert_non_negative(
                    labels, message=f"`labels` must be classes in [0, {num_classes})"
                ),
                tf.debugging.assert_less(
                    labels,
                    tf.constant(num_classes, tf.int32),
                    message=f"`labels` must be classes in [0, {num_classes})",
                ),
            ]
            with tf.control_dependencies(checks):
                return tf.identity(labels)

        def images(z, labels):
            return source.call(z, labels)

        z_spec = tf.TensorSpec([None, latent_dim], tf.float32, name="z")
        labels_spec = tf.TensorSpec([None], tf.int32, name="labels")
        num_samples_spec = tf.TensorSpec([], tf.int32, name="num_samples")
        seed_spec = tf.TensorSpec([], tf.int64, name="seed")

        def generate(num_samples, seed, labels=None):
            checks = [
                tf.debugging.assert_positive(
                    num_samples, message="`num_samples` must be at least 1"
                ),
                tf.debugging.assert_less_equal(
                    num_samples,
                    tf.constant(max_samples, tf.int32),
                    message=f"`num_samples` must be at most {max_samples}, the limit chosen "
                    "when this model was exported (request several batches with different "
                    "seeds)",
                ),
            ]
            # The latent vectors' shape depends on the checked value, so nothing of size
            # `num_samples` is allocated before the checks pass: graph ops without a data
            # dependency on an assertion may otherwise run before it.
            with tf.control_dependencies(checks):
                num_samples = tf.identity(num_samples)
            if labels is not None:
                labels = check_labels(labels, num_samples, "`num_samples`")
            z = sample_latent(num_samples, latent_dim, seed=seed, distribution=distribution)
            samples = images(z, labels)
            # The same conversion as kgan.images.to_uint8 (round half to even, then clip).
            pixels = tf.clip_by_value(tf.round((samples + 1.0) * 127.5), 0.0, 255.0)
            return {"images": tf.cast(pixels, tf.uint8)}

        if num_classes is None:

            @tf.function(input_signature=[z_spec])
            def serve(z):
                return {"images": images(z, None)}

            @tf.function(input_signature=[num_samples_spec, seed_spec])
            def generate_fn(num_samples, seed):
                return generate(num_samples, seed)

        else:

            @tf.function(input_signature=[z_spec, labels_spec])
            def serve(z, labels):
                labels = check_labels(labels, tf.shape(z)[0], "rows of `z`")
                return {"images": images(z, labels)}

            @tf.function(input_signature=[num_samples_spec, seed_spec, labels_spec])
            def generate_fn(num_samples, seed, labels):
                return generate(num_samples, seed, labels)

        self.serve = serve
        self.generate = generate_fn if source.is_image else None

    def signatures(self):
        signatures = {"serving_default": self.serve.get_concrete_function()}
        if self.generate is not None:
            signatures["generate"] = self.generate.get_concrete_function()
        return signatures


def _check_version(version):
    if isinstance(version, bool) or not isinstance(version, numbers.Integral) or version < 1:
        raise ValueError(
            "`version` must be a positive integer (TF Serving loads integer folders). "
            f"Received: version={version!r}"
        )
    return int(version)


def to_saved_model(
    model,
    base_dir,
    *,
    version=None,
    overwrite=False,
    max_samples=DEFAULT_MAX_SAMPLES,
    num_classes=None,
    latent_distribution=None,
    history=None,
    run_config=None,
    verify=True,
):
    """Exports a generator as a SavedModel version folder that TF Serving can load.

    Writes `base_dir/<version>/` atomically: the SavedModel is written to a hidden sibling
    folder, checked, and renamed into place, so TF Serving, which watches `base_dir` for
    integer folders, never sees a half-written version, and a failed or interrupted export
    leaves nothing behind.

    Signatures (method `tensorflow/serving/predict`, inference mode):

    - `serving_default`: `z` float32 `[None, latent_dim]` (and `labels` int32 `[None]` for a
      class-conditional model) -> `images` float32 `[None, *sample_shape]` in [-1, 1].
    - `generate` (image generators): `num_samples` int32 scalar, `seed` int64 scalar (and
      `labels` int32 `[num_samples]`) -> `images` uint8 `[num_samples, H, W, C]`. The latent
      vectors are `kgan.models.sample_latent(num_samples, latent_dim, seed=seed)`, as in
      `GAN.generate(num_samples, seed=seed)`, so both give the same images. Requests for more
      than `max_samples` fail with an error message instead of exhausting the server's memory.

    The metadata (`read_metadata`) is written to `assets/kgan.json`.

    Args:
        model: a trained `kgan.GAN`/`WGAN`/`WGANGP` or a generator `keras.Model`.
        base_dir: the model's folder in TF Serving's layout (`--model_base_path`).
        version: the integer version to write; by default one more than the largest present.
        overwrite: replace `base_dir/<version>` if it exists (the old folder is renamed away,
            the new one renamed in, then the old one deleted). Without it, an existing version
            is an error.
        max_samples: the largest `num_samples` the `generate` signature accepts.
        num_classes: number of classes of a bare class-conditional generator.
        latent_distribution: prior of `z` for a bare generator (`"normal"` by default).
        history: training history for the metadata (`History.history`, a `History`, or a
            run's parsed `history.json`).
        run_config: the training run's settings for the metadata (a run's `config.json`).
        verify: reload the SavedModel before it is renamed into place and check that both
            signatures reproduce Keras (`serving_default` within 1e-5 at batch sizes 1 and 5,
            `generate` within one grey level).

    Returns:
        The path of the version folder, `base_dir/<version>`.

    Raises:
        FileExistsError: if the version exists and `overwrite` is false.
        ExportVerificationError: if the reloaded SavedModel does not match Keras.

    Example:
    >>> path = kgan.export.to_saved_model(gan, "savedmodels/mnist")
    >>> path
    'savedmodels/mnist/1'
    """
    source = resolve_generator(
        model, num_classes=num_classes, latent_distribution=latent_distribution
    )
    check_positive_int("max_samples", max_samples)
    base_dir = os.fspath(base_dir)
    if version is None:
        version = next_version(base_dir)
    version = _check_version(version)
    final_dir = os.path.join(base_dir, str(version))
    if os.path.exists(final_dir) and not overwrite:
        raise FileExistsError(
            f"Version {version} already exists in {base_dir!r}; pass `overwrite=True` to replace "
            f"it, or leave `version` unset to write version {next_version(base_dir)}. "
            f"Received: version={version}"
        )
    os.makedirs(base_dir, exist_ok=True)
    # A hidden name: TF Serving only loads folders whose name is an integer.
    temp_dir = os.path.join(base_dir, f".tmp-{version}-{uuid.uuid4().hex[:12]}")
    try:
        metadata = _build_metadata(
            source,
            model=model,
            history=history,
            run_config=run_config,
            max_samples=max_samples,
            fmt="saved_model",
        )
        metadata["version"] = version
        metadata["signatures"] = ["serving_default"] + (["generate"] if source.is_image else [])
        module = _ServingModule(source, max_samples)
        tf.saved_model.save(module, temp_dir, signatures=module.signatures())
        if verify:
            metadata["verification"] = verify_saved_model(source, temp_dir, max_samples=max_samples)
        _write_metadata_file(temp_dir, metadata)
        _move_into_place(temp_dir, final_dir, overwrite=overwrite)
    finally:
        # Reached with the folder still present only when something above failed.
        if os.path.exists(temp_dir):
            shutil.rmtree(temp_dir, ignore_errors=True)
    return final_dir


def _write_metadata_file(export_dir, metadata):
    assets = os.path.join(export_dir, "assets")
    os.makedirs(assets, exist_ok=True)
    with open(os.path.join(assets, METADATA_FILENAME), "w") as file:
        json.dump(_jsonable(metadata), file, indent=2, sort_keys=True)
        file.write("\n")


def _move_into_place(temp_dir, final_dir, *, overwrite):
    if not os.path.exists(final_dir):
        try:
            os.rename(temp_dir, final_dir)
            return
        except OSError as error:
            # Another export created the same version between our check and the rename.
            if not os.path.exists(final_dir):
                raise
            if not overwrite:
                raise FileExistsError(
                    f"Version folder {final_dir!r} appeared while exporting. "
                    f"Received: overwrite={overwrite}"
                ) from error
    # Rename the old version away first: os.rename cannot replace a non-empty folder. TF
    # Serving sees the version missing for the instant between the two renames, never a mix.
    old_dir = os.path.join(
        os.path.dirname(final_dir), f".old-{os.path.basename(final_dir)}-{uuid.uuid4().hex[:12]}"
    )
    os.rename(final_dir, old_dir)
    try:
        os.rename(temp_dir, final_dir)
    except BaseException:
        os.rename(old_dir, final_dir)
        raise
    shutil.rmtree(old_dir, ignore_errors=True)


def _largest_difference(source, batch_sizes, run, what):
    """The largest |difference| between `run(z, labels)` and the Keras generator."""
    largest = 0.0
    for batch_size in batch_sizes:
        z, labels = _verification_inputs(source, batch_size)
        exported = run(z, labels)
        expected = source.keras_samples(z, labels)
        if exported.shape != expected.shape:
            raise ExportVerificationError(
                f"{what} `images` have the wrong shape at batch size {batch_size}. "
                f"Received: {exported.shape}, expected {expected.shape}"
            )
        largest = max(largest, float(np.max(np.abs(exported - expected))))
    return largest


def _verification_inputs(source, batch_size):
    z = sample_latent(
        batch_size, source.latent_dim, seed=_VERIFY_SEED + batch_size, distribution="normal"
    ).numpy()
    labels = None
    if source.conditional:
        labels = (np.arange(batch_size) % source.num_classes).astype("int32")
    return z, labels


def _as_source(model_or_source, num_classes=None, latent_distribution=None):
    if isinstance(model_or_source, GeneratorSource):
        return model_or_source
    return resolve_generator(
        model_or_source, num_classes=num_classes, latent_distribution=latent_distribution
    )


def verify_saved_model(
    model,
    export_dir,
    *,
    batch_sizes=VERIFY_BATCH_SIZES,
    tolerance=SAVED_MODEL_TOLERANCE,
    num_classes=None,
    latent_distribution=None,
    max_samples=None,
):
    """Checks that a SavedModel's signatures reproduce the Keras generator.

    Loads `export_dir` with `tf.saved_model.load` and compares `serving_default` with the
    generator in inference mode at each batch size, and `generate` (when present) with
    `kgan.images.to_uint8` of the Keras samples for the same seed.

    Args:
        model: the kgan model or generator that was exported.
        export_dir: the SavedModel folder.
        batch_sizes: the batch sizes to compare at.
        tolerance: largest accepted absolute difference of `serving_default`.
        num_classes, latent_distribution: as in `to_saved_model`, for a bare generator.
        max_samples: the `generate` signature's limit, when it is below the largest batch size.

    Returns:
        A dict with `max_abs_difference` (of `serving_default`), `generate_max_level_difference`
        (in grey levels, when `generate` exists), `batch_sizes` and `tolerance`.

    Raises:
        ExportVerificationError: if a difference exceeds its tolerance.
    """
    from kgan.images import to_uint8

    source = _as_source(model, num_classes, latent_distribution)
    loaded = tf.saved_model.load(export_dir)
    serve = loaded.signatures["serving_default"]

    def run_signature(z, labels):
        kwargs = {"z": tf.constant(z)}
        if source.conditional:
            kwargs["labels"] = tf.constant(labels)
        return serve(**kwargs)["images"].numpy()

    largest = _largest_difference(source, batch_sizes, run_signature, "The SavedModel's")
    result = {
        "max_abs_difference": largest,
        "batch_sizes": list(batch_sizes),
        "tolerance": tolerance,
    }
    if not largest <= tolerance:
        raise ExportVerificationError(
            f"The SavedModel's `serving_default` differs from the Keras generator by up to "
            f"{largest:.3g}, more than the tolerance. Received: tolerance={tolerance}"
        )
    if "generate" in loaded.signatures:
        # The `generate` signature refuses more than its export-time limit.
        count = max(batch_sizes) if max_samples is None else min(max(batch_sizes), max_samples)
        labels = None
        kwargs = {
            "num_samples": tf.constant(count, tf.int32),
            "seed": tf.constant(_VERIFY_SEED, tf.int64),
        }
        if source.conditional:
            labels = (np.arange(count) % source.num_classes).astype("int32")
            kwargs["labels"] = tf.constant(labels)
        exported = loaded.signatures["generate"](**kwargs)["images"].numpy().astype("int32")
        z = sample_latent(
            count, source.latent_dim, seed=_VERIFY_SEED, distribution=source.latent_distribution
        ).numpy()
        expected = to_uint8(source.keras_samples(z, labels)).astype("int32")
        levels = int(np.max(np.abs(exported - expected)))
        result["generate_max_level_difference"] = levels
        if levels > 1:
            raise ExportVerificationError(
                f"The SavedModel's `generate` differs from the Keras generator by {levels} grey "
                "levels for the same seed; at most 1 (rounding) is expected."
            )
    return result


# ---------------------------------------------------------------------------------- ONNX


def _onnx_function(source):
    z_spec = tf.TensorSpec([None, source.latent_dim], tf.float32, name="z")
    if source.conditional:
        labels_spec = tf.TensorSpec([None], tf.int32, name="labels")

        @tf.function(input_signature=[z_spec, labels_spec])
        def images(z, labels):
            return {"images": source.call(z, labels)}

    else:

        @tf.function(input_signature=[z_spec])
        def images(z):
            return {"images": source.call(z)}

    return images


def _name_batch_dimension(proto):
    """Names the dynamic first dimension of every input and output `batch`.

    tf2onnx leaves it as `unk__<n>`, different for inputs and outputs; one shared name tells
    runtimes and readers that the output has as many rows as the input.
    """
    for value in list(proto.graph.input) + list(proto.graph.output):
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            dims[0].dim_param = "batch"


def to_onnx(
    model,
    path,
    *,
    opset=None,
    verify=True,
    num_classes=None,
    latent_distribution=None,
    history=None,
    run_config=None,
):
    """Exports a generator to an ONNX file.

    The graph has input `z` float32 `[batch, latent_dim]` (and `labels` int32 `[batch]` for a
    class-conditional model) and output `images` float32 `[batch, *sample_shape]`, with a
    dynamic batch dimension. `metadata_props` holds the same JSON as a SavedModel's
    `assets/kgan.json` under the key `"kgan"`. The file is written beside `path` and renamed
    onto it, so a reader never sees half a file.

    Args:
        model: a trained `kgan.GAN`/`WGAN`/`WGANGP` or a generator `keras.Model`.
        path: the `.onnx` file to write (replaced if it exists).
        opset: the ONNX opset; tf2onnx's default when `None`.
        verify: run onnxruntime on the file at batch sizes 1 and 5 and raise if the largest
            difference from Keras exceeds 1e-4.
        num_classes: number of classes of a bare class-conditional generator.
        latent_distribution: prior of `z` for a bare generator, for the metadata.
        history: training history for the metadata.
        run_config: the training run's settings for the metadata.

    Returns:
        `path`.

    Raises:
        ExportVerificationError: if onnxruntime's outputs differ from Keras by more than 1e-4.
    """
    import tf2onnx

    source = resolve_generator(
        model, num_classes=num_classes, latent_distribution=latent_distribution
    )
    if opset is not None:
        check_positive_int("opset", opset)
    path = os.fspath(path)
    function = _onnx_function(source)
    proto, _ = tf2onnx.convert.from_function(
        function, input_signature=function.input_signature, opset=opset
    )
    input_names = [value.name for value in proto.graph.input]
    output_names = [value.name for value in proto.graph.output]
    expected_inputs = ["z", "labels"] if source.conditional else ["z"]
    if input_names != expected_inputs or output_names != ["images"]:
        raise ExportVerificationError(
            f"tf2onnx named the graph's inputs and outputs unexpectedly. Received: inputs "
            f"{input_names} and outputs {output_names}, expected {expected_inputs} and ['images']"
        )
    _name_batch_dimension(proto)
    metadata = _build_metadata(
        source, model=model, history=history, run_config=run_config, fmt="onnx"
    )
    metadata["opset"] = next(
        (entry.version for entry in proto.opset_import if entry.domain in ("", "ai.onnx")), None
    )
    if verify:
        metadata["verification"] = verify_onnx(source, proto.SerializeToString())
    _set_onnx_metadata(proto, metadata)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temp_path = os.path.join(directory, f".tmp-{uuid.uuid4().hex[:12]}-{os.path.basename(path)}")
    try:
        with open(temp_path, "wb") as file:
            file.write(proto.SerializeToString())
        os.replace(temp_path, path)
    finally:
        if os.path.exists(temp_path):
            os.remove(temp_path)
    return path


def _set_onnx_metadata(proto, metadata):
    for index in reversed(range(len(proto.metadata_props))):
        if proto.metadata_props[index].key == ONNX_METADATA_KEY:
            del proto.metadata_props[index]
    entry = proto.metadata_props.add()
    entry.key = ONNX_METADATA_KEY
    entry.value = json.dumps(_jsonable(metadata), sort_keys=True)
    proto.producer_name = "kgan"
    from kgan import __version__

    proto.producer_version = __version__


def verify_onnx(
    model,
    onnx_model,
    *,
    batch_sizes=VERIFY_BATCH_SIZES,
    tolerance=ONNX_TOLERANCE,
    num_classes=None,
):
    """Checks that onnxruntime reproduces the Keras generator on an ONNX model.

    Args:
        model: the kgan model or generator that was exported.
        onnx_model: path of the `.onnx` file, or its serialised bytes.
        batch_sizes: the batch sizes to compare at.
        tolerance: largest accepted absolute difference.
        num_classes: number of classes of a bare class-conditional generator.

    Returns:
        A dict with `max_abs_difference`, `batch_sizes`, `tolerance` and `runtime`.

    Raises:
        ExportVerificationError: if the difference exceeds `tolerance`.
    """
    import onnxruntime

    source = _as_source(model, num_classes)
    if not isinstance(onnx_model, bytes):
        onnx_model = os.fspath(onnx_model)
    session = onnxruntime.InferenceSession(onnx_model, providers=["CPUExecutionProvider"])

    def run_session(z, labels):
        feeds = {"z": z}
        if source.conditional:
            feeds["labels"] = labels
        return session.run(["images"], feeds)[0]

    largest = _largest_difference(source, batch_sizes, run_session, "onnxruntime's")
    if not largest <= tolerance:
        raise ExportVerificationError(
            f"onnxruntime's outputs differ from the Keras generator by up to {largest:.3g}, more "
            f"than the tolerance. Received: tolerance={tolerance}"
        )
    return {
        "max_abs_difference": largest,
        "batch_sizes": list(batch_sizes),
        "tolerance": tolerance,
        "runtime": f"onnxruntime {onnxruntime.__version__}",
    }

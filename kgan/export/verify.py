"""Checking an export against the Keras generator it came from.

The artifact is run on the same latent vectors as the generator in inference mode, at two
batch sizes, and the largest absolute difference is compared with a tolerance.
"""

import os

import numpy as np
import tensorflow as tf

from kgan.export.metadata import PNG_OUTPUT
from kgan.export.source import as_source
from kgan.images import to_uint8
from kgan.models.base import sample_latent

# The batch sizes at which exports are compared with Keras: one, and one that is neither a
# power of two nor a multiple of anything a kernel might tile by.
VERIFY_BATCH_SIZES = (1, 5)
SAVED_MODEL_TOLERANCE = 1e-5
ONNX_TOLERANCE = 1e-4
# Seed of the latent vectors used for verification, fixed so that two exports of the same
# weights record the same differences.
_VERIFY_SEED = 20240601


class ExportVerificationError(RuntimeError):
    """Raised when an exported artifact does not reproduce the Keras generator's outputs."""


def _verification_inputs(source, batch_size):
    z = sample_latent(
        batch_size, source.latent_dim, seed=_VERIFY_SEED + batch_size, distribution="normal"
    ).numpy()
    labels = None
    if source.conditional:
        labels = (np.arange(batch_size) % source.num_classes).astype("int32")
    return z, labels


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
    generator in inference mode at each batch size, `generate` (when present) with
    `kgan.images.to_uint8` of the Keras samples for the same seed, and the PNGs of
    `generate_png` (when present) with the images of `generate`.

    Args:
        model: the kgan model or generator that was exported.
        export_dir: the SavedModel folder.
        batch_sizes: the batch sizes to compare at.
        tolerance: largest accepted absolute difference of `serving_default`.
        num_classes, latent_distribution: as in `to_saved_model`, for a bare generator.
        max_samples: the `generate` signature's limit, when it is below the largest batch size.

    Returns:
        A dict with `max_abs_difference` (of `serving_default`), `generate_max_level_difference`
        (in grey levels, when `generate` exists), `generate_png_matches_generate` (when
        `generate_png` exists), `batch_sizes` and `tolerance`.

    Raises:
        ExportVerificationError: if a difference exceeds its tolerance.
    """
    source = as_source(model, num_classes, latent_distribution)
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
    # The `generate` signatures refuse more than their export-time limit.
    count = max(batch_sizes) if max_samples is None else min(max(batch_sizes), max_samples)
    if "generate" in loaded.signatures:
        levels = _generate_level_difference(source, loaded.signatures["generate"], count)
        result["generate_max_level_difference"] = levels
        if levels > 1:
            raise ExportVerificationError(
                f"The SavedModel's `generate` differs from the Keras generator by {levels} grey "
                "levels for the same seed; at most 1 (rounding) is expected."
            )
    if "generate_png" in loaded.signatures:
        _check_pngs(source, loaded.signatures, count)
        result["generate_png_matches_generate"] = True
    return result


def _check_pngs(source, signatures, count):
    """Checks that the `generate_png` signature's PNGs decode to `generate`'s images."""
    kwargs = {
        "num_samples": tf.constant(count, tf.int32),
        "seed": tf.constant(_VERIFY_SEED, tf.int64),
    }
    if source.conditional:
        kwargs["labels"] = tf.constant((np.arange(count) % source.num_classes).astype("int32"))
    images = signatures["generate"](**kwargs)["images"].numpy()
    pngs = signatures["generate_png"](**kwargs)[PNG_OUTPUT].numpy()
    decoded = np.stack([tf.io.decode_png(png, channels=images.shape[-1]).numpy() for png in pngs])
    if decoded.shape != images.shape or np.any(decoded != images):
        raise ExportVerificationError(
            "The SavedModel's `generate_png` images differ from its `generate` images for the "
            f"same seed. Received: PNGs decoding to shape {decoded.shape}, expected "
            f"{images.shape}"
        )


def _generate_level_difference(source, generate, count):
    """The largest difference in grey levels between the `generate` signature and
    `to_uint8` of the Keras samples, for `count` samples of the same seed."""
    labels = None
    kwargs = {
        "num_samples": tf.constant(count, tf.int32),
        "seed": tf.constant(_VERIFY_SEED, tf.int64),
    }
    if source.conditional:
        labels = (np.arange(count) % source.num_classes).astype("int32")
        kwargs["labels"] = tf.constant(labels)
    exported = generate(**kwargs)["images"].numpy().astype("int32")
    z = sample_latent(
        count, source.latent_dim, seed=_VERIFY_SEED, distribution=source.latent_distribution
    ).numpy()
    expected = to_uint8(source.keras_samples(z, labels)).astype("int32")
    return int(np.max(np.abs(exported - expected)))


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

    source = as_source(model, num_classes)
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

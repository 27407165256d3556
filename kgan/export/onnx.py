"""Exporting a generator to an ONNX file with tf2onnx, checked with onnxruntime."""

import errno
import json
import numbers

import tensorflow as tf

from kgan import atomic, storage
from kgan.export.metadata import ONNX_METADATA_KEY, build_metadata, check_class_names, jsonable
from kgan.export.source import resolve_generator
from kgan.export.verify import ExportVerificationError, verify_onnx
from kgan.version import __version__

# The lowest opset every kgan generator converts to: below 10, tf2onnx cannot express the
# strided slice of `latent_class_generator` (Slice takes its bounds as inputs from opset 10),
# nor, below 9, the reshapes and batch normalisations of the DCGAN and MLP generators.
MIN_OPSET = 10


def supported_opsets():
    """`(lowest, highest)`: the opsets `to_onnx` writes, from `MIN_OPSET` to the highest that
    the installed tf2onnx knows an ONNX IR version for."""
    from tf2onnx import constants

    return MIN_OPSET, max(constants.OPSET_TO_IR_VERSION)


def check_opset(opset):
    """Checks that `opset` is `None` (tf2onnx's default) or in `supported_opsets()`."""
    if opset is None:
        return
    low, high = supported_opsets()
    if (
        isinstance(opset, bool)
        or not isinstance(opset, numbers.Integral)
        or not low <= opset <= high
    ):
        raise ValueError(
            f"`opset` must be an integer in [{low}, {high}]: kgan's generators need opset "
            f"{low} or later, and tf2onnx writes opsets up to {high}. Received: opset={opset!r}"
        )


def _onnx_function(source):
    z_spec = tf.TensorSpec([None, source.latent_dim], tf.float32, name="z")
    if source.conditional:
        labels_spec = tf.TensorSpec([None], tf.int32, name="labels")

        @tf.function(input_signature=[z_spec, labels_spec])
        def images(z, labels):
            # onnxruntime runs no assertion, and a gather wraps a negative index: a label
            # outside [0, num_classes) would draw another class (-1 the last) or fail
            # obscurely. Its images are NaN instead, where the SavedModel refuses the call.
            valid = (labels >= 0) & (labels < source.num_classes)
            drawn = source.call(z, tf.where(valid, labels, tf.zeros_like(labels)))
            rows = tf.reshape(valid, [-1] + [1] * len(source.sample_shape))
            return {"images": tf.where(rows, drawn, tf.constant(float("nan"), drawn.dtype))}

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


def _convert(source, opset):
    """The ONNX `ModelProto` of the generator, with inputs `z` (and `labels`) and output
    `images`, and a batch dimension named `batch`."""
    import tf2onnx

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
    return proto


def to_onnx(
    model,
    path,
    *,
    opset=None,
    verify=True,
    overwrite=False,
    num_classes=None,
    class_names=None,
    latent_distribution=None,
    history=None,
    run_config=None,
):
    """Exports a generator to an ONNX file.

    The graph has input `z` float32 `[batch, latent_dim]` (and `labels` int32 `[batch]` for a
    class-conditional model) and output `images` float32 `[batch, *sample_shape]`, with a
    dynamic batch dimension. `metadata_props` holds the same JSON as a SavedModel's
    `assets/kgan.json` under the key `"kgan"`. The file is written to a temporary name beside
    `path` and renamed onto it, so a reader never sees half a file, and a killed export leaves
    the previous file whole (and a hidden temporary file that the next export removes). A
    `path` with a scheme (`gs://`, `s3://`) is written through `tf.io.gfile` the same way; see
    `kgan.storage` for what each file system guarantees.

    Args:
        model: a trained `kgan.GAN`/`WGAN`/`WGANGP` or a generator `keras.Model`.
        path: the `.onnx` file to write: a local path or a URL that `tf.io.gfile` supports.
        opset: the ONNX opset, from `MIN_OPSET` (10) to the highest the installed
            tf2onnx writes (`supported_opsets()`); tf2onnx's default when `None`.
        verify: run onnxruntime on the file at batch sizes 1 and 5 and raise if the largest
            difference from Keras exceeds 1e-4.
        overwrite: replace `path` if it exists. Without it, an existing file is an error, also
            when a concurrent export creates it first.
        num_classes: number of classes of a bare class-conditional generator.
        class_names: a name for each class of a class-conditional generator, in label order,
            for the metadata (`class_names`); by default those `run_config` gives (the names
            a `kgan train` run recorded, or those of a data set kgan reads itself).
        latent_distribution: prior of `z` for a bare generator, for the metadata.
        history: training history for the metadata.
        run_config: the training run's settings for the metadata.

    Returns:
        `path`.

    Raises:
        TypeError: if `path` is not a `str` or `os.PathLike`.
        ValueError: if `opset` is not in `supported_opsets()`.
        FileExistsError: if `path` exists and `overwrite` is false.
        IsADirectoryError: if `path` is a folder.
        NotADirectoryError: if a folder above `path` is a file.
        ExportVerificationError: if onnxruntime's outputs differ from Keras by more than 1e-4.
    """
    check_opset(opset)
    path = check_destination(path, overwrite)
    source = resolve_generator(
        model, num_classes=num_classes, latent_distribution=latent_distribution
    )
    check_class_names(class_names, source.num_classes)
    proto = _convert(source, opset)
    metadata = build_metadata(
        source,
        model=model,
        history=history,
        run_config=run_config,
        class_names=class_names,
        fmt="onnx",
    )
    metadata["opset"] = next(
        (entry.version for entry in proto.opset_import if entry.domain in ("", "ai.onnx")), None
    )
    if verify:
        metadata["verification"] = verify_onnx(source, proto.SerializeToString())
    _set_metadata_props(proto, metadata)
    try:
        atomic.write_bytes(path, proto.SerializeToString(), overwrite=overwrite)
    except FileExistsError:
        raise _exists_error(path) from None
    return path


def _exists_error(path):
    return FileExistsError(
        "The ONNX file already exists; pass `overwrite=True` (`kgan export --overwrite`) to "
        f"replace it, or another path. Received: path={path!r}"
    )


def check_destination(path, overwrite):
    """`path` as a `str`, checked before the conversion to be writable; the write checks
    again."""
    path = storage.check_path("path", path)
    if storage.isdir(path):
        raise IsADirectoryError(
            errno.EISDIR,
            f"`path` is a folder; pass the .onnx file to write. Received: path={path!r}",
        )
    if storage.exists(path) and not overwrite:
        raise _exists_error(path)
    storage.check_no_file_above("path", path)
    return path


def _set_metadata_props(proto, metadata):
    """Stores `metadata` as JSON in `proto.metadata_props` under `"kgan"` (replacing an
    earlier entry) and marks kgan as the producer."""
    for index in reversed(range(len(proto.metadata_props))):
        if proto.metadata_props[index].key == ONNX_METADATA_KEY:
            del proto.metadata_props[index]
    entry = proto.metadata_props.add()
    entry.key = ONNX_METADATA_KEY
    entry.value = json.dumps(jsonable(metadata), sort_keys=True)
    proto.producer_name = "kgan"
    proto.producer_version = __version__

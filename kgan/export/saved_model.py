"""Exporting a generator as a SavedModel version folder that TF Serving loads.

The signatures are `tf.function`s written out by `keras.export.ExportArchive`, which captures
the generator's variables. What kgan adds around it: the `generate` and `generate_png`
signatures (seeded sampling to uint8 images, or to PNG files, with checked arguments),
verification of the reloaded SavedModel before it is renamed into place, atomic version
folders, and the metadata in `assets/kgan.json`.
"""

import keras
import tensorflow as tf

from kgan._validation import check_positive_int
from kgan.export.metadata import PNG_OUTPUT, build_metadata, check_class_names, write_metadata_file
from kgan.export.source import resolve_generator
from kgan.export.verify import verify_saved_model
from kgan.export.versions import check_base_dir, publish, staging_folder, version_folder
from kgan.models.base import sample_latent

DEFAULT_MAX_SAMPLES = 256


def _check_labels(labels, count, count_name, num_classes):
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


def _generate(source, max_samples, num_samples, seed, labels=None):
    """The `generate` signature's body: `num_samples` uint8 images from the latent vectors of
    `sample_latent(num_samples, latent_dim, seed=seed)`, as `GAN.generate` draws them."""
    checks = [
        tf.debugging.assert_positive(num_samples, message="`num_samples` must be at least 1"),
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
        labels = _check_labels(labels, num_samples, "`num_samples`", source.num_classes)
    z = sample_latent(
        num_samples, source.latent_dim, seed=seed, distribution=source.latent_distribution
    )
    samples = source.call(z, labels)
    # The same conversion as kgan.images.to_uint8 (round half to even, then clip).
    pixels = tf.clip_by_value(tf.round((samples + 1.0) * 127.5), 0.0, 255.0)
    return {"images": tf.cast(pixels, tf.uint8)}


def _generate_png(source, max_samples, num_samples, seed, labels=None):
    """The `generate_png` signature's body: `generate`'s images, each encoded as a PNG."""
    images = _generate(source, max_samples, num_samples, seed, labels)["images"]
    return {PNG_OUTPUT: tf.map_fn(tf.io.encode_png, images, fn_output_signature=tf.string)}


def _endpoints(source, max_samples):
    """The signatures' `tf.function`s by signature name; their input signatures name the
    inputs (`z`, `labels`, `num_samples`, `seed`) that TF Serving requests use."""
    z_spec = tf.TensorSpec([None, source.latent_dim], tf.float32, name="z")
    labels_spec = tf.TensorSpec([None], tf.int32, name="labels")
    num_samples_spec = tf.TensorSpec([], tf.int32, name="num_samples")
    seed_spec = tf.TensorSpec([], tf.int64, name="seed")

    if source.conditional:

        @tf.function(input_signature=[z_spec, labels_spec])
        def serve(z, labels):
            labels = _check_labels(labels, tf.shape(z)[0], "rows of `z`", source.num_classes)
            return {"images": source.call(z, labels)}

        @tf.function(input_signature=[num_samples_spec, seed_spec, labels_spec])
        def generate(num_samples, seed, labels):
            return _generate(source, max_samples, num_samples, seed, labels)

        @tf.function(input_signature=[num_samples_spec, seed_spec, labels_spec])
        def generate_png(num_samples, seed, labels):
            return _generate_png(source, max_samples, num_samples, seed, labels)

    else:

        @tf.function(input_signature=[z_spec])
        def serve(z):
            return {"images": source.call(z)}

        @tf.function(input_signature=[num_samples_spec, seed_spec])
        def generate(num_samples, seed):
            return _generate(source, max_samples, num_samples, seed)

        @tf.function(input_signature=[num_samples_spec, seed_spec])
        def generate_png(num_samples, seed):
            return _generate_png(source, max_samples, num_samples, seed)

    # Samples that are not images (2-D toy data) have no uint8 or PNG form.
    if not source.is_image:
        return {"serving_default": serve}
    return {"serving_default": serve, "generate": generate, "generate_png": generate_png}


def _write_saved_model(source, max_samples, export_dir):
    """Writes the SavedModel with Keras' `ExportArchive`, which saves the variables the
    endpoints use and makes each endpoint a signature under its name.

    Kept outside the archive: the metadata. `ExportArchive` has no way to add a file to
    `assets/`, and the metadata holds the verification result, known only once the written
    SavedModel was reloaded, so `to_saved_model` writes `assets/kgan.json` afterwards.
    """
    archive = keras.export.ExportArchive()
    # No `archive.track(source.generator)`: the endpoints already track every variable they
    # use, and tracking the model as well saved each weight twice (Keras 3.15).
    for name, function in _endpoints(source, max_samples).items():
        archive.add_endpoint(name, function)
    archive.write_out(export_dir, verbose=False)


def to_saved_model(
    model,
    base_dir,
    *,
    version=None,
    overwrite=False,
    max_samples=DEFAULT_MAX_SAMPLES,
    num_classes=None,
    class_names=None,
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

    `base_dir` may be a URL that `tf.io.gfile` supports (`gs://bucket/models/NAME`; `s3://`
    with `tensorflow-io`). The steps are the same, but on an object store the rename into
    place copies object by object, so TF Serving can list a half-copied version (its load
    fails and is retried); `kgan.complete` is written into the version last. See
    `kgan.storage` for what each file system guarantees.

    Signatures (method `tensorflow/serving/predict`, inference mode):

    - `serving_default`: `z` float32 `[None, latent_dim]` (and `labels` int32 `[None]` for a
      class-conditional model) -> `images` float32 `[None, *sample_shape]` in [-1, 1].
    - `generate` (image generators): `num_samples` int32 scalar, `seed` int64 scalar (and
      `labels` int32 `[num_samples]`) -> `images` uint8 `[num_samples, H, W, C]`. The latent
      vectors are `kgan.models.sample_latent(num_samples, latent_dim, seed=seed)`, as in
      `GAN.generate(num_samples, seed=seed)`, so both give the same images (for a generator
      trained in mixed precision, the images of its float32 copy `float32_copy`: the export
      computes in float32). Requests for more
      than `max_samples` fail with an error message instead of exhausting the server's memory.
    - `generate_png` (image generators): the inputs of `generate` -> `png_bytes` string
      `[num_samples]`, each `generate` image encoded as a PNG (`tf.io.encode_png`), for
      clients that show images without decoding arrays. TF Serving's REST API sends each as
      `{"b64": "<base64 of the PNG>"}` (binary outputs are base64 in JSON when their name ends
      in `_bytes`); `kgan.serving.PredictClient` returns the PNG bytes, and
      `kgan.serving.decode_pngs` turns them into uint8 arrays. A `curl` request:

          curl -d '{"signature_name": "generate_png", "inputs": {"num_samples": 2, "seed": 0}}' \
              localhost:8501/v1/models/NAME:predict
          {"outputs": [{"b64": "iVBORw0KGgo..."}, {"b64": "iVBORw0KGgo..."}]}

    The metadata (`read_metadata`) is written to `assets/kgan.json`.

    Args:
        model: a trained `kgan.GAN`/`WGAN`/`WGANGP` or a generator `keras.Model`.
        base_dir: the model's folder in TF Serving's layout (`--model_base_path`): a local
            path or a URL (`gs://...`).
        version: the integer version to write; by default one more than the largest present
            (or, when a concurrent export takes that number first, the next free one).
        overwrite: replace `base_dir/<version>` if it exists (the old folder is renamed away,
            the new one renamed in, then the old one deleted; if the export is killed in
            between, the next export or `list_versions` puts the old one back). Without it, an
            existing version is an error.
        max_samples: the largest `num_samples` the `generate` signature accepts.
        num_classes: number of classes of a bare class-conditional generator.
        class_names: a name for each class of a class-conditional generator, in label order,
            for the metadata (`class_names`); by default those `run_config` gives (the names
            a `kgan train` run recorded, or those of a data set kgan reads itself).
        latent_distribution: prior of `z` for a bare generator (`"normal"` by default).
        history: training history for the metadata (`History.history`, a `History`, or a
            run's parsed `history.json`).
        run_config: the training run's settings for the metadata (a run's `config.json`).
        verify: reload the SavedModel before it is renamed into place and check that both
            signatures reproduce Keras (`serving_default` within 1e-5 at batch sizes 1 and 5,
            `generate` within one grey level, `generate_png` decoding to `generate`'s images).

    Returns:
        The path of the version folder, `base_dir/<version>`.

    Raises:
        FileExistsError: if `version` was given, exists, and `overwrite` is false.
        NotADirectoryError: if `base_dir`, or a folder above it, is a file.
        ExportVerificationError: if the reloaded SavedModel does not match Keras.

    Example:
    >>> path = kgan.export.to_saved_model(gan, "savedmodels/mnist")
    >>> path
    'savedmodels/mnist/1'
    """
    base_dir = check_base_dir(base_dir)
    source = resolve_generator(
        model, num_classes=num_classes, latent_distribution=latent_distribution
    )
    check_class_names(class_names, source.num_classes)
    check_positive_int("max_samples", max_samples)
    # Only a version chosen here may change if a concurrent export takes its number first.
    renumber = version is None
    version, final_dir = version_folder(base_dir, version, overwrite=overwrite)
    with staging_folder(base_dir, version) as temp_dir:
        metadata = build_metadata(
            source,
            model=model,
            history=history,
            run_config=run_config,
            class_names=class_names,
            max_samples=max_samples,
            fmt="saved_model",
        )
        metadata["version"] = version
        metadata["signatures"] = list(_endpoints(source, max_samples))
        _write_saved_model(source, max_samples, temp_dir)
        if verify:
            metadata["verification"] = verify_saved_model(source, temp_dir, max_samples=max_samples)
        write_metadata_file(temp_dir, metadata)

        def renumbered(new_version):
            metadata["version"] = new_version
            write_metadata_file(temp_dir, metadata)

        version, final_dir = publish(
            temp_dir,
            base_dir,
            version,
            overwrite=overwrite,
            renumber=renumber,
            on_renumber=renumbered,
        )
    return final_dir

"""Tests of kgan.export.onnx: the ONNX file's graph, metadata, and onnxruntime's outputs."""

import json

import keras
import numpy as np
import onnx
import onnxruntime
import pytest

import kgan
from kgan import export

BATCH_SIZES = (1, 7)


@pytest.fixture
def build_generator(latent_dim, randomize_batch_norm):
    def build(kind, num_classes):
        if kind == "dcgan":
            generator = kgan.models.dcgan_generator(
                (16, 16, 3), latent_dim=latent_dim, num_classes=num_classes, base_filters=8
            )
        else:
            generator = kgan.models.mlp_generator(
                (8, 8, 1),
                latent_dim=latent_dim,
                hidden_units=(32,),
                num_classes=num_classes,
                batch_norm=True,
            )
        randomize_batch_norm(generator)
        return generator

    return build


@pytest.mark.parametrize("kind", ["dcgan", "mlp"])
@pytest.mark.parametrize("num_classes", [None, 3], ids=["unconditional", "conditional"])
def test_onnx_matches_keras(
    kind, num_classes, tmp_path, build_generator, latent_dim, latent_inputs, keras_images
):
    generator = build_generator(kind, num_classes)
    path = export.to_onnx(generator, tmp_path / "g.onnx", num_classes=num_classes)
    proto = onnx.load(path)
    expected_inputs = ["z"] if num_classes is None else ["z", "labels"]
    assert [value.name for value in proto.graph.input] == expected_inputs
    assert [value.name for value in proto.graph.output] == ["images"]
    for value in list(proto.graph.input) + list(proto.graph.output):
        assert value.type.tensor_type.shape.dim[0].dim_param == "batch"
    metadata = json.loads({p.key: p.value for p in proto.metadata_props}["kgan"])
    assert metadata == export.read_metadata(path)
    assert metadata["latent_dim"] == latent_dim and metadata["num_classes"] == num_classes
    assert metadata["verification"]["max_abs_difference"] <= 1e-4

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    input_types = {value.name: value.type for value in session.get_inputs()}
    assert input_types["z"] == "tensor(float)"
    if num_classes is not None:
        assert input_types["labels"] == "tensor(int32)"
    for batch_size in BATCH_SIZES:
        z, labels = latent_inputs(batch_size, num_classes)
        feeds = {"z": z} if labels is None else {"z": z, "labels": labels}
        (images,) = session.run(["images"], feeds)
        np.testing.assert_allclose(images, keras_images(generator, z, labels), atol=1e-4, rtol=0)
    if num_classes is not None:
        # A label outside the classes draws no other class's images: NaN images instead.
        z, _ = latent_inputs(3, num_classes)
        labels = np.array([-1, 1, num_classes], np.int32)
        (images,) = session.run(["images"], {"z": z, "labels": labels})
        assert np.isnan(images[[0, 2]]).all() and not np.isnan(images[1]).any()
        np.testing.assert_allclose(
            images[1:2], keras_images(generator, z[1:2], labels[1:2]), atol=1e-4, rtol=0
        )


def test_an_existing_onnx_file_is_replaced_only_with_overwrite(unconditional, tmp_path):
    path = tmp_path / "g.onnx"
    export.to_onnx(unconditional, path, verify=False, run_config={"export": 1})
    with pytest.raises(FileExistsError, match=r"overwrite=True.*--overwrite"):
        export.to_onnx(unconditional, path, verify=False, run_config={"export": 2})
    assert export.read_metadata(path)["training"]["run_config"] == {"export": 1}
    export.to_onnx(unconditional, path, verify=False, overwrite=True, run_config={"export": 3})
    assert export.read_metadata(path)["training"]["run_config"] == {"export": 3}
    with pytest.raises(IsADirectoryError, match="is a folder"):
        export.to_onnx(unconditional, tmp_path, verify=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.onnx"]  # No temporary file left.


def test_a_bad_opset_or_path_is_refused_before_the_conversion(unconditional, tmp_path, monkeypatch):
    from kgan.export import onnx as export_onnx

    def never(*args, **kwargs):
        raise AssertionError("The export started before its arguments were checked.")

    monkeypatch.setattr(export_onnx, "resolve_generator", never)
    low, high = export_onnx.supported_opsets()
    assert low == 10 and high >= 15
    for opset in (3, 9, high + 1, 12.0, True):
        with pytest.raises(
            ValueError,
            match=rf"in \[10, {high}\]: kgan's generators need opset 10.*Received: opset={opset}",
        ):
            export.to_onnx(unconditional, tmp_path / "g.onnx", opset=opset)
    with pytest.raises(TypeError, match="must be a path.*Received: path=None"):
        export.to_onnx(unconditional, None)
    file = tmp_path / "file"
    file.write_text("a file")
    with pytest.raises(NotADirectoryError, match=r"file' above it is a file.*g\.onnx'$"):
        export.to_onnx(unconditional, file / "g.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_the_supported_opsets_convert_and_verify(tmp_path, make_dcgan):
    """The lowest opset holds the strided slice of a generator of latent vectors alone."""
    from kgan.export import onnx as export_onnx
    from kgan.networks import latent_class_generator

    generator = latent_class_generator(make_dcgan(num_classes=3).generator, [0.2, 0.3, 0.5])
    for opset in export_onnx.supported_opsets():
        path = export.to_onnx(generator, tmp_path / f"{opset}.onnx", opset=opset)
        assert export.read_metadata(path)["opset"] == opset


def test_a_failed_onnx_write_keeps_the_previous_file(unconditional, tmp_path, monkeypatch):
    from kgan import atomic

    path = tmp_path / "g.onnx"
    export.to_onnx(unconditional, path, verify=False, run_config={"export": 1})

    def disk_full(temp, final, *, overwrite=True):
        raise OSError(28, "No space left on device", temp)

    monkeypatch.setattr(atomic, "publish", disk_full)
    with pytest.raises(OSError, match="No space left"):
        export.to_onnx(unconditional, path, verify=False, overwrite=True)
    assert export.read_metadata(path)["training"]["run_config"] == {"export": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.onnx"]


def test_a_class_conditional_batch_norm_generator_trained_in_bfloat16_exports_to_both_formats(
    tmp_path, latent_dim, latent_inputs, randomize_batch_norm
):
    """ONNX and the SavedModel compute the float32 copy of its weights, class rows included."""
    import tensorflow as tf

    from kgan import precision

    with precision.policy_scope("mixed_bfloat16"):
        generator = kgan.models.dcgan_generator(
            (16, 16, 3), latent_dim, 3, base_filters=8, conditioning="batch_norm"
        )
    randomize_batch_norm(generator)
    rng = np.random.default_rng(0)
    for variable in generator.weights:
        if variable.path.endswith(("/gamma", "/beta")):
            variable.assign(rng.normal(1.0, 0.5, variable.shape).astype("float32"))
    copy = export.float32_copy(generator)
    assert all(
        layer.dtype_policy.compute_dtype == "float32"
        for layer in copy._flatten_layers(include_self=False)
    )
    onnx_path = export.to_onnx(generator, tmp_path / "g.onnx", num_classes=3)
    saved = export.to_saved_model(generator, tmp_path / "served", num_classes=3)
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    serve = tf.saved_model.load(saved).signatures["serving_default"]
    z, labels = latent_inputs(6, 3)
    expected = keras.ops.convert_to_numpy(copy([z, labels], training=False))
    (onnx_images,) = session.run(["images"], {"z": z, "labels": labels})
    served = serve(z=tf.constant(z), labels=tf.constant(labels))["images"].numpy()
    np.testing.assert_allclose(onnx_images, expected, atol=1e-4, rtol=0)
    np.testing.assert_allclose(served, expected, atol=1e-5, rtol=0)
    # The class rows matter: the same z under other classes gives other images.
    (relabelled,) = session.run(["images"], {"z": z, "labels": (labels + 1) % 3})
    assert np.max(np.abs(relabelled - onnx_images)) > 1e-2

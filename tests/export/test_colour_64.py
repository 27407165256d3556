"""64x64 colour images end to end: a centre-cropped folder, the cifar10 recipe's networks at
64x64x3, a few training steps, and exports that match Keras."""

import numpy as np
import onnxruntime as ort
import tensorflow as tf

import kgan
from kgan import export, recipes


def _write_faces(folder, count=24):
    """Portrait images of 80x100 (width x height), as CelebA's are taller than wide."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for index in range(count):
        (folder / f"{index:03d}.png").parent.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (100, 80, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{index:03d}.png")


def test_64x64_colour_trains_and_exports_as_keras(tmp_path):
    _write_faces(tmp_path / "faces")
    dataset = kgan.data.load(
        tmp_path / "faces", image_size=64, crop="center", batch_size=8, seed=0, verbose=0
    )
    assert dataset.element_spec.shape.as_list() == [None, 64, 64, 3]
    gan = recipes.build(
        "cifar10",
        data_shape=(64, 64, 3),
        latent_dim=16,
        generator={"base_filters": 8},
        discriminator={"base_filters": 8},
        seed=0,
    )
    history = gan.fit(dataset, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][-1])
    assert gan.generator.output_shape == (None, 64, 64, 3)

    # Both exports are verified against Keras as they are written; compare once more here.
    version_dir = export.to_saved_model(gan, tmp_path / "saved")
    onnx_path = export.to_onnx(gan, tmp_path / "g.onnx")
    z = np.random.default_rng(1).normal(size=(3, 16)).astype("float32")
    expected = gan.inference_generator(z, training=False).numpy()  # The averaged weights.
    served = tf.saved_model.load(version_dir).signatures["serving_default"](z=tf.constant(z))
    np.testing.assert_allclose(served["images"].numpy(), expected, atol=1e-5)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (onnx_images,) = session.run(None, {session.get_inputs()[0].name: z})
    np.testing.assert_allclose(onnx_images, expected, atol=1e-4)
    pngs = tf.saved_model.load(version_dir).signatures["generate_png"](
        num_samples=tf.constant(2), seed=tf.constant(0, tf.int64)
    )["png_bytes"]
    assert tf.io.decode_png(pngs[0]).shape == (64, 64, 3)

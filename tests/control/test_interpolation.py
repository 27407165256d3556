"""Latent interpolation (slerp and linear) and interpolation between classes."""

import keras
import numpy as np
import pytest

import kgan
from kgan import control


def test_slerp_keeps_norms_and_hits_both_end_points():
    rng = np.random.default_rng(0)
    start, end = rng.normal(size=(2, 64)).astype("float32")
    end *= np.linalg.norm(start) / np.linalg.norm(end)  # Two latents of the same norm.
    path = control.interpolate(start, end, 9)
    assert path.shape == (9, 64)
    np.testing.assert_array_equal(path[0], start)
    np.testing.assert_array_equal(path[-1], end)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(start), rtol=1e-5)
    # The linear path cuts inside the sphere; slerp's midpoint stays on it.
    linear = control.interpolate(start, end, 9, method="linear")
    assert np.linalg.norm(linear[4]) < 0.8 * np.linalg.norm(start)
    np.testing.assert_allclose(linear[4], (start + end) / 2, rtol=1e-5, atol=1e-6)


def test_slerp_follows_the_great_circle_and_moves_norms_linearly():
    start = np.array([2.0, 0.0], "float32")
    end = np.array([0.0, 4.0], "float32")
    path = control.interpolate(start, end, 3)
    # Halfway: the 45-degree direction, at the mean norm 3.
    np.testing.assert_allclose(path[1], 3.0 * np.array([1.0, 1.0]) / np.sqrt(2.0), rtol=1e-6)
    batched = control.interpolate(np.stack([start, -start]), np.stack([end, start]), 5)
    assert batched.shape == (2, 5, 2)
    np.testing.assert_allclose(batched[0], control.interpolate(start, end, 5))
    assert np.all(np.isfinite(batched[1]))  # Opposite directions: no NaN.


@pytest.mark.parametrize("steps", [1, 0, 2.5, True])
def test_interpolation_needs_two_steps(steps):
    with pytest.raises(ValueError, match=f"at least 2.*Received: steps={steps!r}"):
        control.interpolate(np.zeros(4), np.ones(4), steps)


def test_interpolation_arguments_are_checked():
    with pytest.raises(ValueError, match="Received: method='cubic'"):
        control.interpolate(np.zeros(4), np.ones(4), 3, method="cubic")
    with pytest.raises(ValueError, match=r"Received: z_start of shape \(4,\) and z_end"):
        control.interpolate(np.zeros(4), np.ones(5), 3)


def test_interpolation_grid_walks_between_seeded_latents(image_gan):
    generator = control.as_generator(image_gan)
    images = control.interpolation_grid(generator, 2, 4, seed=3, labels=[1, 2])
    assert images.shape == (8, 8, 8, 1)
    ends = generator.sample_z(4, seed=3)
    np.testing.assert_allclose(
        images[[0, 3, 4, 7]],
        image_gan.generate(z=ends, labels=[1, 1, 2, 2]),
        atol=1e-5,
    )
    with pytest.raises(ValueError, match=r"in \[0, 3\).*Received: labels=7"):
        control.interpolation_grid(generator, 2, 4, labels=7)


def test_class_interpolation_goes_from_one_class_point_to_the_other(toy_gan, centers):
    generator = control.as_generator(toy_gan)
    # One-hot rows give exactly the integer labels' samples.
    z = generator.sample_z(6, seed=0)
    rows = np.eye(3, dtype="float32")[[0, 1, 2, 0, 1, 2]]
    np.testing.assert_allclose(generator.generate_soft(z, rows), toy_gan.generate(z=z), atol=1e-6)
    points = control.class_interpolation_grid(toy_gan, 0, 1, 7, num_rows=20, seed=1)
    points = points.reshape(20, 7, 2)
    assert np.linalg.norm(points[:, 0].mean(axis=0) - centers[0]) < 0.2
    assert np.linalg.norm(points[:, -1].mean(axis=0) - centers[1]) < 0.2
    # In between, the blend moves from class 0's point (x = -2) to class 1's (x = 2).
    assert np.all(np.diff(points[..., 0].mean(axis=0)) > 0)


def test_blend_labels():
    rows = control.blend_labels(2, 0, 5, 3)
    np.testing.assert_allclose(rows[0], [0, 0, 1])
    np.testing.assert_allclose(rows[2], [0.5, 0, 0.5])
    np.testing.assert_allclose(rows[-1], [1, 0, 0])
    with pytest.raises(ValueError, match=r"Received: end=3"):
        control.blend_labels(0, 3, 5, 3)


def test_class_interpolation_needs_a_conditional_keras_model(image_exports, image_gan):
    with pytest.raises(ValueError, match="only a Keras model.*Received: model=SavedModel"):
        control.class_interpolation_grid(image_exports["saved_model"], 0, 1, 3)
    with pytest.raises(ValueError, match="only a Keras model.*Received: model=ONNX"):
        control.class_interpolation_grid(image_exports["onnx"], 0, 1, 3)
    from_run = control.class_interpolation_grid(image_exports["run"], 0, 2, 3, seed=4)
    assert from_run.shape == (3, 8, 8, 1)
    z = control.as_generator(image_gan).sample_z(1, seed=4)
    np.testing.assert_allclose(from_run[-1:], image_gan.generate(z=z, labels=2), atol=1e-5)


def test_class_interpolation_of_an_unconditional_model_is_an_error():
    z = keras.Input(shape=(2,))
    plane = keras.Model(z, keras.layers.Dense(2)(z))
    with pytest.raises(ValueError, match="class-conditional.*Received: model=Keras model with"):
        control.class_interpolation_grid(plane, 0, 1, 3)


def test_the_soft_label_view_shares_weights_and_leaves_the_model_savable(tmp_path):
    generator = kgan.models.mlp_generator((2,), 4, (8,), num_classes=3, output_activation=None)
    discriminator = kgan.models.mlp_discriminator((2,), (8,), num_classes=3)
    gan = kgan.GAN(generator, discriminator, num_classes=3)
    view = control.as_generator(gan)
    z = view.sample_z(3, seed=0)
    control.class_interpolation_grid(view, 0, 1, 3)
    kernel = generator.get_layer("output").kernel
    kernel.assign(kernel + 1.0)  # The view follows the network's weights.
    np.testing.assert_allclose(
        view.generate_soft(z, np.eye(3, dtype="float32")), gan.generate(z=z), atol=1e-6
    )
    gan.save(tmp_path / "after_blend.keras")
    reloaded = keras.saving.load_model(tmp_path / "after_blend.keras")
    np.testing.assert_allclose(reloaded.generate(z=z), gan.generate(z=z), atol=1e-6)

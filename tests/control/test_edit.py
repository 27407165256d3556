"""Edits in z-space along a classifier's gradients, on a linear toy with known weights."""

import keras
import numpy as np
import pytest

from kgan import control

# The toy generator maps z (3) to a 4-vector by x = z A; the classifier's logits are x W.
A = np.array([[1.0, 0.0, 0.5, 0.0], [0.0, 1.0, 0.0, -0.5], [0.5, 0.5, 1.0, 1.0]], "float32")
W = np.array([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0], [-1.0, 0.0, 1.0], [0.5, 0.5, -0.5]], "float32")


def _linear(input_size, kernel, name):
    inputs = keras.Input(shape=(input_size,))
    dense = keras.layers.Dense(kernel.shape[1], use_bias=False)
    model = keras.Model(inputs, dense(inputs), name=name)
    dense.set_weights([kernel])
    return model


@pytest.fixture
def generator():
    return _linear(3, A, "linear_generator")


@pytest.fixture
def classifier():
    return _linear(4, W, "linear_classifier")


@pytest.fixture
def z():
    return np.random.default_rng(0).normal(size=(6, 3)).astype("float32")


def _logits(z):
    return z @ A @ W


def test_edit_raises_the_target_score_monotonically_within_its_step_bound(generator, classifier, z):
    edited, scores = control.edit(generator, z, classifier, 2, steps=15, step_size=0.1)
    assert scores.shape == (16, 6)
    assert np.all(np.diff(scores, axis=0) > 0)
    expected = _logits(z)[:, 2] - np.log(np.exp(_logits(z)).sum(axis=1))
    np.testing.assert_allclose(scores[0], expected, rtol=1e-5)
    assert np.all(np.linalg.norm(edited - z, axis=1) <= 15 * 0.1 + 1e-5)
    one_step, _ = control.edit(generator, z, classifier, 2, steps=1, step_size=0.1)
    np.testing.assert_allclose(np.linalg.norm(one_step - z, axis=1), 0.1, rtol=1e-5)


def test_edit_of_a_linear_score_moves_straight_along_its_gradient(generator, classifier, z):
    gradient = A @ W[:, 0]  # d(logit 0)/dz, the same everywhere.
    edited, scores = control.edit(
        generator, z, classifier, lambda logits: logits[:, 0], steps=4, step_size=0.25
    )
    np.testing.assert_allclose(edited, z + gradient / np.linalg.norm(gradient), rtol=1e-5)
    np.testing.assert_allclose(np.diff(scores, axis=0), 0.25 * np.linalg.norm(gradient), rtol=1e-5)


def test_keep_holds_other_outputs(generator, classifier, z):
    free, _ = control.edit(generator, z, classifier, 0, steps=10, step_size=0.1)
    kept, _ = control.edit(
        generator, z, classifier, 0, steps=10, step_size=0.1, keep=[1], keep_weight=10.0
    )
    moved_free = np.abs(_logits(free)[:, 1] - _logits(z)[:, 1]).mean()
    moved_kept = np.abs(_logits(kept)[:, 1] - _logits(z)[:, 1]).mean()
    assert moved_kept < 0.5 * moved_free


def test_stop_at_target_leaves_reached_samples(generator, classifier, z):
    edited, scores = control.edit(
        generator, z, classifier, 1, steps=40, step_size=0.1, stop_at_target=True
    )
    started_there = _logits(z).argmax(axis=1) == 1
    assert started_there.any() and not started_there.all()
    np.testing.assert_array_equal(edited[started_there], z[started_there])
    assert np.all(_logits(edited).argmax(axis=1) == 1)
    assert np.all(np.diff(scores, axis=0) >= 0)


def test_attribute_direction_and_apply_direction(generator, classifier):
    direction = control.attribute_direction(
        generator, classifier, lambda logits: logits[:, 0], num_samples=10
    )
    gradient = A @ W[:, 0]
    np.testing.assert_allclose(direction, gradient / np.linalg.norm(gradient), rtol=1e-5)
    towards_2 = control.attribute_direction(generator, classifier, 2, num_samples=50)
    np.testing.assert_allclose(np.linalg.norm(towards_2), 1.0, rtol=1e-5)
    z = np.random.default_rng(1).normal(size=(50, 3)).astype("float32")
    moved = control.apply_direction(z, towards_2, 3.0)
    np.testing.assert_allclose(moved - z, np.tile(3.0 * towards_2, (50, 1)), rtol=1e-5)
    share_before = np.mean(_logits(z).argmax(axis=1) == 2)
    assert np.mean(_logits(moved).argmax(axis=1) == 2) > max(share_before, 0.8)


def test_edit_through_a_saved_model_matches_keras(image_gan, image_exports, image_classifier):
    classifier, _ = image_classifier
    z = control.as_generator(image_gan).sample_z(4, seed=2)
    from_keras, keras_scores = control.edit(image_gan, z, classifier, 1, steps=3)
    from_saved, saved_scores = control.edit(image_exports["version"], z, classifier, 1, steps=3)
    np.testing.assert_allclose(from_saved, from_keras, atol=1e-4)
    np.testing.assert_allclose(saved_scores, keras_scores, atol=1e-4)


def test_side_by_side_pairs():
    before = np.zeros((5, 2, 2, 1), "float32")
    after = np.full((5, 2, 2, 1), 0.5, "float32")
    images, num_rows = control.side_by_side(before, after, pairs_per_row=2)
    assert num_rows == 3 and images.shape == (12, 2, 2, 1)
    np.testing.assert_array_equal(images[:10:2], before)
    np.testing.assert_array_equal(images[1:10:2], after)
    np.testing.assert_array_equal(images[10:], 1.0)  # Blank tiles fill the last row.


def test_side_by_side_refuses_images_that_do_not_pair():
    before = np.zeros((2, 2, 2, 1), "float32")
    with pytest.raises(ValueError, match=r"before of shape \(2, 2, 2, 1\) and after of shape \(3,"):
        control.side_by_side(before, np.zeros((3, 2, 2, 1), "float32"))
    with pytest.raises(ValueError, match=r"and after of shape \(2, 2, 2, 3\)"):
        control.side_by_side(before, np.zeros((2, 2, 2, 3), "float32"))


def test_target_score_refuses_a_class_the_outputs_do_not_have():
    outputs = np.zeros((4, 3), "float32")
    np.testing.assert_allclose(control.target_score(outputs, 2), np.full(4, -np.log(3.0)))
    with pytest.raises(ValueError, match=r"in \[0, 3\)\. Received: target=5"):
        control.target_score(outputs, 5)
    with pytest.raises(ValueError, match=r"in \[0, 3\)\. Received: target=-1"):
        control.target_score(outputs, -1)
    with pytest.raises(ValueError, match=r"Received: outputs of shape \(4,\)"):
        control.target_score(outputs[:, 0], 0)


def test_bad_edits_name_the_argument_and_value(generator, classifier, z, image_exports):
    wrong_size = _linear(5, np.ones((5, 3), "float32"), "five_inputs")
    with pytest.raises(ValueError, match=r"\(None, 5\) does not fit.*\(None, 4\)"):
        control.edit(generator, z, wrong_size, 0)
    with pytest.raises(ValueError, match="Received: classifier='five_inputs'"):
        control.attribute_direction(generator, wrong_size, 0)
    with pytest.raises(ValueError, match=r"in \[0, 3\)\. Received: target=3"):
        control.edit(generator, z, classifier, 3)
    with pytest.raises(ValueError, match="Received: target='cat'"):
        control.edit(generator, z, classifier, "cat")
    with pytest.raises(ValueError, match="Received: step_size=-0.1"):
        control.edit(generator, z, classifier, 0, step_size=-0.1)
    with pytest.raises(ValueError, match="Received: steps=0"):
        control.edit(generator, z, classifier, 0, steps=0)
    with pytest.raises(ValueError, match=r"Received: keep=\[0\] with target=0"):
        control.edit(generator, z, classifier, 0, keep=[0])
    with pytest.raises(ValueError, match="Received: labels=1 with num_classes=None"):
        control.edit(generator, z, classifier, 0, labels=1)
    with pytest.raises(ValueError, match=r"Received: z of shape \(6, 2\)"):
        control.edit(generator, z[:, :2], classifier, 0)
    with pytest.raises(ValueError, match="Received: strength=nan"):
        control.apply_direction(z, np.ones(3), float("nan"))
    with pytest.raises(ValueError, match=r"Received: direction of shape \(4,\)"):
        control.apply_direction(z, np.ones(4), 1.0)
    with pytest.raises(ValueError, match="ONNX model.*Received: model=ONNX"):
        control.attribute_direction(image_exports["onnx"], classifier, 0)

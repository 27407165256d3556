"""The checks of `kgan.models.checks`, on plain values: no model is built."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgan._validation import check_num_classes
from kgan.models import checks, mlp_discriminator, mlp_generator

# ---------------------------------------------------------------- model arguments


def test_format_shape_prints_like_keras():
    assert checks.format_shape((None, 28, 28, 1)) == "(None, 28, 28, 1)"
    assert checks.format_shape(np.zeros((64,)).shape) == "(64,)"
    assert checks.format_shape(()) == "()"


def test_check_network_wants_a_keras_layer():
    checks.check_network("generator", keras.layers.Dense(1))
    with pytest.raises(TypeError, match="Received: discriminator='d' of type str"):
        checks.check_network("discriminator", "d")


@pytest.mark.parametrize("num_classes", [None, 2, 10])
def test_check_num_classes_accepts_none_and_two_or_more(num_classes):
    check_num_classes(num_classes)


@pytest.mark.parametrize("num_classes", [1, 0, 2.5, True])
def test_check_num_classes_rejects_fewer_than_two_classes(num_classes):
    with pytest.raises(ValueError, match=f"Received: num_classes={num_classes}"):
        check_num_classes(num_classes)


def test_check_compile_arguments_points_to_the_two_optimizers():
    checks.check_compile_arguments("GAN", {})
    with pytest.raises(ValueError, match="d_optimizer=.*Received: metrics=\\['acc'\\]"):
        checks.check_compile_arguments("GAN", {"metrics": ["acc"]})
    with pytest.raises(TypeError, match=r"\['foo'\]"):
        checks.check_compile_arguments("GAN", {"foo": 1})


# ---------------------------------------------------------------- networks


def test_resolve_latent_dim_reads_or_checks_the_generators_input():
    assert checks.resolve_latent_dim(None, [(None, 16)], None) == 16
    assert checks.resolve_latent_dim(16, [(None, 16)], None) == 16
    assert checks.resolve_latent_dim(None, [(None, 16), (None,)], 3) == 16
    assert checks.resolve_latent_dim(7, [], None) == 7  # A subclassed generator.
    with pytest.raises(ValueError, match="Received: latent_dim=8"):
        checks.resolve_latent_dim(8, [(None, 16)], None)
    with pytest.raises(ValueError, match="Received: latent_dim=None"):
        checks.resolve_latent_dim(None, [], None)
    with pytest.raises(ValueError, match="two inputs.*num_classes=3"):
        checks.resolve_latent_dim(None, [(None, 16)], 3)
    with pytest.raises(ValueError, match="Pass `num_classes`.*num_classes=None"):
        checks.resolve_latent_dim(None, [(None, 16), (None,)], None)


def test_check_sample_shape_matches_none_dimensions():
    checks.check_sample_shape((8, 8, 1), (8, 8, 1))
    checks.check_sample_shape((8, 8, 1), (None, None, 1))
    checks.check_sample_shape((8, 8, 1), None)  # A discriminator without static inputs.
    with pytest.raises(ValueError, match=r"\(16, 16, 1\). Received: generator output shape"):
        checks.check_sample_shape((8, 8, 1), (16, 16, 1))
    with pytest.raises(ValueError, match=r"Received: generator output shape \(64,\)"):
        checks.check_sample_shape((64,), (8, 8, 1))


def test_check_scores_shape_wants_one_score_per_example():
    checks.check_scores_shape((2, 1), 2)
    for shape in [(2,), (2, 3), (1, 1), (2, 1, 1)]:
        with pytest.raises(ValueError, match=r"shape \(batch, 1\)"):
            checks.check_scores_shape(shape, 2)


def test_probe_networks_returns_the_sample_shape_and_names_the_failing_network():
    generator = mlp_generator((3,), latent_dim=2, hidden_units=(4,))
    assert checks.probe_networks(generator, mlp_discriminator((3,), (4,)), 2, None) == (3,)
    conditional = mlp_generator((3,), latent_dim=2, hidden_units=(4,), num_classes=2)
    critic = mlp_discriminator((3,), (4,), num_classes=2)
    assert checks.probe_networks(conditional, critic, 2, 2) == (3,)
    with pytest.raises(ValueError, match="The generator could not be called.*latent_dim=5"):
        checks.probe_networks(generator, mlp_discriminator((3,), (4,)), 5, None)
    with pytest.raises(ValueError, match="The discriminator could not be called"):
        checks.probe_networks(generator, mlp_discriminator((3,), (4,), num_classes=2), 2, None)


# ---------------------------------------------------------------- training data


def test_first_batch_reads_arrays_and_one_dataset_element():
    x = np.zeros((10, 3), "float32")
    y = np.arange(10)
    samples, labels, batched = checks.first_batch(x, y)
    assert samples.shape == (10, 3) and labels.shape == (10,) and not batched
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    samples, labels, batched = checks.first_batch(dataset, None)
    assert samples.shape == (4, 3) and labels.shape == (4,) and batched
    samples, labels, _ = checks.first_batch(tf.data.Dataset.from_tensor_slices(x).batch(4), None)
    assert samples.shape == (4, 3) and labels is None
    assert checks.first_batch(iter([x]), None) == (None, None, True)  # Nothing cheap to read.
    dicts = tf.data.Dataset.from_tensor_slices({"x": x}).batch(4)
    assert checks.first_batch(dicts, None) == (None, None, True)
    with pytest.raises(ValueError, match="The training dataset is empty"):
        checks.first_batch(tf.data.Dataset.from_tensor_slices(x).take(0), None)


def test_check_training_samples():
    images = np.zeros((4, 8, 8, 1), "float32")
    raw = np.linspace(0, 255, images.size).reshape(images.shape)
    checks.check_training_samples(images, (8, 8, 1), batched=True)
    checks.check_training_samples(np.full((4, 2), 50.0), (2,), batched=False)  # Not images.
    with pytest.raises(ValueError, match="dataset.batch"):
        checks.check_training_samples(images[0], (8, 8, 1), batched=True)
    with pytest.raises(ValueError, match=r"\(None, 8, 8, 1\). Received: samples of shape"):
        checks.check_training_samples(np.zeros((4, 8, 8, 3)), (8, 8, 1), batched=True)
    with pytest.raises(
        ValueError, match=r"raw 0\.\.255.*Received: images with values in \[0, 255\]"
    ):
        checks.check_training_samples(raw, (8, 8, 1), batched=False)
    checks.check_training_samples(images + 1.0005, (8, 8, 1), batched=False)  # Round-off slack.
    with pytest.raises(ValueError, match="NaN or infinite"):
        checks.check_training_samples(images * np.nan, (8, 8, 1), batched=False)


def test_non_finite_images_are_counted_and_the_first_one_named():
    images = np.zeros((6, 8, 8, 1), "float32")
    images[4, 0, 0, 0] = np.nan
    images[4, 1, 0, 0] = np.inf
    images[5, 2, 2, 0] = -np.inf
    with pytest.raises(ValueError, match=r"Received: 3 non-finite values, the first in image 4"):
        checks.check_training_samples(images, (8, 8, 1), batched=False)
    with pytest.raises(ValueError, match="3 non-finite values in the first batch, the first in"):
        checks.check_training_samples(images, (8, 8, 1), batched=True)


def test_check_training_labels():
    checks.check_training_labels(None, 4, None)
    checks.check_training_labels(np.array([0, 1, 2, 0]), 4, 3)
    checks.check_training_labels(np.eye(3)[[0, 1, 2, 0]], 4, 3)  # One-hot rows.
    with pytest.raises(ValueError, match="unconditional.*num_classes=None"):
        checks.check_training_labels(np.zeros(4), 4, None)
    with pytest.raises(ValueError, match="without labels"):
        checks.check_training_labels(None, 4, 3)
    with pytest.raises(ValueError, match="Received: 4 samples and 3 labels"):
        checks.check_training_labels(np.array([0, 1, 2]), 4, 3)
    with pytest.raises(ValueError, match="Received: label 3"):
        checks.check_training_labels(np.array([0, 1, 2, 3]), 4, 3)


# ---------------------------------------------------------------- labels


def test_labels_to_classes_accepts_integers_columns_and_one_hot_rows():
    expected = np.array([2, 0, 1])
    np.testing.assert_array_equal(checks.labels_to_classes(expected, 3), expected)
    np.testing.assert_array_equal(checks.labels_to_classes(expected[:, None], 3), expected)
    np.testing.assert_array_equal(checks.labels_to_classes(np.eye(3)[expected], 3), expected)
    with pytest.raises(ValueError, match=r"\(batch, 3\). Received: labels of shape \(3, 2\)"):
        checks.labels_to_classes(np.zeros((3, 2)), 3)


def test_check_label_values():
    checks.check_label_values(np.array([0, 2]), 3)
    checks.check_label_values(np.array([0.0, 2.0]), 3)  # Whole floats are classes.
    checks.check_label_values(np.array([], "int32"), 3)
    with pytest.raises(ValueError, match="Received: labels of dtype float64"):
        checks.check_label_values(np.array([0.5, 1.0]), 3)
    with pytest.raises(ValueError, match="num_classes=3. Received: label -1"):
        checks.check_label_values(np.array([0, -1, 3]), 3)


# ---------------------------------------------------------------- generation


def test_generation_labels():
    assert checks.generation_labels(None, 4, None) is None
    np.testing.assert_array_equal(checks.generation_labels(None, 5, 3), [0, 1, 2, 0, 1])
    np.testing.assert_array_equal(checks.generation_labels(2, 3, 3), [2, 2, 2])
    labels = checks.generation_labels([1.0, 0.0], 2, 3)
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(labels, [1, 0])
    with pytest.raises(ValueError, match=r"Received: labels=\[0, 1\] with num_classes=None"):
        checks.generation_labels([0, 1], 2, None)
    with pytest.raises(ValueError, match=r"one label per sample \(3\). Received: 2 labels"):
        checks.generation_labels([0, 1], 3, 3)
    with pytest.raises(ValueError, match="Received: label 5"):
        checks.generation_labels(5, 2, 3)


def test_latent_vectors():
    z = checks.latent_vectors([[0, 1], [2, 3]], 2)
    assert z.dtype == np.float32 and z.shape == (2, 2)
    assert checks.latent_vectors(z, 2, num_samples=2) is not None
    with pytest.raises(ValueError, match=r"\(num_samples, 3\). Received: z of shape \(2, 2\)"):
        checks.latent_vectors(z, 3)
    with pytest.raises(ValueError, match="Received: num_samples=5"):
        checks.latent_vectors(z, 2, num_samples=5)

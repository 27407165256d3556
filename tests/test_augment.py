"""DiffAugment and bCR's transformation (`kgan.augment`) against the reference code's
definitions, computed by hand."""

import numpy as np
import pytest
import tensorflow as tf

from kgan.augment import consistency_transform, diff_augment, num_random_values, parse_policy


def _images(count=4, size=8, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (count, size, size, channels)).astype("float32")


def test_color_follows_the_reference_formulas():
    x = _images(1)
    # brightness 0.9 - 0.5 = +0.4, saturation 2 * 0.25 = 0.5, contrast 0.75 + 0.5 = 1.25.
    out = diff_augment(x, "color", uniform=[[0.9, 0.25, 0.75]]).numpy()
    expected = x + 0.4
    expected = (expected - expected.mean(axis=3, keepdims=True)) * 0.5 + expected.mean(
        axis=3, keepdims=True
    )
    expected = (expected - expected.mean()) * 1.25 + expected.mean()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "uniform, shift_rows, shift_columns",
    [([0.0, 0.99], -1, 1), ([0.5, 0.5], 0, 0), ([0.99, 0.2], 1, -1)],
)
def test_translation_shifts_by_at_most_an_eighth_and_pads_with_zeros(
    uniform, shift_rows, shift_columns
):
    """On 8x8 images the shift is a whole number in [-1, 1]: 3 equally likely values."""
    x = _images(1)
    out = diff_augment(x, "translation", uniform=[uniform]).numpy()[0]
    padded = np.pad(x[0], [(1, 1), (1, 1), (0, 0)])
    rows = np.arange(8) + shift_rows + 1
    columns = np.arange(8) + shift_columns + 1
    np.testing.assert_array_equal(out, padded[rows][:, columns])


def test_translation_range_is_an_eighth_of_each_side():
    """A 16x32 image moves by up to 2 rows and 4 columns."""
    x = np.ones((64, 16, 32, 1), "float32")
    uniform = np.stack([np.linspace(0, 0.999, 64)] * 2, axis=1)
    out = diff_augment(x, "translation", uniform=uniform).numpy()
    empty_rows = (out[:, :, :, 0] == 0).all(axis=2).sum(axis=1)
    empty_columns = (out[:, :, :, 0] == 0).all(axis=1).sum(axis=1)
    assert sorted(set(empty_rows)) == [0, 1, 2]
    assert sorted(set(empty_columns)) == [0, 1, 2, 3, 4]


def test_cutout_zeroes_a_square_of_half_the_size():
    x = np.ones((3, 8, 8, 2), "float32")
    # Centres uniform in [0, 8 + 1 - 4 % 2) = [0, 9): 0.5 -> 4, 0.0 -> 0, 0.999 -> 8.
    uniform = [[0.5, 0.5], [0.0, 0.5], [0.999, 0.0]]
    out = diff_augment(x, "cutout", uniform=uniform).numpy()
    zeros = out[:, :, :, 0] == 0
    np.testing.assert_array_equal(out[:, :, :, 0] == 0, out[:, :, :, 1] == 0)
    # Centre (4, 4): rows and columns 2..5.
    expected = np.zeros((8, 8), bool)
    expected[2:6, 2:6] = True
    np.testing.assert_array_equal(zeros[0], expected)
    # Centre (0, 4): the square sticks out at the top; rows 0..1 remain.
    expected = np.zeros((8, 8), bool)
    expected[0:2, 2:6] = True
    np.testing.assert_array_equal(zeros[1], expected)
    # Centre (8, 0): rows 6..7, columns 0..1.
    expected = np.zeros((8, 8), bool)
    expected[6:8, 0:2] = True
    np.testing.assert_array_equal(zeros[2], expected)


def test_policies_keep_the_shape_and_a_bounded_range():
    x = _images(16, seed=1)
    for policy in ("translation", "cutout", "translation,cutout"):
        out = diff_augment(x, policy, seed=0).numpy()
        assert out.shape == x.shape
        # Pixels move or become zero; no new values.
        assert out.min() >= min(x.min(), 0.0) and out.max() <= max(x.max(), 0.0)
    out = diff_augment(x, "color,translation,cutout", seed=0).numpy()
    assert out.shape == x.shape
    # |x| <= 1: brightness to 1.5, saturation at most doubles deviations from the channel mean
    # (<= 2 * 3 + 1.5), contrast at most 1.5 times those from the image mean.
    assert np.abs(out).max() <= 1.5 * (2 * 7.5) + 7.5


def test_augmentation_is_differentiable():
    x = tf.Variable(_images(4))
    with tf.GradientTape() as tape:
        out = diff_augment(x, "color,translation,cutout", seed=3)
        value = tf.reduce_sum(out * tf.random.stateless_normal(out.shape, seed=[1, 2]))
    gradient = tape.gradient(value, x)
    assert gradient is not None
    assert np.abs(gradient.numpy()).sum() > 0
    # Without colour's image means, the pixels cutout drops get no gradient, the others do.
    with tf.GradientTape() as tape:
        out = diff_augment(x, "cutout", seed=3)
        value = tf.reduce_sum(out)
    gradient = tape.gradient(value, x).numpy()
    np.testing.assert_array_equal(gradient, (out.numpy() != 0).astype("float32"))


def test_same_seed_same_transformations():
    x = _images(8)
    policy = "color,translation,cutout"
    np.testing.assert_array_equal(diff_augment(x, policy, seed=5), diff_augment(x, policy, seed=5))
    assert not np.allclose(diff_augment(x, policy, seed=5), diff_augment(x, policy, seed=6))


def test_policy_parsing_and_errors():
    assert parse_policy("color, cutout") == ("color", "cutout")
    assert num_random_values("color,translation,cutout") == 7
    with pytest.raises(ValueError, match=r"unknown DiffAugment policy 'flip'.*policy='color,flip'"):
        diff_augment(_images(1), "color,flip")
    with pytest.raises(ValueError, match=r"Received: augment=''"):
        parse_policy("", name="augment")
    with pytest.raises(ValueError, match="batches of images"):
        diff_augment(np.zeros((4, 2), "float32"), "color")
    with pytest.raises(ValueError, match="Received: seed=1.5"):
        diff_augment(_images(1), "color", seed=1.5)


# ---------------------------------------------------------------------- bCR's transformation


@pytest.mark.parametrize(
    "uniform, flip, shift_rows, shift_columns",
    [
        ([0.2, 0.0, 0.99], True, -2, 2),
        ([0.5, 0.5, 0.5], False, 0, 0),
        ([0.9, 0.99, 0.3], False, 2, -1),
    ],
)
def test_consistency_transform_flips_then_shifts_with_a_reflected_border(
    uniform, flip, shift_rows, shift_columns
):
    """On 16x16 images the shift is a whole number in [-2, 2]; a draw below 1/2 flips."""
    x = _images(1, size=16)
    out = consistency_transform(x, uniform=[uniform]).numpy()[0]
    image = x[0][:, ::-1] if flip else x[0]
    padded = np.pad(image, [(2, 2), (2, 2), (0, 0)], mode="reflect")
    rows = np.arange(16) + shift_rows + 2
    columns = np.arange(16) + shift_columns + 2
    np.testing.assert_array_equal(out, padded[rows][:, columns])


def test_consistency_transform_reaches_every_flip_and_shift_and_keeps_the_values():
    """A 16x32 image moves by up to 2 rows and 4 columns, flipped or not, and (reflection
    filling the border) every output pixel is a pixel of the input."""
    x = _images(1, size=16)
    x = np.concatenate([x, x], axis=2)
    grid = np.linspace(0, 0.999, 10)
    uniform = np.array([[f, r, c] for f in (0.1, 0.9) for r in grid for c in grid], "float32")
    out = consistency_transform(np.repeat(x, len(uniform), axis=0), uniform=uniform).numpy()
    assert out.shape == (200, 16, 32, 3)
    assert set(np.unique(out)) <= set(np.unique(x))
    rows = np.floor(uniform[:, 1] * 5).astype(int) - 2
    columns = np.floor(uniform[:, 2] * 9).astype(int) - 4
    assert sorted(set(rows)) == [-2, -1, 0, 1, 2]
    assert sorted(set(columns)) == list(range(-4, 5))


def test_consistency_transform_is_differentiable_and_seeded():
    x = tf.constant(_images(2))
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(consistency_transform(x, seed=3) * tf.range(3, dtype=tf.float32))
    assert np.abs(tape.gradient(total, x).numpy()).sum() > 0
    np.testing.assert_array_equal(
        consistency_transform(x, seed=3), consistency_transform(x, seed=3)
    )
    with pytest.raises(ValueError, match=r"Received: images of shape \(8, 8, 3\)"):
        consistency_transform(_images(1)[0])

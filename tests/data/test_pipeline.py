"""Tests of the in-memory pipeline: seeded order, reshuffled epochs, `from_arrays`."""

import numpy as np
import pytest

import kgan

# ----------------------------------------------------------------------------- determinism


def test_same_seed_same_order_other_seed_other_order(no_env_data_dir):
    def first_two(seed):
        dataset = kgan.data.load(kgan.data.EMBEDDED_DATASET, batch_size=16, seed=seed)
        iterator = iter(dataset)
        return next(iterator).numpy(), next(iterator).numpy()

    a, b, c = first_two(3), first_two(3), first_two(4)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_epochs_are_reshuffled_and_cover_every_example_once(no_env_data_dir):
    dataset = kgan.data.from_arrays(
        np.arange(10, dtype=np.float32)[:, None] / 10, batch_size=4, seed=1
    )
    epochs = [np.concatenate([b.numpy()[:, 0] for b in dataset]) for _ in range(2)]
    for epoch in epochs:
        np.testing.assert_allclose(np.sort(epoch), np.arange(10) / 10, atol=1e-6)
    assert not np.array_equal(epochs[0], epochs[1])


# ----------------------------------------------------------------------------- arrays


def test_from_arrays_scales_uint8_and_adds_a_channel_axis(first_batch):
    x = np.array([[[0, 255], [127, 128]]] * 3, dtype=np.uint8)  # (3, 2, 2)
    y = np.array([0, 1, 2])
    images, labels = first_batch(kgan.data.from_arrays(x, y, shuffle=False))
    assert images.shape == (3, 2, 2, 1) and images.dtype == np.float32
    np.testing.assert_allclose(
        images[0, ..., 0], [[-1.0, 1.0], [127 / 127.5 - 1, 128 / 127.5 - 1]], atol=1e-6
    )
    np.testing.assert_array_equal(labels, [0, 1, 2])
    assert labels.dtype == np.int32


def test_from_arrays_passes_float_images_in_range_through(first_batch):
    x = np.linspace(-1, 1, 2 * 4 * 4 * 3, dtype=np.float64).reshape(2, 4, 4, 3)
    images = first_batch(kgan.data.from_arrays(x, shuffle=False))
    assert images.dtype == np.float32
    np.testing.assert_allclose(images, x, atol=1e-6)


@pytest.mark.parametrize(
    "x, y, message",
    [
        (np.full((2, 4, 4), 255.0), None, r"\[-1, 1\].*values in \[255.0, 255.0\]"),
        (np.zeros((2, 4, 4), np.int64) + 300, None, r"\[0, 255\].*\[300, 300\]"),
        (np.zeros((0, 4, 4), np.uint8), None, "non-empty"),
        (np.zeros((3, 4, 4), np.uint8), [0, 1], r"one integer label per example \(3\)"),
        (np.zeros((2, 4, 4), np.uint8), [0.5, 1], "integer class labels"),
    ],
)
def test_from_arrays_rejects_bad_input(x, y, message):
    with pytest.raises(ValueError, match=message):
        kgan.data.from_arrays(x, y)


def test_from_arrays_warns_about_images_in_zero_one():
    with pytest.warns(UserWarning, match=r"\[0, 1\]"):
        kgan.data.from_arrays(np.full((2, 4, 4, 1), 0.5, np.float32))


def test_batch_arguments_are_validated():
    x = np.zeros((4, 2, 2), np.uint8)
    with pytest.raises(ValueError, match="Received: batch_size=0"):
        kgan.data.from_arrays(x, batch_size=0)
    with pytest.raises(ValueError, match="Received: seed='a'"):
        kgan.data.from_arrays(x, seed="a")
    with pytest.raises(ValueError, match="Received: color_mode='cmyk'"):
        kgan.data.load(kgan.data.EMBEDDED_DATASET, color_mode="cmyk")
    with pytest.raises(ValueError, match=r"Received: image_size=\(0, 3\)"):
        kgan.data.load(kgan.data.EMBEDDED_DATASET, image_size=(0, 3))


def test_drop_remainder():
    x = np.zeros((10, 2, 2), np.uint8)
    assert [len(b) for b in kgan.data.from_arrays(x, batch_size=4)] == [4, 4, 2]
    assert [len(b) for b in kgan.data.from_arrays(x, batch_size=4, drop_remainder=True)] == [4, 4]

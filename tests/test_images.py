"""`kgan.images`: the uint8 conversion that the exports and the sample grids rely on, pinned to
hand-written pixel values."""

import numpy as np
import pytest

from kgan.images import to_uint8


def test_to_uint8_maps_minus_one_to_one_onto_0_to_255():
    images = np.array([-1.0, -0.5, 0.0, 0.5, 1.0], "float32")
    # (x + 1) * 127.5 = 0, 63.75, 127.5, 191.25, 255, rounded half to even.
    np.testing.assert_array_equal(to_uint8(images), np.array([0, 64, 128, 191, 255], "uint8"))
    assert to_uint8(images).dtype == np.uint8


def test_to_uint8_rounds_to_the_nearest_level_and_clips():
    # (x + 1) * 127.5 = 0.4, 0.6, 100.3, 100.7, 254.6: nearest, not truncated.
    levels = np.array([0.4, 0.6, 100.3, 100.7, 254.6], "float64") / 127.5 - 1.0
    np.testing.assert_array_equal(to_uint8(levels), [0, 1, 100, 101, 255])
    outside = np.array([-3.0, -1.01, 1.01, 7.0, np.inf, -np.inf], "float32")
    np.testing.assert_array_equal(to_uint8(outside), [0, 0, 255, 255, 255, 0])


@pytest.mark.parametrize("shape", [(2, 3, 3, 1), (1, 2, 2, 3)])
def test_to_uint8_keeps_the_shape(shape):
    images = np.linspace(-1, 1, np.prod(shape)).reshape(shape)
    pixels = to_uint8(images)
    assert pixels.shape == shape
    assert pixels.reshape(-1)[0] == 0 and pixels.reshape(-1)[-1] == 255

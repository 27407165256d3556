"""`.keras` files saved by an earlier kgan (`tests/fixtures/make_fixtures.py`) load and generate
the images they generated when saved."""

import os

import keras
import numpy as np
import pytest

import kgan  # noqa: F401  (registers kgan's serializable classes)

FIXTURES = os.path.join(os.path.dirname(__file__), os.pardir, "fixtures")


@pytest.mark.parametrize("name, cls_name", [("cdcgan_ema", "GAN"), ("wgangp", "WGANGP")])
def test_saved_model_generates_the_same_images(name, cls_name):
    model = keras.saving.load_model(os.path.join(FIXTURES, f"{name}.keras"))
    assert type(model).__name__ == cls_name
    expected = np.load(os.path.join(FIXTURES, f"{name}_seed3.npy"))
    # Up to float32 rounding: oneDNN picks its kernels by the CPU's instruction set, and
    # kernels for other instructions sum in another order.
    np.testing.assert_allclose(model.generate(6, seed=3), expected, rtol=0, atol=1e-6)

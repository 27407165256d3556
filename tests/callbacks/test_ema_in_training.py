"""Test of the exponential moving average of the generator, trained with `fit`.

It tests kgan.models (the EMA), not a callback; it belongs in tests/models/test_ema.py.
"""

import keras
import numpy as np

from kgan.models import sample_latent


def test_ema_generator_is_averaged_used_by_generate_and_saved(
    tmp_path, toy_gan, square_data, toy_dataset
):
    gan = toy_gan(g_learning_rate=1e-2, ema_decay=0.9)
    gan.fit(toy_dataset(square_data(500)), epochs=1, verbose=0)
    raw = gan.generator.get_weights()
    averaged = [np.array(w) for w in gan.ema_weights]
    assert any(not np.allclose(r, a) for r, a in zip(raw, averaged))
    z = sample_latent(64, 4, seed=1).numpy()
    generated = gan.generate(z=z)
    np.testing.assert_allclose(generated, gan.inference_generator(z).numpy(), atol=1e-6)
    assert not np.allclose(generated, gan.generator(z).numpy(), atol=1e-3)
    path = str(tmp_path / "ema.keras")
    gan.save(path)
    restored = keras.saving.load_model(path)
    for expected, actual in zip(averaged, restored.ema_weights):
        np.testing.assert_allclose(np.array(actual), expected)
    np.testing.assert_allclose(restored.generate(z=z), generated, atol=1e-6)

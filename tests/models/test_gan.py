"""`GAN`: binary cross-entropy, its label tricks, and training on a known distribution."""

import keras
import numpy as np
import pytest

import kgan
from kgan.models import mlp_discriminator, mlp_generator


def test_gan_metrics_are_probabilities(small_dcgan, images):
    gan = kgan.GAN(*small_dcgan())
    gan.compile()
    history = gan.fit(images(32), batch_size=16, epochs=1, verbose=0)
    for name in ("d_real", "d_fake"):
        assert 0.0 <= history.history[name][0] <= 1.0


def test_every_gan_option_trains(small_dcgan, images):
    gan = kgan.GAN(
        *small_dcgan(),
        generator_loss="minimax",
        label_smoothing=0.1,
        label_noise=0.1,
        label_flip_prob=0.05,
        instance_noise=0.1,
        latent_distribution="uniform",
    )
    gan.compile()
    history = gan.fit(images(32), batch_size=16, epochs=1, verbose=0)
    # The minimax generator loss log(1 - D(G(z))) is negative.
    assert history.history["g_loss"][0] < 0


def test_gan_default_optimizers_are_the_published_settings(small_dcgan):
    gan = kgan.GAN(*small_dcgan())
    gan.compile()
    assert isinstance(gan.d_optimizer, keras.optimizers.Adam)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(2e-4)
    assert float(gan.g_optimizer.beta_1) == pytest.approx(0.5)


def test_batch_norm_trains_in_train_step_and_infers_in_generate(small_dcgan, images):
    generator, discriminator = small_dcgan()
    gan = kgan.GAN(generator, discriminator)
    gan.compile()
    norm = generator.get_layer("project_norm")
    before = keras.ops.convert_to_numpy(norm.moving_mean).copy()
    gan.fit(images(32), batch_size=16, epochs=1, verbose=0)
    # Training mode in train_step updates the moving statistics.
    assert not np.allclose(before, keras.ops.convert_to_numpy(norm.moving_mean))
    # Inference mode in generate: an image does not depend on the rest of its batch.
    z = np.random.default_rng(0).normal(size=(16, 8)).astype("float32")
    alone = gan.generate(z=z[:1])
    together = gan.generate(z=z)
    np.testing.assert_allclose(alone[0], together[0], atol=1e-5)


def test_the_model_learns_a_gaussian():
    """An MLP GAN on N(2, 0.5^2) moves its samples' mean and spread onto the data's."""
    rng = np.random.default_rng(0)
    data = (rng.normal(size=(4096, 1)) * 0.5 + 2.0).astype("float32")
    generator = mlp_generator((1,), latent_dim=2, hidden_units=(16,), output_activation=None)
    discriminator = mlp_discriminator((1,), hidden_units=(16,))
    gan = kgan.GAN(generator, discriminator, seed=0)
    # 256 steps at 3e-3 (measured: as close as 960 steps at 1e-3, on four seeds).
    gan.compile(keras.optimizers.Adam(3e-3, beta_1=0.5), keras.optimizers.Adam(3e-3, beta_1=0.5))
    before = gan.generate(4000, seed=1)
    assert abs(before.mean() - 2.0) > 1.0  # It starts far from the data.
    gan.fit(data, batch_size=128, epochs=8, verbose=0)
    after = gan.generate(4000, seed=1)
    assert after.mean() == pytest.approx(2.0, abs=0.2)
    assert after.std() == pytest.approx(0.5, abs=0.15)


def test_discriminator_targets_follow_the_label_options(small_dcgan):
    """Smoothing, noisy labels and flipping give the targets their definitions promise."""
    smoothed = kgan.GAN(*small_dcgan(), label_smoothing=0.1)
    real, fake = smoothed._targets(4)
    assert real == pytest.approx(0.9) and fake == 0.0

    noisy = kgan.GAN(*small_dcgan(), label_smoothing=0.1, label_noise=0.2)
    real, fake = (t.numpy().ravel() for t in noisy._targets(4000))
    assert real.min() >= 0.7 - 1e-6 and real.max() <= 0.9 + 1e-6
    assert fake.min() >= 0.0 and fake.max() <= 0.2 + 1e-6
    assert real.mean() == pytest.approx(0.8, abs=0.01) and fake.mean() == pytest.approx(
        0.1, abs=0.01
    )

    flipped = kgan.GAN(*small_dcgan(), label_flip_prob=0.25)
    real, fake = (t.numpy().ravel() for t in flipped._targets(4000))
    assert set(np.unique(real)) <= {0.0, 1.0}
    np.testing.assert_array_equal(real + fake, np.ones_like(real))  # Swapped, never both.
    assert (real == 0).mean() == pytest.approx(0.25, abs=0.03)

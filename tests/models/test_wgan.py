"""`WGAN` (weight clipping) and `WGANGP` (gradient penalty)."""

import warnings

import keras
import pytest
import tensorflow as tf

import kgan
from kgan.models import dcgan_discriminator, dcgan_generator


def test_wgan_default_optimizers_are_the_published_settings(small_dcgan):
    wgan = kgan.WGAN(*small_dcgan(normalization=None))
    wgan.compile()
    assert isinstance(wgan.d_optimizer, keras.optimizers.RMSprop)
    assert float(wgan.d_optimizer.learning_rate) == pytest.approx(5e-5)
    gp = kgan.WGANGP(*small_dcgan(normalization=None))
    gp.compile()
    assert float(gp.d_optimizer.learning_rate) == pytest.approx(1e-4)
    assert (float(gp.d_optimizer.beta_1), float(gp.d_optimizer.beta_2)) == (0.5, 0.9)


def test_wgan_clips_the_critics_weights(small_dcgan, images):
    generator, critic = small_dcgan(normalization=None)
    wgan = kgan.WGAN(generator, critic, n_critic=2, clip_value=0.01)
    wgan.compile(d_optimizer=keras.optimizers.RMSprop(0.1))  # Large steps would leave the box.
    wgan.fit(images(32), batch_size=16, epochs=1, verbose=0)
    for weight in critic.trainable_weights:
        assert float(tf.reduce_max(tf.abs(weight))) <= 0.01 + 1e-7


def test_wgan_gp_warns_about_batch_norm_in_the_critic(small_dcgan):
    generator = dcgan_generator((16, 16, 1), latent_dim=8, base_filters=4)
    critic = dcgan_discriminator((16, 16, 1), base_filters=4, normalization="batch")
    with pytest.warns(UserWarning, match="BatchNormalization"):
        kgan.WGANGP(generator, critic)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kgan.WGANGP(*small_dcgan(normalization="layer"))


def test_wgan_gp_reports_the_drift_term_when_it_is_on(small_dcgan, images):
    gp = kgan.WGANGP(*small_dcgan(normalization=None), n_critic=1, drift_weight=0.001)
    gp.compile()
    history = gp.fit(images(16), batch_size=16, epochs=1, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss", "wasserstein", "gradient_penalty", "drift"}
    assert history.history["drift"][0] >= 0.0

"""Tests of kgan.callbacks: sample grids, the training-health monitor, evaluation during fit,
and the exponential moving average of the generator."""

import glob
import os
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import kgan
from kgan.callbacks import (
    EvaluationCallback,
    SampleGrid,
    TrainingHealthWarning,
    TrainingMonitor,
)
from kgan.models.base import sample_latent


def _square_data(num_samples=2000, seed=0):
    """Four Gaussians at (+-1, 0), (0, +-1), std 0.05."""
    rng = np.random.default_rng(seed)
    angles = rng.integers(0, 4, num_samples) * np.pi / 2
    points = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return (points + 0.05 * rng.standard_normal((num_samples, 2))).astype("float32")


def _toy_gan(d_learning_rate=2e-4, g_learning_rate=2e-4, **kwargs):
    keras.utils.set_random_seed(0)
    generator = kgan.models.mlp_generator(
        (2,), latent_dim=4, hidden_units=(32, 32), output_activation=None
    )
    discriminator = kgan.models.mlp_discriminator((2,), hidden_units=(32, 32))
    gan = kgan.GAN(generator, discriminator, seed=0, **kwargs)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(d_learning_rate, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(g_learning_rate, beta_1=0.5),
    )
    return gan


def _toy_dataset(points):
    return tf.data.Dataset.from_tensor_slices(points).shuffle(len(points), seed=0).batch(50)


def _image_gan(**kwargs):
    keras.utils.set_random_seed(0)
    generator = kgan.models.mlp_generator((8, 8, 1), latent_dim=4, hidden_units=(16,))
    discriminator = kgan.models.mlp_discriminator((8, 8, 1), hidden_units=(16,))
    gan = kgan.GAN(generator, discriminator, seed=0, **kwargs)
    gan.compile()
    return gan


def _images(count=32):
    return np.random.default_rng(0).uniform(-1, 1, (count, 8, 8, 1)).astype("float32")


# ---------------------------------------------------------------------------- SampleGrid


def test_sample_grid_writes_one_png_per_epoch_from_fixed_noise(tmp_path):
    gan = _image_gan()
    grid = SampleGrid(tmp_path / "samples", num_samples=6, seed=3, tensorboard_dir=tmp_path / "tb")
    gan.fit(_images(), batch_size=8, epochs=2, verbose=0, callbacks=[grid])
    files = sorted(os.listdir(tmp_path / "samples"))
    assert files == ["epoch_001.png", "epoch_002.png"]
    # The last grid shows the generator's samples for the fixed noise of seed 3.
    expected_samples = gan.generate(z=sample_latent(6, 4, seed=3).numpy())
    expected = kgan.images.image_grid(expected_samples, scale=8)
    written = np.asarray(Image.open(tmp_path / "samples" / "epoch_002.png"))
    np.testing.assert_array_equal(written, expected[..., 0])
    # The same grid is a TensorBoard image summary, one per epoch.
    tags = []
    for path in glob.glob(str(tmp_path / "tb" / "*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags += [(value.tag, event.step) for value in event.summary.value]
    assert tags == [("samples", 1), ("samples", 2)]


def test_sample_grid_every_n_epochs_and_labels(tmp_path):
    keras.utils.set_random_seed(0)
    generator = kgan.models.mlp_generator((8, 8, 1), latent_dim=4, hidden_units=(8,), num_classes=3)
    discriminator = kgan.models.mlp_discriminator((8, 8, 1), hidden_units=(8,), num_classes=3)
    gan = kgan.GAN(generator, discriminator, num_classes=3)
    gan.compile()
    grid = SampleGrid(tmp_path, num_samples=4, labels=2, every_n_epochs=2)
    gan.fit(_images(16), np.arange(16) % 3, batch_size=8, epochs=3, verbose=0, callbacks=[grid])
    assert sorted(os.listdir(tmp_path)) == ["epoch_002.png"]


def test_sample_grid_rejects_vector_samples(tmp_path):
    gan = _toy_gan()
    with pytest.raises(ValueError, match="must output images"):
        gan.fit(_square_data(100), epochs=1, verbose=0, callbacks=[SampleGrid(tmp_path)])


# ---------------------------------------------------------------------------- monitor: histories


def _gan_epoch(d_loss=1.35, g_loss=0.72, d_real=0.52, d_fake=0.48, **extra):
    return dict(d_loss=d_loss, g_loss=g_loss, d_real=d_real, d_fake=d_fake, **extra)


def _healthy_history(epochs=10):
    rng = np.random.default_rng(0)
    return [
        _gan_epoch(
            d_loss=1.35 + 0.03 * rng.standard_normal(),
            g_loss=0.72 + 0.03 * rng.standard_normal(),
            d_real=0.52 + 0.02 * rng.standard_normal(),
            d_fake=0.48 + 0.02 * rng.standard_normal(),
            diversity=1.0 + 0.05 * rng.standard_normal(),
        )
        for _ in range(epochs)
    ]


def _diagnose(history, **kwargs):
    return set(TrainingMonitor(**kwargs).diagnose(history))


def test_monitor_is_quiet_on_a_healthy_history():
    history = _healthy_history()
    for end in range(1, len(history) + 1):
        assert _diagnose(history[:end]) == set()


def test_monitor_names_a_collapsed_discriminator_loss():
    history = _healthy_history(3) + [_gan_epoch(d_loss=0.01, g_loss=6.0, d_real=0.99, d_fake=0.01)]
    assert "discriminator_collapse" in _diagnose(history)


def test_monitor_names_divergence_nan_and_growth():
    assert _diagnose(_healthy_history(2) + [_gan_epoch(g_loss=float("nan"))]) == {"divergence"}
    grown = _healthy_history(2) + [_gan_epoch(g_loss=12.0)]  # > 10 x max(1, 0.72)
    assert "divergence" in _diagnose(grown)
    assert "divergence" not in _diagnose(_healthy_history(2) + [_gan_epoch(g_loss=9.0)])
    # A Wasserstein critic's estimate growing without bound.
    wgan = [dict(d_loss=-0.5, g_loss=0.1, wasserstein=0.5 + 0.1 * i) for i in range(3)]
    assert _diagnose(wgan) == set()
    assert "divergence" in _diagnose(wgan + [dict(d_loss=-40.0, g_loss=3.0, wasserstein=40.0)])


def test_monitor_names_a_discriminator_calling_everything_real_or_fake():
    real = _healthy_history(2) + [_gan_epoch(d_real=0.99, d_fake=0.97)]
    fake = _healthy_history(2) + [_gan_epoch(d_real=0.02, d_fake=0.01)]
    assert "discriminator_says_real" in _diagnose(real)
    assert "discriminator_says_fake" in _diagnose(fake)


def test_monitor_names_an_overpowering_network_only_after_patience_epochs():
    strong_d = _gan_epoch(d_loss=0.4, g_loss=3.0, d_real=0.88, d_fake=0.1)
    assert "discriminator_dominates" not in _diagnose(_healthy_history(3) + [strong_d] * 4)
    assert "discriminator_dominates" in _diagnose(_healthy_history(3) + [strong_d] * 5)
    strong_g = _gan_epoch(d_real=0.3, d_fake=0.6)
    assert "generator_dominates" in _diagnose([strong_g] * 3, patience=3)
    fooled_critic = [dict(d_loss=0.2, g_loss=1.0 + i, wasserstein=-0.1) for i in range(3)]
    assert "generator_dominates" in _diagnose(fooled_critic, patience=3)


def test_monitor_names_a_stalled_generator_loss():
    flat = _healthy_history(3) + [_gan_epoch(g_loss=0.6931)] * 6
    assert "generator_stalled" in _diagnose(flat)
    assert "generator_stalled" not in _diagnose(_healthy_history(9))


def test_monitor_measures_mode_collapse_from_sample_diversity():
    history = _healthy_history(4)
    collapsed = history + [_gan_epoch(diversity=0.2)]
    assert "mode_collapse" in _diagnose(collapsed)  # against its own earlier peak
    # Against real data: real samples spread over four modes, generated ones at one point.
    real = _square_data(300)
    monitor = TrainingMonitor(real_samples=real)
    assert "mode_collapse" in monitor.diagnose([_gan_epoch(diversity=0.1)])
    assert "mode_collapse" not in monitor.diagnose([_gan_epoch(diversity=1.2)])


def test_monitor_rejects_unknown_issues():
    with pytest.raises(ValueError, match="Received: stop_on"):
        TrainingMonitor(stop_on=("collapse",))


# ---------------------------------------------------------------------------- monitor: real runs


def _run(gan, epochs, **monitor_kwargs):
    points = _square_data()
    monitor = TrainingMonitor(real_samples=points[:256], verbose=0, **monitor_kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gan.fit(_toy_dataset(points), epochs=epochs, verbose=0, callbacks=[monitor])
    health = [w for w in caught if issubclass(w.category, TrainingHealthWarning)]
    return monitor, health


def test_monitor_stays_quiet_on_a_healthy_run_and_names_a_broken_one():
    healthy, healthy_warnings = _run(_toy_gan(), epochs=10, patience=3)
    assert healthy.events == [] and healthy_warnings == []
    assert len(healthy.history) == 10 and "diversity" in healthy.history[0]
    # The same run with a discriminator learning rate 100x too high.
    broken, broken_warnings = _run(_toy_gan(d_learning_rate=2e-2), epochs=12, patience=3)
    issues = {event.issue for event in broken.events}
    assert "discriminator_dominates" in issues
    assert len(broken_warnings) == len(broken.events)
    assert "lower discriminator learning rate" in str(broken_warnings[0].message)


class _BreakAfter(keras.callbacks.Callback):
    """Sabotage: sets an absurd discriminator learning rate after `epochs` epochs."""

    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epochs:
            self.model.d_optimizer.learning_rate.assign(1e35)
            self.model.g_optimizer.learning_rate.assign(1e35)


def test_diverging_run_stops_and_keeps_its_last_good_checkpoint(tmp_path):
    checkpoint = str(tmp_path / "last_good.keras")
    gan = _toy_gan(terminate_on_nan=False)
    points = _square_data(500)
    saved = {}

    class _Remember(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 == 2:
                saved["weights"] = [np.array(w) for w in gan.generator.get_weights()]

    monitor = TrainingMonitor(stop_on=("divergence",), checkpoint_path=checkpoint, verbose=0)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        history = gan.fit(
            _toy_dataset(points),
            epochs=10,
            verbose=0,
            callbacks=[_Remember(), monitor, _BreakAfter(2)],
        )
    assert monitor.stopped_by is not None and monitor.stopped_by.issue == "divergence"
    assert monitor.stopped_by.epoch == 3
    assert len(history.history["g_loss"]) == 3  # Stopped in the third epoch.
    restored = keras.saving.load_model(checkpoint)
    for expected, actual in zip(saved["weights"], restored.generator.get_weights()):
        np.testing.assert_allclose(actual, expected)
    assert np.all(np.isfinite(restored.generate(16, seed=0)))


def test_nan_guard_and_monitor_together_keep_the_checkpoint(tmp_path):
    checkpoint = str(tmp_path / "ok.keras")
    gan = _toy_gan()  # terminate_on_nan=True: fit raises TrainingDivergedError.
    monitor = TrainingMonitor(checkpoint_path=checkpoint, verbose=0)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        with pytest.raises(kgan.TrainingDivergedError):
            gan.fit(
                _toy_dataset(_square_data(500)),
                epochs=10,
                verbose=0,
                callbacks=[monitor, _BreakAfter(1)],
            )
    assert [event.issue for event in monitor.events] == ["divergence"]
    assert np.all(np.isfinite(keras.saving.load_model(checkpoint).generate(8, seed=0)))


# ---------------------------------------------------------------------------- EvaluationCallback


def test_evaluation_callback_logs_fid_and_keeps_the_best_generator(tmp_path):
    gan = _toy_gan(g_learning_rate=1e-3)
    points = _square_data(1500)
    best_path = str(tmp_path / "best.keras")
    evaluation = EvaluationCallback(
        points[1000:],
        num_samples=500,
        every_n_epochs=1,
        save_best_path=best_path,
        tensorboard_dir=tmp_path / "tb",
    )
    history = gan.fit(_toy_dataset(points[:1000]), epochs=4, verbose=0, callbacks=[evaluation])
    fids = history.history["fid"]
    assert len(fids) == 4 and len(history.history["kid"]) == 4
    assert evaluation.best_fid == min(fids) and evaluation.best_epoch == 1 + int(np.argmin(fids))
    # The FID is the one of the model's samples for the fixed seed, in raw 2-D coordinates.
    best = keras.saving.load_model(best_path)
    expected = kgan.metrics.frechet_distance(points[1000:], best.generate(500, seed=0))
    assert expected == pytest.approx(evaluation.best_fid, rel=1e-6)
    assert glob.glob(str(tmp_path / "tb" / "*"))


def test_evaluation_callback_restores_the_best_weights():
    gan = _toy_gan(g_learning_rate=1e-3)
    points = _square_data(1200)
    evaluation = EvaluationCallback(points[1000:], kid=False, restore_best_weights=True)
    gan.fit(_toy_dataset(points[:1000]), epochs=3, verbose=0, callbacks=[evaluation])
    assert kgan.metrics.frechet_distance(points[1000:], gan.generate(200, seed=0)) == (
        pytest.approx(evaluation.best_fid, rel=1e-6)
    )


# ---------------------------------------------------------------------------- EMA


def test_ema_generator_is_averaged_used_by_generate_and_saved(tmp_path):
    gan = _toy_gan(g_learning_rate=1e-2, ema_decay=0.9)
    gan.fit(_toy_dataset(_square_data(500)), epochs=1, verbose=0)
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

"""Tests of kgan.callbacks.TrainingMonitor: its settings, its reports, and real training runs.

The checks themselves are tested one by one in test_health_checks.py.
"""

import inspect
import math
import warnings

import keras
import numpy as np
import pytest

import kgan
from kgan.callbacks import HealthEvent, TrainingHealthWarning, TrainingMonitor, health_checks


def _gan_epoch(d_loss=1.35, g_loss=0.72, d_real=0.52, d_fake=0.48, **extra):
    return dict(d_loss=d_loss, g_loss=g_loss, d_real=d_real, d_fake=d_fake, **extra)


# ---------------------------------------------------------------------------- settings


def test_monitor_rejects_unknown_issues():
    with pytest.raises(ValueError, match="Received: stop_on"):
        TrainingMonitor(stop_on=("collapse",))


def test_monitor_defaults_are_the_checks_defaults():
    monitor_defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(TrainingMonitor).parameters.items()
    }
    for check in health_checks.CHECKS.values():
        for name, parameter in inspect.signature(check.function).parameters.items():
            if name in monitor_defaults:
                assert monitor_defaults[name] == parameter.default, (check.issue, name)


def test_monitor_passes_its_thresholds_to_the_checks():
    strong_g = _gan_epoch(d_real=0.3, d_fake=0.6)
    assert "generator_dominates" not in TrainingMonitor().diagnose([strong_g] * 3)
    assert "generator_dominates" in TrainingMonitor(patience=3).diagnose([strong_g] * 3)
    collapsed = [_gan_epoch(d_loss=0.04)]
    assert "discriminator_collapse" in TrainingMonitor().diagnose(collapsed)
    assert TrainingMonitor(collapse_threshold=0.01).diagnose(collapsed) == {}


def test_monitor_measures_mode_collapse_against_real_samples(square_data):
    # Real samples spread over four modes, generated ones at one point.
    real = square_data(300)
    monitor = TrainingMonitor(real_samples=real)
    assert "mode_collapse" in monitor.diagnose([_gan_epoch(diversity=0.1)])
    assert "mode_collapse" not in monitor.diagnose([_gan_epoch(diversity=1.2)])


def test_monitor_reports_a_non_finite_step_once_with_its_advice():
    monitor = TrainingMonitor(num_diversity_samples=0, verbose=0)
    logs = {"d_loss": np.float32(1.3), "g_loss": np.float32(math.nan)}
    with pytest.warns(TrainingHealthWarning, match=r"\[divergence\] epoch 1, step 5"):
        monitor.on_train_batch_end(4, logs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        monitor.on_train_batch_end(5, logs)  # Still active: not reported again.
    assert monitor.events == [
        HealthEvent(
            "divergence",
            1,
            5,
            "Non-finite metrics: g_loss=nan.",
            health_checks.CHECKS["divergence"].advice,
        )
    ]


# ---------------------------------------------------------------------------- real runs


def _run(gan, epochs, points, dataset, **monitor_kwargs):
    monitor = TrainingMonitor(real_samples=points[:256], verbose=0, **monitor_kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gan.fit(dataset, epochs=epochs, verbose=0, callbacks=[monitor])
    health = [w for w in caught if issubclass(w.category, TrainingHealthWarning)]
    return monitor, health


def test_monitor_stays_quiet_on_a_healthy_run_and_names_a_broken_one(
    toy_gan, square_data, toy_dataset
):
    points = square_data()
    healthy, healthy_warnings = _run(toy_gan(), 10, points, toy_dataset(points), patience=3)
    assert healthy.events == [] and healthy_warnings == []
    assert len(healthy.history) == 10 and "diversity" in healthy.history[0]
    # The same run with a discriminator learning rate 100x too high; it stops once the
    # imbalance is named, before the last of at most 16 epochs, which also shows `stop_on` in
    # a real run.
    broken, broken_warnings = _run(
        toy_gan(d_learning_rate=2e-2),
        16,
        points,
        toy_dataset(points),
        patience=3,
        stop_on=("discriminator_dominates",),
    )
    issues = {event.issue for event in broken.events}
    assert "discriminator_dominates" in issues
    assert broken.stopped_by.issue == "discriminator_dominates"
    assert len(broken.history) == broken.stopped_by.epoch < 16
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


def test_diverging_run_stops_and_keeps_its_last_good_checkpoint(
    tmp_path, toy_gan, square_data, toy_dataset
):
    checkpoint = str(tmp_path / "last_good.keras")
    gan = toy_gan(terminate_on_nan=False)
    points = square_data(500)
    saved = {}

    class _Remember(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 == 2:
                saved["weights"] = [np.array(w) for w in gan.generator.get_weights()]

    monitor = TrainingMonitor(stop_on=("divergence",), checkpoint_path=checkpoint, verbose=0)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        history = gan.fit(
            toy_dataset(points),
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


def test_nan_guard_and_monitor_together_keep_the_checkpoint(
    tmp_path, toy_gan, square_data, toy_dataset
):
    checkpoint = str(tmp_path / "ok.keras")
    gan = toy_gan()  # terminate_on_nan=True: fit raises TrainingDivergedError.
    monitor = TrainingMonitor(checkpoint_path=checkpoint, verbose=0)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        with pytest.raises(kgan.TrainingDivergedError):
            gan.fit(
                toy_dataset(square_data(500)),
                epochs=10,
                verbose=0,
                callbacks=[monitor, _BreakAfter(1)],
            )
    assert [event.issue for event in monitor.events] == ["divergence"]
    assert np.all(np.isfinite(keras.saving.load_model(checkpoint).generate(8, seed=0)))


@pytest.mark.parametrize(
    "name, value",
    [
        ("collapse_threshold", -1),
        ("growth_factor", 0),
        ("growth_factor", 0.5),
        ("stall_tolerance", -1),
        ("stall_tolerance", math.nan),
        ("verbose", 7),
    ],
)
def test_monitor_checks_its_thresholds(name, value):
    with pytest.raises(ValueError, match=f"Received: {name}={value}"):
        TrainingMonitor(**{name: value})


def test_monitor_checks_the_real_samples_shape_at_the_start(toy_gan):
    gan = toy_gan()  # samples of shape (2,)
    monitor = TrainingMonitor(real_samples=np.zeros((8, 3), "float32"), verbose=0)
    monitor.set_model(gan)
    with pytest.raises(ValueError, match=r"\(2,\). Received: real_samples of shape \(8, 3\)"):
        monitor.on_train_begin()
    # Compared as flat vectors: the same size in another layout serves.
    monitor = TrainingMonitor(real_samples=np.zeros((8, 2, 1), "float32"), verbose=0)
    monitor.set_model(gan)
    monitor.on_train_begin()

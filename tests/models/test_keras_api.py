"""Keras habits on kgan's models: evaluate/test_on_batch/validation_data, predict and call,
Keras' monitoring callbacks, learning-rate schedules, save/load and BackupAndRestore."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import kgan
from kgan.models import dcgan_discriminator, dcgan_generator

IMAGE_SHAPE = (8, 8, 1)
LATENT_DIM = 8
MODELS = {
    "gan": (kgan.GAN, {}, ["d_fake", "d_loss", "d_real", "g_loss"]),
    "wgan": (kgan.WGAN, {"n_critic": 2}, ["d_loss", "g_loss", "wasserstein"]),
    "wgangp": (
        kgan.WGANGP,
        {"n_critic": 2},
        ["d_loss", "g_loss", "gradient_penalty", "wasserstein"],
    ),
}


def _model(kind="gan", *, num_classes=None, dropout=0.0, **kwargs):
    cls, defaults, _ = MODELS[kind]
    keras.utils.set_random_seed(0)
    generator = dcgan_generator(IMAGE_SHAPE, LATENT_DIM, num_classes, base_filters=4)
    discriminator = dcgan_discriminator(
        IMAGE_SHAPE,
        num_classes,
        base_filters=4,
        normalization=None if kind == "wgangp" else "batch",
        dropout=dropout,
    )
    options = {**defaults, "num_classes": num_classes, "seed": 1, **kwargs}
    return cls(generator, discriminator, **options)


def _images(count=32, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (count, *IMAGE_SHAPE)).astype("float32")


def _state(model):
    """Every value that training changes: weights, optimiser slots, the noise state."""
    variables = model.variables + model.d_optimizer.variables + model.g_optimizer.variables
    return [v.numpy() for v in variables] + [model.seed_generator.state.numpy()]


def _same(first, second):
    return len(first) == len(second) and all(np.array_equal(a, b) for a, b in zip(first, second))


# ---------------------------------------------------------------- test_step


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_evaluate_reports_the_metrics_and_updates_nothing(kind):
    model = _model(kind, ema_decay=0.9)
    model.compile()
    model.fit(_images(), batch_size=16, epochs=1, verbose=0)
    before = _state(model)

    held_out = _images(seed=1)
    results = model.evaluate(held_out, batch_size=16, verbose=0, return_dict=True)
    assert sorted(results) == MODELS[kind][2]
    assert all(np.isfinite(value) for value in results.values())
    one_batch = model.test_on_batch(held_out[:16], return_dict=True)
    assert sorted(one_batch) == MODELS[kind][2]
    # Weights, optimiser moments and iterations, and the training noise are untouched.
    assert _same(before, _state(model))
    # The evaluation noise restarts at every call: the same weights give the same numbers.
    assert model.evaluate(held_out, batch_size=16, verbose=0, return_dict=True) == results


def test_gan_evaluate_scores_the_held_out_data_in_inference_mode():
    model = _model("gan")
    model.compile()
    model.fit(_images(), batch_size=16, epochs=1, verbose=0)
    held_out = _images(seed=1)
    results = model.evaluate(held_out, batch_size=16, verbose=0, return_dict=True)
    # d_real is the mean of sigmoid(D(x)) over the held-out batches, D in inference mode.
    logits = model.discriminator(held_out, training=False)
    expected = float(np.mean(1 / (1 + np.exp(-np.asarray(logits)))))
    assert results["d_real"] == pytest.approx(expected, rel=1e-5)


def test_fit_with_validation_data_reports_val_metrics():
    model = _model("wgangp")
    model.compile()
    history = model.fit(
        _images(), batch_size=16, epochs=2, verbose=0, validation_data=(_images(16, seed=1),)
    )
    for name in MODELS["wgangp"][2]:
        assert len(history.history[f"val_{name}"]) == 2


def test_conditional_evaluate_uses_the_labels():
    model = _model("gan", num_classes=3)
    model.compile()
    labels = np.arange(32) % 3
    model.fit(_images(), labels, batch_size=16, epochs=1, verbose=0)
    results = model.evaluate(_images(seed=1), labels, batch_size=16, verbose=0, return_dict=True)
    other = model.evaluate(_images(seed=1), labels[::-1], batch_size=16, verbose=0)
    assert sorted(results) == MODELS["gan"][2]
    assert results["d_real"] != pytest.approx(other[2])  # [d_fake, d_loss, d_real, g_loss]


# ---------------------------------------------------------------- predict and call


def test_predict_and_call_give_the_samples_of_generate():
    model = _model("gan", ema_decay=0.9)
    model.compile()
    model.fit(_images(), batch_size=16, epochs=2, verbose=0)
    z = np.random.default_rng(2).normal(size=(5, LATENT_DIM)).astype("float32")
    expected = model.generate(z=z)
    np.testing.assert_array_equal(model.predict(z, verbose=0), expected)
    np.testing.assert_array_equal(model.predict_on_batch(z), expected)
    np.testing.assert_array_equal(np.asarray(model(z)), expected)
    # ... which are the averaged generator's, not the trained one's.
    assert not np.allclose(np.asarray(model.generator(z, training=False)), expected)


def test_conditional_predict_and_call_take_z_and_labels():
    model = _model("gan", num_classes=3, ema_decay=0.9)
    model.compile()
    model.fit(_images(), np.arange(32) % 3, batch_size=16, epochs=1, verbose=0)
    z = np.random.default_rng(2).normal(size=(6, LATENT_DIM)).astype("float32")
    labels = np.array([0, 1, 2, 2, 1, 0])
    expected = model.generate(z=z, labels=labels)
    np.testing.assert_array_equal(model.predict([z, labels], verbose=0), expected)
    np.testing.assert_array_equal(model.predict_on_batch([z, labels]), expected)
    np.testing.assert_array_equal(np.asarray(model([z, labels])), expected)


# ---------------------------------------------------------------- callbacks


def test_monitoring_callbacks_need_no_mode_for_the_losses(tmp_path):
    model = _model("gan")
    model.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(4e-3))
    checkpoint = keras.callbacks.ModelCheckpoint(
        tmp_path / "best.keras", monitor="g_loss", save_best_only=True
    )
    stopping = keras.callbacks.EarlyStopping(monitor="val_d_loss", patience=100)
    # min_delta larger than any change: the monitored value never improves, so the learning
    # rates are halved at every epoch after the first.
    plateau = keras.callbacks.ReduceLROnPlateau(
        monitor="d_loss", factor=0.5, patience=1, min_delta=100.0
    )
    model.fit(
        _images(),
        batch_size=16,
        epochs=3,
        verbose=0,
        validation_data=(_images(16, seed=1),),
        callbacks=[checkpoint, stopping, plateau],
    )
    assert [c.mode for c in (checkpoint, stopping, plateau)] == ["min", "min", "min"]
    assert (tmp_path / "best.keras").is_file()
    # Both optimisers were reduced, and keep their ratio.
    assert float(model.d_optimizer.learning_rate) == pytest.approx(2.5e-4)
    assert float(model.g_optimizer.learning_rate) == pytest.approx(1e-3)


def test_checkpoint_on_fid_needs_no_mode(tmp_path):
    model = _model("gan")
    model.compile()
    evaluation = kgan.callbacks.EvaluationCallback(_images(64, seed=3), kid=False)
    checkpoint = keras.callbacks.ModelCheckpoint(
        tmp_path / "best.keras", monitor="fid", save_best_only=True
    )
    history = model.fit(
        _images(), batch_size=16, epochs=1, verbose=0, callbacks=[evaluation, checkpoint]
    )
    assert checkpoint.mode == "min" and "fid" in history.history
    assert (tmp_path / "best.keras").is_file()


def test_other_metrics_keep_keras_own_error():
    # d_real has no better direction: Keras asks for `mode`, and kgan does not guess one.
    model = _model("gan")
    model.compile()
    stopping = keras.callbacks.EarlyStopping(monitor="d_real")
    with pytest.raises(ValueError, match="mode='max'"):
        model.fit(_images(), batch_size=16, epochs=1, verbose=0, callbacks=[stopping])


def test_learning_rate_scheduler_sets_both_optimisers():
    model = _model("gan")
    model.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(2e-3))
    scheduler = keras.callbacks.LearningRateScheduler(lambda epoch, rate: rate / 10)
    model.fit(_images(), batch_size=16, epochs=1, verbose=0, callbacks=[scheduler])
    assert float(model.d_optimizer.learning_rate) == pytest.approx(1e-4)
    assert float(model.g_optimizer.learning_rate) == pytest.approx(2e-4)


def test_schedules_advance_with_each_optimisers_own_steps(tmp_path):
    def schedule():
        return keras.optimizers.schedules.ExponentialDecay(1e-3, decay_steps=1, decay_rate=0.5)

    d_schedule, g_schedule = schedule(), schedule()
    model = _model("wgan", n_critic=3, critic_batches="reuse")
    model.compile(keras.optimizers.RMSprop(d_schedule), keras.optimizers.RMSprop(g_schedule))
    model.fit(_images(), batch_size=16, epochs=1, verbose=0)  # 2 steps of 3 critic updates
    assert int(model.d_optimizer.iterations) == 6 and int(model.g_optimizer.iterations) == 2
    assert float(model.d_optimizer.learning_rate) == pytest.approx(1e-3 * 0.5**6)
    assert float(model.g_optimizer.learning_rate) == pytest.approx(1e-3 * 0.5**2)

    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert int(loaded.d_optimizer.iterations) == 6 and int(loaded.g_optimizer.iterations) == 2
    assert float(loaded.d_optimizer.learning_rate) == pytest.approx(1e-3 * 0.5**6)
    assert float(loaded.g_optimizer.learning_rate) == pytest.approx(1e-3 * 0.5**2)


# ---------------------------------------------------------------- resuming


def _dataset():
    pixels = ((_images(48, seed=5) + 1) * 127.5).astype("uint8")
    return kgan.data.from_arrays(pixels, batch_size=16, seed=3)


def _schedules():
    decay = keras.optimizers.schedules.ExponentialDecay(2e-3, decay_steps=2, decay_rate=0.9)
    return keras.optimizers.Adam(decay, beta_1=0.5), keras.optimizers.Adam(decay, beta_1=0.5)


def test_two_epochs_equal_one_epoch_saved_loaded_and_one_more(tmp_path):
    # Dropout (its noise state), the moving average, Adam's moments, the schedules' position,
    # the training noise and the data order must all carry over.
    straight = _model("gan", ema_decay=0.9, dropout=0.3)
    straight.compile(*_schedules())
    straight.fit(_dataset(), epochs=2, verbose=0)

    first = _model("gan", ema_decay=0.9, dropout=0.3)
    first.compile(*_schedules())
    first.fit(_dataset(), epochs=1, verbose=0)
    first.save(tmp_path / "epoch1.keras")
    resumed = keras.saving.load_model(tmp_path / "epoch1.keras")
    resumed.fit(_dataset(), epochs=2, initial_epoch=1, verbose=0)

    assert _same(_state(straight), _state(resumed))
    assert float(resumed.g_optimizer.learning_rate) == float(straight.g_optimizer.learning_rate)


@pytest.mark.parametrize("kind", ["gan", "wgangp"])
def test_fit_draws_epoch_e_of_a_seeded_kgan_dataset(kind):
    # Also through WGAN-GP's rebatching of the dataset for fresh critic batches.
    dataset = _dataset()
    model = _model(kind)
    model.compile()
    model.fit(dataset, epochs=3, initial_epoch=1, verbose=0)
    assert int(dataset.epoch_order.counter) == 3  # Epoch 2's order was the last drawn.
    assert dataset.epoch_order.offset == 3


class _Interrupt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt("killed after epoch 2")


def test_backup_and_restore_resumes_a_run_exactly(tmp_path):
    straight = _model("gan", ema_decay=0.9, dropout=0.3)
    straight.compile()
    straight.fit(_dataset(), epochs=3, verbose=0)

    backup = keras.callbacks.BackupAndRestore(tmp_path / "backup")
    interrupted = _model("gan", ema_decay=0.9, dropout=0.3)
    interrupted.compile()
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(_dataset(), epochs=3, verbose=0, callbacks=[backup, _Interrupt()])

    # A new process would build the model and the dataset again, then call the same fit.
    resumed = _model("gan", ema_decay=0.9, dropout=0.3)
    resumed.compile()
    history = resumed.fit(
        _dataset(),
        epochs=3,
        verbose=0,
        callbacks=[keras.callbacks.BackupAndRestore(tmp_path / "backup")],
    )
    assert history.epoch == [2]
    assert _same(_state(straight), _state(resumed))


# ---------------------------------------------------------------- backend


@pytest.mark.parametrize("backend", ["jax", "numpy"])
def test_import_under_another_backend_says_how_to_switch(backend):
    environment = {**os.environ, "KERAS_BACKEND": backend}
    result = subprocess.run(
        [sys.executable, "-c", "import kgan"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("ImportError: kgan needs Keras' TensorFlow backend")
    assert f"Received: backend='{backend}'" in last_line
    assert "KERAS_BACKEND=tensorflow" in last_line


def test_keras_json_backend_is_checked_and_the_command_says_it_in_one_line(tmp_path):
    (tmp_path / "keras.json").write_text('{"backend": "jax"}')
    environment = {**os.environ, "KERAS_HOME": str(tmp_path)}
    environment.pop("KERAS_BACKEND", None)
    result = subprocess.run(
        [sys.executable, "-m", "kgan", "--version"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("kgan: error: kgan needs Keras' TensorFlow backend")
    assert str(tmp_path / "keras.json") in result.stderr

"""What every adversarial model does: compile, fit and its checks, generate, metrics, saving."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan.models import dcgan_discriminator, dcgan_generator, mlp_generator

# ---------------------------------------------------------------- training and metrics


@pytest.mark.parametrize(
    "cls, kwargs, names",
    [
        (kgan.GAN, {}, {"d_loss", "g_loss", "d_real", "d_fake"}),
        (kgan.WGAN, {"n_critic": 2}, {"d_loss", "g_loss", "wasserstein"}),
        (
            kgan.WGANGP,
            {"n_critic": 2},
            {"d_loss", "g_loss", "wasserstein", "gradient_penalty"},
        ),
    ],
)
def test_fit_reports_the_models_metrics_and_nothing_else(cls, kwargs, names, small_dcgan, images):
    generator, discriminator = small_dcgan(normalization=None if cls is not kgan.GAN else "batch")
    gan = cls(generator, discriminator, **kwargs)
    gan.compile()
    history = gan.fit(images(48), batch_size=16, epochs=2, verbose=0)
    assert set(history.history) == names  # In particular no `loss: 0.0000`.
    for name in names:
        assert len(history.history[name]) == 2
        assert np.all(np.isfinite(history.history[name]))
    # Trackers are reset each epoch: the last epoch's 3 steps, not all 6 (the Wasserstein
    # models take n_critic = 2 batches per step: 1 step, and the third batch, which makes no
    # whole group, is dropped).
    assert int(gan.metrics[0].count.numpy()) == (3 if cls is kgan.GAN else 1)


def test_generate_is_deterministic_per_seed(small_dcgan):
    gan = kgan.GAN(*small_dcgan())
    a = gan.generate(5, seed=7)
    b = gan.generate(5, seed=7)
    c = gan.generate(5, seed=8)
    assert a.shape == (5, 8, 8, 1) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert np.abs(a).max() <= 1.0
    # Batching inside generate does not change the result.
    np.testing.assert_allclose(gan.generate(5, seed=7, batch_size=2), a, atol=1e-6)


def test_generate_checks_its_arguments(small_dcgan):
    gan = kgan.GAN(*small_dcgan())
    with pytest.raises(ValueError, match="Received: num_samples=0"):
        gan.generate(0)
    with pytest.raises(ValueError, match=r"Received: z of shape \(2, 3\)"):
        gan.generate(z=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="unconditional"):
        gan.generate(2, labels=[0, 1])
    with pytest.raises(ValueError, match="Received: seed=1.5"):
        gan.generate(2, seed=1.5)


def test_mixed_precision_wraps_optimizers_and_keeps_float32_outputs(small_dcgan, images):
    keras.mixed_precision.set_global_policy("mixed_float16")
    gan = kgan.GAN(*small_dcgan())
    gan.compile()
    assert isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
    history = gan.fit(images(32), batch_size=16, epochs=1, verbose=0)
    assert all(np.isfinite(v[0]) for v in history.history.values())
    out = gan.generate(2, seed=0)
    assert out.dtype == np.float32 and np.abs(out).max() <= 1.0


def test_compile_leaves_no_unused_optimizer(small_dcgan):
    gan = kgan.GAN(*small_dcgan())
    gan.compile()
    # `model.optimizer` is the pair of the two optimisers, not a third one that Keras adds.
    assert gan.optimizer.optimizers == [gan.d_optimizer, gan.g_optimizer]
    assert not isinstance(gan.optimizer, keras.optimizers.Optimizer)


# ---------------------------------------------------------------- conditional


def test_conditional_training_and_generation(small_dcgan, images):
    gan = kgan.GAN(*small_dcgan(num_classes=3), num_classes=3)
    gan.compile()
    labels = np.arange(32) % 3
    gan.fit(images(32), labels, batch_size=16, epochs=1, verbose=0)
    # A dataset of (images, labels), with one-hot labels, trains too.
    one_hot = np.eye(3, dtype="float32")[labels]
    dataset = tf.data.Dataset.from_tensor_slices((images(32), one_hot)).batch(16)
    gan.fit(dataset, epochs=1, verbose=0)
    out = gan.generate(6, seed=0)
    assert out.shape == (6, 8, 8, 1)
    same_class = gan.generate(6, seed=0, labels=1)
    assert not np.allclose(out, same_class)
    np.testing.assert_allclose(same_class[1], out[1], atol=1e-6)  # Default labels cycle 0,1,2.


def test_labels_without_num_classes_are_rejected(small_dcgan, images):
    gan = kgan.GAN(*small_dcgan())
    gan.compile()
    with pytest.raises(ValueError, match="num_classes=None"):
        gan.fit(images(16), np.zeros(16, "int32"), batch_size=8, verbose=0)


def test_labels_out_of_range_are_rejected(small_dcgan, images):
    gan = kgan.GAN(*small_dcgan(num_classes=3), num_classes=3)
    gan.compile()
    with pytest.raises(ValueError, match="Received: label 3"):
        gan.fit(images(16), np.full(16, 3), batch_size=8, verbose=0)
    with pytest.raises(ValueError, match="Received: label -1"):
        gan.generate(2, labels=[0, -1])
    with pytest.raises(ValueError, match="without labels"):
        gan.fit(images(16), batch_size=8, verbose=0)


# ---------------------------------------------------------------- bad input


def test_images_outside_minus_one_one_are_rejected(small_dcgan):
    gan = kgan.GAN(*small_dcgan())
    gan.compile()
    raw = np.random.default_rng(0).integers(0, 256, (16, 8, 8, 1)).astype("float32")
    with pytest.raises(ValueError, match=r"\[-1, 1\].*raw 0\.\.255.*Received: images with values"):
        gan.fit(raw, batch_size=8, verbose=0)
    dataset = tf.data.Dataset.from_tensor_slices(raw).batch(8)
    with pytest.raises(ValueError, match="Received: images with values in"):
        gan.fit(dataset, verbose=0)


def test_unbatched_dataset_is_rejected(small_dcgan, images):
    gan = kgan.GAN(*small_dcgan())
    gan.compile()
    with pytest.raises(ValueError, match="dataset.batch"):
        gan.fit(tf.data.Dataset.from_tensor_slices(images(8)), verbose=0)


def test_check_inputs_false_skips_the_first_batch_checks(small_dcgan, images):
    gan = kgan.GAN(*small_dcgan(), check_inputs=False)
    gan.compile()
    history = gan.fit(images(16) * 3, batch_size=8, verbose=0)  # Outside [-1, 1]: not checked.
    assert len(history.history["g_loss"]) == 1


def test_mismatched_networks_are_rejected(small_dcgan):
    generator = dcgan_generator((16, 16, 1), latent_dim=8, base_filters=4)
    discriminator = dcgan_discriminator((8, 8, 1), base_filters=4)
    with pytest.raises(ValueError, match=r"Received: generator output shape \(16, 16, 1\)"):
        kgan.GAN(generator, discriminator)
    with pytest.raises(ValueError, match="Received: latent_dim=5"):
        kgan.GAN(*small_dcgan(), latent_dim=5)
    with pytest.raises(ValueError, match="two inputs"):
        kgan.GAN(*small_dcgan(), num_classes=3)
    with pytest.raises(TypeError, match="Received: generator="):
        kgan.GAN("generator", discriminator)


def test_discriminator_must_return_one_logit_per_example():
    generator = mlp_generator((2,), latent_dim=2, hidden_units=(4,), output_activation=None)
    flat = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1), keras.layers.Reshape(())])
    with pytest.raises(ValueError, match=r"shape \(batch, 1\)"):
        kgan.GAN(generator, flat)


@pytest.mark.parametrize(
    "cls, kwargs, message",
    [
        (kgan.WGAN, {"n_critic": 0}, "Received: n_critic=0"),
        (kgan.WGANGP, {"gradient_penalty_weight": -1.0}, "Received: gradient_penalty_weight=-1.0"),
        (kgan.WGAN, {"clip_value": -0.1}, "Received: clip_value=-0.1"),
        (kgan.GAN, {"label_smoothing": 0.7}, "Received: label_smoothing=0.7"),
        (kgan.GAN, {"generator_loss": "hinge"}, "Received: generator_loss='hinge'"),
        (kgan.GAN, {"num_classes": 1}, "Received: num_classes=1"),
        (kgan.GAN, {"ema_decay": 1.5}, "Received: ema_decay=1.5"),
        (kgan.GAN, {"seed": "0"}, "Received: seed='0'"),
        (kgan.GAN, {"latent_distribution": "cauchy"}, "Received: latent_distribution='cauchy'"),
    ],
)
def test_bad_hyperparameters_are_rejected(cls, kwargs, message, small_dcgan):
    with pytest.raises(ValueError, match=message):
        cls(*small_dcgan(normalization=None), **kwargs)


def test_compile_rejects_a_loss_and_a_shared_optimizer(small_dcgan, images):
    gan = kgan.GAN(*small_dcgan())
    with pytest.raises(ValueError, match="Received: loss="):
        gan.compile(loss="mse")
    optimizer = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="two different"):
        gan.compile(optimizer, optimizer)
    with pytest.raises(RuntimeError, match="compile"):
        kgan.GAN(*small_dcgan()).fit(images(8), verbose=0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"steps_per_execution": 0}, "Received: steps_per_execution=0"),
        ({"steps_per_execution": -1}, "Received: steps_per_execution=-1"),
        ({"steps_per_execution": 2.0}, "Received: steps_per_execution=2.0"),
        ({"jit_compile": "yes"}, "Received: jit_compile='yes'"),
        ({"run_eagerly": "no"}, "Received: run_eagerly='no'"),
    ],
)
def test_compile_rejects_bad_execution_options(kwargs, message, small_dcgan):
    gan = kgan.GAN(*small_dcgan())
    with pytest.raises(ValueError, match=message):
        gan.compile(**kwargs)
    gan.compile(jit_compile=False, steps_per_execution=np.int64(2), run_eagerly=np.bool_(False))


def test_compile_names_the_optimizer_keras_cannot_interpret(small_dcgan):
    gan = kgan.GAN(*small_dcgan())
    with pytest.raises(ValueError, match="adamz.*Received: d_optimizer='adamz'"):
        gan.compile(d_optimizer="adamz")
    with pytest.raises(ValueError, match=r"Received: g_optimizer=\{'class_name': 'Adamz'"):
        gan.compile(g_optimizer={"class_name": "Adamz", "config": {}})
    with pytest.raises(TypeError, match="Received: d_optimizer=3 of type int"):
        gan.compile(d_optimizer=3)
    gan.compile(d_optimizer="adam", g_optimizer={"class_name": "SGD", "config": {}})


@pytest.mark.parametrize("check_inputs", [True, False])
def test_fit_without_data_names_x(check_inputs, small_dcgan):
    gan = kgan.GAN(*small_dcgan(), check_inputs=check_inputs)
    gan.compile()
    with pytest.raises(ValueError, match="Received: x=None"):
        gan.fit(None, verbose=0)


def test_a_nan_loss_stops_training_and_names_the_step(small_dcgan, images):
    gan = kgan.GAN(*small_dcgan(), check_inputs=False)
    gan.compile()
    data = images(32)
    data[20] = np.nan  # In the third batch of 8.
    with pytest.raises(kgan.TrainingDivergedError, match=r"epoch 1, step 3\b"):
        gan.fit(data, batch_size=8, epochs=2, shuffle=False, verbose=0)


# ---------------------------------------------------------------- saving


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        (kgan.GAN, {"label_smoothing": 0.1, "generator_loss": "minimax", "num_classes": 3}),
        # One real batch for all critic updates: 2 steps per epoch, like the GAN's.
        (kgan.WGAN, {"n_critic": 2, "clip_value": 0.02, "critic_batches": "reuse"}),
        (
            kgan.WGANGP,
            {
                "n_critic": 2,
                "gradient_penalty_weight": 5.0,
                "ema_decay": 0.9,
                "critic_batches": "reuse",
            },
        ),
    ],
)
def test_save_and_load_round_trip(cls, kwargs, tmp_path, small_dcgan, images):
    num_classes = kwargs.get("num_classes")
    gan = cls(*small_dcgan(num_classes=num_classes, normalization=None), **kwargs)
    gan.compile()
    labels = None if num_classes is None else np.arange(32) % num_classes
    gan.fit(images(32), labels, batch_size=16, epochs=1, verbose=0)
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is cls
    for key, value in kwargs.items():
        assert getattr(loaded, key) == value
    np.testing.assert_allclose(loaded.generate(4, seed=3), gan.generate(4, seed=3), atol=1e-6)
    # The optimisers' state comes back, and training continues from it.
    assert int(loaded.g_optimizer.iterations.numpy()) == int(gan.g_optimizer.iterations.numpy())
    assert int(loaded.g_optimizer.iterations.numpy()) == 2
    history = loaded.fit(images(32, seed=1), labels, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["g_loss"][0])
    assert int(loaded.g_optimizer.iterations.numpy()) == 4


def test_reloaded_model_continues_the_noise_sequence(tmp_path, small_dcgan, images):
    gan = kgan.GAN(*small_dcgan(), seed=3)
    gan.compile()
    gan.fit(images(32), batch_size=16, epochs=1, verbose=0)
    state = keras.ops.convert_to_numpy(gan.seed_generator.state)
    assert state[1] > 0  # Training consumed noise.
    gan.save(tmp_path / "gan.keras")
    loaded = keras.saving.load_model(tmp_path / "gan.keras")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded.seed_generator.state), state)


_TWO_RUNS = textwrap.dedent(
    """
    import os
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import keras, numpy as np, tensorflow as tf
    import kgan
    from kgan.models import dcgan_discriminator, dcgan_generator

    tf.config.experimental.enable_op_determinism()

    def networks(spectral_norm):
        generator = dcgan_generator((8, 8, 1), 4, base_filters=4, normalization=None)
        discriminator = dcgan_discriminator(
            (8, 8, 1), base_filters=4, normalization=None, spectral_norm=spectral_norm
        )
        return generator, discriminator

    data = np.random.default_rng(0).uniform(-1, 1, (32, 8, 8, 1)).astype("float32")
    # Spectral normalisation (a power iteration in the forward pass) in one case: tracing it
    # under R1's double backward pass is most of this test's time.
    cases = {
        "GAN": (kgan.GAN, {"loss": "hinge", "r2_weight": 0.5}, True),
        "WGANGP": (kgan.WGANGP, {"n_critic": 2}, False),
    }
    for name, (cls, kwargs, spectral_norm) in cases.items():
        keras.utils.set_random_seed(0)
        initial = [network.get_weights() for network in networks(spectral_norm)]
        runs = []
        for _ in range(2):
            generator, discriminator = networks(spectral_norm)
            generator.set_weights(initial[0])
            discriminator.set_weights(initial[1])
            gan = cls(
                generator,
                discriminator,
                seed=5,
                augment="color,translation,cutout",
                r1_weight=1.0,
                penalty_interval=2,
                consistency_weight=1.0,
                **kwargs,
            )
            gan.compile(keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.05))
            gan.fit(data, batch_size=8, epochs=2, shuffle=False, verbose=0)
            runs.append(generator.get_weights() + discriminator.get_weights())
        gap = max(float(np.abs(a - b).max()) for a, b in zip(*runs))
        print("GAP", name, gap)
    """
)


def test_training_twice_from_the_same_seed_gives_the_same_model():
    """With TensorFlow's ops deterministic (what `kgan train --deterministic` sets), two runs
    from one seed give the same weights, bit for bit, although a lazy R1 term (a `tf.cond`)
    draws DiffAugment's noise inside its branch while bCR draws beside it (see
    `noise.StepSeeds`). In a subprocess, since op determinism cannot be turned off again."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, "-c", _TWO_RUNS], capture_output=True, text=True, timeout=600, env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    gaps = dict(line.split()[1:] for line in proc.stdout.splitlines() if line.startswith("GAP"))
    assert gaps == {"GAN": "0.0", "WGANGP": "0.0"}


def test_a_train_step_draws_its_noise_from_one_advance_of_the_seed(small_dcgan, images):
    """Each step moves the training noise's state once; its draws are stateless functions of
    that state, numbered in the order the step asks for them (see `noise.StepSeeds`)."""
    gan = kgan.GAN(*small_dcgan(), seed=3, augment="translation")
    gan.compile()
    gan.fit(images(48), batch_size=16, epochs=1, verbose=0)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(gan.seed_generator.state), [3, 3])

    @tf.function
    def step():
        seeds = kgan.models.noise.StepSeeds(gan.seed_generator)
        inside = tf.cond(tf.constant(True), seeds.next, lambda: tf.zeros([2], tf.int64))
        return tf.stack([inside, seeds.next()])

    first, second = step().numpy()
    state = tf.constant([3, 3], gan.seed_generator.state.dtype)
    for index, seed in enumerate([first, second]):
        expected = tf.random.experimental.stateless_fold_in(state, tf.constant(index, tf.int64))
        np.testing.assert_array_equal(seed, expected)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(gan.seed_generator.state), [3, 4])


def test_a_step_that_extends_a_decorated_step_shares_its_seeds(small_dcgan, images):
    """A subclass's decorated `train_step` calling `super().train_step` draws after it from
    the same step's seeds: the state still advances once a step."""

    class Extended(kgan.GAN):
        @kgan.models.noise.one_seed_per_step
        def train_step(self, data):
            logs = super().train_step(data)
            extra = self._random("normal", 4)
            return {**logs, "extra": tf.reduce_mean(extra)}

    gan = Extended(*small_dcgan(), seed=3)
    gan.compile()
    history = gan.fit(images(48), batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["extra"][0])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(gan.seed_generator.state), [3, 3])

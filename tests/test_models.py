"""Behaviour of GAN, WGAN and WGANGP that users rely on."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan.models import dcgan_discriminator, dcgan_generator, mlp_discriminator, mlp_generator

IMAGE_SHAPE = (8, 8, 1)


def small_dcgan(num_classes=None, normalization="batch", latent_dim=8):
    generator = dcgan_generator(IMAGE_SHAPE, latent_dim, num_classes, base_filters=4)
    discriminator = dcgan_discriminator(
        IMAGE_SHAPE, num_classes, base_filters=4, normalization=normalization
    )
    return generator, discriminator


def images(count=32, seed=0, shape=IMAGE_SHAPE):
    return np.random.default_rng(seed).uniform(-1, 1, (count, *shape)).astype("float32")


# ---------------------------------------------------------------- builders


@pytest.mark.parametrize(
    "shape", [(28, 28, 1), (32, 32, 3), (64, 64, 3), (48, 64, 3), (8, 8, 1), (27, 27, 1)]
)
def test_dcgan_builders_fit_any_image_size(shape):
    generator = dcgan_generator(shape, latent_dim=16, base_filters=4)
    discriminator = dcgan_discriminator(shape, base_filters=4)
    assert generator.output_shape == (None, *shape)
    assert discriminator.input_shape == (None, *shape)
    assert discriminator.output_shape == (None, 1)
    out = generator(np.zeros((2, 16), "float32"))
    assert tuple(out.shape) == (2, *shape)
    assert out.dtype == "float32"


def test_dcgan_generator_nearest_upsampling_has_no_transposed_convolutions():
    generator = dcgan_generator((32, 32, 3), latent_dim=8, base_filters=4, upsampling="nearest")
    layers = [l for block in generator.layers for l in getattr(block, "_sublayers", [block])]
    assert not any(isinstance(l, keras.layers.Conv2DTranspose) for l in layers)
    assert any(isinstance(l, keras.layers.UpSampling2D) for l in layers)
    assert generator.output_shape == (None, 32, 32, 3)


def test_output_is_in_tanh_range():
    generator = dcgan_generator((16, 16, 3), latent_dim=8, base_filters=4)
    out = generator(np.random.default_rng(0).normal(size=(4, 8)).astype("float32") * 100)
    assert float(tf.reduce_max(tf.abs(out))) <= 1.0


def test_mlp_builders_are_the_classic_mnist_gan():
    generator = mlp_generator((28, 28, 1))
    discriminator = mlp_discriminator((28, 28, 1))
    dense = [l for l in generator.layers if isinstance(l, keras.layers.Dense)]
    assert [tuple(l.kernel.shape) for l in dense] == [(100, 128), (128, 784)]
    assert generator.output_shape == (None, 28, 28, 1)
    assert discriminator.output_shape == (None, 1)
    assert any(isinstance(l, keras.layers.LeakyReLU) for l in generator.layers)


def test_conditional_builders_take_labels():
    generator, discriminator = small_dcgan(num_classes=3)
    z = np.zeros((2, 8), "float32")
    out_a = keras.ops.convert_to_numpy(generator([z, np.array([0, 0])]))
    out_b = keras.ops.convert_to_numpy(generator([z, np.array([1, 2])]))
    assert not np.allclose(out_a, out_b)
    assert tuple(discriminator([out_a, np.array([0, 1])]).shape) == (2, 1)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: dcgan_generator((28, 28), 8), r"Received: image_shape=\(28, 28\)"),
        (lambda: dcgan_generator((28, 28, 1), 0), "Received: latent_dim=0"),
        (
            lambda: dcgan_discriminator((28, 28, 1), normalization="x"),
            "Received: normalization='x'",
        ),
        (lambda: mlp_generator((2,), hidden_units=(0,)), "Received: hidden_units=0"),
    ],
)
def test_builders_reject_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


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
def test_fit_reports_the_models_metrics_and_nothing_else(cls, kwargs, names):
    generator, discriminator = small_dcgan(normalization=None if cls is not kgan.GAN else "batch")
    gan = cls(generator, discriminator, **kwargs)
    gan.compile()
    history = gan.fit(images(48), batch_size=16, epochs=2, verbose=0)
    assert set(history.history) == names  # In particular no `loss: 0.0000`.
    for name in names:
        assert len(history.history[name]) == 2
        assert np.all(np.isfinite(history.history[name]))
    # Trackers are reset each epoch: the last epoch's 3 steps, not all 6.
    assert int(gan.metrics[0].count.numpy()) == 3


def test_gan_metrics_are_probabilities():
    gan = kgan.GAN(*small_dcgan())
    gan.compile()
    history = gan.fit(images(32), batch_size=16, epochs=1, verbose=0)
    for name in ("d_real", "d_fake"):
        assert 0.0 <= history.history[name][0] <= 1.0


def test_every_gan_option_trains():
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


def test_default_optimizers_are_the_published_settings():
    gan = kgan.GAN(*small_dcgan())
    gan.compile()
    assert isinstance(gan.d_optimizer, keras.optimizers.Adam)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(2e-4)
    assert float(gan.g_optimizer.beta_1) == pytest.approx(0.5)
    wgan = kgan.WGAN(*small_dcgan(normalization=None))
    wgan.compile()
    assert isinstance(wgan.d_optimizer, keras.optimizers.RMSprop)
    assert float(wgan.d_optimizer.learning_rate) == pytest.approx(5e-5)
    gp = kgan.WGANGP(*small_dcgan(normalization=None))
    gp.compile()
    assert float(gp.d_optimizer.learning_rate) == pytest.approx(1e-4)
    assert (float(gp.d_optimizer.beta_1), float(gp.d_optimizer.beta_2)) == (0.5, 0.9)


def test_wgan_clips_the_critics_weights():
    generator, critic = small_dcgan(normalization=None)
    wgan = kgan.WGAN(generator, critic, n_critic=2, clip_value=0.01)
    wgan.compile(d_optimizer=keras.optimizers.RMSprop(0.1))  # Large steps would leave the box.
    wgan.fit(images(32), batch_size=16, epochs=1, verbose=0)
    for weight in critic.trainable_weights:
        assert float(tf.reduce_max(tf.abs(weight))) <= 0.01 + 1e-7


def test_wgan_gp_warns_about_batch_norm_in_the_critic():
    generator = dcgan_generator((16, 16, 1), latent_dim=8, base_filters=4)
    critic = dcgan_discriminator((16, 16, 1), base_filters=4, normalization="batch")
    with pytest.warns(UserWarning, match="BatchNormalization"):
        kgan.WGANGP(generator, critic)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kgan.WGANGP(*small_dcgan(normalization="layer"))


def test_batch_norm_trains_in_train_step_and_infers_in_generate():
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


def test_generate_is_deterministic_per_seed():
    gan = kgan.GAN(*small_dcgan())
    a = gan.generate(5, seed=7)
    b = gan.generate(5, seed=7)
    c = gan.generate(5, seed=8)
    assert a.shape == (5, *IMAGE_SHAPE) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert np.abs(a).max() <= 1.0
    # Batching inside generate does not change the result.
    np.testing.assert_allclose(gan.generate(5, seed=7, batch_size=2), a, atol=1e-6)


def test_generate_checks_its_arguments():
    gan = kgan.GAN(*small_dcgan())
    with pytest.raises(ValueError, match="Received: num_samples=0"):
        gan.generate(0)
    with pytest.raises(ValueError, match=r"Received: z of shape \(2, 3\)"):
        gan.generate(z=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="unconditional"):
        gan.generate(2, labels=[0, 1])


def test_the_model_learns_a_gaussian():
    """An MLP GAN on N(2, 0.5^2) moves its samples' mean and spread onto the data's."""
    rng = np.random.default_rng(0)
    data = (rng.normal(size=(8192, 1)) * 0.5 + 2.0).astype("float32")
    generator = mlp_generator((1,), latent_dim=2, hidden_units=(16,), output_activation=None)
    discriminator = mlp_discriminator((1,), hidden_units=(16,))
    gan = kgan.GAN(generator, discriminator, seed=0)
    gan.compile(keras.optimizers.Adam(1e-3, beta_1=0.5), keras.optimizers.Adam(1e-3, beta_1=0.5))
    before = gan.generate(4000, seed=1)
    assert abs(before.mean() - 2.0) > 1.0  # It starts far from the data.
    gan.fit(data, batch_size=128, epochs=15, verbose=0)
    after = gan.generate(4000, seed=1)
    assert after.mean() == pytest.approx(2.0, abs=0.2)
    assert after.std() == pytest.approx(0.5, abs=0.15)


# ---------------------------------------------------------------- conditional


def test_conditional_training_and_generation():
    gan = kgan.GAN(*small_dcgan(num_classes=3), num_classes=3)
    gan.compile()
    labels = np.arange(32) % 3
    gan.fit(images(32), labels, batch_size=16, epochs=1, verbose=0)
    # A dataset of (images, labels), with one-hot labels, trains too.
    one_hot = np.eye(3, dtype="float32")[labels]
    dataset = tf.data.Dataset.from_tensor_slices((images(32), one_hot)).batch(16)
    gan.fit(dataset, epochs=1, verbose=0)
    out = gan.generate(6, seed=0)
    assert out.shape == (6, *IMAGE_SHAPE)
    same_class = gan.generate(6, seed=0, labels=1)
    assert not np.allclose(out, same_class)
    np.testing.assert_allclose(same_class[1], out[1], atol=1e-6)  # Default labels cycle 0,1,2.


def test_labels_without_num_classes_are_rejected():
    gan = kgan.GAN(*small_dcgan())
    gan.compile()
    with pytest.raises(ValueError, match="num_classes=None"):
        gan.fit(images(16), np.zeros(16, "int32"), batch_size=8, verbose=0)


def test_labels_out_of_range_are_rejected():
    gan = kgan.GAN(*small_dcgan(num_classes=3), num_classes=3)
    gan.compile()
    with pytest.raises(ValueError, match="Received: label 3"):
        gan.fit(images(16), np.full(16, 3), batch_size=8, verbose=0)
    with pytest.raises(ValueError, match="Received: label -1"):
        gan.generate(2, labels=[0, -1])
    with pytest.raises(ValueError, match="without labels"):
        gan.fit(images(16), batch_size=8, verbose=0)


# ---------------------------------------------------------------- bad input


def test_images_outside_minus_one_one_are_rejected():
    gan = kgan.GAN(*small_dcgan())
    gan.compile()
    raw = np.random.default_rng(0).integers(0, 256, (16, *IMAGE_SHAPE)).astype("float32")
    with pytest.raises(ValueError, match=r"\[-1, 1\].*raw 0\.\.255.*Received: images with values"):
        gan.fit(raw, batch_size=8, verbose=0)
    dataset = tf.data.Dataset.from_tensor_slices(raw).batch(8)
    with pytest.raises(ValueError, match="Received: images with values in"):
        gan.fit(dataset, verbose=0)


def test_unbatched_dataset_is_rejected():
    gan = kgan.GAN(*small_dcgan())
    gan.compile()
    with pytest.raises(ValueError, match="dataset.batch"):
        gan.fit(tf.data.Dataset.from_tensor_slices(images(8)), verbose=0)


def test_mismatched_networks_are_rejected():
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
    ],
)
def test_bad_hyperparameters_are_rejected(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(*small_dcgan(normalization=None), **kwargs)


def test_compile_rejects_a_loss_and_a_shared_optimizer():
    gan = kgan.GAN(*small_dcgan())
    with pytest.raises(ValueError, match="Received: loss="):
        gan.compile(loss="mse")
    optimizer = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="two different"):
        gan.compile(optimizer, optimizer)
    with pytest.raises(RuntimeError, match="compile"):
        kgan.GAN(*small_dcgan()).fit(images(8), verbose=0)


def test_a_nan_loss_stops_training_and_names_the_step():
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
        (kgan.WGAN, {"n_critic": 2, "clip_value": 0.02}),
        (kgan.WGANGP, {"n_critic": 2, "gradient_penalty_weight": 5.0, "ema_decay": 0.9}),
    ],
)
def test_save_and_load_round_trip(cls, kwargs, tmp_path):
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


def test_ema_generator_is_used_by_generate_and_saved(tmp_path):
    gan = kgan.GAN(*small_dcgan(), ema_decay=0.5)
    gan.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2))
    gan.fit(images(32), batch_size=16, epochs=2, verbose=0)
    raw = gan.generator.get_weights()
    averaged = [keras.ops.convert_to_numpy(w) for w in gan.ema_weights]
    assert not all(np.allclose(a, b) for a, b in zip(raw, averaged))
    z = np.random.default_rng(0).normal(size=(3, 8)).astype("float32")
    with_ema = gan.generate(z=z)
    without = keras.ops.convert_to_numpy(gan.generator(z, training=False))
    assert not np.allclose(with_ema, without)
    path = str(tmp_path / "ema.keras")
    gan.save(path)
    np.testing.assert_allclose(keras.saving.load_model(path).generate(z=z), with_ema, atol=1e-6)


def test_mixed_precision_wraps_optimizers_and_keeps_float32_outputs():
    keras.mixed_precision.set_global_policy("mixed_float16")
    gan = kgan.GAN(*small_dcgan())
    gan.compile()
    assert isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
    history = gan.fit(images(32), batch_size=16, epochs=1, verbose=0)
    assert all(np.isfinite(v[0]) for v in history.history.values())
    out = gan.generate(2, seed=0)
    assert out.dtype == np.float32 and np.abs(out).max() <= 1.0


def test_discriminator_targets_follow_the_label_options():
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


def test_ema_is_the_exponential_moving_average_of_the_weights():
    gan = kgan.GAN(*small_dcgan(), ema_decay=0.5)
    gan.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2))
    before = [keras.ops.convert_to_numpy(w).copy() for w in gan.generator.trainable_weights]
    gan.fit(images(16), batch_size=16, epochs=1, verbose=0)  # One generator update.
    after = [keras.ops.convert_to_numpy(w) for w in gan.generator.trainable_weights]
    trainable = {id(w) for w in gan.generator.trainable_weights}
    averages = [
        keras.ops.convert_to_numpy(a)
        for a, w in zip(gan.ema_weights, gan.generator.weights)
        if id(w) in trainable
    ]
    for average, old, new in zip(averages, before, after):
        np.testing.assert_allclose(average, 0.5 * old + 0.5 * new, rtol=1e-5, atol=1e-7)


def test_reloaded_model_continues_the_noise_sequence(tmp_path):
    gan = kgan.GAN(*small_dcgan(), seed=3)
    gan.compile()
    gan.fit(images(32), batch_size=16, epochs=1, verbose=0)
    state = keras.ops.convert_to_numpy(gan.seed_generator.state)
    assert state[1] > 0  # Training consumed noise.
    gan.save(tmp_path / "gan.keras")
    loaded = keras.saving.load_model(tmp_path / "gan.keras")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded.seed_generator.state), state)


def test_compile_leaves_no_unused_optimizer():
    gan = kgan.GAN(*small_dcgan())
    gan.compile()
    assert gan.optimizer is None


def test_discriminator_must_return_one_logit_per_example():
    generator = mlp_generator((2,), latent_dim=2, hidden_units=(4,), output_activation=None)
    flat = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1), keras.layers.Reshape(())])
    with pytest.raises(ValueError, match=r"shape \(batch, 1\)"):
        kgan.GAN(generator, flat)

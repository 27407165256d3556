"""Stabilisers in the train step: the GAN losses, R1 / R2, consistency regularisation,
DiffAugment and spectral norm.

Each option is checked against a value computed by hand from a discriminator with known
outputs or gradients, so a train step that ignored the option would fail.
"""

import math
import warnings

import keras
import numpy as np
import pytest

import kgan
from kgan import export
from kgan.models import dcgan_discriminator, dcgan_generator, mlp_discriminator, mlp_generator


def _sigmoid(x):
    return 1 / (1 + math.exp(-x))


def _softplus(x):
    return math.log1p(math.exp(x))


class _ZeroKernel(keras.constraints.Constraint):
    """Keeps a kernel at zero after every update: the discriminator is its bias alone."""

    def __call__(self, w):
        return w * 0.0


def _linear_gan(w=(0.6, -0.8), bias=0.0, frozen_kernel=False, generator_weights=None, **kwargs):
    """A GAN on 2-D samples whose discriminator is D(x) = w.x + bias."""
    generator = mlp_generator((2,), latent_dim=2, hidden_units=(4,), output_activation=None)
    if generator_weights is not None:
        generator.set_weights(generator_weights)
    dense = keras.layers.Dense(1, kernel_constraint=_ZeroKernel() if frozen_kernel else None)
    discriminator = keras.Sequential([keras.Input((2,)), dense], name="linear")
    dense.set_weights([np.array(w, "float32")[:, None], np.array([bias], "float32")])
    return kgan.GAN(generator, discriminator, seed=0, **kwargs)


def _weights(layer):
    return [keras.ops.convert_to_numpy(w).copy() for w in layer.weights]


# ---------------------------------------------------------------------- losses


@pytest.mark.parametrize(
    "loss, bias_gradient, g_loss, balance",
    [
        # dL_D/db for D = b on both batches, the generator's loss after the update b1, and
        # what d_real / d_fake report.
        ("non_saturating", lambda b: 2 * _sigmoid(b) - 1, lambda b: _softplus(-b), _sigmoid),
        ("minimax", lambda b: 2 * _sigmoid(b) - 1, lambda b: -_softplus(b), _sigmoid),
        ("hinge", lambda b: 0.0, lambda b: -b, lambda b: b),
        ("least_squares", lambda b: 2 * b - 1, lambda b: 0.5 * (b - 1) ** 2, lambda b: b),
    ],
)
def test_each_loss_is_the_one_trained(loss, bias_gradient, g_loss, balance):
    bias, learning_rate = 0.3, 0.5
    gan = _linear_gan(w=(0.0, 0.0), bias=bias, frozen_kernel=True, loss=loss)
    gan.compile(keras.optimizers.SGD(learning_rate), keras.optimizers.SGD(0.0))
    logs = gan.train_on_batch(np.ones((8, 2), "float32"), return_dict=True)
    d_loss = {
        "non_saturating": _softplus(-bias) + _softplus(bias),
        "minimax": _softplus(-bias) + _softplus(bias),
        "hinge": (1 - bias) + (1 + bias),
        "least_squares": 0.5 * (bias - 1) ** 2 + 0.5 * bias**2,
    }[loss]
    updated = bias - learning_rate * bias_gradient(bias)
    assert float(gan.discriminator.layers[0].bias[0]) == pytest.approx(updated, abs=1e-6)
    assert logs["d_loss"] == pytest.approx(d_loss, rel=1e-5)
    assert logs["g_loss"] == pytest.approx(g_loss(updated), rel=1e-5)
    assert logs["d_real"] == pytest.approx(balance(bias), rel=1e-5)
    assert logs["d_fake"] == pytest.approx(balance(bias), rel=1e-5)


def test_generator_loss_is_an_alias_of_loss(small_dcgan):
    assert kgan.GAN(*small_dcgan(), generator_loss="minimax").adversarial_loss == "minimax"
    gan = kgan.GAN(*small_dcgan(), generator_loss="minimax", loss="minimax")
    config = gan.get_config()
    assert config["loss"] == "minimax" and "generator_loss" not in config
    assert kgan.GAN(*small_dcgan()).adversarial_loss == "non_saturating"
    with pytest.raises(ValueError, match="Received: loss='hinge', generator_loss='minimax'"):
        kgan.GAN(*small_dcgan(), loss="hinge", generator_loss="minimax")
    with pytest.raises(ValueError, match="Received: loss='wasserstein'"):
        kgan.GAN(*small_dcgan(), loss="wasserstein")
    with pytest.raises(ValueError, match="Received: generator_loss='hinge'"):
        kgan.GAN(*small_dcgan(), generator_loss="hinge")
    with pytest.raises(ValueError, match="loss='hinge', label_smoothing=0.1"):
        kgan.GAN(*small_dcgan(), loss="hinge", label_smoothing=0.1)


# ---------------------------------------------------------------------- R1 and R2


def test_r1_and_r2_add_their_gradient_to_the_discriminators_update():
    """For D(x) = w.x + b the penalties are gamma / 2 ||w||^2: their gradient is gamma * w."""
    w, learning_rate = np.array([0.6, -0.8], "float32"), 0.1
    generator_weights = mlp_generator((2,), latent_dim=2, hidden_units=(4,)).get_weights()
    data = np.random.default_rng(0).normal(size=(16, 2)).astype("float32")
    results = {}
    for name, kwargs in {"plain": {}, "penalised": {"r1_weight": 2.0, "r2_weight": 0.5}}.items():
        gan = _linear_gan(w=w, generator_weights=generator_weights, **kwargs)
        gan.compile(keras.optimizers.SGD(learning_rate), keras.optimizers.SGD(learning_rate))
        logs = gan.train_on_batch(data, return_dict=True)
        results[name] = (logs, _weights(gan.discriminator))
    (plain_logs, (plain_kernel, plain_bias)), (logs, (kernel, bias)) = (
        results["plain"],
        results["penalised"],
    )
    np.testing.assert_allclose(kernel - plain_kernel, -learning_rate * 2.5 * w[:, None], atol=1e-6)
    np.testing.assert_allclose(bias, plain_bias, atol=1e-7)
    # ||w|| = 1: r1 = 2 / 2, r2 = 0.5 / 2, both part of d_loss.
    assert logs["r1"] == pytest.approx(1.0, rel=1e-5)
    assert logs["r2"] == pytest.approx(0.25, rel=1e-5)
    assert logs["d_loss"] == pytest.approx(plain_logs["d_loss"] + 1.25, rel=1e-5)
    assert "r1" not in plain_logs


def test_lazy_penalty_applies_every_k_steps_with_gamma_times_k():
    gan = _linear_gan(r1_weight=2.0, penalty_interval=3)
    gan.compile(keras.optimizers.SGD(0.0), keras.optimizers.SGD(0.0))
    data = np.ones((4, 2), "float32")
    values = []
    for _ in range(4):
        gan.reset_metrics()
        values.append(gan.train_on_batch(data, return_dict=True)["r1"])
    # gamma * k / 2 * ||w||^2 = 2 * 3 / 2 * 1 on discriminator steps 0 and 3.
    np.testing.assert_allclose(values, [3.0, 0.0, 0.0, 3.0], rtol=1e-5)


@pytest.mark.parametrize("cls", [kgan.WGAN, kgan.WGANGP])
def test_wasserstein_models_take_r1_too(cls):
    generator = mlp_generator((2,), latent_dim=2, hidden_units=(4,), output_activation=None)
    critic = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    critic.layers[0].set_weights([np.array([[0.6], [-0.8]], "float32"), np.zeros(1, "float32")])
    kwargs = {"clip_value": 1.0} if cls is kgan.WGAN else {}
    model = cls(generator, critic, n_critic=2, r1_weight=4.0, **kwargs)
    model.compile(keras.optimizers.SGD(0.0), keras.optimizers.SGD(0.0))
    logs = model.train_on_batch(np.ones((8, 2), "float32"), return_dict=True)
    assert logs["r1"] == pytest.approx(2.0, rel=1e-5)


def test_a_lazy_r1_is_logged_as_the_mean_over_a_steps_critic_updates():
    """n_critic = penalty_interval = 2: R1 is due on the first update of every step only, where
    it weighs gamma * k / 2 * ||w||^2 = 4 * 2 / 2 * 1; the step logs the mean over its two."""
    generator = mlp_generator((2,), latent_dim=2, hidden_units=(4,), output_activation=None)
    critic = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    critic.layers[0].set_weights([np.array([[0.6], [-0.8]], "float32"), np.zeros(1, "float32")])
    model = kgan.WGANGP(generator, critic, n_critic=2, r1_weight=4.0, penalty_interval=2)
    model.compile(keras.optimizers.SGD(0.0), keras.optimizers.SGD(0.0))
    for _ in range(2):
        model.reset_metrics()
        logs = model.train_on_batch(np.ones((8, 2), "float32"), return_dict=True)
        assert logs["r1"] == pytest.approx(2.0, rel=1e-5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"r1_weight": -1.0}, "Received: r1_weight=-1.0"),
        ({"r2_weight": "a"}, "Received: r2_weight='a'"),
        ({"penalty_interval": 0}, "Received: penalty_interval=0"),
        ({"augment": "color,rotate"}, "Received: augment='color,rotate'"),
        ({"ema_statistics": "copy"}, "Received: ema_statistics='copy'"),
        ({"ema_warmup": 1}, "Received: ema_warmup=1"),
        ({"consistency_weight": -1.0}, "Received: consistency_weight=-1.0"),
    ],
)
def test_stabiliser_arguments_are_checked(kwargs, message, small_dcgan):
    with pytest.raises(ValueError, match=message):
        kgan.GAN(*small_dcgan(), **kwargs)


def test_augment_needs_images():
    generator = mlp_generator((2,), latent_dim=2, hidden_units=(4,), output_activation=None)
    with pytest.raises(ValueError, match="Received: augment='translation'"):
        kgan.GAN(generator, mlp_discriminator((2,)), augment="translation")
    with pytest.raises(ValueError, match="Received: consistency_weight=10"):
        kgan.GAN(generator, mlp_discriminator((2,)), consistency_weight=10)


# ---------------------------------------------------------------------- consistency (bCR)


def _flips_and_shifts(image):
    """Every image bCR's transformation can make of an 8x8 `image` (shifts of -1, 0, 1)."""
    made = []
    for flipped in (image, image[:, ::-1]):
        padded = np.pad(flipped, [(1, 1), (1, 1), (0, 0)], mode="reflect")
        for rows in (-1, 0, 1):
            for columns in (-1, 0, 1):
                made.append(padded[1 + rows : 9 + rows, 1 + columns : 9 + columns])
    return made


def test_consistency_regularisation_adds_its_term_and_gradient_to_the_discriminator():
    """bCR: lambda (D(T(x)) - D(x))^2 on the real and on the generated batch, read from the
    batches the discriminator saw; its gradient is part of the discriminator's update."""
    weight, learning_rate = 10.0, 0.05
    generator = dcgan_generator((8, 8, 1), latent_dim=4, base_filters=4)
    recorder = _Recorder()
    dense = keras.layers.Dense(1)
    discriminator = keras.Sequential(
        [keras.Input((8, 8, 1)), recorder, keras.layers.Flatten(), dense]
    )
    rng = np.random.default_rng(0)
    w = rng.normal(scale=0.1, size=(64, 1)).astype("float32")
    dense.set_weights([w, np.zeros(1, "float32")])
    gan = kgan.GAN(generator, discriminator, seed=0, consistency_weight=weight)
    gan.compile(keras.optimizers.SGD(learning_rate), keras.optimizers.SGD(0.0), run_eagerly=True)
    data = rng.uniform(-1, 1, (4, 8, 8, 1)).astype("float32")
    logs = gan.train_on_batch(data, return_dict=True)

    # Discriminator step: real, fake, T(real), T(fake); generator step: fake.
    assert len(recorder.seen) == 5
    real, fake, real_t, fake_t = (batch.reshape(4, 64) for batch in recorder.seen[:4])
    np.testing.assert_array_equal(recorder.seen[0], data)
    for original, transformed in (
        (recorder.seen[0], recorder.seen[2]),
        (recorder.seen[1], recorder.seen[3]),
    ):
        for image, made in zip(original, transformed):
            assert any(np.array_equal(made, candidate) for candidate in _flips_and_shifts(image))
    assert not np.array_equal(recorder.seen[2], recorder.seen[0])

    real_gap, fake_gap = (real_t - real) @ w, (fake_t - fake) @ w
    consistency = weight * (real_gap**2 + fake_gap**2)
    assert logs["consistency"] == pytest.approx(float(consistency.mean()), rel=1e-4)
    adversarial = np.log1p(np.exp(-(real @ w))) + np.log1p(np.exp(fake @ w))
    assert logs["d_loss"] == pytest.approx(float((adversarial + consistency).mean()), rel=1e-4)

    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    gradient = (
        -sigmoid(-(real @ w)) * real
        + sigmoid(fake @ w) * fake
        + 2 * weight * (real_gap * (real_t - real) + fake_gap * (fake_t - fake))
    ).mean(axis=0)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(dense.kernel)[:, 0],
        w[:, 0] - learning_rate * gradient,
        atol=1e-5,
    )


def test_consistency_regularisation_is_left_out_of_test_steps(small_dcgan, images):
    gan = kgan.GAN(*small_dcgan(normalization=None), seed=0, consistency_weight=10.0)
    gan.compile()
    assert "consistency" in gan.train_on_batch(images(8), return_dict=True)
    assert "consistency" not in gan.evaluate(images(8), verbose=0, return_dict=True)


# ---------------------------------------------------------------------- DiffAugment


class _Recorder(keras.layers.Layer):
    """Passes its input through, keeping a copy of every training-mode batch (run eagerly)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def call(self, inputs, training=None):
        if training:
            self.seen.append(keras.ops.convert_to_numpy(inputs))
        return inputs


@pytest.mark.parametrize(
    "cls, kwargs, calls",
    [
        # Discriminator step: real, fake, R1 on real; generator step: fake.
        (kgan.GAN, {"r1_weight": 1.0}, 4),
        # Critic step: real, fake, gradient-penalty interpolates; generator step: fake.
        (kgan.WGANGP, {"n_critic": 1}, 4),
    ],
)
def test_augmentation_reaches_every_discriminator_input_in_training_only(cls, kwargs, calls):
    generator = dcgan_generator((8, 8, 1), latent_dim=4, base_filters=4)
    recorder = _Recorder()
    discriminator = keras.Sequential(
        [keras.Input((8, 8, 1)), recorder, keras.layers.Flatten(), keras.layers.Dense(1)]
    )
    model = cls(generator, discriminator, augment="cutout", **kwargs)
    model.compile(run_eagerly=True)
    data = np.random.default_rng(0).uniform(0.1, 1.0, (4, 8, 8, 1)).astype("float32")
    model.train_on_batch(data)
    assert len(recorder.seen) == calls
    for batch in recorder.seen:
        # The cutout square (at least 2x2 of it inside the image) is zero in every image.
        assert ((batch == 0).sum(axis=(1, 2, 3)) >= 4).all()
    # Inference: `generate` neither augments nor calls the discriminator.
    z = np.random.default_rng(1).normal(size=(3, 4)).astype("float32")
    np.testing.assert_array_equal(
        model.generate(z=z), keras.ops.convert_to_numpy(generator(z, training=False))
    )
    assert len(recorder.seen) == calls


# ---------------------------------------------------------------------- spectral normalisation


def _largest_singular_value(kernel):
    kernel = keras.ops.convert_to_numpy(kernel)
    return np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]


def _kernels(network):
    return [
        layer.kernel
        for layer in network._flatten_layers()
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))
    ]


@pytest.mark.parametrize(
    "build",
    [
        lambda sn: dcgan_discriminator((8, 8, 1), base_filters=4, spectral_norm=sn),
        lambda sn: mlp_discriminator((8, 8, 1), hidden_units=(16, 8), spectral_norm=sn),
    ],
)
def test_spectral_norm_wraps_every_layer_and_training_normalises_them(build):
    discriminator = build(True)
    wrappers = [
        layer
        for layer in discriminator._flatten_layers()
        if isinstance(layer, keras.layers.SpectralNormalization)
    ]
    assert {id(w.layer) for w in wrappers} == {
        id(layer)
        for layer in discriminator._flatten_layers()
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))
    }
    assert discriminator.output.dtype == "float32"
    data = np.random.default_rng(0).uniform(-1, 1, (64, 8, 8, 1)).astype("float32")
    norms = {}
    for sn in (False, True):
        discriminator = build(sn)
        gan = kgan.GAN(dcgan_generator((8, 8, 1), 4, base_filters=4), discriminator, seed=0)
        gan.compile(keras.optimizers.Adam(1e-5), keras.optimizers.Adam(1e-5))
        gan.fit(data, batch_size=8, epochs=1, verbose=0)  # 8 steps, 3 training calls each.
        norms[sn] = [_largest_singular_value(k) for k in _kernels(discriminator)]
    np.testing.assert_allclose(norms[True], 1.0, atol=0.1)
    assert not np.allclose(norms[False], 1.0, atol=0.1)


# ---------------------------------------------------------------------- saving and export


def test_stabilised_models_round_trip_and_export(tmp_path):
    generator = dcgan_generator((8, 8, 1), 4, base_filters=4)
    discriminator = dcgan_discriminator(
        (8, 8, 1), base_filters=4, normalization=None, spectral_norm=True
    )
    options = {
        "loss": "hinge",
        "augment": "color,translation,cutout",
        "r1_weight": 0.5,
        "r2_weight": 0.25,
        "penalty_interval": 2,
        "consistency_weight": 10.0,
        "ema_decay": 0.9,
        "ema_statistics": "recompute",
        "ema_warmup": False,
    }
    gan = kgan.GAN(generator, discriminator, seed=1, **options)
    gan.compile()
    data = np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    history = gan.fit(data, batch_size=8, epochs=1, verbose=0).history
    assert {"r1", "r2", "consistency"} <= set(history)
    path = tmp_path / "stabilised.keras"
    gan.save(path)
    loaded = keras.saving.load_model(path)
    config = loaded.get_config()
    assert {name: config[name] for name in options} == options
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded.discriminator(data)),
        keras.ops.convert_to_numpy(gan.discriminator(data)),
        atol=1e-6,
    )
    np.testing.assert_allclose(loaded.generate(4, seed=0), gan.generate(4, seed=0), atol=1e-6)

    version = export.to_saved_model(loaded, tmp_path / "export")
    assert export.read_metadata(version)["training"]["config"]["augment"] == options["augment"]


def test_gan_takes_a_loss_family_object(small_dcgan, images):
    """A family passed as an object trains, its declarations decide the label options and the
    metrics, and the config stores its name."""
    hinge = kgan.losses.get("hinge")
    family = kgan.losses.LossFamily(
        "test_hinge_object", hinge.discriminator, hinge.generator, probabilities=True
    )
    gan = kgan.GAN(*small_dcgan(), loss=family, seed=0)
    assert gan.loss_family is family and gan.get_config()["loss"] == "test_hinge_object"
    gan.compile()
    logs = gan.train_on_batch(images(8), return_dict=True)
    assert 0.0 <= float(logs["d_real"]) <= 1.0  # sigmoid(D), as `probabilities` declares
    with pytest.raises(ValueError, match="loss='test_hinge_object', label_smoothing=0.1"):
        kgan.GAN(*small_dcgan(), loss=family, label_smoothing=0.1)


def test_relativistic_gan_trains(small_dcgan, images):
    gan = kgan.GAN(*small_dcgan(normalization=None), loss="relativistic", seed=0)
    gan.compile()
    history = gan.fit(images(32), batch_size=8, epochs=2, verbose=0)
    assert all(math.isfinite(v) for values in history.history.values() for v in values)
    assert gan.get_config()["loss"] == "relativistic"
    logs = gan.evaluate(images(8), batch_size=8, verbose=0, return_dict=True)
    assert math.isfinite(logs["g_loss"]) and math.isfinite(logs["d_loss"])


def test_r1_with_batch_norm_warns_and_names_the_alternative():
    generator = dcgan_generator((16, 16, 1), 4, base_filters=4)
    batch_norm = dcgan_discriminator((16, 16, 1), base_filters=4, normalization="batch")
    with pytest.warns(UserWarning, match="R1 / R2 penalty.*normalization=None or 'layer'"):
        kgan.GAN(generator, batch_norm, r1_weight=1.0)
    layer_norm = dcgan_discriminator((16, 16, 1), base_filters=4, normalization="layer")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kgan.GAN(generator, layer_norm, r2_weight=1.0)
        kgan.GAN(generator, batch_norm)


def test_instance_noise_changes_without_retracing(small_dcgan, images):
    """Setting `instance_noise` between steps changes the next step (compared with a twin
    model that keeps its noise) and does not trace the train step again."""
    logs = {}
    for name, later_noise in (("annealed", 0.0), ("kept", 1.0)):
        keras.utils.set_random_seed(0)
        gan = kgan.GAN(*small_dcgan(normalization=None), instance_noise=1.0, seed=0)
        gan.compile()
        traces = []
        train_step = gan.train_step

        def counting_step(data, train_step=train_step, traces=traces):
            traces.append(1)  # Python runs only while the step is traced.
            return train_step(data)

        gan.train_step = counting_step
        gan.train_on_batch(images(8))
        gan.instance_noise = later_noise
        logs[name] = gan.train_on_batch(images(8), return_dict=True)
        assert len(traces) == 1 and gan.instance_noise == later_noise
        assert gan.get_config()["instance_noise"] == 1.0
    assert logs["annealed"]["d_real"] != logs["kept"]["d_real"]
    with pytest.raises(ValueError, match="Received: instance_noise=0.1"):
        kgan.GAN(*small_dcgan()).instance_noise = 0.1


def test_instance_noise_is_saved_with_the_model(small_dcgan, tmp_path):
    gan = kgan.GAN(*small_dcgan(), instance_noise=0.5)
    gan.instance_noise = 0.25
    gan.save(tmp_path / "gan.keras")
    assert keras.saving.load_model(tmp_path / "gan.keras").instance_noise == 0.25

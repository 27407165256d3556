"""One `GAN` train step against the update computed by hand.

The networks are linear, so every gradient has a closed form:

    D(x) = w . x + b            (one logit)
    G(z) = K z + c, with K = 0   (every generated sample is c, whatever the noise)

and both optimisers are plain SGD, which applies `-learning_rate * gradient` with nothing to
hide a wrong scale. A step on a batch `x_1..x_B` then updates, with r_i = D(x_i), f = D(c):

    grad_w = mean_i[(sigmoid(r_i) - t_real,i) x_i] + mean_i[sigmoid(f) - t_fake,i] c
    grad_b = mean_i[sigmoid(r_i) - t_real,i] + mean_i[sigmoid(f) - t_fake,i]

and the generator's bias against the *updated* discriminator (w', b'), with f' = w' . c + b':

    grad_c = dloss/df' * w'    (non-saturating: sigmoid(f') - 1; minimax: -sigmoid(f'))
"""

import keras
import numpy as np
import pytest

import kgan

# ---------------------------------------------------------------------------- helpers


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, "float64")))


def _softplus(x):
    return np.log1p(np.exp(np.asarray(x, "float64")))


def _linear_gan(w, b, c, latent_dim=2, **kwargs):
    """A `GAN` with D(x) = w . x + b and G(z) = 0 z + c, compiled with SGD."""
    w, c = np.asarray(w, "float32"), np.asarray(c, "float32")
    z = keras.Input((latent_dim,))
    samples = keras.layers.Dense(
        len(c), kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(c)
    )(z)
    x = keras.Input((len(w),))
    logits = keras.layers.Dense(
        1,
        kernel_initializer=keras.initializers.Constant(w.reshape(-1, 1)),
        bias_initializer=keras.initializers.Constant(b),
    )(x)
    return kgan.GAN(keras.Model(z, samples), keras.Model(x, logits), seed=0, **kwargs)


def _one_step(gan, x, d_learning_rate, g_learning_rate):
    """Compiles with SGD, trains on `x` as one batch; returns the step's logs and the updated
    `(w, b)` of the discriminator and `c` of the generator."""
    gan.compile(keras.optimizers.SGD(d_learning_rate), keras.optimizers.SGD(g_learning_rate))
    history = gan.fit(x, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    assert int(gan.d_optimizer.iterations) == 1 and int(gan.g_optimizer.iterations) == 1
    kernel, bias = gan.discriminator.get_weights()
    logs = {name: values[0] for name, values in history.history.items()}
    return logs, kernel.ravel().astype("float64"), float(bias[0]), gan.generator.get_weights()[1]


# ---------------------------------------------------------------------------- the plain step

RNG = np.random.default_rng(0)
FEATURES, BATCH = 4, 8
# Real samples that the discriminator rates high (D(x) about 0.8) and a generated sample c it
# rates low (D(c) about 0.3), so that swapping the two is visible in every number below.
X = (np.array([0.6, -0.4, 0.5, 0.2]) + 0.2 * RNG.uniform(-1, 1, (BATCH, FEATURES))).astype(
    "float32"
)
W0 = np.array([1.2, -0.9, 1.0, 0.4])
B0 = -0.2
C0 = np.array([-0.3, 0.2, -0.1, 0.1])
D_LR, G_LR = 0.5, 0.7


def _hand_step(real_target=1.0, generator_loss="non_saturating", discriminator_weights=None):
    """The plain step computed by hand (see the module docstring)."""
    r = X @ W0 + B0
    f = C0 @ W0 + B0
    grad_w = ((_sigmoid(r) - real_target)[:, None] * X).mean(0) + _sigmoid(f) * C0
    grad_b = (_sigmoid(r) - real_target).mean() + _sigmoid(f)
    w1, b1 = W0 - D_LR * grad_w, B0 - D_LR * grad_b
    # The generator's step is taken against the discriminator given here (the updated one by
    # default).
    w_g, b_g = discriminator_weights or (w1, b1)
    f1 = C0 @ w_g + b_g
    if generator_loss == "non_saturating":
        dloss_df, g_loss = _sigmoid(f1) - 1.0, _softplus(-f1)
    else:
        dloss_df, g_loss = -_sigmoid(f1), -_softplus(f1)
    c1 = C0 - G_LR * dloss_df * w_g
    d_loss = (real_target * _softplus(-r) + (1 - real_target) * _softplus(r)).mean() + _softplus(f)
    logs = {"d_loss": d_loss, "g_loss": g_loss, "d_real": _sigmoid(r).mean(), "d_fake": _sigmoid(f)}
    return logs, w1, b1, c1


@pytest.mark.parametrize(
    "kwargs, real_target, generator_loss",
    [
        ({}, 1.0, "non_saturating"),
        ({"label_smoothing": 0.2}, 0.8, "non_saturating"),
        ({"generator_loss": "minimax"}, 1.0, "minimax"),
    ],
    ids=["plain", "label_smoothing", "minimax"],
)
def test_gan_step_equals_the_update_computed_by_hand(kwargs, real_target, generator_loss):
    logs, w1, b1, c1 = _one_step(_linear_gan(W0, B0, C0, **kwargs), X, D_LR, G_LR)
    expected_logs, expected_w, expected_b, expected_c = _hand_step(real_target, generator_loss)
    np.testing.assert_allclose(w1, expected_w, rtol=1e-5, atol=1e-6)
    assert b1 == pytest.approx(expected_b, abs=1e-6)
    np.testing.assert_allclose(c1, expected_c, rtol=1e-5, atol=1e-6)
    # The reported numbers: d_loss, g_loss, and mean D(x) and D(G(z)) of the discriminator's
    # step, each against its own hand value (so a swap of d_real and d_fake shows).
    for name, value in expected_logs.items():
        assert logs[name] == pytest.approx(value, rel=1e-5), name
    assert logs["d_real"] > 0.7 and logs["d_fake"] < 0.4


def test_generator_steps_against_the_updated_discriminator():
    _, _, _, c1 = _one_step(_linear_gan(W0, B0, C0), X, D_LR, G_LR)
    _, _, _, against_updated = _hand_step()
    _, _, _, against_old = _hand_step(discriminator_weights=(W0, B0))
    # The two hand values are far apart, so the comparison can tell them apart.
    assert np.abs(against_updated - against_old).max() > 0.05
    np.testing.assert_allclose(c1, against_updated, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------- random targets

# Real samples 0.5 e_i (one coordinate per example) and c = 0: the discriminator's update then
# reveals every real example's target and the mean fake target:
#     t_real,i = sigmoid(r_i) - B grad_w[i] / 0.5
#     mean t_fake = sigmoid(f) + mean_i(sigmoid(r_i) - t_real,i) - grad_b
ONE_HOT_BATCH = 64
ONE_HOT_SCALE = 0.5


def _targets_seen_by_the_step(**kwargs):
    """`(t_real per example, mean t_fake)` that one step's update implies."""
    x = (ONE_HOT_SCALE * np.eye(ONE_HOT_BATCH)).astype("float32")
    w0 = np.random.default_rng(1).normal(0.0, 1.0, ONE_HOT_BATCH)
    b0 = 0.1
    gan = _linear_gan(w0, b0, np.zeros(ONE_HOT_BATCH), **kwargs)
    _, w1, b1, _ = _one_step(gan, x, 1.0, 1.0)
    w0 = w0.astype("float32").astype("float64")  # The float32 start the variables held.
    d_real = _sigmoid(ONE_HOT_SCALE * w0 + b0)
    real_targets = d_real - ONE_HOT_BATCH * (w0 - w1) / ONE_HOT_SCALE
    fake_target = _sigmoid(b0) + (d_real - real_targets).mean() - (b0 - b1)
    return real_targets, fake_target


def test_default_targets_are_one_and_zero():
    real, fake = _targets_seen_by_the_step()
    np.testing.assert_allclose(real, 1.0, atol=1e-4)
    assert fake == pytest.approx(0.0, abs=1e-4)


def test_label_noise_gives_every_example_its_own_target():
    real, fake = _targets_seen_by_the_step(label_smoothing=0.1, label_noise=0.2)
    # Real targets from U(0.7, 0.9), one per example; fake targets from U(0, 0.2).
    assert real.min() >= 0.7 - 1e-4 and real.max() <= 0.9 + 1e-4
    assert real.std() > 0.03  # Not one shared target: U(0.7, 0.9) has std 0.058.
    assert real.mean() == pytest.approx(0.8, abs=0.025)
    assert fake == pytest.approx(0.1, abs=0.025)


def test_label_flipping_swaps_the_targets_of_some_examples():
    real, fake = _targets_seen_by_the_step(label_flip_prob=0.25)
    flipped = np.abs(real) < 1e-4
    assert np.all(flipped | (np.abs(real - 1.0) < 1e-4))  # Each real target is 0 or 1.
    assert 6 <= flipped.sum() <= 26  # About a quarter of 64.
    # A flipped example's fake target is 1: the mean fake target is the share flipped.
    assert fake == pytest.approx(flipped.mean(), abs=1e-4)


# ---------------------------------------------------------------------------- instance noise


def test_instance_noise_reaches_real_and_fake_inputs_of_both_steps():
    """With w = 0 and b = 0 every logit is 0 whatever the noise, so the discriminator's
    gradient is exactly

        grad_w = 0.5 (c - x) + (sigma / 2B) sum_i (m_i - n_i)

    for noise n_i on the real and m_i on the generated inputs: a deviation from 0.5 (c - x)
    with standard deviation sigma / sqrt(2B) per coordinate (sigma / (2 sqrt(B)) were only one
    of the two inputs noised).
    """
    features, batch, sigma = 512, 16, 0.2
    x = np.full((batch, features), 0.5, "float32")
    c = np.full(features, 0.5)
    gan = _linear_gan(np.zeros(features), 0.0, c, instance_noise=sigma)
    d_learning_rate, g_learning_rate = 10.0, 1.0
    _, w1, b1, c1 = _one_step(gan, x, d_learning_rate, g_learning_rate)
    deviation = -w1 / d_learning_rate - 0.5 * (c - 0.5)
    expected_std = sigma / np.sqrt(2 * batch)
    assert deviation.std() == pytest.approx(expected_std, rel=0.15)
    assert abs(deviation.mean()) < 4 * expected_std / np.sqrt(features)
    assert b1 == pytest.approx(0.0, abs=1e-6)  # mean(0.5 - 1) + mean(0.5 - 0) = 0.
    # The generator's step: grad_c = mean_i(sigmoid(w1 . (c + sigma m_i) + b1) - 1) w1, a
    # multiple of w1. Without noise on its input that multiple would be sigmoid(w1 . c) - 1.
    multiple = -((c1 - c) @ w1) / (g_learning_rate * (w1 @ w1))
    np.testing.assert_allclose(c1 - c, -g_learning_rate * multiple * w1, atol=1e-5)
    noiseless = _sigmoid(w1 @ c + b1) - 1.0
    assert -1.0 < multiple < 0.0 and abs(multiple - noiseless) > 1e-3

"""What `WGAN` and `WGANGP` promise: `n_critic` critic updates against fresh noise, then one
generator update against the updated critic; the sign of `wasserstein`; the drift term; and
learning a known distribution.

The exact tests use a linear critic C(x) = w . x + b and a generator G(z) = 0 z + c (every
sample is c), trained with plain SGD. The critic's loss C(c) - C(x) then has the constant
gradient (c - mean x) in w, so k critic updates move w by exactly -k lr (c - mean x); the
generator's loss -C(c) has the gradient -w in c. Every real example is the same vector x, so
the result does not depend on how the real batch is shared out between the critic updates.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan.models import mlp_discriminator, mlp_generator

X = np.array([0.5, -0.2, 0.3])
C0 = np.array([-0.1, 0.4, 0.2])
W0 = np.array([0.3, -0.5, 0.4])
B0 = 0.1
D_LR, G_LR = 0.1, 0.2


def _linear_networks(w, b, c, latent_dim=2):
    z = keras.Input((latent_dim,))
    samples = keras.layers.Dense(
        len(c), kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(c)
    )(z)
    x = keras.Input((len(w),))
    scores = keras.layers.Dense(
        1,
        kernel_initializer=keras.initializers.Constant(np.reshape(w, (-1, 1))),
        bias_initializer=keras.initializers.Constant(b),
    )(x)
    return keras.Model(z, samples), keras.Model(x, scores)


def _one_generator_step(model, batch=4):
    """Trains until the generator has been updated once; returns the step's logs."""
    model.compile(keras.optimizers.SGD(D_LR), keras.optimizers.SGD(G_LR))
    real = np.tile(X, (batch * model.n_critic, 1)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices(real).repeat().batch(batch)
    history = model.fit(dataset, epochs=1, steps_per_epoch=1, verbose=0)
    assert int(model.g_optimizer.iterations) == 1
    return {name: values[0] for name, values in history.history.items()}


def _critic_weights(model):
    kernel, bias = model.discriminator.get_weights()
    return kernel.ravel().astype("float64"), float(bias[0])


CASES = [
    (kgan.WGAN, {"clip_value": 10.0}),  # A box far wider than the weights: clipping is idle.
    (kgan.WGANGP, {"gradient_penalty_weight": 0.0}),
]


@pytest.mark.parametrize("cls, kwargs", CASES, ids=["WGAN", "WGANGP"])
@pytest.mark.parametrize("n_critic", [1, 3])
def test_wasserstein_step_equals_the_update_computed_by_hand(cls, kwargs, n_critic):
    model = cls(*_linear_networks(W0, B0, C0), n_critic=n_critic, seed=0, **kwargs)
    logs = _one_generator_step(model)
    # n_critic critic updates for the one generator update.
    assert int(model.d_optimizer.iterations) == n_critic
    w, b = _critic_weights(model)
    expected_w = W0 - n_critic * D_LR * (C0 - X)
    np.testing.assert_allclose(w, expected_w, rtol=1e-5, atol=1e-6)
    assert b == pytest.approx(B0, abs=1e-6)  # C(c) - C(x) does not depend on b.
    # The generator's update uses the critic after its n_critic updates.
    np.testing.assert_allclose(model.generator.get_weights()[1], C0 + G_LR * expected_w, rtol=1e-5)
    # The metrics describe the last critic update, taken with the weights before it.
    w_last = W0 - (n_critic - 1) * D_LR * (C0 - X)
    assert logs["wasserstein"] == pytest.approx(w_last @ (X - C0), rel=1e-5)
    assert logs["d_loss"] == pytest.approx(w_last @ (C0 - X), rel=1e-5)
    assert logs["g_loss"] == pytest.approx(-(expected_w @ C0 + B0), rel=1e-5)


def test_wasserstein_is_positive_when_the_critic_rates_real_above_fake():
    # C(x) = 2 x_0: real samples at x_0 = 0.5 score 1, generated ones at x_0 = -0.5 score -1.
    w, x, c = np.array([2.0, 0.0, 0.0]), np.array([0.5, 0, 0]), np.array([-0.5, 0, 0])
    model = kgan.WGANGP(*_linear_networks(w, 0.0, c), n_critic=1, gradient_penalty_weight=0.0)
    model.compile(keras.optimizers.SGD(0.0), keras.optimizers.SGD(0.0))
    history = model.fit(np.tile(x, (4, 1)).astype("float32"), batch_size=4, verbose=0)
    assert history.history["wasserstein"][0] == pytest.approx(2.0)  # C(x) - C(G(z)) = 1 - (-1).
    assert history.history["d_loss"][0] == pytest.approx(-2.0)
    assert history.history["g_loss"][0] == pytest.approx(1.0)  # -C(G(z)).


def test_n_critic_holds_over_many_steps():
    generator = mlp_generator((2,), latent_dim=2, hidden_units=(4,))
    model = kgan.WGAN(generator, mlp_discriminator((2,), hidden_units=(4,)), n_critic=3)
    model.compile()
    points = np.random.default_rng(0).uniform(-1, 1, (64, 2)).astype("float32")
    model.fit(points, batch_size=8, epochs=2, verbose=0)
    steps = int(model.g_optimizer.iterations)
    assert steps > 1 and int(model.d_optimizer.iterations) == 3 * steps


def test_drift_weight_enters_the_critic_loss():
    """WGAN-GP with only the drift term: per example C(c) - C(x) + drift C(x)^2, whose gradient
    is (c - x) + 2 drift C(x) x in w and 2 drift C(x) in b."""
    drift = 0.5
    model = kgan.WGANGP(
        *_linear_networks(W0, B0, C0),
        n_critic=1,
        gradient_penalty_weight=0.0,
        drift_weight=drift,
    )
    logs = _one_generator_step(model)
    score = W0 @ X + B0
    w, b = _critic_weights(model)
    np.testing.assert_allclose(w, W0 - D_LR * (C0 - X + 2 * drift * score * X), rtol=1e-5)
    assert b == pytest.approx(B0 - D_LR * 2 * drift * score, rel=1e-5)
    assert logs["drift"] == pytest.approx(drift * score**2, rel=1e-5)
    assert logs["d_loss"] == pytest.approx(W0 @ (C0 - X) + drift * score**2, rel=1e-5)


class _RecordingGenerator(keras.Model):
    """Wraps a generator and keeps a copy of every latent batch it is called with."""

    def __init__(self, inner, **kwargs):
        super().__init__(**kwargs)
        self.inner = inner
        self.seen = []

    def call(self, z, training=False):
        self.seen.append(np.array(z))
        return self.inner(z, training=training)


@pytest.mark.parametrize("cls", [kgan.GAN, kgan.WGANGP])
def test_every_update_draws_fresh_noise(cls):
    generator = _RecordingGenerator(mlp_generator((2,), latent_dim=3, hidden_units=(4,)))
    kwargs = {} if cls is kgan.GAN else {"n_critic": 3}
    model = cls(
        generator, mlp_discriminator((2,), hidden_units=(4,)), latent_dim=3, seed=0, **kwargs
    )
    model.compile(run_eagerly=True)  # Eager steps: the generator sees concrete noise.
    generator.seen.clear()  # Forget the calls of the model's construction.
    points = np.random.default_rng(0).uniform(-1, 1, (48, 2)).astype("float32")
    model.fit(points, batch_size=8, epochs=1, verbose=0)
    # One generator call per critic update and one for the generator's update (n_critic + 1,
    # or 2 for GAN), each on noise never seen before.
    steps = int(model.g_optimizer.iterations)
    assert steps >= 2 and len(generator.seen) == (getattr(model, "n_critic", 1) + 1) * steps
    assert len({z.tobytes() for z in generator.seen}) == len(generator.seen)
    values = np.concatenate([z.ravel() for z in generator.seen])
    assert values.std() == pytest.approx(1.0, abs=0.3)  # Normal noise, not zeros.


# ---------------------------------------------------------------------------- learning


class _SampleMeans(keras.callbacks.Callback):
    """Keeps the mean of the model's samples (fixed noise) at the end of every epoch."""

    def __init__(self):
        super().__init__()
        self.means = []

    def on_epoch_end(self, epoch, logs=None):
        self.means.append(self.model.generate(2000, seed=1).mean(axis=0))


def test_wgan_gp_learns_a_gaussian():
    """An MLP WGAN-GP on N((2, -1), 0.5^2 I) moves its samples onto the data's, and the critic's
    estimate of the Wasserstein distance shrinks on the way (320 generator steps).

    In one dimension the two-sided penalty would trap a critic that starts with the wrong
    slope (turning it round means crossing zero slope, penalised by lambda); in two the
    gradient can turn round at unit norm. Near the data the samples circle it by a few tenths
    (the critic's slope stays about 1 there), so the last epochs are judged on average.
    """
    keras.utils.set_random_seed(0)
    target = np.array([2.0, -1.0])
    data = (np.random.default_rng(0).normal(size=(2048, 2)) * 0.5 + target).astype("float32")
    generator = mlp_generator((2,), latent_dim=2, hidden_units=(16,), output_activation=None)
    critic = mlp_discriminator((2,), hidden_units=(16,))
    model = kgan.WGANGP(generator, critic, n_critic=5, ema_decay=0.98, seed=0)
    model.compile(
        keras.optimizers.Adam(1e-2, beta_1=0.0, beta_2=0.9),
        keras.optimizers.Adam(2e-3, beta_1=0.0, beta_2=0.9),
    )
    before = model.generate(2000, seed=1)
    assert np.linalg.norm(before.mean(axis=0) - target) > 2.0  # It starts far from the data.
    dataset = tf.data.Dataset.from_tensor_slices(data).shuffle(2048, seed=0).repeat().batch(64)
    means = _SampleMeans()
    history = model.fit(dataset, epochs=10, steps_per_epoch=32, verbose=0, callbacks=[means])
    distances = [np.linalg.norm(mean - target) for mean in means.means]
    assert max(distances[-4:]) < 0.6
    assert np.linalg.norm(np.mean(means.means[-4:], axis=0) - target) < 0.3
    after = model.generate(2000, seed=1)
    assert np.all((after.std(axis=0) > 0.25) & (after.std(axis=0) < 0.9))
    estimates = history.history["wasserstein"]
    assert estimates[0] > 1.0 and np.mean(np.abs(estimates[-4:])) < 0.4

"""Losses against values computed by hand with the math module."""

import math

import numpy as np
import pytest
import tensorflow as tf

from kgan import losses


def softplus(x):
    return math.log1p(math.exp(x))


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def test_discriminator_loss_matches_hand_computation():
    real, fake = 2.0, -1.0
    # -log D(x) - log(1 - D(G(z))) with D = sigmoid.
    expected = -math.log(sigmoid(real)) - math.log(1 - sigmoid(fake))
    value = losses.minimax_discriminator_loss([[real]], [[fake]]).numpy()
    assert value.shape == (1,)
    assert value[0] == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx(softplus(-2.0) + softplus(-1.0))


def test_discriminator_loss_with_smoothed_targets():
    real, fake = 0.5, 0.3
    t = 0.9
    expected = -(t * math.log(sigmoid(real)) + (1 - t) * math.log(1 - sigmoid(real)))
    expected += -math.log(1 - sigmoid(fake))
    value = losses.minimax_discriminator_loss([[real]], [[fake]], real_targets=0.9).numpy()[0]
    assert value == pytest.approx(expected, rel=1e-6)


def test_generator_losses_match_hand_computation():
    logits = [[1.5], [-3.0]]
    ns = losses.non_saturating_generator_loss(logits).numpy()
    mm = losses.minimax_generator_loss(logits).numpy()
    for i, logit in enumerate([1.5, -3.0]):
        assert ns[i] == pytest.approx(-math.log(sigmoid(logit)), rel=1e-6)
        assert mm[i] == pytest.approx(math.log(1 - sigmoid(logit)), rel=1e-6)


def test_losses_are_stable_for_extreme_logits():
    extreme = [[100.0], [-100.0]]
    for value in (
        losses.minimax_discriminator_loss(extreme, extreme),
        losses.non_saturating_generator_loss(extreme),
        losses.minimax_generator_loss(extreme),
    ):
        assert np.all(np.isfinite(value.numpy()))
    # -log sigmoid(-100) = 100 (not inf).
    assert losses.non_saturating_generator_loss([[-100.0]]).numpy()[0] == pytest.approx(100.0)


def test_wasserstein_losses():
    real = [[3.0], [1.0]]
    fake = [[0.5], [2.0]]
    np.testing.assert_allclose(losses.wasserstein_discriminator_loss(real, fake), [-2.5, 1.0])
    np.testing.assert_allclose(losses.wasserstein_generator_loss(fake), [-0.5, -2.0])
    np.testing.assert_allclose(losses.drift_penalty(real), [9.0, 1.0])


@pytest.mark.parametrize("w", [[3.0, 4.0], [0.6, 0.8], [0.0, 0.1]])
def test_gradient_penalty_on_linear_critic(w):
    """For f(x) = w.x the gradient is w everywhere, so the penalty is (||w|| - 1)^2."""
    w = tf.constant(w)

    def critic(x):
        return tf.reduce_sum(x * w, axis=1, keepdims=True)

    real = tf.random.normal([5, 2])
    fake = tf.random.normal([5, 2])
    alpha = tf.random.uniform([5])
    penalty = losses.gradient_penalty(critic, real, fake, alpha).numpy()
    norm = float(tf.norm(w))
    np.testing.assert_allclose(penalty, (norm - 1.0) ** 2, rtol=1e-5, atol=1e-6)


def test_gradient_penalty_interpolates_per_example_on_images():
    """A critic f(x) = sum(x^2) has gradient 2x: the penalty checks where the interpolate is."""

    def critic(x):
        return tf.reduce_sum(tf.square(x), axis=[1, 2, 3])[:, None]

    real = tf.ones([2, 2, 2, 1])
    fake = tf.zeros([2, 2, 2, 1])
    alpha = tf.constant([0.25, 1.0])
    # x_hat = alpha * 1; grad = 2 * alpha in 4 pixels; norm = 4 * alpha.
    expected = [(4 * 0.25 - 1) ** 2, (4 * 1.0 - 1) ** 2]
    np.testing.assert_allclose(
        losses.gradient_penalty(critic, real, fake, alpha), expected, rtol=1e-5
    )


def test_gradient_penalty_is_finite_where_the_critic_is_flat():
    """With a zero gradient the epsilon inside the square root keeps the gradient finite."""
    v = tf.Variable(0.0)

    def critic(x):
        return tf.reduce_sum(x * v, axis=1, keepdims=True)

    with tf.GradientTape() as tape:
        penalty = tf.reduce_mean(
            losses.gradient_penalty(critic, tf.ones([3, 2]), tf.zeros([3, 2]), tf.ones([3]) * 0.5)
        )
    grad = tape.gradient(penalty, v)
    assert penalty.numpy() == pytest.approx(1.0, rel=1e-4)
    assert np.isfinite(grad.numpy())


def test_hinge_losses_match_hand_computation():
    real = [[2.0], [0.25], [-1.0]]
    fake = [[-3.0], [0.5], [-0.5]]
    # max(0, 1 - D(x)) + max(0, 1 + D(G(z))): 0 + 0, 0.75 + 1.5, 2 + 0.5.
    np.testing.assert_allclose(losses.hinge_discriminator_loss(real, fake), [0.0, 2.25, 2.5])
    np.testing.assert_allclose(losses.hinge_generator_loss(fake), [3.0, -0.5, 0.5])


def test_hinge_loss_gives_every_score_its_margin():
    """Two scores per example: mean(max(0, 1 - D)) rather than max(0, 1 - mean D)."""
    real = [[2.0, -1.0], [0.0, 0.5]]
    fake = [[-3.0, 1.0], [0.0, 0.0]]
    # Real: mean(0, 2) = 1, mean(1, 0.5) = 0.75; fake: mean(0, 2) = 1, mean(1, 1) = 1.
    np.testing.assert_allclose(losses.hinge_discriminator_loss(real, fake), [2.0, 1.75])


def test_least_squares_losses_match_hand_computation():
    real = [[0.5], [2.0]]
    fake = [[-1.0], [0.25]]
    # a = 0, b = c = 1: 1/2 (D(x) - 1)^2 + 1/2 D(G(z))^2.
    np.testing.assert_allclose(
        losses.least_squares_discriminator_loss(real, fake), [0.625, 0.53125]
    )
    np.testing.assert_allclose(losses.least_squares_generator_loss(fake), [2.0, 0.28125])
    # a = -1, b = 1, c = 0: 1/2 (D(x) - 1)^2 + 1/2 (D(G(z)) + 1)^2 and 1/2 D(G(z))^2.
    np.testing.assert_allclose(
        losses.least_squares_discriminator_loss(real, fake, fake_targets=-1.0), [0.125, 1.28125]
    )
    np.testing.assert_allclose(
        losses.least_squares_generator_loss(fake, targets=0.0), [0.5, 0.03125]
    )


def test_least_squares_targets_may_be_per_example():
    real = [[1.0], [1.0]]
    fake = [[0.0], [0.0]]
    targets = [[0.5], [1.0]]
    np.testing.assert_allclose(
        losses.least_squares_discriminator_loss(real, fake, real_targets=targets), [0.125, 0.0]
    )


@pytest.mark.parametrize("penalty", [losses.r1_penalty, losses.r2_penalty])
def test_zero_centred_penalties_on_linear_critic(penalty):
    """For f(x) = w.x the gradient is w everywhere: the penalty is ||w||^2 for every example."""
    w = tf.constant([3.0, -4.0, 1.0])

    def critic(x):
        return tf.reduce_sum(x * w, axis=1, keepdims=True)

    samples = tf.random.normal([4, 3])
    np.testing.assert_allclose(penalty(critic, samples), [26.0] * 4, rtol=1e-6)


def test_r1_penalty_is_per_example_on_images_and_conditional():
    """f(x, labels) = label * sum(x^2): gradient 2 * label * x, squared norm 4 label^2 sum(x^2)."""

    def critic(inputs):
        x, labels = inputs
        return (
            tf.cast(labels, tf.float32)[:, None]
            * tf.reduce_sum(tf.square(x), axis=[1, 2, 3])[:, None]
        )

    x = tf.ones([2, 2, 2, 1]) * tf.constant([0.5, 1.0])[:, None, None, None]
    labels = tf.constant([1, 2])
    # Example 0: 4 * 1 * 4 * 0.25 = 4; example 1: 4 * 4 * 4 * 1 = 64.
    np.testing.assert_allclose(losses.r1_penalty(critic, x, critic_inputs=labels), [4.0, 64.0])


def test_r1_penalty_has_a_gradient_for_the_critic():
    """The penalty's gradient with respect to w of f(x) = w.x is 2w (d/dw ||w||^2)."""
    w = tf.Variable([0.5, -2.0])

    def critic(x):
        return tf.reduce_sum(x * w, axis=1, keepdims=True)

    with tf.GradientTape() as tape:
        value = tf.reduce_mean(losses.r1_penalty(critic, tf.ones([3, 2])))
    np.testing.assert_allclose(tape.gradient(value, w), [1.0, -4.0], rtol=1e-6)


def test_get_returns_registered_families_and_family_objects():
    family = losses.get("non_saturating")
    assert family.targets and family.probabilities and not family.generator_needs_real_scores
    assert not losses.get("hinge").targets and not losses.get("least_squares").probabilities
    assert losses.get("wasserstein").lipschitz
    assert losses.get(family) is family
    assert {"non_saturating", "minimax", "hinge", "least_squares"} <= set(losses.names())
    with pytest.raises(ValueError, match="Received: loss='cross_entropy'"):
        losses.get("cross_entropy")


def test_family_passes_targets_and_real_scores_only_when_declared():
    real, fake = tf.constant([[1.0], [-1.0]]), tf.constant([[0.5], [2.0]])
    hinge = losses.get("hinge")
    np.testing.assert_allclose(
        hinge.discriminator_loss(real, fake, 0.9, 0.0), losses.hinge_discriminator_loss(real, fake)
    )
    np.testing.assert_allclose(hinge.generator_loss(None, fake), [-0.5, -2.0])
    squares = losses.get("least_squares")
    np.testing.assert_allclose(
        squares.discriminator_loss(real, fake, 0.0, 1.0),
        losses.least_squares_discriminator_loss(real, fake, real_targets=0.0, fake_targets=1.0),
    )

    def difference(real_scores, fake_scores):
        return tf.reshape(fake_scores - real_scores, [-1])

    family = losses.LossFamily(
        "test_difference", difference, difference, generator_needs_real_scores=True
    )
    np.testing.assert_allclose(family.generator_loss(real, fake), [-0.5, 3.0])


def test_register_refuses_a_second_family_under_a_taken_name():
    hinge = losses.get("hinge")
    assert losses.register(hinge) is hinge
    with pytest.raises(ValueError, match="Received: name='hinge'"):
        losses.register(losses.LossFamily("hinge", hinge.generator, hinge.discriminator))
    with pytest.raises(ValueError, match="Received: family='hinge'"):
        losses.register("hinge")


def test_relativistic_losses_match_hand_computation():
    real = tf.constant([[2.0], [0.0]])
    fake = tf.constant([[1.0], [0.5]])
    # D: softplus(-(2 - 1)) = log(1 + e^-1) = 0.3132617; softplus(-(0 - 0.5)) = 0.9740770.
    np.testing.assert_allclose(
        losses.relativistic_discriminator_loss(real, fake), [0.3132617, 0.9740770], rtol=1e-6
    )
    # G: softplus(-(1 - 2)) = log(1 + e) = 1.3132617; softplus(-(0.5 - 0)) = 0.4740770.
    np.testing.assert_allclose(
        losses.relativistic_generator_loss(real, fake), [1.3132617, 0.4740770], rtol=1e-6
    )
    family = losses.get("relativistic")
    assert family.generator_needs_real_scores and not family.targets
    np.testing.assert_allclose(family.generator_loss(real, fake), [1.3132617, 0.4740770], 1e-6)


def test_relativistic_losses_pair_scores_of_any_shape():
    real = tf.constant([[[0.0], [2.0]]])  # one example, two scores
    fake = tf.constant([[[0.0], [0.0]]])
    # mean(softplus(0), softplus(-2)) = (0.6931472 + 0.1269280) / 2.
    np.testing.assert_allclose(
        losses.relativistic_discriminator_loss(real, fake), [0.4100376], rtol=1e-6
    )

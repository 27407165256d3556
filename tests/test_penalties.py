"""`kgan.penalties.compute`: weights, the lazy interval and the terms of test steps; the
consistency term."""

import numpy as np
import pytest
import tensorflow as tf

from kgan import penalties


def _inputs():
    real = tf.ones([3, 2])

    def critic(samples):
        return tf.reduce_sum(samples * tf.constant([3.0, -4.0]), axis=1, keepdims=True)

    return penalties.PenaltyInputs(
        critic=critic,
        real=real,
        fake=-real,
        real_scores=critic(real),
        uniform=lambda batch_size: tf.fill([batch_size], 0.5),
    )


def test_terms_are_weighted_and_named():
    terms = penalties.zero_centred_terms(2.0, 0.0) + (penalties.drift_term(0.1),)
    values = penalties.compute(terms, _inputs(), training=True)
    assert list(values) == ["r1", "drift"]
    # R1: (gamma / 2) ||w||^2 = 25; drift: 0.1 * (3 - 4)^2.
    np.testing.assert_allclose(values["r1"], [25.0] * 3, rtol=1e-6)
    np.testing.assert_allclose(values["drift"], [0.1] * 3, rtol=1e-6)


def test_lazy_terms_are_computed_every_interval_steps_weighted_by_it():
    terms = penalties.zero_centred_terms(0.0, 2.0)
    for step, expected in ((0, 75.0), (1, 0.0), (2, 0.0), (3, 75.0)):
        values = penalties.compute(terms, _inputs(), training=True, interval=3, step=step)
        np.testing.assert_allclose(values["r2"], [expected] * 3, rtol=1e-6)


def test_test_steps_compute_held_out_terms_only_and_never_lazily():
    terms = penalties.zero_centred_terms(2.0, 2.0) + (penalties.gradient_penalty_term(1.0),)
    values = penalties.compute(terms, _inputs(), training=False, interval=4, step=1)
    # The critic's gradient norm is 5 everywhere: (5 - 1)^2.
    assert list(values) == ["gradient_penalty"]
    np.testing.assert_allclose(values["gradient_penalty"], [16.0] * 3, rtol=1e-5)


def test_a_zero_weight_reports_zeros():
    values = penalties.compute((penalties.gradient_penalty_term(0.0),), _inputs(), training=True)
    np.testing.assert_array_equal(values["gradient_penalty"], [0.0] * 3)


def _image_inputs(uniform=0.9, fake_scores=True):
    """Two 8x8 ramps (real: left to right, fake: top to bottom) and a critic that weighs each
    pixel by its column; every U(0, 1) draw is `uniform`."""
    ramp = np.tile(np.arange(8, dtype="float32"), (8, 1))
    real = tf.constant(np.stack([ramp, 2 * ramp])[..., None])
    fake = tf.constant(np.stack([ramp.T, -ramp.T])[..., None])
    weights = tf.constant(ramp[None, :, :, None])

    def critic(samples):
        return tf.reduce_sum(samples * weights, axis=[1, 2, 3])[:, None]

    return penalties.PenaltyInputs(
        critic=critic,
        real=real,
        fake=fake,
        real_scores=critic(real),
        uniform=lambda batch_size: tf.fill([batch_size], uniform),
        fake_scores=critic(fake) if fake_scores else None,
    )


def test_consistency_term_is_the_squared_change_of_the_scores_on_both_batches():
    """Draws of 0.9: no flip, a shift of +1 row and +1 column on 8x8 images."""
    inputs = _image_inputs()
    values = penalties.compute(penalties.consistency_terms(10.0), inputs, training=True)
    expected = []
    for samples in (inputs.real.numpy(), inputs.fake.numpy()):
        padded = np.pad(samples, [(0, 0), (1, 1), (1, 1), (0, 0)], mode="reflect")
        shifted = padded[:, 2:10, 2:10]
        expected.append((inputs.critic(shifted) - inputs.critic(samples)).numpy()[:, 0] ** 2)
    assert (expected[0] > 0).all() and (expected[1] > 0).all()
    np.testing.assert_allclose(values["consistency"], 10.0 * (expected[0] + expected[1]), rtol=1e-5)


def test_consistency_term_flips_and_is_zero_for_invariant_scores():
    """Draws of 0.4: a flip, and no shift (floor(0.4 * 3) - 1 = 0 on both axes)."""
    inputs = _image_inputs(uniform=0.4)
    values = penalties.compute(penalties.consistency_terms(1.0), inputs, training=True)
    # The critic weighs columns: the flipped real ramps score differently, the fake ramps
    # (constant along each row) score the same flipped.
    real = inputs.real.numpy()
    expected = (inputs.critic(real[:, :, ::-1]) - inputs.critic(real)).numpy()[:, 0] ** 2
    np.testing.assert_allclose(values["consistency"], expected, rtol=1e-5)
    assert penalties.consistency_terms(0.0) == ()
    assert list(penalties.compute(penalties.consistency_terms(1.0), inputs, training=False)) == []


def test_consistency_term_needs_the_fake_scores():
    with pytest.raises(ValueError, match="no `fake_scores`"):
        penalties.compute(
            penalties.consistency_terms(1.0), _image_inputs(fake_scores=False), training=True
        )

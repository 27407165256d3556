"""`kgan.penalties.compute`: weights, the lazy interval and the terms of test steps."""

import numpy as np
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

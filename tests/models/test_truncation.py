"""`generate(jacobian_truncation=share)`: leaving out the samples a generator stretches between
modes (Jacobian-based truncation, Tanielian et al. 2020)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan.models import generation, truncation


def _bridge_gan():
    """A 1-D generator G(z) = 10 tanh(5 z): two modes at -10 and +10 with a bridge between
    them at z = 0, where its Jacobian 50 / cosh(5 z)^2 is largest."""
    z = keras.Input((1,))
    hidden = keras.layers.Dense(
        1, activation="tanh", kernel_initializer=keras.initializers.Constant(5.0)
    )(z)
    output = keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(10.0))(hidden)
    generator = keras.Model(z, output, name="generator")
    discriminator = kgan.models.mlp_discriminator((1,), hidden_units=(4,))
    return kgan.GAN(generator, discriminator, seed=0)


def _batch_jacobian_norms(generator, z, labels=None):
    z = tf.constant(z)
    with tf.GradientTape() as tape:
        tape.watch(z)
        inputs = z if labels is None else [z, tf.constant(labels)]
        samples = tf.reshape(generator(inputs, training=False), [z.shape[0], -1])
    jacobian = tape.batch_jacobian(samples, z).numpy()
    return np.sqrt((jacobian**2).sum(axis=(1, 2)))


def test_the_bridge_between_two_modes_is_left_out():
    gan = _bridge_gan()
    plain = gan.generate(4000, seed=1)[:, 0]
    truncated = gan.generate(4000, seed=1, jacobian_truncation=0.3)[:, 0]
    # |z| < 0.385 holds 30% of N(0, 1); there |G(z)| < 10 tanh(5 * 0.385) = 9.58.
    assert 0.27 < np.mean(np.abs(plain) < 9.58) < 0.33
    assert np.mean(np.abs(truncated) < 9.5) < 0.005
    # Both modes keep their share.
    assert 0.45 < np.mean(truncated > 0) < 0.55


def test_norms_are_the_exact_frobenius_norm_of_the_jacobian(small_dcgan):
    generator, _ = small_dcgan(num_classes=3, latent_dim=5)
    z = np.random.default_rng(0).normal(size=(6, 5)).astype("float32")
    labels = np.array([0, 1, 2, 0, 1, 2], "int32")
    expected = _batch_jacobian_norms(generator, z, labels)
    # Batches of 4 and 2: the result does not depend on the batching.
    got = truncation.jacobian_norms(generator, z, labels, batch_size=4)
    np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_the_estimate_above_8_latent_dimensions_has_the_error_theory_predicts(small_dcgan):
    """Above `EXACT_UP_TO` latent dimensions `truncated_generate` ranks samples by
    `sqrt(S_k)`, `S_k = (1/k) sum_{m<=k} ||J v_m||^2` with `k = PROJECTIONS` directions
    `v_m ~ N(0, I)`. With `A = J^T J` (eigenvalues `s_i^2`, the squared singular values of J),
    `||J v||^2 = v^T A v = sum_i s_i^2 w_i^2` with `w ~ N(0, I)`, so `k S_k = sum_i s_i^2 X_i`,
    `X_i ~ chi^2_k` independent: `E S_k = tr A = ||J||_F^2` (unbiased) and
    `Var S_k = 2 tr(A^2) / k`. The relative standard deviation of the squared norm is
    `sqrt(2 tr(A^2) / k) / tr A`, which is `sqrt(2 / k)` (0.5 for k = 8) when J has rank one and
    `sqrt(2 / (k r))` when its r singular values are equal; that of the norm itself is about
    half of it (delta method), at most about 25% for k = 8.

    On a DCGAN generator with 12 latent dimensions, the estimate standardised by this
    per-sample theory, `t = (S_k / ||J||_F^2 - 1) / sqrt(2 tr(A^2) / k) * tr A`, has mean 0 and
    variance 1 over 2,000 latent vectors, and the estimated norms' relative error has the
    predicted size.
    """
    latent_dim, k, count = 12, truncation.PROJECTIONS, 2000
    assert latent_dim > truncation.EXACT_UP_TO
    generator, _ = small_dcgan(latent_dim=latent_dim)
    z = np.random.default_rng(0).normal(size=(count, latent_dim)).astype("float32")
    zt = tf.constant(z)
    with tf.GradientTape() as tape:
        tape.watch(zt)
        samples = tf.reshape(generator(zt, training=False), [count, -1])
    jacobian = tape.batch_jacobian(samples, zt).numpy().astype("float64")
    gram = np.einsum("nij,nik->njk", jacobian, jacobian)  # A = J^T J per sample
    trace = np.trace(gram, axis1=1, axis2=2)
    trace_of_square = np.einsum("njk,nkj->n", gram, gram)
    exact = truncation.jacobian_norms(generator, z)
    np.testing.assert_allclose(exact**2, trace, rtol=1e-4)
    estimate = truncation.jacobian_norms(generator, z, projections=k, seed=(7, 2))

    relative_sd = np.sqrt(2 * trace_of_square / k) / trace
    # The generator is neither rank one nor isotropic: the bound and the floor of the theory.
    assert np.all(relative_sd <= np.sqrt(2 / k) + 1e-9)
    assert np.all(relative_sd >= np.sqrt(2 / (k * latent_dim)) - 1e-9)
    t = (estimate**2 / trace - 1) / relative_sd
    # Mean 0 and variance 1; standard errors 1/sqrt(2000) = 0.022 and at most
    # sqrt((2 + 12 / k) / 2000) = 0.042 (the rank-one kurtosis of chi^2_k / k).
    assert abs(t.mean()) < 0.1
    assert 0.85 < t.var() < 1.15
    # The norm's relative error: root mean square about half the squared norm's.
    predicted = np.sqrt(np.mean((relative_sd / 2) ** 2))
    measured = np.sqrt(np.mean((estimate / exact - 1) ** 2))
    assert 0.85 * predicted < measured < 1.2 * predicted, (measured, predicted)


def test_same_seed_same_samples_and_labels_are_kept(small_dcgan):
    generator, discriminator = small_dcgan(num_classes=3)
    gan = kgan.GAN(generator, discriminator, num_classes=3, seed=0)
    labels = np.array([2, 0, 1, 2, 2, 0], "int32")
    first = gan.generate(6, labels=labels, seed=4, jacobian_truncation=0.5)
    again = gan.generate(6, labels=labels, seed=4, jacobian_truncation=0.5)
    np.testing.assert_array_equal(first, again)
    assert first.shape == (6, 8, 8, 1)
    assert not np.array_equal(first, gan.generate(6, labels=labels, seed=4))

    # Each slot's latent vector is accepted under its own class's threshold, with its label.
    z = truncation.truncated_generate(
        gan.inference_generator, gan, labels, count=6, share=0.5, seed=4, calibration=600
    )
    norms = truncation.jacobian_norms(gan.inference_generator, z, labels)
    reference_z = np.random.default_rng(1).normal(size=(3000, 8)).astype("float32")
    for label in range(3):
        reference = truncation.jacobian_norms(
            gan.inference_generator, reference_z, np.full(3000, label, "int32")
        )
        # The median of this class's norms, up to the calibration's sampling error.
        assert np.all(norms[labels == label] <= np.quantile(reference, 0.6))


@pytest.mark.parametrize("share", [0, 1, 1.5, -0.1, True, "0.2", None])
def test_a_share_outside_0_1_is_refused(share):
    gan = _bridge_gan()
    if share is None:
        gan.generate(3, seed=0, jacobian_truncation=share)  # None: no truncation.
        return
    with pytest.raises(ValueError, match=rf"Received: jacobian_truncation={share!r}$"):
        gan.generate(3, seed=0, jacobian_truncation=share)


def test_truncation_draws_its_own_latent_vectors():
    gan = _bridge_gan()
    with pytest.raises(ValueError, match=r"rather than `z`.*jacobian_truncation=0.2 with z"):
        gan.generate(z=np.zeros((3, 1), "float32"), jacobian_truncation=0.2)


def test_a_generator_with_non_finite_outputs_is_a_clear_error():
    gan = _bridge_gan()
    kernel = gan.inference_generator.layers[-1].kernel
    kernel.assign(np.full(kernel.shape, np.nan, "float32"))
    with pytest.raises(ValueError, match="Jacobian is not finite"):
        gan.generate(3, seed=0, jacobian_truncation=0.2)


def test_negative_seeds_work_above_8_latent_dimensions(small_dcgan):
    generator, discriminator = small_dcgan(latent_dim=12)
    gan = kgan.GAN(generator, discriminator, seed=0)
    first = gan.generate(3, seed=-1, jacobian_truncation=0.2)
    np.testing.assert_array_equal(first, gan.generate(3, seed=-1, jacobian_truncation=0.2))
    assert not np.array_equal(first, gan.generate(3, seed=1, jacobian_truncation=0.2))


def test_a_threshold_that_cannot_fit_in_memory_is_refused(monkeypatch):
    # 10,000 latent vectors of size 1 need 40,000 bytes.
    monkeypatch.setattr(generation, "available_memory", lambda: 10**4)
    gan = _bridge_gan()
    with pytest.raises(ValueError, match=r"GiB of memory. Received: num_samples=3 with latent_d"):
        gan.generate(3, seed=0, jacobian_truncation=0.2)


def test_repeated_calls_reuse_the_traced_norms():
    gan = _bridge_gan()
    gan.generate(5, seed=0, jacobian_truncation=0.2)
    function = truncation._FUNCTIONS[gan.inference_generator]
    traces = function.experimental_get_tracing_count()
    gan.generate(5, seed=1, jacobian_truncation=0.2)
    assert truncation._FUNCTIONS[gan.inference_generator] is function
    assert function.experimental_get_tracing_count() == traces


def test_a_conditional_prior_needs_labels(small_dcgan):
    generator, discriminator = small_dcgan(num_classes=3)
    gan = kgan.GAN(generator, discriminator, num_classes=3, seed=0)
    with pytest.raises(ValueError, match="Received: labels=None with num_classes=3"):
        truncation.truncated_generate(
            gan.inference_generator, gan, None, count=2, share=0.2, seed=0
        )


def _clustered_generator(frequencies):
    """A generator of latent vectors alone (`kgan.networks.latent_class_generator`) whose
    class 1 stretches space ten times as much as class 0: G(z) = s_c z^3 / 3, Jacobian norm
    s_c |z^2|, with s = (1, 10)."""
    z = keras.Input((2,))
    labels = keras.Input((), dtype="int32")
    scale = keras.layers.Embedding(2, 1, embeddings_initializer=keras.initializers.Constant(1.0))
    scale.build((None,))
    scale.set_weights([np.array([[1.0], [10.0]], "float32")])
    output = keras.layers.Multiply()([scale(labels), keras.ops.power(z, 3) / 3.0])
    conditional = keras.Model([z, labels], output, name="generator")
    return kgan.networks.latent_class_generator(conditional, frequencies)


def test_a_generator_that_draws_its_class_from_z_keeps_its_class_frequencies():
    frequencies = [0.6, 0.4]
    generator = kgan.control.as_generator(_clustered_generator(frequencies))
    drawn = generator.latent_classes
    assert drawn is not None and drawn.frequencies == frequencies
    z = truncation.truncated_generate(
        generator.network, generator, None, count=3000, share=0.25, seed=0, verbose=0
    )
    # Each class loses the same share, so the truncated samples keep the frequencies.
    assert abs(np.mean(drawn.classes_of(z) == 1) - 0.4) < 0.03
    # Each is below its own class's threshold: class 1's accepted norms go ten times as high.
    norms = truncation.jacobian_norms(generator.network, z)
    classes = drawn.classes_of(z)
    ratio = norms[classes == 1].max() / norms[classes == 0].max()
    assert 8 < ratio < 12
    # One threshold over both would take nearly all of its 25% from class 1.
    generator.latent_classes = None
    pooled = truncation.truncated_generate(
        generator.network, generator, None, count=3000, share=0.25, seed=0, verbose=0
    )
    assert np.mean(drawn.classes_of(pooled) == 1) < 0.25


def test_latents_moved_into_a_class_are_drawn_as_it():
    layer = kgan.layers.ClusterFromLatent([0.3, 0.0, 0.2, 0.5])
    latent = kgan.models.sample_latent(4000, 3, seed=0).numpy()
    classes = np.array([0, 2, 3])[np.arange(4000) % 3]
    moved = layer.within_classes(latent, classes)
    np.testing.assert_array_equal(layer.classes_of(moved), classes)
    np.testing.assert_array_equal(moved[:, 1:], latent[:, 1:])
    # Spread over the class's part of the prior: its CDF values fill [0.5, 1) for class 3.
    u = 0.5 * (1 + tf.math.erf(moved[classes == 3, 0] / np.sqrt(2.0)).numpy())
    assert 0.5 <= u.min() < 0.51 and 0.99 < u.max() < 1.0
    with pytest.raises(ValueError, match=r"frequency 0: \[1\]"):
        layer.within_classes(latent[:2], [0, 1])


def test_the_saved_model_of_such_a_generator_thresholds_each_class_too(tmp_path):
    network = _clustered_generator([0.6, 0.4])
    version = kgan.export.to_saved_model(network, tmp_path / "clustered")
    served = kgan.control.load_generator(str(version))
    assert served.latent_classes.frequencies == [0.6, 0.4]
    # The class computed from z stops TensorFlow's forward mode in a loaded function.
    assert not served.forward_differentiable
    samples = served.generate(600, seed=0, jacobian_truncation=0.25, verbose=0)
    # The same samples as the Keras generator's, truncated per class alike.
    keras_z = truncation.truncated_generate(
        network, kgan.control.as_generator(network), None, count=600, share=0.25, seed=0
    )
    expected = keras.ops.convert_to_numpy(network(keras_z))
    np.testing.assert_allclose(samples, expected, rtol=1e-3, atol=1e-4)

"""GAN losses as small pure functions.

Every function returns one value per example (shape `(batch,)`), so that the models can reduce
them by the *global* batch size under `tf.distribute` (`tf.nn.compute_average_loss`). Logits
and critic scores of any shape `(batch, ...)` are averaged over their non-batch axes.

Names are paired as in TF-GAN: `<family>_generator_loss` / `<family>_discriminator_loss`.
"""

import tensorflow as tf


def _per_example(values):
    values = tf.convert_to_tensor(values)
    if values.shape.rank is not None and values.shape.rank > 1:
        return tf.reduce_mean(values, axis=list(range(1, values.shape.rank)))
    return values


def _bce_with_logits(targets, logits):
    logits = tf.cast(logits, tf.float32)
    targets = tf.broadcast_to(tf.cast(targets, tf.float32), tf.shape(logits))
    return _per_example(tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits))


def minimax_discriminator_loss(real_logits, fake_logits, real_targets=1.0, fake_targets=0.0):
    """Binary cross-entropy of the discriminator (Goodfellow et al. 2014, arXiv:1406.2661).

    L_D = -[t_r log D(x) + (1 - t_r) log(1 - D(x))] - [t_f log D(G(z)) + (1 - t_f) log(1 - D(G(z)))]

    with D = sigmoid(logits), computed from logits in a numerically stable way. The targets
    default to 1 for real and 0 for fake; one-sided label smoothing, noisy and flipped labels
    pass other targets (scalars or per-example tensors).
    """
    return _bce_with_logits(real_targets, real_logits) + _bce_with_logits(fake_targets, fake_logits)


# The discriminator's loss is the same binary cross-entropy whichever generator loss is used.
non_saturating_discriminator_loss = minimax_discriminator_loss


def minimax_generator_loss(fake_logits):
    """The generator's loss of the original minimax game: log(1 - D(G(z))).

    Equal to -softplus(logits). It saturates (vanishing gradient) when the discriminator rejects
    the samples confidently, which is why `non_saturating_generator_loss` is the default.
    """
    return -_per_example(tf.nn.softplus(tf.cast(fake_logits, tf.float32)))


def non_saturating_generator_loss(fake_logits):
    """The non-saturating generator loss: -log D(G(z)) (Goodfellow et al. 2014, section 3).

    Equal to softplus(-logits).
    """
    return _per_example(tf.nn.softplus(-tf.cast(fake_logits, tf.float32)))


def wasserstein_discriminator_loss(real_scores, fake_scores):
    """The critic's loss of WGAN (Arjovsky et al. 2017, arXiv:1701.07875): C(G(z)) - C(x)."""
    return _per_example(tf.cast(fake_scores, tf.float32)) - _per_example(
        tf.cast(real_scores, tf.float32)
    )


def wasserstein_generator_loss(fake_scores):
    """The generator's loss of WGAN: -C(G(z))."""
    return -_per_example(tf.cast(fake_scores, tf.float32))


def hinge_discriminator_loss(real_scores, fake_scores):
    """The discriminator's hinge loss (Lim & Ye 2017, arXiv:1705.02894; used by SN-GAN,
    Miyato et al. 2018, arXiv:1802.05957):

        L_D = max(0, 1 - D(x)) + max(0, 1 + D(G(z)))

    with D the raw, unbounded output. Scores past the margins (D(x) >= 1, D(G(z)) <= -1) add
    nothing, so the discriminator stops pushing on examples it already separates.
    """
    real_scores = _per_example(tf.cast(real_scores, tf.float32))
    fake_scores = _per_example(tf.cast(fake_scores, tf.float32))
    return tf.nn.relu(1.0 - real_scores) + tf.nn.relu(1.0 + fake_scores)


def hinge_generator_loss(fake_scores):
    """The generator's loss paired with the hinge discriminator loss: -D(G(z)).

    See Lim & Ye 2017 (arXiv:1705.02894) and Miyato et al. 2018 (arXiv:1802.05957).
    """
    return -_per_example(tf.cast(fake_scores, tf.float32))


def least_squares_discriminator_loss(real_scores, fake_scores, real_targets=1.0, fake_targets=0.0):
    """The discriminator's loss of LSGAN (Mao et al. 2017, arXiv:1611.04076):

        L_D = 1/2 (D(x) - b)^2 + 1/2 (D(G(z)) - a)^2

    with D the raw output, b = `real_targets` and a = `fake_targets`. The defaults are the
    0-1 coding a = 0, b = c = 1 of the paper; its other setting, a = -1, b = 1, c = 0, is
    `fake_targets=-1.0` here and `targets=0.0` in `least_squares_generator_loss`. The targets
    may be per-example tensors (smoothed or noisy labels), like those of the cross-entropy.
    """
    real_scores = tf.cast(real_scores, tf.float32)
    fake_scores = tf.cast(fake_scores, tf.float32)
    real_targets = tf.cast(real_targets, tf.float32)
    fake_targets = tf.cast(fake_targets, tf.float32)
    return 0.5 * _per_example(tf.square(real_scores - real_targets)) + 0.5 * _per_example(
        tf.square(fake_scores - fake_targets)
    )


def least_squares_generator_loss(fake_scores, targets=1.0):
    """The generator's loss of LSGAN (Mao et al. 2017, arXiv:1611.04076):

        L_G = 1/2 (D(G(z)) - c)^2

    with c = `targets`: 1 in the 0-1 coding (the default), 0 with a = -1, b = 1.
    """
    fake_scores = tf.cast(fake_scores, tf.float32)
    return 0.5 * _per_example(tf.square(fake_scores - tf.cast(targets, tf.float32)))


def gradient_penalty(critic, real, fake, alpha, *, epsilon=1e-10, critic_inputs=None):
    """The WGAN-GP gradient penalty, per example.

    See Improved Training of Wasserstein GANs (Gulrajani et al. 2017, arXiv:1704.00028):

        x_hat = alpha * x + (1 - alpha) * G(z),    alpha ~ U(0, 1) per example
        GP    = (||grad_x_hat C(x_hat)||_2 - 1)^2

    The norm is computed as sqrt(sum(g^2) + epsilon): without the epsilon the gradient of the
    square root is infinite where the critic's gradient vanishes, and training turns to NaN.

    Args:
        critic: a callable taking the interpolates (and `critic_inputs`, if given) and returning
            scores of shape `(batch, ...)`.
        real: real examples, `(batch, ...)`.
        fake: generated examples, same shape.
        alpha: interpolation weights of shape `(batch,)`, drawn from U(0, 1).
        epsilon: added inside the square root.
        critic_inputs: extra inputs of a conditional critic (the labels); passed as
            `critic([x_hat, critic_inputs])`.

    Returns:
        The penalty per example, shape `(batch,)`.
    """
    real = tf.cast(real, tf.float32)
    fake = tf.cast(fake, tf.float32)
    alpha = tf.reshape(tf.cast(alpha, tf.float32), [-1] + [1] * (real.shape.rank - 1))
    interpolates = alpha * real + (1.0 - alpha) * fake
    with tf.GradientTape() as tape:
        tape.watch(interpolates)
        inputs = interpolates if critic_inputs is None else [interpolates, critic_inputs]
        scores = tf.reduce_sum(tf.cast(critic(inputs), tf.float32))
    gradients = tape.gradient(scores, interpolates)
    gradients = tf.reshape(gradients, [tf.shape(gradients)[0], -1])
    norms = tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=1) + epsilon)
    return tf.square(norms - 1.0)


def drift_penalty(real_scores):
    """The drift term of Karras et al. 2018 (arXiv:1710.10196, section A.1): C(x)^2.

    Keeps the critic's output from drifting far from zero; weighted by 0.001 in that paper.
    """
    return _per_example(tf.square(tf.cast(real_scores, tf.float32)))


def _squared_gradient_norm(critic, samples, critic_inputs):
    samples = tf.cast(samples, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(samples)
        inputs = samples if critic_inputs is None else [samples, critic_inputs]
        scores = tf.reduce_sum(tf.cast(critic(inputs), tf.float32))
    gradients = tape.gradient(scores, samples)
    gradients = tf.reshape(gradients, [tf.shape(gradients)[0], -1])
    return tf.reduce_sum(tf.square(gradients), axis=1)


def r1_penalty(critic, real, *, critic_inputs=None):
    """The R1 penalty of Mescheder et al. 2018 (arXiv:1801.04406), per example:

        R1 = ||grad_x D(x)||_2^2,    x ~ data

    a zero-centred gradient penalty on real data only. The discriminator's loss adds
    (gamma / 2) * E[R1]; StyleGAN2 (Karras et al. 2020, arXiv:1912.04958) computes it every
    k-th minibatch only ("lazy regularisation"), with gamma multiplied by k.

    Every example's gradient is taken from the sum of the scores, so the penalty is per example
    only when the discriminator does not mix the examples of a batch (no batch normalisation).

    Args:
        critic: a callable taking `real` (and `critic_inputs`, if given) and returning scores
            of shape `(batch, ...)`.
        real: real examples, `(batch, ...)`.
        critic_inputs: extra inputs of a conditional discriminator (the labels); passed as
            `critic([real, critic_inputs])`.

    Returns:
        The squared gradient norm per example, shape `(batch,)` (not yet weighted).
    """
    return _squared_gradient_norm(critic, real, critic_inputs)


def r2_penalty(critic, fake, *, critic_inputs=None):
    """The R2 penalty of Mescheder et al. 2018 (arXiv:1801.04406), per example:

        R2 = ||grad_x D(x)||_2^2,    x = G(z)

    the same zero-centred penalty as `r1_penalty`, on generated samples.

    Returns:
        The squared gradient norm per example, shape `(batch,)` (not yet weighted).
    """
    return _squared_gradient_norm(critic, fake, critic_inputs)

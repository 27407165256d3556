"""Discriminator penalties: terms added to the discriminator's (critic's) per-example loss.

Each penalty is a pure function of the samples and the critic (`gradient_penalty`, `drift_penalty`,
`r1_penalty`, `r2_penalty`, `consistency_penalty`), and each model's penalties are `Penalty` terms
of one signature, `term(inputs) -> per-example values` with `inputs` a `PenaltyInputs`. A model's
train step and test step both call `compute` on the same list of terms, which weights them and
handles the lazy interval of StyleGAN2 (Karras et al. 2020, arXiv:1912.04958) once for all.

A new penalty is one function and one `Penalty`:

    def my_penalty(inputs):
        return tf.reduce_sum(tf.square(input_gradients(inputs.critic, inputs.real)), axis=1)

    model._penalties += (Penalty("mine", weight=1.0, term=my_penalty),)
"""

import dataclasses
import functools
from collections.abc import Callable

import tensorflow as tf

from kgan._validation import check_non_negative, check_positive_int
from kgan.augment import CONSISTENCY_DRAWS, consistency_transform


@dataclasses.dataclass(frozen=True)
class PenaltyInputs:
    """What a penalty term may read in one discriminator update (or one test step).

    Attributes:
        critic: callable from samples to the discriminator's scores, in the mode, with the
            augmentation and the labels of the loss it is added to.
        real: the real samples of the update.
        fake: the generated samples of the update (without gradient to the generator).
        real_scores: `critic(real)`, as the loss computed it.
        uniform: callable from a batch size to U(0, 1) values of shape `(batch,)`, drawn from
            the step's noise (the training noise, or the held-out noise of a test step).
        fake_scores: `critic(fake)`, as the loss computed it, or `None` where the caller has
            none.
    """

    critic: Callable
    real: tf.Tensor
    fake: tf.Tensor
    real_scores: tf.Tensor
    uniform: Callable
    fake_scores: tf.Tensor = None


@dataclasses.dataclass(frozen=True)
class Penalty:
    """One weighted term of the discriminator's loss, reported as the metric `name`.

    Attributes:
        name: the metric's name (`"gradient_penalty"`, `"r1"`...).
        weight: the term's multiplier; 0 reports zeros without computing the term.
        term: callable from a `PenaltyInputs` to unweighted per-example values, `(batch,)`.
        lazy: computed every `interval`-th discriminator update only, weighted `interval`
            times as much (StyleGAN2's lazy regularisation); zero on the other updates.
        held_out: also computed in test steps (in inference mode, never lazily).
    """

    name: str
    weight: float
    term: Callable
    lazy: bool = False
    held_out: bool = True


def check_penalties(r1_weight, r2_weight, penalty_interval, consistency_weight=0.0):
    """Checks the zero-centred penalties' weights (gamma), their interval and the consistency
    weight (lambda)."""
    check_non_negative("r1_weight", r1_weight)
    check_non_negative("r2_weight", r2_weight)
    check_positive_int("penalty_interval", penalty_interval)
    check_non_negative("consistency_weight", consistency_weight)


def compute(penalties, inputs, *, training, interval=1, step=None):
    """The weighted per-example values of `penalties`: a dict name -> `(batch,)` values.

    In a training step (`training=True`) a lazy term is computed when `step` (the number of
    discriminator updates so far) is a multiple of `interval`, weighted `interval` times, and
    is zero otherwise. The choice is a `tf.cond` around the term alone, inside the caller's
    gradient tape: the optimiser's step stays outside any control flow, as `tf.distribute`
    requires. A test step (`training=False`) computes the `held_out` terms only.
    """
    values = {}
    for penalty in penalties:
        if not training and not penalty.held_out:
            continue
        zeros = tf.zeros([tf.shape(inputs.real)[0]], tf.float32)
        if not penalty.weight:
            values[penalty.name] = zeros
            continue
        lazy = training and penalty.lazy and interval > 1
        weight = float(penalty.weight) * (interval if lazy else 1)

        def term(penalty=penalty, weight=weight):
            return weight * penalty.term(inputs)

        if lazy:
            due = tf.equal(tf.math.floormod(tf.cast(step, tf.int64), interval), 0)
            values[penalty.name] = tf.cond(due, term, lambda zeros=zeros: zeros)
        else:
            values[penalty.name] = term()
    return values


def input_gradients(critic, samples, critic_inputs=None):
    """The gradient of each example's score with respect to its input, flattened to
    `(batch, -1)`: the gradient of the sum of the scores, which is per example when the critic
    does not mix the examples of a batch (no batch normalisation).

    `critic_inputs` are the extra inputs of a conditional critic (the labels), passed as
    `critic([samples, critic_inputs])`.
    """
    samples = tf.cast(samples, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(samples)
        inputs = samples if critic_inputs is None else [samples, critic_inputs]
        scores = tf.reduce_sum(tf.cast(critic(inputs), tf.float32))
    gradients = tape.gradient(scores, samples)
    return tf.reshape(gradients, [tf.shape(gradients)[0], -1])


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
    gradients = input_gradients(critic, interpolates, critic_inputs)
    norms = tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=1) + epsilon)
    return tf.square(norms - 1.0)


def drift_penalty(real_scores):
    """The drift term of Karras et al. 2018 (arXiv:1710.10196, section A.1): C(x)^2.

    Keeps the critic's output from drifting far from zero; weighted by 0.001 in that paper.
    Scores of shape `(batch, ...)` are averaged over their non-batch axes.
    """
    squares = tf.square(tf.cast(real_scores, tf.float32))
    return tf.reduce_mean(tf.reshape(squares, [tf.shape(squares)[0], -1]), axis=1)


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
    return tf.reduce_sum(tf.square(input_gradients(critic, real, critic_inputs)), axis=1)


def r2_penalty(critic, fake, *, critic_inputs=None):
    """The R2 penalty of Mescheder et al. 2018 (arXiv:1801.04406), per example:

        R2 = ||grad_x D(x)||_2^2,    x = G(z)

    the same zero-centred penalty as `r1_penalty`, on generated samples.

    Returns:
        The squared gradient norm per example, shape `(batch,)` (not yet weighted).
    """
    return r1_penalty(critic, fake, critic_inputs=critic_inputs)


def consistency_penalty(critic, samples, scores, uniform):
    """The consistency term of bCR (Zhao et al. 2020, arXiv:2002.04724), per example:

        ||D(T(x)) - D(x)||_2^2

    with T `kgan.augment.consistency_transform` (a random flip and shift). bCR adds it on real
    samples (lambda_real) and on generated ones (lambda_fake) to the discriminator's loss, 10
    each for CIFAR-10; the gradient flows through both scores.

    Args:
        critic: a callable from samples to scores of shape `(batch, ...)`.
        samples: images `(batch, height, width, channels)`.
        scores: `critic(samples)`, as the discriminator's loss computed it.
        uniform: U(0, 1) values of shape `(batch, CONSISTENCY_DRAWS)` for T.

    Returns:
        The squared difference summed over the scores' non-batch axes, shape `(batch,)`.
    """
    transformed = critic(consistency_transform(samples, uniform=uniform))
    difference = tf.cast(transformed, tf.float32) - tf.cast(scores, tf.float32)
    squares = tf.square(tf.reshape(difference, [tf.shape(difference)[0], -1]))
    return tf.reduce_sum(squares, axis=1)


def consistency_terms(weight):
    """bCR's term on real and on generated samples, each weighted `weight`, as one metric
    `consistency`; left out of test steps, like R1 (it regularises training). Empty when the
    weight is 0."""
    if not weight:
        return ()

    def term(inputs):
        if inputs.fake_scores is None:
            raise ValueError(
                "The consistency term compares the discriminator's scores of generated samples "
                "before and after a transformation; the caller passed no `fake_scores`."
            )
        total = 0.0
        for samples, scores in (
            (inputs.real, inputs.real_scores),
            (inputs.fake, inputs.fake_scores),
        ):
            batch_size = tf.shape(samples)[0]
            uniform = tf.stack([inputs.uniform(batch_size) for _ in range(CONSISTENCY_DRAWS)], 1)
            total += consistency_penalty(inputs.critic, samples, scores, uniform)
        return total

    return (Penalty("consistency", float(weight), term, held_out=False),)


def gradient_penalty_term(weight):
    """WGAN-GP's term, lambda * GP, with fresh U(0, 1) interpolation weights per example."""

    def term(inputs):
        alpha = inputs.uniform(tf.shape(inputs.real)[0])
        return gradient_penalty(inputs.critic, inputs.real, inputs.fake, alpha)

    return Penalty("gradient_penalty", weight, term)


def drift_term(weight):
    """The drift term of Karras et al. 2018, weight * C(x)^2."""
    return Penalty("drift", weight, lambda inputs: drift_penalty(inputs.real_scores))


def zero_centred_terms(r1_weight, r2_weight):
    """The R1 and R2 terms, (gamma / 2) ||grad D||^2 on real and on generated samples, those
    with a non-zero gamma; lazy, and left out of test steps (they regularise training)."""
    terms = ()
    for name, weight, samples in (("r1", r1_weight, "real"), ("r2", r2_weight, "fake")):
        if weight:
            term = functools.partial(_zero_centred_term, samples)
            terms += (Penalty(name, 0.5 * float(weight), term, lazy=True, held_out=False),)
    return terms


def _zero_centred_term(samples, inputs):
    return r1_penalty(inputs.critic, getattr(inputs, samples))

"""What the discriminator sees and how its gradient is penalised: DiffAugment, R1 and R2.

The models' `augment`, `r1_weight`, `r2_weight` and `penalty_interval` arguments are checked
here, and `zero_centred_penalties` computes the R1 / R2 terms of a discriminator update
(Mescheder et al. 2018, arXiv:1801.04406), lazily every `penalty_interval` updates as in
StyleGAN2 (Karras et al. 2020, arXiv:1912.04958).
"""

import tensorflow as tf

from kgan import losses
from kgan._validation import check_non_negative, check_positive_int
from kgan.augment import parse_policy


def check_augment(augment, sample_shape):
    """The DiffAugment policy of a model (`None` for none), checked against its samples."""
    if augment is None:
        return None
    policy = ",".join(parse_policy(augment, name="augment"))
    if len(sample_shape) != 3:
        raise ValueError(
            "`augment` transforms images (height, width, channels); the generator makes "
            f"samples of shape {tuple(sample_shape)}. Received: augment={augment!r}"
        )
    return policy


def check_penalties(r1_weight, r2_weight, penalty_interval):
    """Checks the zero-centred penalties' weights (gamma) and their interval."""
    check_non_negative("r1_weight", r1_weight)
    check_non_negative("r2_weight", r2_weight)
    check_positive_int("penalty_interval", penalty_interval)


def penalty_names(r1_weight, r2_weight):
    """The metrics the penalties add: `r1` and `r2`, those with a non-zero weight."""
    return [name for name, weight in (("r1", r1_weight), ("r2", r2_weight)) if weight]


def zero_centred_penalties(critic, real, fake, *, r1_weight, r2_weight, interval, step):
    """The R1 and R2 terms of one discriminator update, per example.

        r1 = (gamma_1 / 2) ||grad_x D(x)||^2 on real x,  r2 = (gamma_2 / 2) ||grad D(G(z))||^2

    With `interval` k > 1 they are computed on every k-th update only (when `step` is a
    multiple of k), with gamma multiplied by k so that the average penalty stays the same
    (StyleGAN2's lazy regularisation); on the other updates they are zero. The choice is a
    `tf.cond` around the penalty alone, inside the caller's gradient tape: the optimiser's step
    stays outside any control flow, as `tf.distribute` requires.

    Args:
        critic: callable from samples to the discriminator's training-mode scores (with the
            augmentation and the labels the loss uses).
        real: the batch's real samples.
        fake: the batch's generated samples (without gradient to the generator).
        r1_weight, r2_weight: gamma of R1 and R2 (0 leaves a term out).
        interval: compute the terms every `interval` discriminator updates.
        step: the number of discriminator updates so far (`d_optimizer.iterations`).

    Returns:
        A dict `"r1"` / `"r2"` -> per-example values, shape `(batch,)`; empty when both weights
        are zero.
    """
    terms = {}
    for name, weight, samples, penalty in (
        ("r1", r1_weight, real, losses.r1_penalty),
        ("r2", r2_weight, fake, losses.r2_penalty),
    ):
        if not weight:
            continue
        scale = 0.5 * float(weight) * interval

        def term(samples=samples, penalty=penalty, scale=scale):
            return scale * penalty(critic, samples)

        if interval == 1:
            terms[name] = term()
        else:
            terms[name] = tf.cond(
                tf.equal(tf.math.floormod(tf.cast(step, tf.int64), interval), 0),
                term,
                lambda samples=samples: tf.zeros([tf.shape(samples)[0]], tf.float32),
            )
    return terms

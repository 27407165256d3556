"""GAN losses as small pure functions, and the loss families that pair them.

Every function returns one value per example (shape `(batch,)`), so that the models can reduce
them by the *global* batch size under `tf.distribute` (`tf.nn.compute_average_loss`). Logits
and critic scores of any shape `(batch, ...)` are averaged over their non-batch axes.

Names are paired as in TF-GAN: `<family>_generator_loss` / `<family>_discriminator_loss`.
A `LossFamily` joins a pair and declares what it needs from the model that trains with it;
`get(name)` returns a registered family, as `keras.losses.get` does for Keras' losses, and
`GAN(loss=...)` takes a name or a family. A new loss is its two functions and one `register`:

    def my_discriminator_loss(real_scores, fake_scores): ...
    def my_generator_loss(real_scores, fake_scores): ...

    kgan.losses.register(
        kgan.losses.LossFamily(
            "mine", my_discriminator_loss, my_generator_loss, generator_needs_real_scores=True
        )
    )

The penalties added to a discriminator's loss (gradient penalty, drift, R1, R2) live in
`kgan.penalties`; they are importable from here too.
"""

import dataclasses
from collections.abc import Callable

import tensorflow as tf

from kgan.penalties import drift_penalty, gradient_penalty, r1_penalty, r2_penalty

__all__ = [
    "LossFamily",
    "drift_penalty",
    "get",
    "gradient_penalty",
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "least_squares_discriminator_loss",
    "least_squares_generator_loss",
    "minimax_discriminator_loss",
    "minimax_generator_loss",
    "names",
    "non_saturating_discriminator_loss",
    "non_saturating_generator_loss",
    "r1_penalty",
    "r2_penalty",
    "register",
    "relativistic_discriminator_loss",
    "relativistic_generator_loss",
    "wasserstein_discriminator_loss",
    "wasserstein_generator_loss",
]


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
    nothing, so the discriminator stops pushing on examples it already separates. With several
    scores per example (a patch discriminator) each score gets its margin: the loss is the mean
    over the scores of the terms above.
    """
    real_scores = tf.cast(real_scores, tf.float32)
    fake_scores = tf.cast(fake_scores, tf.float32)
    return _per_example(tf.nn.relu(1.0 - real_scores)) + _per_example(tf.nn.relu(1.0 + fake_scores))


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


def relativistic_discriminator_loss(real_scores, fake_scores):
    """The discriminator's loss of the relativistic pairing GAN, RpGAN (Jolicoeur-Martineau
    2018, arXiv:1807.00734):

        L_D = softplus(-(D(x) - D(G(z)))) = -log sigmoid(D(x) - D(G(z)))

    with D the raw output and each real example paired with the generated one of its row: the
    discriminator learns how much more real x looks than G(z).
    """
    real_scores = tf.cast(real_scores, tf.float32)
    fake_scores = tf.cast(fake_scores, tf.float32)
    return _per_example(tf.nn.softplus(fake_scores - real_scores))


def relativistic_generator_loss(real_scores, fake_scores):
    """The generator's loss of RpGAN (Jolicoeur-Martineau 2018, arXiv:1807.00734):

        L_G = softplus(-(D(G(z)) - D(x)))

    the discriminator's loss with the roles swapped, so the generator also pushes D(x) down.
    """
    return relativistic_discriminator_loss(fake_scores, real_scores)


# === Loss families ===


@dataclasses.dataclass(frozen=True)
class LossFamily:
    """A discriminator loss and a generator loss trained together, and what they need.

    Attributes:
        name: the name `get` and `GAN(loss=...)` know it by, and that a saved model stores.
        discriminator: per-example loss `discriminator(real_scores, fake_scores)`, or
            `discriminator(real_scores, fake_scores, real_targets=, fake_targets=)` when
            `targets` is set.
        generator: per-example loss `generator(real_scores, fake_scores)` when
            `generator_needs_real_scores` is set, else `generator(fake_scores)`.
        targets: the discriminator's loss takes real and fake targets, which label smoothing,
            label noise and label flips move; without them those options are refused.
        probabilities: the scores are logits of the probability that a sample is real, so the
            `d_real` / `d_fake` metrics report sigmoid(scores) rather than the raw scores.
        generator_needs_real_scores: the generator's loss compares fake with real scores (a
            relativistic loss), so its update scores a real batch too.
        lipschitz: the scores estimate a distance only under a Lipschitz critic (weight
            clipping or a gradient penalty), which `kgan.WGAN` and `kgan.WGANGP` provide.
    """

    name: str
    discriminator: Callable
    generator: Callable
    targets: bool = False
    probabilities: bool = False
    generator_needs_real_scores: bool = False
    lipschitz: bool = False

    def discriminator_loss(self, real_scores, fake_scores, real_targets=1.0, fake_targets=0.0):
        """The discriminator's per-example loss; the targets are ignored without `targets`."""
        if self.targets:
            return self.discriminator(
                real_scores, fake_scores, real_targets=real_targets, fake_targets=fake_targets
            )
        return self.discriminator(real_scores, fake_scores)

    def generator_loss(self, real_scores, fake_scores):
        """The generator's per-example loss; `real_scores` may be `None` unless
        `generator_needs_real_scores`."""
        if self.generator_needs_real_scores:
            return self.generator(real_scores, fake_scores)
        return self.generator(fake_scores)


_FAMILIES = {}


def register(family):
    """Adds `family` (a `LossFamily`) to the names `get` knows, and returns it.

    A model saved with a family loads where the family is registered under the same name.
    """
    if not isinstance(family, LossFamily):
        raise ValueError(f"`register` takes a kgan.losses.LossFamily. Received: family={family!r}")
    known = _FAMILIES.get(family.name)
    if known is not None and known != family:
        raise ValueError(
            "Another loss family is registered under this name; choose another name. "
            f"Received: name={family.name!r}"
        )
    _FAMILIES[family.name] = family
    return family


def names():
    """The names of the registered loss families."""
    return tuple(_FAMILIES)


def get(identifier):
    """The `LossFamily` named `identifier`, or `identifier` itself when it is a family.

    Example:
    >>> kgan.losses.get("hinge").targets
    False
    """
    if isinstance(identifier, LossFamily):
        return identifier
    if isinstance(identifier, str) and identifier in _FAMILIES:
        return _FAMILIES[identifier]
    raise ValueError(
        f"`loss` must be one of {', '.join(map(repr, _FAMILIES))} or a "
        f"kgan.losses.LossFamily. Received: loss={identifier!r}"
    )


register(
    LossFamily(
        "non_saturating",
        non_saturating_discriminator_loss,
        non_saturating_generator_loss,
        targets=True,
        probabilities=True,
    )
)
register(
    LossFamily(
        "minimax",
        minimax_discriminator_loss,
        minimax_generator_loss,
        targets=True,
        probabilities=True,
    )
)
register(LossFamily("hinge", hinge_discriminator_loss, hinge_generator_loss))
register(
    LossFamily(
        "least_squares",
        least_squares_discriminator_loss,
        least_squares_generator_loss,
        targets=True,
    )
)
register(
    LossFamily(
        "wasserstein",
        wasserstein_discriminator_loss,
        wasserstein_generator_loss,
        lipschitz=True,
    )
)
register(
    LossFamily(
        "relativistic",
        relativistic_discriminator_loss,
        relativistic_generator_loss,
        generator_needs_real_scores=True,
    )
)

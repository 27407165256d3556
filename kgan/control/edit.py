"""Attribute edits in z-space, following a classifier's gradients.

A classifier on the generator's output says how much an image shows an attribute (a class, or
"sunglasses"). Its gradient with respect to `z`, through the generator, is the direction in
which the generator's images show more of it:

- `edit` moves each `z` by gradient ascent on the classifier's score, with bounded steps;
- `attribute_direction` averages the normalised gradients of many samples into one global
  direction, and `apply_direction` adds it to new latent vectors at a chosen strength.

The score of a class index is its log-probability under the classifier, `log_softmax` of the
logits (or `log_sigmoid` of a single logit), so raising it takes probability away from the
other classes rather than scaling every logit up. A callable `target` gives any other score.
"""

import math
import numbers

import keras
import numpy as np
import tensorflow as tf

from kgan._validation import check_non_negative, check_positive_int, check_seed, short
from kgan.control.labels import check_labels
from kgan.control.loading import as_generator
from kgan.models.checks import format_shape, latent_vectors


def classifier_outputs(classifier, sample_shape):
    """Checks that `classifier` takes the generator's samples; returns its number of outputs.

    Raises:
        ValueError: if the classifier's input shape does not fit `sample_shape`, or it cannot
            be called on such samples.
    """
    if not isinstance(classifier, keras.layers.Layer):
        raise TypeError(
            "`classifier` must be a keras.Model on the generator's output. "
            f"Received: classifier={classifier!r} of type {type(classifier).__name__}"
        )
    expected = (None, *sample_shape)
    inputs = getattr(classifier, "inputs", None)
    if inputs:
        shape = tuple(inputs[0].shape)
        if len(shape) != len(expected) or any(
            s is not None and s != e for s, e in zip(shape[1:], expected[1:])
        ):
            raise ValueError(
                f"The classifier's input shape {format_shape(shape)} does not fit the "
                f"generator's output shape {format_shape(expected)}. "
                f"Received: classifier={classifier.name!r}"
            )
    try:
        outputs = classifier(tf.zeros((1, *sample_shape)), training=False)
    except Exception as error:
        raise ValueError(
            "The classifier could not be called on the generator's output of shape "
            f"{format_shape(expected)}: {short(error, 300)}. Received: classifier="
            f"{classifier.name!r}"
        ) from error
    if len(outputs.shape) != 2:
        raise ValueError(
            "The classifier must return one row of scores per image, shape (batch, classes). "
            f"Received: classifier output shape {format_shape(outputs.shape)}"
        )
    return int(outputs.shape[-1])


def check_target(target, num_outputs, name="target"):
    """A class index in `[0, num_outputs)` or a callable on the classifier's output."""
    if callable(target):
        return target
    if isinstance(target, bool) or not isinstance(target, numbers.Integral):
        raise ValueError(
            f"`{name}` must be a class index of the classifier or a callable on its output. "
            f"Received: {name}={target!r}"
        )
    if not 0 <= target < num_outputs:
        raise ValueError(
            f"`{name}` must be a class the classifier has, in [0, {num_outputs}). "
            f"Received: {name}={target!r}"
        )
    return int(target)


def target_score(outputs, target, *, from_logits=True):
    """The score to raise, one value per image: the target's log-probability, or
    `target(outputs)` for a callable target.

    Raises:
        ValueError: if `outputs` is not `(batch, classes)`, or `target` is neither a callable
            nor a class index in `[0, classes)`.
    """
    outputs = tf.convert_to_tensor(outputs, tf.float32)
    if callable(target):
        return tf.reshape(tf.convert_to_tensor(target(outputs), tf.float32), [-1])
    if outputs.shape.rank not in (None, 2):
        raise ValueError(
            "`outputs` must be the classifier's scores, shape (batch, classes). "
            f"Received: outputs of shape {format_shape(outputs.shape)}"
        )
    if outputs.shape[-1] is not None:
        check_target(target, outputs.shape[-1])
    if outputs.shape[-1] == 1:
        log_p = tf.math.log_sigmoid(outputs) if from_logits else tf.math.log(outputs + 1e-12)
        return log_p[:, 0]
    if from_logits:
        return tf.nn.log_softmax(outputs, axis=-1)[:, target]
    return tf.math.log(outputs[:, target] + 1e-12)


def check_probabilities(outputs):
    """Refuses classifier outputs that are not probabilities, for `from_logits=False`: the
    log of a logit is not a score (a negative one gives NaN)."""
    outputs = np.asarray(outputs, "float64")
    sums = outputs.sum(axis=1) if outputs.shape[-1] > 1 else np.ones(len(outputs))
    if (
        np.all(np.isfinite(outputs))
        and outputs.min() >= 0.0
        and outputs.max() <= 1.0
        and np.abs(sums - 1.0).max() <= 1e-3
    ):
        return
    raise ValueError(
        "`from_logits=False` (`kgan edit --probabilities`) needs a classifier whose outputs are "
        "probabilities, each in [0, 1] and each row summing to 1; this one's range over "
        f"[{outputs.min():.3g}, {outputs.max():.3g}] with row sums from {sums.min():.3g} to "
        f"{sums.max():.3g}, as logits do: leave it out. Received: from_logits=False"
    )


def check_keep(keep, target, num_outputs, *, name="keep", target_name="target"):
    """The class indices of `keep` (`[]` for `None`): classes of the classifier, without
    `target`. `name` and `target_name` are the arguments' names in error messages."""
    if keep is None:
        return []
    keep = [check_target(k, num_outputs, name=name) for k in keep]
    if any(callable(k) for k in keep):
        raise ValueError(f"`{name}` must list class indices. Received: {name}={keep!r}")
    if not callable(target) and target in keep:
        raise ValueError(
            f"`{name}` holds outputs other than the target fixed; it cannot hold the target. "
            f"Received: {name}={keep} with {target_name}={target}"
        )
    return keep


def _gradient_step(generator, classifier, z, labels, target, keep, initial, options):
    """One step: the target's scores at `z` and the unit ascent direction of the objective."""
    z = tf.convert_to_tensor(z)
    with tf.GradientTape() as tape:
        tape.watch(z)
        outputs = classifier(generator(z, labels), training=False)
        scores = target_score(outputs, target, from_logits=options["from_logits"])
        objective = scores
        if keep:
            moved = tf.gather(outputs, keep, axis=1) - initial
            objective = objective - options["keep_weight"] * tf.reduce_sum(moved**2, axis=1)
        # Each sample's objective depends on its own z only: the sum's gradient holds them all.
        total = tf.reduce_sum(objective)
    gradient = tape.gradient(total, z)
    norms = tf.norm(gradient, axis=1, keepdims=True)
    return scores.numpy(), outputs.numpy(), (gradient / tf.maximum(norms, 1e-12)).numpy()


def edit(
    model,
    z,
    classifier,
    target,
    *,
    steps=20,
    step_size=0.1,
    keep=None,
    keep_weight=1.0,
    labels=None,
    from_logits=True,
    stop_at_target=False,
):
    """Moves each latent vector so that its image shows more of `target`.

    Gradient ascent on the classifier's score with normalised steps: every step moves each `z`
    by exactly `step_size` (in Euclidean norm) along the gradient, or not at all where the
    gradient vanishes, so no `z` moves further than `steps * step_size`.

    Args:
        model: a kgan model, a generator `keras.Model`, a `kgan.control.Generator` or a path
            (run folder, `.keras`, SavedModel; not ONNX, which gives no gradients).
        z: latent vectors `(num_samples, latent_dim)`.
        classifier: a `keras.Model` on the generator's output, returning one row of scores per
            image (logits by default).
        target: the class index to raise (its log-probability), or a callable from the
            classifier's output `(batch, classes)` to one score per image.
        steps: number of gradient steps.
        step_size: length of each step in z-space (non-negative).
        keep: class indices whose classifier outputs are held near their starting values by
            the penalty `keep_weight * sum((output - start)^2)`, to limit entanglement.
        keep_weight: weight of that penalty.
        labels: classes of a conditional generator (one per sample, one for all, or `None` to
            cycle as `GAN.generate` does).
        from_logits: whether the classifier returns logits (`True`) or probabilities.
        stop_at_target: stop moving each `z` once the classifier's top class is `target` (a
            class index): the smallest edit that gets there within the step budget.

    Returns:
        `(edited_z, scores)`: the edited latent vectors `(num_samples, latent_dim)` and the
        target's scores along the way `(steps + 1, num_samples)`, from the start.
    """
    generator = as_generator(model)
    generator.require_gradients("`edit`")
    z = latent_vectors(z, generator.latent_dim).copy()
    check_positive_int("steps", steps)
    check_non_negative("step_size", step_size)
    check_non_negative("keep_weight", keep_weight)
    num_outputs = classifier_outputs(classifier, generator.sample_shape)
    target = check_target(target, num_outputs)
    keep = check_keep(keep, target, num_outputs)
    if stop_at_target and callable(target):
        raise ValueError(
            "`stop_at_target` needs a class index as `target`. Received: target=<callable>"
        )
    labels = check_labels(labels, z.shape[0], generator.num_classes)
    options = {"from_logits": from_logits, "keep_weight": float(keep_weight)}
    initial = classifier(generator(z, labels), training=False).numpy()
    if not from_logits:
        check_probabilities(initial)
    initial = initial[:, keep]
    moving = np.ones((z.shape[0], 1), "float32")
    path = []
    for _ in range(steps):
        scores, outputs, direction = _gradient_step(
            generator, classifier, z, labels, target, keep, initial, options
        )
        path.append(scores)
        if stop_at_target:
            moving *= (outputs.argmax(axis=1) != target)[:, None]
        z += float(step_size) * moving * direction
    outputs = classifier(generator(z, labels), training=False)
    path.append(target_score(outputs, target, from_logits=from_logits).numpy())
    return z, np.stack(path)


def attribute_direction(
    model,
    classifier,
    target,
    num_samples=256,
    *,
    seed=0,
    labels=None,
    from_logits=True,
    batch_size=64,
):
    """One global latent direction along which images show more of `target`.

    The mean over `num_samples` latent vectors of the gradient of the target's score with
    respect to `z`, each normalised to unit length first (so no sample dominates the mean),
    then normalised itself.

    Args:
        model: as for `edit`.
        classifier: a `keras.Model` on the generator's output.
        target: a class index of the classifier, or a callable on its output.
        num_samples: number of latent vectors averaged over.
        seed: integer seed of those latent vectors.
        labels: classes of a conditional generator (see `edit`).
        from_logits: whether the classifier returns logits.
        batch_size: how many gradients are computed at once.

    Returns:
        A float32 unit vector `(latent_dim,)`.
    """
    generator = as_generator(model)
    generator.require_gradients("`attribute_direction`")
    check_positive_int("num_samples", num_samples)
    check_positive_int("batch_size", batch_size)
    check_seed(seed)
    target = check_target(target, classifier_outputs(classifier, generator.sample_shape))
    z = generator.sample_z(num_samples, seed)
    labels = check_labels(labels, num_samples, generator.num_classes)
    options = {"from_logits": from_logits, "keep_weight": 0.0}
    total = np.zeros((generator.latent_dim,), "float64")
    for start in range(0, num_samples, batch_size):
        batch_labels = None if labels is None else labels[start : start + batch_size]
        _, _, directions = _gradient_step(
            generator,
            classifier,
            z[start : start + batch_size],
            batch_labels,
            target,
            [],
            None,
            options,
        )
        total += directions.sum(axis=0)
    norm = np.linalg.norm(total)
    if norm < 1e-12:
        raise ValueError(
            "The classifier's score does not change with `z`: there is no direction to follow. "
            f"Received: target={target!r}"
        )
    return (total / norm).astype("float32")


def apply_direction(z, direction, strength):
    """`z + strength * direction`: more (positive strength) or less of the attribute.

    Args:
        z: latent vectors `(num_samples, latent_dim)` or one `(latent_dim,)`.
        direction: a direction `(latent_dim,)`, for example from `attribute_direction`.
        strength: how far to move along it (a number; negative moves the other way).
    """
    z = np.asarray(z, dtype="float32")
    direction = np.asarray(direction, dtype="float32")
    if direction.ndim != 1 or z.shape[-1] != direction.shape[0]:
        raise ValueError(
            f"`direction` must be one vector of the latent size {z.shape[-1]}. "
            f"Received: direction of shape {direction.shape}"
        )
    if isinstance(strength, bool) or not isinstance(strength, numbers.Real):
        raise ValueError(f"`strength` must be a number. Received: strength={strength!r}")
    if not np.isfinite(strength):
        raise ValueError(f"`strength` must be finite. Received: strength={strength!r}")
    return z + np.float32(strength) * direction


def edit_samples(
    model,
    classifier,
    target,
    *,
    num_samples=8,
    seed=0,
    labels=None,
    strength=None,
    direction_samples=256,
    from_logits=True,
    **edit_options,
):
    """Images before and after an edit towards `target`, as `kgan edit` shows them.

    With `strength`, the latent vectors move along the global `attribute_direction`
    (computed from `direction_samples` other latent vectors, seed `seed + 1`); otherwise each
    is edited on its own by `edit(..., **edit_options)`.

    Returns:
        A dict: `before` and `after` images `(num_samples, *sample_shape)`, `z` and
        `edited_z`, and the classifier's top class (`before_class`, `after_class`) and
        target probability (`before_probability`, `after_probability`) of each image.
    """
    generator = as_generator(model)
    check_seed(seed)
    z = generator.sample_z(num_samples, seed)
    labels = check_labels(labels, num_samples, generator.num_classes)
    if not from_logits:  # Checked before a direction is computed from them.
        check_probabilities(classifier(generator.generate(z=z, labels=labels), training=False))
    if strength is not None:
        direction = attribute_direction(
            generator,
            classifier,
            target,
            direction_samples,
            seed=None if seed is None else seed + 1,
            labels=None if labels is None else np.resize(labels, direction_samples),
            from_logits=from_logits,
        )
        edited_z = apply_direction(z, direction, strength)
    else:
        edited_z, _ = edit(
            generator,
            z,
            classifier,
            target,
            labels=labels,
            from_logits=from_logits,
            **edit_options,
        )
    result = {"z": z, "edited_z": edited_z}
    for key, latent in (("before", z), ("after", edited_z)):
        images = generator.generate(z=latent, labels=labels)
        outputs = classifier(images, training=False)
        result[key] = images
        result[f"{key}_class"] = np.asarray(outputs).argmax(axis=1)
        scores = target_score(outputs, target, from_logits=from_logits).numpy()
        result[f"{key}_probability"] = np.exp(scores)
    return result


def side_by_side(before, after, pairs_per_row=None):
    """Before and after images in pairs, for a grid: `(images, num_rows)`.

    Each row holds `pairs_per_row` pairs (`before[i]`, `after[i]`) side by side, by default
    about as many rows as pairs per row; a last row that is not full is padded with blank
    (white) tiles so that no pair is split across rows.

    Raises:
        ValueError: if `before` and `after` differ in shape.
    """
    before, after = np.asarray(before), np.asarray(after)
    if before.ndim < 1 or before.shape != after.shape:
        raise ValueError(
            "`before` and `after` must hold as many images of one shape, in pairs. "
            f"Received: before of shape {before.shape} and after of shape {after.shape}"
        )
    count = before.shape[0]
    if pairs_per_row is None:
        pairs_per_row = max(1, math.ceil(math.sqrt(count / 2)))
    check_positive_int("pairs_per_row", pairs_per_row)
    num_rows = math.ceil(count / pairs_per_row)
    pairs = np.stack([before, after], axis=1).reshape(-1, *before.shape[1:])
    blank = np.ones((2 * (num_rows * pairs_per_row - count), *before.shape[1:]), pairs.dtype)
    return np.concatenate([pairs, blank]), num_rows

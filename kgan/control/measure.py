"""Measuring control: class control of a conditional generator, and the effect of edits.

All figures are read off a classifier trained on the real data (for example kgan's MNIST
classifier, `kgan train-classifier`):

- class control: the share of the samples drawn for class `c` that the classifier assigns to
  `c`, per class and overall;
- edits (`edit`, and `apply_direction` with `attribute_direction` at several strengths): how
  often the classifier's top class becomes the target, how far the image moves (mean L2 in
  pixel space, pixels in [0, 1]), and how much the other classes' outputs change (mean
  absolute change of their logits).

`tools/evaluate_control.py` runs them on the reference generators.
"""

import numbers

import numpy as np

from kgan._validation import check_positive_int, check_seed, short
from kgan.control.edit import (
    apply_direction,
    attribute_direction,
    check_target,
    classifier_outputs,
    edit,
)
from kgan.control.loading import as_generator


def _predict(classifier, images, batch_size=256):
    outputs = [
        np.asarray(classifier(images[i : i + batch_size], training=False))
        for i in range(0, len(images), batch_size)
    ]
    return np.concatenate(outputs)


def class_control(model, classifier, num_samples_per_class=1000, *, seed=0):
    """The share of a conditional generator's samples of each class that `classifier` assigns
    to that class.

    Returns:
        `{"per_class": [share of class 0, ...], "overall": mean share, "num_samples_per_class"}`.
    """
    generator = as_generator(model)
    check_positive_int("num_samples_per_class", num_samples_per_class)
    check_seed(seed)
    if not generator.conditional:
        raise ValueError(
            "Class control needs a class-conditional generator. Received: model with "
            "num_classes=None"
        )
    num_outputs = classifier_outputs(classifier, generator.sample_shape)
    if num_outputs < generator.num_classes:
        raise ValueError(
            f"The classifier has {num_outputs} classes, fewer than the generator's "
            f"{generator.num_classes}. Received: classifier={classifier.name!r}"
        )
    shares = []
    for label in range(generator.num_classes):
        seed_c = None if seed is None else seed + label
        images = generator.generate(num_samples_per_class, labels=label, seed=seed_c)
        shares.append(float(np.mean(_predict(classifier, images).argmax(axis=1) == label)))
    return {
        "per_class": shares,
        "overall": float(np.mean(shares)),
        "num_samples_per_class": num_samples_per_class,
    }


def edit_effects(before_images, after_images, before_outputs, after_outputs, target):
    """The three figures of one batch of edits towards class `target`.

    Samples that the classifier already put in `target` before the edit are left out.

    Returns:
        `{"success_rate", "mean_l2", "other_change", "num_edited"}`: the share of samples
        whose top class became `target`, the mean L2 distance between the images before and
        after (pixels in [0, 1]), the mean absolute change of the other classes' outputs, and
        the number of samples counted.
    """
    edited = before_outputs.argmax(axis=1) != target
    if not edited.any():
        return {"success_rate": None, "mean_l2": None, "other_change": None, "num_edited": 0}
    # Images are in [-1, 1]; halving the difference measures it in [0, 1] pixel units.
    moves = (after_images[edited] - before_images[edited]) / 2.0
    l2 = np.sqrt(np.sum(moves.reshape(moves.shape[0], -1) ** 2, axis=1))
    others = np.delete(np.arange(before_outputs.shape[1]), target)
    change = np.abs(after_outputs[edited][:, others] - before_outputs[edited][:, others])
    return {
        "success_rate": float(np.mean(after_outputs[edited].argmax(axis=1) == target)),
        "mean_l2": float(np.mean(l2)),
        "other_change": float(np.mean(change)),
        "num_edited": int(edited.sum()),
    }


def _mean_effects(rows):
    counted = [row for row in rows if row["num_edited"]]
    if not counted:
        return {"success_rate": None, "mean_l2": None, "other_change": None, "num_edited": 0}
    weights = np.array([row["num_edited"] for row in counted], "float64")
    summary = {
        key: float(np.average([row[key] for row in counted], weights=weights))
        for key in ("success_rate", "mean_l2", "other_change")
    }
    summary["num_edited"] = int(weights.sum())
    return summary


def _check_targets(targets):
    """`targets` as a list of at least one target, or `None` for every class; each target is
    checked against the classifier later, by `_targets`."""
    if targets is None:
        return None
    try:
        values = [] if isinstance(targets, (str, bytes)) else list(targets)
    except TypeError:
        values = []
    if not values:
        raise ValueError(
            "`targets` must be `None` (every class) or a list of at least one target: a class "
            "index or a callable on the classifier's output. "
            f"Received: targets={short(repr(targets))}"
        )
    return values


def _targets(targets, num_outputs):
    targets = list(range(num_outputs)) if targets is None else targets
    return [check_target(target, num_outputs) for target in targets]


def measure_edits(
    model, classifier, *, targets=None, num_samples=100, steps=30, step_size=0.1, seed=0
):
    """`edit` towards each target class (stopping once there), on the same `num_samples`
    seeded latent vectors.

    Returns:
        `{"per_target": {target: effects}, "overall": effects, "steps", "step_size"}`, with
        the effects of `edit_effects`; "overall" weighs the targets by samples counted.
    """
    targets = _check_targets(targets)
    generator = as_generator(model)
    num_outputs = classifier_outputs(classifier, generator.sample_shape)
    z = generator.sample_z(num_samples, seed)
    before = generator.generate(z=z)
    before_outputs = _predict(classifier, before)
    per_target = {}
    for target in _targets(targets, num_outputs):
        edited_z, _ = edit(
            generator,
            z,
            classifier,
            target,
            steps=steps,
            step_size=step_size,
            stop_at_target=True,
        )
        after = generator.generate(z=edited_z)
        per_target[target] = edit_effects(
            before, after, before_outputs, _predict(classifier, after), target
        )
    return {
        "per_target": per_target,
        "overall": _mean_effects(list(per_target.values())),
        "steps": steps,
        "step_size": step_size,
    }


def _check_strengths(strengths):
    """`strengths` as a list of finite numbers, at least one."""
    try:
        values = list(strengths)
    except TypeError:
        values = []
    if not values or any(
        isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value)
        for value in values
    ):
        raise ValueError(
            "`strengths` must hold at least one strength, each a finite number. "
            f"Received: strengths={short(repr(strengths))}"
        )
    return values


def measure_directions(
    model,
    classifier,
    *,
    targets=None,
    strengths=(1.0, 2.0, 4.0),
    num_samples=100,
    direction_samples=256,
    seed=0,
):
    """`attribute_direction` for each target (from `direction_samples` latent vectors of
    `seed`), applied at each strength to `num_samples` other latent vectors (`seed + 1`).

    Returns:
        `{"per_strength": {strength: {"per_target": ..., "overall": ...}}, ...}`.
    """
    strengths = _check_strengths(strengths)
    targets = _check_targets(targets)
    generator = as_generator(model)
    num_outputs = classifier_outputs(classifier, generator.sample_shape)
    targets = _targets(targets, num_outputs)
    check_seed(seed)
    z = generator.sample_z(num_samples, None if seed is None else seed + 1)
    before = generator.generate(z=z)
    before_outputs = _predict(classifier, before)
    directions = {
        target: attribute_direction(generator, classifier, target, direction_samples, seed=seed)
        for target in targets
    }
    per_strength = {}
    for strength in strengths:
        per_target = {}
        for target, direction in directions.items():
            after = generator.generate(z=apply_direction(z, direction, strength))
            per_target[target] = edit_effects(
                before, after, before_outputs, _predict(classifier, after), target
            )
        per_strength[float(strength)] = {
            "per_target": per_target,
            "overall": _mean_effects(list(per_target.values())),
        }
    return {"per_strength": per_strength, "direction_samples": direction_samples}


def _figure(value, percent=False):
    if value is None:
        return "-"
    return f"{100 * value:.1f}%" if percent else f"{value:.3f}"


def format_report(results):
    """The results of `tools/evaluate_control.py` as a text table.

    Args:
        results: a dict with any of `"class_control"` (from `class_control`), `"edits"` (from
            `measure_edits`) and `"directions"` (from `measure_directions`).
    """
    lines = []
    control = results.get("class_control")
    if control:
        lines.append("Class control (share of samples classified as the requested class)")
        for label, share in enumerate(control["per_class"]):
            lines.append(f"  class {label:<3} {_figure(share, True):>7}")
        lines.append(f"  overall   {_figure(control['overall'], True):>7}")
    rows = []
    if results.get("edits"):
        edits = results["edits"]
        rows.append((f"edit ({edits['steps']} x {edits['step_size']:g})", edits["overall"]))
    if results.get("directions"):
        for strength, entry in results["directions"]["per_strength"].items():
            rows.append((f"direction x {float(strength):g}", entry["overall"]))
    if rows:
        lines.append(f"{'Edits':<22} {'reached':>8} {'L2 move':>8} {'other':>8} {'samples':>8}")
        for name, effects in rows:
            lines.append(
                f"  {name:<20} {_figure(effects['success_rate'], True):>8} "
                f"{_figure(effects['mean_l2']):>8} {_figure(effects['other_change']):>8} "
                f"{effects['num_edited']:>8}"
            )
        lines.append(
            "  reached: top class is the target afterwards; L2 move: mean pixel distance "
            "(pixels in [0, 1]); other: mean |change| of the other classes' logits"
        )
    return "\n".join(lines)

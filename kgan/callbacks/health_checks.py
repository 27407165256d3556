"""The GAN failure modes `TrainingMonitor` names: one small pure function per failure mode.

A check reads `history`, a list of per-epoch (or running) metric dicts of floats whose last
entry is the current state, and takes its thresholds as keyword arguments with defaults. It
returns a message saying what it saw, with the numbers, or `None`. `@health_check` registers it
under the name of its issue with the advice shown to the user, so a new failure mode is one
function here and one test. `diagnose` runs the registered checks in order.
"""

import dataclasses
import inspect
import math
from collections.abc import Callable

import numpy as np


@dataclasses.dataclass(frozen=True)
class HealthCheck:
    """One registered check: the issue it names, the function, and what usually helps.

    Attributes:
        issue: short name of the failure mode (`TrainingMonitor.ISSUES` lists them).
        function: `function(history, **thresholds) -> message or None`.
        advice: what usually helps, appended to the message for the user.
        epoch_level: the check needs a history of epochs, so it runs only at epoch ends, not
            on the running means of a step.
        thresholds: names of the keyword arguments of `function`, the settings it reads.
    """

    issue: str
    function: Callable
    advice: str
    epoch_level: bool
    thresholds: tuple

    def __call__(self, history, **settings):
        return self.function(history, **{k: settings[k] for k in self.thresholds if k in settings})


CHECKS = {}  # issue name -> HealthCheck, in the order diagnose runs them.


def health_check(issue, *, advice, epoch_level=False):
    """Decorator registering `function(history, *, threshold=default, ...)` as `issue`'s check."""

    def register(function):
        parameters = inspect.signature(function).parameters.values()
        thresholds = tuple(p.name for p in parameters if p.kind is p.KEYWORD_ONLY)
        CHECKS[issue] = HealthCheck(issue, function, advice, epoch_level, thresholds)
        return function

    return register


def as_float(value):
    """The value as a Python float when it is a scalar (a number, a 0-d or 1-element array),
    else `None`."""
    try:
        value = np.asarray(value)
        if value.size != 1:
            return None
        return float(value.reshape(()))
    except (TypeError, ValueError):
        return None


def metric_values(logs):
    """The scalar entries of a Keras `logs` dict as `{name: float}`; other entries are dropped."""
    values = {name: as_float(value) for name, value in (logs or {}).items()}
    return {name: value for name, value in values.items() if value is not None}


def non_finite_metrics(logs):
    """`["name=value", ...]` for the scalar metrics of `logs` that are NaN or infinite."""
    return [f"{k}={v}" for k, v in metric_values(logs).items() if not math.isfinite(v)]


def _is_gan(metrics):
    """A `GAN` reports the discriminator's mean outputs; `WGAN`/`WGANGP` report `wasserstein`."""
    return "d_real" in metrics and "d_fake" in metrics


def _gap(metrics):
    return metrics.get("d_real", math.nan) - metrics.get("d_fake", math.nan)


# ---------------------------------------------------------------------------- the checks


@health_check(
    "discriminator_collapse",
    advice=(
        "The discriminator separates real from fake perfectly, so the generator gets almost no "
        "gradient. Usually helps: a lower discriminator learning rate, label smoothing "
        "(label_smoothing=0.1), instance noise, dropout in the discriminator, or the WGAN-GP loss."
    ),
)
def discriminator_collapse(history, *, collapse_threshold=0.05):
    """The GAN discriminator's loss is below `collapse_threshold` (healthy play is near
    2 ln 2 = 1.39): it wins outright and the generator's gradient vanishes."""
    current = history[-1]
    if _is_gan(current) and current.get("d_loss", math.inf) < collapse_threshold:
        return (
            f"d_loss={current['d_loss']:.4g} is below {collapse_threshold:g} "
            f"(D(x)={current['d_real']:.3f}, D(G(z))={current['d_fake']:.3f})."
        )
    return None


@health_check(
    "divergence",
    advice=(
        "Usually helps: lower learning rates (both networks), Adam with beta_1=0.5, the WGAN-GP "
        "loss, gradient penalty or spectral normalisation in the discriminator, and checking the "
        "data for NaN and for the [-1, 1] range."
    ),
)
def divergence(history, *, growth_factor=10.0):
    """A metric is NaN or infinite, or a loss's magnitude grew beyond `growth_factor` times its
    first value (and beyond 1)."""
    current, first = history[-1], history[0]
    bad = non_finite_metrics(current)
    if bad:
        return f"Non-finite metrics: {', '.join(bad)}."
    # A Wasserstein generator's loss -C(G(z)) drifts freely (critic scores have no anchor),
    # so only its critic's loss and estimate are checked for growth.
    grown = ("d_loss", "g_loss") if _is_gan(current) else ("d_loss", "wasserstein")
    for name in grown:
        value, start = current.get(name), first.get(name)
        if value is None or start is None or not math.isfinite(start):
            continue
        if abs(value) > growth_factor * max(abs(start), 1.0):
            return (
                f"`{name}` grew to {value:.4g}, more than {growth_factor:g}x its first "
                f"value {start:.4g}."
            )
    return None


@health_check(
    "discriminator_says_real",
    advice=(
        "The discriminator calls everything real: the generator is fooling it or it stopped "
        "learning. Usually helps: a higher discriminator learning rate or more discriminator "
        "steps, a larger discriminator, checking that real and fake batches are not mixed up."
    ),
)
def discriminator_says_real(history, *, saturation=0.05):
    """Mean D(x) and D(G(z)) are both above `1 - saturation`."""
    current = history[-1]
    if not _is_gan(current):
        return None
    d_real, d_fake = current["d_real"], current["d_fake"]
    if d_real > 1 - saturation and d_fake > 1 - saturation:
        return f"D(x)={d_real:.3f} and D(G(z))={d_fake:.3f}: both near 1."
    return None


@health_check(
    "discriminator_says_fake",
    advice=(
        "The discriminator calls everything fake, real data included: its real targets are "
        "wrong or it is broken. Usually helps: checking the labels/targets and the data range, "
        "lower discriminator learning rate."
    ),
)
def discriminator_says_fake(history, *, saturation=0.05):
    """Mean D(x) and D(G(z)) are both below `saturation`."""
    current = history[-1]
    if not _is_gan(current):
        return None
    d_real, d_fake = current["d_real"], current["d_fake"]
    if d_real < saturation and d_fake < saturation:
        return f"D(x)={d_real:.3f} and D(G(z))={d_fake:.3f}: both near 0."
    return None


@health_check(
    "discriminator_dominates",
    epoch_level=True,
    advice=(
        "Usually helps: a lower discriminator learning rate (or a higher generator one, as in "
        "TTUR), fewer discriminator updates, label smoothing, instance noise, a smaller "
        "discriminator."
    ),
)
def discriminator_dominates(history, *, patience=5, dominance_gap=0.7):
    """D(x) - D(G(z)) stayed above `dominance_gap` for the last `patience` epochs (GAN)."""
    recent = history[-patience:]
    if len(recent) < patience or not _is_gan(history[-1]):
        return None
    gaps = [_gap(entry) for entry in recent]
    if all(gap > dominance_gap for gap in gaps):
        return (
            f"D(x) - D(G(z)) stayed above {dominance_gap:g} for {patience} "
            f"epochs (now {gaps[-1]:.3f})."
        )
    return None


@health_check(
    "generator_dominates",
    epoch_level=True,
    advice=(
        "The critic/discriminator no longer tells real from generated. Usually helps: more "
        "discriminator (critic) updates per generator step, a higher discriminator learning "
        "rate, a larger discriminator."
    ),
)
def generator_dominates(history, *, patience=5, reverse_gap=0.1):
    """For the last `patience` epochs, D(G(z)) exceeded D(x) by more than `reverse_gap` (GAN),
    or the critic's estimate C(x) - C(G(z)) stayed negative (WGAN, WGAN-GP)."""
    recent = history[-patience:]
    if len(recent) < patience:
        return None
    if _is_gan(history[-1]):
        gaps = [_gap(entry) for entry in recent]
        if all(gap < -reverse_gap for gap in gaps):
            return (
                f"D(G(z)) exceeded D(x) by more than {reverse_gap:g} for {patience} epochs "
                f"(now by {-gaps[-1]:.3f})."
            )
    elif "wasserstein" in history[-1]:
        estimates = [entry.get("wasserstein", math.nan) for entry in recent]
        if all(estimate < 0 for estimate in estimates):
            return (
                f"The critic's estimate C(x) - C(G(z)) stayed negative for "
                f"{patience} epochs (now {estimates[-1]:.4g})."
            )
    return None


@health_check(
    "generator_stalled",
    epoch_level=True,
    advice=(
        "The generator's loss stopped moving: its gradients may have vanished (a saturated "
        "discriminator, dead activations) or its learning rate is too small. Usually helps: the "
        "non-saturating loss, a higher generator learning rate, LeakyReLU in both networks."
    ),
)
def generator_stalled(history, *, patience=5, stall_tolerance=1e-3, equilibrium_band=0.05):
    """`g_loss` moved by less than `stall_tolerance` (relative to max(1, |g_loss|)) over the
    last `patience` epochs, unless the GAN is at its equilibrium: D(x) and D(G(z)) within
    `equilibrium_band` of 1/2 all along (the non-saturating g_loss near ln 2), where a flat
    epoch mean is expected, and g_loss still moving at all. A discriminator whose output is
    constant also sits at 1/2, but its loss and the generator's are exactly flat."""
    entries = history[-(patience + 1) :]
    window = [entry.get("g_loss") for entry in entries]
    if len(window) < patience + 1 or None in window:
        return None
    spread = max(window) - min(window)
    at_equilibrium = _is_gan(history[-1]) and all(
        abs(entry.get(name, math.nan) - 0.5) < equilibrium_band
        for entry in entries
        for name in ("d_real", "d_fake")
    )
    if at_equilibrium and spread > 0:
        return None
    if spread < stall_tolerance * max(1.0, abs(window[-1])):
        return (
            f"g_loss moved by {spread:.2e} over the last {patience} epochs (now {window[-1]:.4g})."
        )
    return None


@health_check(
    "mode_collapse",
    epoch_level=True,
    advice=(
        "Generated samples from different noise have become alike. Usually helps: minibatch "
        "discrimination or packing (PacGAN), the WGAN-GP loss, a lower learning rate, "
        "an exponential moving average of the generator (ema_decay=0.999), restarting from an "
        "earlier checkpoint."
    ),
)
def mode_collapse(history, *, diversity_threshold=0.5, reference_diversity=None):
    """The `diversity` of samples from fixed noise (their mean pairwise distance) fell below
    `diversity_threshold` times `reference_diversity` (the same statistic on real samples) or,
    without a reference, times its own highest earlier value."""
    diversity = history[-1].get("diversity")
    if diversity is None:
        return None
    if reference_diversity is not None:
        reference, what = reference_diversity, "the real data's"
    else:
        earlier = [entry["diversity"] for entry in history[:-1] if "diversity" in entry]
        reference, what = max(earlier, default=0.0), "its highest earlier value"
    if reference and diversity < diversity_threshold * reference:
        return (
            f"Mean pairwise distance of samples from fixed noise is {diversity:.4g}, "
            f"{diversity / reference:.0%} of {what} ({reference:.4g})."
        )
    return None


# ---------------------------------------------------------------------------- diagnose


def diagnose(history, *, final=True, **settings):
    """Runs the registered checks on a metric history; returns `{issue: message}`.

    Args:
        history: a list of per-epoch (or running) metric dicts; `history[-1]` is the current
            state. Values may be NumPy or TensorFlow scalars; other entries are ignored.
        final: `False` for the step-level check of running means: only the checks that need
            no epoch history run.
        **settings: thresholds, passed to each check that takes a keyword of that name.
    """
    known = {name for check in CHECKS.values() for name in check.thresholds}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ValueError(
            f"Unknown health-check settings; the checks take {', '.join(sorted(known))}. "
            f"Received: {', '.join(f'{k}={settings[k]!r}' for k in unknown)}"
        )
    history = [metric_values(entry) for entry in history]
    if non_finite_metrics(history[-1]):
        # Every other check compares numbers, which says nothing true about NaN or infinity.
        checks = [CHECKS["divergence"]]
    else:
        checks = [check for check in CHECKS.values() if final or not check.epoch_level]
    found = {}
    for check in checks:
        message = check(history, **settings)
        if message is not None:
            found[check.issue] = message
    return found

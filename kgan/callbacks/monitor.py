"""`TrainingMonitor`: names the known GAN failure modes while training, with what usually helps.

The checks themselves are pure functions in `kgan/callbacks/health_checks.py`; this callback
feeds them the metrics and the sample diversity, reports what they find once per appearance,
and optionally stops training and keeps the last healthy checkpoint.
"""

import dataclasses
import numbers
import os
import warnings

import keras
import numpy as np

from kgan import atomic
from kgan._validation import check_choice, check_non_negative, check_positive_int, check_range
from kgan.callbacks import health_checks
from kgan.metrics import mean_pairwise_distance
from kgan.models import checks, sample_latent

_BALANCE = ("d_real", "d_fake")


class TrainingHealthWarning(UserWarning):
    """Category of the warnings `TrainingMonitor` issues; filter it with `warnings`."""


@dataclasses.dataclass(frozen=True)
class HealthEvent:
    """One diagnosis of `TrainingMonitor`.

    Attributes:
        issue: short name of the failure mode (see `TrainingMonitor.ISSUES`).
        epoch: 1-based epoch where it was seen.
        step: 1-based step within the epoch for a step-level check, `None` at an epoch end.
        message: what was seen, with the numbers.
        advice: what usually helps.
    """

    issue: str
    epoch: int
    step: object
    message: str
    advice: str

    def __str__(self):
        where = f"epoch {self.epoch}" + (f", step {self.step}" if self.step else "")
        return f"[{self.issue}] {where}: {self.message} {self.advice}"


def _check_num_diversity_samples(value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(
            "`num_diversity_samples` must be an integer (0 disables the check). "
            f"Received: num_diversity_samples={value!r}"
        )
    if value == 1 or value < 0:
        raise ValueError(
            "`num_diversity_samples` must be 0 or at least 2. "
            f"Received: num_diversity_samples={value}"
        )


def _check_growth_factor(value):
    # A factor below 1 would flag a loss that has not grown at all.
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and value >= 1
    if not ok:
        raise ValueError(
            "`growth_factor` must be a number of at least 1: a loss diverges when its magnitude "
            f"exceeds growth_factor times its first epoch's. Received: growth_factor={value!r}"
        )


def _issues_to_stop_on(stop_on, issues):
    """`stop_on` as a tuple of issue names (`"all"`: every issue)."""
    if stop_on == "all":
        return issues
    stop_on = tuple(stop_on or ())
    if any(issue not in issues for issue in stop_on):
        raise ValueError(
            f"`stop_on` must name issues among {', '.join(issues)} (or be 'all'). "
            f"Received: stop_on={stop_on!r}"
        )
    return stop_on


class TrainingMonitor(keras.callbacks.Callback):
    """Names the known GAN failure modes while training, with what usually helps.

    At every epoch end (and every `every_n_steps` steps, on the running means Keras reports) it
    reads the tracked metrics (`d_loss`, `g_loss`, and `d_real`/`d_fake` of `GAN` or
    `wasserstein` of `WGAN`/`WGANGP`) and, at epoch ends, the diversity of samples drawn from
    fixed noise. It recognises (one function each in `kgan.callbacks.health_checks`):

    * `discriminator_collapse`: the GAN discriminator's loss falls below
      `collapse_threshold` (healthy play is near 2 ln 2 = 1.39): it wins outright and the
      generator's gradient vanishes.
    * `divergence`: a loss is NaN or infinite, or its magnitude has grown beyond
      `growth_factor` times its first epoch's (and beyond 1).
    * `discriminator_says_real` / `discriminator_says_fake`: mean D(x) and D(G(z)) both above
      `1 - saturation` or both below `saturation`.
    * `discriminator_dominates` / `generator_dominates`: for `patience` epochs in a row,
      D(x) - D(G(z)) stays above `dominance_gap` (or D(G(z)) exceeds D(x) by more than 0.1);
      for Wasserstein models, the critic's estimate C(x) - C(G(z)) stays negative.
    * `generator_stalled`: `g_loss` moved by less than `stall_tolerance` (relative to
      max(1, |g_loss|)) over the last `patience` epochs, unless a GAN sat at its equilibrium:
      D(x) and D(G(z)) within `equilibrium_band` of 1/2, with g_loss still moving at all.
    * `mode_collapse`: the mean pairwise distance of `num_diversity_samples` samples from fixed
      noise falls below `diversity_threshold` times the same statistic on `real_samples` (when
      given) or times its own highest value so far. Measured from samples, not guessed from
      the losses.

    Each issue is reported once when it appears (again only after it has cleared), as a
    `TrainingHealthWarning` and as a `HealthEvent` appended to `.events`.

    Args:
        every_n_steps: also check the running metrics every this many steps (`None`: only at
            epoch ends). Non-finite losses are checked at every step regardless.
        stop_on: issues that stop training (`model.stop_training = True`): a tuple of issue
            names, or `"all"`. Default: none, only warnings.
        checkpoint_path: when set, the model is saved there (`model.save`, a `.keras` file) at
            every epoch end where no issue is active, so a run that diverges keeps its last
            healthy checkpoint. Each save goes to a temporary name beside it first, so a run
            killed during a save keeps the previous checkpoint.
        real_samples: an array of real samples, the reference of the diversity check.
        num_diversity_samples: generated samples of the diversity check (0 disables it).
        seed: seed of the fixed noise of the diversity check.
        patience: epochs an imbalance or a flat generator loss must last.
        collapse_threshold, growth_factor, saturation, dominance_gap, stall_tolerance,
            equilibrium_band, diversity_threshold: thresholds of the checks above.
        verbose: print a line when stopping or checkpointing (1 or 2) or stay silent (0).

    Example:
    >>> monitor = kgan.callbacks.TrainingMonitor(stop_on=("divergence",),
    ...                                          checkpoint_path="last_good.keras")
    >>> gan.fit(dataset, epochs=50, callbacks=[monitor])
    >>> for event in monitor.events: print(event)
    """

    ISSUES = tuple(health_checks.CHECKS)

    def __init__(
        self,
        every_n_steps=None,
        *,
        stop_on=(),
        checkpoint_path=None,
        real_samples=None,
        num_diversity_samples=256,
        seed=0,
        patience=5,
        collapse_threshold=0.05,
        growth_factor=10.0,
        saturation=0.05,
        dominance_gap=0.7,
        stall_tolerance=1e-3,
        equilibrium_band=0.05,
        diversity_threshold=0.5,
        verbose=1,
    ):
        super().__init__()
        check_positive_int("every_n_steps", every_n_steps, allow_none=True)
        check_positive_int("patience", patience)
        _check_num_diversity_samples(num_diversity_samples)
        check_range("saturation", saturation, 0.0, 0.5, include_high=False)
        check_range("dominance_gap", dominance_gap, 0.0, 1.0)
        check_range("equilibrium_band", equilibrium_band, 0.0, 0.5)
        check_range("diversity_threshold", diversity_threshold, 0.0, 1.0)
        check_non_negative("collapse_threshold", collapse_threshold)
        _check_growth_factor(growth_factor)
        check_non_negative("stall_tolerance", stall_tolerance)
        check_choice("verbose", verbose, (0, 1, 2))
        self.every_n_steps = every_n_steps
        self.stop_on = _issues_to_stop_on(stop_on, self.ISSUES)
        self.checkpoint_path = None if checkpoint_path is None else os.fspath(checkpoint_path)
        self.real_samples = None if real_samples is None else np.asarray(real_samples)
        self.num_diversity_samples = num_diversity_samples
        self.seed = seed
        self.patience = patience
        self.collapse_threshold = collapse_threshold
        self.growth_factor = growth_factor
        self.saturation = saturation
        self.dominance_gap = dominance_gap
        self.stall_tolerance = stall_tolerance
        self.equilibrium_band = equilibrium_band
        self.diversity_threshold = diversity_threshold
        self.verbose = verbose
        self._reference_diversity = None
        if self.real_samples is not None and num_diversity_samples:
            if len(self.real_samples) < 2:
                raise ValueError(
                    "`real_samples` must hold at least two samples. "
                    f"Received: real_samples of shape {self.real_samples.shape}"
                )
            self._reference_diversity = mean_pairwise_distance(
                self.real_samples[:num_diversity_samples]
            )
        self.events = []
        self.history = []  # one dict of metrics (and `diversity`) per epoch
        self.stopped_by = None
        self._active = set()
        self._z = None
        self._epoch = 0
        # The epoch (from 0) whose end saved `checkpoint_path` last in this process, or `None`.
        self.checkpoint_epoch = None

    def diagnose(self, history, *, final=True):
        """Returns `{issue: message}` for a list of per-epoch (or running) metric dicts.

        `history[-1]` is the current state. With `final=False` (step-level checks on running
        means), only the checks that need no epoch history run. For a model whose loss family
        does not score with logits (`kgan.losses.LossFamily.probabilities`: hinge, least
        squares...), `d_real`/`d_fake` are raw outputs, not probabilities, so the checks that
        read them as probabilities are left out.
        """
        if not self._reports_probabilities():
            history = [
                {name: value for name, value in entry.items() if name not in _BALANCE}
                for entry in history
            ]
        return health_checks.diagnose(
            history,
            final=final,
            patience=self.patience,
            collapse_threshold=self.collapse_threshold,
            growth_factor=self.growth_factor,
            saturation=self.saturation,
            dominance_gap=self.dominance_gap,
            stall_tolerance=self.stall_tolerance,
            equilibrium_band=self.equilibrium_band,
            diversity_threshold=self.diversity_threshold,
            reference_diversity=self._reference_diversity,
        )

    def _reports_probabilities(self):
        # The loss family says whether `d_real` / `d_fake` are probabilities sigmoid(D).
        family = getattr(getattr(self, "model", None), "loss_family", None)
        return family is None or family.probabilities

    # -- Keras hooks --

    def on_train_begin(self, logs=None):
        if self.real_samples is not None and self.num_diversity_samples:
            checks.check_reference_samples("real_samples", self.real_samples, self.model)
        # A run resumed with the record of its earlier epochs (`history`, `events`) goes on
        # with the issues active at its last epoch end, rather than reporting them anew.
        self._active = set(self.diagnose(self.history)) if self.history else set()
        if self.num_diversity_samples:
            self._z = sample_latent(
                self.num_diversity_samples,
                self.model.latent_dim,
                seed=self.seed,
                distribution=self.model.latent_distribution,
            ).numpy()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        due = self.every_n_steps and (batch + 1) % self.every_n_steps == 0
        if not (due or health_checks.non_finite_metrics(logs)):
            return
        history = (self.history[:1] or [dict(logs)]) + [dict(logs)]
        self._report(self.diagnose(history, final=False), step=batch + 1, step_level=True)

    def on_epoch_end(self, epoch, logs=None):
        entry = health_checks.metric_values(logs)
        if self._z is not None:
            samples = self.model.generate(z=self._z)
            if np.all(np.isfinite(samples)):
                entry["diversity"] = mean_pairwise_distance(samples)
        self.history.append(entry)
        found = self.diagnose(self.history)
        self._report(found, step=None, step_level=False)
        if self.checkpoint_path and not found and not self.model.stop_training:
            # Saved to a temporary name and renamed: a kill during the save keeps the previous
            # healthy checkpoint whole.
            atomic.save_model(self.model, self.checkpoint_path)
            self.checkpoint_epoch = epoch
            if self.verbose:
                print(f"TrainingMonitor: epoch {epoch + 1} healthy, saved {self.checkpoint_path}")

    def _report(self, found, *, step, step_level):
        for issue, message in found.items():
            if issue in self._active:
                continue
            advice = health_checks.CHECKS[issue].advice
            event = HealthEvent(issue, self._epoch + 1, step, message, advice)
            self.events.append(event)
            warnings.warn(str(event), TrainingHealthWarning, stacklevel=2)
            if issue in self.stop_on and not self.model.stop_training:
                self.model.stop_training = True
                self.stopped_by = event
                if self.verbose:
                    kept = (
                        f" The last healthy checkpoint is {self.checkpoint_path}."
                        if self.checkpoint_path and os.path.exists(self.checkpoint_path)
                        else ""
                    )
                    print(f"TrainingMonitor: stopping training: {event}{kept}")
        # Step-level checks only add issues; an issue clears at an epoch end without it.
        if step_level:
            self._active |= set(found)
        else:
            self._active = set(found)

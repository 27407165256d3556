"""Callbacks that answer "is it working?" while a GAN trains.

* `SampleGrid`: a PNG grid of samples from fixed noise every epoch (and a TensorBoard image).
* `TrainingMonitor`: reads the tracked metrics and the samples and names the known failure
  modes when they appear, with what usually helps; warns, and optionally stops and keeps the
  last healthy checkpoint.
* `EvaluationCallback`: FID/KID every N epochs on a held-out set, logged to `History` and
  TensorBoard, keeping the best generator.
"""

import dataclasses
import math
import os
import warnings

import keras
import numpy as np

from kgan import images as kgan_images
from kgan import metrics as kgan_metrics
from kgan._validation import check_positive_int, check_range


class TrainingHealthWarning(UserWarning):
    """Category of the warnings `TrainingMonitor` issues; filter it with `warnings`."""


# ---------------------------------------------------------------------------- TensorBoard


def _summary(writer, tag, step, *, image=None, scalar=None):
    """Writes an image (uint8 `(H, W, C)`) or scalar summary that TensorBoard displays.

    Built on the core `tf.summary.write` rather than `tf.summary.image`/`scalar`, which live in
    the `tensorboard` package: logging then works whether or not TensorBoard is installed on
    the training machine.
    """
    import tensorflow as tf
    from tensorflow.core.framework import summary_pb2

    if image is not None:
        # The images plugin reads a vector of strings [width, height, png, png...].
        plugin = "images"
        tensor = tf.stack(
            [tf.as_string(image.shape[1]), tf.as_string(image.shape[0]), tf.io.encode_png(image)]
        )
    else:
        plugin, tensor = "scalars", tf.constant(float(scalar), tf.float32)
    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=plugin)
    )
    with writer.as_default():
        tf.summary.write(tag, tensor, step=step, metadata=metadata)
    writer.flush()


# ---------------------------------------------------------------------------- SampleGrid


def _fixed_noise(model, num_samples, seed):
    from kgan.models.base import sample_latent

    return sample_latent(
        num_samples, model.latent_dim, seed=seed, distribution=model.latent_distribution
    ).numpy()


class SampleGrid(keras.callbacks.Callback):
    """Saves a grid of samples from the same noise (and labels) every `every_n_epochs` epochs.

    Samples come from `model.generate(z=fixed_z, labels=labels)`, so they use the averaged
    generator when `ema_decay` is set, and the same noise every epoch shows how the generator
    evolves. Files are `directory/epoch_001.png`, `epoch_002.png`...; with `tensorboard_dir`
    the same grid is written as the image summary `samples`.

    Args:
        directory: folder of the PNG files (created if needed).
        num_samples: samples per grid.
        seed: seed of the fixed noise.
        labels: classes for a class-conditional model (one per sample, or one integer); by
            default classes cycle 0, 1, ..., num_classes - 1.
        every_n_epochs: write a grid every this many epochs.
        tensorboard_dir: log directory of a TensorBoard image summary, or `None`.

    Example:
    >>> gan.fit(dataset, epochs=20, callbacks=[kgan.callbacks.SampleGrid("samples/")])
    """

    def __init__(
        self,
        directory,
        num_samples=64,
        seed=0,
        labels=None,
        every_n_epochs=1,
        tensorboard_dir=None,
    ):
        super().__init__()
        check_positive_int("num_samples", num_samples)
        check_positive_int("every_n_epochs", every_n_epochs)
        self.directory = os.fspath(directory)
        self.num_samples = num_samples
        self.seed = seed
        self.labels = labels
        self.every_n_epochs = every_n_epochs
        self.tensorboard_dir = tensorboard_dir
        self.paths = []
        self._z = None
        self._writer = None

    def on_train_begin(self, logs=None):
        if len(self.model.sample_shape) != 3:
            raise ValueError(
                "SampleGrid draws image grids; the generator must output images "
                "(height, width, channels). Received: samples of shape "
                f"{tuple(self.model.sample_shape)}"
            )
        if self._z is None:
            self._z = _fixed_noise(self.model, self.num_samples, self.seed)
        os.makedirs(self.directory, exist_ok=True)
        if self.tensorboard_dir and self._writer is None:
            import tensorflow as tf

            self._writer = tf.summary.create_file_writer(os.fspath(self.tensorboard_dir))

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs:
            return
        samples = self.model.generate(z=self._z, labels=self.labels)
        path = os.path.join(self.directory, f"epoch_{epoch + 1:03d}.png")
        kgan_images.save_image_grid(samples, path)
        self.paths.append(path)
        if self._writer is not None:
            _summary(self._writer, "samples", epoch + 1, image=kgan_images.image_grid(samples))

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


# ---------------------------------------------------------------------------- TrainingMonitor


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


_ADVICE = {
    "discriminator_collapse": (
        "The discriminator separates real from fake perfectly, so the generator gets almost no "
        "gradient. Usually helps: a lower discriminator learning rate, label smoothing "
        "(label_smoothing=0.1), instance noise, dropout in the discriminator, or the WGAN-GP loss."
    ),
    "divergence": (
        "Usually helps: lower learning rates (both networks), Adam with beta_1=0.5, the WGAN-GP "
        "loss, gradient penalty or spectral normalisation in the discriminator, and checking the "
        "data for NaN and for the [-1, 1] range."
    ),
    "discriminator_says_real": (
        "The discriminator calls everything real: the generator is fooling it or it stopped "
        "learning. Usually helps: a higher discriminator learning rate or more discriminator "
        "steps, a larger discriminator, checking that real and fake batches are not mixed up."
    ),
    "discriminator_says_fake": (
        "The discriminator calls everything fake, real data included: its real targets are "
        "wrong or it is broken. Usually helps: checking the labels/targets and the data range, "
        "lower discriminator learning rate."
    ),
    "discriminator_dominates": (
        "Usually helps: a lower discriminator learning rate (or a higher generator one, as in "
        "TTUR), fewer discriminator updates, label smoothing, instance noise, a smaller "
        "discriminator."
    ),
    "generator_dominates": (
        "The critic/discriminator no longer tells real from generated. Usually helps: more "
        "discriminator (critic) updates per generator step, a higher discriminator learning "
        "rate, a larger discriminator."
    ),
    "generator_stalled": (
        "The generator's loss stopped moving: its gradients may have vanished (a saturated "
        "discriminator, dead activations) or its learning rate is too small. Usually helps: the "
        "non-saturating loss, a higher generator learning rate, LeakyReLU in both networks."
    ),
    "mode_collapse": (
        "Generated samples from different noise have become alike. Usually helps: minibatch "
        "discrimination or packing (PacGAN), the WGAN-GP loss, a lower learning rate, "
        "an exponential moving average of the generator (ema_decay=0.999), restarting from an "
        "earlier checkpoint."
    ),
}


def _mean_pairwise_distance(samples):
    """Mean Euclidean distance between distinct samples: a scale-aware diversity statistic."""
    flat = np.asarray(samples, dtype="float64").reshape(len(samples), -1)
    distances = kgan_metrics._pairwise_distances(flat, flat)
    count = flat.shape[0]
    return float(distances.sum() / (count * (count - 1)))


class TrainingMonitor(keras.callbacks.Callback):
    """Names the known GAN failure modes while training, with what usually helps.

    At every epoch end (and every `every_n_steps` steps, on the running means Keras reports) it
    reads the tracked metrics (`d_loss`, `g_loss`, and `d_real`/`d_fake` of `GAN` or
    `wasserstein` of `WGAN`/`WGANGP`) and, at epoch ends, the diversity of samples drawn from
    fixed noise. It recognises:

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
      max(1, |g_loss|)) over the last `patience` epochs.
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
            healthy checkpoint.
        real_samples: an array of real samples, the reference of the diversity check.
        num_diversity_samples: generated samples of the diversity check (0 disables it).
        seed: seed of the fixed noise of the diversity check.
        patience: epochs an imbalance or a flat generator loss must last.
        collapse_threshold, growth_factor, saturation, dominance_gap, stall_tolerance,
            diversity_threshold: thresholds of the checks above.
        verbose: print a line when stopping or checkpointing (1) or stay silent (0).

    Example:
    >>> monitor = kgan.callbacks.TrainingMonitor(stop_on=("divergence",),
    ...                                          checkpoint_path="last_good.keras")
    >>> gan.fit(dataset, epochs=50, callbacks=[monitor])
    >>> for event in monitor.events: print(event)
    """

    ISSUES = tuple(_ADVICE)

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
        diversity_threshold=0.5,
        verbose=1,
    ):
        super().__init__()
        check_positive_int("every_n_steps", every_n_steps, allow_none=True)
        check_positive_int("patience", patience)
        if isinstance(num_diversity_samples, bool) or not isinstance(num_diversity_samples, int):
            raise ValueError(
                "`num_diversity_samples` must be an integer (0 disables the check). "
                f"Received: num_diversity_samples={num_diversity_samples!r}"
            )
        if num_diversity_samples == 1 or num_diversity_samples < 0:
            raise ValueError(
                "`num_diversity_samples` must be 0 or at least 2. "
                f"Received: num_diversity_samples={num_diversity_samples}"
            )
        check_range("saturation", saturation, 0.0, 0.5, include_high=False)
        check_range("dominance_gap", dominance_gap, 0.0, 1.0)
        check_range("diversity_threshold", diversity_threshold, 0.0, 1.0)
        if stop_on == "all":
            stop_on = self.ISSUES
        stop_on = tuple(stop_on or ())
        unknown = [issue for issue in stop_on if issue not in self.ISSUES]
        if unknown:
            raise ValueError(
                f"`stop_on` must name issues among {', '.join(self.ISSUES)} (or be 'all'). "
                f"Received: stop_on={stop_on!r}"
            )
        self.every_n_steps = every_n_steps
        self.stop_on = stop_on
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
        self.diversity_threshold = diversity_threshold
        self.verbose = verbose
        self._reference_diversity = None
        if self.real_samples is not None and num_diversity_samples:
            if len(self.real_samples) < 2:
                raise ValueError(
                    "`real_samples` must hold at least two samples. "
                    f"Received: real_samples of shape {self.real_samples.shape}"
                )
            self._reference_diversity = _mean_pairwise_distance(
                self.real_samples[:num_diversity_samples]
            )
        self.events = []
        self.history = []  # one dict of metrics (and `diversity`) per epoch
        self.stopped_by = None
        self._active = set()
        self._z = None
        self._epoch = 0

    # -- the checks, as pure functions of a metric history (also used by the tests) --

    def diagnose(self, history, *, final=True):
        """Returns `{issue: message}` for a list of per-epoch (or running) metric dicts.

        `history[-1]` is the current state. With `final=False` (step-level checks on running
        means), only the checks that need no epoch history run.
        """
        current = history[-1]
        found = {}
        values = {k: _as_float(v) for k, v in current.items()}
        values = {k: v for k, v in values.items() if v is not None}

        bad = [f"{k}={v}" for k, v in values.items() if not math.isfinite(v)]
        if bad:
            found["divergence"] = f"Non-finite metrics: {', '.join(bad)}."
            return found
        first = {k: _as_float(v) for k, v in history[0].items()}
        is_gan = "d_real" in values and "d_fake" in values
        # A Wasserstein generator's loss -C(G(z)) drifts freely (critic scores have no anchor),
        # so only its critic's loss and estimate are checked for growth.
        grown = ("d_loss", "g_loss") if is_gan else ("d_loss", "wasserstein")
        for name in grown:
            value, start = values.get(name), first.get(name)
            if value is None or start is None or not math.isfinite(start):
                continue
            limit = self.growth_factor * max(abs(start), 1.0)
            if abs(value) > limit:
                found["divergence"] = (
                    f"`{name}` grew to {value:.4g}, more than {self.growth_factor:g}x its first "
                    f"value {start:.4g}."
                )
                break

        if is_gan:
            d_real, d_fake = values["d_real"], values["d_fake"]
            if values.get("d_loss", math.inf) < self.collapse_threshold:
                found["discriminator_collapse"] = (
                    f"d_loss={values['d_loss']:.4g} is below {self.collapse_threshold:g} "
                    f"(D(x)={d_real:.3f}, D(G(z))={d_fake:.3f})."
                )
            if d_real > 1 - self.saturation and d_fake > 1 - self.saturation:
                found["discriminator_says_real"] = (
                    f"D(x)={d_real:.3f} and D(G(z))={d_fake:.3f}: both near 1."
                )
            elif d_real < self.saturation and d_fake < self.saturation:
                found["discriminator_says_fake"] = (
                    f"D(x)={d_real:.3f} and D(G(z))={d_fake:.3f}: both near 0."
                )
        if not final:
            return found

        recent = [
            {k: _as_float(v) for k, v in entry.items()} for entry in history[-self.patience :]
        ]
        if len(recent) == self.patience:
            if is_gan:
                gaps = [e.get("d_real", math.nan) - e.get("d_fake", math.nan) for e in recent]
                if all(gap > self.dominance_gap for gap in gaps):
                    found["discriminator_dominates"] = (
                        f"D(x) - D(G(z)) stayed above {self.dominance_gap:g} for {self.patience} "
                        f"epochs (now {gaps[-1]:.3f})."
                    )
                elif all(gap < -0.1 for gap in gaps):
                    found["generator_dominates"] = (
                        f"D(G(z)) exceeded D(x) by more than 0.1 for {self.patience} epochs "
                        f"(now by {-gaps[-1]:.3f})."
                    )
            elif "wasserstein" in values:
                estimates = [e.get("wasserstein", math.nan) for e in recent]
                if all(estimate < 0 for estimate in estimates):
                    found["generator_dominates"] = (
                        f"The critic's estimate C(x) - C(G(z)) stayed negative for "
                        f"{self.patience} epochs (now {estimates[-1]:.4g})."
                    )
        window = [
            {k: _as_float(v) for k, v in entry.items()}.get("g_loss")
            for entry in history[-(self.patience + 1) :]
        ]
        if len(window) == self.patience + 1 and None not in window:
            spread = max(window) - min(window)
            scale = max(1.0, abs(window[-1]))
            if spread < self.stall_tolerance * scale:
                found["generator_stalled"] = (
                    f"g_loss moved by {spread:.2e} over the last {self.patience} epochs "
                    f"(now {window[-1]:.4g})."
                )
        diversity = values.get("diversity")
        if diversity is not None:
            if self._reference_diversity is not None:
                reference, what = self._reference_diversity, "the real data's"
            else:
                earlier = [_as_float(e.get("diversity")) for e in history[:-1]]
                reference = max([d for d in earlier if d is not None] or [0.0])
                what = "its highest earlier value"
            if reference and diversity < self.diversity_threshold * reference:
                found["mode_collapse"] = (
                    f"Mean pairwise distance of samples from fixed noise is {diversity:.4g}, "
                    f"{diversity / reference:.0%} of {what} ({reference:.4g})."
                )
        return found

    # -- Keras hooks --

    def on_train_begin(self, logs=None):
        if self.num_diversity_samples:
            self._z = _fixed_noise(self.model, self.num_diversity_samples, self.seed)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        non_finite = any(
            (value := _as_float(v)) is not None and not math.isfinite(value) for v in logs.values()
        )
        due = self.every_n_steps and (batch + 1) % self.every_n_steps == 0
        if not (non_finite or due):
            return
        history = (self.history[:1] or [dict(logs)]) + [dict(logs)]
        self._report(self.diagnose(history, final=False), step=batch + 1, step_level=True)

    def on_epoch_end(self, epoch, logs=None):
        entry = {k: v for k, v in (logs or {}).items() if _as_float(v) is not None}
        entry = {k: _as_float(v) for k, v in entry.items()}
        if self._z is not None:
            samples = self.model.generate(z=self._z)
            if np.all(np.isfinite(samples)):
                entry["diversity"] = _mean_pairwise_distance(samples)
        self.history.append(entry)
        found = self.diagnose(self.history)
        self._report(found, step=None, step_level=False)
        if self.checkpoint_path and not found and not self.model.stop_training:
            directory = os.path.dirname(os.path.abspath(self.checkpoint_path))
            os.makedirs(directory, exist_ok=True)
            self.model.save(self.checkpoint_path)
            if self.verbose:
                print(f"TrainingMonitor: epoch {epoch + 1} healthy, saved {self.checkpoint_path}")

    def _report(self, found, *, step, step_level):
        for issue, message in found.items():
            if issue in self._active:
                continue
            event = HealthEvent(issue, self._epoch + 1, step, message, _ADVICE[issue])
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


def _as_float(value):
    try:
        value = np.asarray(value)
        if value.size != 1:
            return None
        return float(value)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------------------- EvaluationCallback


class EvaluationCallback(keras.callbacks.Callback):
    """FID (and KID) on a held-out set every `every_n_epochs` epochs, keeping the best generator.

    The real features are computed once, at the start of training; the generated samples come
    from the same seed every time (`model.generate(num_samples, seed=seed)`, the averaged
    generator when `ema_decay` is set). The values are added to the epoch's logs as `fid`,
    `kid` and `kid_std`, so they appear in `History` (and in Keras' `TensorBoard` callback when
    it comes after this one); with `tensorboard_dir` they are also written as scalars
    `evaluation/fid`...

    Args:
        real_samples: held-out real samples, an array `(N, ...)` (images in [-1, 1]).
        feature_extractor: a `keras.Model` (or callable) from samples to features, for example
            `kgan.metrics.inception_feature_extractor()` or
            `kgan.metrics.classifier_feature_extractor(classifier)`; `None` uses the flattened
            samples (fine for the 2-D toys).
        num_samples: generated samples per evaluation (use the same count as `real_samples`
            to compare FIDs; 10,000 or more for reportable numbers).
        every_n_epochs: evaluate every this many epochs (and at the last epoch).
        kid: also compute KID (slower: subsets of up to 1,000 samples).
        kid_subsets: random subsets KID is averaged over (10 keeps the callback cheap; the
            published protocol and `kgan.evaluate` use 100).
        seed: seed of the generated samples.
        save_best_path: when set, the model is saved there (`.keras`) whenever FID improves.
        restore_best_weights: set the model's weights back to the best epoch's at the end of
            training.
        tensorboard_dir: log directory for scalar summaries, or `None`.
        batch_size: batch size of feature extraction.

    Attributes:
        best_fid, best_epoch: the lowest FID seen and its 1-based epoch.
        best_weights: the model's weights at that epoch (`model.set_weights` restores them).
    """

    def __init__(
        self,
        real_samples,
        feature_extractor=None,
        num_samples=None,
        every_n_epochs=1,
        *,
        kid=True,
        kid_subsets=10,
        seed=0,
        save_best_path=None,
        restore_best_weights=False,
        tensorboard_dir=None,
        batch_size=256,
    ):
        super().__init__()
        self.real_samples = np.asarray(real_samples, dtype="float32")
        if self.real_samples.ndim < 2 or len(self.real_samples) < 2:
            raise ValueError(
                "`real_samples` must be an array of at least two samples. "
                f"Received: real_samples of shape {self.real_samples.shape}"
            )
        num_samples = len(self.real_samples) if num_samples is None else num_samples
        check_positive_int("num_samples", num_samples)
        check_positive_int("every_n_epochs", every_n_epochs)
        self.feature_extractor = feature_extractor
        self.num_samples = num_samples
        self.every_n_epochs = every_n_epochs
        self.kid = kid
        check_positive_int("kid_subsets", kid_subsets)
        self.kid_subsets = kid_subsets
        self.seed = seed
        self.save_best_path = save_best_path
        self.restore_best_weights = restore_best_weights
        self.tensorboard_dir = tensorboard_dir
        self.batch_size = batch_size
        self.best_fid = math.inf
        self.best_epoch = None
        self.best_weights = None
        self.results = []
        self._real_features = None
        self._real_statistics = None
        self._writer = None
        self._epochs = None

    def set_params(self, params):
        super().set_params(params)
        self._epochs = (params or {}).get("epochs")

    def on_train_begin(self, logs=None):
        if self._real_features is None:
            self._real_features = kgan_metrics.compute_features(
                self.feature_extractor, self.real_samples, batch_size=self.batch_size
            )
            self._real_statistics = kgan_metrics.gaussian_statistics(self._real_features)
        if self.tensorboard_dir and self._writer is None:
            import tensorflow as tf

            self._writer = tf.summary.create_file_writer(os.fspath(self.tensorboard_dir))

    def evaluate(self):
        """Computes the metrics for the model's current generator; returns a dict."""
        samples = self.model.generate(self.num_samples, seed=self.seed)
        if not np.all(np.isfinite(samples)):
            return {"fid": math.nan}
        features = kgan_metrics.compute_features(
            self.feature_extractor, samples, batch_size=self.batch_size
        )
        result = {
            "fid": kgan_metrics.frechet_distance_from_statistics(
                *self._real_statistics, *kgan_metrics.gaussian_statistics(features)
            )
        }
        if self.kid:
            result["kid"], result["kid_std"] = kgan_metrics.kernel_distance(
                self._real_features, features, num_subsets=self.kid_subsets, seed=self.seed
            )
        return result

    def on_epoch_end(self, epoch, logs=None):
        last = self._epochs is not None and epoch + 1 == self._epochs
        if (epoch + 1) % self.every_n_epochs and not last:
            return
        result = self.evaluate()
        self.results.append({"epoch": epoch + 1, **result})
        if logs is not None:
            logs.update(result)
        if self._writer is not None:
            for name, value in result.items():
                _summary(self._writer, f"evaluation/{name}", epoch + 1, scalar=value)
        if result["fid"] < self.best_fid:
            self.best_fid, self.best_epoch = result["fid"], epoch + 1
            self.best_weights = [np.array(w) for w in self.model.get_weights()]
            if self.save_best_path:
                os.makedirs(os.path.dirname(os.path.abspath(self.save_best_path)), exist_ok=True)
                self.model.save(self.save_best_path)

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)
        if self._writer is not None:
            self._writer.close()
            self._writer = None


__all__ = [
    "EvaluationCallback",
    "HealthEvent",
    "SampleGrid",
    "TrainingHealthWarning",
    "TrainingMonitor",
]

"""`EvaluationCallback`: FID/KID every N epochs on a held-out set, keeping the best generator."""

import math
import os

import keras
import numpy as np
import tensorflow as tf

from kgan import metrics as kgan_metrics
from kgan._validation import check_bool, check_positive_int, check_seed, short
from kgan.metrics.features import check_input_shape
from kgan.models import checks


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
        num_samples: generated samples per evaluation, at least 2 (use the same count as
            `real_samples` to compare FIDs; 10,000 or more for reportable numbers).
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
        if num_samples < 2:
            raise ValueError(
                "`num_samples` must be at least 2: FID's covariance and KID's unbiased MMD need "
                f"two generated samples. Received: num_samples={num_samples}"
            )
        check_positive_int("every_n_epochs", every_n_epochs)
        check_positive_int("kid_subsets", kid_subsets)
        check_positive_int("batch_size", batch_size)
        check_bool("kid", kid)
        check_bool("restore_best_weights", restore_best_weights)
        check_seed(seed)
        if feature_extractor is not None and not callable(feature_extractor):
            raise TypeError(
                "`feature_extractor` must be a keras.Model (or callable) from samples to "
                "features, for example kgan.metrics.inception_feature_extractor(), or None. "
                f"Received: feature_extractor={short(repr(feature_extractor))} of type "
                f"{type(feature_extractor).__name__}"
            )
        self.feature_extractor = feature_extractor
        self.num_samples = num_samples
        self.every_n_epochs = every_n_epochs
        self.kid = kid
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
        checks.check_reference_samples("real_samples", self.real_samples, self.model)
        check_input_shape("feature_extractor", self.feature_extractor, self.model.sample_shape)
        if self._real_features is None:
            self._real_features = kgan_metrics.compute_features(
                self.feature_extractor, self.real_samples, batch_size=self.batch_size, verbose=0
            )
            self._real_statistics = kgan_metrics.gaussian_statistics(self._real_features)
        if self.tensorboard_dir and self._writer is None:
            self._writer = tf.summary.create_file_writer(os.fspath(self.tensorboard_dir))

    def evaluate(self):
        """Computes the metrics for the model's current generator; returns a dict."""
        # Silent: `fit` prints its own progress.
        samples = self.model.generate(self.num_samples, seed=self.seed, verbose=0)
        if not np.all(np.isfinite(samples)):
            return {"fid": math.nan}
        features = kgan_metrics.compute_features(
            self.feature_extractor, samples, batch_size=self.batch_size, verbose=0
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
            with self._writer.as_default():
                for name, value in result.items():
                    tf.summary.scalar(f"evaluation/{name}", value, step=epoch + 1)
            self._writer.flush()  # TensorBoard shows each value while training goes on.
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

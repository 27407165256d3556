"""`kgan.evaluate`: every metric that applies to a generator and a real dataset, as one dict."""

import inspect
import math
import os
import time
import warnings

import keras
import numpy as np

from kgan import metrics, storage
from kgan._validation import check_positive_int, short
from kgan.metrics.features import check_input_shape
from kgan.progress import Progress, check_verbose


def _real_samples(real_dataset, num_samples, seed):
    """Up to `num_samples` real samples (and the mixture, for toy distributions)."""
    if hasattr(real_dataset, "means") and hasattr(real_dataset, "sample"):
        points, _ = real_dataset.sample(num_samples, seed=seed)
        return np.asarray(points, dtype="float32")
    if hasattr(real_dataset, "take") and hasattr(real_dataset, "element_spec"):
        chunks, count = [], 0
        for element in real_dataset:
            if isinstance(element, dict):
                raise ValueError(
                    "`real_dataset` must yield samples or (samples, labels) tuples. "
                    f"Received: elements with keys {sorted(element)}"
                )
            batch = element[0] if isinstance(element, (tuple, list)) else element
            batch = np.asarray(batch, dtype="float32")
            chunks.append(batch)
            count += len(batch)
            if count >= num_samples:
                break
        if not chunks:
            raise ValueError(f"`real_dataset` is empty. Received: real_dataset={real_dataset!r}")
        return np.concatenate(chunks)[:num_samples]
    array = np.asarray(real_dataset, dtype="float32")
    if array.ndim < 2:
        raise ValueError(
            "`real_dataset` must be a tf.data.Dataset, an array (num_samples, ...) or a toy "
            f"distribution. Received: real_dataset of shape {array.shape}"
        )
    return array[:num_samples]


def _generate(model_or_generator, num_samples, seed, batch_size, jacobian_truncation, verbose):
    if hasattr(model_or_generator, "generate"):
        options = {}
        if jacobian_truncation is not None:
            options["jacobian_truncation"] = jacobian_truncation
        # kgan's models and generators show their progress; other samplers need not take it.
        if "verbose" in inspect.signature(model_or_generator.generate).parameters:
            options["verbose"] = verbose
        return model_or_generator.generate(num_samples, seed=seed, batch_size=batch_size, **options)
    if jacobian_truncation is not None:
        raise ValueError(
            "`jacobian_truncation` needs a kgan model or a `kgan.control` generator (it draws "
            "its own latent vectors); wrap a bare generator with "
            f"`kgan.control.as_generator`. Received: jacobian_truncation={jacobian_truncation!r}"
        )
    if not isinstance(model_or_generator, keras.Model):
        raise TypeError(
            "`model_or_generator` must be a kgan model (GAN, WGAN, WGANGP) or a generator "
            f"keras.Model. Received: {model_or_generator!r}"
        )
    inputs = model_or_generator.inputs or []
    if len(inputs) != 1 or inputs[0].shape[-1] is None:
        raise ValueError(
            "A bare generator must take one input z with a static size; wrap a class-"
            "conditional generator in a kgan model (it draws the labels). Received: a "
            f"generator with inputs {[tuple(i.shape) for i in inputs]}"
        )
    from kgan.models.base import sample_latent

    z = sample_latent(num_samples, int(inputs[0].shape[-1]), seed=seed).numpy()
    progress = Progress(f"Generating {num_samples:,} samples", num_samples, verbose=verbose)
    outputs = []
    for start in range(0, num_samples, batch_size):
        batch = model_or_generator(z[start : start + batch_size], training=False)
        outputs.append(keras.ops.convert_to_numpy(batch))
        progress.add(len(outputs[-1]))
    return np.concatenate(outputs).astype("float32")


class _PerChannel:
    """Applies a one-channel feature network to each channel and concatenates the features.

    Lets an MNIST classifier embed Stacked MNIST's three-digit images.
    """

    def __init__(self, extractor):
        self.extractor = extractor

    def __call__(self, batch):
        parts = [
            keras.ops.convert_to_numpy(
                self.extractor(batch[..., c : c + 1], training=False)
            ).reshape(len(batch), -1)
            for c in range(batch.shape[-1])
        ]
        return np.concatenate(parts, axis=1)


def _input_channels(model):
    """The channels of an image model's first input, or `None` when it has no known inputs."""
    inputs = getattr(model, "inputs", None)
    return inputs[0].shape[-1] if inputs else None


def load_classifier(classifier, *, name="classifier"):
    """`classifier` as a `keras.Model`: a model is returned as it is, a path to a `.keras` file
    is loaded without its training configuration (`compile=False`).

    Args:
        classifier: a `keras.Model`, a path (`str` or `os.PathLike`) to a `.keras` file, or
            `None`.
        name: the argument's name in error messages.

    Raises:
        TypeError: if `classifier` is neither a model, a path nor `None`.
        FileNotFoundError: if there is no file at the path.
        ValueError: if the file is not a readable Keras model.
    """
    if classifier is None or isinstance(classifier, keras.Model):
        return classifier
    if not isinstance(classifier, (str, os.PathLike)):
        raise TypeError(
            f"`{name}` must be a keras.Model or the path of a `.keras` file. "
            f"Received: {name}={short(repr(classifier))} of type {type(classifier).__name__}"
        )
    path = os.fspath(classifier)
    if not storage.exists(path):
        raise FileNotFoundError(
            f"There is no classifier file at this path. Received: {name}={path!r}"
        )
    from kgan.runs import load_keras_file

    return load_keras_file(path, compile=False, name=name)


def _sample_shape(model_or_generator, real):
    """The shape of one generated sample as the generator declares it, else the real one's."""
    shape = getattr(model_or_generator, "sample_shape", None)
    if shape is None and isinstance(model_or_generator, keras.Model):
        outputs = model_or_generator.outputs or []
        if len(outputs) == 1 and None not in tuple(outputs[0].shape[1:]):
            shape = outputs[0].shape[1:]
    return real.shape[1:] if shape is None else tuple(int(s) for s in shape)


def _network_input_shape(network, sample_shape):
    """The shape `network` is applied to: one channel of images of several channels for a
    one-channel network (see `_PerChannel`), else the whole sample."""
    if len(sample_shape) == 3 and _input_channels(network) == 1:
        return (*sample_shape[:-1], 1)
    return tuple(sample_shape)


def _check_feature_networks(feature_extractor, classifier, sample_shape):
    """Checks, before any sample is generated, that the networks `evaluate` applies to the
    samples take them."""
    named = isinstance(feature_extractor, str)
    uses_classifier = len(sample_shape) == 3 or (named and feature_extractor == "classifier")
    if classifier is not None and uses_classifier:
        _check_network("classifier", classifier, sample_shape)
    if named or feature_extractor is None:
        return
    if not callable(feature_extractor):
        raise TypeError(
            "`feature_extractor` must be 'auto', 'inception', 'classifier', 'raw', None or a "
            "keras.Model (or callable) from samples to features. Received: "
            f"feature_extractor={short(repr(feature_extractor))} of type "
            f"{type(feature_extractor).__name__}"
        )
    _check_network("feature_extractor", feature_extractor, sample_shape)


def _check_network(name, network, sample_shape):
    """`check_input_shape` of the shape `network` is applied to (`_network_input_shape`)."""
    applied = _network_input_shape(network, sample_shape)
    channels_of = None if applied == tuple(sample_shape) else sample_shape
    check_input_shape(name, network, applied, channels_of=channels_of)


def _classifier_features(classifier):
    """The feature network of `feature_extractor="classifier"`: the `features` layer's output."""
    names = [layer.name for layer in classifier.layers]
    if "features" not in names:
        raise ValueError(
            "`classifier` has no layer named 'features', whose output is the feature space of "
            "feature_extractor='classifier' (and of 'auto' with a classifier); its layers are "
            f"{short(names, 200)}. Pass its feature network as `feature_extractor=` instead, "
            "for example kgan.metrics.classifier_feature_extractor(classifier, layer=...). "
            f"Received: classifier={classifier.name!r}"
        )
    return metrics.classifier_feature_extractor(classifier)


def _resolve_extractor(feature_extractor, classifier, sample_shape):
    """Returns `(extractor, description)`; `None` means the flattened samples."""
    is_image = len(sample_shape) == 3
    if isinstance(feature_extractor, str):
        if feature_extractor == "auto":
            if not is_image:
                return None, "samples"
            if classifier is not None:
                feature_extractor = "classifier"
            else:
                feature_extractor = "inception"
        if feature_extractor in ("raw", "samples"):
            return None, "samples"
        if feature_extractor == "inception":
            return metrics.inception_feature_extractor(), "inception_v3"
        if feature_extractor == "classifier":
            if classifier is None:
                raise ValueError(
                    "feature_extractor='classifier' needs `classifier=` (for example "
                    "kgan.metrics.train_mnist_classifier()). Received: classifier=None"
                )
            feature_extractor = _classifier_features(classifier)
        else:
            raise ValueError(
                "`feature_extractor` must be 'auto', 'inception', 'classifier', 'raw', None or "
                f"a keras.Model. Received: feature_extractor={feature_extractor!r}"
            )
    if feature_extractor is None:
        return None, "samples"
    if is_image and _input_channels(feature_extractor) == 1 and sample_shape[-1] > 1:
        return _PerChannel(feature_extractor), f"{feature_extractor.name} per channel"
    return feature_extractor, getattr(feature_extractor, "name", type(feature_extractor).__name__)


def _check_sample_shapes(sample_shape, real_shape):
    if tuple(sample_shape) != tuple(real_shape):
        raise ValueError(
            f"The generated samples have shape {tuple(sample_shape)} but the real data "
            f"{tuple(real_shape)}. Received: real_dataset with samples of shape {tuple(real_shape)}"
        )


def evaluate(
    model_or_generator,
    real_dataset,
    *,
    feature_extractor="auto",
    classifier=None,
    num_samples=10_000,
    seed=0,
    batch_size=256,
    kid_subsets=100,
    kid_subset_size=1000,
    precision_recall_k=3,
    density_coverage_k=5,
    jacobian_truncation=None,
    verbose="auto",
):
    """Evaluates a generator against real data with every metric that applies.

    * Always, on features (see `feature_extractor`): `fid` (`kgan.metrics.frechet_distance`),
      `kid` and `kid_std` (`kernel_distance`), `precision` and `recall` (Kynkaanniemi et al.
      2019, k=3), `density` and `coverage` (Naeem et al. 2020, k=5).
    * On a 2-D Gaussian mixture (`kgan.data.gaussian_ring()`, `gaussian_grid()`): `modes_covered`,
      `num_modes`, `high_quality` and `kl_to_uniform` (`kgan.metrics.mode_coverage`; the
      papers use `num_samples=2500`).
    * With a `classifier` of the samples' own channels (MNIST's on MNIST, CIFAR-10's on colour
      images): `classes_covered` and `class_kl_to_uniform`, the classifier's histogram of
      generated classes against uniform. With a one-channel classifier on three-channel
      samples (Stacked MNIST): `modes_covered` of 1000 and `kl_to_uniform`
      (`kgan.metrics.stacked_mnist_coverage`, each channel classified; the papers use 26,000
      samples).

    Args:
        model_or_generator: a kgan model (its `generate`, so the averaged generator with
            `ema_decay`) or a bare generator `keras.Model` taking `z` (normal prior).
        real_dataset: a `tf.data.Dataset` of batches (or `(batch, labels)`), an array, or a toy
            distribution from `kgan.data`; `num_samples` real samples are read from it.
        feature_extractor: `"auto"` (the flattened samples for vector data, the classifier's
            penultimate features when `classifier` is given, else InceptionV3, whose ImageNet
            weights Keras downloads once), `"inception"`, `"classifier"`, `"raw"`/`None`, or a
            `keras.Model` from samples to features.
        classifier: a domain classifier (`kgan train-classifier`, or the shipped ones in
            `savedmodels/classifiers/`), as a `keras.Model` or the path of its `.keras` file
            (loaded with `compile=False`), for the class histogram or Stacked MNIST's modes,
            and with `feature_extractor="auto"` the feature space (its `features` layer).
        num_samples: generated samples, and the most real samples read; more than
            `max(precision_recall_k, density_coverage_k)`. FID is biased at small counts: use
            10,000 or more, and compare models only at equal counts.
        seed: seed of the generated samples, the toy draw and the KID subsets.
        batch_size: generation and feature-extraction batch size.
        kid_subsets, kid_subset_size: KID's random subsets (100 of 1000, Binkowski et al.);
            a subset holds at least two samples.
        precision_recall_k, density_coverage_k: the k of the k-NN metrics.
        jacobian_truncation: evaluate samples drawn with `generate(...,
            jacobian_truncation=share)` (see `kgan.models.truncation`); kgan models and
            `kgan.control` generators only.
        verbose: progress of the long stages (generating, the Jacobian-truncation threshold,
            the features of the real and the generated samples), as `predict` shows it:
            `"auto"` (a bar for a stage of several batches), 0, 1 (a bar) or 2 (one line per
            stage, for logs); see `kgan.progress`.

    Returns:
        A dict of Python numbers (and `feature_extractor`, a description; `mode_counts` for the
        mode metrics), plus `num_samples`, `num_real_samples` and `seconds` (wall time).

    Example:
    >>> ring = kgan.data.gaussian_ring()
    >>> kgan.evaluate(gan, ring, num_samples=2500)["modes_covered"]
    8
    """
    for name, value in (
        ("num_samples", num_samples),
        ("batch_size", batch_size),
        ("kid_subsets", kid_subsets),
        ("kid_subset_size", kid_subset_size),
        ("precision_recall_k", precision_recall_k),
        ("density_coverage_k", density_coverage_k),
    ):
        check_positive_int(name, value)
    if kid_subset_size < 2:
        raise ValueError(
            "`kid_subset_size` must be at least 2: the unbiased MMD of KID needs two samples "
            f"per subset. Received: kid_subset_size={kid_subset_size}"
        )
    # The radii of precision/recall and density/coverage are distances to the k-th neighbour
    # within a set, so each set needs more than k points (and FID's covariance two).
    k = max(precision_recall_k, density_coverage_k)
    if num_samples <= k:
        raise ValueError(
            "`num_samples` must exceed the k of the k-nearest-neighbour metrics, "
            f"max(precision_recall_k, density_coverage_k)={k}. Received: num_samples={num_samples}"
        )
    check_verbose(verbose)
    classifier = load_classifier(classifier)
    start = time.perf_counter()
    real = _real_samples(real_dataset, num_samples, seed)
    if len(real) <= k:
        raise ValueError(
            "The real data must hold more samples than the k of the k-nearest-neighbour "
            f"metrics, max(precision_recall_k, density_coverage_k)={k}. Received: real_dataset "
            f"with {len(real)} samples"
        )
    sample_shape = _sample_shape(model_or_generator, real)
    _check_sample_shapes(sample_shape, real.shape[1:])
    _check_feature_networks(feature_extractor, classifier, sample_shape)
    extractor, description = _resolve_extractor(feature_extractor, classifier, sample_shape)
    fake = _generate(
        model_or_generator, num_samples, seed, batch_size, jacobian_truncation, verbose
    )
    _check_sample_shapes(fake.shape[1:], real.shape[1:])
    results = {"num_samples": int(len(fake)), "num_real_samples": int(len(real))}
    if jacobian_truncation is not None:
        results["jacobian_truncation"] = float(jacobian_truncation)
    if not np.all(np.isfinite(fake)):
        raise ValueError(
            "The generator produced NaN or infinite values; there is nothing to evaluate. "
            "Restore the weights from a checkpoint saved before training diverged."
        )

    results["feature_extractor"] = description
    real_features, fake_features = (
        metrics.compute_features(
            extractor,
            samples,
            batch_size=batch_size,
            verbose=verbose,
            title=f"Features ({description}) of {len(samples):,} {kind} samples",
        )
        for samples, kind in ((real, "real"), (fake, "generated"))
    )
    results["fid"] = metrics.frechet_distance(real_features, fake_features)
    count, dimensions = min(len(real_features), len(fake_features)), real_features.shape[1]
    if count <= dimensions:
        warnings.warn(
            f"FID from {count:,} samples of {dimensions}-dimensional features is unreliable: its "
            "covariances need more samples than dimensions (the published protocols use "
            "10,000 or 50,000). Compare FIDs only at equal and larger `num_samples`.",
            UserWarning,
            stacklevel=2,
        )
    results["kid"], results["kid_std"] = metrics.kernel_distance(
        real_features,
        fake_features,
        num_subsets=kid_subsets,
        subset_size=kid_subset_size,
        seed=seed,
    )
    results.update(metrics.precision_recall(real_features, fake_features, k=precision_recall_k))
    results.update(metrics.density_coverage(real_features, fake_features, k=density_coverage_k))

    if hasattr(real_dataset, "means") and hasattr(real_dataset, "std"):
        results.update(metrics.mode_coverage(fake, real_dataset.means, real_dataset.std))
    elif classifier is not None and fake.ndim == 4:
        # A classifier of the images' own channels counts their classes; a one-channel
        # classifier of three-channel images reads Stacked MNIST's channels one by one.
        classifier_channels = _input_channels(classifier)
        if classifier_channels is None:
            raise ValueError(
                "`classifier` must be a built Keras model with a known input shape, to tell "
                f"its channels. Received: classifier={classifier!r}"
            )
        if fake.shape[-1] == 3 and classifier_channels == 1:
            results.update(metrics.stacked_mnist_coverage(fake, classifier, batch_size=batch_size))
        elif fake.shape[-1] == classifier_channels:
            scores = classifier.predict(fake, batch_size=batch_size, verbose=0)
            counts = np.bincount(np.argmax(scores, axis=-1), minlength=scores.shape[-1])
            results["classes_covered"] = int(np.count_nonzero(counts))
            results["class_kl_to_uniform"] = metrics.kl_to_uniform(counts)
    results["seconds"] = time.perf_counter() - start
    return results


# Short descriptions for `format_table`, in display order.
_DESCRIPTIONS = {
    "fid": "Frechet distance (lower is better)",
    "kid": "kernel distance, unbiased MMD^2 (lower is better)",
    "kid_std": "spread of KID over subsets",
    "precision": "share of samples on the real manifold (k=3)",
    "recall": "share of real data on the samples' manifold (k=3)",
    "density": "real k-NN balls per sample (about 1 when matched)",
    "coverage": "share of real points with a sample nearby (k=5)",
    "modes_covered": "modes with at least one good sample",
    "num_modes": "modes in the data",
    "high_quality": "share of samples within 3 std of a mode",
    "kl_to_uniform": "KL(mode histogram || uniform), nats",
    "classes_covered": "classes the classifier sees in the samples",
    "class_kl_to_uniform": "KL(class histogram || uniform), nats",
    "num_samples": "generated samples",
    "jacobian_truncation": "share of samples left out (Jacobian truncation)",
    "num_real_samples": "real samples",
    "feature_extractor": "feature space",
    "seconds": "wall time of the evaluation",
}


def format_table(results):
    """Formats the scalar entries of an `evaluate` result as an aligned text table."""
    rows = []
    for name in list(_DESCRIPTIONS) + sorted(set(results) - set(_DESCRIPTIONS)):
        if name not in results or isinstance(results[name], (list, dict)):
            continue
        value = results[name]
        if isinstance(value, float):
            text = "nan" if math.isnan(value) else f"{value:.6g}"
        else:
            text = str(value)
        rows.append((name, text, _DESCRIPTIONS.get(name, "")))
    widths = [max(len(row[i]) for row in rows + [("metric", "value", "")]) for i in range(2)]
    lines = [f"{'metric':<{widths[0]}}  {'value':>{widths[1]}}  meaning"]
    lines.append("-" * len(lines[0]) + "-" * 30)
    for name, text, description in rows:
        lines.append(f"{name:<{widths[0]}}  {text:>{widths[1]}}  {description}")
    return "\n".join(lines)

"""Sample-quality metrics and the feature networks they use.

Distances between sets of features (FID, KID), precision/recall and density/coverage on
k-nearest-neighbour balls, mode coverage on the 2-D Gaussian mixtures and on Stacked MNIST,
and the feature extractors: InceptionV3 from `keras.applications` and a small MNIST classifier
that kgan trains itself, so that MNIST-like data can be scored without downloads.

All statistics are computed in float64 with NumPy and SciPy: they are evaluated once per
evaluation, not inside a training step, and float32 loses digits in covariance products.
"""

import math

import keras
import numpy as np

from kgan._validation import check_positive_int

# ---------------------------------------------------------------------------- helpers


def _as_features(name, features):
    """Returns `features` as a float64 matrix `(N, d)`, flattening any trailing axes."""
    array = np.asarray(features, dtype="float64")
    if array.ndim < 2 or array.shape[0] == 0:
        raise ValueError(
            f"`{name}` must be a non-empty array of shape (num_samples, num_features). "
            f"Received: {name} of shape {array.shape}"
        )
    array = array.reshape(array.shape[0], -1)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"`{name}` contains NaN or infinite values. Received: {name}={array!r}")
    return array


def _check_same_width(features_a, features_b):
    if features_a.shape[1] != features_b.shape[1]:
        raise ValueError(
            "Both feature sets must have the same number of features. Received: "
            f"features_a of shape {features_a.shape} and features_b of shape {features_b.shape}"
        )


# ---------------------------------------------------------------------------- FID


def gaussian_statistics(features):
    """Mean and covariance (unbiased, N - 1) of a feature matrix, in float64.

    Args:
        features: array of shape `(num_samples, num_features)`.

    Returns:
        `(mean, covariance)` of shapes `(d,)` and `(d, d)`.
    """
    features = _as_features("features", features)
    if features.shape[0] < 2:
        raise ValueError(
            "At least two samples are needed for a covariance. "
            f"Received: features of shape {features.shape}"
        )
    return features.mean(axis=0), np.cov(features, rowvar=False).reshape(
        features.shape[1], features.shape[1]
    )


def _sqrt_psd(matrix):
    """Square root of a symmetric positive semi-definite matrix by eigendecomposition."""
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2.0)
    # Round-off leaves tiny negative eigenvalues on rank-deficient covariances (fewer samples
    # than features); they are zero in exact arithmetic.
    eigenvalues = np.clip(eigenvalues, 0.0, None)
    return (eigenvectors * np.sqrt(eigenvalues)) @ eigenvectors.T


def frechet_distance_from_statistics(mean_a, covariance_a, mean_b, covariance_b):
    """Frechet distance between two Gaussians N(mean_a, covariance_a) and N(mean_b, covariance_b).

    d^2 = ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))   (Heusel et al. 2017,
    arXiv:1706.08500; Dowson and Landau 1982).

    The trace of (S_a S_b)^(1/2) is computed in the eigenvalue form: S_a S_b is similar to the
    symmetric positive semi-definite M = S_a^(1/2) S_b S_a^(1/2), so Tr (S_a S_b)^(1/2) =
    sum_i sqrt(lambda_i(M)). Unlike the general matrix square root of the non-symmetric product
    (`scipy.linalg.sqrtm`, used by the TTUR reference code with an epsilon retry), this form
    never produces complex values or NaN on singular covariances.

    Returns:
        The squared distance as a Python float (the quantity reported as "FID").
    """
    mean_a = np.atleast_1d(np.asarray(mean_a, dtype="float64"))
    mean_b = np.atleast_1d(np.asarray(mean_b, dtype="float64"))
    covariance_a = np.atleast_2d(np.asarray(covariance_a, dtype="float64"))
    covariance_b = np.atleast_2d(np.asarray(covariance_b, dtype="float64"))
    width = mean_a.shape[0]
    for name, value, shape in (
        ("mean_b", mean_b, (width,)),
        ("covariance_a", covariance_a, (width, width)),
        ("covariance_b", covariance_b, (width, width)),
    ):
        if value.shape != shape:
            raise ValueError(
                f"`{name}` must have shape {shape} to match mean_a. Received: {name} of shape "
                f"{value.shape}"
            )
    root_a = _sqrt_psd(covariance_a)
    middle = root_a @ covariance_b @ root_a
    eigenvalues = np.clip(np.linalg.eigvalsh((middle + middle.T) / 2.0), 0.0, None)
    trace_sqrt = float(np.sum(np.sqrt(eigenvalues)))
    difference = mean_a - mean_b
    distance = float(
        difference @ difference + np.trace(covariance_a) + np.trace(covariance_b) - 2 * trace_sqrt
    )
    # The exact value is non-negative; round-off can leave -1e-12 for identical sets.
    return max(distance, 0.0)


def frechet_distance(features_a, features_b):
    """Frechet Inception Distance (FID) between two sets of features.

    Fits a Gaussian to each set and returns
    ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))   (Heusel et al. 2017,
    arXiv:1706.08500), with unbiased covariances, in float64. See
    `frechet_distance_from_statistics` for the numerically stable trace.

    FID is biased upwards with few samples: use at least 10,000 per set (as the TTUR reference
    code advises) and compare models only at the same sample count.

    Args:
        features_a: array `(N, d)`, for example InceptionV3 pool features of real images.
        features_b: array `(M, d)`, the same features of generated images.

    Returns:
        The FID as a Python float; 0 for identical sets.
    """
    features_a = _as_features("features_a", features_a)
    features_b = _as_features("features_b", features_b)
    _check_same_width(features_a, features_b)
    return frechet_distance_from_statistics(
        *gaussian_statistics(features_a), *gaussian_statistics(features_b)
    )


# ---------------------------------------------------------------------------- KID


def polynomial_kernel(features_a, features_b, degree=3, gamma=None, coef0=1.0):
    """k(x, y) = (gamma x.y + coef0)^degree with gamma = 1 / d by default (KID's kernel)."""
    gamma = 1.0 / features_a.shape[1] if gamma is None else gamma
    return (gamma * features_a @ features_b.T + coef0) ** degree


def mmd2_unbiased(features_a, features_b, kernel=polynomial_kernel):
    """Unbiased estimate of the squared maximum mean discrepancy (Gretton et al. 2012, eq. 3).

    MMD^2_u = 1/(m(m-1)) sum_{i != j} k(x_i, x_j) + 1/(n(n-1)) sum_{i != j} k(y_i, y_j)
              - 2/(mn) sum_{i, j} k(x_i, y_j)

    Can be slightly negative when the two distributions are equal.
    """
    m, n = features_a.shape[0], features_b.shape[0]
    if m < 2 or n < 2:
        raise ValueError(
            f"The unbiased MMD needs at least two samples per set. Received: {m} and {n} samples"
        )
    k_aa = kernel(features_a, features_a)
    k_bb = kernel(features_b, features_b)
    k_ab = kernel(features_a, features_b)
    term_aa = (k_aa.sum() - np.trace(k_aa)) / (m * (m - 1))
    term_bb = (k_bb.sum() - np.trace(k_bb)) / (n * (n - 1))
    return float(term_aa + term_bb - 2.0 * k_ab.mean())


def kernel_distance(features_a, features_b, *, num_subsets=100, subset_size=1000, seed=0):
    """Kernel Inception Distance (KID) between two sets of features.

    The unbiased MMD^2 with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged
    over `num_subsets` random subsets of `subset_size` samples drawn without replacement from
    each set (Binkowski et al. 2018, "Demystifying MMD GANs", arXiv:1801.01401; 100 subsets of
    1000 are their command-line defaults). Unlike FID it is unbiased, so values at different
    sample counts can be compared, and its spread over subsets says how much to trust it.

    Args:
        features_a: array `(N, d)`.
        features_b: array `(M, d)`.
        num_subsets: number of random subsets.
        subset_size: samples per subset; capped at the size of the smaller set.
        seed: seed of the subset draws.

    Returns:
        `(kid, kid_std)`: the mean of the subset estimates and their standard deviation.
    """
    check_positive_int("num_subsets", num_subsets)
    check_positive_int("subset_size", subset_size)
    features_a = _as_features("features_a", features_a)
    features_b = _as_features("features_b", features_b)
    _check_same_width(features_a, features_b)
    size = min(subset_size, features_a.shape[0], features_b.shape[0])
    rng = np.random.default_rng(seed)
    estimates = np.array(
        [
            mmd2_unbiased(
                features_a[rng.choice(features_a.shape[0], size, replace=False)],
                features_b[rng.choice(features_b.shape[0], size, replace=False)],
            )
            for _ in range(num_subsets)
        ]
    )
    return float(estimates.mean()), float(estimates.std())


# ---------------------------------------------------------------------------- k-NN metrics


def _pairwise_distances(rows, columns, chunk=2048):
    """Euclidean distances `(len(rows), len(columns))`, computed in row chunks."""
    column_norms = np.sum(columns**2, axis=1)
    out = np.empty((rows.shape[0], columns.shape[0]), dtype="float64")
    for start in range(0, rows.shape[0], chunk):
        block = rows[start : start + chunk]
        squared = np.sum(block**2, axis=1)[:, None] + column_norms[None, :] - 2 * block @ columns.T
        out[start : start + chunk] = np.sqrt(np.clip(squared, 0.0, None))
    return out


def _kth_neighbour_radii(features, k, chunk=2048):
    """Distance of each point to its k-th nearest neighbour in its own set, itself excluded."""
    if features.shape[0] <= k:
        raise ValueError(
            f"Each set needs more than k={k} points for k-nearest-neighbour radii. "
            f"Received: {features.shape[0]} points"
        )
    radii = np.empty(features.shape[0])
    for start in range(0, features.shape[0], chunk):
        distances = _pairwise_distances(features[start : start + chunk], features)
        # Column 0 of the sorted distances is the point itself (distance 0), so the k-th
        # neighbour is at index k, as in the reference implementations.
        radii[start : start + chunk] = np.partition(distances, k, axis=1)[:, k]
    return radii


def _count_inside(points, centres, radii, *, strict, chunk=2048):
    """For each point, how many balls B(centre_i, radius_i) contain it (chunked, O(chunk N))."""
    counts = np.empty(points.shape[0], dtype="int64")
    for start in range(0, points.shape[0], chunk):
        distances = _pairwise_distances(points[start : start + chunk], centres)
        inside = distances < radii[None, :] if strict else distances <= radii[None, :]
        counts[start : start + chunk] = inside.sum(axis=1)
    return counts


def precision_recall(real, fake, k=3):
    """Improved precision and recall (Kynkaanniemi et al. 2019, arXiv:1904.06991).

    Each set's manifold is the union of balls around its points, each ball's radius the
    distance to the point's k-th nearest neighbour in its set. Precision is the share of
    generated points inside the real manifold (quality); recall is the share of real points
    inside the generated manifold (diversity). A point on a ball's boundary counts as inside,
    as in the reference code (kynkaat/improved-precision-and-recall-metric).

    Args:
        real: features of real samples, `(N, d)`.
        fake: features of generated samples, `(M, d)`.
        k: the neighbour that sets the radii (3 in the paper).

    Returns:
        A dict with `precision` and `recall`, each in [0, 1].
    """
    check_positive_int("k", k)
    real = _as_features("real", real)
    fake = _as_features("fake", fake)
    _check_same_width(real, fake)
    real_radii = _kth_neighbour_radii(real, k)
    fake_radii = _kth_neighbour_radii(fake, k)
    precision = np.mean(_count_inside(fake, real, real_radii, strict=False) > 0)
    recall = np.mean(_count_inside(real, fake, fake_radii, strict=False) > 0)
    return {"precision": float(precision), "recall": float(recall)}


def density_coverage(real, fake, k=5):
    """Density and coverage (Naeem et al. 2020, arXiv:2002.09797).

    With r_i the distance of real point X_i to its k-th nearest real neighbour and B(X_i, r_i)
    its ball (strict inequality, as in clovaai/generative-evaluation-prdc):

        density  = 1/(k M) sum_j sum_i 1[Y_j in B(X_i, r_i)]
        coverage = 1/N sum_i 1[exists j: Y_j in B(X_i, r_i)]

    Density counts how many real balls hold each generated point (about 1 when the two
    distributions match, above 1 for samples packed in dense regions); coverage is the share of
    real points with a generated sample nearby. Both use only the real manifold, which makes
    them robust to outliers among the generated samples.

    Args:
        real: features of real samples, `(N, d)`.
        fake: features of generated samples, `(M, d)`.
        k: the neighbour that sets the radii (5 in the paper).

    Returns:
        A dict with `density` (in [0, N/k]) and `coverage` (in [0, 1]).
    """
    check_positive_int("k", k)
    real = _as_features("real", real)
    fake = _as_features("fake", fake)
    _check_same_width(real, fake)
    radii = _kth_neighbour_radii(real, k)
    # Number of real balls holding each generated point, then, per real point, the distance
    # to its nearest generated point against its own radius.
    density = _count_inside(fake, real, radii, strict=True).sum() / (k * fake.shape[0])
    nearest_fake = np.empty(real.shape[0])
    for start in range(0, real.shape[0], 2048):
        nearest_fake[start : start + 2048] = _pairwise_distances(
            real[start : start + 2048], fake
        ).min(axis=1)
    coverage = np.mean(nearest_fake < radii)
    return {"density": float(density), "coverage": float(coverage)}


# ---------------------------------------------------------------------------- mode coverage


# Share of a perfect 2-D sampler's points within 3 standard deviations of their mode:
# P(chi^2_2 <= 9) = 1 - exp(-9 / 2), the ceiling of the high-quality share in `mode_coverage`.
PERFECT_HIGH_QUALITY_2D = 1.0 - math.exp(-4.5)


def kl_to_uniform(counts):
    """KL(p || uniform) in nats of the histogram `counts` over K bins: sum_i p_i log(p_i K).

    Empty bins contribute 0 (0 log 0 = 0). Returns NaN for an empty histogram.
    """
    counts = np.asarray(counts, dtype="float64")
    total = counts.sum()
    if total == 0:
        return float("nan")
    p = counts[counts > 0] / total
    return float(np.sum(p * np.log(p * counts.shape[0])))


def mode_coverage(samples, means, std, *, threshold=3.0):
    """Mode collapse on a mixture of equal isotropic Gaussians (VEEGAN, PacGAN protocol).

    Each sample goes to its nearest mean, the distance measured in standard deviations,
    sqrt(sum_d (x_d - mu_d)^2 / sigma^2); it is *high quality* when that distance is below
    `threshold` (3). A mode is covered when at least one high-quality sample lies at it
    (Srivastava et al. 2017, arXiv:1705.07761; Lin et al. 2018, arXiv:1712.04086, Table 1,
    which evaluates 2,500 samples). A perfect sampler in 2-D scores
    P(chi^2_2 <= 9) = 1 - exp(-4.5) = 98.89% high quality.

    Args:
        samples: array `(N, D)` of generated points.
        means: array `(K, D)` of the mixture's means.
        std: the components' standard deviation (a scalar).
        threshold: the high-quality distance, in standard deviations.

    Returns:
        A dict with `modes_covered` (int), `num_modes` (K), `high_quality` (share of samples
        that are high quality, in [0, 1]), `kl_to_uniform` (KL in nats of the histogram of the
        high-quality samples over the modes from uniform; off-mode samples belong to no mode;
        NaN when no sample is high quality) and `mode_counts` (high-quality samples per mode).
    """
    samples = _as_features("samples", samples)
    means = _as_features("means", means)
    _check_same_width(means, samples)
    if not (np.isscalar(std) and float(std) > 0):
        raise ValueError(f"`std` must be a positive number. Received: std={std!r}")
    distances = _pairwise_distances(samples, means) / float(std)
    nearest = distances.argmin(axis=1)
    good = distances[np.arange(samples.shape[0]), nearest] < threshold
    counts = np.bincount(nearest[good], minlength=means.shape[0])
    return {
        "modes_covered": int(np.count_nonzero(counts)),
        "num_modes": int(means.shape[0]),
        "high_quality": float(good.mean()),
        "kl_to_uniform": kl_to_uniform(counts),
        "mode_counts": counts.tolist(),
    }


def stacked_mnist_modes(digits):
    """Mode index 100 d0 + 10 d1 + d2 of Stacked MNIST samples from their per-channel digits."""
    digits = np.asarray(digits)
    if digits.ndim != 2 or digits.shape[1] != 3:
        raise ValueError(
            f"`digits` must have shape (num_samples, 3). Received: digits of shape {digits.shape}"
        )
    return (100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2]).astype("int64")


def stacked_mnist_coverage(samples, classifier, *, batch_size=512):
    """Modes covered out of 1000 and KL to uniform on Stacked MNIST (VEEGAN / PacGAN Table 2).

    Each of the three channels of a generated `(28, 28, 3)` sample is classified by an MNIST
    classifier; the digit triple is the sample's mode. A mode is covered by at least one sample;
    KL is KL(generated mode histogram || uniform over 1000) in nats. The papers use 26,000
    samples, where even a perfect uniform sampler shows a plug-in KL of about 0.019.

    Args:
        samples: array `(N, 28, 28, 3)` in [-1, 1].
        classifier: a `keras.Model` from `(28, 28, 1)` images in [-1, 1] to 10 class scores,
            for example `train_mnist_classifier()`.
        batch_size: classification batch size.

    Returns:
        A dict with `modes_covered`, `num_modes` (1000), `kl_to_uniform` and `mode_counts`.
    """
    samples = np.asarray(samples, dtype="float32")
    if samples.ndim != 4 or samples.shape[-1] != 3:
        raise ValueError(
            "Stacked MNIST samples must have shape (num_samples, height, width, 3). "
            f"Received: samples of shape {samples.shape}"
        )
    channels = np.concatenate([samples[..., c : c + 1] for c in range(3)])
    scores = classifier.predict(channels, batch_size=batch_size, verbose=0)
    digits = np.argmax(scores, axis=-1).reshape(3, samples.shape[0]).T
    counts = np.bincount(stacked_mnist_modes(digits), minlength=1000)
    return {
        "modes_covered": int(np.count_nonzero(counts)),
        "num_modes": 1000,
        "kl_to_uniform": kl_to_uniform(counts),
        "mode_counts": counts.tolist(),
    }


# ---------------------------------------------------------------------------- feature networks


def inception_feature_extractor(image_size=299, *, weights="imagenet", name="inception_v3"):
    """InceptionV3's 2048-dimensional pool features, the standard feature space of FID and KID.

    The returned model takes images in [-1, 1] (kgan's range, also InceptionV3's preprocessing)
    of any size, with 1 or 3 channels: grayscale images are repeated to three channels and all
    are resized bilinearly to `image_size`. The ImageNet weights are fetched by Keras on first
    use; tests build the network with `weights=None` and a small `image_size` (at least 75).

    Note: `keras.applications.InceptionV3` is not the TF1 graph used by the TTUR reference code,
    so its FIDs are close to, not equal to, published values.

    Returns:
        A `keras.Model` from `(None, None, C)` images to `(batch, 2048)` features.
    """
    check_positive_int("image_size", image_size)
    if image_size < 75:
        raise ValueError(
            f"InceptionV3 needs images of at least 75x75 pixels. Received: image_size={image_size}"
        )
    backbone = keras.applications.InceptionV3(
        include_top=False,
        weights=weights,
        input_shape=(image_size, image_size, 3),
        pooling="avg",
    )
    images = keras.Input(shape=(None, None, None), name="images")
    x = keras.layers.Lambda(_to_rgb, name="to_rgb")(images)
    x = keras.layers.Resizing(image_size, image_size, interpolation="bilinear", name="resize")(x)
    features = backbone(x)
    return keras.Model(images, features, name=name)


def _to_rgb(images):
    channels = keras.ops.shape(images)[-1]
    return keras.ops.cond(
        keras.ops.equal(channels, 1),
        lambda: keras.ops.repeat(images, 3, axis=-1),
        lambda: images[..., :3],
    )


def mnist_classifier(input_shape=(28, 28, 1), num_classes=10, *, name="mnist_classifier"):
    """A small convolutional classifier for MNIST-like images in [-1, 1].

    Two blocks of two 3x3 convolutions (32 then 64 filters, ReLU, batch normalisation) with max
    pooling, then a 128-unit dense layer named `features` (the penultimate features used for
    FID and KID, as Binkowski et al. 2018 use a LeNet's), dropout, and `num_classes` logits.
    Trained by `train_mnist_classifier`, it reaches about 99.3% on the MNIST test set.
    """
    inputs = keras.Input(shape=input_shape, name="images")
    x = inputs
    for filters in (32, 64):
        for repeat in range(2):
            x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = keras.layers.BatchNormalization()(x)
            x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(128, activation="relu", name="features")(x)
    x = keras.layers.Dropout(0.3)(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, logits, name=name)


def train_mnist_classifier(
    train_data=None,
    test_data=None,
    *,
    dataset="mnist",
    epochs=3,
    batch_size=128,
    data_dir=None,
    verbose="auto",
):
    """Trains `mnist_classifier` on MNIST (or another 28x28 ten-class dataset).

    Adam with a learning rate decaying from 1e-3 to 0 over the run (cosine), light random
    shifts as augmentation. Three epochs take a few minutes on two CPU cores and reach about
    99.3% test accuracy.

    Args:
        train_data: a `tf.data.Dataset` of `(images, labels)` batches, images in [-1, 1]; by
            default `kgan.data.load(dataset, split="train", with_labels=True)`.
        test_data: the same for evaluation; by default the test split of `dataset`.
        dataset: the dataset name given to `kgan.data.load` when the data are not passed.
        epochs: training epochs.
        batch_size: batch size when the data are loaded here.
        data_dir: where `kgan.data.load` reads the IDX files (default `KGAN_DATA_DIR`).
        verbose: as in `keras.Model.fit`.

    Returns:
        The trained `keras.Model`, with its test accuracy in `model.test_accuracy`.
    """
    import tensorflow as tf

    check_positive_int("epochs", epochs)
    if train_data is None or test_data is None:
        from kgan import data

        if train_data is None:
            train_data = data.load(
                dataset, split="train", batch_size=batch_size, with_labels=True, data_dir=data_dir
            )
        if test_data is None:
            test_data = data.load(
                dataset, split="test", batch_size=batch_size, with_labels=True, data_dir=data_dir
            )
    steps = int(train_data.cardinality())
    model = mnist_classifier()
    schedule = (
        keras.optimizers.schedules.CosineDecay(1e-3, epochs * steps)
        if steps > 0
        else 1e-3  # Unknown length: a constant rate.
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    shift = keras.layers.RandomTranslation(0.08, 0.08, fill_mode="constant", fill_value=-1.0)
    augmented = train_data.map(
        lambda images, labels: (shift(images, training=True), labels),
        num_parallel_calls=tf.data.AUTOTUNE,
    ).prefetch(tf.data.AUTOTUNE)
    model.fit(augmented, epochs=epochs, verbose=verbose, shuffle=False)  # The dataset shuffles.
    _, accuracy = model.evaluate(test_data, verbose=0)
    model.test_accuracy = float(accuracy)
    return model


def classifier_feature_extractor(classifier, layer="features"):
    """A model giving a classifier's penultimate features (the output of `layer`).

    Args:
        classifier: a functional `keras.Model`, for example `train_mnist_classifier()`.
        layer: name of the layer whose output is the feature vector.
    """
    try:
        output = classifier.get_layer(layer).output
    except ValueError:
        names = [l.name for l in classifier.layers]
        raise ValueError(
            f"The classifier has no layer named {layer!r}; its layers are {names}. "
            f"Received: layer={layer!r}"
        ) from None
    return keras.Model(classifier.input, output, name=f"{classifier.name}_features")


def compute_features(feature_extractor, samples, *, batch_size=256):
    """Runs `feature_extractor` over `samples` in batches; returns float64 `(N, d)` features.

    `feature_extractor` is a `keras.Model` or any callable from a batch to features; `None`
    means the flattened samples themselves (fine for low-dimensional data such as the 2-D toys).
    """
    samples = np.asarray(samples, dtype="float32")
    if feature_extractor is None:
        return samples.reshape(samples.shape[0], -1).astype("float64")
    check_positive_int("batch_size", batch_size)
    outputs = []
    for start in range(0, samples.shape[0], batch_size):
        batch = samples[start : start + batch_size]
        if isinstance(feature_extractor, keras.Model):
            values = feature_extractor(batch, training=False)
        else:
            values = feature_extractor(batch)
        outputs.append(np.asarray(keras.ops.convert_to_numpy(values), dtype="float64"))
    features = np.concatenate(outputs)
    return features.reshape(features.shape[0], -1)


__all__ = [
    "PERFECT_HIGH_QUALITY_2D",
    "classifier_feature_extractor",
    "compute_features",
    "density_coverage",
    "frechet_distance",
    "frechet_distance_from_statistics",
    "gaussian_statistics",
    "inception_feature_extractor",
    "kernel_distance",
    "kl_to_uniform",
    "mmd2_unbiased",
    "mnist_classifier",
    "mode_coverage",
    "polynomial_kernel",
    "precision_recall",
    "stacked_mnist_coverage",
    "stacked_mnist_modes",
    "train_mnist_classifier",
]

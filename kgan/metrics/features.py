"""Feature networks of the metrics: InceptionV3, and a small MNIST classifier kgan trains.

InceptionV3 from `keras.applications` gives the standard feature space of FID and KID; the
classifier scores MNIST-like data without downloads, by its penultimate features and by the
digits it reads (mode counts on Stacked MNIST).
"""

import keras
import numpy as np
import tensorflow as tf

from kgan import data as kgan_data
from kgan import precision as kgan_precision
from kgan._validation import check_positive_int, short
from kgan.models.checks import format_shape
from kgan.progress import Progress


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
    try:
        backbone = keras.applications.InceptionV3(
            include_top=False,
            weights=weights,
            input_shape=(image_size, image_size, 3),
            pooling="avg",
        )
    except Exception as error:
        # Keras reports a failed download as a bare `Exception("URL fetch failure on ...")`.
        if weights != "imagenet" or not (
            isinstance(error, OSError) or str(error).startswith("URL fetch failure")
        ):
            raise
        raise FileNotFoundError(
            "The InceptionV3 ImageNet weights are not in Keras' cache (~/.keras/models) and "
            f"cannot be fetched ({short(error, 200)}). Without a network, score in a "
            "classifier's feature space instead: `kgan evaluate --classifier C.keras` (in Python, "
            "`kgan.evaluate(..., classifier=C)`); `kgan train-classifier` trains one offline "
            "from local MNIST files. Received: weights='imagenet'"
        ) from None
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


# The classifier and its training for each domain kgan ships a classifier for. The colour
# network is a third block deeper (32x32 -> 4x4 before `features`) and learns from mirrored
# images too; its training is longer because CIFAR-10 is harder than digits, so it computes in
# bfloat16 where the CPU has bfloat16 instructions (`kgan.precision`), adds decoupled weight
# decay, and fills shifted borders by reflection.
_DIGITS = dict(
    input_shape=(28, 28, 1),
    filters=(32, 64),
    flip=False,
    epochs=3,
    precision="float32",
    weight_decay=0.0,
    fill_mode="constant",
)
CLASSIFIER_SETTINGS = {
    "mnist": _DIGITS,
    "fashion_mnist": _DIGITS,
    "cifar10": dict(
        input_shape=(32, 32, 3),
        filters=(32, 64, 128),
        flip=True,
        epochs=30,
        precision="auto",
        weight_decay=0.05,
        fill_mode="reflect",
    ),
}


CLASSIFIER_DIR_ENV_VAR = "KGAN_CLASSIFIER_DIR"


def shipped_classifier_path(dataset):
    """The shipped classifier of `dataset` (`<dir>/<dataset>.keras`), or `None`.

    The embedded Fashion-MNIST sample is scored with the Fashion-MNIST classifier.

    `<dir>` is `$KGAN_CLASSIFIER_DIR`, else `savedmodels/classifiers/` of the source checkout
    kgan runs from (the classifiers are files of the repository, not of the package).
    """
    import os
    import pathlib

    folder = os.environ.get(CLASSIFIER_DIR_ENV_VAR)
    if folder:
        folder = pathlib.Path(os.path.expanduser(folder))
    else:
        folder = pathlib.Path(__file__).resolve().parents[2] / "savedmodels" / "classifiers"
    dataset = {"fashion_mnist_sample": "fashion_mnist"}.get(dataset, dataset)
    path = folder / f"{dataset}.keras"
    return path if dataset in CLASSIFIER_SETTINGS and path.is_file() else None


def image_classifier(
    input_shape=(28, 28, 1), num_classes=10, *, filters=(32, 64), name="classifier"
):
    """A small convolutional classifier for images in [-1, 1].

    One block per entry of `filters`: two 3x3 convolutions (ReLU, batch normalisation) and
    max pooling; then a 128-unit dense layer named `features` (the penultimate features used
    for FID and KID, as Binkowski et al. 2018 use a LeNet's), dropout, and `num_classes` logits.

    Args:
        input_shape: `(height, width, channels)` of the images.
        num_classes: number of logits.
        filters: convolution filters of each block.
        name: the model's name.
    """
    inputs = keras.Input(shape=input_shape, name="images")
    x = inputs
    for block_filters in filters:
        for _ in range(2):
            x = keras.layers.Conv2D(block_filters, 3, padding="same", use_bias=False)(x)
            x = keras.layers.BatchNormalization()(x)
            x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(128, activation="relu", name="features")(x)
    x = keras.layers.Dropout(0.3)(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, logits, name=name)


def mnist_classifier(input_shape=(28, 28, 1), num_classes=10, *, name="mnist_classifier"):
    """`image_classifier` with two blocks (32 and 64 filters), for MNIST-like images."""
    return image_classifier(input_shape, num_classes, filters=(32, 64), name=name)


def train_classifier(
    train_data=None,
    test_data=None,
    *,
    dataset="mnist",
    epochs=None,
    batch_size=128,
    data_dir=None,
    verbose="auto",
    backup_dir=None,
):
    """Trains kgan's domain classifier for `dataset` (`CLASSIFIER_SETTINGS`).

    Adam (AdamW where the settings give weight decay) with a learning rate decaying from 1e-3
    to 0 over the run (cosine); augmentation by random shifts of up to 8% (and mirroring for
    colour photographs). The settings' `precision` is resolved by `kgan.precision.resolve`;
    under a mixed policy the returned model is a float32 copy with the trained weights, so
    features and accuracy are computed as users compute them. For MNIST three epochs take a
    few minutes on two CPU cores; CIFAR-10's thirty under an hour with bfloat16 instructions
    (`savedmodels/classifiers/README.md` gives the measured accuracies).

    Args:
        train_data: a `tf.data.Dataset` of `(images, labels)` batches, images in [-1, 1]; by
            default `kgan.data.load(dataset, split="train", with_labels=True)`.
        test_data: the same for evaluation; by default the test split of `dataset`.
        dataset: `"mnist"`, `"fashion_mnist"` or `"cifar10"`: the network and schedule, and
            the data loaded when none are passed.
        epochs: training epochs; `None` for the dataset's setting.
        batch_size: batch size when the data are loaded here.
        data_dir: where `kgan.data.load` reads local files (default `KGAN_DATA_DIR`).
        verbose: as in `keras.Model.fit`; also the progress of decoding image folders.
        backup_dir: a folder for `keras.callbacks.BackupAndRestore`: the weights and
            optimiser state at every epoch's end, from which a call with the same arguments
            resumes an interrupted training at its next epoch; removed when training ends.
            `None` (the default) keeps no backup.

    Returns:
        The trained float32 `keras.Model`, with its test accuracy in `model.test_accuracy`
        and the dtype policy it was trained under in `model.training_precision`.
    """
    if dataset not in CLASSIFIER_SETTINGS:
        raise ValueError(
            f"kgan trains classifiers for {sorted(CLASSIFIER_SETTINGS)}. Received: "
            f"dataset={dataset!r}"
        )
    settings = CLASSIFIER_SETTINGS[dataset]
    epochs = settings["epochs"] if epochs is None else epochs
    check_positive_int("epochs", epochs)
    if train_data is None:
        train_data = _load_labelled(dataset, "train", batch_size, data_dir, verbose)
    if test_data is None:
        test_data = _load_labelled(dataset, "test", batch_size, data_dir, verbose)
    steps = int(train_data.cardinality())
    policy = kgan_precision.resolve(settings["precision"])

    def build():
        return image_classifier(
            settings["input_shape"], filters=settings["filters"], name=f"{dataset}_classifier"
        )

    with kgan_precision.policy_scope(policy):
        model = build()
    schedule = (
        keras.optimizers.schedules.CosineDecay(1e-3, epochs * steps)
        if steps > 0
        else 1e-3  # Unknown length: a constant rate.
    )
    if settings["weight_decay"]:
        optimizer = keras.optimizers.AdamW(schedule, weight_decay=settings["weight_decay"])
    else:
        optimizer = keras.optimizers.Adam(schedule)
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    fill = dict(fill_mode=settings["fill_mode"])
    if settings["fill_mode"] == "constant":
        fill["fill_value"] = -1.0
    augment = [keras.layers.RandomTranslation(0.08, 0.08, **fill)]
    if settings["flip"]:
        augment.insert(0, keras.layers.RandomFlip("horizontal"))
    augment = keras.Sequential(augment)
    augmented = train_data.map(
        lambda images, labels: (augment(images, training=True), labels),
        num_parallel_calls=tf.data.AUTOTUNE,
    ).prefetch(tf.data.AUTOTUNE)
    callbacks = []
    if backup_dir is not None:
        # Two checkpoints, so that one broken by a kill during its write falls back on the other.
        callbacks.append(keras.callbacks.BackupAndRestore(backup_dir, double_checkpoint=True))
    # The dataset shuffles.
    model.fit(augmented, epochs=epochs, verbose=verbose, shuffle=False, callbacks=callbacks)
    if policy != "float32":  # A float32 copy, compiled for `evaluate` only.
        with kgan_precision.policy_scope("float32"):
            trained, model = model, build()
        model.set_weights(trained.get_weights())
        model.compile(
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
    _, accuracy = model.evaluate(test_data, verbose=0)
    model.test_accuracy = float(accuracy)
    model.training_precision = policy
    return model


def train_mnist_classifier(*args, dataset="mnist", epochs=3, **kwargs):
    """`train_classifier` for MNIST-like 28x28 data (three epochs by default)."""
    return train_classifier(*args, dataset=dataset, epochs=epochs, **kwargs)


def _load_labelled(dataset, split, batch_size, data_dir, verbose):
    return kgan_data.load(
        dataset,
        split=split,
        batch_size=batch_size,
        with_labels=True,
        data_dir=data_dir,
        verbose=verbose,
    )


def classifier_feature_extractor(classifier, layer="features"):
    """A model giving a classifier's penultimate features (the output of `layer`).

    Args:
        classifier: a functional `keras.Model`, for example `train_mnist_classifier()`.
        layer: name of the layer whose output is the feature vector.
    """
    if not isinstance(classifier, keras.Model):
        raise TypeError(
            "`classifier` must be a functional keras.Model. "
            f"Received: classifier={short(repr(classifier))} of type {type(classifier).__name__}"
        )
    try:
        output = classifier.get_layer(layer).output
    except ValueError:
        names = [known.name for known in classifier.layers]
        raise ValueError(
            f"The classifier has no layer named {layer!r}; its layers are {names}. "
            f"Received: layer={layer!r}"
        ) from None
    return keras.Model(classifier.input, output, name=f"{classifier.name}_features")


def check_input_shape(name, model, sample_shape, *, channels_of=None):
    """Checks that `model`, the argument `name`, takes a batch of samples of `sample_shape`
    (one channel at a time of samples of the shape `channels_of`, when given).

    Only a model with known inputs (a functional or built `keras.Model`) can be checked; for
    others this does nothing.

    Raises:
        ValueError: if the model's input shape does not fit `sample_shape`.
    """
    inputs = getattr(model, "inputs", None)
    if not inputs:
        return
    shape = tuple(inputs[0].shape)
    expected = (None, *sample_shape)
    if len(shape) != len(expected) or any(
        s is not None and s != e for s, e in zip(shape[1:], expected[1:])
    ):
        samples = f"the samples' shape {format_shape(expected)}"
        if channels_of is not None:
            samples = (
                f"the samples' shape {format_shape((None, *channels_of))}, read one channel at a "
                f"time as {format_shape(expected)}"
            )
        raise ValueError(
            f"The input shape {format_shape(shape)} of `{name}` does not fit {samples}. "
            f"Received: {name}={model.name!r}"
        )


def compute_features(feature_extractor, samples, *, batch_size=256, verbose="auto", title=None):
    """Runs `feature_extractor` over `samples` in batches; returns float64 `(N, d)` features.

    `feature_extractor` is a `keras.Model` or any callable from a batch to features; `None`
    means the flattened samples themselves (fine for low-dimensional data such as the 2-D toys).
    `verbose` shows the progress as `predict` does (`kgan.progress`), under `title`.
    """
    samples = np.asarray(samples, dtype="float32")
    if feature_extractor is None:
        return samples.reshape(samples.shape[0], -1).astype("float64")
    check_positive_int("batch_size", batch_size)
    outputs = []
    title = title or f"Features of {samples.shape[0]:,} samples"
    progress = Progress(title, samples.shape[0], verbose=verbose)
    for start in range(0, samples.shape[0], batch_size):
        batch = samples[start : start + batch_size]
        if isinstance(feature_extractor, keras.Model):
            values = feature_extractor(batch, training=False)
        else:
            values = feature_extractor(batch)
        outputs.append(np.asarray(keras.ops.convert_to_numpy(values), dtype="float64"))
        progress.add(len(batch))
    features = np.concatenate(outputs)
    return features.reshape(features.shape[0], -1)

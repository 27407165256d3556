"""A complete training run, as `kgan train` does it: data, networks, fit, samples, saved model.

A run folder holds everything a later step needs:

    RUN/model.keras        the trained GAN/WGAN/WGANGP (`keras.saving.load_model`)
    RUN/history.json       the metrics of every epoch
    RUN/config.json        the arguments of the run
    RUN/samples.png        a grid of samples from the final generator
    RUN/samples/           one grid per epoch, from the same noise
    RUN/last_good.keras    the last checkpoint the training monitor found healthy

`load_run` reads such a folder back.
"""

import json
import os
import time

import keras
import numpy as np

from kgan import callbacks as kgan_callbacks
from kgan import data as kgan_data
from kgan import images as kgan_images
from kgan._validation import check_choice, check_positive_int
from kgan.models import (
    GAN,
    WGAN,
    WGANGP,
    TrainingDivergedError,
    dcgan_discriminator,
    dcgan_generator,
    mlp_discriminator,
    mlp_generator,
)

MODELS = {"gan": GAN, "wgan": WGAN, "wgangp": WGANGP}
ARCHITECTURES = ("dcgan", "mlp")


def build_model(
    image_shape,
    *,
    model="gan",
    architecture="dcgan",
    num_classes=None,
    latent_dim=64,
    base_filters=32,
    ema_decay=None,
    seed=None,
):
    """Builds an uncompiled `GAN`, `WGAN` or `WGANGP` with networks sized for `image_shape`.

    The GAN discriminator is the TensorFlow DCGAN tutorial's kind: no normalisation, dropout
    0.3 (on the embedded 2,000-image sample it gave cleaner silhouettes than batch
    normalisation, which the small data set lets the discriminator overfit). The critic of a
    Wasserstein model gets no normalisation (WGAN) or layer normalisation (WGAN-GP, whose
    per-example gradient penalty batch statistics would break).
    """
    check_choice("model", model, tuple(MODELS))
    check_choice("architecture", architecture, ARCHITECTURES)
    critic_normalization = {"gan": None, "wgan": None, "wgangp": "layer"}[model]
    if architecture == "dcgan":
        generator = dcgan_generator(image_shape, latent_dim, num_classes, base_filters=base_filters)
        discriminator = dcgan_discriminator(
            image_shape,
            num_classes,
            base_filters=base_filters,
            normalization=critic_normalization,
            dropout=0.3 if model == "gan" else 0.0,
        )
    else:
        units = (base_filters * 8,)
        generator = mlp_generator(image_shape, latent_dim, units, num_classes=num_classes)
        discriminator = mlp_discriminator(image_shape, units, num_classes=num_classes)
    return MODELS[model](
        generator,
        discriminator,
        num_classes=num_classes,
        ema_decay=ema_decay,
        seed=seed,
    )


def _count_classes(dataset):
    highest = -1
    for _, labels in dataset:
        highest = max(highest, int(np.max(labels.numpy())))
    return highest + 1


def train(
    output_dir,
    *,
    data=kgan_data.EMBEDDED_DATASET,
    data_dir=None,
    model="gan",
    architecture="dcgan",
    conditional=False,
    num_classes=None,
    epochs=20,
    batch_size=64,
    latent_dim=64,
    base_filters=32,
    ema_decay=0.99,
    num_samples=None,
    seed=0,
    tensorboard=False,
    verbose="auto",
):
    """Trains a GAN on a dataset and writes a run folder (see the module docstring).

    Args:
        output_dir: the run folder (created if needed; files of an earlier run are replaced).
        data: a dataset name or folder for `kgan.data.load`; by default the embedded sample
            of Fashion-MNIST, which needs no network.
        data_dir: local data folder (else `$KGAN_DATA_DIR`).
        model: `"gan"`, `"wgan"` or `"wgangp"`.
        architecture: `"dcgan"` or `"mlp"`.
        conditional: train a class-conditional model on the dataset's labels.
        num_classes: classes of a conditional model (counted from the labels when `None`).
        epochs, batch_size: as in `fit`.
        latent_dim: size of z.
        base_filters: width of the networks.
        ema_decay: decay of the exponential moving average of the generator's weights that
            `generate` and export use (0.99 by default; `None` turns it off).
        num_samples: train on the first `num_samples` images only.
        seed: seed of the data order, the initial weights and the noise.
        tensorboard: also write TensorBoard logs (metrics and sample grids) to `RUN/logs`.
        verbose: verbosity of `fit`.

    Returns:
        `(model, history)`: the trained model and the `keras.callbacks.History`.
    """
    check_positive_int("epochs", epochs)
    check_positive_int("batch_size", batch_size)
    output_dir = os.fspath(output_dir)
    os.makedirs(output_dir, exist_ok=True)
    keras.utils.set_random_seed(seed)

    dataset = kgan_data.load(
        data,
        batch_size=batch_size,
        with_labels=conditional,
        data_dir=data_dir,
        seed=seed,
        num_samples=num_samples,
    )
    spec = dataset.element_spec[0] if conditional else dataset.element_spec
    image_shape = tuple(spec.shape[1:])
    if conditional and num_classes is None:
        num_classes = _count_classes(dataset)
    gan = build_model(
        image_shape,
        model=model,
        architecture=architecture,
        num_classes=num_classes if conditional else None,
        latent_dim=latent_dim,
        base_filters=base_filters,
        ema_decay=ema_decay,
        seed=seed,
    )
    gan.compile()

    log_dir = os.path.join(output_dir, "logs") if tensorboard else None
    monitor = kgan_callbacks.TrainingMonitor(
        stop_on=("divergence",), checkpoint_path=os.path.join(output_dir, "last_good.keras")
    )
    run_callbacks = [
        kgan_callbacks.SampleGrid(os.path.join(output_dir, "samples"), tensorboard_dir=log_dir),
        monitor,
    ]
    if log_dir:
        run_callbacks.append(keras.callbacks.TensorBoard(log_dir))
    config = {
        "data": os.fspath(data),
        "model": model,
        "architecture": architecture,
        "conditional": conditional,
        "num_classes": num_classes if conditional else None,
        "epochs": epochs,
        "batch_size": batch_size,
        "latent_dim": latent_dim,
        "base_filters": base_filters,
        "ema_decay": ema_decay,
        "num_samples": num_samples,
        "seed": seed,
        "image_shape": list(image_shape),
    }
    _write_json(output_dir, "config.json", config)
    started = time.time()
    try:
        history = gan.fit(dataset, epochs=epochs, callbacks=run_callbacks, verbose=verbose)
    except TrainingDivergedError as error:
        # Keep the record of the epochs that ran; the diverged weights are not saved, the last
        # healthy checkpoint (if any epoch was healthy) stays in last_good.keras.
        _write_history(output_dir, gan.history, time.time() - started, monitor, str(error))
        raise
    _write_history(output_dir, history, time.time() - started, monitor)

    # Write the model beside its final name, then rename: a crash never leaves half a file.
    model_path = os.path.join(output_dir, "model.keras")
    gan.save(model_path + ".tmp.keras")
    os.replace(model_path + ".tmp.keras", model_path)
    kgan_images.save_image_grid(gan.generate(64, seed=0), os.path.join(output_dir, "samples.png"))
    return gan, history


def _write_json(output_dir, name, record):
    with open(os.path.join(output_dir, name), "w") as file:
        json.dump(record, file, indent=2)


def _write_history(output_dir, history, seconds, monitor, diverged=None):
    metrics = {k: [float(v) for v in vs] for k, vs in getattr(history, "history", {}).items()}
    record = {
        "epochs": len(next(iter(metrics.values()), [])),
        "seconds": round(seconds, 1),
        "metrics": metrics,
        "health_events": [str(event) for event in monitor.events],
    }
    if diverged:
        record["diverged"] = diverged
    _write_json(output_dir, "history.json", record)


def load_run(run_or_model, *, compile=True):
    """Loads a kgan model from a training run folder or a `.keras` file.

    Args:
        run_or_model: a folder written by `kgan train` (holding `model.keras`, and maybe
            `history.json` and `config.json`) or a `.keras` file.
        compile: passed to `keras.saving.load_model`: restore the optimisers and compile
            settings too.

    Returns:
        `(model, history, run_config)`: the loaded model, and the parsed `history.json` and
        `config.json` beside it (each `None` when absent).

    Raises:
        FileNotFoundError: if there is no model at `run_or_model`.
        ValueError: if `run_or_model` is a file that is not a `.keras` file.
    """
    path = os.fspath(run_or_model)
    if os.path.isdir(path):
        model_path = os.path.join(path, "model.keras")
        run_dir = path
        if not os.path.isfile(model_path):
            raise FileNotFoundError(
                "A run folder must contain `model.keras` (written by `kgan train`). "
                f"Received: run_or_model={path!r}"
            )
    elif os.path.isfile(path):
        if not path.endswith(".keras"):
            raise ValueError(
                "Pass a run folder or a `.keras` file saved with `model.save(...)`. "
                f"Received: run_or_model={path!r}"
            )
        model_path = path
        run_dir = os.path.dirname(path) or "."
    else:
        raise FileNotFoundError(
            "No saved model at this path: no run folder or `.keras` file. "
            f"Received: run_or_model={path!r}"
        )
    # The kgan.models import above registers kgan's models and layers with Keras, which
    # deserialising them needs.
    model = keras.saving.load_model(model_path, compile=compile)
    return model, _read_json(run_dir, "history.json"), _read_json(run_dir, "config.json")


def _read_json(directory, name):
    path = os.path.join(directory, name)
    if not os.path.isfile(path):
        return None
    with open(path) as file:
        return json.load(file)

"""Tests of kgan.metrics.features: InceptionV3 features and the MNIST classifier."""

import json
import os
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan import metrics

REPO = Path(__file__).resolve().parents[2]

# ---------------------------------------------------------------------------- feature networks


def test_inception_feature_extractor_shapes_without_weights():
    extractor = metrics.inception_feature_extractor(image_size=75, weights=None)
    gray = np.zeros((2, 28, 28, 1), "float32")
    color = np.zeros((3, 32, 32, 3), "float32")
    assert extractor(gray).shape == (2, 2048)
    assert extractor(color).shape == (3, 2048)
    with pytest.raises(ValueError, match="at least 75x75"):
        metrics.inception_feature_extractor(image_size=32, weights=None)


def test_classifier_feature_extractor_names_a_classifier_that_is_not_a_model():
    with pytest.raises(TypeError, match="Received: classifier='mnist.keras' of type str"):
        metrics.classifier_feature_extractor("mnist.keras")


def test_check_input_shape_compares_a_model_input_with_the_samples():
    from kgan.metrics.features import check_input_shape

    model = keras.Sequential([keras.Input((None, 8, 1)), keras.layers.Flatten()], name="net")
    check_input_shape("net", model, (5, 8, 1))  # `None` takes any size.
    with pytest.raises(ValueError, match=r"\(None, None, 8, 1\) of `net` .*Received: net='net'"):
        check_input_shape("net", model, (8, 8, 3))
    check_input_shape("net", object(), (8, 8, 3))  # Nothing to compare with: no error.


def test_mnist_classifier_features_and_short_fit():
    rng = np.random.default_rng(0)
    # Two separable classes: dark and bright images.
    labels = rng.integers(0, 2, 256)
    images = np.where(labels[:, None, None, None] == 1, 0.5, -0.5) + 0.1 * rng.standard_normal(
        (256, 28, 28, 1)
    )
    data = tf.data.Dataset.from_tensor_slices((images.astype("float32"), labels)).batch(64)
    classifier = metrics.train_mnist_classifier(data, data, epochs=2, verbose=0)
    assert classifier.output_shape == (None, 10)
    assert classifier.test_accuracy > 0.9
    features = metrics.classifier_feature_extractor(classifier)
    assert features.output_shape == (None, 128)
    values = metrics.compute_features(features, images[:10], batch_size=4)
    assert values.shape == (10, 128) and values.dtype == np.float64
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        metrics.classifier_feature_extractor(classifier, layer="nope")


def test_the_shipped_mnist_classifier_has_its_stated_accuracy_on_the_mnist_test_set():
    """`savedmodels/classifiers/mnist.keras` classifies the 10,000 original MNIST test images
    with the accuracy stored in `tools/results/classifiers.json` (99.31%, which
    `savedmodels/classifiers/README.md` is generated from), to the image."""
    folder = _mnist_folder()
    stored = json.loads((REPO / "tools" / "results" / "classifiers.json").read_text())
    stated = stored["classifiers"]["mnist"]
    classifier = keras.saving.load_model(REPO / "savedmodels" / "classifiers" / "mnist.keras")
    test_set = kgan.data.load(
        "mnist", split="test", with_labels=True, data_dir=folder, shuffle=False,
        batch_size=1000, verbose=0,
    )  # fmt: skip
    correct = total = 0
    for images, labels in test_set:
        predicted = np.argmax(keras.ops.convert_to_numpy(classifier(images, training=False)), 1)
        correct += int(np.sum(predicted == labels.numpy()))
        total += len(predicted)
    assert total == stated["test_images"] == 10_000
    assert correct == round(stated["test_accuracy"] * total)


def _mnist_folder():
    """The data folder of the original MNIST files (`$KGAN_DATA_DIR`, else ../shared/data);
    the test is skipped, saying so, without them."""
    configured = os.environ.get(kgan.data.local.ENV_VAR)
    for folder in [Path(configured)] if configured else [REPO.parent / "shared" / "data"]:
        if (folder / "mnist" / "t10k-images-idx3-ubyte.gz").is_file():
            return folder
    pytest.skip("the MNIST IDX files are not available: set KGAN_DATA_DIR (see README)")


def test_train_mnist_classifier_loads_the_named_dataset_when_no_data_is_passed(tmp_path):
    # The old call form: dataset name and data folder, read through kgan.data.load.
    rng = np.random.default_rng(0)
    (tmp_path / "mnist").mkdir()
    for split, count in (("train", 40), ("t10k", 20)):
        labels = (np.arange(count) % 2).astype(np.uint8)
        noise = rng.integers(0, 20, (count, 28, 28))
        images = (np.where(labels[:, None, None] == 1, 200, 30) + noise).astype(np.uint8)
        kgan.data.write_idx(tmp_path / "mnist" / f"{split}-images-idx3-ubyte", images)
        kgan.data.write_idx(tmp_path / "mnist" / f"{split}-labels-idx1-ubyte", labels)
    classifier = metrics.train_mnist_classifier(
        dataset="mnist", data_dir=tmp_path, epochs=1, batch_size=8, verbose=0
    )
    assert classifier.output_shape == (None, 10)
    # The accuracy is measured on the test split of that folder (t10k-*, 20 images).
    test_split = kgan.data.load("mnist", split="test", data_dir=tmp_path, with_labels=True)
    assert int(test_split.cardinality()) == 1
    _, accuracy = classifier.evaluate(test_split, verbose=0)
    assert classifier.test_accuracy == pytest.approx(accuracy)
    with pytest.raises(ValueError, match="Received: epochs=0"):
        metrics.train_mnist_classifier(dataset="mnist", data_dir=tmp_path, epochs=0)


def test_cifar10_classifier_is_three_blocks_on_colour_and_mirrors(monkeypatch):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 128)
    images = np.where(labels[:, None, None, None] == 1, 0.5, -0.5) + 0.1 * rng.standard_normal(
        (128, 32, 32, 3)
    )
    data = tf.data.Dataset.from_tensor_slices((images.astype("float32"), labels)).batch(64)
    classifier = metrics.train_classifier(data, data, dataset="cifar10", epochs=2, verbose=0)
    assert classifier.input_shape == (None, 32, 32, 3)
    assert classifier.name == "cifar10_classifier"
    pools = [layer for layer in classifier.layers if "pooling" in layer.name]
    assert len(pools) == len(metrics.CLASSIFIER_SETTINGS["cifar10"]["filters"]) == 3
    assert classifier.test_accuracy > 0.9
    # Trained under the settings' precision, returned in float32 (what users score with).
    assert classifier.training_precision == kgan.precision.resolve("auto")
    assert all(layer.dtype_policy.name == "float32" for layer in classifier.layers)
    with pytest.raises(ValueError, match="Received: dataset='svhn'"):
        metrics.train_classifier(data, data, dataset="svhn")


def test_train_classifier_command_writes_the_model_and_its_record(tmp_path, monkeypatch):
    import json

    from kgan.cli import main

    def tiny(*, dataset, epochs, data_dir, verbose, backup_dir):
        classifier = metrics.image_classifier((32, 32, 3), filters=(4,))
        classifier.compile(optimizer="adam", loss="mse")
        classifier.test_accuracy = 0.5
        classifier.training_precision = "mixed_bfloat16"
        return classifier

    monkeypatch.setattr(metrics, "train_classifier", tiny)
    output = tmp_path / "c.keras"
    assert main(["train-classifier", "--data", "cifar10", "-o", str(output)]) == 0
    record = json.loads((tmp_path / "c.json").read_text())
    assert record["test_accuracy"] == 0.5 and record["epochs"] == 30 and record["seed"] == 0
    assert record["precision"] == "mixed_bfloat16" and record["resumed"] is False
    assert not (tmp_path / "c.backup").exists() and not (tmp_path / "c.lock").exists()
    assert record["command"].startswith("kgan ") and record["environment"]["cpu_count"] >= 1
    reloaded = keras.saving.load_model(output)
    assert getattr(reloaded, "optimizer", None) is None  # Shipped without optimiser state.


def test_train_classifier_command_keeps_an_existing_classifier_unless_told(
    tmp_path, monkeypatch, capsys
):
    from kgan.cli import main

    trained = []

    def tiny(*, dataset, epochs, data_dir, verbose, backup_dir):
        trained.append(dataset)
        classifier = metrics.image_classifier((28, 28, 1), filters=(4,))
        classifier.test_accuracy, classifier.training_precision = 0.5, "float32"
        return classifier

    monkeypatch.setattr(metrics, "train_classifier", tiny)
    output, record = tmp_path / "c.keras", tmp_path / "c.json"
    for existing in (output, record):
        existing.write_text("mine")
        assert main(["train-classifier", "-o", str(output)]) != 0
        error = capsys.readouterr().err
        assert f"{str(existing)!r} already exists; pass --overwrite" in error
        assert f"Received: --output={output}" in error
        assert not trained and existing.read_text() == "mine"  # Refused before training.
        existing.unlink()
    output.write_text("mine")
    assert main(["train-classifier", "-o", str(output), "--overwrite"]) == 0
    assert trained == ["mnist"] and keras.saving.load_model(output).input_shape == (None, 28, 28, 1)


def test_an_interrupted_classifier_training_resumes_from_its_backup(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 32)
    images = np.where(labels[:, None, None, None] == 1, 0.5, -0.5) * np.ones((32, 28, 28, 1))
    data = tf.data.Dataset.from_tensor_slices((images.astype("float32"), labels)).batch(8)
    backup = tmp_path / "c.backup"
    ended = []  # (epoch, optimiser steps) at each epoch end
    save = keras.callbacks.BackupAndRestore.on_epoch_end

    def interrupted_after_the_first_epoch(callback, epoch, logs=None):
        save(callback, epoch, logs)
        ended.append((epoch, int(callback.model.optimizer.iterations)))
        if epoch == 0:
            raise KeyboardInterrupt

    monkeypatch.setattr(
        keras.callbacks.BackupAndRestore, "on_epoch_end", interrupted_after_the_first_epoch
    )
    with pytest.raises(KeyboardInterrupt):
        metrics.train_classifier(data, data, epochs=2, verbose=0, backup_dir=str(backup))
    assert ended == [(0, 4)] and backup.is_dir()
    classifier = metrics.train_classifier(data, data, epochs=2, verbose=0, backup_dir=str(backup))
    # Only the second epoch ran, on the first's weights and optimiser state.
    assert ended == [(0, 4), (1, 8)]
    assert not backup.exists() and classifier.test_accuracy == 1.0


def test_train_classifier_command_resumes_only_the_training_its_backup_records(
    tmp_path, monkeypatch, capsys
):
    import json

    from kgan.cli import main

    calls = []

    def failing(*, dataset, epochs, data_dir, verbose, backup_dir):
        calls.append(backup_dir)
        raise ValueError("no data here")

    monkeypatch.setattr(metrics, "train_classifier", failing)
    output, backup = tmp_path / "c.keras", tmp_path / "c.backup"
    assert main(["train-classifier", "-o", str(output), "--epochs", "2"]) != 0
    assert "no data here" in capsys.readouterr().err
    assert calls == [str(backup)] and not backup.exists()  # Nothing left of a failed start.
    backup.mkdir()
    (backup / "arguments.json").write_text(json.dumps({"data": "mnist", "epochs": 3, "seed": 0}))
    (backup / "latest.weights.h5").write_text("an epoch's weights")
    assert main(["train-classifier", "-o", str(output), "--epochs", "2"]) != 0
    error = capsys.readouterr().err
    assert (
        f"{str(backup)!r} holds an interrupted training of `--data mnist --epochs 3 --seed 0`"
        in (error)
    )
    assert "Received: --data=mnist, --epochs=2, --seed=0" in error
    assert len(calls) == 1 and (backup / "arguments.json").exists()  # Refused, kept.
    assert main(["train-classifier", "-o", str(output)]) != 0  # The recorded ones: resumed.
    assert "Resuming the interrupted training from" in capsys.readouterr().out
    assert calls[-1] == str(backup) and backup.exists()  # Its backup is kept for the next try.


def test_train_classifier_command_refuses_a_classifier_another_command_trains(
    tmp_path, monkeypatch, capsys
):
    from kgan import atomic
    from kgan.cli import main

    calls = []
    monkeypatch.setattr(metrics, "train_classifier", lambda **kwargs: calls.append(kwargs))
    output = tmp_path / "c.keras"
    with atomic.exclusive_lock(tmp_path / "c.lock", what="held by this test"):
        assert main(["train-classifier", "-o", str(output)]) != 0
    error = capsys.readouterr().err
    assert f"The classifier {str(output)!r} is in use by another process" in error
    assert not calls and not (tmp_path / "c.backup").exists()

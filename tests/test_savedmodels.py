"""The generators shipped in savedmodels/ keep TF Serving's contract and agree with their ONNX."""

import json
from pathlib import Path

import keras
import numpy as np
import onnxruntime as ort
import pytest
import tensorflow as tf

from kgan import export

SAVEDMODELS = Path(__file__).resolve().parents[1] / "savedmodels"


def test_shipped_generator_keeps_the_serving_contract_and_matches_its_onnx(shipped_name):
    name = shipped_name
    base = SAVEDMODELS / name
    version = base / str(max(export.list_versions(base)))
    metadata = export.read_metadata(version)
    image_shape = tuple(metadata["image_shape"])
    assert image_shape in ((28, 28, 1), (32, 32, 3))
    latent_dim, num_classes = metadata["latent_dim"], metadata.get("num_classes")
    loaded = tf.saved_model.load(str(version))
    # Exports written before `generate_png` existed have the other two.
    assert {"serving_default", "generate"} <= set(loaded.signatures)
    z = np.random.default_rng(0).normal(size=(3, latent_dim)).astype("float32")
    inputs = {"z": z}
    if num_classes:
        inputs["labels"] = np.array([0, 1, num_classes - 1], dtype="int32")
    images = loaded.signatures["serving_default"](
        **{key: tf.constant(value) for key, value in inputs.items()}
    )["images"].numpy()
    assert images.shape == (3, *image_shape) and np.abs(images).max() <= 1.0
    session = ort.InferenceSession(str(SAVEDMODELS / f"{name}.onnx"))
    np.testing.assert_allclose(session.run(["images"], inputs)[0], images, atol=1e-4)
    generate = loaded.signatures["generate"]
    request = {"num_samples": tf.constant(4), "seed": tf.constant(7, tf.int64)}
    if num_classes:
        request["labels"] = tf.constant([0, 1, 2, 3])
    first, again = generate(**request)["images"], generate(**request)["images"]
    assert first.dtype == tf.uint8
    np.testing.assert_array_equal(first.numpy(), again.numpy())


@pytest.mark.parametrize(
    ("name", "accuracy"), [("mnist", 0.985), ("fashion_mnist", 0.88), ("cifar10", 0.85)]
)
def test_shipped_classifiers_classify_the_held_out_test_images(name, accuracy):
    """The classifiers in savedmodels/classifiers/ classify the first 2,000 test images (the
    original IDX files, or CIFAR-10's class-folder copy, from $KGAN_DATA_DIR) about as well as
    on all 10,000 (measured on those 2,000: 98.95% for MNIST, whose first test images are
    harder; 86.0% for CIFAR-10, whose classifier must reach 85%)."""
    from kgan.data import cifar, local

    if name == "cifar10":
        found = cifar.arrays("test[:2000]", None, verbose=0)
        found = found and found[:3]
    else:
        found = local.idx_arrays(name, "test[:2000]", None, with_labels=True)
    if found is None:
        pytest.skip(f"the {name} test images are not in $KGAN_DATA_DIR")
    images, labels, split_slice = found
    selection = split_slice(len(images))
    images, labels = images[selection], labels[selection]
    classifier = keras.saving.load_model(SAVEDMODELS / "classifiers" / f"{name}.keras")
    logits = classifier.predict(images.astype("float32") / 127.5 - 1.0, verbose=0)
    assert logits.shape == (2000, 10)
    assert np.mean(np.argmax(logits, axis=1) == labels) >= accuracy


def test_shipped_generator_has_a_model_card(shipped_name):
    """Each shipped generator comes with its card: figures, the command and a sample grid."""
    folder = SAVEDMODELS / shipped_name
    card = json.loads((folder / "card.json").read_text())
    assert card["name"] == shipped_name and card["command"].startswith("kgan train")
    for key in ("fid", "kid", "precision", "recall", "density", "coverage"):
        assert key in card["evaluation"]["model"] and key in card["evaluation"]["real_data"]
    assert f"{card['evaluation']['model']['fid']:.2f}" in (folder / "README.md").read_text()
    assert (folder / "samples.png").stat().st_size > 0
    training = card["training"]
    assert 0 < training["real_images_seen"] <= training["critic_steps"] * training["batch_size"]
    assert training["seconds"] > 0
    if card["conditional"]:  # Class control, class by class.
        per_class = card["evaluation"]["class_control"]["per_class"]
        assert len(per_class) == 10 and all(0.0 <= share <= 1.0 for share in per_class)


def test_shipped_exports_stay_a_few_megabytes(shipped_name):
    def size(path):
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        return sum(p.stat().st_size for p in files)

    for path in (SAVEDMODELS / shipped_name, SAVEDMODELS / f"{shipped_name}.onnx"):
        assert size(path) < 8 * 2**20, f"{path} holds {size(path) / 2**20:.1f} MiB"


def test_evaluate_picks_the_shipped_classifier_of_each_data_set(monkeypatch):
    """`kgan evaluate --data D` scores in the features of savedmodels/classifiers/D.keras."""
    from kgan.metrics import shipped_classifier_path

    monkeypatch.delenv("KGAN_CLASSIFIER_DIR", raising=False)
    classifiers = SAVEDMODELS / "classifiers"
    for data, file in (
        ("mnist", "mnist"),
        ("fashion_mnist", "fashion_mnist"),
        ("fashion_mnist_sample", "fashion_mnist"),
        ("cifar10", "cifar10"),
    ):
        assert shipped_classifier_path(data) == classifiers / f"{file}.keras"
    assert shipped_classifier_path("gaussian_ring") is None

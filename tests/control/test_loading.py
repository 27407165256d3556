"""Generators opened from every MODEL path give the same samples for the same seed."""

from pathlib import Path

import numpy as np
import pytest

from kgan import control

SAVEDMODELS = Path(__file__).resolve().parents[2] / "savedmodels"


@pytest.mark.parametrize(
    "kind, fmt",
    [
        ("run", "keras"),
        ("keras", "keras"),
        ("version", "saved_model"),
        ("saved_model", "saved_model"),
        ("onnx", "onnx"),
    ],
)
def test_every_format_samples_like_keras_with_labels(image_gan, image_exports, kind, fmt):
    generator = control.load_generator(image_exports[kind])
    assert generator.format == fmt
    assert (generator.latent_dim, generator.num_classes) == (8, 3)
    assert generator.sample_shape == (8, 8, 1)
    labels = np.array([2, 0, 1, 1, 2])
    expected = image_gan.generate(5, labels=labels, seed=11)
    samples = generator.generate(5, labels=labels, seed=11)
    np.testing.assert_allclose(samples, expected, atol=1e-4)
    # The labels reach the network: other classes give other images.
    assert np.abs(generator.generate(5, labels=0, seed=11) - expected).max() > 1e-3


def test_base_folder_opens_the_highest_version(image_exports):
    generator = control.load_generator(image_exports["saved_model"])
    assert generator.path.endswith("2")


def test_shipped_generators_sample_alike(shipped_name):
    saved_model = control.load_generator(SAVEDMODELS / shipped_name)
    onnx_model = control.load_generator(SAVEDMODELS / f"{shipped_name}.onnx")
    assert saved_model.num_classes == onnx_model.num_classes
    assert saved_model.sample_shape in ((28, 28, 1), (32, 32, 3))
    assert onnx_model.sample_shape == saved_model.sample_shape
    first = saved_model.generate(4, seed=3)
    np.testing.assert_allclose(onnx_model.generate(4, seed=3), first, atol=1e-4)
    assert np.abs(saved_model.generate(4, seed=4) - first).max() > 0.1


def test_as_generator_takes_models_and_bare_networks(image_gan):
    from_model = control.as_generator(image_gan)
    bare = control.as_generator(image_gan.inference_generator)
    assert bare.num_classes == 3  # Read from the network's one-hot layer.
    np.testing.assert_allclose(bare.generate(3, seed=1), from_model.generate(3, seed=1), atol=1e-6)
    with pytest.raises(TypeError, match="Received: model=42"):
        control.as_generator(42)


def test_paths_of_no_kind_are_clear_errors(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a model")
    with pytest.raises(ValueError, match=r"Received: model='.*notes\.txt'"):
        control.load_generator(text)
    with pytest.raises(ValueError, match=r"an \.onnx file\. Received: model='"):
        control.load_generator(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"Received: model='.*missing'"):
        control.load_generator(tmp_path / "missing")
    (tmp_path / "bare" / "1").mkdir(parents=True)
    (tmp_path / "bare" / "1" / "saved_model.pb").write_bytes(b"")
    with pytest.raises(ValueError, match="exported by kgan.*Received: path="):
        control.load_generator(tmp_path / "bare")


def test_labels_are_checked(image_exports, shipped_unconditional):
    generator = control.load_generator(image_exports["version"])
    with pytest.raises(ValueError, match=r"in \[0, 3\).*Received: labels=3"):
        generator.generate(2, labels=[0, 3], seed=0)
    with pytest.raises(ValueError, match=r"Received: labels=-1"):
        generator.generate(2, labels=-1, seed=0)
    with pytest.raises(ValueError, match="one label per sample"):
        generator.generate(3, labels=[0, 1], seed=0)
    unconditional = control.load_generator(f"{shipped_unconditional}.onnx")
    with pytest.raises(ValueError, match=r"unconditional\. Received: labels=3 with num_classes"):
        unconditional.generate(2, labels=3, seed=0)

"""Tests of kgan.export.metadata: what an export records about itself and its training."""

import json
import os

import kgan
from kgan import export


def test_metadata_travels_with_the_model(unconditional_export, latent_dim):
    metadata = export.read_metadata(unconditional_export)
    with open(os.path.join(unconditional_export, "assets", "kgan.json")) as file:
        assert json.load(file) == metadata
    assert metadata["latent_dim"] == latent_dim
    assert metadata["image_shape"] == [8, 8, 1]
    assert metadata["num_classes"] is None
    assert metadata["value_range"] == [-1.0, 1.0]
    assert metadata["model_class"] == "GAN"
    assert metadata["kgan_version"] == kgan.__version__
    assert metadata["max_samples"] == 16
    assert metadata["version"] == 1
    training = metadata["training"]
    assert training["config"]["loss"] == "non_saturating"
    assert "generator" not in training["config"] and "discriminator" not in training["config"]
    assert training["generator_steps"] == 0
    assert training["history"] == {"epochs": 2, "final": {"d_loss": 0.7, "g_loss": 1.1}}
    assert metadata["verification"]["max_abs_difference"] <= 1e-5
    assert metadata["verification"]["generate_max_level_difference"] <= 1


def test_a_source_of_a_bare_generator_exports_under_the_generators_name(unconditional, tmp_path):
    """A `GeneratorSource` exports as it is; without a kgan model, its generator is named."""
    source = export.resolve_generator(unconditional.inference_generator)
    path = export.to_saved_model(source, str(tmp_path / "sm"), verify=False)
    metadata = export.read_metadata(path)
    assert metadata["model_class"] == "Functional"
    assert metadata["generator_name"] == unconditional.inference_generator.name
    onnx = export.to_onnx(source, str(tmp_path / "g.onnx"), verify=False)
    assert export.read_metadata(onnx)["latent_dim"] == metadata["latent_dim"]

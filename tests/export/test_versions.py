"""Tests of kgan.export.versions: integer version folders that appear whole or not at all."""

import os

import numpy as np
import pytest
import tensorflow as tf

from kgan import export
from kgan.export import saved_model


def test_versions_increase_and_are_never_overwritten_silently(unconditional, tmp_path):
    base_dir = tmp_path / "model"
    kwargs = {"verify": False}
    assert export.to_saved_model(unconditional, base_dir, **kwargs) == str(base_dir / "1")
    assert export.to_saved_model(unconditional, base_dir, **kwargs) == str(base_dir / "2")
    assert export.to_saved_model(unconditional, base_dir, version=10, **kwargs) == str(
        base_dir / "10"
    )
    assert export.to_saved_model(unconditional, base_dir, **kwargs) == str(base_dir / "11")
    assert export.list_versions(base_dir) == [1, 2, 10, 11]
    with pytest.raises(FileExistsError, match="Version 2 already exists"):
        export.to_saved_model(unconditional, base_dir, version=2, **kwargs)
    with pytest.raises(ValueError, match="must be a positive integer"):
        export.to_saved_model(unconditional, base_dir, version=0, **kwargs)
    assert sorted(os.listdir(base_dir)) == ["1", "10", "11", "2"]


def test_overwrite_replaces_a_version(tmp_path, make_dcgan, latent_inputs, keras_images):
    base_dir = tmp_path / "model"
    first, second = make_dcgan(), make_dcgan(shifted=True)
    z, _ = latent_inputs(2)
    assert not np.allclose(keras_images(first.generator, z), keras_images(second.generator, z))
    export.to_saved_model(first, base_dir, version=3, verify=False)
    export.to_saved_model(second, base_dir, version=3, overwrite=True, verify=False)
    assert sorted(os.listdir(base_dir)) == ["3"]
    images = (
        tf.saved_model.load(str(base_dir / "3"))
        .signatures["serving_default"](z=tf.constant(z))["images"]
        .numpy()
    )
    np.testing.assert_allclose(images, keras_images(second.generator, z), atol=1e-5)


@pytest.mark.parametrize("failure", [RuntimeError, KeyboardInterrupt])
def test_export_failing_half_way_leaves_no_version(unconditional, tmp_path, monkeypatch, failure):
    base_dir = tmp_path / "model"
    export.to_saved_model(unconditional, base_dir, version=1, verify=False)

    def fail(*args, **kwargs):
        raise failure("disk full")

    # The SavedModel is on disk in the temporary folder when the metadata is written.
    monkeypatch.setattr(saved_model, "write_metadata_file", fail)
    with pytest.raises(failure):
        export.to_saved_model(unconditional, base_dir, verify=False)
    with pytest.raises(failure):
        export.to_saved_model(unconditional, base_dir, version=1, overwrite=True, verify=False)
    assert os.listdir(base_dir) == ["1"]
    assert export.read_metadata(base_dir / "1")["version"] == 1

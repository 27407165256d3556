"""Tests of kgan.export.verify: an export that does not reproduce Keras is refused."""

import os

import pytest

from kgan import export
from kgan.export import saved_model


def test_failed_verification_leaves_no_version(unconditional, tmp_path, monkeypatch, make_dcgan):
    base_dir = tmp_path / "model"
    export.to_saved_model(unconditional, base_dir, verify=False)
    real_source = export.resolve_generator(unconditional)
    # Export another generator in its place: the SavedModel cannot match `unconditional`.
    other = export.resolve_generator(make_dcgan(shifted=True))
    monkeypatch.setattr(saved_model, "resolve_generator", lambda *args, **kwargs: other)
    real_verify = export.verify_saved_model
    monkeypatch.setattr(
        saved_model,
        "verify_saved_model",
        lambda source, path, **kwargs: real_verify(real_source, path, **kwargs),
    )
    with pytest.raises(export.ExportVerificationError, match="differs from the Keras generator"):
        export.to_saved_model(unconditional, base_dir)
    assert os.listdir(base_dir) == ["1"]


def test_onnx_verification_fails_on_a_mismatch(unconditional, tmp_path, make_dcgan):
    path = export.to_onnx(unconditional, tmp_path / "g.onnx")
    assert export.verify_onnx(unconditional, path)["max_abs_difference"] <= 1e-4
    with pytest.raises(export.ExportVerificationError, match="differ from the Keras generator"):
        export.verify_onnx(make_dcgan(shifted=True), path)

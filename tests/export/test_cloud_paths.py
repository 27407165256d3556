"""Exports to URLs (`gs://`, `s3://`) go through `tf.io.gfile` (`kgan.storage`); tested on the
local file system through the same code, with `file://` URLs."""

import os

import numpy as np
import pytest
import tensorflow as tf

from kgan import atomic, export, storage
from kgan.cli import main
from kgan.export import saved_model, versions
from kgan.images import to_uint8


def _url(path):
    return "file://" + str(path)


def test_saved_model_to_a_url_is_published_with_a_marker_and_loads(unconditional, tmp_path):
    base_url = _url(tmp_path / "model")
    path = export.to_saved_model(unconditional, base_url, max_samples=4)
    assert path == base_url + "/1"
    assert tf.io.gfile.listdir(base_url) == ["1"]  # No staging folder left.
    assert tf.io.gfile.exists(f"{path}/{storage.COMPLETION_MARKER}")
    assert versions.is_complete(path)
    loaded = tf.saved_model.load(path)
    images = loaded.signatures["generate"](
        num_samples=tf.constant(2), seed=tf.constant(7, tf.int64)
    )["images"].numpy()
    expected = to_uint8(unconditional.generate(2, seed=7)).astype(int)
    assert images.shape == (2, 8, 8, 1)
    assert np.max(np.abs(images.astype(int) - expected)) <= 1
    assert export.read_metadata(path)["version"] == 1
    # The next version, and a version that exists, as on a local disk.
    assert export.to_saved_model(unconditional, base_url, verify=False) == base_url + "/2"
    assert export.list_versions(base_url) == [1, 2]
    with pytest.raises(FileExistsError, match="Version 1 already exists"):
        export.to_saved_model(unconditional, base_url, version=1, verify=False)
    assert export.to_saved_model(unconditional, base_url, version=1, overwrite=True, verify=False)
    assert sorted(tf.io.gfile.listdir(base_url)) == ["1", "2"]
    assert versions.is_complete(base_url + "/1")


@pytest.mark.parametrize("overwrite", [False, True])
def test_export_to_a_url_failing_half_way_leaves_no_version(
    unconditional, tmp_path, monkeypatch, overwrite
):
    base_url = _url(tmp_path / "model")
    if overwrite:
        export.to_saved_model(unconditional, base_url, version=1, verify=False)

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    # The SavedModel is in the hidden folder when the metadata is written.
    monkeypatch.setattr(saved_model, "write_metadata_file", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        export.to_saved_model(unconditional, base_url, version=1, overwrite=overwrite, verify=False)
    assert tf.io.gfile.listdir(base_url) == (["1"] if overwrite else [])
    if overwrite:
        assert versions.is_complete(base_url + "/1")


def test_a_url_version_without_its_marker_is_incomplete(unconditional, tmp_path):
    base_url = _url(tmp_path / "model")
    path = export.to_saved_model(unconditional, base_url, verify=False)
    # As a reader sees a version whose copy into place has not finished.
    tf.io.gfile.remove(f"{path}/{storage.COMPLETION_MARKER}")
    assert not versions.is_complete(path)
    with pytest.raises(FileNotFoundError, match="incomplete.*Received: path="):
        export.read_metadata(path)
    # Local folders are complete once renamed, and get no marker.
    local = export.to_saved_model(unconditional, tmp_path / "local", verify=False)
    assert versions.is_complete(local)
    assert storage.COMPLETION_MARKER not in os.listdir(local)


def test_files_to_a_url_are_whole_and_not_replaced_without_overwrite(tmp_path):
    url = _url(tmp_path / "sub" / "model.onnx")
    atomic.write_bytes(url, b"first", overwrite=False)
    with pytest.raises(FileExistsError):
        atomic.write_bytes(url, b"second", overwrite=False)
    atomic.write_bytes(url, b"third")
    assert os.listdir(tmp_path / "sub") == ["model.onnx"]  # No temporary file left.
    assert (tmp_path / "sub" / "model.onnx").read_bytes() == b"third"


def test_cli_export_to_urls(unconditional, tmp_path, capsys):
    pytest.importorskip("tf2onnx")
    model_path = tmp_path / "generator.keras"
    unconditional.generator.save(model_path)
    base_url, onnx_url = _url(tmp_path / "out" / "demo"), _url(tmp_path / "out" / "demo.onnx")
    args = ["export", str(model_path), "--saved-model", base_url, "--onnx", onnx_url]
    assert main([*args, "--no-verify"]) == 0
    out = capsys.readouterr().out
    assert f"wrote SavedModel {base_url}/1" in out
    assert f"wrote ONNX {onnx_url}" in out
    assert export.read_metadata(onnx_url)["format"] == "onnx"
    assert sorted(os.listdir(tmp_path / "out")) == ["demo", "demo.onnx"]
    assert main(["export", str(model_path), "--onnx", onnx_url]) != 0
    assert "The ONNX file already exists; pass" in capsys.readouterr().err

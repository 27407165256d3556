"""Tests of `kgan export`: a training run folder exported to both formats."""

import json

import keras
import pytest

import kgan
from kgan import export
from kgan.cli import main

NUM_CLASSES = 3


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, make_dcgan):
    directory = tmp_path_factory.mktemp("run")
    keras.utils.set_random_seed(3)
    model = make_dcgan(NUM_CLASSES, model_class=kgan.WGANGP)
    model.save(directory / "model.keras")
    # As `kgan train` writes them.
    with open(directory / "history.json", "w") as file:
        json.dump(
            {
                "epochs": 3,
                "seconds": 12.5,
                "metrics": {"d_loss": [1.0, 0.5, 0.25], "g_loss": [0.1, 0.2, 0.3]},
                "health_events": [],
            },
            file,
        )
    with open(directory / "config.json", "w") as file:
        json.dump({"data": "fashion_mnist_sample", "epochs": 3}, file)
    return directory


def test_cli_export(run_dir, tmp_path, capsys):
    saved_model = tmp_path / "savedmodels" / "demo"
    onnx_path = tmp_path / "savedmodels" / "demo.onnx"
    code = main(
        [
            "export",
            str(run_dir),
            "--saved-model",
            str(saved_model),
            "--version",
            "4",
            "--onnx",
            str(onnx_path),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert f"wrote SavedModel {saved_model / '4'}" in out
    assert f"wrote ONNX {onnx_path}" in out
    assert out.count("verified against Keras") == 2
    metadata = export.read_metadata(saved_model / "4")
    assert metadata["model_class"] == "WGANGP"
    assert metadata["num_classes"] == NUM_CLASSES
    assert metadata["training"]["history"] == {
        "epochs": 3,
        "final": {"d_loss": 0.25, "g_loss": 0.3},
        "seconds": 12.5,
        "health_events": 0,
    }
    assert metadata["training"]["run_config"] == {"data": "fashion_mnist_sample", "epochs": 3}
    assert export.read_metadata(onnx_path)["training"] == metadata["training"]

    assert main(["export", str(run_dir), "--saved-model", str(saved_model), "--version", "4"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["export", str(run_dir), "--onnx", str(onnx_path)]) == 2
    assert capsys.readouterr().err.strip().endswith(f"Received: --onnx={onnx_path}")
    assert main(["export", str(run_dir)]) == 2
    assert "Nothing to export" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing"), "--onnx", str(onnx_path)]) == 2
    assert "RUN_OR_MODEL: no file or folder at this path" in capsys.readouterr().err


def test_an_opset_tf2onnx_cannot_write_is_refused_before_anything_is_written(
    run_dir, tmp_path, capsys
):
    saved_model, onnx_path = tmp_path / "demo", tmp_path / "demo.onnx"
    argv = ["export", str(run_dir), "--saved-model", str(saved_model), "--onnx", str(onnx_path)]
    assert main([*argv, "--opset", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.endswith("Received: --opset=3"), err
    assert not saved_model.exists() and not onnx_path.exists()

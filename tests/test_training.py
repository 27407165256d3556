"""`kgan train` and `kgan.training`: a run folder a person and the next command can use."""

import json

import keras
import numpy as np
import pytest
from PIL import Image

import kgan
from kgan import cli
from kgan.runs import training as run_training
from kgan.runs.training import grid_interval
from kgan.training import build_model, train

SMALL = dict(num_samples=128, batch_size=32, base_filters=8, latent_dim=8)


def test_train_writes_a_complete_run_folder(tmp_path, monkeypatch):
    # A grid every epoch up to MAX_EPOCH_GRIDS epochs, about that many in a longer run.
    assert [grid_interval(epochs) for epochs in (1, 100, 101, 930)] == [1, 1, 2, 10]
    monkeypatch.setattr(run_training, "MAX_EPOCH_GRIDS", 2)
    gan, history = train(tmp_path / "run", epochs=3, verbose=0, **SMALL)
    run = tmp_path / "run"
    assert isinstance(gan, kgan.GAN) and gan.ema_decay == 0.99
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["epoch_002.png", "epoch_003.png"]
    with Image.open(run / "samples.png") as image:
        assert image.size[0] > 200  # 64 samples of 28x28, upscaled to be seen.
    loaded = keras.saving.load_model(run / "model.keras")
    assert type(loaded) is kgan.GAN
    np.testing.assert_allclose(loaded.generate(3, seed=0), gan.generate(3, seed=0), atol=1e-6)
    record = json.loads((run / "history.json").read_text())
    assert record["epochs"] == 3
    assert record["metrics"]["d_loss"] == pytest.approx(history.history["d_loss"])
    config = json.loads((run / "config.json").read_text())
    assert config["data"] == kgan.data.EMBEDDED_DATASET and config["image_shape"] == [28, 28, 1]
    assert (run / "last_good.keras").exists()


def test_conditional_wasserstein_run(tmp_path):
    gan, _ = train(
        tmp_path / "run",
        model="wgangp",
        conditional=True,
        epochs=1,
        tensorboard=True,
        verbose=0,
        **SMALL,
    )
    assert isinstance(gan, kgan.WGANGP) and gan.num_classes == 10
    assert gan.generate(4, labels=3, seed=0).shape == (4, 28, 28, 1)
    # The names of the labels, for the exports' metadata and `kgan sample --labels NAME`.
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["class_names"][:2] == ["T-shirt/top", "Trouser"]
    assert len(config["class_names"]) == 10
    # The grids show one column per class: 10 columns and 8 rows of 28x28 tiles, upscaled 2x
    # with 2 pixels of padding.
    for grid in (tmp_path / "run" / "samples.png", tmp_path / "run" / "samples" / "epoch_001.png"):
        with Image.open(grid) as image:
            assert image.size == (10 * 58 + 2, 8 * 58 + 2)
    # TensorBoard event files for the metrics and the sample grids.
    assert any(
        path.name.startswith("events.out") for path in (tmp_path / "run" / "logs").rglob("*")
    )


def test_build_model_gives_a_wgan_gp_critic_without_batch_norm():
    model = build_model((16, 16, 3), model="wgangp", base_filters=4, latent_dim=4)
    assert not any(
        isinstance(layer, keras.layers.BatchNormalization)
        for layer in model.discriminator._flatten_layers()
    )
    with pytest.raises(ValueError, match="Received: model='vae'"):
        build_model((16, 16, 3), model="vae")


def test_cli_train(tmp_path, capsys):
    code = cli.main(
        [
            "train",
            "--output",
            str(tmp_path / "run"),
            "--epochs",
            "1",
            "--num-samples",
            "64",
            "--batch-size",
            "32",
            "--base-filters",
            "8",
            "--latent-dim",
            "8",
            "--model",
            "wgan",
            "--precision",
            "float32",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "trained WGAN for 1 epochs" in out and "model.keras" in out
    loaded = keras.saving.load_model(tmp_path / "run" / "model.keras")
    assert type(loaded) is kgan.WGAN
    assert all(layer.compute_dtype == "float32" for layer in loaded.generator.layers)
    assert json.loads((tmp_path / "run" / "config.json").read_text())["dtype_policy"] == "float32"


def test_cli_train_reports_bad_input(tmp_path, capsys):
    code = cli.main(["train", "--output", str(tmp_path / "run"), "--epochs", "0"])
    assert code == 2
    assert "Received: --epochs=0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["train", "--output", str(tmp_path / "run"), "--model", "vae"])
    with pytest.raises(SystemExit):
        cli.main(["train", "--output", str(tmp_path / "run"), "--precision", "fp8"])
    assert "invalid choice: 'fp8'" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["batch_size", "latent_dim", "base_filters"])
def test_zero_is_refused_not_taken_for_the_default(tmp_path, name):
    # Missing data: a zero taken for the default would fail later, on the data.
    run = tmp_path / "run"
    with pytest.raises(
        ValueError, match=f"`{name}` must be a positive integer. Received: {name}=0"
    ):
        train(run, data=tmp_path / "no_images", verbose=0, **{name: 0})
    assert not run.exists()


@pytest.mark.parametrize("option", ["--batch-size", "--latent-dim", "--base-filters"])
def test_cli_train_names_the_option_of_a_zero(tmp_path, capsys, option):
    run = tmp_path / "run"
    args = ["train", "-o", str(run), "--data", str(tmp_path / "no_images"), option, "0"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err == f"kgan train: error: {option} must be a positive integer. Received: {option}=0\n"
    assert not run.exists()


def test_cli_train_names_the_data_option(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    args = ["train", "-o", str(tmp_path / "run"), "--data", str(tmp_path / "empty")]
    assert cli.main([*args, "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "holds no images" in err and err.endswith(f"Received: --data={tmp_path / 'empty'}\n")
    assert not (tmp_path / "run").exists()


def test_a_diverging_run_keeps_its_record_and_the_cli_says_so(tmp_path, monkeypatch, capsys):
    import tensorflow as tf

    from kgan.runs import training

    def nan_images(*args, **kwargs):
        images = np.full((64, 28, 28, 1), np.nan, "float32")
        return tf.data.Dataset.from_tensor_slices(images).batch(32)

    real_build = training.build_model

    def unchecked(*args, **kwargs):
        model = real_build(*args, **kwargs)
        model.check_inputs = False  # Let the NaN reach the train step.
        return model

    monkeypatch.setattr(training.kgan_data, "load", nan_images)
    monkeypatch.setattr(training, "build_model", unchecked)
    run = tmp_path / "run"
    with pytest.warns(kgan.callbacks.TrainingHealthWarning, match="divergence"):
        code = cli.main(["train", "--output", str(run), "--epochs", "2", "--base-filters", "8"])
    assert code == 1
    assert "diverged" in capsys.readouterr().err
    record = json.loads((run / "history.json").read_text())
    assert "step 1" in record["diverged"]
    assert (run / "config.json").exists()
    assert not (run / "model.keras").exists()  # Non-finite weights are not saved.


# ------------------------------------------------------------------ run folders and failures


def test_a_run_that_fails_before_training_leaves_no_folder(tmp_path):
    run = tmp_path / "run"
    with pytest.raises(ValueError, match="image folder does not exist"):
        train(run, data=tmp_path / "no_images", epochs=1, verbose=0)
    assert not run.exists()


def _dead_pid():
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("writer", ["killed", "alive"])
def test_an_unfinished_run_folder_is_refused_not_mixed(tmp_path, writer):
    from kgan import atomic
    from kgan.runs import folder as run_folder

    run = tmp_path / "run"
    (run / "samples").mkdir(parents=True)
    (run / "samples" / "epoch_001.png").write_bytes(b"png")
    (run / "config.json").write_text('{"epochs": 20}')
    (run / "last_good.keras").write_bytes(b"checkpoint")
    pid = _dead_pid() if writer == "killed" else None
    tag = atomic.writer_tag() if pid is None else f"{atomic._host()}-{pid}-0123abcd"
    (run / run_folder.RUN_LOCK).write_text(tag)
    before = sorted(p.name for p in run.rglob("*"))
    expected = "holds an unfinished run" if writer == "killed" else "being written by another"
    with pytest.raises(FileExistsError, match=expected) as info:
        train(run, epochs=1, verbose=0, **SMALL)
    assert "last_good.keras" in str(info.value) and f"output_dir={str(run)!r}" in str(info.value)
    # What differs from the run there, and, unless it is still being written, how to go on.
    assert "of other arguments (epochs 20 there, 1 here; " in str(info.value)
    assert "more)" in str(info.value)  # Its record holds epochs only: the first few differences.
    assert ("pass --restart" in str(info.value)) == (writer == "killed")
    assert sorted(p.name for p in run.rglob("*")) == before
    assert (run / "config.json").read_text() == '{"epochs": 20}'


def test_a_finished_run_of_other_arguments_is_kept_unless_restarted_then_replaced_whole(
    tmp_path,
):
    run = tmp_path / "run"
    (run / "samples").mkdir(parents=True)
    (run / "samples" / "epoch_009.png").write_bytes(b"an old run's grid")
    (run / "model.keras").write_bytes(b"an old run's model")
    (run / "history.json").write_text('{"epochs": 9}')
    (run / "config.json").write_text('{"epochs": 9, "batch_size": 4}')
    with pytest.raises(FileExistsError, match=r"finished run of other arguments") as info:
        train(run, epochs=1, verbose=0, **SMALL)
    assert "epochs 9 there, 1 here" in str(info.value) and "--restart" in str(info.value)
    assert (run / "model.keras").read_bytes() == b"an old run's model"
    train(run, epochs=1, verbose=0, restart=True, **SMALL)
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["epoch_001.png"]
    assert json.loads((run / "history.json").read_text())["epochs"] == 1
    assert type(keras.saving.load_model(run / "model.keras")) is kgan.GAN
    # Nothing else: no lock, no temporary file.
    assert sorted(p.name for p in run.iterdir()) == [
        "backup",
        "config.json",
        "history.json",
        "last_good.keras",
        "model.keras",
        "samples",
        "samples.png",
    ]


@pytest.mark.parametrize("restart", [False, True])
def test_a_folder_holding_files_but_no_run_is_refused_and_kept(tmp_path, restart):
    """`--restart` would delete a `samples/` folder that no run wrote; without it the run would
    mix its files with the user's."""
    folder = tmp_path / "photos"
    (folder / "samples").mkdir(parents=True)
    (folder / "samples" / "holiday.png").write_bytes(b"png")
    (folder / "notes.txt").write_text("mine")
    # Missing data: a run that went on would fail later, on the data.
    with pytest.raises(FileExistsError, match="holds no kgan run") as info:
        train(folder, data=tmp_path / "no_images", restart=restart, verbose=0)
    assert "notes.txt, samples/" in str(info.value)
    assert f"output_dir={str(folder)!r}" in str(info.value)
    assert sorted(p.name for p in folder.rglob("*")) == ["holiday.png", "notes.txt", "samples"]


def test_a_folder_holding_hidden_files_alone_takes_a_run(tmp_path):
    folder = tmp_path / "runs" / "new"
    folder.mkdir(parents=True)
    (folder / ".gitkeep").write_text("")
    from kgan.runs.folder import RunFolder

    plan = RunFolder(folder).plan({"epochs": 1}, restart=False)
    assert plan.action == "new" and (folder / ".gitkeep").exists()


def test_a_run_whose_clearing_was_interrupted_is_still_a_run(tmp_path, monkeypatch):
    """`clear` removes `config.json` last: a folder it left half-cleared still reads as a run,
    which `--restart` takes, not as a folder of someone else's files."""
    from kgan.runs.folder import RunFolder

    folder = tmp_path / "run"
    (folder / "samples").mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "model.keras").write_bytes(b"")

    def killed():
        raise KeyboardInterrupt

    monkeypatch.setattr(RunFolder, "remove_backup", lambda self: killed())
    with pytest.raises(KeyboardInterrupt):
        RunFolder(folder).clear()
    assert sorted(p.name for p in folder.iterdir()) == ["config.json"]
    (folder / "backup").mkdir()  # The backup the interrupted clear did not reach.
    assert RunFolder(folder).plan({"epochs": 1}, restart=True).action == "restart"


def test_a_folder_holding_a_model_of_the_users_is_not_taken_for_a_run(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "model.keras").write_bytes(b"my own model")
    with pytest.raises(FileExistsError, match="holds no kgan run"):
        train(folder, data=tmp_path / "no_images", restart=True, verbose=0)
    assert (folder / "model.keras").read_bytes() == b"my own model"

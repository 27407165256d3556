"""Run folders on URLs (`kgan.runs.remote`): trained in a local staging folder, copied to the URL
in an order that keeps it resumable, and resumed from the URL on another machine. Tested with
TensorFlow's in-memory file system (`ram://`) and with `file://` URLs, through `tf.io.gfile`
as `gs://` is."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan import atomic, cli, storage
from kgan.runs import remote
from kgan.runs.remote import RemoteRunFolder
from kgan.training import load_run, train

SMALL = dict(num_samples=128, batch_size=32, base_filters=8, latent_dim=8)


def _ram_url():
    return f"ram://kgan-tests/{uuid.uuid4().hex}/run"


def _files(url):
    """The files under `url`, relative to it. `ram://` also lists a file beside a folder
    sharing its prefix inside that folder (`samples.png` as `samples/.png`); such names do not
    exist and are left out."""
    found = set()
    for folder, _, names in tf.io.gfile.walk(url):
        for name in names:
            path = f"{folder.rstrip('/')}/{name}"
            if tf.io.gfile.exists(path):
                found.add(path[len(url) + 1 :])
    return found


def _record_writes(monkeypatch, url):
    """Records, in order, each file renamed into place at `url` and each one removed there."""
    events = []
    rename, remove = storage.rename, storage.remove

    def recording_rename(source, destination, *, overwrite):
        rename(source, destination, overwrite=overwrite)
        events.append(("write", destination[len(url) + 1 :]))

    def recording_remove(path):
        remove(path)
        events.append(("remove", os.fspath(path)[len(url) + 1 :]))

    monkeypatch.setattr(storage, "rename", recording_rename)
    monkeypatch.setattr(storage, "remove", recording_remove)
    return events


def test_a_run_to_a_url_is_copied_there_in_a_resumable_order(monkeypatch, capsys):
    url = _ram_url()
    events = _record_writes(monkeypatch, url)
    gan, history = train(url, epochs=2, verbose=0, **SMALL)
    assert _files(url) == {
        "config.json",
        "history.json",
        "last_good.keras",
        "model.keras",
        "samples.png",
        "samples/epoch_001.png",
        "samples/epoch_002.png",
        "backup/state.json",
        "backup/epoch-0002.weights.h5",
    }  # The last epoch's backup, no lock, no temporary name.
    assert os.listdir(remote.staging_root()) == []  # The staging folder and its lock are gone.
    written = [name for kind, name in events if kind == "write"]
    # Each epoch's commit point follows its weights; model.keras comes after every other file.
    assert written.index("backup/epoch-0001.weights.h5") < written.index("backup/state.json")
    state_writes = [i for i, name in enumerate(written) if name == "backup/state.json"]
    assert len(state_writes) == 2
    assert written.index("backup/epoch-0002.weights.h5") in range(*state_writes)
    assert written[-1] == "model.keras" and written.count("model.keras") == 1
    assert {"history.json", "samples.png"} <= set(written[state_writes[-1] :])
    # Removals follow the writes of their push: the older weights once the next state.json is
    # there. The last epoch's backup stays, to train the run further.
    assert events.index(("remove", "backup/epoch-0001.weights.h5")) > events.index(
        ("write", "backup/epoch-0002.weights.h5")
    )
    assert [event for event in events if event[0] == "remove"] == [
        ("remove", "backup/epoch-0001.weights.h5")
    ]
    record = json.loads(tf.io.gfile.GFile(f"{url}/history.json").read())
    assert record["epochs"] == 2
    assert record["metrics"]["d_loss"] == pytest.approx(history.history["d_loss"])

    # The same call again, with no staging folder left: the URL's run is finished.
    model_bytes = tf.io.gfile.GFile(f"{url}/model.keras", "rb").read()
    events.clear()
    again, history = train(url, epochs=2, verbose=1, **SMALL)
    assert f"{url} already holds the finished run" in capsys.readouterr().out
    assert events == [] and history.epoch == [0, 1]
    assert tf.io.gfile.GFile(f"{url}/model.keras", "rb").read() == model_bytes
    np.testing.assert_allclose(again.generate(3, seed=0), gan.generate(3, seed=0), atol=1e-6)


def test_a_run_replacing_a_finished_one_on_a_url_unmarks_it_first(monkeypatch):
    url = _ram_url()
    for name, text in [
        ("model.keras", "an old run's model"),
        ("config.json", '{"epochs": 9}'),
        ("history.json", '{"epochs": 9}'),
        ("samples/epoch_009.png", "an old run's grid"),
    ]:
        tf.io.gfile.makedirs(os.path.dirname(f"{url}/{name}"))
        with tf.io.gfile.GFile(f"{url}/{name}", "w") as file:
            file.write(text)
    events = _record_writes(monkeypatch, url)
    run = RemoteRunFolder(url)
    with run.staged() as folder:
        assert folder.plan({"epochs": 1}, restart=True).action == "restart"
        with folder.lock():
            folder.clear()
            folder.write_config({"epochs": 1})
            run.push(strict=True)
    # The URL stops reading as finished before the new run's files arrive.
    assert events == [
        ("remove", "model.keras"),
        ("write", "config.json"),
        ("remove", "history.json"),
        ("remove", "samples/epoch_009.png"),
    ]
    assert _files(url) == {"config.json"}
    assert not tf.io.gfile.exists(f"{url}/samples")


def test_a_failed_push_after_an_epoch_warns_and_the_next_one_copies_what_it_missed(monkeypatch):
    url = _ram_url()
    run = RemoteRunFolder(url)
    copy, failures = storage.copy, []

    def flaky_copy(source, destination):
        if storage.is_url(destination) and not failures:
            failures.append(destination)
            raise OSError(5, "Connection reset", destination)
        copy(source, destination)

    monkeypatch.setattr(storage, "copy", flaky_copy)
    with run.staged() as folder:
        with folder.lock():
            folder.write_config({"epochs": 2})
            atomic.write_json(folder.file("backup/state.json"), {"epoch": 1})
            with pytest.warns(RuntimeWarning, match="Could not copy.*Connection reset"):
                run.push()
            assert _files(url) == set()  # The first file failed: nothing else went before it.
            run.push()
    assert _files(url) == {"config.json", "backup/state.json"}
    assert not os.path.exists(run.staging)


def test_a_diverged_url_run_is_recorded_there_and_not_resumed(monkeypatch):
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
    url = _ram_url()
    with pytest.warns(kgan.callbacks.TrainingHealthWarning, match="divergence"):
        with pytest.raises(kgan.TrainingDivergedError):
            train(url, epochs=2, base_filters=8, verbose=0)
    assert "diverged" in json.loads(tf.io.gfile.GFile(f"{url}/history.json").read())
    assert not tf.io.gfile.exists(f"{url}/model.keras")
    with pytest.raises(FileExistsError, match=f"non-finite loss.*output_dir='{url}'"):
        train(url, epochs=2, base_filters=8, verbose=0)


def test_a_url_that_cannot_be_written_fails_before_training_and_keeps_the_staging_folder(
    monkeypatch,
):
    url = _ram_url()
    copy = storage.copy

    def failing_copy(source, destination):
        if storage.is_url(destination):
            raise PermissionError(13, "Permission denied", destination)
        copy(source, destination)

    monkeypatch.setattr(storage, "copy", failing_copy)
    with pytest.raises(PermissionError, match="Could not copy the run folder to ram://"):
        train(url, epochs=1, verbose=0, **SMALL)
    staging = remote.staging_folder(url)
    assert os.listdir(staging) == ["config.json"]  # Written, not copied; training never began.
    assert _files(url) == set()


def test_an_unknown_url_scheme_is_refused_naming_output(tmp_path, capsys):
    with pytest.raises(
        ValueError,
        match=r"--output.*no file system for \(nosuch://.*tensorflow_io.*"
        r"Received: output_dir='nosuch://bucket/run'",
    ):
        train("nosuch://bucket/run", epochs=1)
    if "s3" not in storage.registered_schemes():
        code = cli.main(["train", "--output", "s3://bucket/run", "--epochs", "1"])
        assert code == 2
        error = capsys.readouterr().err
        assert "--output" in error and "output_dir='s3://bucket/run'" in error
        assert "import tensorflow_io" in error
    assert not os.path.exists(remote.staging_root())


# ------------------------------------------------------------------ killed on one machine,
# resumed on another

COMMAND = [
    "train",
    "--num-samples",
    "128",
    "--batch-size",
    "32",
    "--base-filters",
    "8",
    "--latent-dim",
    "8",
    "--epochs",
    "3",
    "--deterministic",
]
REFERENCE_SCRIPT = textwrap.dedent(
    """
    import sys
    from kgan.training import train
    train(sys.argv[1], epochs=3, deterministic=True, verbose=0, **{small})
    """
).format(small=SMALL)
TIMEOUT = 300


def _weights(folder):
    model, history, _ = load_run(folder)
    optimizers = model.d_optimizer.variables + model.g_optimizer.variables
    return [v.numpy() for v in model.variables + optimizers], history


def test_a_url_run_killed_on_one_machine_resumes_on_another(tmp_path):
    """A run to a `file://` URL killed with SIGKILL after its first epoch, then the same
    command with another cache folder (another machine: no staging folder), ends with the
    weights of an uninterrupted local run, bit for bit."""
    bucket, straight = tmp_path / "bucket", tmp_path / "straight"
    url = f"file://{bucket}/run"
    command = [sys.executable, "-m", "kgan", *COMMAND, "--output", url]
    base = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    machine_a = {**base, "KGAN_CACHE_DIR": str(tmp_path / "cache_a")}
    machine_b = {**base, "KGAN_CACHE_DIR": str(tmp_path / "cache_b")}
    with open(tmp_path / "reference.log", "w+") as reference_log:
        reference = subprocess.Popen(
            [sys.executable, "-c", REFERENCE_SCRIPT, str(straight)],
            stdout=reference_log,
            stderr=subprocess.STDOUT,
            env=base,
        )
        victim = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=machine_a
        )
        try:
            state_path = bucket / "run" / "backup" / "state.json"
            deadline = time.monotonic() + TIMEOUT
            while victim.poll() is None and time.monotonic() < deadline:
                try:
                    if json.loads(state_path.read_text())["epoch"] >= 1:
                        break
                except (OSError, ValueError, KeyError):
                    pass
                time.sleep(0.02)
            victim.send_signal(signal.SIGKILL)
            victim.wait(TIMEOUT)
            killed_state = json.loads(state_path.read_text())
            resumed = subprocess.run(
                command, capture_output=True, text=True, timeout=TIMEOUT, env=machine_b
            )
            reference.wait(TIMEOUT)
        finally:
            for process in (victim, reference):
                if process.poll() is None:
                    process.kill()
                    process.wait()
        reference_log.seek(0)
        reference_output = reference_log.read()
    assert victim.returncode == -signal.SIGKILL
    assert reference.returncode == 0, reference_output[-2000:]
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert 1 <= killed_state["epoch"] < 3  # Killed after its first epoch, before its last.
    assert "Epoch 1/3" not in resumed.stdout  # It did not start over.
    expected, expected_history = _weights(straight)
    weights, history = _weights(bucket / "run")
    assert len(weights) == len(expected)
    for value, reference_value in zip(weights, expected):
        np.testing.assert_array_equal(value, reference_value)
    assert history["epochs"] == 3 and history["metrics"] == expected_history["metrics"]
    assert history["health_events"] == expected_history["health_events"]
    assert json.loads((bucket / "run" / "backup" / "state.json").read_text())["epoch"] == 3
    assert sorted(p.name for p in (bucket / "run" / "samples").iterdir()) == [
        "epoch_001.png",
        "epoch_002.png",
        "epoch_003.png",
    ]
    assert not [p for p in (bucket / "run").rglob(".*")]  # No temporary name left.
    assert os.listdir(tmp_path / "cache_b" / "runs") == []
    assert type(keras.saving.load_model(bucket / "run" / "model.keras")) is kgan.GAN

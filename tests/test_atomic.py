"""kgan.atomic: files that are whole or absent, also when their writer is killed."""

import errno
import json
import os
import signal
import subprocess
import sys
import threading
import zipfile

import keras
import numpy as np
import pytest

import kgan
from kgan import atomic


def _dead_pid():
    """The process id of a process that has ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _abandoned_tag():
    return f"{atomic._host()}-{_dead_pid()}-0123abcd"


def test_write_json_replaces_whole_and_cleans_abandoned_temporaries(tmp_path):
    path = tmp_path / "history.json"
    abandoned = tmp_path / f".history.json.tmp-{_abandoned_tag()}"
    abandoned.write_text('{"half": ')
    live = tmp_path / f".history.json.tmp-{atomic.writer_tag()}"
    live.write_text("{}")
    atomic.write_json(path, {"epochs": 1})
    atomic.write_json(path, {"epochs": 2})
    assert json.loads(path.read_text()) == {"epochs": 2}
    # The killed writer's file is removed; a live writer's (this process) is not.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["history.json", live.name])


def test_a_failed_write_leaves_the_previous_file(tmp_path):
    path = tmp_path / "config.json"
    atomic.write_json(path, {"run": 1})
    with pytest.raises(TypeError):
        atomic.write_json(path, {"run": object()})
    assert json.loads(path.read_text()) == {"run": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]


def test_an_error_about_the_temporary_file_names_the_destination(tmp_path):
    path = tmp_path / "grid.png"

    def refused(temp):  # As the OS refuses a file in a read-only folder.
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), temp)

    with pytest.raises(PermissionError) as info:
        with atomic.replacing(path) as temp:
            refused(temp)
    assert info.value.filename == str(path)
    # The rename onto a folder fails naming both; the folder is the destination.
    (tmp_path / "folder" / "inside").mkdir(parents=True)
    with pytest.raises(OSError) as info:
        atomic.write_bytes(tmp_path / "folder", b"data")
    assert info.value.filename == str(tmp_path / "folder") and info.value.filename2 is None
    assert ".tmp-" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]


def test_without_overwrite_only_one_of_two_writers_wins(tmp_path):
    path = tmp_path / "g.onnx"
    outcomes = []
    barrier = threading.Barrier(2)

    def write(data):
        with atomic.replacing(path, overwrite=False) as temp:
            with open(temp, "wb") as file:
                file.write(data)
            barrier.wait(timeout=10)  # Both files are complete before either is published.
        outcomes.append(data)

    def run(data):
        try:
            write(data)
        except FileExistsError:
            outcomes.append(None)

    threads = [threading.Thread(target=run, args=(data,)) for data in (b"one", b"two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    winners = [data for data in outcomes if data is not None]
    assert len(outcomes) == 2 and len(winners) == 1
    assert path.read_bytes() == winners[0]
    assert [p.name for p in tmp_path.iterdir()] == ["g.onnx"]


def test_is_abandoned_needs_proof():
    assert atomic.is_abandoned(f".x.tmp-{_abandoned_tag()}")
    assert not atomic.is_abandoned(f".x.tmp-{atomic.writer_tag()}")  # This process.
    assert not atomic.is_abandoned(f".x.tmp-otherhost-{_dead_pid()}-0123abcd")
    assert not atomic.is_abandoned(".x.tmp-by-hand")


def test_exclusive_lock_refuses_a_live_holder_and_takes_over_a_dead_one(tmp_path):
    lock = tmp_path / ".lock"
    with atomic.exclusive_lock(lock, what="The folder"):
        with pytest.raises(FileExistsError, match="in use by another process"):
            with atomic.exclusive_lock(lock, what="The folder"):
                pass
    assert not lock.exists()
    lock.write_text(_abandoned_tag())  # Left by a killed process.
    with atomic.exclusive_lock(lock, what="The folder"):
        assert lock.read_text() != _abandoned_tag()
    assert not lock.exists()


# Trains for two epochs with a checkpoint after each; copies the first checkpoint aside, and
# SIGKILLs itself inside the second checkpoint's save, once the zip file is being written.
_CHECKPOINT_CHILD = """
import os, shutil, signal, sys, zipfile
import keras
import numpy as np
import kgan

folder = sys.argv[1]
checkpoint = os.path.join(folder, "last_good.keras")
armed = []
real_writestr = zipfile.ZipFile.writestr

def writestr(self, *args, **kwargs):
    if armed:
        os.kill(os.getpid(), signal.SIGKILL)
    return real_writestr(self, *args, **kwargs)

zipfile.ZipFile.writestr = writestr

class Arm(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            armed.append(True)

class CopyFirst(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            shutil.copy(checkpoint, os.path.join(folder, "epoch1.keras"))

keras.utils.set_random_seed(0)
gan = kgan.GAN(
    kgan.models.mlp_generator((2,), latent_dim=2, hidden_units=(8,)),
    kgan.models.mlp_discriminator((2,), hidden_units=(8,)),
)
gan.compile()
monitor = kgan.callbacks.TrainingMonitor(
    checkpoint_path=checkpoint, num_diversity_samples=0, verbose=0
)
data = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")
gan.fit(data, batch_size=32, epochs=2, verbose=0, callbacks=[Arm(), monitor, CopyFirst()])
"""


def test_a_kill_during_a_checkpoint_save_keeps_the_previous_checkpoint(tmp_path):
    child = subprocess.run(
        [sys.executable, "-c", _CHECKPOINT_CHILD, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES=""),
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    checkpoint = tmp_path / "last_good.keras"
    # The first epoch's checkpoint, whole: the second save never touched it.
    assert checkpoint.read_bytes() == (tmp_path / "epoch1.keras").read_bytes()
    assert zipfile.is_zipfile(checkpoint)
    model = keras.saving.load_model(checkpoint)
    assert model.generate(2, seed=0).shape == (2, 2)
    # The half-written temporary file is there, and the next save removes it.
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".last_good.keras.tmp-")]
    assert len(leftovers) == 1
    atomic.save_model(model, checkpoint)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch1.keras", "last_good.keras"]
    np.testing.assert_allclose(
        keras.saving.load_model(checkpoint).generate(2, seed=0), model.generate(2, seed=0)
    )
    assert isinstance(model, kgan.GAN)

"""Tests of kgan.export.versions: integer version folders that appear whole or not at all."""

import json
import os
import signal
import subprocess
import sys

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


def test_a_version_folder_given_as_the_base_folder_is_refused(unconditional, tmp_path):
    base_dir = tmp_path / "model"
    export.to_saved_model(unconditional, base_dir, verify=False)
    with pytest.raises(ValueError, match=rf"SavedModel itself.*probably '{base_dir}'"):
        export.to_saved_model(unconditional, base_dir / "1", verify=False)
    assert os.listdir(base_dir) == ["1"] and "1" not in os.listdir(base_dir / "1")


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


# ---------------------------------------------------------------- concurrency and kills

# A child process exporting the model in MODEL_PATH; it waits at BARRIER (after the SavedModel
# and the ONNX graph are built, before either is moved into place) until both children are
# there, so that both chose their version and checked the ONNX path before either wrote.
_CONCURRENT_CHILD = """
import json, os, sys, time
import keras
from kgan import export
from kgan.export import onnx as onnx_export, saved_model

index, model_path, base_dir, onnx_path, barrier = sys.argv[1:]

def wait_for_the_other(stage):
    open(os.path.join(barrier, f"{stage}-{index}"), "w").close()
    deadline = time.time() + 120
    while len([n for n in os.listdir(barrier) if n.startswith(stage)]) < 2:
        if time.time() > deadline:
            sys.exit("the other export never arrived")
        time.sleep(0.05)

def after(function, stage):
    def wrapped(*args, **kwargs):
        result = function(*args, **kwargs)
        wait_for_the_other(stage)
        return result
    return wrapped

saved_model._write_saved_model = after(saved_model._write_saved_model, "saved_model")
onnx_export._convert = after(onnx_export._convert, "onnx")
model = keras.saving.load_model(model_path)
results = {}
for name, export_it in (
    ("saved_model", lambda: export.to_saved_model(
        model, base_dir, verify=False, run_config={"child": int(index)})),
    ("onnx", lambda: export.to_onnx(
        model, onnx_path, verify=False, run_config={"child": int(index)})),
):
    try:
        results[name] = export_it()
    except FileExistsError as error:
        results[name] = "FileExistsError: " + str(error)
print(json.dumps(results))
"""


def _child_env():
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")


def test_concurrent_exports_to_one_folder_lose_nothing(tmp_path, make_dcgan):
    models = [make_dcgan(), make_dcgan(shifted=True)]
    for index, model in enumerate(models):
        model.save(tmp_path / f"model{index}.keras")
    base_dir, onnx_path, barrier = tmp_path / "sm", tmp_path / "g.onnx", tmp_path / "barrier"
    barrier.mkdir()
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _CONCURRENT_CHILD,
                str(index),
                str(tmp_path / f"model{index}.keras"),
            ]
            + [str(base_dir), str(onnx_path), str(barrier)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_child_env(),
        )
        for index in range(2)
    ]
    try:
        outputs = [child.communicate(timeout=300) for child in children]
    finally:
        for child in children:
            child.kill()
    for child, (_, err) in zip(children, outputs):
        assert child.returncode == 0, err[-2000:]
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]

    # Both SavedModels are there, numbered 1 and 2, each saying which it is.
    assert sorted(result["saved_model"] for result in results) == [
        str(base_dir / "1"),
        str(base_dir / "2"),
    ]
    assert sorted(os.listdir(base_dir)) == ["1", "2"]
    for index, result in enumerate(results):
        metadata = export.read_metadata(result["saved_model"])
        assert metadata["training"]["run_config"] == {"child": index}
        assert str(metadata["version"]) == os.path.basename(result["saved_model"])

    # One ONNX export wrote the file; the other was refused instead of replacing it.
    written = [i for i, result in enumerate(results) if result["onnx"] == str(onnx_path)]
    assert len(written) == 1, results
    refused = results[1 - written[0]]["onnx"]
    assert refused.startswith("FileExistsError") and "overwrite" in refused
    assert export.read_metadata(onnx_path)["training"]["run_config"] == {"child": written[0]}
    assert [name for name in os.listdir(tmp_path) if name.startswith(".")] == []


# A child replacing version 1 that SIGKILLs itself right after the rename named by KILL_AFTER:
# "old" (the old version renamed away, the new one not yet in place) or "new" (the new one in
# place, the old one not yet deleted).
_OVERWRITE_CHILD = """
import os, signal, sys
import keras
from kgan import export

model_path, base_dir, kill_after = sys.argv[1:]
real_rename = os.rename

def rename(source, destination, *args, **kwargs):
    real_rename(source, destination, *args, **kwargs)
    name = os.path.basename(os.fspath(destination))
    if (kill_after == "old" and name.startswith(".old-")) or (
        kill_after == "new" and name == "1" and os.path.basename(source).startswith(".tmp-")
    ):
        os.kill(os.getpid(), signal.SIGKILL)

os.rename = rename
model = keras.saving.load_model(model_path)
export.to_saved_model(
    model, base_dir, version=1, overwrite=True, verify=False, run_config={"model": "new"}
)
"""


@pytest.mark.parametrize("kill_after, expected", [("old", "old"), ("new", "new")])
def test_overwrite_killed_between_renames_is_recovered(tmp_path, make_dcgan, kill_after, expected):
    base_dir = tmp_path / "sm"
    export.to_saved_model(
        make_dcgan(), base_dir, version=1, verify=False, run_config={"model": "old"}
    )
    make_dcgan(shifted=True).save(tmp_path / "new.keras")
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            _OVERWRITE_CHILD,
            str(tmp_path / "new.keras"),
            str(base_dir),
            kill_after,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=_child_env(),
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    left = sorted(os.listdir(base_dir))
    if kill_after == "old":  # The state of the issue: no version 1, only the two hidden folders.
        assert [name[:5] for name in left] == [".old-", ".tmp-"]
    else:
        assert left[0].startswith(".old-") and left[1] == "1"

    # The next look at the folder finishes the job: the old version back, or the new one kept.
    metadata = export.read_metadata(base_dir / "1")
    assert metadata["training"]["run_config"] == {"model": expected}
    assert export.list_versions(base_dir) == [1]
    assert sorted(os.listdir(base_dir)) == ["1"]


def test_folders_of_live_exports_are_left_alone(unconditional, tmp_path):
    from kgan import atomic
    from kgan.export import versions

    base_dir = tmp_path / "sm"
    export.to_saved_model(unconditional, base_dir, version=1, verify=False)
    # This process is alive: its hidden folders are an export in progress, not garbage.
    live_old = base_dir / f".old-2-{atomic.writer_tag()}"
    live_tmp = base_dir / f".tmp-3-{atomic.writer_tag()}"
    live_old.mkdir()
    live_tmp.mkdir()
    # No writer tag: not kgan's, nothing proves it abandoned.
    (base_dir / ".tmp-4-by-hand").mkdir()
    assert versions.recover(base_dir) == []
    assert export.list_versions(base_dir) == [1]
    # A version being replaced right now still counts when numbering the next one.
    assert export.next_version(base_dir) == 3
    assert live_old.exists() and live_tmp.exists()


def test_a_version_taken_meanwhile_is_renumbered_or_refused(unconditional, tmp_path, monkeypatch):
    """The early check passes, then another export takes the number before the rename."""
    base_dir = tmp_path / "sm"
    real_write = saved_model._write_saved_model

    def write_while_another_export_finishes(source, max_samples, export_dir):
        real_write(source, max_samples, export_dir)
        version = os.path.basename(export_dir).split("-")[1]
        if not (base_dir / version).exists():
            real_write(source, max_samples, str(base_dir / version))

    monkeypatch.setattr(saved_model, "_write_saved_model", write_while_another_export_finishes)
    # Without a version: the next free number, and the metadata says so.
    assert export.to_saved_model(unconditional, base_dir, verify=False) == str(base_dir / "2")
    assert export.read_metadata(base_dir / "2")["version"] == 2
    # With an explicit version and no overwrite: refused, in words a command-line user can use.
    with pytest.raises(FileExistsError, match="--overwrite"):
        export.to_saved_model(unconditional, base_dir, version=5, verify=False)
    assert sorted(os.listdir(base_dir)) == ["1", "2", "5"]


def test_a_base_dir_that_cannot_be_a_folder_is_refused_before_any_work(
    unconditional, tmp_path, monkeypatch
):
    def never(*args, **kwargs):
        raise AssertionError("The export started before `base_dir` was checked.")

    monkeypatch.setattr(saved_model, "resolve_generator", never)
    file = tmp_path / "model"
    file.write_text("a file")
    with pytest.raises(NotADirectoryError, match=r"`base_dir` is a file.*Received: base_dir='"):
        export.to_saved_model(unconditional, file)
    with pytest.raises(NotADirectoryError, match=r"model' above it is a file.*deeper'$"):
        export.to_saved_model(unconditional, file / "sub" / "deeper")
    with pytest.raises(TypeError, match="must be a path.*Received: base_dir=None"):
        export.to_saved_model(unconditional, None)
    assert os.listdir(tmp_path) == ["model"] and file.read_text() == "a file"

"""The `kgan` command's failures: one line on stderr, a non-zero status, no traceback.

Each test gives the command a user error or an environment problem (a read-only or impossible
destination, a damaged file, no network) and checks the one line it prints.
"""

import builtins
import errno
import json
import os
import shlex
import shutil
import socket
import stat
import subprocess
import sys
import sysconfig
import time
import urllib.error

import keras
import numpy as np
import pytest

import kgan
from kgan.cli import main


def _error_line(capsys, command):
    """The command's stderr, which must be exactly one line starting `kgan COMMAND: `."""
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"kgan {command}: ") and "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run folder holding a small image GAN (28x28, as the embedded dataset)."""
    keras.utils.set_random_seed(5)
    directory = tmp_path_factory.mktemp("run")
    generator = kgan.models.mlp_generator((28, 28, 1), latent_dim=4, hidden_units=(8,))
    discriminator = kgan.models.mlp_discriminator((28, 28, 1), hidden_units=(8,))
    model = kgan.GAN(generator, discriminator)
    model.compile()
    model.save(directory / "model.keras")
    return directory


def _kgan_command():
    script = os.path.join(sysconfig.get_path("scripts"), "kgan")
    script = script if os.path.exists(script) else shutil.which("kgan")
    if script is None:
        pytest.skip("the `kgan` console script is not installed")
    return script


def _run_kgan(*args, env=None, timeout=240):
    environment = dict(os.environ, CUDA_VISIBLE_DEVICES="", **(env or {}))
    environment.pop("TF_CPP_MIN_LOG_LEVEL", None)  # As a user's shell: the command sets it.
    return subprocess.run(
        [_kgan_command(), *args], capture_output=True, text=True, timeout=timeout, env=environment
    )


def test_help_and_errors_print_no_tensorflow_chatter(tmp_path):
    shown = _run_kgan("--help")
    assert shown.returncode == 0 and "usage: kgan" in shown.stdout
    assert shown.stderr == ""
    # A file that is not a model: refused by the library, once TensorFlow is imported.
    notes = tmp_path / "notes.txt"
    notes.write_text("not a model")
    failed = _run_kgan("export", str(notes), "--onnx", str(tmp_path / "g.onnx"))
    assert failed.returncode == 2
    assert failed.stderr.splitlines() == [
        "kgan export: error: Pass a run folder or a `.keras` file saved with `model.save(...)`. "
        f"Received: run_or_model={str(notes)!r}"
    ]


# Runs the command as `python -m kgan` does, then reports which heavy modules it imported.
_IMPORTS_OF_THE_COMMAND = """
import runpy, sys
sys.argv = ["kgan", *sys.argv[1:]]
try:
    runpy.run_module("kgan", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
print(sorted(name for name in ("tensorflow", "keras") if name in sys.modules))
"""


def _run_reporting_imports(args, cwd=None):
    """Runs `kgan ARGS` in a new process that prints the heavy modules it imported last."""
    environment = dict(os.environ)
    environment.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return subprocess.run(
        [sys.executable, "-c", _IMPORTS_OF_THE_COMMAND, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        cwd=cwd,
    )


@pytest.mark.parametrize("args", [["--help"], ["train", "--help"], ["--version"]])
def test_help_and_version_do_not_import_tensorflow(args):
    done = _run_reporting_imports(args)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"


def test_library_import_registers_every_keras_class():
    """Outside the command `import kgan` imports the sub-packages, so that
    `keras.saving.load_model` knows kgan's classes without a further import."""
    done = subprocess.run(
        [sys.executable, "-c", "import sys, kgan; print('kgan.models' in sys.modules)"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.splitlines()[-1] == "True", done.stderr


def _closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_train_on_an_unreachable_dataset_fails_fast_and_leaves_nothing(tmp_path):
    home, tfds_dir, run = tmp_path / "home", tmp_path / "tfds", tmp_path / "run"
    home.mkdir()
    env = {
        "HOME": str(home),
        "TFDS_DATA_DIR": str(tfds_dir),
        # Every download goes through a proxy that is not there: offline, on any machine.
        "HTTPS_PROXY": f"http://127.0.0.1:{_closed_port()}",
        "KGAN_DATA_DIR": "",
    }
    started = time.monotonic()
    result = _run_kgan("train", "--data", "mnist", "--output", str(run), env=env)
    elapsed = time.monotonic() - started
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("kgan train: error: 'mnist' has no local copy")
    assert "train-images-idx3-ubyte.gz" in line and "KGAN_DATA_DIR" in line
    assert "ConnectionError" in line and "127.0.0.1" in line
    assert elapsed < 100, f"took {elapsed:.0f} s"  # It took 3.5 minutes of retries.
    assert not (home / "tensorflow_datasets").exists() and not tfds_dir.exists()
    assert not run.exists()


@pytest.fixture
def classifier_file(tmp_path_factory):
    """A small image classifier saved as a .keras file: not a generator."""
    path = tmp_path_factory.mktemp("classifier") / "mnist.keras"
    kgan.metrics.image_classifier((28, 28, 1), filters=(4,)).save(path)
    return path


def _outputs_under_a_file(run_dir, classifier_file):
    """Each command's output options, as `(argv with {out} for the path, option)`."""
    model = str(run_dir)
    return [
        (["sample", model, "--out", "{out}"], "--out"),
        (["sample", model, "--npy", "{out}"], "--npy"),
        (["sample", model, "--out-dir", "{out}"], "--out-dir"),
        (["interpolate", model, "--out", "{out}"], "--out"),
        (["interpolate", model, "--npy", "{out}"], "--npy"),
        (["interpolate", model, "--gif", "{out}"], "--gif"),
        (["edit", model, "--classifier", str(classifier_file), "--target", "1", "--out", "{out}"],
         "--out"),
        (["evaluate", model, "--data", "ring", "--json", "{out}"], "--json"),
        (["export", model, "--saved-model", "{out}"], "--saved-model"),
        (["export", model, "--onnx", "{out}"], "--onnx"),
        (["train", "--output", "{out}", "--epochs", "1"], "--output"),
        (["train-classifier", "--output", "{out}"], "--output"),
    ]  # fmt: skip


def test_an_output_under_a_file_is_refused_naming_the_option(
    run_dir, classifier_file, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("not a folder")
    for argv, option in _outputs_under_a_file(run_dir, classifier_file):
        out = "afile/out.keras" if argv[0] == "train-classifier" else "afile/out"
        argv = [out if arg == "{out}" else arg for arg in argv]
        assert main(argv) == 2, argv
        line = _error_line(capsys, argv[0])
        assert line.endswith(f"error: {option}: 'afile' is a file, not a folder. "
                             f"Received: {option}={out}"), line  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_an_output_of_the_wrong_kind_is_refused(run_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("")
    assert main(["sample", str(run_dir), "--out", "folder"]) == 2
    assert _error_line(capsys, "sample").endswith(
        "--out: 'folder' is a folder, not a file. Received: --out=folder"
    )
    assert main(["sample", str(run_dir), "--out-dir", "file"]) == 2
    assert _error_line(capsys, "sample").endswith(
        "--out-dir: 'file' is a file, not a folder. Received: --out-dir=file"
    )
    assert main(["evaluate", str(run_dir), "--data", "ring", "--json", "scores.png"]) == 2
    assert _error_line(capsys, "evaluate").endswith(
        "--json writes a .json file: name it so. Received: --json=scores.png"
    )


def _interpolate(run_dir, *options):
    return main(["interpolate", str(run_dir), "--steps", "3", "--rows", "2", *options])


def test_a_command_that_fails_writes_nothing(run_dir, tmp_path, capsys, monkeypatch):
    """Every option and every output is checked before the first file is written."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("not a folder")
    assert _interpolate(run_dir, "--gif", "anim.gif", "--fps", "0") == 2
    assert _error_line(capsys, "interpolate").endswith("Received: --fps=0.0")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]
    # An existing grid is not replaced by a command that then fails.
    (tmp_path / "interpolation.png").write_bytes(b"an earlier grid")
    assert _interpolate(run_dir, "--gif", "afile/a.gif") == 2
    assert _interpolate(run_dir, "--npy", "afile/x.npy") == 2
    capsys.readouterr()
    assert (tmp_path / "interpolation.png").read_bytes() == b"an earlier grid"
    args = ["sample", str(run_dir), "--num-samples", "4", "--out", "g.png"]
    assert main([*args, "--npy", "afile/x.npy"]) == 2
    capsys.readouterr()
    # A folder where no file can be created, as a read-only one.
    (tmp_path / "locked").mkdir()
    _refuse_writes_under(monkeypatch, tmp_path / "locked")
    assert main([*args, "--npy", "locked/x.npy"]) == 2
    line = _error_line(capsys, "sample")
    assert "Permission denied" in line and line.endswith("Received: --npy=locked/x.npy")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "interpolation.png", "locked"]
    assert list((tmp_path / "locked").iterdir()) == []


def test_a_classifier_given_as_model_is_not_a_generator(run_dir, classifier_file, tmp_path, capsys):
    for argv in (
        ["sample", str(classifier_file), "--out", str(tmp_path / "g.png")],
        ["evaluate", str(classifier_file), "--data", "ring"],
        ["export", str(classifier_file), "--onnx", str(tmp_path / "g.onnx")],
    ):
        assert main(argv) == 2
        line = _error_line(capsys, argv[0])
        option = "RUN_OR_MODEL" if argv[0] == "export" else "MODEL"
        assert f"error: {option} is not a kgan generator: {classifier_file} holds" in line
        assert "(None, 28, 28, 1)" in line and line.endswith(
            f"Received: {option}={classifier_file}"
        )
    assert list(tmp_path.iterdir()) == []


def test_a_classifier_that_is_not_a_keras_file_is_refused_first(run_dir, tmp_path, capsys):
    onnx = tmp_path / "g.onnx"
    onnx.write_bytes(b"an ONNX file")
    for argv in (
        ["edit", str(run_dir), "--classifier", str(onnx), "--target", "3"],
        ["evaluate", str(run_dir), "--data", "ring", "--classifier", str(onnx)],
    ):
        assert main(argv) == 2
        assert _error_line(capsys, argv[0]) == (
            f"kgan {argv[0]}: error: --classifier must be a .keras file. "
            f"Received: --classifier={onnx}"
        )


def test_evaluate_against_an_image_folder_reads_its_one_split(run_dir, tmp_path, capsys):
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(20):
        Image.fromarray(rng.integers(0, 256, (28, 28), np.uint8)).save(tmp_path / f"{i}.png")
    out = tmp_path / "scores.json"
    argv = ["evaluate", str(run_dir), "--data", str(tmp_path), "--features", "raw"]
    assert main([*argv, "--num-samples", "20", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["scored"]["split"] == "train"
    printed = capsys.readouterr().out  # Not a terminal: one line a stage, no bar redrawn.
    assert "Decoding images: 20 images in" in printed and "\r" not in printed


def test_library_errors_name_the_options_typed(run_dir, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    argv = ["evaluate", str(run_dir), "--data", str(tmp_path / "empty")]
    assert main(argv) == 2
    assert _error_line(capsys, "evaluate").endswith(f"Received: --data={tmp_path / 'empty'}")
    # A conditional generator of 3 classes, blended towards a class it does not have.
    generator = kgan.models.mlp_generator((28, 28, 1), 4, (8,), num_classes=3)
    discriminator = kgan.models.mlp_discriminator((28, 28, 1), (8,), num_classes=3)
    kgan.GAN(generator, discriminator, num_classes=3).save(tmp_path / "conditional.keras")
    argv = ["interpolate", str(tmp_path / "conditional.keras"), "--class-blend", "1,12"]
    assert main([*argv, "--out", str(tmp_path / "blend.png")]) == 2
    line = _error_line(capsys, "interpolate")
    assert "--class-blend must name classes in [0, 3): 12 is none" in line and line.endswith(
        "Received: --class-blend=1,12"
    )
    # A classifier of other images than the generator's: named by its file, not its Keras name.
    classifier = tmp_path / "cifar10.keras"
    kgan.metrics.image_classifier((32, 32, 3), filters=(4,)).save(classifier)
    argv = ["edit", str(run_dir), "--classifier", str(classifier), "--target", "3"]
    assert main([*argv, "--out", str(tmp_path / "edit.png")]) == 2
    line = _error_line(capsys, "edit")
    assert "(None, 32, 32, 3) does not fit" in line
    assert line.endswith(f"Received: --classifier={classifier}")
    # A recipe kgan does not have (the library calls it `recipe`, and the data's `name`).
    assert main(["train", "-o", str(tmp_path / "run"), "--recipe", "mnst"]) == 2
    line = _error_line(capsys, "train")
    assert "--recipe must be one of 'celeb_a'," in line
    assert line.endswith("'none'. Received: --recipe=mnst")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "cifar10.keras", "conditional.keras", "empty"
    ]  # fmt: skip


def test_an_option_left_at_its_default_is_not_named():
    import argparse

    from kgan.cli import options

    args = argparse.Namespace(precision="auto", seed=0, typed_options={"--seed"})
    mapping = {"precision": "--precision", "seed": "--seed"}
    with pytest.raises(ValueError) as info:
        with options.options_in_errors(args, mapping):
            raise ValueError("Bad. Received: precision='auto', seed=0")
    assert str(info.value) == "Bad. Received: precision='auto', --seed=0"


@pytest.mark.parametrize(
    "argv, line",
    [
        (
            ["train", "-o", "r", "--epochs", "2.5"],
            "kgan train: error: argument --epochs: invalid int value: '2.5' "
            "(see kgan train --help)",
        ),
        (
            ["train", "-o", "r", "--image-size", "32", "--epochs", "1"],
            "kgan train: error: argument --image-size: expected 2 arguments. "
            "Received: --image-size 32 (see kgan train --help)",
        ),
        (
            ["sample"],
            "kgan sample: error: the following arguments are required: MODEL "
            "(see kgan sample --help)",
        ),
        (["trian"], "kgan: error: argument COMMAND: invalid choice: 'trian' (choose from "),
    ],
)
def test_parse_errors_are_one_line(argv, line, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith(line), err


def test_an_unknown_option_is_the_error_of_the_parser_that_read_it(capsys):
    with pytest.raises(SystemExit) as info:
        main(["sample", "g.keras", "--output", "x.png"])
    assert info.value.code == 2
    assert capsys.readouterr().err == (
        "kgan sample: error: unrecognized arguments: --output x.png (see kgan sample --help)\n"
    )
    with pytest.raises(SystemExit):
        main(["--output", "sample", "g.keras"])
    assert capsys.readouterr().err == (
        "kgan: error: unrecognized arguments: --output (see kgan --help)\n"
    )


EDIT = "edit g.keras --classifier c.keras"


@pytest.mark.parametrize(
    "command, line",
    [
        (
            "train -o r --ep 0",
            "--epochs must be a positive integer. Received: --epochs=0",
        ),
        (
            "train -o r --seed -1",
            "--seed must be an integer in [0, 4294967295]. Received: --seed=-1",
        ),
        (
            "train -o r --ema-decay 1.5",
            "--ema-decay must be a number in [0, 1). Received: --ema-decay=1.5",
        ),
        (
            "train -o r --image-size 0 32",
            "each value of --image-size must be a positive integer. Received: --image-size=0 32",
        ),
        (
            "train -o r --clusters 1",
            "--clusters must be an integer of at least 2. Received: --clusters=1",
        ),
        (
            "train -o r --conditional --clusters 5",
            "leave out --conditional. Received: --clusters=5 with --conditional",
        ),
        (
            "train -o r --clusters 5 --recluster-steps 0",
            "--recluster-steps must be a positive integer. Received: --recluster-steps=0",
        ),
        (
            "train -o r --recluster-steps 500",
            "give --clusters K too. Received: --recluster-steps=500 without --clusters",
        ),
        (
            "train-classifier -o c.keras --seed -7",
            "Received: --seed=-7",
        ),
        (
            "sample missing",
            "MODEL: no file or folder at this path. Received: MODEL=missing",
        ),
        (
            "sample g.keras --seeds 0-3 --seed 1",
            "leave out --seed. Received: --seed=1",
        ),
        (
            "sample g.keras --seeds 5-1",
            "A seed range must go upwards, such as 5-9. Received: --seeds=5-1",
        ),
        (
            "sample g.keras --labels 1,,2",
            "`--labels` must be a class or comma-separated classes such as 3 or "
            "0,1,2 (numbers or names: cat,dog). Received: --labels=1,,2",
        ),
        (
            "sample g.keras --labels ''",
            "`--labels` must be a class or comma-separated classes such as 3 or "
            "0,1,2 (numbers or names: cat,dog). Received: --labels=",
        ),
        (
            """sample g.keras --labels '"Smith, John,cat'""",
            "`--labels` must be comma-separated items, an item holding a comma in double quotes "
            'that close before the next comma ("Smith, John",cat). '
            'Received: --labels="Smith, John,cat',
        ),
        (
            """interpolate g.keras --class-blend '"a" b,c'""",
            'that close before the next comma ("Smith, John",cat). Received: --class-blend="a" b,c',
        ),
        (
            "export g.keras --onnx m.onnx --class-names ''",
            'none empty (a name holding a comma in double quotes: "Smith, John"). '
            "Received: --class-names=",
        ),
        (
            "sample g.keras --gr out.jpg",
            "--grid writes a .png file: name it so. Received: --grid=out.jpg",
        ),
        (
            "sample g.keras --jacobian-truncation -2",
            "--jacobian-truncation must be a share strictly between 0 and 1. "
            "Received: --jacobian-truncation=-2.0",
        ),
        (
            "interpolate g.keras --steps 1",
            "--steps must be an integer of at least 2. Received: --steps=1",
        ),
        (
            "interpolate g.keras --rows 0",
            "--rows must be a positive integer. Received: --rows=0",
        ),
        (
            "interpolate g.keras --class-blend 3",
            "`--class-blend` must name two classes, such as 3,8 or cat,dog. "
            "Received: --class-blend=3",
        ),
        (
            "interpolate g.keras --class-blend 1,2 --meth linear",
            "leave out --method. Received: --method=linear",
        ),
        (
            "interpolate g.keras --gif walk.png",
            "--gif writes a .gif file: name it so. Received: --gif=walk.png",
        ),
        (
            f"{EDIT} --target -1",
            "--target must be a class index, 0 or more. Received: --target=-1",
        ),
        (
            f"{EDIT} --target 1 --num-samples 0",
            "Received: --num-samples=0",
        ),
        (
            f"{EDIT} --target 1 --strength 2 --keep 1",
            "which takes no --keep (gradient edits only). Received: --strength=2.0 with --keep=1",
        ),
        (
            f"{EDIT} --target 1 --strength 2 --stop",
            "Received: --strength=2.0 with --stop-at-target",
        ),
        (
            f"{EDIT} --target 1 --strength nan",
            "--strength must be a finite number. Received: --strength=nan",
        ),
        (
            f"{EDIT} --target 1 --step-size inf",
            "--step-size must be a finite number of 0 or more. Received: --step-size=inf",
        ),
        (
            f"{EDIT} --target 1 --keep 1,,x",
            "Received: --keep=1,,x",
        ),
        (
            f"{EDIT} --target 1 --keep ''",
            "`--keep` must be a class or comma-separated classes such as 3 or 0,1,2. "
            "Received: --keep=",
        ),
        (
            "evaluate g.keras --data mnist --num-samples -1",
            "--num-samples must be a positive integer. Received: --num-samples=-1",
        ),
        (
            "export g.keras --onnx m.txt",
            "--onnx writes a .onnx file: name it so. Received: --onnx=m.txt",
        ),
        (
            "export g.keras --onnx m.ONNX",
            "--onnx writes a .onnx file: name it so. Received: --onnx=m.ONNX",
        ),
        (
            "evaluate g.keras --data mnist --seed -1",
            "--seed must be a non-negative 64-bit integer. Received: --seed=-1",
        ),
        (
            "sample g.keras --seed 9223372036854775808",
            "--seed must be a 64-bit integer. Received: --seed=9223372036854775808",
        ),
        (
            "sample g.keras --seeds 0-999,5-1000000",
            "--seeds names 1,000,996 seeds, at most 1,000,000 at once. "
            "Received: --seeds=0-999,5-1000000",
        ),
        (
            "export g.keras --saved-model sm --version 0",
            "--version must be a positive integer. Received: --version=0",
        ),
    ],
)
def test_bad_values_are_refused_before_the_library_loads(
    command, line, tmp_path, capsys, monkeypatch
):
    """Counts, seeds, shares, lists, output formats, conflicting options and a missing MODEL
    are refused in one line naming the option (an abbreviation by its full name: `--meth` is
    `--method`), before TensorFlow and the model load, and nothing is written."""
    import kgan.cli

    def never(verbose):
        raise AssertionError("The library was imported before the options were checked.")

    monkeypatch.setattr(kgan.cli, "_import_library", never)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.keras").write_text("a model")
    argv = shlex.split(command)
    assert main(argv) == 2
    error = _error_line(capsys, argv[0])
    assert error.startswith(f"kgan {argv[0]}: error: ") and error.endswith(line)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["g.keras"]


def test_a_missing_folder_of_an_output_is_created(run_dir, tmp_path, capsys):
    scores = tmp_path / "new" / "scores.json"
    args = ["evaluate", str(run_dir), "--data", "fashion_mnist_sample", "--features", "raw"]
    assert main([*args, "--num-samples", "20", "--json", str(scores)]) == 0
    assert json.loads(scores.read_text())["scored"]["data"] == "fashion_mnist_sample"
    capsys.readouterr()


def _refuse_writes_under(monkeypatch, folder):
    """Makes every creation of a file or folder under `folder` fail as in a read-only folder
    (`PermissionError` EACCES from the call that writes), whoever runs the test: root ignores
    the permission bits that `chmod` sets."""
    folder = os.path.abspath(folder)

    def refused(path):
        path = os.path.abspath(os.fsdecode(path))
        return os.path.commonpath([path, folder]) == folder and path != folder

    def deny(path):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(path))

    real_mkdir, real_os_open, real_open = os.mkdir, os.open, builtins.open

    def mkdir(path, *args, **kwargs):
        if refused(path):
            deny(path)
        return real_mkdir(path, *args, **kwargs)

    def os_open(path, flags, *args, **kwargs):
        if flags & (os.O_CREAT | os.O_WRONLY | os.O_RDWR) and refused(path):
            deny(path)
        return real_os_open(path, flags, *args, **kwargs)

    def open_(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)) and set(mode) & set("wax+"):
            if refused(file):
                deny(file)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(builtins, "open", open_)


@pytest.mark.parametrize("how", ["refused writes", "chmod"])
def test_a_read_only_destination_is_one_line(run_dir, tmp_path, capsys, monkeypatch, how):
    """Exit code 2 and the OS's "Permission denied" for a destination that cannot be written:
    always with the writes refused where they happen, and with a real read-only folder when
    permissions apply (not as root, which is how CI runs)."""
    locked = tmp_path / "locked"
    locked.mkdir()
    if how == "chmod":
        if not hasattr(os, "geteuid") or os.geteuid() == 0:
            pytest.skip("file permissions do not apply to root")
        locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    else:
        _refuse_writes_under(monkeypatch, locked)
    try:
        code = main(["export", str(run_dir), "--saved-model", str(locked / "sm"), "--no-verify"])
        assert code == 2
        line = _error_line(capsys, "export")
        assert "Permission denied" in line and str(locked / "sm") in line
        code = main(["export", str(run_dir), "--onnx", str(locked / "g.onnx"), "--no-verify"])
        assert code == 2
        line = _error_line(capsys, "export")
        assert "Permission denied" in line and str(locked) in line
    finally:
        locked.chmod(stat.S_IRWXU)
    assert list(locked.iterdir()) == []


def test_onnx_onto_a_folder_is_one_line(run_dir, tmp_path, capsys):
    assert main(["export", str(run_dir), "--onnx", str(tmp_path), "--no-verify"]) == 2
    assert "is a folder" in _error_line(capsys, "export")


def test_a_damaged_keras_file_is_not_reported_missing(tmp_path, capsys):
    damaged = tmp_path / "bad.keras"
    damaged.write_bytes(os.urandom(11_470))  # As the killed checkpoint of the issue.
    assert main(["export", str(damaged), "--onnx", str(tmp_path / "g.onnx")]) == 2
    line = _error_line(capsys, "export")
    assert "exists but is not a readable Keras model" in line and "not found" not in line
    assert f"run_or_model={str(damaged)!r}" in line


def test_a_run_without_model_points_at_its_last_good_checkpoint(run_dir, tmp_path, capsys):
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    shutil.copy(run_dir / "model.keras", unfinished / "last_good.keras")
    assert main(["export", str(unfinished), "--onnx", str(tmp_path / "g.onnx")]) == 2
    line = _error_line(capsys, "export")
    assert str(unfinished / "last_good.keras") in line
    # ... which the command then takes.
    code = main(
        ["export", str(unfinished / "last_good.keras"), "--onnx", str(tmp_path / "g.onnx")]
        + ["--no-verify"]
    )
    assert code == 0
    capsys.readouterr()


def test_an_export_given_for_a_run_says_it_holds_no_training_state(tmp_path, capsys):
    base = tmp_path / "model"
    (base / "3").mkdir(parents=True)
    (base / "3" / "saved_model.pb").write_bytes(b"")
    for folder in (base, base / "3"):
        assert main(["export", str(folder), "--onnx", str(tmp_path / "g.onnx")]) == 2
        assert "this folder is a SavedModel export" in _error_line(capsys, "export")


@pytest.mark.parametrize(
    "options, message",
    [
        (["--onnx", "g.onnx", "--max-samples", "8"], "--max-samples applies to --saved-model"),
        (["--onnx", "g.onnx", "--version", "2"], "--version applies to --saved-model"),
        (["--saved-model", "sm", "--opset", "13"], "--opset applies to --onnx"),
    ],
)
def test_options_of_the_other_format_are_refused(
    run_dir, tmp_path, capsys, monkeypatch, options, message
):
    monkeypatch.chdir(tmp_path)
    assert main(["export", str(run_dir), *options]) == 2
    assert message in _error_line(capsys, "export")
    assert list(tmp_path.iterdir()) == []


def test_existing_version_and_onnx_file_tell_about_overwrite(run_dir, tmp_path, capsys):
    args = ["export", str(run_dir), "--saved-model", str(tmp_path / "sm"), "--no-verify"]
    onnx = ["--onnx", str(tmp_path / "g.onnx")]
    assert main([*args, "--version", "1", *onnx]) == 0
    capsys.readouterr()
    assert main([*args, "--version", "1"]) == 2
    line = _error_line(capsys, "export")
    assert "--overwrite" in line and "overwrite=True`" in line
    assert main(["export", str(run_dir), "--no-verify", *onnx]) == 2
    assert "--overwrite" in _error_line(capsys, "export")
    # Refused before anything is written: no SavedModel version 2 beside the refused ONNX file.
    assert main([*args, *onnx]) == 2
    assert "--overwrite" in _error_line(capsys, "export")
    assert os.listdir(tmp_path / "sm") == ["1"]
    assert main([*args, "--version", "1", *onnx, "--overwrite"]) == 0
    out = capsys.readouterr().out
    assert f"wrote SavedModel {tmp_path / 'sm' / '1'}" in out and "wrote ONNX" in out


def test_a_relative_path_is_reported_as_a_missing_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--data", "missing/folder", "--output", "run", "--epochs", "1"]) == 2
    line = _error_line(capsys, "train")
    assert "image folder does not exist" in line and line.endswith(
        "Received: --data=missing/folder"
    )
    assert list(tmp_path.iterdir()) == []  # No run folder for a run that never started.


def test_evaluate_offline_without_classifier_says_what_works_offline(
    run_dir, tmp_path, capsys, monkeypatch
):
    from keras.src.utils import file_utils

    def offline(*args, **kwargs):
        raise urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))

    # An empty Keras cache, no shipped classifier, and no network: the real Keras download
    # code fails as offline.
    monkeypatch.setenv("KGAN_CLASSIFIER_DIR", str(tmp_path / "no_classifiers"))
    monkeypatch.setattr(file_utils.config, "keras_home", lambda: str(tmp_path / "keras"))
    monkeypatch.setattr(file_utils, "urlretrieve", offline)
    code = main(["evaluate", str(run_dir), "--data", "fashion_mnist_sample", "--num-samples", "20"])
    assert code == 2
    line = _error_line(capsys, "evaluate")
    assert "InceptionV3 ImageNet weights" in line and "cannot be fetched" in line
    assert "--classifier" in line and "kgan train-classifier" in line


def test_evaluate_uses_the_shipped_classifier_of_the_data(run_dir, tmp_path, capsys, monkeypatch):
    classifier = kgan.metrics.image_classifier((28, 28, 1), filters=(4,))
    (tmp_path / "classifiers").mkdir()
    classifier.save(tmp_path / "classifiers" / "fashion_mnist.keras")
    monkeypatch.setenv("KGAN_CLASSIFIER_DIR", str(tmp_path / "classifiers"))
    out = tmp_path / "scores.json"
    args = ["evaluate", str(run_dir), "--data", "fashion_mnist_sample", "--num-samples", "50"]
    assert main([*args, "--json", str(out)]) == 0
    assert "shipped classifier" in capsys.readouterr().out
    assert json.loads(out.read_text())["feature_extractor"] == "classifier_features"


def test_evaluate_scores_exports_as_the_keras_model(run_dir, tmp_path, capsys):
    """`kgan evaluate` opens what `kgan sample` opens: a SavedModel and an ONNX file score as
    the model they were exported from."""
    model = kgan.training.load_run(run_dir)[0]
    kgan.export.to_saved_model(model, tmp_path / "saved")
    kgan.export.to_onnx(model, tmp_path / "g.onnx")
    scores = {}
    for name, path in (
        ("keras", run_dir),
        ("saved", tmp_path / "saved"),
        ("onnx", tmp_path / "g.onnx"),
    ):
        out = tmp_path / f"{name}.json"
        args = ["evaluate", str(path), "--data", "fashion_mnist_sample", "--features", "raw"]
        assert main([*args, "--num-samples", "64", "--json", str(out)]) == 0
        scores[name] = json.loads(out.read_text())["fid"]
    assert scores["saved"] == pytest.approx(scores["keras"], rel=1e-4)
    assert scores["onnx"] == pytest.approx(scores["keras"], rel=1e-4)
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "notes.txt"), "--data", "ring"]) == 2
    assert _error_line(capsys, "evaluate").endswith(
        f"MODEL: no file or folder at this path. Received: MODEL={tmp_path / 'notes.txt'}"
    )


@pytest.mark.parametrize(
    "args, line",
    [
        (
            ["train-classifier", "-o", "c.keras", "--epochs", "0"],
            "kgan train-classifier: error: --epochs must be a positive integer. "
            "Received: --epochs=0",
        ),
        (
            ["export", "missing_run"],
            "kgan export: error: Nothing to export: pass --saved-model BASE_DIR and/or --onnx "
            "PATH. Received: --saved-model=None, --onnx=None",
        ),
        (
            ["sample", "missing_run", "--seeds", "9-5"],
            "kgan sample: error: MODEL: no file or folder at this path. "
            "Received: MODEL=missing_run",
        ),
        (
            ["train", "-o", "run", "--seed", "-1"],
            "kgan train: error: --seed must be an integer in [0, 4294967295]. Received: --seed=-1",
        ),
    ],
)
def test_options_are_refused_before_tensorflow_is_imported(args, line, tmp_path):
    done = _run_reporting_imports(args, cwd=tmp_path)
    assert done.stderr.splitlines() == [line]
    assert done.stdout.splitlines()[-1] == "[]"  # Neither TensorFlow nor Keras imported.
    assert list(tmp_path.iterdir()) == []


def test_unexpected_errors_are_one_line_and_verbose_shows_the_traceback(
    run_dir, tmp_path, capsys, monkeypatch
):
    from kgan import export

    def broken(*args, **kwargs):
        raise TypeError("a bug")

    monkeypatch.setattr(export, "to_onnx", broken)
    args = ["export", str(run_dir), "--onnx", str(tmp_path / "g.onnx")]
    assert main(args) == 1
    line = _error_line(capsys, "export")
    assert line == (
        "kgan export: error: TypeError: a bug (run again with --verbose for the traceback)"
    )
    assert main([*args, "--verbose"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and 'raise TypeError("a bug")' in err
    assert err.strip().splitlines()[-1] == "kgan export: error: TypeError: a bug"
    assert main(["--verbose", *args]) == 1  # Before the command too.
    assert "Traceback" in capsys.readouterr().err


def test_an_interrupted_command_says_so(run_dir, tmp_path, capsys, monkeypatch):
    from kgan import export

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(export, "to_onnx", interrupted)
    assert main(["export", str(run_dir), "--onnx", str(tmp_path / "g.onnx")]) == 130
    assert _error_line(capsys, "export") == "kgan export: interrupted"
    assert list(tmp_path.iterdir()) == []


def test_train_help_names_every_recipe_and_the_data_that_picks_one():
    from kgan import recipes
    from kgan.cli import build_parser

    train_parser = build_parser()._subparsers._group_actions[0].choices["train"]
    (recipe,) = [action for action in train_parser._actions if "--recipe" in action.option_strings]
    for name in recipes.RECIPES:
        assert name in recipe.help, name
    for data in recipes.DATA_RECIPES:
        if data != "fashion_mnist_sample":  # The embedded default, named as such.
            assert f"{data} " in recipe.help or f"{data}," in recipe.help, data

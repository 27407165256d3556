"""Class names: recorded by runs and exports, and taken by `--labels` in place of numbers."""

import json
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from kgan import control, export
from kgan.cli import main
from kgan.control.labels import class_indices
from kgan.data.cifar import CLASS_NAMES as CIFAR10_NAMES
from kgan.export.metadata import check_class_names, run_class_names

SAVEDMODELS = Path(__file__).resolve().parents[2] / "savedmodels"
NAMES = ["circle", "square", "Triangle"]


@pytest.fixture(scope="module")
def named_exports(image_gan, tmp_path_factory):
    """`image_gan` exported with `NAMES`: `(SavedModel version folder, ONNX file)`."""
    root = tmp_path_factory.mktemp("named")
    version = export.to_saved_model(image_gan, root / "named", class_names=NAMES, verify=False)
    onnx_path = export.to_onnx(image_gan, root / "named.onnx", class_names=NAMES, verify=False)
    return version, onnx_path


def _samples(model, tmp_path, labels):
    npy = tmp_path / "samples.npy"
    argv = ["sample", str(model), "--num-samples", "4", "--seed", "1", "--labels", labels]
    assert main([*argv, "--npy", str(npy), "--out", str(tmp_path / "grid.png")]) == 0
    return np.load(npy)


def test_exports_carry_the_names_and_labels_take_them(image_gan, named_exports, tmp_path):
    expected = image_gan.generate(4, labels=[2, 0, 2, 0], seed=1)
    for path in named_exports:
        assert export.read_metadata(path)["class_names"] == NAMES
        assert control.load_generator(path).class_names == NAMES
        # Names, exactly or in another case, and numbers mixed in.
        for labels in ("Triangle,circle", "triangle,CIRCLE", "Triangle,0"):
            samples = _samples(path, tmp_path, labels)
            np.testing.assert_allclose(samples, expected, atol=1e-4, err_msg=f"{path} {labels}")


def test_a_name_that_is_no_class_lists_the_classes(named_exports, image_exports, capsys):
    version, _ = named_exports
    assert main(["sample", str(version), "--labels", "circle,hexagon"]) == 2
    err = capsys.readouterr().err
    assert "'hexagon' is none of 0 'circle', 1 'square', 2 'Triangle'" in err
    assert "Received: --labels=circle,hexagon" in err  # As typed, whole.
    # A misspelt name is told the closest.
    assert main(["sample", str(version), "--labels", "SQURE"]) == 2
    assert "(the closest: 'square'). Received: --labels=SQURE" in capsys.readouterr().err
    # The fixture's run records no names: its classes are numbers only.
    assert main(["sample", image_exports["run"], "--labels", "circle"]) == 2
    assert "records no class names: give class numbers" in capsys.readouterr().err
    assert main(["interpolate", image_exports["run"], "--class-blend", "0,hexagon"]) == 2
    assert "Received: --class-blend=0,hexagon" in capsys.readouterr().err


def test_class_blend_takes_names(image_gan, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    image_gan.save(run / "model.keras")
    config = {"epochs": 0, "conditional": True, "num_classes": 3, "class_names": NAMES}
    (run / "config.json").write_text(json.dumps(config))
    assert control.load_generator(run).class_names == NAMES
    grids = []
    for pair in ("square,Triangle", "1,2"):
        npy = tmp_path / f"{pair}.npy"
        argv = ["interpolate", str(run), "--class-blend", pair, "--steps", "3", "--rows", "1"]
        assert main([*argv, "--out", str(tmp_path / "blend.png"), "--npy", str(npy)]) == 0
        grids.append(np.load(npy))
    np.testing.assert_array_equal(grids[0], grids[1])


def test_the_shipped_cifar10_generator_takes_cifar10_names(tmp_path):
    # Exported before the metadata had `class_names`: the names come from its run's data.
    path = SAVEDMODELS / "cifar10_cdcgan"
    assert control.load_generator(path).class_names == CIFAR10_NAMES
    np.testing.assert_array_equal(
        _samples(path, tmp_path, "cat,truck"), _samples(path, tmp_path, "3,9")
    )


def test_run_class_names():
    cifar = {"conditional": True, "data": "cifar10"}
    assert run_class_names(cifar, 10) == CIFAR10_NAMES
    assert run_class_names({**cifar, "class_names": list("abcdefghij")}, 10)[0] == "a"
    assert run_class_names({**cifar, "data": "mnist"}, 10)[3] == "3"
    assert run_class_names({**cifar, "data": "./my_photos"}, 10) is None
    # Names that do not fit the generator, an unconditional or a self-conditioned run: none.
    assert run_class_names(cifar, 12) is None
    assert run_class_names({**cifar, "conditional": False}, 10) is None
    assert run_class_names({**cifar, "clusters": 10}, 10) is None
    assert run_class_names(None, 10) is None


@pytest.mark.parametrize(
    "names, num_classes, message",
    [
        (["a", "b"], 3, "each of the generator's 3 classes"),
        (["a", "b", "c"], None, "the generator is unconditional"),
        (["a", "b", "a"], 3, "distinct, non-empty"),
        (["a", "", "c"], 3, "distinct, non-empty"),
        ("abc", 3, "a list of strings"),
        ([0, 1, 2], 3, "a list of strings"),
    ],
)
def test_check_class_names_refuses(names, num_classes, message):
    with pytest.raises(ValueError, match=message):
        check_class_names(names, num_classes)


def test_class_indices_reads_names_first_then_numbers():
    assert class_indices([1, "b", "B", "0"], ["a", "b"]) == [1, 1, 1, 0]
    assert class_indices(["aA"], ["AA", "aA"]) == [1]  # An exact match first.
    with pytest.raises(ValueError, match=r"several classes when case is ignored \('AA', 'aA'"):
        class_indices(["aa"], ["AA", "aA"])
    # MNIST's names are their numbers, and so are zero-padded ones.
    assert class_indices(["3", 7], [str(digit) for digit in range(10)]) == [3, 7]
    assert class_indices(["3", "04"], [f"{digit:02d}" for digit in range(10)]) == [3, 4]
    # Folders named by numbers sort as text: each is named as its folder is, and a number that
    # is no folder's name could be meant either way.
    folders = ["1", "10", "2"]
    assert class_indices(["1", "10", "2"], folders) == [0, 1, 2]
    with pytest.raises(ValueError, match=r"\(0 '1', 1 '10', 2 '2'\): give the class's name"):
        class_indices(["0"], folders)
    # Names compare in Unicode's composed form, without surrounding spaces, as folders made on
    # one system and names typed on another may differ so.
    decomposed = unicodedata.normalize("NFD", "café")
    assert class_indices(["café", " caf\u00e9 "], ["bar", decomposed + " "]) == [1, 1]
    assert class_indices([decomposed], ["café", decomposed]) == [1]  # An exact match first.
    with pytest.raises(ValueError, match="several classes once Unicode form") as error:
        class_indices(["café"], [decomposed, "café "])
    assert f"(0 {decomposed!r}, 1 'café '): give the class's number" in str(error.value)
    # Many classes: ten are listed, and how many there are.
    many = [f"class {i}" for i in range(1000)]
    with pytest.raises(ValueError, match=r"8 'class 8', 9 'class 9', \.\.\. \(1,000 classes\)"):
        class_indices(["hexagon"], many, name="--labels", typed="hexagon")


def test_labels_for_an_unconditional_generator_are_refused_as_such(shipped_unconditional, capsys):
    for option in ("--labels", "--class-blend"):
        command = "sample" if option == "--labels" else "interpolate"
        assert main([command, str(shipped_unconditional), option, "cat,dog"]) == 2
        err = capsys.readouterr().err
        assert f"the generator is unconditional. Received: {option}=cat,dog" in err


def test_export_cli_class_names(image_exports, tmp_path, capsys):
    run, onnx_path = image_exports["run"], tmp_path / "named.onnx"
    argv = ["export", run, "--onnx", str(onnx_path), "--no-verify"]
    assert main([*argv, "--class-names", "a,b"]) == 2
    assert "has 3 classes, and 2 names were given" in capsys.readouterr().err
    assert not onnx_path.exists()
    assert main([*argv, "--class-names", "a, b ,c"]) == 0
    assert "3 classes (a, b, c)" in capsys.readouterr().out
    assert export.read_metadata(onnx_path)["class_names"] == ["a", "b", "c"]
    # A name holding a comma is typed in double quotes, as in a CSV file.
    assert main([*argv, "--overwrite", "--class-names", '"Smith, John", b,c']) == 0
    assert export.read_metadata(onnx_path)["class_names"] == ["Smith, John", "b", "c"]
    capsys.readouterr()
    npy = {labels: tmp_path / f"{i}.npy" for i, labels in enumerate(['c,"smith, john"', "2,0"])}
    for labels, path in npy.items():
        argv = ["sample", str(onnx_path), "--num-samples", "2", "--labels", labels]
        assert main([*argv, "--npy", str(path), "--grid", str(tmp_path / "grid.png")]) == 0
    np.testing.assert_array_equal(*(np.load(path) for path in npy.values()))
    assert main(["sample", str(onnx_path), "--labels", "Smith, John"]) == 2
    err = capsys.readouterr().err
    assert "'Smith' is none of 0 'Smith, John', 1 'b', 2 'c'" in err
    assert """a name holding a comma is typed in double quotes: '"Smith, John"'""" in err
    assert main(["sample", str(onnx_path), "--labels", "Smiht"]) == 2  # Not a piece of a name.
    assert "double quotes" not in capsys.readouterr().err

"""Measured control on the 2-D toy, whose exact classifier is known, and the tool."""

import importlib.util
import json
from pathlib import Path

import keras
import numpy as np
import pytest

from kgan import control

TOOL = Path(__file__).resolve().parents[2] / "tools" / "evaluate_control.py"


@pytest.fixture
def plane_generator():
    """An unconditional generator of the plane, x = 2 z: each class region of the toy's
    classifier is reached by moving z."""
    z = keras.Input(shape=(2,), name="z")
    dense = keras.layers.Dense(2, use_bias=False)
    model = keras.Model(z, dense(z), name="plane")
    dense.set_weights([2.0 * np.eye(2, dtype="float32")])
    return model


def test_toy_classes_land_at_their_points(toy_gan, centers):
    generator = control.as_generator(toy_gan)
    for label, center in enumerate(centers):
        points = generator.generate(300, labels=label, seed=label)
        nearest = np.linalg.norm(points[:, None] - centers[None], axis=2).argmin(axis=1)
        assert np.mean(nearest == label) > 0.97
        assert np.linalg.norm(points.mean(axis=0) - center) < 0.2


def test_class_control_of_the_toy(toy_gan, center_classifier):
    result = control.class_control(toy_gan, center_classifier, 200, seed=0)
    assert len(result["per_class"]) == 3
    assert min(result["per_class"]) > 0.95
    assert result["overall"] == np.mean(result["per_class"])


def test_edit_effects_are_counted_on_samples_not_yet_at_the_target():
    before = np.zeros((3, 2), "float32")
    after = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 0.0]], "float32")
    before_outputs = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    after_outputs = np.array([[1.0, 0.0, 3.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    effects = control.measure.edit_effects(before, after, before_outputs, after_outputs, 1)
    # The third sample was class 1 already and is left out.
    assert effects == {
        "success_rate": 0.0,
        "mean_l2": 0.5,  # One image moved by 2 in [-1, 1] units = 1 in [0, 1] pixels.
        "other_change": 0.75,  # |3| and three zeros over classes 0 and 2 of two samples.
        "num_edited": 2,
    }


def test_edits_and_directions_reach_the_toy_targets(plane_generator, center_classifier):
    edits = control.measure_edits(
        plane_generator, center_classifier, num_samples=30, steps=30, step_size=0.2
    )
    assert set(edits["per_target"]) == {0, 1, 2}
    assert edits["overall"]["success_rate"] == 1.0
    # With stop_at_target, each edit ends just past a class boundary: x moves by less than
    # the 2 * 30 * 0.2 = 12 of the full budget.
    assert 0.0 < edits["overall"]["mean_l2"] < 3.0
    directions = control.measure_directions(
        plane_generator,
        center_classifier,
        strengths=(0.1, 3.0),
        num_samples=30,
        direction_samples=30,
    )
    weak, strong = (directions["per_strength"][s]["overall"] for s in (0.1, 3.0))
    assert strong["mean_l2"] > weak["mean_l2"]
    assert strong["success_rate"] > weak["success_rate"]


@pytest.mark.parametrize("strengths", [(), [1.0, float("nan")], "2", None])
def test_measure_directions_refuses_strengths_it_cannot_measure(
    strengths, plane_generator, center_classifier, monkeypatch
):
    def never(*args, **kwargs):
        raise AssertionError("The measurement started before `strengths` was checked.")

    monkeypatch.setattr(control.measure, "as_generator", never)
    with pytest.raises(ValueError, match=r"at least one strength.*Received: strengths="):
        control.measure_directions(plane_generator, center_classifier, strengths=strengths)


@pytest.mark.parametrize("measure", ["measure_edits", "measure_directions"])
@pytest.mark.parametrize("targets", [(), [], 1, "0"])
def test_measurements_refuse_targets_that_name_no_target(
    measure, targets, plane_generator, center_classifier, monkeypatch
):
    def never(*args, **kwargs):
        raise AssertionError("The measurement started before `targets` was checked.")

    monkeypatch.setattr(control.measure, "as_generator", never)
    with pytest.raises(ValueError, match=r"at least one target.*Received: targets="):
        getattr(control, measure)(plane_generator, center_classifier, targets=targets)


def test_evaluate_control_tool(toy_gan, plane_generator, center_classifier, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("evaluate_control", TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    toy_gan.save(tmp_path / "toy.keras")
    plane_generator.save(tmp_path / "plane.keras")
    center_classifier.save(tmp_path / "classifier.keras")
    argv = [
        "--classifier", str(tmp_path / "classifier.keras"),
        "--conditional", str(tmp_path / "toy.keras"),
        "--edit-model", str(tmp_path / "plane.keras"),
        "--num-samples", "50", "--edit-samples", "10", "--direction-samples", "10",
        "--steps", "30", "--step-size", "0.2", "--targets", "0,2",
        "--json", str(tmp_path / "control.json"),
    ]  # fmt: skip
    assert tool.main(argv) == 0
    out = capsys.readouterr().out
    assert "Class control" in out and "direction x 4" in out
    with open(tmp_path / "control.json") as file:
        results = json.load(file)
    assert results["class_control"]["overall"] > 0.9
    assert set(results["edits"]["per_target"]) == {"0", "2"}
    assert results["edits"]["overall"]["success_rate"] == 1.0
    assert set(results["directions"]["per_strength"]) == {"1.0", "2.0", "4.0"}

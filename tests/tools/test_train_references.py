"""tools/train_references.py: the images-seen count, a quick reference and quick baselines
end to end, and the commands its cards state (the fixtures are in conftest.py)."""

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
METRICS = ("fid", "kid", "kid_std", "precision", "recall", "density", "coverage")


@pytest.mark.parametrize(
    ("epochs", "critic_steps", "batch", "examples", "seen"),
    [
        # mnist_cdcgan: 938 steps an epoch, the last of 32 images: 600,000, not 600,320.
        (10, 9380, 64, 60_000, 600_000),
        # mnist_wgangp (version 2): 188 groups of 5 critic batches an epoch, the last group's
        # 160 images shared out among its 5 updates: 51 * 60,000, not 47,940 * 64.
        (51, 47_940, 64, 60_000, 3_060_000),
        # A dropped remainder (whole groups only: 187 of 320 images an epoch): every step full.
        (51, 51 * 187 * 5, 64, 60_000, 51 * 187 * 320),
        # An epoch of whole batches.
        (2, 20, 50, 500, 1000),
    ],
)
def test_real_images_seen_counts_each_last_partial_batch_at_its_size(
    load_tool, epochs, critic_steps, batch, examples, seen
):
    references = load_tool("train_references")
    assert references.real_images_seen(epochs, critic_steps, batch, examples) == seen


def test_train_references_quick_writes_a_card_exports_and_leaves_the_repository(
    tool_data, run_tool, tmp_path
):
    data_dir = tool_data()
    shipped = ROOT / "savedmodels" / "mnist_cdcgan" / "card.json"
    before = shipped.stat().st_mtime_ns if shipped.exists() else None
    out, runs = tmp_path / "out", tmp_path / "runs"
    run_tool(
        "train_references.py", "mnist_cdcgan", "--quick", "--runs", runs, "--out", out,
        cwd=tmp_path, data_dir=data_dir,
    )  # fmt: skip
    folder = out / "savedmodels" / "mnist_cdcgan"
    assert sorted(p.name for p in folder.iterdir()) == [
        "1",
        "README.md",
        "card.json",
        "samples.png",
    ]
    assert (folder / "1" / "saved_model.pb").is_file()
    assert (out / "savedmodels" / "mnist_cdcgan.onnx").is_file()
    card = json.loads((folder / "card.json").read_text())
    assert card["command"].endswith("--epochs 1 --num-samples 500 --output runs/references/"
                                    "mnist_cdcgan")  # fmt: skip
    assert (card["saved_model"], card["onnx"]) == (
        "savedmodels/mnist_cdcgan/1", "savedmodels/mnist_cdcgan.onnx"
    )  # fmt: skip
    training = card["training"]
    # 500 images at batch 64: 8 steps, the last of 52 images.
    assert (training["epochs"], training["critic_steps"], training["batch_size"]) == (1, 8, 64)
    assert training["real_images_seen"] == 500
    evaluation = card["evaluation"]
    assert evaluation["num_samples"] == evaluation["test_images"] == 200
    for row in ("model", "real_data"):
        assert set(METRICS) <= set(evaluation[row])
    assert len(evaluation["class_control"]["per_class"]) == 10
    assert evaluation["class_control"]["num_samples_per_class"] == 20
    # The classes the classifier reads in the samples, counted.
    assert sum(evaluation["model"]["class_histogram"]) == 200
    assert len(evaluation["model"]["class_histogram"]) == 10
    readme = (folder / "README.md").read_text()
    assert readme.startswith("# `mnist_cdcgan`: ") and "| `mnist_cdcgan` |" in readme
    histogram = " | ".join(f"{n:,}" for n in evaluation["model"]["class_histogram"])
    assert f"| samples | {histogram} |" in readme
    assert (runs / "mnist_cdcgan" / "model.keras").is_file()

    # --card-only without the run folder evaluates the export as it is and names the training
    # behind it (REFERENCES' `shipped` entry: here the quick export stands in for version 1).
    run_tool(
        "train_references.py", "mnist_cdcgan", "--card-only", "--quick", "--runs",
        tmp_path / "no_runs", "--out", out, cwd=tmp_path, data_dir=data_dir,
    )  # fmt: skip
    assert sorted(p.name for p in folder.iterdir()) == [
        "1",
        "README.md",
        "card.json",
        "samples.png",
    ]
    rebuilt = json.loads((folder / "card.json").read_text())
    assert rebuilt["command"] == card["command"] and "retrain_command" not in rebuilt
    assert rebuilt["trained_at"] == "af097d3"
    assert rebuilt["training"] == training and rebuilt["saved_model"] == card["saved_model"]
    assert rebuilt["evaluation"]["num_samples"] == 200
    assert "--card-only mnist_cdcgan" in (folder / "README.md").read_text()
    # Nothing was written into the repository.
    assert (shipped.stat().st_mtime_ns if shipped.exists() else None) == before


def test_real_arrays_are_read_once_a_process_and_cannot_be_changed(load_tool, tool_data):
    """The tool's callers share one copy of each split: a caller writing into it would change
    what the others score against, so it refuses."""
    tool_data()
    references = load_tool("train_references")
    images, labels = references.real_arrays("mnist", "test")
    assert references.real_arrays("mnist", "test")[0] is images
    assert images.shape == (10_000, 28, 28, 1) and labels.shape == (10_000,)
    assert images.min() >= -1.0 and images.max() <= 1.0
    for array in (images, labels):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0


def test_a_baseline_export_is_read_from_the_commit_that_held_it(load_tool, tmp_path):
    references = load_tool("train_references")
    spec = references.BASELINES["mnist_dcgan_v1"]
    present = subprocess.run(["git", "-C", ROOT, "cat-file", "-e", spec["export_commit"]])
    if present.returncode:
        pytest.skip(f"a shallow clone: commit {spec['export_commit']} is not in it")
    export = references._export_at(spec["export_commit"], spec["export_path"], tmp_path)
    assert (Path(export) / "1" / "saved_model.pb").is_file()
    with pytest.raises(SystemExit, match="cannot read savedmodels/none at commit af097d3"):
        references._export_at("af097d3", "savedmodels/none", tmp_path)


def _quick_baseline(name, tmp_path, run_tool, tool_data, load_tool):
    """`train_references.py NAME --quick` on the CIFAR-10 copy: `(results record, the run's
    config.json, the output folder)`."""
    data_dir = tool_data("cifar10/test", "the CIFAR-10 copy's test images")
    runs, out = tmp_path / "runs", tmp_path / "out"
    run_tool(
        "train_references.py", name, "--quick", "--runs", runs, "--out", out,
        "--precision", "float32", cwd=tmp_path, data_dir=data_dir,
    )  # fmt: skip
    record = json.loads((out / "tools" / "results" / f"baseline_{name}.json").read_text())
    return record, json.loads((runs / name / "config.json").read_text()), out


# Slow, as the unconditional one below (a minute each). The default run keeps the quick
# reference (`mnist_cdcgan` above: a run folder trained and scored, class control included)
# and the fast check that the tutorial's networks are built again the same.
@pytest.mark.slow
def test_a_trained_conditional_baseline_is_scored_like_a_reference(
    load_tool, run_tool, tool_data, tmp_path
):
    """`cifar10_conditional_defaults --quick`: trained without the recipe, class-conditional,
    scored with class control, its grid beside its results file and its row in the table."""
    name = "cifar10_conditional_defaults"
    record, config, out = _quick_baseline(name, tmp_path, run_tool, tool_data, load_tool)
    assert record["command"] == (
        "kgan train --data cifar10 --recipe none --conditional --epochs 1 --num-samples 500 "
        "--seed 0 --precision float32"
    )
    assert (config["recipe"], config["conditional"], config["num_classes"]) == (None, True, 10)
    assert record["evaluation"]["class_control"]["num_samples_per_class"] == 20
    assert record["samples"] == f"tools/results/baseline_{name}.png"
    assert (out / record["samples"]).is_file()
    table = load_tool("results_table").image_table([], [record])
    control = record["evaluation"]["class_control"]["overall"]
    assert table[2].startswith(f"| baseline `{name}` | cifar10 | 8 |")
    assert table[2].endswith(f"| {100 * control:.1f}% |")


@pytest.mark.slow
def test_a_baseline_of_its_own_networks_trains_as_a_run(load_tool, run_tool, tool_data, tmp_path):
    """`cifar10_tutorial --quick`: the tutorial's networks at its batch size, trained into a
    run folder by `kgan.training.train` (so that it resumes), and scored."""
    from kgan.runs.training import model_fingerprint

    name = "cifar10_tutorial"
    record, config, out = _quick_baseline(name, tmp_path, run_tool, tool_data, load_tool)
    assert (
        record["command"] == f"python tools/train_references.py {name} --quick --precision float32"
    )
    assert (config["model"], config["batch_size"], config["latent_dim"]) == ("GAN", 256, 100)
    assert config["dtype_policy"] == "float32" and config["architecture"] is None
    rebuilt, _ = load_tool("train_references").baseline_networks("tutorial", "float32")
    assert config["model_fingerprint"] == model_fingerprint(rebuilt)
    assert record["training"]["generator_steps"] == 2  # 500 images in batches of 256.
    assert (out / record["samples"]).is_file()


def test_a_baseline_of_its_own_networks_is_built_the_same_again(load_tool):
    """What lets `train_references.py cifar10_tutorial` resume: the networks built again have
    the fingerprint the run recorded."""
    from kgan.runs.training import model_fingerprint

    references = load_tool("train_references")
    first, batch_size = references.baseline_networks("tutorial", "float32")
    second, _ = references.baseline_networks("tutorial", "float32")
    assert batch_size == 256 and first.generator.dtype_policy.name == "float32"
    assert model_fingerprint(first) == model_fingerprint(second)


def test_a_card_rebuilt_from_an_export_trained_before_precision_states_both_commands(load_tool):
    references = load_tool("train_references")
    spec = references.REFERENCES["mnist_cdcgan"]
    then = references.command_line("mnist_cdcgan", spec, None)
    today = references.command_line("mnist_cdcgan", spec, "float32")
    assert "--precision" not in then and today == then.replace(
        "--seed 0", "--seed 0 --precision float32"
    )
    card = {"command": then, "trained_at": "af097d3", "retrain_command": today}
    command, retrain = references._command_lines("mnist_cdcgan", card)
    assert f"`{then}`, run by this script at commit af097d3" in command
    assert f"runs `{today}`" in retrain and "had no `--precision` option" in retrain

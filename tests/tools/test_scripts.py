"""Smoke runs of the scripts that produce published figures: each runs end to end with
`--quick` into a temporary folder, and the test checks the shape of what it writes.

The scripts run as a user runs them, in their own process (they set dtype policies, seeds and
thread counts for the whole process), except where noted. Figures are not checked: a few steps
of training measure nothing. The scripts that train on MNIST need the original files
(`$KGAN_DATA_DIR`, else ../shared/data) and are skipped, saying so, without them.
"""

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools"
METRICS = ("fid", "kid", "kid_std", "precision", "recall", "density", "coverage")


def _load(name):
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _data_dir(marker="mnist/t10k-images-idx3-ubyte.gz", what="the MNIST IDX files"):
    configured = os.environ.get("KGAN_DATA_DIR")
    for folder in [Path(configured)] if configured else [ROOT.parent / "shared" / "data"]:
        if (folder / marker).exists():
            return folder
    pytest.skip(f"{what} are not available: set KGAN_DATA_DIR (see README)")


def _run(script, *args, cwd, data_dir=None, timeout=600):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1"}
    if data_dir is not None:
        env["KGAN_DATA_DIR"] = str(data_dir)
    result = subprocess.run(
        [sys.executable, str(TOOLS / script), *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result.stdout


# ---------------------------------------------------------------------------- train_references


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
    epochs, critic_steps, batch, examples, seen
):
    references = _load("train_references")
    assert references.real_images_seen(epochs, critic_steps, batch, examples) == seen


def test_train_references_quick_writes_a_card_exports_and_leaves_the_repository(tmp_path):
    data_dir = _data_dir()
    shipped = ROOT / "savedmodels" / "mnist_cdcgan" / "card.json"
    before = shipped.stat().st_mtime_ns if shipped.exists() else None
    out, runs = tmp_path / "out", tmp_path / "runs"
    _run(
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
    _run(
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


def test_a_baseline_export_is_read_from_the_commit_that_held_it(tmp_path):
    references = _load("train_references")
    spec = references.BASELINES["mnist_dcgan_v1"]
    present = subprocess.run(["git", "-C", ROOT, "cat-file", "-e", spec["export_commit"]])
    if present.returncode:
        pytest.skip(f"a shallow clone: commit {spec['export_commit']} is not in it")
    export = references._export_at(spec["export_commit"], spec["export_path"], tmp_path)
    assert (Path(export) / "1" / "saved_model.pb").is_file()
    with pytest.raises(SystemExit, match="cannot read savedmodels/none at commit af097d3"):
        references._export_at("af097d3", "savedmodels/none", tmp_path)


def _quick_baseline(name, tmp_path):
    """`train_references.py NAME --quick` on the CIFAR-10 copy: `(results record, the run's
    config.json, the output folder)`."""
    data_dir = _data_dir("cifar10/test", "the CIFAR-10 copy's test images")
    runs, out = tmp_path / "runs", tmp_path / "out"
    _run(
        "train_references.py", name, "--quick", "--runs", runs, "--out", out,
        "--precision", "float32", cwd=tmp_path, data_dir=data_dir,
    )  # fmt: skip
    record = json.loads((out / "tools" / "results" / f"baseline_{name}.json").read_text())
    return record, json.loads((runs / name / "config.json").read_text()), out


# Slow: the unconditional baseline's test below runs the same script path, and the quick
# conditional reference (`mnist_cdcgan` above) scores class control the same way.
@pytest.mark.slow
def test_a_trained_conditional_baseline_is_scored_like_a_reference(tmp_path):
    """`cifar10_conditional_defaults --quick`: trained without the recipe, class-conditional,
    scored with class control, its grid beside its results file and its row in the table."""
    name = "cifar10_conditional_defaults"
    record, config, out = _quick_baseline(name, tmp_path)
    assert record["command"] == (
        "kgan train --data cifar10 --recipe none --conditional --epochs 1 --num-samples 500 "
        "--seed 0 --precision float32"
    )
    assert (config["recipe"], config["conditional"], config["num_classes"]) == (None, True, 10)
    assert record["evaluation"]["class_control"]["num_samples_per_class"] == 20
    assert record["samples"] == f"tools/results/baseline_{name}.png"
    assert (out / record["samples"]).is_file()
    table = _load("results_table").image_table([], [record])
    control = record["evaluation"]["class_control"]["overall"]
    assert table[2].startswith(f"| baseline `{name}` | cifar10 | 8 |")
    assert table[2].endswith(f"| {100 * control:.1f}% |")


def test_a_baseline_of_its_own_networks_trains_as_a_run(tmp_path):
    """`cifar10_tutorial --quick`: the tutorial's networks at its batch size, trained into a
    run folder by `kgan.training.train` (so that it resumes), and scored."""
    from kgan.runs.training import model_fingerprint

    name = "cifar10_tutorial"
    record, config, out = _quick_baseline(name, tmp_path)
    assert (
        record["command"] == f"python tools/train_references.py {name} --quick --precision float32"
    )
    assert (config["model"], config["batch_size"], config["latent_dim"]) == ("GAN", 256, 100)
    assert config["dtype_policy"] == "float32" and config["architecture"] is None
    rebuilt, _ = _load("train_references").baseline_networks("tutorial", "float32")
    assert config["model_fingerprint"] == model_fingerprint(rebuilt)
    assert record["training"]["generator_steps"] == 2  # 500 images in batches of 256.
    assert (out / record["samples"]).is_file()


def test_a_baseline_of_its_own_networks_is_built_the_same_again():
    """What lets `train_references.py cifar10_tutorial` resume: the networks built again have
    the fingerprint the run recorded."""
    from kgan.runs.training import model_fingerprint

    references = _load("train_references")
    first, batch_size = references.baseline_networks("tutorial", "float32")
    second, _ = references.baseline_networks("tutorial", "float32")
    assert batch_size == 256 and first.generator.dtype_policy.name == "float32"
    assert model_fingerprint(first) == model_fingerprint(second)


def test_a_card_rebuilt_from_an_export_trained_before_precision_states_both_commands():
    references = _load("train_references")
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


# ---------------------------------------------------------------------------- the others


def test_evaluate_toys_quick_writes_every_run(tmp_path):
    """One run (the GAN on the ring, 50 steps) through training, scoring and the Jacobian-
    truncated scoring; WGAN-GP and the grid go through the same `run_one`."""
    out = tmp_path / "toys.json"
    stdout = _run(
        "evaluate_toys.py", "--quick", "--steps", 50, "--models", "gan",
        "--datasets", "gaussian_ring", "--json", out, cwd=tmp_path,
    )  # fmt: skip
    record = json.loads(out.read_text())
    assert record["total_seconds"] > 0
    assert record["command"] == (
        f"python tools/evaluate_toys.py --quick --steps 50 --models gan --datasets gaussian_ring "
        f"--json {out}"
    )
    assert record["environment"]["tensorflow"] and record["environment"]["cpu_count"] >= 1
    (run,) = record["runs"]
    assert (run["model"], run["dataset"], run["seed"]) == ("gan", "gaussian_ring", 0)
    assert run["generator_steps"] == 50 and run["num_modes"] == 8
    assert 0 <= run["modes_covered"] <= 8 and 0 <= run["high_quality_percent"] <= 100
    truncated = run["jacobian_truncation"]
    assert truncated["share"] == 0.25 and 0 <= truncated["modes_covered"] <= 8
    assert "| method | ring modes (of 8) |" in stdout and "(published)" in stdout


def test_compare_baseline_quick_scores_both_sides(tmp_path):
    data_dir = _data_dir()
    out = tmp_path / "compare.json"
    stdout = _run("compare_baseline.py", "--quick", "--json", out, cwd=tmp_path, data_dir=data_dir)
    results = json.loads(out.read_text())
    assert results["minutes"] == 0.05
    for side in ("tutorial", "kgan"):
        row = results[side]
        assert row["steps"] >= 1 and row["images_seen"] == row["steps"] * row["batch_size"]
        assert set(METRICS) <= set(row) and set(METRICS) <= set(row["real_data"])
        assert (tmp_path / f"compare_baseline_{side}.png").is_file()
        assert re.search(rf"^\| {side} \| [\d,]+ \| [\d,]+ \| ", stdout, re.M)
    assert not list(tmp_path.glob("compare.json.*"))  # The workers' parts are removed.


def test_screen_cifar10_quick_scores_a_candidate_and_refuses_another_budget(tmp_path):
    data_dir = _data_dir("cifar10/test", "the CIFAR-10 copy's test images")
    out = tmp_path / "screen.json"
    args = ("--quick", "--json", out)
    stdout = _run("screen_cifar10.py", *args, "--only", "tutorial", cwd=tmp_path, data_dir=data_dir)
    results = json.loads(out.read_text())
    assert results["images"] == 1024 and results["quick"] is True
    assert list(results["candidates"]) == ["tutorial"]
    row = results["candidates"]["tutorial"]
    # The budget is in images, whatever the batch size: the tutorial's is 256.
    assert row["batch_size"] == 256 and row["images_seen"] == row["steps"] * 256 == 1024
    assert set(METRICS) <= set(row) and set(METRICS) <= set(row["real_data"])
    assert row["environment"]["cpu_count"] >= 1
    assert (tmp_path / "screen_tutorial.png").is_file()  # Named after the results file.
    assert re.search(r"^\| tutorial \| 4 x 256 \| ", stdout, re.M)
    assert "--only tutorial" in results["command"]
    assert results["command"].endswith(f"--json {out}")  # Not the default file: it is named.
    assert not list(tmp_path.glob("screen.json.*"))  # The worker's part is removed.
    # Another budget is refused: its entries would not compare with the file's.
    env = {**os.environ, "KGAN_DATA_DIR": str(data_dir)}
    result = subprocess.run(
        [sys.executable, str(TOOLS / "screen_cifar10.py"), *map(str, args), "--images", "2048"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0 and "Received: --images=2048" in result.stderr


def test_screen_cifar10_counts_the_images_of_the_wgangp_variant_per_critic_batch():
    screen = _load("screen_cifar10")
    gan, batch_size = screen.build("wgangp")
    assert type(gan).__name__ == "WGANGP" and batch_size == 64
    assert screen.batches_per_step(gan) == gan.n_critic == 5
    stored = screen.stored_settings("wgangp")
    assert stored["model"] == "wgangp" and stored["recipe_settings"]["model"] == "wgangp"
    assert screen.batches_per_step(screen.build("recipe")[0]) == 1


def test_screen_cifar10_conditional_candidates_keep_the_class_at_the_generators_input():
    """The stored screen trained them so, whatever the recipe's conditional generator is now."""
    screen = _load("screen_cifar10")
    gan, _ = screen.build(screen.CONDITIONAL_RECIPE_CANDIDATE, num_classes=10)
    names = [layer.name for layer in gan.generator.layers]
    assert "z_and_class" in names and "project_norm" in names
    assert type(gan.generator.get_layer("project_norm")).__name__ == "BatchNormalization"


def test_screen_cifar10_residual_candidate_builds_residual_networks_on_the_recipes_pick():
    screen = _load("screen_cifar10")
    gan, batch_size = screen.build("recipe_r1_0.1_diffaugment_residual")
    for network in (gan.generator, gan.discriminator):
        assert sum(layer.name.endswith("_add") for layer in network.layers) == 3  # 32x32: 3 stages
    assert gan.r1_weight == 0.1 and batch_size == 64
    assert gan.generator.output_shape == (None, 32, 32, 3)


def test_screen_cifar10_self_conditioned_candidate_trains_on_clusters_and_samples_z_alone():
    screen = _load("screen_cifar10")
    name = "recipe_r1_0.1_diffaugment_clusters_100"
    assert name in screen.candidates(False) and name not in screen.candidates(True)
    gan, batch_size = screen.build(name)
    assert gan.num_classes == 100 and batch_size == 64
    assert gan.generator.get_layer("project_norm").__class__.__name__ == (
        "ClassConditionalBatchNormalization"
    )
    self_conditioned = _load("self_conditioned")
    images = np.random.default_rng(0).uniform(-1, 1, (256, 32, 32, 3)).astype("float32")
    # Clustered before training and after step 4; not after step 8, the end of the last full
    # interval, whose clusters the 2 steps left over train on as well.
    sampler, clusterings = self_conditioned.train(
        gan, images, batch_size=batch_size, steps=10, recluster_steps=4
    )
    assert int(gan.g_optimizer.iterations.numpy()) == 10 and clusterings == 2
    assert sampler.latent_dim == gan.latent_dim + 1
    samples = sampler.generate(5, seed=0)
    assert samples.shape == (5, 32, 32, 3)
    np.testing.assert_array_equal(samples, sampler.generate(5, seed=0))


@pytest.mark.parametrize(
    "args, message",
    [
        (("--conditional", "--only", "tutorial"), "'tutorial' is not a candidate of a conditional"),
        (
            ("--only", "recipe_r1_0.1_diffaugment_projection"),
            "'recipe_r1_0.1_diffaugment_projection' is not a candidate of an unconditional",
        ),
        (("--only", "defaults", "--json", "conditional.json"), "--conditional=False"),
    ],
)
def test_the_kinds_of_screen_do_not_mix(tmp_path, monkeypatch, capsys, args, message):
    """A candidate of the other kind, or a results file of the other kind, is refused."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conditional.json").write_text(
        json.dumps({"images": 1024, "quick": True, "conditional": True, "candidates": {}})
    )
    screen = _load("screen_cifar10")
    with pytest.raises(SystemExit) as raised:
        screen.main(["--quick", *args] + ([] if "--json" in args else ["--json", "other.json"]))
    assert message in f"{raised.value.code}{capsys.readouterr().err}"
    assert not (tmp_path / "other.json").exists()


# Slow: the unconditional screen's quick test runs the same workers and results file.
@pytest.mark.slow
def test_screen_cifar10_conditional_scores_class_control_in_its_own_file(tmp_path):
    data_dir = _data_dir("cifar10/test", "the CIFAR-10 copy's test images")
    name = "recipe_r1_0.1_diffaugment_projection"
    stdout = _run(
        "screen_cifar10.py", "--quick", "--conditional", "--only", name, "--json",
        tmp_path / "conditional.json", cwd=tmp_path, data_dir=data_dir,
    )  # fmt: skip
    results = json.loads((tmp_path / "conditional.json").read_text())
    assert results["conditional"] is True and list(results["candidates"]) == [name]
    assert results["command"].startswith("python tools/screen_cifar10.py --conditional ")
    control = results["candidates"][name]["class_control"]
    assert len(control["per_class"]) == 10 and 0 <= control["overall"] <= 1
    assert re.search(rf"^\| {name} \| 16 x 64 \| .* \| \d+\.\d% \|$", stdout, re.M)
    assert (tmp_path / f"conditional_{name}.png").is_file()


@pytest.mark.parametrize("conditional", [False, True], ids=["unconditional", "conditional"])
def test_the_cifar10_recipe_is_the_best_candidate_of_the_stored_screen(conditional):
    import inspect

    import kgan

    screen = _load("screen_cifar10")
    file = "cifar10_conditional_screen.json" if conditional else "cifar10_screen.json"
    stored = json.loads((TOOLS / "results" / file).read_text())["candidates"]
    # The stored entries are the candidates as the script trains them today.
    for name, row in stored.items():
        assert row["settings"] == screen.stored_settings(name), name
    best = screen.CONDITIONAL_RECIPE_CANDIDATE if conditional else screen.RECIPE_CANDIDATE
    assert best == min(stored, key=lambda name: stored[name]["fid"])
    recipe = kgan.recipes.get("cifar10", conditional=conditional)
    builder = inspect.signature(kgan.models.dcgan_discriminator).parameters
    recipe["discriminator"].setdefault("conditioning", builder["conditioning"].default)
    if conditional:
        # The generator's conditioning was chosen at full length, not in the screen: the
        # reference trained with it controls the class better than the one trained without.
        assert recipe["generator"].pop("conditioning") == "batch_norm"
        cards = [
            json.loads(path.read_text())
            for path in (
                TOOLS.parent / "savedmodels" / "cifar10_cdcgan" / "card.json",
                TOOLS / "results" / "cifar10_cdcgan_input_conditioning.json",
            )
        ]
        steps = ("generator_steps", "batch_size", "real_images_seen")
        assert [[card["training"][key] for key in steps] for card in cards] == [
            [46920, 64, 3e6]
        ] * 2
        chosen, other = (card["evaluation"]["class_control"]["overall"] for card in cards)
        assert chosen > other
    generator = inspect.signature(kgan.models.dcgan_generator).parameters
    recipe["generator"].setdefault("conditioning", generator["conditioning"].default)
    for key, value in screen.settings_of(best).items():
        if isinstance(value, dict):
            assert value == recipe[key], key
        else:
            assert recipe.get(key, recipe["model_options"].get(key)) == value, key


def test_benchmark_data_quick_prints_both_rates_and_their_ratio(tmp_path):
    stdout = _run("benchmark_data.py", "--quick", cwd=tmp_path, data_dir=_data_dir())
    assert "dataset: mnist (28, 28, 1), batch size 32" in stdout
    rates = [
        float(value.replace(",", ""))
        for value in re.findall(r"([\d,]+(?:\.\d+)?)(?: images/s|x \(target)", stdout)
    ]
    assert len(rates) == 3 and rates[2] == pytest.approx(rates[0] / rates[1], rel=0.01)


def test_benchmark_data_cache_times_a_folder_decoded_then_read_from_the_cache(
    tmp_path, monkeypatch
):
    from PIL import Image

    from kgan.data import folder

    benchmark_data = _load("benchmark_data")

    for i in range(3):
        Image.fromarray(np.full((6, 5), i, np.uint8)).save(tmp_path / f"{i}.png")
    decoded = []
    decode_all = folder._decode_all
    monkeypatch.setattr(folder, "_decode_all", lambda *a: decoded.append(1) or decode_all(*a))
    monkeypatch.setenv("KGAN_CACHE_DIR", str(tmp_path / "kept"))
    first, second = benchmark_data.cache_seconds(str(tmp_path), None)
    assert len(decoded) == 1 and first > 0 and second > 0  # The second load read the cache.
    assert os.environ["KGAN_CACHE_DIR"] == str(tmp_path / "kept")  # Restored after.
    assert not (tmp_path / "kept").exists()  # The timing used a new cache folder of its own.
    with pytest.raises(SystemExit, match="not read from image folders.*--dataset gaussian_ring"):
        benchmark_data.cache_seconds("gaussian_ring", None)


def test_benchmark_fit_wait_quick_prints_every_call_and_the_map_rates(tmp_path):
    stdout = _run("benchmark_fit_wait.py", "--quick", cwd=tmp_path)
    for kind in ("kgan (autotuning thread off)", "autotune.enabled=True (before)"):
        calls = re.findall(
            rf"^{re.escape(kind)}\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+$", stdout, re.M
        )
        assert len(calls) == 2, stdout
        assert re.search(rf"^{re.escape(kind)}\s+median tail\s+[\d.]+$", stdout, re.M)
    assert re.search(r"autotuning thread on \d+ images/s, off \d+ images/s", stdout)


def test_benchmark_inference_quick_writes_its_table(tmp_path):
    out = tmp_path / "inference.md"
    _run("benchmark_inference.py", "--quick", "--markdown-out", out, cwd=tmp_path)
    text = out.read_text()
    assert text.startswith("DCGAN generator 28x28x1, z 100, ")
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert [row.split(" | ")[0] for row in rows[1:]] == [
        "| Keras predict", "| Keras call (eager)", "| SavedModel serving_default",
        "| onnxruntime",
    ]  # fmt: skip
    assert "throughput, batch 8" in rows[0]
    assert rows[1].endswith("| reference |")
    for row in rows[3:]:  # The exports' largest difference from Keras.
        assert float(row.split(" | ")[-1].rstrip(" |")) < 1e-4


def test_benchmark_train_quick_prints_its_table(tmp_path):
    """One row and the row it is compared with (every row, with XLA compilation and the costs
    after the table, takes minutes even with --quick)."""
    row = "kgan GAN.fit, alternating"
    stdout = _run("benchmark_train.py", "--quick", "--only", row, cwd=tmp_path)
    assert stdout.startswith("TensorFlow ")
    assert re.search(r"^hand loop, alternating\s+\d+\.\d\s+\d+\s*$", stdout, re.M), stdout
    pattern = rf"^{row}\s+\d+\.\d\s+\d+\s+\d\.\d{{3}} x hand loop, alternating \(calls"
    assert re.search(pattern, stdout, re.M), stdout

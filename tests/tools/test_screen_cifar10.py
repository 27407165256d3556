"""tools/screen_cifar10.py: a quick screen end to end, what each candidate builds, and the
stored screens that the `cifar10` recipe follows (the fixtures are in conftest.py)."""

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools"
METRICS = ("fid", "kid", "kid_std", "precision", "recall", "density", "coverage")


def test_screen_cifar10_quick_scores_a_candidate_and_refuses_another_budget(
    tool_data, run_tool, load_tool, tmp_path, monkeypatch
):
    data_dir = tool_data("cifar10/test", "the CIFAR-10 copy's test images")
    out = tmp_path / "screen.json"
    args = ("--quick", "--json", out)
    # Two steps of the tutorial's batch of 256: the smallest budget that shows it is counted in
    # images, not steps.
    stdout = run_tool(
        "screen_cifar10.py",
        *args,
        "--images",
        512,
        "--only",
        "tutorial",
        cwd=tmp_path,
        data_dir=data_dir,
    )
    results = json.loads(out.read_text())
    assert results["images"] == 512 and results["quick"] is True
    assert list(results["candidates"]) == ["tutorial"]
    row = results["candidates"]["tutorial"]
    # The budget is in images, whatever the batch size: the tutorial's is 256.
    assert row["batch_size"] == 256 and row["images_seen"] == row["steps"] * 256 == 512
    assert set(METRICS) <= set(row) and set(METRICS) <= set(row["real_data"])
    assert row["environment"]["cpu_count"] >= 1
    assert (tmp_path / "screen_tutorial.png").is_file()  # Named after the results file.
    assert re.search(r"^\| tutorial \| 2 x 256 \| ", stdout, re.M)
    assert "--only tutorial" in results["command"]
    assert results["command"].endswith(f"--json {out}")  # Not the default file: it is named.
    assert not list(tmp_path.glob("screen.json.*"))  # The worker's part is removed.
    # Another budget is refused: its entries would not compare with the file's.
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="Received: --images=2048"):
        load_tool("screen_cifar10").main([*map(str, args), "--images", "2048"])


def test_screen_cifar10_counts_the_images_of_the_wgangp_variant_per_critic_batch(load_tool):
    screen = load_tool("screen_cifar10")
    gan, batch_size = screen.build("wgangp")
    assert type(gan).__name__ == "WGANGP" and batch_size == 64
    assert screen.batches_per_step(gan) == gan.n_critic == 5
    stored = screen.stored_settings("wgangp")
    assert stored["model"] == "wgangp" and stored["recipe_settings"]["model"] == "wgangp"
    assert screen.batches_per_step(screen.build("recipe")[0]) == 1


def test_screen_cifar10_conditional_candidates_keep_the_class_at_the_generators_input(load_tool):
    """The stored screen trained them so, whatever the recipe's conditional generator is now."""
    screen = load_tool("screen_cifar10")
    gan, _ = screen.build(screen.CONDITIONAL_RECIPE_CANDIDATE, num_classes=10)
    names = [layer.name for layer in gan.generator.layers]
    assert "z_and_class" in names and "project_norm" in names
    assert type(gan.generator.get_layer("project_norm")).__name__ == "BatchNormalization"


def test_screen_cifar10_residual_candidate_builds_residual_networks_on_the_recipes_pick(load_tool):
    screen = load_tool("screen_cifar10")
    gan, batch_size = screen.build("recipe_r1_0.1_diffaugment_residual")
    for network in (gan.generator, gan.discriminator):
        assert sum(layer.name.endswith("_add") for layer in network.layers) == 3  # 32x32: 3 stages
    assert gan.r1_weight == 0.1 and batch_size == 64
    assert gan.generator.output_shape == (None, 32, 32, 3)


def test_screen_cifar10_self_conditioned_candidate_trains_on_clusters_and_samples_z_alone(
    load_tool,
):
    screen = load_tool("screen_cifar10")
    for name in ("recipe_r1_0.1_diffaugment_clusters_100", "recipe_r1_0.1_bcr_clusters_100"):
        assert name in screen.candidates(False) and name not in screen.candidates(True)
    name = "recipe_r1_0.1_diffaugment_clusters_100"
    gan, batch_size = screen.build(name)
    assert gan.num_classes == 100 and batch_size == 64
    assert gan.generator.get_layer("project_norm").__class__.__name__ == (
        "ClassConditionalBatchNormalization"
    )
    self_conditioned = load_tool("self_conditioned")
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
def test_the_kinds_of_screen_do_not_mix(load_tool, tmp_path, monkeypatch, capsys, args, message):
    """A candidate of the other kind, or a results file of the other kind, is refused."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conditional.json").write_text(
        json.dumps({"images": 1024, "quick": True, "conditional": True, "candidates": {}})
    )
    screen = load_tool("screen_cifar10")
    with pytest.raises(SystemExit) as raised:
        screen.main(["--quick", *args] + ([] if "--json" in args else ["--json", "other.json"]))
    assert message in f"{raised.value.code}{capsys.readouterr().err}"
    assert not (tmp_path / "other.json").exists()


# Slow: the unconditional screen's quick test runs the same workers and results file.
@pytest.mark.slow
def test_screen_cifar10_conditional_scores_class_control_in_its_own_file(
    tool_data, run_tool, tmp_path
):
    data_dir = tool_data("cifar10/test", "the CIFAR-10 copy's test images")
    name = "recipe_r1_0.1_diffaugment_projection"
    stdout = run_tool(
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
def test_the_cifar10_recipe_is_the_best_candidate_of_the_stored_screen(load_tool, conditional):
    import inspect

    import kgan

    screen = load_tool("screen_cifar10")
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


def test_screen_cifar10_recluster_candidates_train_with_their_interval(load_tool, monkeypatch):
    """The candidates that cluster again less often build the self-conditioned candidate's
    networks and hand their interval to the training; the others keep the default."""
    screen = load_tool("screen_cifar10")
    self_conditioned = load_tool("self_conditioned")
    intervals = []

    def train(gan, images, *, batch_size, steps, recluster_steps):
        intervals.append(recluster_steps)
        raise StopIteration  # Enough: the interval is what is checked.

    monkeypatch.setattr(self_conditioned, "train", train)
    monkeypatch.setitem(sys.modules, "self_conditioned", self_conditioned)
    # A screen's worker sets its thread counts first, which this process cannot do any more.
    for setter in ("set_intra_op_parallelism_threads", "set_inter_op_parallelism_threads"):
        monkeypatch.setattr(tf.config.threading, setter, lambda threads: None)
    monkeypatch.setattr(screen, "_images", lambda quick: (np.zeros((64, 32, 32, 3)), None))
    base = "recipe_r1_0.1_diffaugment_clusters_100"
    for name in (f"{base}_recluster_5000", f"{base}_recluster_15000", base):
        assert name in screen.candidates(False) and name not in screen.candidates(True)
        with pytest.raises(StopIteration):
            screen.run_candidate(name, 1024, "unused.json", quick=True)
    assert intervals == [5000, 15000, self_conditioned.RECLUSTER_STEPS]
    built, _ = screen.build(f"{base}_recluster_5000")
    reference, _ = screen.build(base)
    assert built.num_classes == 100 and built.count_params() == reference.count_params()


def test_screen_cifar10_bcr_candidates_build_the_recipes_pick_with_consistency(load_tool):
    screen = load_tool("screen_cifar10")
    for name, augment, classes in (
        ("recipe_r1_0.1_diffaugment_bcr", "color,translation,cutout", None),
        ("recipe_r1_0.1_bcr", None, None),
        ("recipe_r1_0.1_bcr_clusters_100", None, 100),
    ):
        gan, _ = screen.build(name)
        assert gan.consistency_weight == 10.0 and gan.augment == augment
        assert gan.r1_weight == 0.1 and gan.num_classes == classes
        assert "consistency" in [penalty.name for penalty in gan._penalties]

"""`tools/results_table.py` builds the results table of `savedmodels/README.md` from model cards
and toy runs."""

import importlib.util
import json
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def table_tool():
    return _load("results_table")


def _figures(fid):
    return {
        "fid": fid, "kid": 0.5, "kid_std": 0.1, "precision": 0.8, "recall": 0.7,
        "density": 0.9, "coverage": 0.6,
    }  # fmt: skip


@pytest.fixture
def sources(tmp_path):
    savedmodels = tmp_path / "savedmodels"
    card = {
        "name": "mnist_x",
        "model": "gan",
        "conditional": True,
        "data": "mnist",
        "training": {"generator_steps": 12000, "seconds": 3000.0},
        "evaluation": {
            "model": _figures(7.25),
            "real_data": _figures(0.84),
            "class_control": {"overall": 0.975, "per_class": [0.975] * 10},
        },
    }
    (savedmodels / "mnist_x").mkdir(parents=True)
    (savedmodels / "mnist_x" / "card.json").write_text(json.dumps(card))
    results = tmp_path / "results"
    results.mkdir()
    runs = [
        {"dataset": "gaussian_ring", "model": "gan", "seed": seed, "generator_steps": 3000,
         "modes_covered": 8, "num_modes": 8, "high_quality_percent": hq, "train_seconds": 60.0}
        for seed, hq in enumerate((90.0, 80.0, 94.0))
    ]  # fmt: skip
    for run, hq in zip(runs, (97.0, 99.0, 98.0), strict=True):
        run["jacobian_truncation"] = {
            "share": 0.25, "modes_covered": 8, "num_modes": 8, "high_quality_percent": hq
        }  # fmt: skip
    (results / "toys_gan.json").write_text(json.dumps({"runs": runs}))
    return savedmodels, results


def test_table_has_each_figure_and_the_real_data_floor(table_tool, sources):
    text = table_tool.table(*sources)
    assert "| `mnist_x` (gan, conditional) | mnist | 12,000 | 50 | 7.25 |" in text
    assert "| real training images (floor) | mnist | - | - | 0.84 |" in text
    assert "97.5%" in text
    # Three seeds: the mean and the spread (min-max).
    assert "| gan | gaussian_ring | 3 | 3,000 | 8.0 (8.0-8.0) / 8 | 88.0 (80.0-94.0) |" in text
    # The same runs scored on samples drawn with Jacobian truncation: a row of their own.
    assert (
        "| gan, Jacobian truncation 25% | gaussian_ring | 3 | 3,000 | 8.0 (8.0-8.0) / 8 | "
        "98.0 (97.0-99.0) |" in text
    )
    assert "98.9" in text  # the ideal sampler's share


def test_evaluations_that_drew_other_real_images_each_show_their_floor(table_tool, sources):
    savedmodels, results = sources
    card = json.loads((savedmodels / "mnist_x" / "card.json").read_text())
    # mnist_y's figures differ from mnist_x's only past the digits shown, as the same images
    # scored on another machine do: one row.
    for name, floor in (("mnist_y", 0.84 + 2e-6), ("mnist_z", 0.61)):
        card.update(name=name, evaluation={**card["evaluation"], "real_data": _figures(floor)})
        (savedmodels / name).mkdir()
        (savedmodels / name / "card.json").write_text(json.dumps(card))
    text = table_tool.table(savedmodels, results)
    assert "| real training images (floor) |" not in text
    assert (
        "| real training images (floor, drawn for `mnist_x`, `mnist_y`) | mnist | - | - | 0.84 |"
        in text
    )
    assert "| real training images (floor, drawn for `mnist_z`) | mnist | - | - | 0.61 |" in text


def test_a_screen_gets_its_own_table_best_fid_first(table_tool, sources):
    savedmodels, results = sources
    row = {"steps": 5000, "batch_size": 64, "train_seconds": 1200.0, "dtype_policy": "float32"}
    screen = {
        "images": 320000,
        "quick": False,
        "command": "python tools/screen_cifar10.py --images 320000 --only recipe,tutorial",
        "candidates": {
            "recipe": {**row, **_figures(80.5)},
            "tutorial": {**row, "steps": 1250, "batch_size": 256, **_figures(120.25)},
            "recipe_ttur": {**row, **_figures(70.75)},
            "wgangp": {
                **row,
                "steps": 1000,
                "batches_per_step": 5,
                "dtype_policy": "mixed_bfloat16",
                **_figures(150.0),
            },
        },
    }
    (results / "cifar10_screen.json").write_text(json.dumps(screen))
    text = table_tool.table(savedmodels, results)
    assert (
        "Screen `tools/results/cifar10_screen.json`: 320,000 real images each, one seed, "
        "unconditional, float32, mixed_bfloat16 (`python tools/screen_cifar10.py --images 320000 "
        "--only recipe,tutorial`)"
    ) in text  # Minutes compare only between candidates of one policy: each row names its own.
    assert "| candidate | policy | steps x batch | minutes | FID |" in text
    rows = [line for line in text.splitlines() if line.startswith(("| recipe", "| tutorial"))]
    assert rows == [
        "| recipe_ttur | float32 | 5,000 x 64 | 20 | 70.75 | 0.500 | 0.800 | 0.700 | 0.900 | "
        "0.600 |",
        "| recipe | float32 | 5,000 x 64 | 20 | 80.50 | 0.500 | 0.800 | 0.700 | 0.900 | 0.600 |",
        "| tutorial | float32 | 1,250 x 256 | 20 | 120.25 | 0.500 | 0.800 | 0.700 | 0.900 | "
        "0.600 |",
    ]
    # A WGAN-GP critic reads 5 fresh batches a step: the same images in fewer steps.
    assert "| wgangp | mixed_bfloat16 | 1,000 x (5 x 64) | 20 | 150.00 |" in text


def test_a_conditional_screen_adds_class_control(table_tool, sources):
    savedmodels, results = sources
    row = {"steps": 3000, "batch_size": 64, "train_seconds": 600.0, "dtype_policy": "float32"}
    screen = {
        "images": 192000,
        "quick": False,
        "conditional": True,
        "command": "python tools/screen_cifar10.py --conditional --images 192000 --only recipe",
        "candidates": {"recipe": {**row, **_figures(90.5), "class_control": {"overall": 0.4125}}},
    }
    (results / "cifar10_conditional_screen.json").write_text(json.dumps(screen))
    text = table_tool.table(savedmodels, results)
    assert "192,000 real images each, one seed, class-conditional, float32 (`python" in text
    assert (
        "| recipe | 3,000 x 64 | 10 | 90.50 | 0.500 | 0.800 | 0.700 | 0.900 | 0.600 | 41.2% |"
        in text
    )


def test_a_screen_in_another_file_states_it_and_a_baselines_only_screen_says_so(
    table_tool, sources
):
    savedmodels, results = sources
    row = {"steps": 15640, "batch_size": 64, "train_seconds": 2220.0, **_figures(175.5)}
    row["dtype_policy"] = "mixed_bfloat16"
    screen = {
        "images": 1000960,
        "quick": False,
        "command": "python tools/screen_cifar10.py --images 1000960 --only defaults",
        "candidates": {"defaults": row},
    }
    (results / "cifar10_1m_screen.json").write_text(json.dumps(screen))
    text = table_tool.table(savedmodels, results)
    assert (
        "(`python tools/screen_cifar10.py --images 1000960 --only defaults --json "
        "tools/results/cifar10_1m_screen.json`); baselines only."
    ) in text


def test_stacked_mnist_gets_its_own_table_beside_the_published_figures(table_tool, sources):
    savedmodels, results = sources
    record = {
        "command": "python tools/evaluate_stacked_mnist.py --seeds 2",
        "recipe": "stacked_mnist",
        "training_images": 128000,
        "num_samples": 26000,
        "classifier": "savedmodels/classifiers/mnist.keras",
        "runs": [
            {"seed": 0, "generator_steps": 6000, "seconds": 1500.0, "modes_covered": 1000,
             "kl_to_uniform": 0.0512},
            {"seed": 1, "generator_steps": 6000, "seconds": 1620.0, "modes_covered": 996,
             "kl_to_uniform": 0.0731},
        ],
        "published": [{"model": "PacDCGAN2", "modes": 1000, "kl": 0.06}],
    }  # fmt: skip
    (results / "stacked_mnist.json").write_text(json.dumps(record))
    packed = {**record, "packing": 2, "runs": record["runs"][:1]}
    packed["command"] += " --packing 2"
    (results / "stacked_mnist_packing2.json").write_text(json.dumps(packed))
    clustered = {**record, "clusters": 100, "runs": record["runs"][1:]}
    clustered["real_data"] = {"modes_covered": 1000, "kl_to_uniform": 0.0239}
    clustered["command"] += " --clusters 100"
    (results / "stacked_mnist_clusters100.json").write_text(json.dumps(clustered))
    weaker = {**record, "runs": [{**run, "r1_weight": 0.1} for run in record["runs"][:1]]}
    weaker["command"] += " --r1-weight 0.1"
    (results / "stacked_mnist_r1_0.1.json").write_text(json.dumps(weaker))
    decayed = {**record, "runs": [{**run, "lr_decay_from": 0.5} for run in record["runs"][:1]]}
    decayed["command"] += " --lr-decay-from 0.5"
    (results / "stacked_mnist_lr_decay_0.5.json").write_text(json.dumps(decayed))
    text = table_tool.table(savedmodels, results)
    assert (
        "Stacked MNIST (`python tools/evaluate_stacked_mnist.py --seeds 2`; "
        "`python tools/evaluate_stacked_mnist.py --seeds 2 --lr-decay-from 0.5`; "
        "`python tools/evaluate_stacked_mnist.py --seeds 2 --r1-weight 0.1`; "
        "`python tools/evaluate_stacked_mnist.py --seeds 2 --packing 2`; "
        "`python tools/evaluate_stacked_mnist.py --seeds 2 --clusters 100`)" in text
    )
    rows = [
        line
        for line in text.splitlines()
        if "stacked_mnist` recipe" in line or "(published)" in line or "(floor) | -" in line
    ]
    assert rows == [
        "| `stacked_mnist` recipe | 2 | 6,000 | 998 (996-1,000) | 0.062 (0.051-0.073) | "
        "26 (25-27) |",
        "| `stacked_mnist` recipe, learning rates falling linearly to zero from 50% of the steps "
        "| 1 | 6,000 | 1,000 (1 seed) | 0.051 (1 seed) | 25 (1 seed) |",
        "| `stacked_mnist` recipe, R1 weight 0.1 | 1 | 6,000 | 1,000 (1 seed) | 0.051 (1 seed) | "
        "25 (1 seed) |",
        "| `stacked_mnist` recipe, packing 2 | 1 | 6,000 | 1,000 (1 seed) | 0.051 (1 seed) | "
        "25 (1 seed) |",
        "| `stacked_mnist` recipe, self-conditioned on 100 clusters | 1 | 6,000 | 996 (1 seed) | "
        "0.073 (1 seed) | 27 (1 seed) |",
        "| real training images (floor) | - | - | 1,000 | 0.024 | - |",
        "| PacDCGAN2 (published) | - | - | 1,000 | 0.06 | - |",
    ]


def test_check_fails_on_a_stale_readme_and_write_fixes_it(table_tool, sources, tmp_path):
    savedmodels, results = sources
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n{table_tool.BEGIN}\nold\n{table_tool.END}\n\nAfter.\n")
    common = ["--savedmodels", str(savedmodels), "--results", str(results)]
    assert table_tool.main([*common, "--check", str(readme)]) == 1
    assert table_tool.main([*common, "--write", str(readme)]) == 0
    assert table_tool.main([*common, "--check", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("# Title\n") and text.endswith("\n\nAfter.\n") and "7.25" in text


def test_a_readme_without_markers_is_an_error(table_tool, sources, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("no table here\n")
    with pytest.raises(ValueError, match="results table markers"):
        table_tool.main(["--check", str(readme)])


def test_the_savedmodels_table_is_up_to_date(table_tool):
    """Every figure in `savedmodels/README.md`'s results table comes from the cards and results
    files, next to which it is published."""
    readme = TOOLS.parent / "savedmodels" / "README.md"
    assert table_tool.main(["--check", str(readme)]) == 0


def test_the_stacked_mnist_r1_weight_the_table_leaves_unnamed_is_the_recipes(table_tool):
    import kgan

    recipe = kgan.recipes.get("stacked_mnist")["model_options"]["r1_weight"]
    assert table_tool.STACKED_MNIST_R1_WEIGHT == recipe

"""Every figure quoted in prose is the one in the stored output it comes from.

`README.md`, `savedmodels/README.md`, `tools/README.md` and the recipes' notes may quote a
measured figure only if a claim below renders that exact text from the stored file (a model
card, a `tools/results/` file); the results table between its markers is generated and checked
by `test_results_table.py`. Any other decimal, percentage, ratio or thousands figure in their
prose fails the scan unless it is a setting listed in `SETTINGS` (an argument value, a protocol
size or a constant of a library), not a measurement.
"""

import ast
import json
import re
from pathlib import Path

import pytest

from kgan import recipes
from kgan.runs.clusters import RECLUSTER_STEPS

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "tools" / "results"
DOCS = ("README.md", "savedmodels/README.md", "tools/README.md")
FASHION_PLURALS = [
    "T-shirts/tops", "trousers", "pullovers", "dresses", "coats",
    "sandals", "shirts", "sneakers", "bags", "ankle boots",
]  # fmt: skip

CIFAR10_PLURALS = [
    "airplanes", "automobiles", "birds", "cats", "deer",
    "dogs", "frogs", "horses", "ships", "trucks",
]  # fmt: skip

# Numbers that are settings, not measurements, per document.
SETTINGS = {
    # jacobian_truncation, step_size, Adam's betas; the Apache License's version;
    # kgan.recipes.SMALL_DATA_IMAGES (test_the_small_folder_size_is_the_recipes_constant)
    "README.md": {"0.25", "0.2", "0.5", "0.9", "2.0", "10,000"},
    # the truncation share; protocol sizes set in tools/train_references.py, evaluate_toys.py
    # and evaluate_control.py
    "savedmodels/README.md": {"0.25", "0.1", "10,000", "1,000", "2,500"},
    # tf.data's autotuning period (see kgan.data.pipeline.without_autotune_thread); the target
    # that tools/benchmark_data.py states; protocol sizes of tools/evaluate_toys.py; the
    # TensorFlow release the wait was seen with
    "tools/README.md": {"10.24", "20x", "2,500", "1,000", "2.21"},
}
FIGURE = re.compile(
    r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?:%|x\b)|(?<![\w.])\d+\.\d+|\b\d{1,3}(?:,\d{3})+"
)


def _json(path):
    return json.loads(Path(path).read_text())


def _card(name):
    return _json(ROOT / "savedmodels" / name / "card.json")


def _benchmark_rows(name):
    """Row name -> (images/s, the rest of the line) of a `tools/benchmark_train.py` output."""
    rows = {}
    for line in (RESULTS / name).read_text().splitlines():
        match = re.match(r"^(\S.*?)\s{2,}(\d+\.\d)\s+\d+\s*(.*)$", line)
        if match:
            rows[match[1]] = (match[2], match[3])
    return rows


def _ratio(rows, row):
    return re.match(r"(\d\.\d{3}) x", rows[row][1])[1]


def _per_round(rows, row):
    pattern = r"per round (\d\.\d{3}), [\d.]+-[\d.]+, mean (\d\.\d{3}) \+- (\d\.\d{3})"
    return re.search(pattern, rows[row][1]).groups()


def _transfer(card, truncated, keys):
    model = card["evaluation"]["model"]
    parts = [f"FID {model['fid']:.2f} to {truncated['fid']:.2f}"]
    parts += [f"{key} {model[key]:.3f} to {truncated[key]:.3f}" for key in keys]
    return ", ".join(parts)


def _class_control(name, label):
    per_class = _card(name)["evaluation"]["class_control"]["per_class"]
    low, high = per_class.index(min(per_class)), per_class.index(max(per_class))
    return f"{min(per_class):.1%} for {label(low)}", f"{max(per_class):.1%} for {label(high)}"


def claims():
    """(document, text) pairs: each text is rendered from its stored source."""
    out = []
    saved = "savedmodels/README.md"

    baseline = _json(RESULTS / "compare_baseline.json")
    kgan_run, tutorial = baseline["kgan"], baseline["tutorial"]
    out += [
        (saved, f"for the same {baseline['minutes']:.0f} minutes"),
        (saved, f"kgan FID {kgan_run['fid']:.2f} after {kgan_run['steps']:,} steps of batch "
                f"{kgan_run['batch_size']}"),
        (saved, f"FID {tutorial['fid']:.2f} after {tutorial['steps']:,} steps of batch "
                f"{tutorial['batch_size']}"),
    ]  # fmt: skip

    wgangp = _card("mnist_wgangp")
    training, model = wgangp["training"], wgangp["evaluation"]["model"]
    seen = re.search(r"of the (\d+), about (\d+) read at once", wgangp["seen"])
    out += [
        (saved, f"{training['epochs']} epochs, {training['generator_steps']:,} generator steps "
                f"and {training['critic_steps']:,} critic steps"),
        (saved, f"recall ({model['recall']:.3f})"),
        (saved, f"precision ({model['precision']:.3f})"),
        (saved, f"about {seen[2]} of {seen[1]} read at once"),
    ]  # fmt: skip

    def digits(card):
        """A card's figures, its grid count and the classes its samples are read as."""
        model = card["evaluation"]["model"]
        histogram = model["class_histogram"]
        seen = re.search(r"Of the (\d+), about (\d+) read at once", card["seen"])
        low, high = histogram.index(min(histogram)), histogram.index(max(histogram))
        return (
            model,
            f"FID {model['fid']:.2f}, about {seen[2]} of {seen[1]} read at once",
            f"{min(histogram):,} for {low} to {max(histogram):,} for {high}",
        )

    clustered, clustered_grid, clustered_classes = digits(_card("mnist_dcgan"))
    plain, plain_grid, plain_classes = digits(_json(RESULTS / "mnist_dcgan_recipe.json"))
    assert _card("mnist_dcgan")["clusters"] == 100
    conditional_fid = _card("mnist_cdcgan")["evaluation"]["model"]["fid"]
    out += [
        (saved, f"schedule: {clustered_grid}, beside the class-conditional `mnist_cdcgan`'s "
                f"{conditional_fid:.2f}"),
        (saved, f"as every digit, from {clustered_classes}."),
        (saved, f"the same recipe reached {plain_grid}"),
        (saved, f"({plain_classes})"),
        (saved, f"(precision {plain['precision']:.3f}, now {clustered['precision']:.3f})"),
    ]  # fmt: skip

    packed = _json(RESULTS / "stacked_mnist_packing2.json")
    modes = [run["modes_covered"] for run in packed["runs"]]
    kls = [run["kl_to_uniform"] for run in packed["runs"]]
    out.append(
        (saved, f"{min(modes):,} to {max(modes):,} modes, KL {min(kls):.3f} to {max(kls):.3f}")
    )
    assert packed["command"].endswith("--seeds 3 --packing 2 --threads 1")
    recipe, longer = (
        _json(RESULTS / f"{name}.json") for name in ("stacked_mnist", "stacked_mnist_steps15000")
    )
    (run,) = longer["runs"]
    (before,) = [r for r in recipe["runs"] if r["seed"] == run["seed"] == 0]
    floor = longer["real_data"]
    out += [
        (saved, f"Trained {run['generator_steps'] / before['generator_steps']:g} times as long "
                f"({run['generator_steps']:,} steps, seed 0 only)"),
        (saved, f"the recipe's KL falls from {before['kl_to_uniform']:.3f} to "
                f"{run['kl_to_uniform']:.3f}, against a floor of {floor['kl_to_uniform']:.3f}"),
        (saved, "are {:.3f}, {:.3f} and {:.3f}".format(*run["channel_kl_to_uniform"])),
        (saved, f"the training images' {max(floor['channel_kl_to_uniform']):.3f} at most"),
    ]  # fmt: skip
    doubled = _json(RESULTS / "stacked_mnist_steps30000.json")
    doubled_runs = doubled["runs"]
    assert [r["seed"] for r in doubled_runs] == [0, 1, 2] and doubled["clusters"] is None
    assert {r["generator_steps"] for r in doubled_runs} == {2 * run["generator_steps"]}
    assert {r["epochs_of_data"] for r in doubled_runs} == {15}
    assert all(
        r["command"].endswith(f"--run /work/runs_sm/seed{r['seed']}_30000") for r in doubled_runs
    )
    doubled_kls = [r["kl_to_uniform"] for r in doubled_runs]
    assert min(doubled_kls) > recipe["published"][-1]["kl"]  # "not there".
    doubled_channels = [kl for r in doubled_runs for kl in r["channel_kl_to_uniform"]]
    shorter = [*recipe["runs"], run, *doubled_runs]  # The recipe's runs of 30,000 steps or fewer.
    assert max(r["generator_steps"] for r in shorter) == 30_000
    assert {r["modes_covered"] for r in shorter} == {1000}
    assert min(r["kl_to_uniform"] for r in shorter) > recipe["published"][-1]["kl"]
    out.append((saved, "covers all 1,000 modes; up to\n  30,000 steps its KL to uniform is above "
                       "PacDCGAN2's"))  # fmt: skip
    out += [
        (saved, f"again ({doubled_runs[0]['generator_steps']:,} steps; seeds 0 to 2"),
        (saved, "the KL is {:.3f}, {:.3f} and {:.3f}".format(*doubled_kls)),
        (saved, f"digit KL {min(doubled_channels):.3f} to {max(doubled_channels):.3f}:\n  "
                f"closer to PacDCGAN2's {recipe['published'][-1]['kl']:.2f}, not there"),
    ]  # fmt: skip
    longest = _json(RESULTS / "stacked_mnist_steps60000.json")["runs"]
    assert [r["seed"] for r in longest] == [0, 1, 2]
    assert {r["modes_covered"] for r in longest} == {1000}  # "each seed covers all 1,000 modes"
    # "Their minutes include epochs that shared the machine; seed 2's most of all".
    assert max(longest, key=lambda r: r["seconds"])["seed"] == 2
    assert {r["clusters"] for r in longest} == {None}
    assert {r["generator_steps"] for r in longest} == {2 * doubled_runs[0]["generator_steps"]}
    assert {r["epochs_of_data"] for r in longest} == {30}
    # Each seed's folder is named after it, wherever it was trained.
    assert all(re.search(rf"--run \S*/seed{r['seed']}_60000$", r["command"]) for r in longest)
    longest_kls = [r["kl_to_uniform"] for r in longest]
    assert max(longest_kls) <= recipe["published"][-1]["kl"]  # "under ... on each seed".
    longest_channels = [kl for r in longest for kl in r["channel_kl_to_uniform"]]
    kls = [f"{kl:.3f}" for kl in longest_kls]
    out += [
        (saved, f"once more ({longest[0]['generator_steps']:,} steps; seeds 0 to 2, each `kgan "
                f"train` for {longest[0]['epochs_of_data']} epochs"),
        (saved, f"the KL is {', '.join(kls[:-1])} and {kls[-1]} and each channel's digit KL "
                f"{min(longest_channels):.3f} to {max(longest_channels):.3f}: under "
                f"PacDCGAN2's\n  {recipe['published'][-1]['kl']:.2f} on each seed (mean "
                f"{sum(longest_kls) / len(longest_kls):.3f})"),
    ]  # fmt: skip

    def three_seeds(name, setting, value):
        """The runs of results file `name`: seeds 0 to 2, each with `setting` at `value`, at
        the recipe's steps."""
        runs = _json(RESULTS / name)["runs"]
        assert [r["seed"] for r in runs] == [0, 1, 2]
        assert {r[setting] for r in runs} == {value}
        assert {r["generator_steps"] for r in runs} == {before["generator_steps"]}
        return runs

    weaker = three_seeds("stacked_mnist_r1_0.1.json", "r1_weight", 0.1)
    same_seeds = [r["kl_to_uniform"] for r in recipe["runs"]]
    weaker_kls = [r["kl_to_uniform"] for r in weaker]
    assert [r["seed"] for r in recipe["runs"]] == [0, 1, 2]
    assert all(w > r for w, r in zip(weaker_kls, same_seeds))  # "does not pay": seed by seed.
    out += [
        (saved, f"the recipe's {before['generator_steps']:,} steps) the KL is "
                "{:.3f}, {:.3f} and {:.3f}, against\n  {:.3f}, {:.3f} and {:.3f} with the "
                "recipe's 1.0".format(*weaker_kls, *same_seeds)),
    ]  # fmt: skip
    decayed = three_seeds("stacked_mnist_lr_decay_0.5.json", "lr_decay_from", 0.5)
    decayed_kls = [r["kl_to_uniform"] for r in decayed]
    assert sum(decayed_kls) > sum(same_seeds)  # "Nor do": worse over the three seeds.
    decayed_channels = [kl for r in decayed for kl in r["channel_kl_to_uniform"]]
    out += [
        (saved, "second half of the steps\n  (`--lr-decay-from 0.5`, `kgan.schedules.LinearDecay`; "
                f"seeds 0 to 2, {before['generator_steps']:,} steps)"),
        (saved, "{:.3f}, {:.3f} and {:.3f}, against {:.3f}, {:.3f} and {:.3f} with the recipe's "
                "constant rates".format(*decayed_kls, *same_seeds)),
        (saved, f"digit KL is {min(decayed_channels):.3f} to {max(decayed_channels):.3f}"),
    ]  # fmt: skip
    clustered = _json(RESULTS / "stacked_mnist_clusters100_steps15000.json")
    clustered_runs = clustered["runs"]
    assert clustered["clusters"] == 100 and [r["seed"] for r in clustered_runs] == [0, 1, 2]
    assert {r["generator_steps"] for r in clustered_runs} == {run["generator_steps"]}
    assert clustered["real_data"] == floor
    kls = [r["kl_to_uniform"] for r in clustered_runs]
    assert min(kls) > 0.06 and min(kls) <= run["kl_to_uniform"] <= max(kls)  # "inside".

    def dependence(record):  # KL to uniform = the channels' KLs + their dependence.
        return record["kl_to_uniform"] - sum(record["channel_kl_to_uniform"])

    channel_kls = [kl for r in clustered_runs for kl in r["channel_kl_to_uniform"]]
    dependences = [dependence(r) for r in clustered_runs]
    assert min(dependences) > dependence(run)  # "in every seed, against".
    out += [
        (saved, f"features for {clustered_runs[0]['generator_steps']:,} steps (seeds 0 to 2"),
        (saved, f"its KL is {min(kls):.3f} to {max(kls):.3f}, still above PacDCGAN2's\n  "
                f"{recipe['published'][-1]['kl']:.2f}, and the run without clusters "
                f"({run['kl_to_uniform']:.3f}) falls"),
        (saved, f"seed to seed ({min(channel_kls):.3f} to {max(channel_kls):.3f})"),
        (saved, f"is {min(dependences):.3f} to {max(dependences):.3f} in every seed, against "
                f"{dependence(run):.3f}\n  in the one seed without clusters (the training images': "
                f"{dependence(floor):.3f})"),
    ]  # fmt: skip

    def screened(name, candidate):
        return _json(RESULTS / f"{name}.json")["candidates"][candidate]

    plain, conditional = (
        _json(RESULTS / f"baseline_{name}.json")
        for name in ("cifar10_defaults", "cifar10_conditional_defaults")
    )
    dcgan, cdcgan = (_card(name) for name in ("cifar10_dcgan", "cifar10_cdcgan"))
    recipe_dcgan = _json(RESULTS / "cifar10_dcgan_recipe.json")
    (steps,) = {
        record["training"]["generator_steps"]
        for record in (cdcgan, plain, conditional, recipe_dcgan)
    }
    (images,) = {
        record["training"]["real_images_seen"]
        for record in (cdcgan, plain, conditional, recipe_dcgan)
    }
    (epochs,) = {card["training"]["epochs"] for card in (dcgan, cdcgan, recipe_dcgan)}
    assert steps == recipes.get("cifar10")["steps"]
    # Self-conditioned batches drop each epoch's last partial batch of the 50,000 images.
    batch = dcgan["training"]["batch_size"]
    assert dcgan["clusters"] == 100 and "clusters" not in recipe_dcgan
    assert dcgan["training"]["generator_steps"] == epochs * (50_000 // batch)
    assert dcgan["training"]["real_images_seen"] == epochs * (50_000 // batch) * batch
    tutorial, defaults = (
        screened("cifar10_screen", "tutorial"),
        screened("cifar10_screen", "defaults"),
    )

    def fid(record):
        return record["evaluation"]["model"]["fid"]

    def recall(record):
        return record["evaluation"]["model"]["recall"]

    out += [
        (saved, f"the references train the `cifar10` recipe for {epochs} epochs of batch {batch}"),
        (saved, f"takes {steps:,} steps ({images:,} images) to FID {fid(cdcgan):.2f}"),
        (saved, f"takes {dcgan['training']['generator_steps']:,} steps "
                f"({dcgan['training']['real_images_seen']:,} images: its epochs drop their last "
                f"partial batch) to FID {fid(dcgan):.2f}"),
        (saved, f"`kgan train`'s defaults for {steps:,} steps"),
        (saved, f"reach FID {fid(plain):.2f} unconditional (`cifar10_defaults`) and FID "
                f"{fid(conditional):.2f} with class control "
                f"{conditional['evaluation']['class_control']['overall']:.1%} class-conditional"),
        (saved, f"`cifar10_cdcgan`'s FID is {fid(cdcgan) / fid(conditional):.2f} of the "
                f"baseline's, within the target of a third; `cifar10_dcgan`'s is "
                f"{fid(dcgan) / fid(plain):.2f}, short of it"),
        (saved, f"schedule reached FID {fid(recipe_dcgan):.2f} and recall "
                f"{recall(recipe_dcgan):.3f} (`tools/results/cifar10_dcgan_recipe.json`), "
                f"against {recall(dcgan):.3f} with them"),
        (saved, f"behind the defaults at {tutorial['images_seen']:,} images "
                f"(FID {tutorial['fid']:.2f} against {defaults['fid']:.2f})"),
    ]  # fmt: skip
    assert fid(cdcgan) / fid(conditional) <= 1 / 3 < fid(dcgan) / fid(plain)

    one_million = _json(RESULTS / "cifar10_1m_screen.json")
    recipe_1m, clustered_1m = (
        one_million["candidates"][name]
        for name in ("recipe_r1_0.1_diffaugment", "recipe_r1_0.1_diffaugment_clusters_100")
    )
    assert recipe_1m["images_seen"] == clustered_1m["images_seen"] == one_million["images"]
    settings = recipes.get("cifar10")["model_options"]  # The recipe is the screen's candidate:
    assert settings["r1_weight"] == 0.1 and settings["augment"] == "color,translation,cutout"
    out += [
        (saved, f"at {one_million['images']:,} images (`tools/results/cifar10_1m_screen.json`"),
        (saved, f"FID falls from {recipe_1m['fid']:.2f} to {clustered_1m['fid']:.2f} and its "
                f"recall rises from {recipe_1m['recall']:.3f} to {clustered_1m['recall']:.3f}"),
    ]  # fmt: skip
    every_5000, every_15000 = (
        one_million["candidates"][f"recipe_r1_0.1_diffaugment_clusters_100_recluster_{steps}"]
        for steps in (5000, 15000)
    )
    # Fewer clusterings, higher FID: the reason the reference keeps the default interval.
    assert clustered_1m["fid"] < every_5000["fid"] < every_15000["fid"]
    assert "--recluster-steps" not in _card("cifar10_dcgan")["command"]
    assert {every_5000["dtype_policy"], every_15000["dtype_policy"]} == {"float32"}
    assert clustered_1m["dtype_policy"] == "mixed_bfloat16"
    out += [
        (saved, f"FID {every_5000['fid']:.2f} clustering every 5,000 steps "
                f"({every_5000['clusterings']} clusterings) and\n  {every_15000['fid']:.2f} every "
                f"15,000 ({every_15000['clusterings']} clustering: only before training"),
        (saved, f"against {clustered_1m['fid']:.2f} every 2,000 ({clustered_1m['clusterings']} "
                f"clusterings); recall {every_5000['recall']:.3f} and {every_15000['recall']:.3f}"
                f"\n  against {clustered_1m['recall']:.3f}"),
        # The default interval, which the 2,000-step entry screened.
        (saved, f"`cifar10_dcgan` keeps {RECLUSTER_STEPS:,} (the\n  default)"),
        (saved, f"the {RECLUSTER_STEPS:,}-step entry in\n  mixed_bfloat16"),
    ]  # fmt: skip

    residual_screen = _json(RESULTS / "cifar10_residual_screen.json")
    base, residual = (
        residual_screen["candidates"][name]
        for name in ("recipe_r1_0.1_diffaugment", "recipe_r1_0.1_diffaugment_residual")
    )
    assert {base["dtype_policy"], residual["dtype_policy"]} == {"float32"}
    out += [
        (saved, f"screened at {residual_screen['images']:,} images in float32"),
        (saved, f"FID {residual['fid']:.2f} against\n  {base['fid']:.2f} with the recipe's DCGAN "
                f"blocks, in {residual['train_seconds'] / base['train_seconds']:.1f} times"),
    ]  # fmt: skip

    bcr_screen = _json(RESULTS / "cifar10_bcr_screen.json")
    plain, beside, instead = (
        bcr_screen["candidates"][name]
        for name in (
            "recipe_r1_0.1_diffaugment",
            "recipe_r1_0.1_diffaugment_bcr",
            "recipe_r1_0.1_bcr",
        )
    )
    assert {row["dtype_policy"] for row in (plain, beside, instead)} == {"float32"}
    assert {row["settings"].get("consistency_weight") for row in (beside, instead)} == {10.0}
    bf16 = screened("cifar10_screen", "recipe_r1_0.1_diffaugment")
    assert bf16["dtype_policy"] == "mixed_bfloat16"
    assert instead["fid"] < plain["fid"] < beside["fid"]
    out += [
        (saved, f"screened at {bcr_screen['images']:,}\n  images in float32"),
        (saved, f"place FID {instead['fid']:.2f}, against the recipe's {plain['fid']:.2f}; "
                f"beside DiffAugment {beside['fid']:.2f}"),
        (saved, f"scored {bf16['fid']:.2f} in the mixed_bfloat16 screen above"),
    ]  # fmt: skip
    bcr_clustered = one_million["candidates"]["recipe_r1_0.1_bcr_clusters_100"]
    assert bcr_clustered["settings"]["consistency_weight"] == 10.0
    assert "augment" not in bcr_clustered["settings"] and bcr_clustered["settings"]["clusters"]
    assert bcr_clustered["images_seen"] == one_million["images"]
    assert bcr_clustered["dtype_policy"] == clustered_1m["dtype_policy"]
    assert bcr_clustered["fid"] > clustered_1m["fid"]  # "DiffAugment is the better".
    assert recipes.get("cifar10")["model_options"].get("consistency_weight", 0) == 0
    out += [
        (saved, f"Self-conditioned on 100 clusters at {one_million['images']:,} images"),
        (saved, f"DiffAugment's place scores FID {bcr_clustered['fid']:.2f} against "
                f"{clustered_1m['fid']:.2f} with DiffAugment, recall "
                f"{bcr_clustered['recall']:.3f} against\n  {clustered_1m['recall']:.3f}"),
    ]  # fmt: skip

    held_out = _json(RESULTS / "heldout_toys_gan_seeds3-5.json")["runs"]
    grid = [run for run in held_out if run["dataset"] == "gaussian_grid"]
    ring = [run for run in held_out if run["dataset"] == "gaussian_ring"]

    def three(values):
        return f"{values[0]:.2f}, {values[1]:.2f} and {values[2]:.2f}%"

    truncated = [run["jacobian_truncation"] for run in grid]
    out.append(
        (
            saved,
            f"grid {three([t['high_quality_percent'] for t in truncated])} truncated "
            f"({three([run['high_quality_percent'] for run in grid])} plain), ring "
            f"{three([run['jacobian_truncation']['high_quality_percent'] for run in ring])} "
            "truncated",
        )
    )
    lost = [(run["seed"], t) for run, t in zip(grid, truncated, strict=True)]
    for seed, t in lost:
        if t["modes_covered"] < t["num_modes"]:
            out.append(
                (saved, f"On seed {seed} truncation covered {t['modes_covered']} of the "
                        f"{t['num_modes']} grid modes")
            )  # fmt: skip

    for name, keys in (
        ("mnist_wgangp", ("precision", "density", "coverage", "recall")),
        ("mnist_dcgan", ("precision", "density", "coverage", "recall")),
        ("mnist_cdcgan", ("precision", "density", "recall")),
    ):
        scored = _json(RESULTS / f"jacobian_truncation_{name}.json")
        # The file of mnist_dcgan scored version 1, the export without clusters, whose card
        # tools/results/mnist_dcgan_recipe.json keeps.
        card = _json(RESULTS / "mnist_dcgan_recipe.json") if name == "mnist_dcgan" else _card(name)
        assert scored["scored"]["version"] == int(card["saved_model"].rsplit("/", 1)[-1])
        out.append((saved, _transfer(card, scored, keys)))
    clustered = _json(RESULTS / "jacobian_truncation_mnist_dcgan_clusters.json")
    card = _card("mnist_dcgan")
    assert clustered["scored"]["version"] == int(card["saved_model"].rsplit("/", 1)[-1])
    keys = ("precision", "density", "coverage", "recall")
    kl = (card["evaluation"]["model"]["class_kl_to_uniform"], clustered["class_kl_to_uniform"])
    out += [
        (saved, _transfer(card, clustered, keys)),
        (saved, f"(class KL to uniform {kl[0]:.3f} to {kl[1]:.3f})"),
    ]

    for name, label in (
        ("mnist_cdcgan", str),
        ("fashion_mnist_cdcgan", FASHION_PLURALS.__getitem__),
        ("cifar10_cdcgan", CIFAR10_PLURALS.__getitem__),
    ):
        overall = _card(name)["evaluation"]["class_control"]["overall"]
        low, high = _class_control(name, label)
        out += [(saved, f"`{name}`: {overall:.1%} overall, from {low}"), (saved, f"to {high}")]
    inputs = _json(RESULTS / "cifar10_cdcgan_input_conditioning.json")["evaluation"]
    per_class = inputs["class_control"]["per_class"]
    out.append(
        (
            saved,
            f"it reached {inputs['class_control']['overall']:.1%} overall, "
            f"{per_class[3]:.1%} for cats, at FID {inputs['model']['fid']:.2f}",
        )
    )

    edits = _json(RESULTS / "control_edits_mnist_wgangp.json")
    overall = edits["edits"]["overall"]
    out.append(
        (
            saved,
            f"| `edit`, {edits['edits']['steps']} steps of {edits['edits']['step_size']}, "
            f"stopping at the target | {overall['success_rate']:.1%} | "
            f"{overall['mean_l2']:.2f} | {overall['other_change']:.2f} |",
        )
    )
    for strength, result in edits["directions"]["per_strength"].items():
        result = result["overall"]
        out.append(
            (
                saved,
                f"| global direction, strength {float(strength):g} | "
                f"{result['success_rate']:.1%} | {result['mean_l2']:.2f} | "
                f"{result['other_change']:.2f} |",
            )
        )

    tools = "tools/README.md"
    rows = _benchmark_rows("benchmark_train.txt")
    alternating, shared = "kgan GAN.fit, alternating", "kgan GAN.fit, shared"
    out += [
        (tools, f"{_ratio(rows, alternating)}x in the alternating order "
                f"({rows[alternating][0]} against {rows['hand loop, alternating'][0]} images/s)"),
        (tools, f"{_ratio(rows, shared)}x in the shared order ({rows[shared][0]} against "
                f"{rows['hand loop, shared'][0]})"),
        (tools, f"{_ratio(rows, 'PyTorch, alternating')}x kgan (alternating) and "
                f"{_ratio(rows, 'PyTorch, shared')}x (shared)"),
        (tools, f"{_ratio(rows, alternating + ', jit_compile')}x and "
                f"{_ratio(rows, shared + ', jit_compile')}x the hand loop"),
        (tools, f"{rows[alternating + ', bfloat16'][0]} images/s, "
                f"{_ratio(rows, alternating + ', bfloat16')}x the bfloat16 hand loop"),
    ]  # fmt: skip
    text = (RESULTS / "benchmark_train.txt").read_text()
    penalty = re.search(r"with the gradient penalty \d+ ms: (\d\.\d\d)x", text)[1]
    flops = dict(re.findall(r"^(kgan GAN.fit, \w+): (\d+\.\d) GFLOP per step", text, re.M))
    peak = re.search(r"kgan GAN.fit, alternating: .* (\d+)% of the peak", text)[1]
    out += [
        (tools, f"a critic update {penalty}x as long"),
        (tools, f"One step is {flops[alternating]} GFLOP (alternating) or {flops[shared]} "
                f"(shared); kgan's alternating step runs at {peak}%"),
    ]  # fmt: skip

    paired = _benchmark_rows("benchmark_train_paired.txt")
    for order in ("alternating", "shared"):
        median, mean, std = _per_round(paired, f"kgan GAN.fit, {order}")
        out.append(
            (tools, f"| {order} | {_ratio(paired, f'kgan GAN.fit, {order}')} | {median} | "
                    f"{mean} +- {std} |")
        )  # fmt: skip
    _, shared_mean, _ = _per_round(paired, shared)
    out.append(
        (tools, f"{100 * (1 - float(_ratio(paired, shared))):.1f}% slower by the ratio of the "
                f"medians and {100 * (1 - float(shared_mean)):.1f}% slower by the mean per-round "
                "ratio")
    )  # fmt: skip

    overhead = (RESULTS / "benchmark_train_overhead.txt").read_text()
    spreads = re.findall(r"mean (\d\.\d{3}) \+- (\d\.\d{3})", overhead)
    fixed = max(float(share) for share in re.findall(r"(-?\d+\.\d\d)% of a 50-step", overhead))
    out += [
        (tools, f"{spreads[0][0]} +- {spreads[0][1]} (alternating) and {spreads[1][0]} +- "
                f"{spreads[1][1]} (shared)"),
        (tools, f"{fixed:.2f}% of a 50-step call or less"),
    ]  # fmt: skip

    toys = ROOT / "tools" / "evaluate_toys.py"
    published = next(
        node.value
        for node in ast.parse(toys.read_text()).body
        if isinstance(node, ast.Assign) and node.targets[0].id == "PUBLISHED"
    )
    for name, *figures in ast.literal_eval(published):
        out.append((tools, "| " + " | ".join([name, *map(str, figures)]) + " |"))
    first_wgangp = [
        _json(RESULTS / f"toys_wgangp_{shape}.json")["runs"][0]["train_seconds"]
        for shape in ("grid", "ring")
    ]
    out.append(
        (tools, f"({first_wgangp[0]:,.0f} s on the grid, {first_wgangp[1]:,.0f} s on the ring)")
    )
    return out


def _prose(document):
    """The document's text with code blocks and the generated table removed, whitespace
    collapsed (claims may wrap across lines)."""
    text = (ROOT / document).read_text()
    text = re.sub(r"<!-- results-table: begin.*?<!-- results-table: end -->", " ", text, flags=re.S)
    text = re.sub(r"^```.*?^```", " ", text, flags=re.S | re.M)
    text = re.sub(r"^(    |\t).*$", " ", text, flags=re.M)
    text = re.sub(r"arXiv:\d+\.\d+", "arXiv", text)  # paper identifiers, not figures
    return re.sub(r"\s+", " ", text)


def _normal(text):
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize("document, text", claims())
def test_quoted_figure_matches_its_stored_source(document, text):
    assert _normal(text) in _prose(document), f"{document} does not quote: {text}"


@pytest.mark.parametrize("document", DOCS)
def test_every_figure_in_prose_is_checked_or_a_setting(document):
    prose = _prose(document)
    covered = []
    for claim_document, text in claims():
        if claim_document == document:
            start = prose.find(_normal(text))
            if start >= 0:
                covered.append((start, start + len(_normal(text))))
    code = [match.span() for match in re.finditer(r"`[^`]*`", prose)]
    unchecked = [
        match[0]
        for match in FIGURE.finditer(prose)
        if not any(a <= match.start() < b for a, b in covered + code)
        and match[0] not in SETTINGS[document]
    ]
    assert not unchecked, (
        f"{document} quotes figures that no stored result backs: {unchecked}. Quote them from "
        "a file under tools/results/ or a card, with a claim in this test, or leave them out."
    )


def test_the_small_folder_size_is_the_recipes_constant():
    readme = _normal((ROOT / "README.md").read_text())
    assert f"under {recipes.SMALL_DATA_IMAGES:,} images (a folder's or `--num-samples`)" in readme


def test_benchmark_data_states_the_target_the_tools_readme_quotes():
    assert "at least 20x" in (ROOT / "tools" / "benchmark_data.py").read_text()


def test_recipe_notes_point_to_stored_results_instead_of_quoting_figures():
    from kgan import recipes

    def settings(value):
        if isinstance(value, dict):
            return set().union(*map(settings, value.values())) if value else set()
        if isinstance(value, list | tuple):
            return set().union(*map(settings, value)) if value else set()
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {str(value), f"{value:g}"}
        return set()

    for name in recipes.names():
        notes = recipes.get(name)["notes"]
        figures = [
            figure
            for figure in re.findall(r"(?<![\w.])\d+\.\d+|\d+(?:\.\d+)?%", notes)
            # "EMA 0.999" is a setting of the recipe; 0.25 the truncation share of the toys.
            if figure not in settings(recipes.RECIPES[name]) | {"0.25"}
        ]
        assert not figures, f"recipe {name!r} quotes {figures}; name its stored result instead"
        paths = re.findall(r"(?:savedmodels|tools/results)/[\w.*/-]+\.json", notes)
        # A recipe without a stored result says so.
        unmeasured = re.search(r"no stored measurement|not a measured result", notes, re.I)
        assert paths or unmeasured, f"recipe {name!r} names no stored result: {notes}"
        for path in paths:
            assert list(ROOT.glob(path)), f"recipe {name!r}: {path} missing"


def test_cifar10_recipe_notes_compare_as_the_screen_measured():
    from kgan import recipes

    notes = recipes.get("cifar10")["notes"]
    screen = _json(RESULTS / "cifar10_screen.json")["candidates"]
    assert "steps cost far less on a CPU than at 64" in notes
    assert screen["recipe_64"]["train_seconds"] > 2 * screen["recipe"]["train_seconds"]
    assert "behind the chosen GAN candidate and most others there" in notes
    gan = {
        name: entry["fid"]
        for name, entry in screen.items()
        if name != "wgangp" and "baseline" not in entry["settings"]
    }
    assert screen["wgangp"]["fid"] > gan["recipe_r1_0.1_diffaugment"] == min(gan.values())
    assert sum(fid < screen["wgangp"]["fid"] for fid in gan.values()) > len(gan) / 2

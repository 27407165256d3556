"""Prints the results table of `savedmodels/README.md` from the reference generators' model
cards and the toy benchmark, with the real-data floor of each metric.

    python tools/results_table.py                                # markdown on stdout
    python tools/results_table.py --check savedmodels/README.md  # exit 1 if its table differs
    python tools/results_table.py --write savedmodels/README.md  # replace its table in place

Sources (each written by a script, never by hand):
- `savedmodels/*/card.json`, from `tools/train_references.py`;
- `tools/results/baseline_*.json`, from `tools/train_references.py BASELINE`;
- `tools/results/toys_*.json`, from `tools/evaluate_toys.py --seeds 3 --json ...`;
- `tools/results/*_screen.json`, from `tools/screen_cifar10.py` (one seed per candidate, all
  trained on the same number of images);
- `tools/results/stacked_mnist*.json`, from `tools/evaluate_stacked_mnist.py`, beside the
  published figures it stores.
"""

import argparse
import glob
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN = "<!-- results-table: begin (tools/results_table.py) -->"
END = "<!-- results-table: end -->"


def load_cards(folder):
    cards = []
    for path in sorted(glob.glob(os.path.join(folder, "*", "card.json"))):
        with open(path) as f:
            cards.append(json.load(f))
    return cards


def load_baselines(folder):
    baselines = []
    for path in sorted(glob.glob(os.path.join(folder, "baseline_*.json"))):
        with open(path) as f:
            baselines.append(json.load(f))
    return baselines


def load_toys(folder):
    runs = []
    for path in sorted(glob.glob(os.path.join(folder, "toys_*.json"))):
        with open(path) as f:
            runs.extend(json.load(f)["runs"])
    return runs


def load_screens(folder):
    screens = {}
    for path in sorted(glob.glob(os.path.join(folder, "*_screen.json"))):
        with open(path) as f:
            screens[os.path.basename(path)] = json.load(f)
    return screens


def _spread(values, fmt):
    mean = sum(values) / len(values)
    if len(values) == 1:
        return f"{fmt.format(mean)} (1 seed)"
    return f"{fmt.format(mean)} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def _class_control(evaluation):
    control = evaluation.get("class_control")
    return f"{100 * control['overall']:.1f}%" if control else "-"


def image_table(cards, baselines=()):
    lines = [
        "| generator | data | steps | minutes | FID | KID | precision | recall | density | "
        "coverage | class control |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    floors = {}
    for card in cards:
        model = card["evaluation"]["model"]
        training = card["training"]
        lines.append(
            f"| `{card['name']}` ({card['model']}"
            f"{', conditional' if card['conditional'] else ''}) | {card['data']} | "
            f"{training['generator_steps']:,} | {training['seconds'] / 60:.0f} | "
            f"{_metric_cells(model)} | "
            f"{_class_control(card['evaluation'])} |"
        )
        _add_floor(floors, card["data"], card["evaluation"]["real_data"], f"`{card['name']}`")
    for baseline in baselines:
        model = baseline["evaluation"]["model"]
        training = baseline.get("training")
        steps = f"{training['generator_steps']:,}" if training else "-"
        minutes = f"{training['seconds'] / 60:.0f}" if training else "-"
        lines.append(
            f"| baseline `{baseline['name']}` | {baseline['data']} | {steps} | {minutes} | "
            f"{_metric_cells(model)} | "
            f"{_class_control(baseline['evaluation'])} |"
        )
        _add_floor(
            floors, baseline["data"], baseline["evaluation"]["real_data"], f"`{baseline['name']}`"
        )
    for data, measured in sorted(floors.items()):
        for real, names in measured:
            # Evaluations that drew other training images for the floor each get their row.
            whose = "" if len(measured) == 1 else f", drawn for {', '.join(names)}"
            lines.append(
                f"| real training images (floor{whose}) | {data} | - | - | "
                f"{_metric_cells(real)} | - |"
            )
    return lines


def _add_floor(floors, data, real, name):
    """Files `name`'s real-data figures under `data`, with every other source that measured
    the same figures as the table shows them (one set of images scored on two machines
    differs in the last digits of float32 arithmetic)."""
    measured = floors.setdefault(data, [])
    for figures, names in measured:
        if _metric_cells(figures) == _metric_cells(real):
            names.append(name)
            return
    measured.append((real, [name]))


def _metric_cells(figures):
    """The table's FID to coverage cells of one evaluation, as printed."""
    return (
        f"{figures['fid']:.2f} | {figures['kid']:.3f} | {figures['precision']:.3f} | "
        f"{figures['recall']:.3f} | {figures['density']:.3f} | {figures['coverage']:.3f}"
    )


def toy_table(runs):
    """One row per model and dataset; runs scored with Jacobian truncation as well (see
    `tools/evaluate_toys.py`) add a row for those samples."""
    groups = {}
    for run in runs:
        groups.setdefault((run["model"], run["dataset"]), []).append(run)
        truncated = run.get("jacobian_truncation")
        if truncated:
            name = f"{run['model']}, Jacobian truncation {truncated['share']:.0%}"
            groups.setdefault((name, run["dataset"]), []).append({**run, **truncated})
    lines = [
        "| model | data | seeds | generator steps | modes covered | high quality % | "
        "seconds a run |",
        "|---|---|---|---|---|---|---|",
    ]
    for (model, dataset), group in sorted(groups.items()):
        lines.append(
            f"| {model} | {dataset} | {len(group)} | {group[0]['generator_steps']:,} | "
            f"{_spread([r['modes_covered'] for r in group], '{:.1f}')} / "
            f"{group[0]['num_modes']} | "
            f"{_spread([r['high_quality_percent'] for r in group], '{:.1f}')} | "
            f"{_spread([r['train_seconds'] for r in group], '{:.0f}')} |"
        )
    lines.append(
        "| ideal sampler (floor) | ring / grid | - | - | 8 / 25 | 98.9 | - |"
    )  # P(r < 3 sigma) of a 2-D Gaussian: 1 - exp(-4.5).
    return lines


def steps_text(row):
    """`steps x batch` of a screen's entry, `steps x (batches x batch)` when each step reads
    several batches (a WGAN-GP critic on fresh batches)."""
    per_step = row.get("batches_per_step", 1)
    batches = f"({per_step} x {row['batch_size']})" if per_step > 1 else row["batch_size"]
    return f"{row['steps']:,} x {batches}"


def screen_table(name, screen):
    """One row per candidate of a screen, best FID first; a conditional screen adds the
    candidates' class control."""
    conditional = screen.get("conditional", False)
    command = screen["command"]
    default = "cifar10_conditional_screen.json" if conditional else "cifar10_screen.json"
    if name != default and "--json" not in command:
        # The file the command wrote, which the script left out of the commands it stored
        # before it recorded `--json`.
        command += f" --json tools/results/{name}"
    if any(candidate.startswith("recipe") for candidate in screen["candidates"]):
        purpose = (
            "a pick of what to train at full length, not a measurement of a recipe. `recipe` is "
            "the script's `BASE` (R1 1.0, no augmentation), which each `recipe_*` candidate "
            "changes."
        )
    else:
        purpose = "baselines only."
    # Minutes compare only at one dtype policy and machine: the header names the policies its
    # candidates ran in, and a screen of several gives each row's.
    policies = sorted({row["dtype_policy"] for row in screen["candidates"].values()})
    mixed = len(policies) > 1
    lines = [
        f"Screen `tools/results/{name}`: {screen['images']:,} real images each, one seed, "
        f"{'class-conditional' if conditional else 'unconditional'}, {', '.join(policies)} "
        f"(`{command}`); {purpose}",
        "",
        "| candidate |" + (" policy |" if mixed else "") + " steps x batch | minutes | FID | KID "
        "| precision | recall | density | coverage |" + (" class control |" if conditional else ""),
        "|---|---|---|---|---|---|---|---|---|" + ("---|" * (conditional + mixed)),
    ]
    for candidate, row in sorted(screen["candidates"].items(), key=lambda item: item[1]["fid"]):
        control = f" {100 * row['class_control']['overall']:.1f}% |" if conditional else ""
        policy = f" {row['dtype_policy']} |" if mixed else ""
        lines.append(
            f"| {candidate} |{policy} {steps_text(row)} | "
            f"{row['train_seconds'] / 60:.0f} | {row['fid']:.2f} | {row['kid']:.3f} | "
            f"{row['precision']:.3f} | {row['recall']:.3f} | {row['density']:.3f} | "
            f"{row['coverage']:.3f} |{control}"
        )
    return lines


def load_stacked_mnist(folder):
    """The Stacked MNIST results (`stacked_mnist.json`, `stacked_mnist_packingP.json`,
    `stacked_mnist_clustersK.json`, `stacked_mnist_r1_W.json` ...), the recipe first."""
    records = []
    for path in sorted(glob.glob(os.path.join(folder, "stacked_mnist*.json"))):
        with open(path) as f:
            records.append(json.load(f))
    return sorted(
        records, key=lambda record: (record.get("clusters") or 0, record.get("packing", 1))
    )


# The `stacked_mnist` recipe's R1 weight (`kgan.recipes`), which runs of another leave in their
# row's name.
STACKED_MNIST_R1_WEIGHT = 1.0


def stacked_mnist_table(records):
    """kgan's seeds (mean, range), one row per results file, beside the published models of
    the protocol."""
    first = records[0]
    commands = "; ".join(f"`{record['command']}`" for record in records)
    lines = [
        f"Stacked MNIST ({commands}): {first['training_images']:,} training images, 1,000 "
        f"modes, {first['num_samples']:,} samples per run, each channel read by "
        f"`{first['classifier']}`.",
        "",
        "| model | seeds | generator steps | modes covered | KL to uniform | minutes a run |",
        "|---|---|---|---|---|---|",
    ]
    for record in records:
        runs, packing = record["runs"], record.get("packing", 1)
        model = f"`{record['recipe']}` recipe" + (f", packing {packing}" if packing > 1 else "")
        if record.get("clusters"):
            model += f", self-conditioned on {record['clusters']} clusters"
        # Runs record their R1 weight per pack; those that do not have the recipe's.
        r1_weight = runs[0].get("r1_weight", STACKED_MNIST_R1_WEIGHT / packing) * packing
        if r1_weight != STACKED_MNIST_R1_WEIGHT:
            model += f", R1 weight {r1_weight:g}"
        decay_from = runs[0].get("lr_decay_from")
        if decay_from is not None:
            model += (
                f", learning rates falling linearly to zero from {decay_from * 100:g}% of the steps"
            )
        lines.append(
            f"| {model} | {len(runs)} | {runs[0]['generator_steps']:,} | "
            f"{_spread([r['modes_covered'] for r in runs], '{:,.0f}')} | "
            f"{_spread([r['kl_to_uniform'] for r in runs], '{:.3f}')} | "
            f"{_spread([r['seconds'] / 60 for r in runs], '{:.0f}')} |"
        )
    floors = [record["real_data"] for record in records if record.get("real_data")]
    if floors:  # The training images themselves, as many as the samples, scored alike.
        lines.append(
            f"| real training images (floor) | - | - | {floors[0]['modes_covered']:,} | "
            f"{floors[0]['kl_to_uniform']:.3f} | - |"
        )
    for published in first["published"]:
        lines.append(
            f"| {published['model']} (published) | - | - | {published['modes']:,} | "
            f"{published['kl']:.2f} | - |"
        )
    return lines


def table(savedmodels, results):
    lines = [BEGIN, ""]
    cards, baselines = load_cards(savedmodels), load_baselines(results)
    if cards or baselines:
        lines += image_table(cards, baselines) + [""]
    runs = load_toys(results)
    if runs:
        lines += toy_table(runs) + [""]
    for name, screen in load_screens(results).items():
        lines += screen_table(name, screen) + [""]
    stacked = load_stacked_mnist(results)
    if stacked:
        lines += stacked_mnist_table(stacked) + [""]
    return "\n".join(lines + [END])


def replace_in(text, new_table):
    if BEGIN not in text or END not in text:
        raise ValueError(f"no results table markers ({BEGIN!r} ... {END!r}) in the file")
    start = text.index(BEGIN)
    end = text.index(END) + len(END)
    return text[:start] + new_table + text[end:]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--savedmodels", default=os.path.join(ROOT, "savedmodels"))
    parser.add_argument("--results", default=os.path.join(ROOT, "tools", "results"))
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", metavar="README", help="fail if README's table is stale")
    group.add_argument("--write", metavar="README", help="replace README's table in place")
    args = parser.parse_args(argv)
    new_table = table(args.savedmodels, args.results)
    if args.check or args.write:
        path = args.check or args.write
        with open(path) as f:
            text = f.read()
        updated = replace_in(text, new_table)
        if args.check:
            if updated != text:
                print(f"{path}: the results table is stale; run with --write {path}")
                return 1
            return 0
        temporary = f"{path}.tmp-{os.getpid()}"
        with open(temporary, "w") as f:
            f.write(updated)
        os.replace(temporary, path)  # Never half a README.
        return 0
    print(new_table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Mode coverage of the `toy_2d` recipe (`GAN` and `WGANGP`) on the 2-D ring and grid.

Builds each model with `kgan.recipes.build("toy_2d", model=...)`, trains it with `model.fit` for
the recipe's number of generator steps on `kgan.data.gaussian_ring()` and
`kgan.data.gaussian_grid()`, draws 2,500 samples and scores them with
`kgan.metrics.mode_coverage` (the VEEGAN / PacGAN protocol: nearest mode in standard deviations,
high quality below 3, a mode covered by one high-quality sample). Several seeds give a mean and
the spread (min-max); the published rows are PacGAN's Table 1 (400 epochs of 1,000 steps).

Each run is scored twice: on plain samples of the trained generator, and on samples drawn with
Jacobian-based truncation (`generate(..., jacobian_truncation=SHARE)`, Tanielian et al. 2020),
which leaves out the share SHARE of the samples where the generator stretches space most: the
bridges between modes. Both rows are in the table; `--jacobian-truncation 0` skips the second.

    python tools/evaluate_toys.py --quick                  # one seed, few steps: a smoke run
    python tools/evaluate_toys.py --seeds 3 --json toys.json
    python tools/evaluate_toys.py --models gan --first-seed 3 --seeds 3 --threads 1 \
        --json tools/results/heldout_toys_gan_seeds3-5.json  # held-out seeds, ring and grid

The JSON file holds every run, the command that wrote it and the machine, versions and threads
it ran with.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import kgan  # noqa: E402
from kgan import (  # noqa: E402
    _system,
    atomic,
    data,
    metrics,
)

# Published results (mean over their trials), PROTOCOLS.md: PacGAN Table 1 and VEEGAN.
PUBLISHED = [
    ("GAN (PacGAN's run)", 6.3, 98.2, 17.3, 94.8),
    ("PacGAN2", 7.9, 95.6, 23.8, 91.3),
    ("PacGAN4", 7.8, 95.9, 24.8, 93.6),
    ("VEEGAN", 8, 52.9, 24.6, 40.0),
    ("Unrolled GAN", 7.6, 35.6, 23.6, 16.0),
]

EVALUATION_SAMPLES = 2500
# The share of samples Jacobian truncation leaves out by default (see the module docstring).
TRUNCATION_SHARE = 0.25


def score(samples, distribution):
    result = metrics.mode_coverage(samples, distribution.means, distribution.std)
    return {
        "modes_covered": result["modes_covered"],
        "num_modes": result["num_modes"],
        "high_quality_percent": 100 * result["high_quality"],
        "kl_to_uniform": result["kl_to_uniform"],
    }


def run_one(distribution, kind, seed, steps, truncation_share=TRUNCATION_SHARE):
    model = kgan.recipes.build("toy_2d", model=kind, seed=seed, steps_per_execution=50)
    settings = kgan.recipes.get("toy_2d", model=kind)
    batch_size = settings["batch_size"]
    # One step is one generator update; WGAN-GP's critic takes n_critic fresh batches per step.
    per_step = settings["model_options"].get("n_critic", 1)
    dataset = distribution.dataset(
        num_samples=steps * per_step * batch_size, batch_size=batch_size, seed=seed
    )
    start = time.perf_counter()
    model.fit(dataset, epochs=1, verbose=0)
    train_seconds = time.perf_counter() - start
    samples = model.generate(EVALUATION_SAMPLES, seed=10_000 + seed)
    run = {
        "dataset": distribution.name,
        "model": kind,
        "seed": seed,
        "generator_steps": int(model.g_optimizer.iterations.numpy()),
        "images_seen": steps * per_step * batch_size,
        **score(samples, distribution),
        "train_seconds": train_seconds,
    }
    if truncation_share:
        start = time.perf_counter()
        samples = model.generate(
            EVALUATION_SAMPLES, seed=10_000 + seed, jacobian_truncation=truncation_share
        )
        run["jacobian_truncation"] = {
            "share": truncation_share,
            **score(samples, distribution),
            "generate_seconds": time.perf_counter() - start,
        }
    return run


def summarise(runs):
    rows = {}
    for run in runs:
        rows.setdefault((run["model"], run["dataset"]), []).append(run)
        if "jacobian_truncation" in run:
            truncated = {**run, **run["jacobian_truncation"]}
            share = run["jacobian_truncation"]["share"]
            rows.setdefault(
                (f"{run['model']}, Jacobian truncation {share:.0%}", run["dataset"]), []
            ).append(truncated)
    summary = {}
    for (kind, name), group in rows.items():
        modes = [r["modes_covered"] for r in group]
        high_quality = [r["high_quality_percent"] for r in group]
        summary[(kind, name)] = {
            "modes": float(np.mean(modes)),
            "modes_range": (min(modes), max(modes)),
            "high_quality": float(np.mean(high_quality)),
            "high_quality_range": (min(high_quality), max(high_quality)),
            "seconds": float(np.mean([r["train_seconds"] for r in group])),
            "steps": group[0]["generator_steps"],
            "trials": len(group),
        }
    return summary


def format_table(summary, ring_name, grid_name):
    lines = [
        "| method | ring modes (of 8) | ring % HQ | grid modes (of 25) | grid % HQ | "
        "train time per run, 2 CPU cores (ring / grid) |",
        "|---|---|---|---|---|---|",
    ]

    def cell(row, key, digits):
        low, high = row[f"{key}_range"]
        return f"{row[key]:.{digits}f} ({low:.{digits}f}-{high:.{digits}f})"

    kinds = sorted({kind for kind, _ in summary}, key=lambda kind: (kind.split(",")[0], kind))
    for kind in kinds:
        ring, grid = summary.get((kind, ring_name)), summary.get((kind, grid_name))
        if not ring or not grid:
            continue
        lines.append(
            f"| kgan `toy_2d` {kind}, {ring['steps']} G steps, {ring['trials']} seed(s) | "
            f"{cell(ring, 'modes', 1)} | {cell(ring, 'high_quality', 1)} | "
            f"{cell(grid, 'modes', 1)} | {cell(grid, 'high_quality', 1)} | "
            f"{ring['seconds']:.0f} s / {grid['seconds']:.0f} s |"
        )
    for name, ring_modes, ring_hq, grid_modes, grid_hq in PUBLISHED:
        lines.append(
            f"| {name} (published) | {ring_modes} | {ring_hq} | {grid_modes} | {grid_hq} | |"
        )
    ideal = 100 * metrics.PERFECT_HIGH_QUALITY_2D
    lines.append(f"| ideal sampler | 8 | {ideal:.1f} | 25 | {ideal:.1f} | |")
    lines.append("")
    lines.append("Published rows: PacGAN Table 1 (400 epochs of 1,000 steps) and the VEEGAN paper.")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="one seed, short training (200 steps unless --steps)"
    )
    parser.add_argument("--seeds", type=int, default=3, help="trials per model and dataset")
    parser.add_argument(
        "--first-seed", type=int, default=0, help="seeds first-seed, first-seed + 1, ... (0)"
    )
    parser.add_argument(
        "--steps", type=int, default=None, help="generator steps (default: the recipe's)"
    )
    parser.add_argument("--models", default="gan,wgangp", help="comma-separated models")
    parser.add_argument(
        "--datasets",
        default="gaussian_ring,gaussian_grid",
        help="comma-separated: gaussian_ring, gaussian_grid",
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="TensorFlow's threads (default: one per core), to run two of these side by side",
    )
    parser.add_argument(
        "--jacobian-truncation",
        type=float,
        default=TRUNCATION_SHARE,
        metavar="SHARE",
        help="also score samples drawn with this Jacobian truncation share (default "
        f"{TRUNCATION_SHARE}); 0 to skip",
    )
    parser.add_argument("--json", help="write every run's numbers to this JSON file")
    args = parser.parse_args(argv)
    if args.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    if not 0 <= args.jacobian_truncation < 1:
        parser.error(f"--jacobian-truncation: a share in [0, 1); got {args.jacobian_truncation}")
    steps = args.steps or kgan.recipes.get("toy_2d")["steps"]
    if args.quick:
        args.seeds, steps = 1, args.steps or 200

    ring, grid = data.gaussian_ring(), data.gaussian_grid()
    chosen = {ring.name: ring, grid.name: grid}
    names = args.datasets.split(",")
    unknown = [name for name in names if name not in chosen]
    if unknown:
        parser.error(f"--datasets: unknown {unknown[0]!r}; choose from {', '.join(chosen)}")
    runs = []
    start = time.perf_counter()
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for distribution in (chosen[name] for name in names):
            for kind in args.models.split(","):
                run = run_one(distribution, kind, seed, steps, args.jacobian_truncation)
                runs.append(run)
                truncated = run.get("jacobian_truncation")
                print(
                    f"{kind:7s} {distribution.name:6s} seed {seed}: "
                    f"{run['modes_covered']}/{run['num_modes']} modes, "
                    f"{run['high_quality_percent']:.1f}% high quality, "
                    f"KL {run['kl_to_uniform']:.3f}, {run['train_seconds']:.0f} s"
                    + (
                        f"; Jacobian truncation {truncated['share']:.0%}: "
                        f"{truncated['modes_covered']} modes, "
                        f"{truncated['high_quality_percent']:.1f}% high quality, "
                        f"KL {truncated['kl_to_uniform']:.3f}"
                        if truncated
                        else ""
                    ),
                    flush=True,
                )
    total = time.perf_counter() - start
    print()
    print(format_table(summarise(runs), ring.name, grid.name))
    print(
        f"\nTotal wall time: {total / 60:.1f} min ({len(runs)} runs, {EVALUATION_SAMPLES} "
        "evaluation samples each)"
    )
    if args.json:
        command = " ".join(map(str, argv if argv is not None else sys.argv[1:]))
        record = {
            "command": f"python tools/evaluate_toys.py {command}",
            "runs": runs,
            "total_seconds": total,
            "environment": _system.environment(),
        }
        atomic.write_json(args.json, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())

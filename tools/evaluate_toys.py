"""Mode coverage of `GAN` and `WGANGP` on the 2-D ring and grid, next to the published tables.

Trains each model with the MLP builders on `kgan.data.gaussian_ring()` and
`kgan.data.gaussian_grid()` with `model.fit`, draws 2,500 samples and scores them with
`kgan.metrics.mode_coverage` (the VEEGAN / PacGAN protocol: nearest mode in standard deviations,
high quality below 3, a mode covered by one high-quality sample).

Networks follow PacGAN's (Lin et al. 2018, fjxmlzn/PacGAN) where kgan's builders allow: the
generator maps z in R^2 through four 400-unit layers with batch normalisation and ReLU to a
linear 2-D output; the discriminator has three 200-unit LeakyReLU layers (PacGAN's are maxout
layers with 5 pieces, which kgan does not build). GAN uses PacGAN's Adam(1e-4, beta_1=0.8) and
batch 100; WGANGP its published defaults. PacGAN trains 400 epochs of 1,000 steps; this script
trains far fewer (see --gan-epochs and --wgangp-epochs) so that it finishes in tens of minutes on
two CPU cores, and says so in its table.

    python tools/evaluate_toys.py --quick          # one seed, a few minutes
    python tools/evaluate_toys.py --json toys.json  # the full run
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import kgan  # noqa: E402
from kgan import data, metrics  # noqa: E402

# Published results (mean over their trials), PROTOCOLS.md: PacGAN Table 1 and VEEGAN.
PUBLISHED = [
    ("GAN (PacGAN's run)", 6.3, 98.2, 17.3, 94.8),
    ("PacGAN2", 7.9, 95.6, 23.8, 91.3),
    ("PacGAN4", 7.8, 95.9, 24.8, 93.6),
    ("VEEGAN", 8, 52.9, 24.6, 40.0),
    ("Unrolled GAN", 7.6, 35.6, 23.6, 16.0),
]

EVALUATION_SAMPLES = 2500


def build_model(kind, seed):
    keras.utils.set_random_seed(seed)
    generator = kgan.models.mlp_generator(
        (2,),
        latent_dim=2,
        hidden_units=(400, 400, 400, 400),
        batch_norm=True,
        negative_slope=0.0,  # ReLU, as in PacGAN's generator.
        output_activation=None,
    )
    discriminator = kgan.models.mlp_discriminator((2,), hidden_units=(200, 200, 200))
    if kind == "GAN":
        model = kgan.GAN(generator, discriminator, seed=seed)
        model.compile(
            d_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.8),
            g_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.8),
            steps_per_execution=50,
        )
    else:
        model = kgan.WGANGP(generator, discriminator, seed=seed)
        model.compile(steps_per_execution=50)
    return model


def run_one(distribution, kind, seed, epochs):
    model = build_model(kind, seed)
    dataset = distribution.dataset(num_samples=100_000, batch_size=100, seed=seed)
    monitor = kgan.callbacks.TrainingMonitor(
        real_samples=distribution.sample(512, seed=seed + 1)[0]
    )
    start = time.perf_counter()
    model.fit(dataset, epochs=epochs, verbose=0, callbacks=[monitor])
    train_seconds = time.perf_counter() - start
    samples = model.generate(EVALUATION_SAMPLES, seed=10_000 + seed)
    result = metrics.mode_coverage(samples, distribution.means, distribution.std)
    return {
        "dataset": distribution.name,
        "model": kind,
        "seed": seed,
        "epochs": epochs,
        "generator_steps": epochs * 1000,
        "modes_covered": result["modes_covered"],
        "num_modes": result["num_modes"],
        "high_quality_percent": 100 * result["high_quality"],
        "kl_to_uniform": result["kl_to_uniform"],
        "train_seconds": train_seconds,
        "health_events": sorted({event.issue for event in monitor.events}),
    }


def summarise(runs):
    rows = {}
    for run in runs:
        rows.setdefault((run["model"], run["dataset"]), []).append(run)
    summary = {}
    for (kind, name), group in rows.items():
        summary[(kind, name)] = {
            "modes": float(np.mean([r["modes_covered"] for r in group])),
            "high_quality": float(np.mean([r["high_quality_percent"] for r in group])),
            "seconds": float(np.mean([r["train_seconds"] for r in group])),
            "epochs": group[0]["epochs"],
            "trials": len(group),
        }
    return summary


def format_table(summary, ring_name, grid_name):
    lines = [
        "| method | ring modes (of 8) | ring % HQ | grid modes (of 25) | grid % HQ | "
        "train time per run (ring / grid) |",
        "|---|---|---|---|---|---|",
    ]
    for kind in ("GAN", "WGANGP"):
        ring, grid = summary.get((kind, ring_name)), summary.get((kind, grid_name))
        if not ring or not grid:
            continue
        lines.append(
            f"| kgan {kind}, {ring['epochs']}k steps, {ring['trials']} trial(s) | "
            f"{ring['modes']:.1f} | {ring['high_quality']:.1f} | {grid['modes']:.1f} | "
            f"{grid['high_quality']:.1f} | {ring['seconds']:.0f} s / {grid['seconds']:.0f} s |"
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
    parser.add_argument("--quick", action="store_true", help="one seed, short training")
    parser.add_argument("--seeds", type=int, default=1, help="trials per model and dataset")
    parser.add_argument("--gan-epochs", type=int, default=15, help="epochs of 1,000 steps")
    parser.add_argument("--wgangp-epochs", type=int, default=3, help="epochs of 1,000 steps")
    parser.add_argument("--json", help="write every run's numbers to this JSON file")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.gan_epochs, args.wgangp_epochs = 1, 3, 1

    ring, grid = data.gaussian_ring(), data.gaussian_grid()
    runs = []
    start = time.perf_counter()
    for seed in range(args.seeds):
        for distribution in (ring, grid):
            for kind, epochs in (("GAN", args.gan_epochs), ("WGANGP", args.wgangp_epochs)):
                run = run_one(distribution, kind, seed, epochs)
                runs.append(run)
                print(
                    f"{kind:7s} {distribution.name:6s} seed {seed}: "
                    f"{run['modes_covered']}/{run['num_modes']} modes, "
                    f"{run['high_quality_percent']:.1f}% high quality, "
                    f"KL {run['kl_to_uniform']:.3f}, {run['train_seconds']:.0f} s, "
                    f"health: {', '.join(run['health_events']) or 'quiet'}",
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
        with open(args.json, "w") as file:
            json.dump({"runs": runs, "total_seconds": total}, file, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Screens of the `cifar10` recipe against its baselines, each trained on the same images.

    KGAN_DATA_DIR=../shared/data python tools/screen_cifar10.py --images 192000
    KGAN_DATA_DIR=../shared/data python tools/screen_cifar10.py --only recipe_r1_0.1 --images 192000
    KGAN_DATA_DIR=../shared/data python tools/screen_cifar10.py --conditional --images 192000
    KGAN_DATA_DIR=../shared/data python tools/screen_cifar10.py --quick --json /tmp/screen.json

Without `--conditional`, every candidate is an unconditional generator trained from seed 0
on the CIFAR-10 training images for `--images` real images (steps = images / batch size, so
candidates with other batch sizes see the same data), under the same dtype policy
(`kgan.precision`'s `"auto"`), then scored as `tools/train_references.py` scores the reference
generators: 10,000 samples against the 10,000 test images in the feature space of
`savedmodels/classifiers/cifar10.keras` (FID, KID, precision/recall, density/coverage, classes
read). A 64-sample grid of each is written beside the results file, named after it
(`cifar10_screen_NAME.png` for `cifar10_screen.json`).

`--conditional` screens class-conditional generators instead, trained on the images with their
labels, into their own file (`cifar10_conditional_screen.json`, grids
`cifar10_conditional_screen_NAME.png` with one column per class): each is also scored by class
control (1,000 samples drawn for each class, the share the classifier reads as that class), the
figure the discriminator's `conditioning` is screened for. The tutorial's networks are
unconditional and take no part.

Candidates run `--jobs` at a time, each in its own process on one thread. The results file
keeps one entry per candidate: running `--only NAME` adds or replaces that entry (its budget
must match the file's), so a screen can grow over several sessions. One seed each: a screen
picks what to try at full length, it is not a measurement of a recipe's spread.

- **defaults**: what `kgan train` builds without a recipe (`--recipe none`): DCGAN networks
  with 32 base filters and an unnormalised discriminator with dropout 0.3, latent 64,
  Adam(2e-4, 0.5), EMA 0.99, batch 64.
- **tutorial**: the TensorFlow DCGAN tutorial's networks (`benchmark_networks.py`) adapted to
  32x32x3 (the dense layer starts at 8x8), z of 100, batch 256, Adam(1e-4) for both, no
  averaging; trained by `kgan.GAN.fit` with the non-saturating loss, which is the tutorial's
  cross-entropy.
- **recipe**: `BASE`, every setting of the `cifar10` recipe written out, with R1 1.0, no
  augmentation and the class at the generator's input; the `recipe_*` candidates change one
  to three of them, named in `CANDIDATES`. The `cifar10` recipe is the best unconditional
  one, `RECIPE_CANDIDATE`, and the best conditional one, `CONDITIONAL_RECIPE_CANDIDATE`, when
  class-conditional, except for the generator's conditioning, which it takes from a
  full-length comparison (the recipe's notes).
- **wgangp**: the `cifar10` recipe's WGAN-GP variant as the recipe has it
  (`kgan train --data cifar10 --model wgangp`; its resolved settings are stored with the
  entry). Each of its steps trains the critic on `n_critic` fresh batches, so it takes that
  many times fewer steps for the same images (`batches_per_step`).
- **recipe_r1_0.1_diffaugment_clusters_100**: the unconditional recipe self-conditioned
  (`kgan.callbacks.SelfConditioning`, Liu et al. 2020, whose CIFAR-10 setting is 100
  clusters): trained class-conditionally on 100 clusters of its discriminator's features, the
  generator told the cluster in every batch normalisation and the discriminator projecting
  it, clustered before training and every 2,000 steps (`tools/self_conditioned.py`), and
  scored from latent vectors alone. It uses no label, so it belongs to the unconditional
  screen; its entry records how many times it was clustered.
- **recipe_r1_0.1_diffaugment_bcr**, **recipe_r1_0.1_bcr**: balanced consistency
  regularisation (`consistency_weight=10`, Zhao et al. 2020, arXiv:2002.04724) on the recipe's
  pick, beside DiffAugment and in its place. Each of its discriminator updates runs the
  discriminator twice more (on the flipped and shifted real and generated batches).
- **recipe_r1_0.1_bcr_clusters_100**: the self-conditioned candidate with bCR in DiffAugment's
  place.
- **recipe_r1_0.1_diffaugment_clusters_100_recluster_5000**, **..._recluster_15000**: the
  self-conditioned candidate clustering again every 5,000 or 15,000 steps (Liu et al. cluster
  CIFAR-10 again every 25,000 iterations); its entry records the interval.
"""

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_JSON = os.path.join(HERE, "results", "cifar10_screen.json")
CONDITIONAL_JSON = os.path.join(HERE, "results", "cifar10_conditional_screen.json")
IMAGE_SHAPE = (32, 32, 3)
QUICK_IMAGES = 1024  # --quick: the first training images, and as many images seen.

# What every `recipe*` candidate starts from, every setting of the `cifar10` recipe written
# out (R1 1.0, no augmentation, the class at the generator's input), so that a stored entry
# trains the same whatever the recipe becomes. Stored in each results file.
BASE = {
    "latent_dim": 64,
    "generator": {"base_filters": 32, "conditioning": "input"},
    "discriminator": {"base_filters": 32, "normalization": None, "conditioning": "input"},
    "loss": "non_saturating",
    "r1_weight": 1.0,
    "penalty_interval": 4,
    "ema_decay": 0.999,
    "augment": None,
    "d_learning_rate": 5e-4,
    "g_learning_rate": 5e-4,
    "beta_1": 0.5,
    "beta_2": 0.99,
    "batch_size": 64,
}
# The candidates the `cifar10` recipe is, unconditional and class-conditional (a test checks
# that they agree).
RECIPE_CANDIDATE = "recipe_r1_0.1_diffaugment"
CONDITIONAL_RECIPE_CANDIDATE = "recipe_r1_0.1_diffaugment_projection"
# The recipe's pick self-conditioned on 100 clusters (see `recipe_r1_0.1_diffaugment_clusters_100`
# in the module's docstring).
_SELF_CONDITIONED = {
    "r1_weight": 0.1,
    "augment": "color,translation,cutout",
    "generator": {"conditioning": "batch_norm"},
    "discriminator": {"conditioning": "projection"},
    "clusters": 100,
}
# name -> the overrides of `BASE` it trains with (`kgan.recipes.build`), a baseline's kind, or
# the `cifar10` recipe's variant of another model.
CANDIDATES = {
    "defaults": {"baseline": "defaults"},
    "tutorial": {"baseline": "tutorial"},
    "recipe": {},
    "recipe_r1_0.1": {"r1_weight": 0.1},
    "recipe_r1_0.01": {"r1_weight": 0.01},
    "recipe_r1_0.1_diffaugment": {"r1_weight": 0.1, "augment": "color,translation,cutout"},
    "recipe_diffaugment": {"augment": "color,translation,cutout"},
    "recipe_ttur": {"d_learning_rate": 4e-4, "g_learning_rate": 1e-4},
    "recipe_sn_hinge": {
        "loss": "hinge",
        "r1_weight": 0.0,
        "discriminator": {"spectral_norm": True},
    },
    "recipe_64": {"generator": {"base_filters": 64}, "discriminator": {"base_filters": 64}},
    "wgangp": {"model": "wgangp"},
    # SN-GAN's residual blocks (3x3 convolutions, nearest upsampling, average pooling) in both
    # networks, at the recipe's widths, on the recipe's pick.
    "recipe_r1_0.1_diffaugment_residual": {
        "r1_weight": 0.1,
        "augment": "color,translation,cutout",
        "generator": {"residual": True, "kernel_size": 3, "upsampling": "nearest"},
        "discriminator": {"residual": True, "kernel_size": 3, "downsampling": "average_pool"},
    },
    "recipe_r1_0.1_diffaugment_projection": {
        "r1_weight": 0.1,
        "augment": "color,translation,cutout",
        "discriminator": {"conditioning": "projection"},
    },
    "recipe_r1_0.1_diffaugment_clusters_100": _SELF_CONDITIONED,
    # The self-conditioned candidate clustering again every 5,000 or 15,000 steps, not every
    # `self_conditioned.RECLUSTER_STEPS`: Liu et al. (2020) cluster CIFAR-10 again every 25,000
    # iterations, and each clustering changes what the generator's classes mean.
    **{
        f"recipe_r1_0.1_diffaugment_clusters_100_recluster_{steps}": {
            **_SELF_CONDITIONED,
            "recluster_steps": steps,
        }
        for steps in (5000, 15000)
    },
    # Balanced consistency regularisation (bCR, Zhao et al. 2020) at its CIFAR-10 weight, 10,
    # beside DiffAugment and in its place.
    "recipe_r1_0.1_diffaugment_bcr": {
        "r1_weight": 0.1,
        "augment": "color,translation,cutout",
        "consistency_weight": 10.0,
    },
    "recipe_r1_0.1_bcr": {"r1_weight": 0.1, "consistency_weight": 10.0},
    # The self-conditioned candidate with bCR in DiffAugment's place.
    "recipe_r1_0.1_bcr_clusters_100": {
        "r1_weight": 0.1,
        "consistency_weight": 10.0,
        "generator": {"conditioning": "batch_norm"},
        "discriminator": {"conditioning": "projection"},
        "clusters": 100,
    },
}
# Candidates that only make sense in one kind of screen.
UNCONDITIONAL_ONLY = {"tutorial", *(name for name in CANDIDATES if "clusters" in CANDIDATES[name])}
CONDITIONAL_ONLY = {"recipe_r1_0.1_diffaugment_projection"}


def candidates(conditional):
    """The candidates of a conditional or unconditional screen, in `CANDIDATES`' order."""
    excluded = UNCONDITIONAL_ONLY if conditional else CONDITIONAL_ONLY
    return [name for name in CANDIDATES if name not in excluded]


def _images(quick):
    sys.path.insert(0, HERE)
    import train_references

    images, labels = train_references.real_arrays("cifar10", "train")
    return (images[:QUICK_IMAGES], labels[:QUICK_IMAGES]) if quick else (images, labels)


def _dataset(images, labels, batch_size):
    """Batches of images, or of `(images, labels)` when `labels` is not `None`."""
    import tensorflow as tf

    arrays = images if labels is None else (images, labels)
    dataset = tf.data.Dataset.from_tensor_slices(arrays).shuffle(len(images), seed=0)
    return dataset.repeat().batch(batch_size, drop_remainder=True).prefetch(2)


def build(name, num_classes=None):
    """`(gan, batch_size)` of candidate `name`, compiled; class-conditional with
    `num_classes`."""
    import keras

    import kgan
    from kgan.runs.training import build_model

    spec = dict(CANDIDATES[name])
    baseline = spec.pop("baseline", None)
    if baseline == "defaults":
        gan = build_model(IMAGE_SHAPE, num_classes=num_classes, seed=0, ema_decay=0.99)
        gan.compile()
        return gan, 64
    if baseline == "tutorial":
        import benchmark_networks as nets

        keras.utils.set_random_seed(0)
        gan = kgan.GAN(
            nets.tutorial_generator(IMAGE_SHAPE),
            nets.tutorial_discriminator(IMAGE_SHAPE),
            loss="non_saturating",
            seed=0,
        )
        gan.compile(
            d_optimizer=keras.optimizers.Adam(1e-4), g_optimizer=keras.optimizers.Adam(1e-4)
        )
        return gan, 256
    if "model" in spec:
        gan = kgan.recipes.build("cifar10", model=spec["model"], num_classes=num_classes, seed=0)
        return gan, kgan.recipes.get("cifar10", model=spec["model"])["batch_size"]
    settings = settings_of(name)
    settings.pop("recluster_steps", None)  # How it trains, not what it builds.
    num_classes = settings.pop("clusters", num_classes)
    gan = kgan.recipes.build("cifar10", num_classes=num_classes, seed=0, **settings)
    return gan, settings["batch_size"]


def batches_per_step(gan):
    """Real batches one training step reads: `n_critic` for a critic trained on fresh
    batches, else one."""
    return gan.n_critic if getattr(gan, "critic_batches", None) == "fresh" else 1


def settings_of(name):
    """The settings a `recipe*` candidate trains with: `BASE` with its overrides (the network
    dicts merged key by key)."""
    settings = {
        key: dict(value) if isinstance(value, dict) else value for key, value in BASE.items()
    }
    for key, value in CANDIDATES[name].items():
        if isinstance(value, dict):
            settings[key].update(value)
        else:
            settings[key] = value
    return settings


def run_candidate(name, images_budget, results_path, quick=False, conditional=False):
    """Trains and scores one candidate; returns its record. Its grid goes beside
    `results_path`, named after it (`cifar10_screen_NAME.png` for `cifar10_screen.json`)."""
    import tensorflow as tf

    from kgan import _system
    from kgan import precision as kgan_precision
    from kgan.images import save_image_grid

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    sys.path.insert(0, HERE)
    import self_conditioned
    import train_references

    images, labels = _images(quick)
    policy = kgan_precision.resolve("auto")
    with kgan_precision.policy_scope(policy):
        gan, batch_size = build(name, num_classes=10 if conditional else None)
        per_step = batches_per_step(gan)
        steps = max(1, images_budget // (batch_size * per_step))
        start = time.perf_counter()
        clusterings = None
        if "clusters" in CANDIDATES[name]:
            recluster_steps = CANDIDATES[name].get(
                "recluster_steps", self_conditioned.RECLUSTER_STEPS
            )
            sampler, clusterings = self_conditioned.train(
                gan, images, batch_size=batch_size, steps=steps, recluster_steps=recluster_steps
            )
        else:
            dataset = _dataset(images, labels if conditional else None, batch_size)
            gan.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
            sampler = gan
        seconds = time.perf_counter() - start
    record = {
        "settings": stored_settings(name),
        "steps": steps,
        "batch_size": batch_size,
        "batches_per_step": per_step,
        "images_seen": steps * batch_size * per_step,
        "dtype_policy": policy,
        "train_seconds": round(seconds, 1),
        "environment": _system.environment(),
    }
    if clusterings is not None:
        record["clusterings"] = clusterings
    spec = {"data": "cifar10", "conditional": conditional}
    evaluation = train_references.evaluate(sampler, spec, quick)
    record.update(evaluation["model"], real_data=evaluation["real_data"])
    record["num_samples"] = evaluation["num_samples"]
    grid = f"{os.path.splitext(results_path)[0]}_{name}.png"
    if conditional:
        record["class_control"] = evaluation["class_control"]
        train_references.sample_grid(gan, spec, grid)
    else:
        save_image_grid(sampler.generate(64, seed=0), grid, num_rows=8)
    return record


def stored_settings(name):
    """What a results entry records of its candidate: its `CANDIDATES` entry, with the
    resolved recipe settings of a recipe variant, which change with the recipe."""
    import kgan

    spec = dict(CANDIDATES[name])
    if "model" in spec:
        resolved = kgan.recipes.resolve("cifar10", model=spec["model"], data_shape=IMAGE_SHAPE)
        spec["recipe_settings"] = kgan.recipes.recorded(resolved)
    return spec


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--images", type=int, help="real images each candidate trains on (default 192000)"
    )
    parser.add_argument(
        "--only",
        help="comma-separated candidates (default all of the screen's kind): "
        f"{', '.join(CANDIDATES)}; {', '.join(sorted(UNCONDITIONAL_ONLY))} only without "
        f"--conditional, {', '.join(sorted(CONDITIONAL_ONLY))} only with it",
    )
    parser.add_argument("--jobs", type=int, default=2, help="candidates at once (default 2)")
    parser.add_argument(
        "--conditional", action="store_true", help="screen class-conditional generators"
    )
    parser.add_argument(
        "--json",
        help="results file, whose entries are merged (default tools/results/cifar10_screen.json, "
        "or cifar10_conditional_screen.json with --conditional)",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run on 1,024 images")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # One candidate, in a subprocess.
    args = parser.parse_args(argv)
    if args.images is None:
        args.images = QUICK_IMAGES if args.quick else 192_000
    if args.images <= 0:
        parser.error(f"--images must be positive. Received: --images={args.images}")
    if args.jobs <= 0:
        parser.error(f"--jobs must be positive. Received: --jobs={args.jobs}")
    if args.json is None:
        args.json = CONDITIONAL_JSON if args.conditional else DEFAULT_JSON
    allowed = candidates(args.conditional)
    names = args.only.split(",") if args.only else allowed
    unknown = [name for name in names if name not in allowed]
    if unknown:
        kind = "a conditional" if args.conditional else "an unconditional"
        parser.error(
            f"{unknown[0]!r} is not a candidate of {kind} screen ({', '.join(allowed)}). "
            f"Received: --only={args.only}"
        )
    args.names = names
    return args


def main(argv=None):
    args = _parse(argv)
    from kgan import atomic  # Results land whole: a killed run never leaves half a JSON.

    out_dir = os.path.dirname(os.path.abspath(args.json))
    os.makedirs(out_dir, exist_ok=True)
    if args.worker:
        record = run_candidate(args.worker, args.images, args.json, args.quick, args.conditional)
        atomic.write_json(f"{args.json}.{args.worker}", record)
        return 0
    results = {
        "images": args.images,
        "quick": args.quick,
        "conditional": args.conditional,
        "base": BASE,
        "candidates": {},
    }
    if os.path.exists(args.json):
        with open(args.json) as f:
            results = json.load(f)
        results.setdefault("conditional", False)
        results["base"] = BASE
        if results["conditional"] != args.conditional:
            raise SystemExit(
                f"error: {args.json} holds a screen with conditional={results['conditional']}; "
                f"give another --json. Received: --conditional={args.conditional}"
            )
        if (results["images"], results["quick"]) != (args.images, args.quick):
            raise SystemExit(
                f"error: {args.json} holds a screen of {results['images']} images (quick: "
                f"{results['quick']}); give that budget or another --json. Received: "
                f"--images={args.images}"
            )
    results["command"] = "python tools/screen_cifar10.py{} --images {} --only {}".format(
        " --conditional" if args.conditional else "",
        args.images,
        ",".join(sorted({*results["candidates"], *args.names}, key=list(CANDIDATES).index)),
    )
    if os.path.abspath(args.json) != (CONDITIONAL_JSON if args.conditional else DEFAULT_JSON):
        path = os.path.relpath(os.path.abspath(args.json), ROOT)
        results["command"] += f" --json {path if not path.startswith('..') else args.json}"
    pending, running, failed = list(args.names), {}, []
    while pending or running:
        while pending and len(running) < args.jobs:
            name = pending.pop(0)
            command = [sys.executable, __file__, "--worker", name, "--images", str(args.images)]
            command += ["--json", args.json] + (["--quick"] if args.quick else [])
            command += ["--conditional"] if args.conditional else []
            running[name] = subprocess.Popen(command)
        time.sleep(1)
        for name, worker in list(running.items()):
            if worker.poll() is None:
                continue
            del running[name]
            part = f"{args.json}.{name}"
            if worker.returncode:
                failed.append(name)
                continue
            with open(part) as f:
                results["candidates"][name] = json.load(f)
            os.remove(part)
            atomic.write_json(args.json, results)  # After each candidate: nothing is lost.
            row = results["candidates"][name]
            print(f"{name}: FID {row['fid']:.2f} ({row['train_seconds']:.0f} s)", flush=True)
    _print_table(results)
    if failed:
        print(f"error: candidates failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _print_table(results):
    sys.path.insert(0, HERE)
    from results_table import steps_text

    conditional = results.get("conditional", False)
    print(
        "| candidate | steps x batch | FID | KID | precision | recall | density | coverage |"
        + (" class control |" if conditional else "")
    )
    print("|---|---|---|---|---|---|---|---|" + ("---|" if conditional else ""))
    for name in CANDIDATES:
        row = results["candidates"].get(name)
        if row:
            control = f" {100 * row['class_control']['overall']:.1f}% |" if conditional else ""
            print(
                f"| {name} | {steps_text(row)} | {row['fid']:.2f} | "
                f"{row['kid']:.3f} | {row['precision']:.3f} | {row['recall']:.3f} | "
                f"{row['density']:.3f} | {row['coverage']:.3f} |{control}"
            )


if __name__ == "__main__":
    sys.exit(main())

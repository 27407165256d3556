"""Mode collapse on Stacked MNIST: the `stacked_mnist` recipe over several seeds.

The PacGAN / VEEGAN protocol (`../shared/docs/PROTOCOLS.md`): 128,000 training images, each
of whose three channels is a random MNIST digit, so 1,000 modes (the digit triples); 26,000
samples, each channel classified by an MNIST classifier (the shipped
`savedmodels/classifiers/mnist.keras`); a mode is covered by one sample; KL of the generated
mode histogram to uniform, in nats (a perfect sampler shows about 0.019 with 26,000 samples).
Published: DCGAN 99 modes / KL 3.40, VEEGAN 150 / 2.95, PacDCGAN2 1,000 / 0.06. PacGAN's code
(`stacked_MNIST_experiments/VEEGAN_experiment/`) trains 50 epochs of the 128,000 images at
batch 64, 100,000 iterations of one discriminator and two generator updates: 200,000
generator steps, of which the recipe's default and `--steps 15000` are a small fraction.

    KGAN_DATA_DIR=../shared/data python tools/evaluate_stacked_mnist.py --seeds 3
    KGAN_DATA_DIR=../shared/data python tools/evaluate_stacked_mnist.py --seeds 3 --packing 2
    KGAN_DATA_DIR=../shared/data python tools/evaluate_stacked_mnist.py --seeds 3 --clusters 100
    KGAN_DATA_DIR=../shared/data python tools/evaluate_stacked_mnist.py --seeds 3 --r1-weight 0.1
    KGAN_DATA_DIR=../shared/data python tools/evaluate_stacked_mnist.py --lr-decay-from 0.5
    python tools/evaluate_stacked_mnist.py --quick --json /tmp/smoke.json   # a smoke run

`--seed S` trains seed S alone and merges its run into the results file (replacing that seed's
earlier run, refusing a file of other settings), so that the seeds of one file can train in
separate processes or sessions: `--seed 1` and `--seed 2` on two cores add to a file that
`--seeds 1` wrote. The file's `command` then lists each run's command.

`--run RUN` scores a finished `kgan train` run of the recipe instead of training, and merges it
the same way: a schedule longer than a session trains in a run folder, which resumes where it
was stopped (the run's seed, epochs and clusters are its own; it is sampled with its seed):

    kgan train --data stacked_mnist --recipe stacked_mnist --epochs 15 --seed 0 \
        --precision float32 --output runs/stacked_mnist/seed0   # 30,000 steps; again to resume
    python tools/evaluate_stacked_mnist.py --run runs/stacked_mnist/seed0

Writes `tools/results/stacked_mnist.json` (`_stepsN` added with `--steps N`;
`stacked_mnist_packingP.json` with `--packing P`:
the recipe's discriminator judges P samples at once, PacGAN's remedy, and R1 weighs each
sample 1 / P as much, so that a pack gets the weight of an unpacked sample;
`stacked_mnist_clustersK.json` with `--clusters K`: the recipe self-conditioned on K clusters
of its discriminator's features, `kgan.callbacks.SelfConditioning`; `_r1_W` added with
`--r1-weight W`: the discriminator's R1 weight per sample in place of the recipe's; `_lr_decay_F`
added with `--lr-decay-from F`: both learning rates kept for the first F of the steps, then
falling linearly to zero after the last, `kgan.schedules.LinearDecay`): per seed the modes covered,
the KL and each channel's digit KL, the R1 weight, the learning rates' decay, the training steps
and seconds; the same figures of as many real training images (`real_data`, the floor); and the
machine and versions it ran on.
"""

import argparse
import contextlib
import os
import sys
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import self_conditioned  # noqa: E402

PUBLISHED = [("DCGAN", 99, 3.40), ("VEEGAN", 150, 2.95), ("PacDCGAN2", 1000, 0.06)]
PROTOCOL_SAMPLES = 26_000
TRAINING_IMAGES = 128_000


def run_seed(
    seed,
    *,
    steps,
    num_images,
    num_samples,
    classifier,
    packing=1,
    clusters=None,
    r1_weight=None,
    lr_decay_from=None,
):
    import kgan
    from kgan import metrics

    settings = kgan.recipes.get("stacked_mnist")
    dataset = kgan.data.load(
        "stacked_mnist",
        num_samples=num_images,
        batch_size=settings["batch_size"],
        seed=seed,
        drop_remainder=True,
    )
    # R1 differentiates each sample's logit, its pack's: 1 / packing of the weight gives each
    # pack the weight an unpacked sample has (`kgan.models.dcgan_discriminator`).
    if r1_weight is None:
        r1_weight = settings["model_options"]["r1_weight"]
    r1_weight /= packing
    # The learning rates' decay spans the steps trained here.
    schedule = {} if lr_decay_from is None else {"lr_decay_from": lr_decay_from, "steps": steps}
    batches = max(1, int(dataset.cardinality()))
    clusterings = None
    if clusters:
        gan, images = _self_conditioned(
            dataset, clusters, seed=seed, r1_weight=r1_weight, **schedule
        )
        start = time.perf_counter()
        sampler, clusterings = self_conditioned.train(
            gan, images, batch_size=settings["batch_size"], steps=steps, seed=seed
        )
    else:
        gan = kgan.recipes.build(
            "stacked_mnist",
            seed=seed,
            discriminator={"packing": packing},
            r1_weight=r1_weight,
            **schedule,
        )
        start = time.perf_counter()
        gan.fit(dataset.repeat(), epochs=1, steps_per_epoch=steps, verbose=0)
        sampler = gan
    seconds = time.perf_counter() - start  # Training only, sampling left out.
    samples = sampler.generate(num_samples, seed=seed, verbose=0)
    result = metrics.stacked_mnist_coverage(samples, classifier)
    return {
        "seed": seed,
        "clusters": clusters,
        "clusterings": clusterings,
        "r1_weight": r1_weight,
        "lr_decay_from": lr_decay_from,
        "generator_steps": int(gan.g_optimizer.iterations.numpy()),
        "epochs_of_data": round(steps / batches, 2),
        "seconds": round(seconds, 1),
        "modes_covered": result["modes_covered"],
        "kl_to_uniform": round(float(result["kl_to_uniform"]), 4),
        "channel_kl_to_uniform": [round(kl, 4) for kl in result["channel_kl_to_uniform"]],
    }


# How the recipe is self-conditioned, as `kgan train --clusters` conditions it: the generator
# told the cluster in every batch normalisation, the discriminator projecting it onto its
# features, as in the paper's networks.
CLUSTER_CONDITIONING = {
    "generator": {"conditioning": "batch_norm"},
    "discriminator": {"conditioning": "projection"},
}
# What a scored run's `config.json` may hold beside the recipe's settings: the options that
# `--run` records (`kgan train --epochs --seed --precision --clusters --num-samples`) and what
# `kgan train` derives from them.
RUN_OPTIONS = ("epochs", "seed", "precision", "clusters", "num_samples")
DERIVED = ("image_shape", "model_fingerprint")


def run_config(run):
    """The `config.json` of the finished `kgan train` run folder `run` of the recipe, or a
    `SystemExit` naming what makes it another: an option other than `RUN_OPTIONS`, other
    recipe settings than today's, or another dtype policy than float32 (the tool's own)."""
    import json

    import kgan

    if not os.path.isdir(run):
        raise SystemExit(
            f"error: --run takes the folder of a `kgan train` run. Received: --run {run}"
        )
    path = os.path.join(run, "config.json")
    if not os.path.isfile(path):
        raise SystemExit(
            f"error: {run} has no config.json: no `kgan train` run. Received: --run {run}"
        )
    with open(path) as f:
        config = json.load(f)
    if not os.path.isfile(os.path.join(run, "model.keras")):
        raise SystemExit(
            f"error: {run} has no model.keras: its run has not finished. Run its `kgan train` "
            f"command again, which resumes it. Received: --run {run}"
        )
    settings = kgan.recipes.resolve(
        "stacked_mnist", **(CLUSTER_CONDITIONING if config.get("clusters") else {})
    )
    expected = {
        "recipe": "stacked_mnist",
        "data": "stacked_mnist",
        "model": "gan",
        "architecture": None,
        "conditional": False,
        "num_classes": None,
        "batch_size": settings["batch_size"],
        "latent_dim": None,
        "base_filters": None,
        "ema_decay": settings["model_options"]["ema_decay"],
        "deterministic": False,
        "dtype_policy": "float32",
        "recipe_settings": kgan.recipes.recorded(settings),
    }
    for key in sorted(set(expected) | set(config)):
        if key in RUN_OPTIONS or key in DERIVED:
            continue
        if key not in expected or config.get(key, "absent") != expected[key]:
            shown = repr(config.get(key, "absent"))
            raise SystemExit(
                f"error: --run scores runs of `kgan train --data stacked_mnist --recipe "
                f"stacked_mnist` in float32 with no options but {', '.join(RUN_OPTIONS)}, on "
                f"today's recipe; {run} has {key}={shown[:200]}. Received: --run {run}"
            )
    return config


def training_command(config, run):
    """The `kgan train` command that trained the run folder `run` with `config.json` `config`
    (checked by `run_config`)."""
    command = (
        f"kgan train --data stacked_mnist --recipe stacked_mnist --epochs {config['epochs']} "
        f"--seed {config['seed']} --precision {config['dtype_policy']}"
    )
    if config.get("clusters"):
        command += f" --clusters {config['clusters']}"
    if config.get("num_samples"):
        command += f" --num-samples {config['num_samples']}"
    return f"{command} --output {run}"


def score_run(run, config, *, num_samples, classifier):
    """The figures of the finished `kgan train` run folder `run` with `config.json` `config`,
    as `run_seed`'s, sampled with the run's seed, with the command that trained it. Its
    `seconds` are the run's (`history.json`: training, with its per-epoch backups and sample
    grids)."""
    from kgan import metrics
    from kgan.networks import latent_class_generator
    from kgan.runs import clusters
    from kgan.runs.folder import load_run

    gan, history, _ = load_run(run)
    if history is None or history["epochs"] != config["epochs"]:
        done = 0 if history is None else history["epochs"]
        raise SystemExit(
            f"error: {run} records {done} of its {config['epochs']} epochs in history.json. "
            f"Received: --run {run}"
        )
    seed = config["seed"]
    record = clusters.run_record(run)
    if record is None:
        samples = gan.generate(num_samples, seed=seed, verbose=0)
    else:
        generator = latent_class_generator(
            gan.inference_generator,
            record["frequencies"],
            latent_distribution=gan.latent_distribution,
        )
        samples = clusters.samples(generator, gan, num_samples, seed=seed)
    result = metrics.stacked_mnist_coverage(samples, classifier)
    return {
        "seed": seed,
        "clusters": config.get("clusters"),
        "clusterings": None if record is None else record["clusterings"],
        "r1_weight": config["recipe_settings"]["model_options"]["r1_weight"],
        "lr_decay_from": config["recipe_settings"].get("lr_decay_from"),
        "generator_steps": int(gan.g_optimizer.iterations.numpy()),
        "epochs_of_data": config["epochs"],
        "seconds": history["seconds"],
        "modes_covered": result["modes_covered"],
        "kl_to_uniform": round(float(result["kl_to_uniform"]), 4),
        "channel_kl_to_uniform": [round(kl, 4) for kl in result["channel_kl_to_uniform"]],
        "training_command": training_command(config, run),
    }


def scoring_command(argv, run):
    """This tool's command line `argv` for the one run folder `run` of its `--run` folders."""
    rest, skip = [], False
    for arg in argv:
        if skip or arg == "--run" or arg.startswith("--run="):
            skip = arg == "--run"
            continue
        rest.append(arg)
    return " ".join(["python tools/evaluate_stacked_mnist.py --run", run, *rest])


def results_file(*, packing=1, clusters=None, steps=None, r1_weight=None, lr_decay_from=None):
    """The default results file of a run of these settings (`steps`, `r1_weight` and
    `lr_decay_from` `None`: the recipe's)."""
    suffix = "" if packing == 1 else f"_packing{packing}"
    suffix = f"_clusters{clusters}" if clusters else suffix
    suffix += "" if r1_weight is None else f"_r1_{r1_weight:g}"
    suffix += "" if lr_decay_from is None else f"_lr_decay_{lr_decay_from:g}"
    suffix += f"_steps{steps}" if steps else ""
    return os.path.join(ROOT, "tools", "results", f"stacked_mnist{suffix}.json")


def real_data_floor(*, num_images, num_samples, classifier):
    """The figures of `num_samples` of seed 0's training images: what a generator that drew
    exactly the training distribution would score, sampling noise and the classifier's
    mistakes included."""
    import kgan
    from kgan import metrics

    images = kgan.data.toys.stacked_mnist(num_images, seed=0).images(0, num_samples)
    result = metrics.stacked_mnist_coverage(images, classifier)
    return {
        "modes_covered": result["modes_covered"],
        "kl_to_uniform": round(float(result["kl_to_uniform"]), 4),
        "channel_kl_to_uniform": [round(kl, 4) for kl in result["channel_kl_to_uniform"]],
    }


def _self_conditioned(dataset, clusters, *, seed, r1_weight, **schedule):
    """The recipe self-conditioned on `clusters` clusters (`CLUSTER_CONDITIONING`, trained by
    `tools/self_conditioned.py`), and the training images."""
    import kgan

    images = np.concatenate([batch[0] if isinstance(batch, tuple) else batch for batch in dataset])
    gan = kgan.recipes.build(
        "stacked_mnist",
        seed=seed,
        num_classes=clusters,
        r1_weight=r1_weight,
        **CLUSTER_CONDITIONING,
        **schedule,
    )
    return gan, images


# The options that train (`--run` takes the run folder's own).
SETTINGS_OF_A_RUN = ("seed", "seeds", "steps", "clusters", "packing", "r1_weight", "lr_decay_from")
# What the runs of one results file share; `--seed` refuses to merge runs that differ in them.
SHARED_SETTINGS = ("recipe", "packing", "clusters", "training_images", "num_samples", "classifier")
# The settings of files written before the tool had them: those files' runs had these.
SETTINGS_BEFORE = {"packing": 1, "clusters": None}


@contextlib.contextmanager
def _locked(path):
    """Holds an exclusive lock on `path`'s folder: processes merging runs into one results
    file (`--seed`) take turns, each waiting for the other (where `kgan.atomic.exclusive_lock`
    refuses a held lock): a run that trained for hours must not be lost to a busy file."""
    import fcntl

    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    folder = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        yield
    finally:
        os.close(folder)  # Releases the lock.


def merged_runs(path, record, runs):
    """`runs` with the runs of the results file at `path` that they do not replace (a seed's
    new run replaces its old one), in seed order; each run keeps the command that made it and
    the machine it ran on."""
    if not os.path.exists(path):
        return sorted(runs, key=lambda run: run["seed"])
    import json

    with open(path) as f:
        previous = json.load(f)
    for setting in SHARED_SETTINGS:
        stored = previous.get(setting, SETTINGS_BEFORE.get(setting))
        if stored != record[setting]:
            raise SystemExit(
                f"error: {path} holds runs with {setting}={stored!r}, this run "
                f"has {record[setting]!r}; give another --json. Received: --json {path}"
            )
    steps = {run["generator_steps"] for run in previous["runs"]}
    if steps != {runs[0]["generator_steps"]}:
        raise SystemExit(
            f"error: {path} holds runs of {sorted(steps)} generator steps, this run has "
            f"{runs[0]['generator_steps']}; give another --json or --steps. Received: --json {path}"
        )
    # A run that does not record its R1 weight (files written before runs did) has the
    # recipe's: 1.0 a sample.
    weights = {run.get("r1_weight", 1.0 / record["packing"]) for run in previous["runs"]}
    weight = runs[0].get("r1_weight", 1.0 / record["packing"])
    if weights != {weight}:
        raise SystemExit(
            f"error: {path} holds runs of R1 weight {sorted(weights)}, this run has "
            f"{weight}; give another --json or --r1-weight. Received: --json {path}"
        )
    # Runs that do not record the learning rates' decay had constant ones.
    decays = {run.get("lr_decay_from") for run in previous["runs"]}
    decay = runs[0].get("lr_decay_from")
    if decays != {decay}:
        raise SystemExit(
            f"error: {path} holds runs of lr_decay_from {sorted(decays, key=str)}, this run has "
            f"{decay}; give another --json or --lr-decay-from. Received: --json {path}"
        )
    # A run without its command is of a file one command wrote (merging stores each run's):
    # the file's command and machine are that run's.
    made_by = {"command": previous["command"], "environment": previous.get("environment")}
    by_seed = {
        run["seed"]: run if "command" in run else {**made_by, **run} for run in previous["runs"]
    }
    by_seed.update({run["seed"]: run for run in runs})
    return [by_seed[seed] for seed in sorted(by_seed)]


def _report(run):
    print(
        f"seed {run['seed']}: {run['modes_covered']} modes, KL {run['kl_to_uniform']}, "
        f"{run['seconds']:.0f} s",
        flush=True,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, help="seeds 0 .. N-1 (default 3)")
    parser.add_argument(
        "--seed",
        type=int,
        action="append",
        help="train this seed alone (repeatable) and merge its run into the results file",
    )
    parser.add_argument(
        "--run",
        action="append",
        help="score this finished `kgan train --recipe stacked_mnist` run folder (repeatable) "
        "instead of training, and merge it into the results file",
    )
    parser.add_argument("--steps", type=int, help="generator steps (default: the recipe's)")
    parser.add_argument(
        "--quick", action="store_true", help="a few steps and samples: a smoke run (needs --json)"
    )
    parser.add_argument(
        "--packing",
        type=int,
        default=1,
        help="samples the discriminator judges at once (default 1: the recipe as it is)",
    )
    parser.add_argument(
        "--clusters",
        type=int,
        help="self-condition on this many clusters of the discriminator's features "
        "(kgan.callbacks.SelfConditioning; the paper uses 100)",
    )
    parser.add_argument(
        "--r1-weight",
        type=float,
        help="the discriminator's R1 weight per sample (default: the recipe's)",
    )
    parser.add_argument(
        "--lr-decay-from",
        type=float,
        help="keep both learning rates for this fraction of the steps, then lower them "
        "linearly to reach zero after the last (default: constant, the recipe's)",
    )
    parser.add_argument(
        "--json",
        help="results file (default tools/results/stacked_mnist.json, or "
        "stacked_mnist_packingP.json with --packing P, stacked_mnist_clustersK.json with "
        "--clusters K; _r1_W added with --r1-weight W, _lr_decay_F with --lr-decay-from F, "
        "_stepsN with --steps N)",
    )
    parser.add_argument(
        "--classifier", default=os.path.join(ROOT, "savedmodels", "classifiers", "mnist.keras")
    )
    parser.add_argument(
        "--threads", type=int, help="TensorFlow's intra- and inter-op threads (default: its own)"
    )
    args = parser.parse_args(argv)
    if args.threads is not None and args.threads <= 0:
        parser.error(f"--threads must be positive. Received: --threads={args.threads}")
    if args.seed and args.seeds is not None:
        parser.error(
            "--seed trains the seeds it names, --seeds the first N: give one. "
            f"Received: --seeds={args.seeds}, --seed={args.seed}"
        )
    if args.run:
        given = {
            f"--{name.replace('_', '-')}": getattr(args, name)
            for name in SETTINGS_OF_A_RUN
            if getattr(args, name) not in (None, [], 1 if name == "packing" else None)
        }
        if given:
            parser.error(
                "--run scores a run folder with the settings it was trained with: "
                f"leave out {', '.join(given)}. Received: "
                + ", ".join(f"{name}={value}" for name, value in given.items())
                + f" with --run={args.run}"
            )
        if len(set(args.run)) < len(args.run):
            parser.error(f"--run names a folder twice. Received: --run={args.run}")
    if args.quick and args.json is None:
        parser.error(
            "--quick writes a smoke run's figures: give its --json, so that they do not replace "
            "a stored results file. Received: --quick without --json"
        )
    if args.seeds is not None and args.seeds <= 0:
        parser.error(f"--seeds must be positive. Received: --seeds={args.seeds}")
    if args.steps is not None and args.steps <= 0:
        parser.error(f"--steps must be positive. Received: --steps={args.steps}")
    if args.seed and any(seed < 0 for seed in args.seed):
        parser.error(f"--seed must be 0 or more. Received: --seed={min(args.seed)}")
    if args.seed and len(set(args.seed)) < len(args.seed):
        parser.error(f"--seed names a seed twice. Received: --seed={args.seed}")
    if args.packing <= 0:
        parser.error(f"--packing must be positive. Received: --packing={args.packing}")
    if args.r1_weight is not None and not 0 <= args.r1_weight < float("inf"):
        parser.error(
            f"--r1-weight must be 0 or more, and finite. Received: --r1-weight={args.r1_weight}"
        )
    if args.lr_decay_from is not None and not 0 <= args.lr_decay_from < 1:
        parser.error(
            "--lr-decay-from must be a fraction of the steps, 0 or more and below 1. "
            f"Received: --lr-decay-from={args.lr_decay_from}"
        )
    if args.clusters is not None and args.clusters <= 1:
        parser.error(f"--clusters must be at least 2. Received: --clusters={args.clusters}")
    if args.clusters and args.packing > 1:
        parser.error(
            "--clusters trains a class-conditional model, which cannot pack samples. "
            f"Received: --clusters={args.clusters}, --packing={args.packing}"
        )
    if args.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)

    import keras

    import kgan
    from kgan import _system, atomic

    classifier = keras.saving.load_model(args.classifier, compile=False)
    steps = args.steps or (20 if args.quick else kgan.recipes.get("stacked_mnist")["steps"])
    num_images = 600 if args.quick else TRAINING_IMAGES
    num_samples = 500 if args.quick else PROTOCOL_SAMPLES
    command = "python tools/evaluate_stacked_mnist.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    runs = []
    environment = _system.environment()
    if args.run:
        configs = [run_config(run) for run in args.run]
        shared = ("clusters", "epochs", "num_samples")
        first = {key: configs[0].get(key) for key in shared}
        seeds = []
        for run, config in zip(args.run, configs):
            this = {key: config.get(key) for key in shared}
            if this != first or config["seed"] in seeds:
                raise SystemExit(
                    f"error: the runs of one results file share their {', '.join(shared)} and "
                    f"have a seed each: {args.run[0]} has {first}, seed {configs[0]['seed']}; "
                    f"{run} has {this}, seed {config['seed']}. Received: --run {run}"
                )
            seeds.append(config["seed"])
        for run, config in zip(args.run, configs):
            runs.append(score_run(run, config, num_samples=num_samples, classifier=classifier))
            scoring = scoring_command(argv if argv is not None else sys.argv[1:], run)
            runs[-1].update(
                command=f"{runs[-1]['training_command']} && {scoring}", environment=environment
            )
            _report(runs[-1])
        args.clusters = first["clusters"]
        num_images = first["num_samples"] or TRAINING_IMAGES
        steps = runs[0]["generator_steps"]
        recipe_steps = steps == kgan.recipes.get("stacked_mnist")["steps"]
        args.steps = None if recipe_steps else steps
    if args.json is None:
        args.json = results_file(
            packing=args.packing,
            clusters=args.clusters,
            steps=args.steps,
            r1_weight=args.r1_weight,
            lr_decay_from=args.lr_decay_from,
        )
    # As many real images as samples, or every training image of a run on fewer.
    floor = real_data_floor(
        num_images=num_images, num_samples=min(num_samples, num_images), classifier=classifier
    )
    default_seeds = 1 if args.quick else 3
    seeds = args.seed or range(args.seeds if args.seeds is not None else default_seeds)
    for seed in [] if args.run else seeds:
        runs.append(
            run_seed(
                seed,
                steps=steps,
                num_images=num_images,
                num_samples=num_samples,
                classifier=classifier,
                packing=args.packing,
                clusters=args.clusters,
                r1_weight=args.r1_weight,
                lr_decay_from=args.lr_decay_from,
            )
        )
        runs[-1].update(command=command, environment=environment)
        _report(runs[-1])
    record = {
        "command": command,
        "recipe": "stacked_mnist",
        "packing": args.packing,
        "clusters": args.clusters,
        "training_images": num_images,
        "num_samples": num_samples,
        "classifier": os.path.relpath(args.classifier, ROOT),
    }
    with _locked(args.json):
        if args.seed or args.run:
            runs = merged_runs(args.json, record, runs)
            record["command"] = " && ".join(dict.fromkeys(run["command"] for run in runs))
        modes = [run["modes_covered"] for run in runs]
        kls = [run["kl_to_uniform"] for run in runs]
        record.update(
            runs=runs,
            modes_covered={"mean": sum(modes) / len(modes), "min": min(modes), "max": max(modes)},
            kl_to_uniform={"mean": sum(kls) / len(kls), "min": min(kls), "max": max(kls)},
            real_data=floor,
            published=[{"model": m, "modes": n, "kl": k} for m, n, k in PUBLISHED],
            environment=environment,
        )
        atomic.write_json(args.json, record)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

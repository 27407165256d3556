"""Trains, evaluates and exports kgan's reference generators, each with a model card.

    KGAN_DATA_DIR=../shared/data python tools/train_references.py                 # all of them
    KGAN_DATA_DIR=../shared/data python tools/train_references.py mnist_cdcgan
    python tools/train_references.py --card-only mnist_cdcgan    # re-evaluate a finished run
    python tools/train_references.py mnist_cdcgan --seen "what the grid shows"  # card text only

Each reference is `kgan.training.train` (what `kgan train --recipe ...` runs) from scratch with
a fixed seed, into `runs/references/NAME` (re-running the command resumes an interrupted
training). It is then:

- evaluated against the 10,000 test images in the feature space of the shipped domain
  classifier (`savedmodels/classifiers/DATA.keras`), 10,000 samples: FID, KID,
  precision/recall, density/coverage and the class histogram; a class-conditional one also
  gets the classifier's per-class accuracy on 1,000 samples of each class
  (`kgan.control.class_control`). The same metrics of 10,000 real training images against the
  test images are the floor each figure is read against;
- exported to `savedmodels/NAME/<version>/` (older versions are removed, to keep the repository
  small) and `savedmodels/NAME.onnx`, both verified against Keras;
- described in `savedmodels/NAME/README.md` (the model card), `savedmodels/NAME/card.json`
  (the same figures for `tools/results_table.py`) and `savedmodels/NAME/samples.png`.

`--card-only` without the run folder (run folders are not committed; those of the
MNIST-family references are gone) rebuilds the card from the shipped export instead: the
export is evaluated as it is (not exported again), the training figures come from its
metadata, and the card states the command as it was run at the commit named in the
reference's `shipped` entry, with the command a retraining runs today when the two differ.

Baselines (`mnist_dcgan_v1`, the generator shipped before the recipes;
`fashion_mnist_defaults`, `kgan train`'s defaults of then; `cifar10_defaults` and
`cifar10_conditional_defaults`, today's defaults for the CIFAR-10 references' epochs) are
evaluated the same way, without an export, into `tools/results/baseline_NAME.json`; name them
to run them. Those trained here resume as the references do.

The trainings use every core the machine has; run nothing else beside them if the time a card
reports is to mean anything.

`--quick` checks the whole path in a minute (one epoch on 500 training images, 200 samples
against 200 test images, 20 per class for class control); with `--runs` and `--out` pointing
elsewhere it leaves `runs/references`, `savedmodels/` and `tools/results/` alone:

    python tools/train_references.py mnist_cdcgan --quick --runs /tmp/runs --out /tmp/out
"""

import argparse
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ONE_CORE = "one CPU core (a second training ran on the other core)"
SHARED_THREAD = "one CPU thread (a second single-thread job shared the two cores)"
# name -> how it is trained. Every reference has seed 0 and the recipe's own number of steps
# unless it names its `epochs`. `shipped`: the training behind the export in savedmodels/NAME,
# for a card rebuilt from that export (`--card-only` without the run folder): the commit the
# training ran at, the export's version and the machine it ran on. A new training exports a
# new version, which the entry must then name.
REFERENCES = {
    "mnist_cdcgan": {
        "title": "MNIST, class-conditional GAN (the `mnist` recipe)",
        "data": "mnist",
        "recipe": "mnist",
        "model": "gan",
        "conditional": True,
        "shipped": {"commit": "af097d3", "version": 1, "machine": ONE_CORE},
    },
    "mnist_wgangp": {
        "title": "MNIST, unconditional WGAN-GP (the `mnist` recipe's `wgangp` variant)",
        "data": "mnist",
        "recipe": "mnist",
        "model": "wgangp",
        "conditional": False,
        # The recipe's own schedule: its 9,370 generator steps rounded up to whole epochs (51
        # epochs, 9,588 generator steps), 77 minutes on two CPU cores. The first shipped
        # `mnist_wgangp` had 5 epochs (940 generator steps, FID 155.40).
        "shipped": {"commit": "de11032", "version": 2, "machine": "two CPU cores"},
    },
    "fashion_mnist_cdcgan": {
        "title": "Fashion-MNIST, class-conditional GAN (the `fashion_mnist` recipe)",
        "data": "fashion_mnist",
        "recipe": "fashion_mnist",
        "model": "gan",
        "conditional": True,
        "shipped": {"commit": "af097d3", "version": 1, "machine": ONE_CORE},
    },
    "mnist_dcgan": {
        "title": "MNIST, unconditional GAN (the `mnist` recipe, self-conditioned on 100 clusters)",
        "data": "mnist",
        "recipe": "mnist",
        "model": "gan",
        "conditional": False,
        # Self-conditioned (`kgan train --clusters`); trained without it, the recipe's
        # unconditional GAN is tools/results/mnist_dcgan_recipe.json (the card shipped before).
        "clusters": 100,
        "shipped": {
            "commit": "8170c8e",
            "version": 3,
            "machine": "one CPU thread (other single-thread jobs shared the two cores)",
        },
    },
    "cifar10_cdcgan": {
        "title": "CIFAR-10, class-conditional GAN (the `cifar10` recipe)",
        "data": "cifar10",
        "recipe": "cifar10",
        "model": "gan",
        "conditional": True,
        # The recipe's 46,920 steps, 60 epochs, named so that the baselines train as long.
        "epochs": 60,
        "shipped": {"commit": "6b1aaed", "version": 6, "machine": SHARED_THREAD},
    },
    "cifar10_dcgan": {
        "title": (
            "CIFAR-10, unconditional GAN (the `cifar10` recipe, self-conditioned on 100 clusters)"
        ),
        "data": "cifar10",
        "recipe": "cifar10",
        "model": "gan",
        "conditional": False,
        "epochs": 60,
        # Self-conditioned (`kgan train --clusters`); the card of the recipe's unconditional GAN
        # trained without clusters is tools/results/cifar10_dcgan_recipe.json.
        "clusters": 100,
        "shipped": {
            "commit": "0a40b17",
            "version": 3,
            "machine": "one CPU thread, float32 (the machine had no bfloat16), beside other "
            "single-thread jobs and the tests; stopped and resumed from its backup twice (after "
            "epochs 17 and 24)",
        },
    },
}
# What the references are compared with, evaluated the same way but not exported: their
# figures go to tools/results/baseline_NAME.json (and the results table of savedmodels/README.md).
BASELINES = {
    "mnist_dcgan_v1": {
        "title": "MNIST, the generator shipped before the recipes (`savedmodels/mnist_dcgan`, "
        "trained with `kgan train --data mnist --epochs 10 --batch-size 128 --ema-decay 0.999`)",
        "data": "mnist",
        "conditional": False,
        # Removed from the tree once measured (savedmodels/mnist_dcgan is the `mnist_dcgan`
        # reference's folder); read from a commit that held it.
        "export_path": "savedmodels/mnist_dcgan",
        "export_commit": "af097d3",
    },
    "fashion_mnist_defaults": {
        "title": "Fashion-MNIST, `kgan train`'s defaults before the recipes (the same command "
        "as the MNIST generator shipped before them)",
        "data": "fashion_mnist",
        "recipe": None,
        "model": "gan",
        "conditional": False,
        "train": {"epochs": 10, "batch_size": 128, "ema_decay": 0.999},
    },
    # `kgan train --data cifar10`'s defaults without the recipe, for the `cifar10` references'
    # epochs: the issue's equal-images comparison at the references' own budget.
    "cifar10_defaults": {
        "title": "CIFAR-10, `kgan train`'s defaults without the recipe (`--recipe none`), "
        "unconditional, for as many epochs as `cifar10_dcgan`",
        "data": "cifar10",
        "recipe": None,
        "model": "gan",
        "conditional": False,
        "train": {"epochs": REFERENCES["cifar10_dcgan"]["epochs"]},
    },
    "cifar10_conditional_defaults": {
        "title": "CIFAR-10, `kgan train`'s defaults without the recipe (`--recipe none`), "
        "class-conditional, for as many epochs as `cifar10_cdcgan`",
        "data": "cifar10",
        "recipe": None,
        "model": "gan",
        "conditional": True,
        "train": {"epochs": REFERENCES["cifar10_cdcgan"]["epochs"]},
    },
    # The TensorFlow DCGAN tutorial's networks and training, as `tools/screen_cifar10.py`'s
    # `tutorial` candidate builds them, for as many images (epochs) as `cifar10_dcgan`.
    "cifar10_tutorial": {
        "title": "CIFAR-10, the TensorFlow DCGAN tutorial's networks adapted to 32x32x3 and "
        "its training (z of 100, batch 256, Adam 1e-4, no averaging; "
        "`tools/screen_cifar10.py`'s `tutorial`), unconditional, for as many epochs as "
        "`cifar10_dcgan`",
        "data": "cifar10",
        "networks": "tutorial",
        "conditional": False,
        "train": {"epochs": REFERENCES["cifar10_dcgan"]["epochs"]},
    },
}
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
CLASS_NAMES = {
    "fashion_mnist": FASHION_CLASSES,
    "cifar10": (
        "airplane", "automobile", "bird", "cat", "deer",
        "dog", "frog", "horse", "ship", "truck",
    ),
}  # fmt: skip
DATA_DESCRIPTIONS = {
    "mnist": "the 60,000 training images (28x28x1)",
    "fashion_mnist": "the 60,000 training images (28x28x1)",
    "cifar10": "the 50,000 training images of the JPEG copy in ../shared/data/cifar10 (32x32x3)",
}
EVALUATION_SAMPLES = 10_000
CLASS_SAMPLES = 1000
# --quick: a smoke run of the whole path, not a measurement.
QUICK = {"num_samples": 500, "epochs": 1, "evaluation_samples": 200, "class_samples": 20}
METRICS = ("fid", "kid", "kid_std", "precision", "recall", "density", "coverage")


def command_line(name, spec, precision, quick=False):
    """The `kgan train` command of a reference; `precision=None` leaves `--precision` out (the
    command before `kgan train` had the option, when every training was float32)."""
    parts = ["kgan train", f"--data {spec['data']}", f"--recipe {spec['recipe']}"]
    parts += [f"--model {spec['model']}", "--seed 0"]
    if precision is not None:
        parts.append(f"--precision {precision}")
    if spec["conditional"]:
        parts.append("--conditional")
    if spec.get("clusters"):
        parts.append(f"--clusters {spec['clusters']}")
    epochs = QUICK["epochs"] if quick else spec.get("epochs")
    if epochs:
        parts.append(f"--epochs {epochs}")
    if quick:
        parts.append(f"--num-samples {QUICK['num_samples']}")
    return " ".join(parts + [f"--output runs/references/{name}"])


def classifier_path(data):
    return os.path.join(ROOT, "savedmodels", "classifiers", f"{data}.keras")


@functools.cache
def real_arrays(data, split):
    """`(images in [-1, 1], labels)` of a local split (IDX files, or the CIFAR-10 copy), read
    once a process and shared by its callers, so read-only."""
    import numpy as np

    from kgan.data import cifar
    from kgan.data.local import idx_arrays

    if data == cifar.NAME:
        found = cifar.arrays(split, None, verbose=0)
        found = None if found is None else found[:3]
    else:
        found = idx_arrays(data, split, None, with_labels=True)
    if found is None:
        raise SystemExit(
            f"error: the local {data} {split} files are not in $KGAN_DATA_DIR; the "
            "references are trained and evaluated on them (see ../shared/data/README)"
        )
    images, labels, _ = found
    images = np.asarray(images, "float32") / 127.5 - 1.0
    labels = np.array(labels)
    for array in (images, labels):
        array.setflags(write=False)
    return images, labels


def feature_metrics(real_features, fake_features):
    from kgan import metrics

    results = {"fid": metrics.frechet_distance(real_features, fake_features)}
    results["kid"], results["kid_std"] = metrics.kernel_distance(real_features, fake_features)
    results.update(metrics.precision_recall(real_features, fake_features, k=3))
    results.update(metrics.density_coverage(real_features, fake_features, k=5))
    return {key: float(results[key]) for key in METRICS}


def evaluate(gan, spec, quick=False):
    """The card's figures for `gan` and, for comparison, for real training images."""
    import keras
    import numpy as np

    from kgan import control, metrics

    num_samples = QUICK["evaluation_samples"] if quick else EVALUATION_SAMPLES
    classifier = keras.saving.load_model(classifier_path(spec["data"]), compile=False)
    extractor = metrics.classifier_feature_extractor(classifier)
    test, _ = real_arrays(spec["data"], "test")
    train, _ = real_arrays(spec["data"], "train")
    if quick:
        test = test[:num_samples]
    test_features = metrics.compute_features(extractor, test)
    samples = gan.generate(num_samples, seed=0)
    if not np.all(np.isfinite(samples)):
        raise RuntimeError("The generator produced NaN or infinite values.")

    def figures(images):
        return feature_metrics(test_features, metrics.compute_features(extractor, images))

    floor = train[np.random.default_rng(0).permutation(len(train))[:num_samples]]
    results = {"model": figures(samples), "real_data": figures(floor)}
    counts = np.bincount(
        classifier.predict(samples, batch_size=500, verbose=0).argmax(axis=1), minlength=10
    )
    results["model"]["classes_covered"] = int(np.count_nonzero(counts))
    results["model"]["class_kl_to_uniform"] = float(metrics.kl_to_uniform(counts))
    results["model"]["class_histogram"] = counts.tolist()
    if spec["conditional"]:
        per_class = QUICK["class_samples"] if quick else CLASS_SAMPLES
        results["class_control"] = control.class_control(gan, classifier, per_class, seed=0)
    results["classifier"] = os.path.relpath(classifier_path(spec["data"]), ROOT)
    results["num_samples"] = num_samples
    if quick:
        results["test_images"] = len(test)
    return results


def sample_grid(gan, spec, path):
    import numpy as np

    from kgan.images import save_image_grid

    if spec["conditional"]:
        # One column per class, ten samples each.
        labels = np.tile(np.arange(gan.num_classes), 10)
        images = gan.generate(len(labels), labels=labels, seed=0)
        save_image_grid(images, path, num_rows=10, scale=2)
    else:
        save_image_grid(gan.generate(64, seed=0), path, num_rows=8, scale=2)


def export(gan, name, history, config, out=ROOT):
    from kgan import export as kgan_export

    base = os.path.join(out, "savedmodels", name)
    version_dir = kgan_export.to_saved_model(gan, base, history=history, run_config=config)
    kept = os.path.basename(version_dir)
    for version in kgan_export.list_versions(base):
        if str(version) != kept:
            shutil.rmtree(os.path.join(base, str(version)))
    onnx_path = os.path.join(out, "savedmodels", f"{name}.onnx")
    kgan_export.to_onnx(gan, onnx_path, overwrite=True, history=history, run_config=config)
    return version_dir, onnx_path


def training_examples(spec, config):
    """How many training images the run trained on: the local train split, or its first
    `num_samples`."""
    count = len(real_arrays(spec["data"], "train")[1])
    return min(count, config["num_samples"]) if config.get("num_samples") else count


def real_images_seen(epochs, critic_steps, batch_size, examples):
    """The real images the discriminator trained on, counting each epoch's last partial batch
    at its size.

    Every critic step reads at most `batch_size` real images and an epoch at most the
    `examples` of the data, so the count is the smaller of the two bounds: `epochs * examples`
    when every example is used (a last partial batch of a GAN's epoch, or an array's remainder
    shared among WGAN critic updates), `critic_steps * batch_size` when a remainder is dropped
    (every step then full).
    """
    return min(critic_steps * batch_size, epochs * examples)


def _record(history, generator_steps, critic_steps, config, examples, health_events):
    batch_size = config["batch_size"]
    return {
        "epochs": history["epochs"],
        "generator_steps": generator_steps,
        "critic_steps": critic_steps,
        "batch_size": batch_size,
        "real_images_seen": real_images_seen(history["epochs"], critic_steps, batch_size, examples),
        "seconds": history["seconds"],
        "health_events": health_events,
    }


def training_record(run_dir, gan, config, examples):
    """`(history, record)` of a finished run; `examples`: the training images it had."""
    with open(os.path.join(run_dir, "history.json")) as f:
        history = json.load(f)
    generator_steps = int(gan.g_optimizer.iterations.numpy())
    critic_steps = int(gan.d_optimizer.iterations.numpy())
    record = _record(
        history, generator_steps, critic_steps, config, examples, history["health_events"]
    )
    return history, record


def shipped_export(name, spec, out=ROOT):
    """`(generator, version folder, run config, record)` of the export in savedmodels/NAME,
    for a card rebuilt without the run folder: the generator as exported, and the training
    figures its metadata kept."""
    from kgan.control import load_generator
    from kgan.export import list_versions, read_metadata

    base = os.path.join(out, "savedmodels", name)
    versions = list_versions(base) if os.path.isdir(base) else []
    shipped = spec.get("shipped")
    if not versions or not shipped:
        raise SystemExit(
            f"error: {name}: --card-only needs the run folder, or an export in {base} and a "
            "`shipped` entry in REFERENCES naming the training behind it"
        )
    if versions[-1] != shipped["version"]:
        raise SystemExit(
            f"error: {name}: the export is version {versions[-1]}, REFERENCES' `shipped` entry "
            f"describes version {shipped['version']}: name the commit and machine of the "
            "training behind the export there"
        )
    version_dir = os.path.join(base, str(versions[-1]))
    training = read_metadata(version_dir)["training"]
    config = training["run_config"]
    expected = {key: spec[key] for key in ("data", "recipe", "model", "conditional")}
    expected.update(seed=0, clusters=spec.get("clusters"))
    found = {key: config.get(key) for key in expected}
    if found != expected:
        raise SystemExit(
            f"error: {name}: the export was trained with {found}, not as REFERENCES says "
            f"({expected})"
        )
    history = training["history"]
    if history["health_events"]:
        raise SystemExit(
            f"error: {name}: the export counts {history['health_events']} training monitor "
            "warnings but keeps no text of them; rebuild the card from the run folder"
        )
    record = _record(
        history,
        training["generator_steps"],
        training["discriminator_steps"],
        config,
        training_examples(spec, config),
        [],
    )
    return load_generator(version_dir), version_dir, config, record


def _row(label, values):
    return (
        f"| {label} | {values['fid']:.2f} | {values['kid']:.3f} +- {values['kid_std']:.3f} | "
        f"{values['precision']:.3f} | {values['recall']:.3f} | {values['density']:.3f} | "
        f"{values['coverage']:.3f} |"
    )


def _command_lines(name, card):
    """The card's command: the one this script ran, or, for a card rebuilt from the export, the
    one run at the commit that trained it and the one a retraining runs today."""
    if "trained_at" not in card:
        return [f"- **Command:** `{card['command']}`, then export and evaluation by the script."]
    lines = [
        f"- **Command:** `{card['command']}`, run by this script at commit "
        f"{card['trained_at']}, then exported; this card evaluates that export as shipped "
        f"(`python tools/train_references.py --card-only {name}`, without the run folder)."
    ]
    if "retrain_command" in card:
        why = ""
        if "--precision" not in card["command"]:
            why = (
                f" (at {card['trained_at']} `kgan train` had no `--precision` option: every "
                "training was float32)"
            )
        lines.append(
            f"- **Retraining today:** `python tools/train_references.py {name}` runs "
            f"`{card['retrain_command']}`{why}."
        )
    return lines


def _self_conditioning_lines(card):
    if not card.get("clusters"):
        return []
    return [
        f"- **Self-conditioned** (`--clusters {card['clusters']}`, Liu et al. 2020): trained "
        f"class-conditionally on {card['clusters']} clusters of the discriminator's features of "
        "the training images, found by k-means before training and again about every 2,000 "
        "batches; no label was used. The export takes latent vectors alone, one value more than "
        "the generator's z: the first draws the cluster at the clusters' frequencies.",
    ]


def model_card(name, card):
    spec = REFERENCES[name]
    training = card["training"]
    evaluation = card["evaluation"]
    lines = [
        f"# `{name}`: {spec['title']}",
        "",
        "Written by `tools/train_references.py` (do not edit by hand; re-run it).",
        "",
        f"- **Data:** {spec['data']}, {DATA_DESCRIPTIONS[spec['data']]}, scaled to [-1, 1].",
        *_command_lines(name, card),
        f"- **Training:** {training['generator_steps']:,} generator steps and "
        f"{training['critic_steps']:,} discriminator steps at batch {training['batch_size']} "
        f"({training['epochs']} epochs, {training['real_images_seen']:,} real images seen) in "
        f"{training['seconds'] / 60:.1f} minutes on {card['machine']}. Training monitor: "
        f"{'; '.join(training['health_events']) or 'no warning'}.",
        f"- **Export:** `{card['saved_model']}` (TF Serving's layout) and `{card['onnx']}`, both "
        "verified against Keras before they were written. The export holds the exponential "
        "moving average of the generator's weights.",
        *_self_conditioning_lines(card),
        "",
        f"## Evaluation ({evaluation['num_samples']:,} samples, seed 0)",
        "",
        f"Against the {evaluation.get('test_images', 10_000):,} test images, in the `features` "
        f"layer of `{evaluation['classifier']}`."
        f" The real-data row is {evaluation['num_samples']:,} training images in the same space: "
        "the best a generator can do.",
        "",
        "| samples | FID | KID | precision | recall | density | coverage |",
        "|---|---|---|---|---|---|---|",
        _row(f"`{name}`", evaluation["model"]),
        _row("real training images", evaluation["real_data"]),
        "",
        f"The classifier finds {evaluation['model']['classes_covered']} of 10 classes in the "
        f"samples, a histogram {evaluation['model']['class_kl_to_uniform']:.3f} nats from uniform.",
    ]
    if "class_histogram" in evaluation["model"]:
        names = CLASS_NAMES.get(spec["data"], range(10))
        lines += [
            "",
            "| class | " + " | ".join(str(n) for n in names) + " |",
            "|---|" + "---|" * len(names),
            "| samples | "
            + " | ".join(f"{n:,}" for n in evaluation["model"]["class_histogram"])
            + " |",
        ]
    if "class_control" in evaluation:
        control = evaluation["class_control"]
        names = CLASS_NAMES.get(spec["data"], range(10))
        lines += [
            "",
            f"**Class control:** of {control['num_samples_per_class']:,} samples drawn for each "
            f"class, the share the classifier assigns to that class: "
            f"{100 * control['overall']:.1f}% overall.",
            "",
            "| class | " + " | ".join(str(n) for n in names) + " |",
            "|---|" + "---|" * len(control["per_class"]),
            "| accuracy | " + " | ".join(f"{100 * v:.1f}%" for v in control["per_class"]) + " |",
        ]
    lines += [
        "",
        "## Samples",
        "",
        "![samples](samples.png)",
        "",
        (
            "One column per class, ten samples each (seed 0)."
            if spec["conditional"]
            else "64 samples, seed 0 (`kgan sample savedmodels/" + name + " --seed 0`)."
        ),
        "",
        "What a person sees in it: " + card.get("seen", "not yet described.") + "",
        "",
    ]
    return "\n".join(lines)


def describe(name, seen, out=ROOT):
    """Writes what a person saw in the sample grid into the card, without re-evaluating."""
    from kgan import atomic

    folder = os.path.join(out, "savedmodels", name)
    with open(os.path.join(folder, "card.json")) as f:
        card = json.load(f)
    card["seen"] = seen
    atomic.write_json(os.path.join(folder, "card.json"), card)
    atomic.write_text(os.path.join(folder, "README.md"), model_card(name, card))


def run_reference(name, args):
    from kgan import control, training
    from kgan.runs import clusters as run_clusters

    spec = REFERENCES[name]
    run_dir = os.path.join(args.runs, name)
    if args.card_only and not os.path.isfile(os.path.join(run_dir, "config.json")):
        return card_from_export(name, args)
    if not args.card_only:
        start = time.perf_counter()
        training.train(
            run_dir,
            data=spec["data"],
            recipe=spec["recipe"],
            model=spec["model"],
            conditional=spec["conditional"],
            clusters=spec.get("clusters"),
            epochs=QUICK["epochs"] if args.quick else spec.get("epochs"),
            num_samples=QUICK["num_samples"] if args.quick else None,
            seed=0,
            verbose=2,
            precision=args.precision,
        )
        print(f"{name}: trained in {time.perf_counter() - start:.0f} s", flush=True)
    gan, _, _ = training.load_run(run_dir)
    # A self-conditioned run samples and exports through its generator of latent vectors.
    exported, sampler = gan, gan
    if spec.get("clusters"):
        exported = run_clusters.generator_source(gan, run_clusters.run_record(run_dir))
        sampler = control.as_generator(exported.generator)
    with open(os.path.join(run_dir, "config.json")) as f:
        config = json.load(f)
    history, record = training_record(run_dir, gan, config, training_examples(spec, config))
    evaluation = evaluate(sampler, spec, args.quick)
    version_dir, onnx_path = export(exported, name, history, config, args.out)
    sample_grid(sampler, spec, os.path.join(args.out, "savedmodels", name, "samples.png"))
    card = {
        **_described(name, spec),
        "command": command_line(name, spec, args.precision, args.quick),
        "machine": args.machine,
        "training": record,
        "evaluation": evaluation,
        "saved_model": os.path.relpath(version_dir, args.out),
        "onnx": os.path.relpath(onnx_path, args.out),
    }
    write_card(name, card, args)


def _described(name, spec):
    """The fields every card opens with: what the reference is and how it is trained."""
    keys = ("title", "data", "recipe", "model", "conditional")
    described = {"name": name, **{key: spec[key] for key in keys}}
    if spec.get("clusters"):
        described["clusters"] = spec["clusters"]
    return described


def card_from_export(name, args):
    """`--card-only` without the run folder: evaluates the export in savedmodels/NAME as it is
    and writes its card, with the training as the export's metadata and `shipped` record it."""
    spec = REFERENCES[name]
    print(f"{name}: no run folder in {args.runs}; evaluating the shipped export", flush=True)
    generator, version_dir, config, record = shipped_export(name, spec, args.out)
    evaluation = evaluate(generator, spec, args.quick)
    sample_grid(generator, spec, os.path.join(args.out, "savedmodels", name, "samples.png"))
    shipped = spec["shipped"]
    # The command as the export's training ran it: its run config records `precision` from the
    # commit that added the option on.
    command = command_line(name, spec, config.get("precision"), args.quick)
    onnx_path = os.path.join("savedmodels", f"{name}.onnx")
    if not os.path.isfile(os.path.join(args.out, onnx_path)):
        raise SystemExit(f"error: {name}: the export has no ONNX file {onnx_path} beside it")
    card = {
        **_described(name, spec),
        "command": command,
        "trained_at": shipped["commit"],
        "machine": shipped["machine"],
        "training": record,
        "evaluation": evaluation,
        "saved_model": os.path.relpath(version_dir, args.out),
        "onnx": onnx_path,
    }
    retrain = command_line(name, spec, args.precision, args.quick)
    if retrain != command:
        card["retrain_command"] = retrain
    write_card(name, card, args)


def write_card(name, card, args):
    """Writes card.json and the card's README.md, keeping what a person wrote about the
    samples when the card is rebuilt (`--card-only`) or taking `--seen`."""
    from kgan import atomic

    card_path = os.path.join(args.out, "savedmodels", name, "card.json")
    if os.path.exists(card_path):  # Keep what a person wrote about the samples.
        with open(card_path) as f:
            previous = json.load(f)
        if "seen" in previous and args.card_only:
            card["seen"] = previous["seen"]
    if args.seen:
        card["seen"] = args.seen
    atomic.write_json(card_path, card)
    atomic.write_text(
        os.path.join(args.out, "savedmodels", name, "README.md"), model_card(name, card)
    )
    evaluation = card["evaluation"]
    model_row = evaluation["model"]
    print(
        f"{name}: FID {model_row['fid']:.2f} (real data {evaluation['real_data']['fid']:.2f}), "
        f"precision {model_row['precision']:.3f}, recall {model_row['recall']:.3f}",
        flush=True,
    )


def _export_at(commit, path, folder):
    """Copies the export `path` as it was at `commit` of this repository into `folder`;
    returns the copy's path."""
    import io
    import tarfile

    result = subprocess.run(
        ["git", "-C", ROOT, "archive", "--format=tar", commit, path], capture_output=True
    )
    if result.returncode:
        raise SystemExit(
            f"error: cannot read {path} at commit {commit} (a clone with the repository's "
            f"history is needed): {result.stderr.decode(errors='replace').strip()}"
        )
    with tarfile.open(fileobj=io.BytesIO(result.stdout)) as tar:
        tar.extractall(folder)  # The repository's own files.
    return os.path.join(folder, path)


def baseline_networks(networks, precision):
    """`(compiled GAN, batch size)` of a baseline's own networks (`"tutorial"`), built in the
    dtype policy of `precision`."""
    from kgan import precision as kgan_precision

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import screen_cifar10

    with kgan_precision.policy_scope(kgan_precision.resolve(precision)):
        return screen_cifar10.build(networks)


def run_baseline(name, args):
    from kgan import atomic, control, training

    spec = BASELINES[name]
    record = {"name": name, "title": spec["title"], "data": spec["data"]}
    if "export_path" in spec:
        with tempfile.TemporaryDirectory() as folder:
            export = _export_at(spec["export_commit"], spec["export_path"], folder)
            generator = control.load_generator(export)
        record["source"] = f"{spec['export_path']} at {spec['export_commit']}"
    else:
        run_dir = os.path.join(args.runs, name)
        train = dict(spec["train"])
        if args.quick:
            train.update(epochs=QUICK["epochs"], num_samples=QUICK["num_samples"])
        if "networks" in spec:
            # Built here, in the policy the run asks for; `train` resumes it when built again.
            gan, train["batch_size"] = baseline_networks(spec["networks"], args.precision)
            how = {"model": gan}
        else:
            how = {"precision": args.precision}
        training.train(
            run_dir,
            data=spec["data"],
            conditional=spec["conditional"],
            seed=0,
            verbose=2,
            **how,
            **train,
        )
        generator, _, _ = training.load_run(run_dir)
        with open(os.path.join(run_dir, "config.json")) as f:
            config = json.load(f)
        examples = training_examples(spec, config)
        record["training"] = training_record(run_dir, generator, config, examples)[1]
        record["machine"] = args.machine
        options = " ".join(f"--{key.replace('_', '-')} {value}" for key, value in train.items())
        conditional = " --conditional" if spec["conditional"] else ""
        record["command"] = (
            f"python tools/train_references.py {name}{' --quick' if args.quick else ''} "
            f"--precision {args.precision}"
            if "networks" in spec
            else f"kgan train --data {spec['data']} --recipe none{conditional} {options} "
            f"--seed 0 --precision {args.precision}"
        )
    record["evaluation"] = evaluate(generator, spec, args.quick)
    if "export_path" not in spec:
        grid = os.path.join(args.out, "tools", "results", f"baseline_{name}.png")
        sample_grid(generator, spec, grid)
        record["samples"] = os.path.relpath(grid, args.out)
    atomic.write_json(os.path.join(args.out, "tools", "results", f"baseline_{name}.json"), record)
    print(f"{name}: FID {record['evaluation']['model']['fid']:.2f}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"references to build: {', '.join(REFERENCES)}")
    parser.add_argument("--runs", default=os.path.join(ROOT, "runs", "references"))
    parser.add_argument(
        "--out",
        default=ROOT,
        help="folder that receives savedmodels/NAME and tools/results/ (default: the repository)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run of the whole path: one epoch on 500 images, 200 evaluation samples",
    )
    parser.add_argument(
        "--card-only", action="store_true", help="evaluate and export a finished run again"
    )
    parser.add_argument(
        "--machine", default="two CPU cores", help="what the training ran on, for the card"
    )
    parser.add_argument(
        "--seen",
        help="what a person saw in the sample grid: with --card-only, stored with the new "
        "evaluation; alone, written into the existing card (nothing is re-run)",
    )
    parser.add_argument(
        "--threads", type=int, help="TensorFlow's intra-op threads (default: one per core)"
    )
    parser.add_argument(
        "--precision",
        default="float32",
        choices=["auto", "float32", "mixed_bfloat16", "mixed_float16"],
        help="dtype policy of the training (default float32: what the shipped cards were "
        "measured with; kgan train's own default is auto)",
    )
    args = parser.parse_args(argv)
    if args.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    unknown = [name for name in args.names if name not in REFERENCES and name not in BASELINES]
    if unknown:
        print(
            f"error: unknown reference {unknown[0]!r}; choose from "
            f"{', '.join([*REFERENCES, *BASELINES])}"
        )
        return 2
    if args.seen and not args.card_only:
        for name in args.names:
            describe(name, args.seen, args.out)
        return 0
    for name in args.names or REFERENCES:
        if name in BASELINES:
            run_baseline(name, args)
        else:
            run_reference(name, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

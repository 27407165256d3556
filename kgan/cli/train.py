"""`kgan train` and `kgan train-classifier`: arguments to `kgan.training` and `kgan.metrics`."""

import contextlib
import json
import os
import shlex
import sys
import time

from kgan import registry, storage
from kgan.cli import options


# Longer than 60 lines: one `add_argument` per option of `kgan.training.train`, in its order.
def add_train_command(subparsers):
    parser = subparsers.add_parser(
        "train",
        help="train a GAN and write a run folder (model, samples, history)",
        description="Train a GAN, WGAN or WGAN-GP on a dataset and write a run folder: "
        "model.keras, samples.png, a sample grid per epoch (about 100 in a longer run), "
        "history.json. The default "
        "dataset is the Fashion-MNIST sample embedded in kgan, which needs no network. "
        "Running the same command again continues an interrupted run after its last "
        "completed epoch (RUN/backup/ holds one per epoch), or says that it has finished.",
    )
    parser.add_argument(
        "--output",
        "-o",
        required=True,
        metavar="RUN",
        help="run folder to write: a local folder, or a URL (gs://..., s3://... with "
        "tensorflow-io) trained in a local copy pushed there after every epoch",
    )
    parser.add_argument(
        "--data",
        default=None,
        help="dataset name (mnist, fashion_mnist, cifar10, ...) or image folder "
        "(default: the embedded fashion_mnist_sample)",
    )
    parser.add_argument("--data-dir", help="local data folder (default: $KGAN_DATA_DIR)")
    parser.add_argument(
        "--recipe",
        help="a named configuration (kgan.recipes: toy_2d, mnist, fashion_mnist, cifar10, "
        "stacked_mnist, celeb_a, small_data, wgangp); --data mnist, fashion_mnist and cifar10 "
        "pick theirs, the embedded default small_data, a folder of 28x28x1, 32x32x3 or "
        "64x64x3 images (after --image-size) mnist, cifar10 or celeb_a, and fewer than "
        "10,000 images (a folder's, or --num-samples) small_data, if it trains --model, unless "
        "--architecture, --latent-dim or --base-filters is given; a run in --output keeps the "
        "one it recorded; 'none' turns that off",
    )
    parser.add_argument(
        "--model", choices=registry.MODEL_NAMES, help="default: gan, or the recipe's"
    )
    parser.add_argument(
        "--architecture",
        choices=["dcgan", "mlp"],
        help="default: dcgan, or the recipe's (without --recipe, giving it drops the data's "
        "recipe)",
    )
    parser.add_argument(
        "--conditional", action="store_true", help="class-conditional model on the labels"
    )
    parser.add_argument(
        "--clusters",
        type=int,
        metavar="K",
        help="without labels: train self-conditioned on K clusters of the images (100 is the "
        "paper's choice), found from the discriminator's features and refreshed about every "
        "2,000 batches; the run samples, exports and evaluates as an unconditional generator",
    )
    parser.add_argument(
        "--recluster-steps",
        type=int,
        metavar="N",
        help="with --clusters: cluster the images again about every N batches (default: 2,000; "
        "Liu et al. use 2,000 to 25,000)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        help="default: 20, or enough for the recipe's steps; more than a finished run in "
        "--output has trains it further",
    )
    parser.add_argument("--batch-size", type=int, help="default: 64, or the recipe's")
    parser.add_argument(
        "--latent-dim",
        type=int,
        help="default: 64, or the recipe's (without --recipe, giving it drops the data's recipe)",
    )
    parser.add_argument(
        "--base-filters",
        type=int,
        help="width of the networks (default: 32, or the recipe's; without --recipe, giving it "
        "drops the data's recipe)",
    )
    parser.add_argument(
        "--ema-decay",
        type=float,
        help="decay of the moving average of the generator's weights (default: 0.99 or the "
        "recipe's; 0 turns it off)",
    )
    parser.add_argument(
        "--num-samples",
        type=int,
        help="train on N images only: the first N, or, from a folder of one sub-folder per "
        "class, one image of each class in turn",
    )
    parser.add_argument(
        "--image-size",
        type=int,
        nargs=2,
        metavar=("H", "W"),
        help="resize the images to H x W (default: their own size)",
    )
    parser.add_argument(
        "--crop",
        choices=["center"],
        help="with --image-size: keep the aspect ratio (resize the short side, crop the "
        "centre); images are shrunk, never enlarged",
    )
    parser.add_argument("--seed", type=int, default=0, help="default: 0")
    parser.add_argument("--tensorboard", action="store_true", help="write logs to RUN/logs")
    parser.add_argument(
        "--restart",
        action="store_true",
        help="start over, replacing the run in RUN, instead of resuming or keeping it",
    )
    parser.add_argument(
        "--deterministic",
        action="store_true",
        help="deterministic TensorFlow ops: the same command gives the same weights, bit for "
        "bit, also when resumed after a kill (slower on a GPU)",
    )
    parser.add_argument(
        "--precision",
        choices=["auto", "float32", "mixed_bfloat16", "mixed_float16"],
        default="auto",
        help="Keras dtype policy of the networks (default auto: mixed_bfloat16 on a CPU with "
        "bfloat16 instructions and no GPU, else float32); weights and exports stay float32",
    )
    parser.set_defaults(run=run_train, check=check_train)


def check_train(args):
    options.check_values(
        args,
        {
            "--clusters": "at least 2",
            "--recluster-steps": "count",
            "--epochs": "count",
            "--batch-size": "count",
            "--latent-dim": "count",
            "--base-filters": "count",
            "--ema-decay": "decay",
            "--num-samples": "count",
            "--image-size": "count",
            "--seed": "seed",
        },
    )
    if args.clusters is not None:
        for option, given in (
            ("--conditional", args.conditional),
            ("--architecture mlp", args.architecture == "mlp"),
        ):
            if given:
                raise ValueError(
                    "--clusters trains a self-conditioned dcgan model on clusters of unlabelled "
                    f"images; leave out {option}. Received: --clusters={args.clusters} with "
                    f"{option}"
                )
    if args.recluster_steps is not None and args.clusters is None:
        raise ValueError(
            "--recluster-steps sets how often a --clusters run clusters its images; give "
            f"--clusters K too. Received: --recluster-steps={args.recluster_steps} without "
            "--clusters"
        )
    if args.crop and not args.image_size:
        raise ValueError(
            f"--crop needs --image-size H W, the size to crop to. Received: --crop={args.crop}"
        )
    options.check_output(args.output, "--output", folder=True)


# The arguments of `kgan.training.train` (and of `kgan.data.load`, which names the data
# `name`) that the options set; `image_size` is the pair of --image-size's values. Messages
# about the run folder keep `output_dir=...`, the form `kgan.training.train`'s callers see.
_TRAIN_OPTIONS = {
    "name": "--data",
    "data": "--data",
    "data_dir": "--data-dir",
    "recipe": "--recipe",
    "model": "--model",
    "architecture": "--architecture",
    "clusters": "--clusters",
    "recluster_steps": "--recluster-steps",
    "epochs": "--epochs",
    "batch_size": "--batch-size",
    "latent_dim": "--latent-dim",
    "base_filters": "--base-filters",
    "ema_decay": "--ema-decay",
    "num_samples": "--num-samples",
    "image_size": "--image-size",
    "crop": "--crop",
    "seed": "--seed",
    "precision": "--precision",
}


def _probe_folder(args, data):
    """`(shape, count)` of the images a folder `--data` trains on (see
    `kgan.data.folder.probe_folder`; at most `--num-samples`), for choosing its recipe; `None`
    for data sets and with `--recipe`."""
    from kgan.data import folder
    from kgan.data.loading import is_path

    if args.recipe is not None or not is_path(data) or not os.path.isdir(os.path.expanduser(data)):
        return None
    probed = folder.probe_folder(data, args.image_size)
    if probed is None or args.num_samples is None:
        return probed
    return probed[0], min(probed[1], args.num_samples)


def _recorded_recipe(args, data, network_options):
    """`(True, recipe)` when `--output` holds a run of this `--data` that recorded the recipe
    chosen for it, which the same command keeps (so that a run started before kgan chose
    recipes as it does now still resumes); else `(False, None)`. Not with `--restart`, a
    network option or a `--model` the recipe does not train."""
    from kgan.recipes import RECIPES

    if args.restart or any(value is not None for value in network_options.values()):
        return False, None
    path = storage.join(args.output, "config.json")
    try:
        config = json.loads(storage.read_text(path))
    except (OSError, ValueError):
        return False, None  # `kgan.runs.folder` says what is wrong with the folder.
    if not isinstance(config, dict) or config.get("data") != os.fspath(data):
        return False, None
    recipe = config.get("recipe")  # Runs from before recipes record none.
    if recipe is not None and (not isinstance(recipe, str) or recipe not in RECIPES or (
        args.model is not None and args.model not in RECIPES[recipe]["models"]
    )):  # fmt: skip
        return False, None
    return True, recipe


def _say_recipe(recipe, data, shape, count, args, network_options, recorded):
    """Says which recipe `kgan train` chose for `--data` (of `count` images of `shape`, when
    known), or why none."""
    from kgan.recipes import DATA_RECIPES, SMALL_DATA_IMAGES, made_recipe

    if recorded:
        kept = f"using recipe {recipe!r}" if recipe else "training without a recipe"
        print(f"{kept}, as the run in {args.output} records (--restart chooses afresh)")
        return
    size = "x".join(str(s) for s in shape) + " images" if shape else None
    # Said when the number of images chose the recipe, not the data set's own.
    small = (
        count is not None
        and count < SMALL_DATA_IMAGES
        and DATA_RECIPES.get(os.fspath(data)) != "small_data"
    )
    if recipe is not None:
        made_for = f"--data {data}" + (f" of {count:,} {size}" if size else "")
        if small:
            of = "" if size else f": {count:,} images"
            made_for += f"{of}, fewer than {SMALL_DATA_IMAGES:,} (kgan.recipes.SMALL_DATA_IMAGES)"
        print(f"using recipe {recipe!r} for {made_for} (--recipe none to turn it off)")
        return
    if any(value is not None for value in network_options.values()):
        return
    made = made_recipe(data, shape, count)
    if made is not None:
        made_for = f"fewer than {SMALL_DATA_IMAGES:,} images" if small else size
        print(
            f"recipe {made!r}, made for {made_for}, does not train --model {args.model}: "
            "training with kgan train's defaults; --recipe NAME chooses another"
        )
    elif size:
        print(
            f"no recipe is made for {size} (kgan.recipes.SHAPE_RECIPES): training with "
            "kgan train's defaults; --recipe NAME chooses one"
        )


def run_train(args):
    from kgan import data as kgan_data
    from kgan.recipes import choose_recipe
    from kgan.training import train

    data = args.data or kgan_data.EMBEDDED_DATASET
    network_options = {
        "architecture": args.architecture,
        "latent_dim": args.latent_dim,
        "base_filters": args.base_filters,
    }
    recorded, recipe = (
        (False, None) if args.recipe else _recorded_recipe(args, data, network_options)
    )
    given = any(value is not None for value in network_options.values())
    probed = None if recorded or given else _probe_folder(args, data)
    shape, count = probed or (None, args.num_samples)
    if not recorded:
        with options.options_in_errors(args, _TRAIN_OPTIONS):
            recipe = choose_recipe(
                data,
                args.recipe,
                image_shape=shape,
                image_count=count,
                model=args.model,
                **network_options,
            )
    if args.recipe is None:
        _say_recipe(recipe, data, shape, count, args, network_options, recorded)
    ema_decay = "auto" if args.ema_decay is None else (args.ema_decay or None)
    with options.options_in_errors(args, _TRAIN_OPTIONS, derived=("image_size",)):
        gan, history = train(
            args.output,
            recipe=recipe,
            data=data,
            data_dir=args.data_dir,
            model=args.model,
            architecture=args.architecture,
            conditional=args.conditional,
            clusters=args.clusters,
            recluster_steps=args.recluster_steps,
            epochs=args.epochs,
            batch_size=args.batch_size,
            latent_dim=args.latent_dim,
            base_filters=args.base_filters,
            ema_decay=ema_decay,
            num_samples=args.num_samples,
            image_size=tuple(args.image_size) if args.image_size else None,
            crop=args.crop,
            seed=args.seed,
            tensorboard=args.tensorboard,
            verbose=2,
            restart=args.restart,
            deterministic=args.deterministic,
            precision=args.precision,
        )
    last = {name: values[-1] for name, values in history.history.items()}
    print(
        f"trained {type(gan).__name__} for {len(history.epoch)} epochs: "
        + ", ".join(f"{k}={v:.4f}" for k, v in sorted(last.items()))
    )
    print(
        f"wrote {args.output}/model.keras, {args.output}/samples.png, "
        f"{args.output}/samples/, {args.output}/history.json"
    )
    return 0


def add_train_classifier_command(subparsers):
    parser = subparsers.add_parser(
        "train-classifier",
        help="train a domain classifier for offline FID/KID, modes and edits",
        description="Train kgan's small classifier for a domain (MNIST or Fashion-MNIST: "
        "about 99.3% or 89.5% test accuracy in minutes on a CPU; CIFAR-10: under an hour) "
        "and save it as a .keras file for `kgan evaluate --classifier` and `kgan edit`. Each "
        "epoch is backed up in NAME.backup/ beside NAME.keras until the end: run the same "
        "command again after an interruption to resume.",
    )
    parser.add_argument("--output", "-o", required=True, metavar="PATH", help=".keras file")
    parser.add_argument(
        "--data",
        default="mnist",
        choices=("mnist", "fashion_mnist", "cifar10"),
        help="domain (default: mnist)",
    )
    parser.add_argument("--data-dir", help="local data folder (default: $KGAN_DATA_DIR)")
    parser.add_argument("--epochs", type=int, help="default: 3 for MNIST-like data, 30 for cifar10")
    parser.add_argument("--seed", type=int, default=0, help="weights and data order (default: 0)")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the .keras file and its .json record if they already exist",
    )
    parser.set_defaults(run=run_train_classifier, check=check_train_classifier)


_CLASSIFIER_OPTIONS = {"dataset": "--data", "epochs": "--epochs", "data_dir": "--data-dir"}


def check_train_classifier(args):
    if not args.output.endswith(".keras"):
        raise ValueError(f"The output must be a .keras file. Received: --output={args.output}")
    options.check_output(args.output, "--output")
    if not args.overwrite:
        # Checked before the training (up to an hour), not after it.
        for path in (args.output, _record_path(args.output)):
            if storage.exists(path):
                raise FileExistsError(
                    f"{path!r} already exists; pass --overwrite to replace it, or another "
                    f"--output. Received: --output={args.output}"
                )
    options.check_values(args, {"--epochs": "count", "--seed": "seed"})


def _beside(output, suffix):
    """The path of a file kept beside the classifier `output`: `NAME.keras` -> `NAME<suffix>`
    (its `.json` record, its `.backup` folder, its `.lock`)."""
    return output[: -len(".keras")] + suffix


def _record_path(output):
    """The JSON record written beside the classifier `output` (`NAME.keras` -> `NAME.json`)."""
    return _beside(output, ".json")


def _start_backup(output, arguments):
    """The folder of the epoch backups kept while the classifier `output` trains
    (`NAME.keras` -> `NAME.backup/`, removed when training ends), which records the
    `arguments` of its training: run again with them after an interruption, the command
    resumes from it; with others, it is refused rather than continued on other settings.
    Returns the folder and whether it holds an interrupted training."""
    import json

    from kgan import atomic

    backup = _beside(output, ".backup")
    record = storage.join(backup, "arguments.json")
    if storage.exists(record):
        with storage.open_file(record) as file:
            recorded = json.load(file)
        if recorded != arguments:
            given = " ".join(f"--{name} {value}" for name, value in recorded.items())
            raise ValueError(
                f"{backup!r} holds an interrupted training of `{given}`: run the command with "
                "those options to resume it, or delete the folder to start again. Received: "
                + ", ".join(f"--{name}={value}" for name, value in arguments.items())
            )
        print(f"Resuming the interrupted training from {backup}")
        return backup, True
    storage.makedirs(backup)
    atomic.write_json(record, arguments)
    return backup, False


def run_train_classifier(args):
    import keras

    from kgan import metrics

    keras.utils.set_random_seed(args.seed)
    epochs = args.epochs or metrics.CLASSIFIER_SETTINGS[args.data]["epochs"]
    with _only_writer(args.output):
        _train_classifier(args, epochs)


def _only_writer(output):
    """Holds `NAME.lock` beside a local `output` while the command trains and writes it, so
    that a second command for the same file fails at once instead of sharing its backup."""
    if storage.is_url(output):
        return contextlib.nullcontext()
    from kgan import atomic

    return atomic.exclusive_lock(_beside(output, ".lock"), what=f"The classifier {output!r}")


def _train_classifier(args, epochs):
    import keras

    from kgan import _system, atomic, metrics

    arguments = {"data": args.data, "epochs": epochs, "seed": args.seed}
    backup, resumed = _start_backup(args.output, arguments)
    started = time.perf_counter()
    try:
        with options.options_in_errors(args, _CLASSIFIER_OPTIONS):
            classifier = metrics.train_classifier(
                dataset=args.data,
                epochs=args.epochs,
                data_dir=args.data_dir,
                verbose=2,
                backup_dir=backup,
            )
    except BaseException:
        # A failure before the first epoch's backup (missing data, say) leaves no folder.
        if storage.exists(backup) and storage.listdir(backup) == ["arguments.json"]:
            storage.rmtree(backup)
        raise
    seconds = time.perf_counter() - started
    # The architecture and weights alone: no optimiser state or compile settings, which the
    # classifier's users never need (`clone_model` would compile the copy again).
    shipped = keras.Model.from_config(classifier.get_config())
    shipped.set_weights(classifier.get_weights())
    atomic.save_model(shipped, args.output)
    card = _record_path(args.output)
    atomic.write_json(
        card,
        {
            "command": "kgan " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
            "data": args.data,
            "epochs": epochs,
            "seed": args.seed,
            "precision": classifier.training_precision,
            "test_accuracy": round(classifier.test_accuracy, 4),
            "train_seconds": round(seconds, 1),
            # A resumed training's seconds are those after the resumption only.
            "resumed": resumed,
            "environment": _system.environment(),
        },
    )
    if storage.exists(backup):  # Its record, once the training no longer needs it.
        storage.rmtree(backup)
    print(f"Test accuracy {classifier.test_accuracy:.4f}; saved {args.output} and {card}")

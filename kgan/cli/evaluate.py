"""`kgan evaluate`: arguments to `kgan.evaluation`."""

from kgan import console
from kgan.cli import options


def add_evaluate_command(subparsers):
    parser = subparsers.add_parser(
        "evaluate",
        help="score a trained generator: FID, KID, precision/recall, mode coverage",
        description="Evaluate a generator (a run folder, a .keras file, a SavedModel version "
        "folder or its base folder, or an .onnx file, as for kgan sample) against a dataset: "
        "FID, KID, precision/recall, density/coverage on features, plus mode coverage "
        "on the 2-D toys and Stacked MNIST. Prints a table; --json writes the numbers. Shows a "
        "progress bar for each long stage when the output is a terminal, else one line per "
        "stage.",
    )
    parser.add_argument(
        "model",
        metavar="MODEL",
        help="run folder, .keras file, SavedModel (version or base folder) or .onnx file",
    )
    parser.add_argument(
        "--data",
        required=True,
        help="real data: mnist, fashion_mnist, cifar10, stacked_mnist, gaussian_ring, "
        "gaussian_grid, an image folder, ...",
    )
    parser.add_argument(
        "--split",
        default=None,
        help="split of the real data (default: test, or train for an image folder and the "
        "embedded sample, which have no other)",
    )
    parser.add_argument("--data-dir", help="local data folder (default: $KGAN_DATA_DIR)")
    parser.add_argument(
        "--classifier",
        help="domain classifier .keras file (kgan train-classifier); default for mnist, "
        "fashion_mnist and cifar10: the shipped one in savedmodels/classifiers/ "
        "($KGAN_CLASSIFIER_DIR), when present",
    )
    parser.add_argument(
        "--features",
        choices=["auto", "inception", "classifier", "raw"],
        default="auto",
        help="feature space (auto: the classifier's when given, else InceptionV3 for images)",
    )
    parser.add_argument(
        "--num-samples",
        type=int,
        default=10_000,
        help="samples to generate, and real images to compare (default: 10000; compare FIDs "
        "only at equal counts)",
    )
    parser.add_argument("--seed", type=int, default=0, help="default: 0")
    parser.add_argument(
        "--jacobian-truncation",
        type=float,
        metavar="SHARE",
        help="evaluate samples drawn with this share left out by Jacobian truncation "
        "(see kgan sample); not for ONNX files",
    )
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON")
    parser.set_defaults(run=run_evaluate, check=check_evaluate)


def check_evaluate(args):
    options.check_model_path(args.model)
    options.check_values(
        args, {"--num-samples": "count", "--seed": "sample seed", "--jacobian-truncation": "share"}
    )
    options.check_classifier(args.classifier)
    options.check_output(args.json, "--json")
    options.check_suffix(args.json, "--json", ".json", ignore_case=True)


# The arguments of `kgan.data.load` and `kgan.evaluate` that the options set.
_OPTIONS = {
    "name": "--data",
    "split": "--split",
    "data_dir": "--data-dir",
    "classifier": "--classifier",
    "feature_extractor": "--features",
    "num_samples": "--num-samples",
    "seed": "--seed",
    "jacobian_truncation": "--jacobian-truncation",
}


def run_evaluate(args):
    import kgan
    from kgan import atomic
    from kgan import data as kgan_data
    from kgan.evaluation import format_table
    from kgan.runs.clusters import load_run_generator
    from kgan.training import load_keras_file

    if _is_run_or_keras_file(args.model):
        model, _, _ = load_run_generator(args.model)
        options.check_generator(model, args.model)
        if not isinstance(model, kgan.models.AdversarialModel):
            # A self-conditioned run's generator of latent vectors alone.
            model = kgan.control.as_generator(model)
    else:  # An export: a SavedModel or an ONNX file.
        from kgan.control import load_generator

        model = load_generator(args.model)
    toys = {"ring": "gaussian_ring", "grid": "gaussian_grid"}
    name = toys.get(args.data, args.data)
    split = None
    with options.options_in_errors(args, _OPTIONS, derived=("classifier",)):
        if name in ("gaussian_ring", "gaussian_grid"):
            real = getattr(kgan_data, name)()
        else:
            split = args.split or _default_split(name)
            real = kgan_data.load(
                name,
                split=split,
                batch_size=500,
                data_dir=args.data_dir,
                seed=args.seed,
                verbose=console.progress_verbosity(),
            )
        classifier_path = args.classifier
        if classifier_path is None and args.features in ("auto", "classifier"):
            from kgan.metrics import shipped_classifier_path

            classifier_path = shipped_classifier_path(name)
            if classifier_path is not None:
                print(f"Scoring in the features of the shipped classifier {classifier_path}")
        classifier = None
        if classifier_path:
            classifier = load_keras_file(str(classifier_path), compile=False, name="--classifier")
        results = kgan.evaluate(
            model,
            real,
            feature_extractor=args.features,
            classifier=classifier,
            num_samples=args.num_samples,
            seed=args.seed,
            jacobian_truncation=args.jacobian_truncation,
            verbose=console.progress_verbosity(),
        )
    print(format_table(results))
    if args.json:
        atomic.write_json(args.json, {**results, "scored": _scored(args, model, split)})
        print(f"Wrote {args.json}")


def _default_split(name):
    """`test`, but `train` for the data that has no other: an image folder (a path) and the
    embedded sample."""
    import os

    from kgan import data as kgan_data

    one_split = name == kgan_data.EMBEDDED_DATASET or os.path.isdir(os.path.expanduser(name))
    return "train" if one_split else "test"


def _scored(args, model, split):
    """What a `--json` file scored: the MODEL argument, the file or folder opened for it (a
    SavedModel base folder opens its highest version), that version, and the data, split and
    seed, so that the numbers can be traced to one generator."""
    import os

    import kgan
    from kgan.control import Generator

    opened = (model.path if isinstance(model, Generator) else None) or args.model
    name = os.path.basename(os.path.normpath(opened))
    saved_model = os.path.isfile(os.path.join(opened, "saved_model.pb"))
    return {
        "model": args.model,
        "opened": opened,
        "version": int(name) if saved_model and name.isdigit() else None,
        "data": args.data,
        "split": split,
        "seed": args.seed,
        "jacobian_truncation": args.jacobian_truncation,
        "kgan_version": kgan.__version__,
    }


def _is_run_or_keras_file(path):
    import os

    return path.endswith(".keras") or os.path.isfile(os.path.join(path, "model.keras"))

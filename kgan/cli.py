"""The `kgan` command line: parses arguments and calls the library.

Each sub-command is added by one `_add_<name>_command(subparsers)` function below and runs a
`_run_<name>(args)` function that only translates arguments into library calls.
"""

import argparse
import os
import sys


def build_parser():
    parser = argparse.ArgumentParser(
        prog="kgan",
        description="Train, evaluate and export generative adversarial networks with Keras.",
    )
    parser.add_argument("--version", action="store_true", help="print kgan's version and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add_command in _COMMANDS:
        add_command(subparsers)
    return parser


def main(argv=None):
    # TensorFlow's C++ start-up chatter (CUDA probing, CPU features, graph-rewrite notes) is
    # noise on a command line; Python errors still surface as usual.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from kgan.version import __version__

        print(__version__)
        return 0
    if not args.command:
        parser.print_help()
        return 2
    from kgan.models import TrainingDivergedError

    try:
        return args.run(args) or 0
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        print(f"kgan {args.command}: error: {error}", file=sys.stderr)
        return 2
    except TrainingDivergedError as error:
        print(f"kgan {args.command}: {error}", file=sys.stderr)
        return 1


def _add_train_command(subparsers):
    parser = subparsers.add_parser(
        "train",
        help="train a GAN and write a run folder (model, samples, history)",
        description="Train a GAN, WGAN or WGAN-GP on a dataset and write a run folder: "
        "model.keras, samples.png, one sample grid per epoch, history.json. The default "
        "dataset is the Fashion-MNIST sample embedded in kgan, which needs no network.",
    )
    parser.add_argument("--output", "-o", required=True, metavar="RUN", help="run folder to write")
    parser.add_argument(
        "--data",
        default=None,
        help="dataset name (mnist, fashion_mnist, cifar10, ...) or image folder "
        "(default: the embedded fashion_mnist_sample)",
    )
    parser.add_argument("--data-dir", help="local data folder (default: $KGAN_DATA_DIR)")
    parser.add_argument("--model", choices=["gan", "wgan", "wgangp"], default="gan")
    parser.add_argument("--architecture", choices=["dcgan", "mlp"], default="dcgan")
    parser.add_argument(
        "--conditional", action="store_true", help="class-conditional model on the labels"
    )
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--latent-dim", type=int, default=64)
    parser.add_argument("--base-filters", type=int, default=32, help="width of the networks")
    parser.add_argument(
        "--ema-decay",
        type=float,
        default=0.99,
        help="decay of the moving average of the generator's weights (0 turns it off)",
    )
    parser.add_argument("--num-samples", type=int, help="train on the first N images only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tensorboard", action="store_true", help="write logs to RUN/logs")
    parser.set_defaults(run=_run_train)


def _run_train(args):
    from kgan import data as kgan_data
    from kgan.training import train

    gan, history = train(
        args.output,
        data=args.data or kgan_data.EMBEDDED_DATASET,
        data_dir=args.data_dir,
        model=args.model,
        architecture=args.architecture,
        conditional=args.conditional,
        epochs=args.epochs,
        batch_size=args.batch_size,
        latent_dim=args.latent_dim,
        base_filters=args.base_filters,
        ema_decay=args.ema_decay or None,
        num_samples=args.num_samples,
        seed=args.seed,
        tensorboard=args.tensorboard,
        verbose=2,
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


def _add_export_command(subparsers):
    parser = subparsers.add_parser(
        "export",
        help="export a trained generator as a SavedModel (TF Serving) and/or ONNX",
        description="Export the generator of a training run (or a .keras file) as a SavedModel "
        "version folder in TF Serving's layout and/or an ONNX file, each checked against Keras "
        "before it is written.",
    )
    parser.add_argument("run_or_model", metavar="RUN_OR_MODEL", help="run folder or .keras file")
    parser.add_argument(
        "--saved-model",
        metavar="BASE_DIR",
        help="model folder to add a version to, e.g. savedmodels/NAME",
    )
    # `dest` differs from the top-level `--version` flag, which shares the namespace.
    parser.add_argument(
        "--version",
        type=int,
        dest="export_version",
        metavar="N",
        help="version to write (default: the next one)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace the version if it already exists"
    )
    parser.add_argument(
        "--max-samples",
        type=int,
        default=None,
        help="largest num_samples of the `generate` signature (default: 256)",
    )
    parser.add_argument(
        "--onnx", metavar="PATH", help="ONNX file to write, e.g. savedmodels/NAME.onnx"
    )
    parser.add_argument("--opset", type=int, help="ONNX opset (default: tf2onnx's)")
    parser.add_argument(
        "--no-verify", action="store_true", help="skip the comparison of the exports with Keras"
    )
    parser.set_defaults(run=_run_export)


def _run_export(args):
    from kgan import export

    if not args.saved_model and not args.onnx:
        raise ValueError("Nothing to export: pass --saved-model BASE_DIR and/or --onnx PATH.")
    if args.export_version is not None and not args.saved_model:
        raise ValueError("--version applies to --saved-model, which was not given.")
    model, history, run_config = export.load_run(args.run_or_model)
    verify = not args.no_verify
    try:
        if args.saved_model:
            kwargs = {} if args.max_samples is None else {"max_samples": args.max_samples}
            path = export.to_saved_model(
                model,
                args.saved_model,
                version=args.export_version,
                overwrite=args.overwrite,
                history=history,
                run_config=run_config,
                verify=verify,
                **kwargs,
            )
            _print_export("SavedModel", path, export.read_metadata(path))
        if args.onnx:
            path = export.to_onnx(
                model,
                args.onnx,
                opset=args.opset,
                history=history,
                run_config=run_config,
                verify=verify,
            )
            _print_export("ONNX", path, export.read_metadata(path))
    except export.ExportVerificationError as error:
        print(f"kgan export: verification failed, nothing written: {error}", file=sys.stderr)
        return 1
    return 0


def _print_export(kind, path, metadata):
    shape = "x".join(str(s) for s in metadata["sample_shape"])
    classes = f", {metadata['num_classes']} classes" if metadata["num_classes"] else ""
    print(
        f"wrote {kind} {path} ({metadata['model_class']}, z {metadata['latent_dim']}, "
        f"samples {shape}{classes})"
    )
    check = metadata.get("verification")
    if check is None:
        print("  not verified (--no-verify)")
        return
    sizes = ", ".join(str(size) for size in check["batch_sizes"])
    line = (
        f"  verified against Keras: max |difference| {check['max_abs_difference']:.2e} "
        f"(tolerance {check['tolerance']:g}) at batch sizes {sizes}"
    )
    if "generate_max_level_difference" in check:
        line += f"; `generate` within {check['generate_max_level_difference']} grey level(s)"
    print(line)


def _add_evaluate_command(subparsers):
    parser = subparsers.add_parser(
        "evaluate",
        help="score a trained generator: FID, KID, precision/recall, mode coverage",
        description="Evaluate a run folder (its model.keras) or a saved .keras model against a "
        "dataset: FID, KID, precision/recall, density/coverage on features, plus mode coverage "
        "on the 2-D toys and Stacked MNIST. Prints a table; --json writes the numbers.",
    )
    parser.add_argument("model", metavar="RUN_OR_MODEL", help="run folder or .keras file")
    parser.add_argument(
        "--data",
        required=True,
        help="real data: mnist, fashion_mnist, stacked_mnist, gaussian_ring, gaussian_grid, ...",
    )
    parser.add_argument(
        "--split",
        default=None,
        help="split of the real data (default: test, or train for the embedded sample, "
        "which has no test split)",
    )
    parser.add_argument("--data-dir", help="local data folder (default: $KGAN_DATA_DIR)")
    parser.add_argument("--classifier", help="MNIST classifier .keras file (kgan train-classifier)")
    parser.add_argument(
        "--features",
        choices=["auto", "inception", "classifier", "raw"],
        default="auto",
        help="feature space (auto: the classifier's when given, else InceptionV3 for images)",
    )
    parser.add_argument("--num-samples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON")
    parser.set_defaults(run=_run_evaluate)


def _run_evaluate(args):
    import json

    import keras

    import kgan
    from kgan import data as kgan_data
    from kgan.evaluation import format_table
    from kgan.training import load_run

    model, _, _ = load_run(args.model, compile=False)
    toys = {"ring": "gaussian_ring", "grid": "gaussian_grid"}
    name = toys.get(args.data, args.data)
    if name in ("gaussian_ring", "gaussian_grid"):
        real = getattr(kgan_data, name)()
    else:
        split = args.split or ("train" if name == kgan_data.EMBEDDED_DATASET else "test")
        real = kgan_data.load(
            name, split=split, batch_size=500, data_dir=args.data_dir, seed=args.seed
        )
    classifier = None
    if args.classifier:
        classifier = keras.saving.load_model(args.classifier, compile=False)
    results = kgan.evaluate(
        model,
        real,
        feature_extractor=args.features,
        classifier=classifier,
        num_samples=args.num_samples,
        seed=args.seed,
    )
    print(format_table(results))
    if args.json:
        with open(args.json, "w") as file:
            json.dump(results, file, indent=2)
        print(f"Wrote {args.json}")


def _add_train_classifier_command(subparsers):
    parser = subparsers.add_parser(
        "train-classifier",
        help="train the MNIST classifier used for FID/KID and Stacked MNIST modes",
        description="Train kgan's small MNIST classifier (about 99.3% test accuracy in a few "
        "minutes on a CPU) and save it as a .keras file for `kgan evaluate --classifier`.",
    )
    parser.add_argument("--output", "-o", required=True, metavar="PATH", help=".keras file")
    parser.add_argument("--data", default="mnist", help="28x28 ten-class dataset (mnist)")
    parser.add_argument("--data-dir", help="local data folder (default: $KGAN_DATA_DIR)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.set_defaults(run=_run_train_classifier)


def _run_train_classifier(args):
    from kgan import metrics

    if not args.output.endswith(".keras"):
        raise ValueError(f"The output must be a .keras file. Received: --output={args.output}")
    classifier = metrics.train_mnist_classifier(
        dataset=args.data, epochs=args.epochs, data_dir=args.data_dir, verbose=2
    )
    classifier.save(args.output)
    print(f"Test accuracy {classifier.test_accuracy:.4f}; saved {args.output}")


# Sub-commands, in the order `kgan --help` lists them. Each module's command is added here.
_COMMANDS = [
    _add_train_command,
    _add_export_command,
    _add_evaluate_command,
    _add_train_classifier_command,
]


if __name__ == "__main__":
    sys.exit(main())

"""`kgan export`: arguments to `kgan.export`."""

import sys

from kgan.cli import options


def add_export_command(subparsers):
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
        "--overwrite",
        action="store_true",
        help="replace the version, and the ONNX file, if they already exist",
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
        "--class-names",
        metavar="A,B,...",
        help="a name for each class of a conditional generator, in label order, for the "
        "metadata and `kgan sample --labels NAME` (a name holding a comma in double quotes; "
        "default: those the run recorded, or those of mnist, fashion_mnist and cifar10)",
    )
    parser.add_argument(
        "--no-verify", action="store_true", help="skip the comparison of the exports with Keras"
    )
    parser.set_defaults(run=run_export, check=check_export)


def check_export(args):
    if not args.saved_model and not args.onnx:
        raise ValueError(
            "Nothing to export: pass --saved-model BASE_DIR and/or --onnx PATH. "
            "Received: --saved-model=None, --onnx=None"
        )
    for option, value, target in (
        ("--version", args.export_version, args.saved_model),
        ("--max-samples", args.max_samples, args.saved_model),
        ("--opset", args.opset, args.onnx),
    ):
        if value is not None and not target:
            needed = "--saved-model" if target is args.saved_model else "--onnx"
            raise ValueError(
                f"{option} applies to {needed}, which was not given. Received: {option}={value}"
            )
    options.check_model_path(args.run_or_model, "RUN_OR_MODEL")
    options.check_values(
        args,
        {"--version": "count", "--max-samples": "count"},
        dests={"--version": "export_version"},
    )
    options.check_output(args.saved_model, "--saved-model", folder=True)
    options.check_output(args.onnx, "--onnx")
    options.check_suffix(args.onnx, "--onnx", ".onnx")
    _class_names(args)


def run_export(args):
    from kgan import export
    from kgan.export import onnx as export_onnx
    from kgan.export import versions
    from kgan.runs import clusters as run_clusters

    if args.onnx:
        # Here, not in `check_export`: tf2onnx, which knows its opsets, imports TensorFlow.
        # Before the model loads and the SavedModel is written, so that one export failing
        # leaves no half of the command.
        with options.options_in_errors(args, {"opset": "--opset"}):
            export_onnx.check_opset(args.opset)
        with options.options_in_errors(args, {"path": "--onnx"}):
            export_onnx.check_destination(args.onnx, args.overwrite)
    if args.saved_model:
        with options.options_in_errors(args, {"base_dir": "--saved-model"}):
            versions.check_base_dir(args.saved_model)
    model, history, run_config = export.load_run(args.run_or_model)
    options.check_generator(model, args.run_or_model, "RUN_OR_MODEL")
    clusters = run_clusters.run_record(args.run_or_model)
    if clusters is not None:
        # A self-conditioned run exports its generator of latent vectors alone.
        model = run_clusters.generator_source(model, clusters)
    verify = not args.no_verify
    named = {"class_names": _checked_class_names(args, model)}
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
                **named,
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
                overwrite=args.overwrite,
                **named,
            )
            _print_export("ONNX", path, export.read_metadata(path))
    except export.ExportVerificationError as error:
        print(f"kgan export: verification failed, nothing written: {error}", file=sys.stderr)
        return 1
    return 0


def _class_names(args):
    """The names of `--class-names` (a name holding a comma in double quotes), or `None`; an
    empty name is refused."""
    if args.class_names is None:
        return None
    names = options.split_list(args.class_names, "--class-names")
    if not all(names):
        raise ValueError(
            "--class-names must be comma-separated names, one per class, none empty "
            '(a name holding a comma in double quotes: "Smith, John"). '
            f"Received: --class-names={args.class_names}"
        )
    return names


def _checked_class_names(args, model):
    """`--class-names` checked against the generator's classes, before anything is written."""
    from kgan.export import resolve_generator
    from kgan.export.metadata import check_class_names

    names = _class_names(args)
    if names is None:
        return None
    num_classes = resolve_generator(model).num_classes
    try:
        return check_class_names(names, num_classes)
    except ValueError:
        pass
    if num_classes is None:
        problem = "the generator is unconditional"
    elif len(names) != num_classes:
        problem = f"the generator has {num_classes} classes, and {len(names)} names were given"
    else:
        problem = "a name is given twice"
    raise ValueError(
        f"--class-names must name each class of the generator once: {problem}. "
        f"Received: --class-names={args.class_names}"
    )


def _print_export(kind, path, metadata):
    shape = "x".join(str(s) for s in metadata["sample_shape"])
    classes = f", {metadata['num_classes']} classes" if metadata["num_classes"] else ""
    names = metadata.get("class_names")
    if names:
        classes += f" ({names[0]} ... {names[-1]})" if len(names) > 3 else f" ({', '.join(names)})"
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

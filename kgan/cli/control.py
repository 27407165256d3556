"""`kgan sample`, `kgan interpolate` and `kgan edit`: arguments to `kgan.control`."""

import os


def add_sample_command(subparsers):
    parser = subparsers.add_parser(
        "sample",
        help="draw samples from a generator (run, .keras, SavedModel or ONNX) into a PNG grid",
        description="Draw samples from a generator and write them as a PNG grid (and "
        "optionally as a .npy array). MODEL is a run folder, a .keras file, a SavedModel "
        "version folder or its base folder (the highest version), or an .onnx file; the same "
        "seed gives the same images in every format.",
    )
    parser.add_argument("model", metavar="MODEL", help="run folder, .keras, SavedModel or .onnx")
    parser.add_argument("--num-samples", type=int, default=64)
    parser.add_argument(
        "--labels", help="class(es) of a conditional model, e.g. 3 or 0,1,2 (repeated in turn)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--jacobian-truncation",
        type=float,
        metavar="SHARE",
        help="leave out this share (0-1) of the samples, those where the generator stretches "
        "space most: the in-between samples of disconnected modes (Keras and SavedModel only)",
    )
    parser.add_argument("--out", default=None, help="PNG grid to write (default: samples.png)")
    parser.add_argument("--npy", metavar="PATH", help="also write the samples as a .npy array")
    parser.set_defaults(run=run_sample)


def run_sample(args):
    from kgan import control

    generator = control.load_generator(args.model)
    labels = control.labels.option_labels(args.labels, args.num_samples, generator.num_classes)
    images = generator.generate(
        args.num_samples,
        labels=labels,
        seed=args.seed,
        jacobian_truncation=args.jacobian_truncation,
    )
    _write_samples(generator, images, args.out, args.npy, "samples.png")
    truncated = ""
    if args.jacobian_truncation is not None:
        truncated = f", Jacobian truncation {args.jacobian_truncation:g}"
    print(f"{args.num_samples} samples from {generator.describe()} (seed {args.seed}{truncated})")


def _write_samples(generator, images, out, npy, default_out, num_rows=None):
    import numpy as np

    from kgan.images import save_image_grid

    if not generator.is_image and out:
        raise ValueError(
            f"The samples have shape {generator.sample_shape}, not images; write them with "
            f"--npy. Received: --out={out}"
        )
    if not generator.is_image and not npy:
        raise ValueError(
            f"The samples have shape {generator.sample_shape}, not images: pass --npy PATH. "
            "Received: --npy=None"
        )
    if generator.is_image:
        out = out or default_out
        save_image_grid(images, out, num_rows=num_rows)
        print(f"wrote {out}")
    if npy:
        np.save(npy, images)
        print(f"wrote {npy}")


def add_interpolate_command(subparsers):
    parser = subparsers.add_parser(
        "interpolate",
        help="walk between latent vectors (or classes) and write the images as a grid",
        description="Write a grid whose rows walk from one seeded latent vector to another "
        "(slerp by default), or, with --class-blend A,B, from class A to class B at a fixed "
        "latent vector (conditional Keras models only: a run folder or a .keras file).",
    )
    parser.add_argument("model", metavar="MODEL", help="run folder, .keras, SavedModel or .onnx")
    parser.add_argument("--steps", type=int, default=10, help="images per row (at least 2)")
    parser.add_argument("--rows", type=int, default=4)
    parser.add_argument("--method", choices=["slerp", "linear"], default="slerp")
    parser.add_argument(
        "--labels", help="class of every row (3) or of each row (0,1,2,3) of a conditional model"
    )
    parser.add_argument(
        "--class-blend", metavar="A,B", help="blend from class A to class B at a fixed z"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="PNG grid (default: interpolation.png)")
    parser.add_argument("--npy", metavar="PATH", help="also write the images as a .npy array")
    parser.set_defaults(run=run_interpolate)


def run_interpolate(args):
    from kgan import control

    generator = control.load_generator(args.model)
    if args.class_blend is not None:
        if args.labels is not None:
            raise ValueError(
                "--class-blend sets the classes itself; leave out --labels. "
                f"Received: --labels={args.labels}"
            )
        start, end = control.labels.parse_class_pair(args.class_blend, "--class-blend")
        images = control.class_interpolation_grid(
            generator, start, end, args.steps, num_rows=args.rows, seed=args.seed
        )
    else:
        labels = control.labels.option_labels(args.labels, args.rows, generator.num_classes)
        images = control.interpolation_grid(
            generator, args.rows, args.steps, seed=args.seed, method=args.method, labels=labels
        )
    _write_samples(generator, images, args.out, args.npy, "interpolation.png", args.rows)
    print(f"{args.rows} rows of {args.steps} steps from {generator.describe()}")


def add_edit_command(subparsers):
    parser = subparsers.add_parser(
        "edit",
        help="edit samples towards a classifier's class, shown before and after",
        description="Move samples' latent vectors so that a classifier sees more of --target: "
        "each on its own by gradient ascent (--steps, --step-size), or all along one global "
        "direction (--strength). Writes a grid with each image before and after its edit, side "
        "by side. MODEL is a run folder, a .keras file or a SavedModel (ONNX gives no "
        "gradients).",
    )
    parser.add_argument("model", metavar="MODEL", help="run folder, .keras or SavedModel")
    parser.add_argument(
        "--classifier", required=True, help=".keras classifier on the generator's images"
    )
    parser.add_argument("--target", type=int, required=True, help="class to move towards")
    parser.add_argument(
        "--strength", type=float, help="move along the global direction by this much instead"
    )
    parser.add_argument("--steps", type=int, default=20, help="gradient steps of each edit")
    parser.add_argument("--step-size", type=float, default=0.2, help="length of each step in z")
    parser.add_argument(
        "--stop-at-target", action="store_true", help="stop each edit once the class is reached"
    )
    parser.add_argument("--keep", help="classes whose scores the edit holds fixed, e.g. 1,2")
    parser.add_argument(
        "--probabilities", action="store_true", help="the classifier outputs probabilities"
    )
    parser.add_argument("--num-samples", type=int, default=8)
    parser.add_argument("--labels", help="class(es) of a conditional model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="PNG grid (default: before_after.png)")
    parser.set_defaults(run=run_edit)


def run_edit(args):
    import keras

    from kgan import control

    generator = control.load_generator(args.model)
    if not os.path.isfile(args.classifier):
        raise FileNotFoundError(f"No classifier file. Received: --classifier={args.classifier}")
    classifier = keras.saving.load_model(args.classifier, compile=False)
    labels = control.labels.option_labels(args.labels, args.num_samples, generator.num_classes)
    options = {}
    if args.strength is None:
        options = {
            "steps": args.steps,
            "step_size": args.step_size,
            "keep": control.labels.parse_labels(args.keep, "--keep"),
            "stop_at_target": args.stop_at_target,
        }
    result = control.edit_samples(
        generator,
        classifier,
        args.target,
        num_samples=args.num_samples,
        seed=args.seed,
        labels=labels,
        strength=args.strength,
        from_logits=not args.probabilities,
        **options,
    )
    pairs, num_rows = control.side_by_side(result["before"], result["after"])
    _write_samples(generator, pairs, args.out, None, "before_after.png", num_rows)
    reached = int((result["after_class"] == args.target).sum())
    print(
        f"{reached} of {args.num_samples} images classified as {args.target} after the edit "
        f"(before: {int((result['before_class'] == args.target).sum())}); mean probability "
        f"{result['before_probability'].mean():.3f} -> {result['after_probability'].mean():.3f}"
    )


# Sub-commands, in the order `kgan --help` lists them. Each module's command is added here.

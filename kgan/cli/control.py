"""`kgan sample`, `kgan interpolate` and `kgan edit`: arguments to `kgan.control`."""

from kgan import console
from kgan.cli import options

_LABELS_HELP = (
    "class(es) of a conditional model, by number or by the name its run or export records: "
    "3, 0,1,2 or cat,dog (repeated in turn; a name holding a comma in double quotes)"
)


def add_sample_command(subparsers):
    parser = subparsers.add_parser(
        "sample",
        help="draw samples from a generator (run, .keras, SavedModel or ONNX) into PNG files",
        description="Draw samples from a generator and write them as a PNG grid, one PNG per "
        "sample (--out-dir), and/or a .npy array. MODEL is a run folder, a .keras file, a "
        "SavedModel version folder or its base folder (the highest version), or an .onnx "
        "file; the same seed gives the same images in every format. With --seeds, each "
        "sample has its own seed: the sample of seed S is the image of `--seeds S` alone, "
        "whatever else is drawn with it.",
    )
    parser.add_argument("model", metavar="MODEL", help="run folder, .keras, SavedModel or .onnx")
    parser.add_argument("--num-samples", type=int, help="default: 64, or one per --seeds seed")
    parser.add_argument(
        "--labels",
        help=_LABELS_HELP,
    )
    parser.add_argument(
        "--seed", type=int, help="seed of all the samples drawn together (default: 0)"
    )
    parser.add_argument(
        "--seeds",
        metavar="LIST",
        help="one sample per seed, each from its own seed: a range 0-99, or a list 0,3,5-9 (at "
        "most 1,000,000 seeds)",
    )
    parser.add_argument(
        "--jacobian-truncation",
        type=float,
        metavar="SHARE",
        help="leave out this share (0-1) of the samples, those where the generator stretches "
        "space most: the in-between samples of disconnected modes (Keras and SavedModel only); "
        "its threshold is set first from 10,000 prior samples, whatever the count asked for "
        "(minutes on a CPU for 32x32 colour images)",
    )
    parser.add_argument(
        "--grid",
        "--out",
        dest="out",
        metavar="PATH",
        help="PNG grid to write (default: samples.png, unless --out-dir or --npy alone is given)",
    )
    parser.add_argument(
        "--out-dir",
        metavar="DIR",
        help="write each sample as its own PNG, DIR/seed0007.png (seed0007-class3.png for a "
        "conditional model); without --seeds, the index replaces the seed (sample0007.png)",
    )
    parser.add_argument("--npy", metavar="PATH", help="also write the samples as a .npy array")
    parser.set_defaults(run=run_sample, check=check_sample)


def check_sample(args):
    options.check_model_path(args.model)
    options.check_values(
        args, {"--num-samples": "count", "--seed": "latent seed", "--jacobian-truncation": "share"}
    )
    if args.seeds is not None:
        for option, value in (
            ("--seed", args.seed),
            ("--num-samples", args.num_samples),
            ("--jacobian-truncation", args.jacobian_truncation),
        ):
            if value is not None:
                raise ValueError(
                    f"--seeds gives every sample its own seed; leave out {option}. "
                    f"Received: {option}={value}"
                )
        options.parse_seeds(args.seeds)
    options.parse_labels(args.labels)
    default_out = None if args.out_dir or args.npy else "samples.png"
    _check_grid(args, default_out)
    options.check_output(args.npy, "--npy", written=_npy_path(args.npy))
    options.check_output(args.out_dir, "--out-dir", folder=True)


def _add_grid_option(parser, default):
    """`--grid PATH` (also `--out`), as in `kgan sample`: the PNG grid a command writes."""
    parser.add_argument(
        "--grid",
        "--out",
        dest="out",
        metavar="PATH",
        help=f"PNG grid to write (default: {default})",
    )


def _out_option(args):
    """The grid's option as typed: `--grid` or `--out`, which are one option."""
    return options.typed(args, "--grid") or ["--out"]


def _check_grid(args, default):
    (option,) = _out_option(args)
    options.check_output(args.out or default, option)
    options.check_suffix(args.out, option, ".png", ignore_case=True)


def _npy_path(npy):
    """Where `--npy` writes: as `np.save(npy)`, which adds `.npy` to a name without it."""
    return npy if npy is None or npy.endswith(".npy") else npy + ".npy"


def _option_labels(text, count, generator, name="--labels", count_option="--num-samples"):
    """The labels a command-line option gives `count` samples (or rows, the value of
    `count_option`): parsed (`"0,1,2"`, `"cat,dog"`), names turned into the generator's class
    numbers, checked, and repeated in turn (0, 1, 2, 0, 1, 2, ...); `None` without it. More
    labels than samples are refused: some classes asked for would not be drawn."""
    from kgan.control.labels import check_labels, class_indices, repeat_labels

    if text is None:
        return None
    _check_conditional(generator, name, text)
    values = class_indices(
        options.parse_labels(text, name), generator.class_names, name=name, typed=text
    )
    _check_classes(values, generator, name, text)
    check_labels(values, len(values), generator.num_classes, name=name)
    if len(values) > count:
        raise ValueError(
            f"{name} names {len(values)} classes for {count} "
            f"{'rows' if count_option == '--rows' else 'samples'}, so some would not be drawn; "
            f"name at most {count}, or raise {count_option}. "
            f"Received: {name}={text}, {count_option}={count}"
        )
    return repeat_labels(values, count)


def _check_classes(values, generator, option, text):
    """Refuses class numbers outside the generator's classes, naming the option as typed."""
    for value in values:
        if not 0 <= value < generator.num_classes:
            raise ValueError(
                f"{option} must name classes in [0, {generator.num_classes}): {value} is none. "
                f"Received: {option}={text}"
            )


def _check_conditional(generator, option, text):
    """Refuses classes for an unconditional generator, before any is read as a name."""
    if generator.num_classes is None:
        raise ValueError(
            f"{option} gives classes, but the generator is unconditional. Received: {option}={text}"
        )


# The library arguments that the commands' options set, for errors that name the options.
_SAMPLE_OPTIONS = {
    "num_samples": "--num-samples",
    "seed": "--seed",
    "jacobian_truncation": "--jacobian-truncation",
}
_INTERPOLATE_OPTIONS = {"steps": "--steps", "num_rows": "--rows", "seed": "--seed"}
_EDIT_OPTIONS = {
    "target": "--target",
    "num_samples": "--num-samples",
    "seed": "--seed",
    "steps": "--steps",
    "step_size": "--step-size",
    "strength": "--strength",
}


def run_sample(args):
    if args.seeds is not None:
        seeds = options.parse_seeds(args.seeds)
        num_samples = len(seeds)
    else:
        seeds, num_samples = None, 64 if args.num_samples is None else args.num_samples
    generator = options.load_generator(args.model)
    if args.out_dir:
        _require_images(generator, "--out-dir", args.out_dir)
    _check_sample_outputs(generator, args, args.npy)
    labels = _option_labels(args.labels, num_samples, generator)
    if seeds is not None:
        images = generator.generate(
            z=generator.seeded_z(seeds), labels=labels, verbose=console.progress_verbosity()
        )
        described = f"seeds {args.seeds}"
    else:
        seed = 0 if args.seed is None else args.seed
        with options.options_in_errors(args, _SAMPLE_OPTIONS):
            images = generator.generate(
                num_samples,
                labels=labels,
                seed=seed,
                jacobian_truncation=args.jacobian_truncation,
                verbose=console.progress_verbosity(),
            )
        described = f"seed {seed}"
        if args.jacobian_truncation is not None:
            described += f", Jacobian truncation {args.jacobian_truncation:g}"
    default_out = None if args.out_dir or args.npy else "samples.png"
    _write_samples(generator, images, args.out, args.npy, default_out)
    if args.out_dir:
        from kgan.images import save_images

        names = _sample_names(generator, num_samples, seeds, labels)
        save_images(images, args.out_dir, names)
        print(f"wrote {num_samples} PNG files to {args.out_dir} ({names[0]}, ...)")
    print(f"{num_samples} samples from {generator.describe()} ({described})")


def _sample_names(generator, num_samples, seeds, labels):
    """`seed0007.png` (or `sample0007.png` without seeds), with `-class3` when conditional."""
    from kgan.control.labels import check_labels

    # Without --labels, the classes `generate` gave: 0, 1, ..., num_classes - 1 in turn.
    labels = check_labels(labels, num_samples, generator.num_classes)
    names = []
    for index in range(num_samples):
        name = f"seed{seeds[index]:04d}" if seeds is not None else f"sample{index:04d}"
        if labels is not None:
            name += f"-class{int(labels[index])}"
        names.append(name + ".png")
    return names


def _require_images(generator, option, value):
    if not generator.is_image:
        raise ValueError(
            f"The samples have shape {generator.sample_shape}, not images; write them with "
            f"--npy. Received: {option}={value}"
        )


def _check_sample_outputs(generator, args, npy, *, takes_npy=True):
    """Refuses, before any sample is drawn, outputs that cannot hold the generator's samples
    (`takes_npy`: the command has `--npy`, which holds samples of any shape)."""
    if args.out:
        _require_images(generator, *_out_option(args), args.out)
    if not generator.is_image and not takes_npy:
        raise ValueError(
            f"The samples have shape {generator.sample_shape}, not images, and this command "
            f"writes images only. Received: MODEL={generator.describe()}"
        )
    if not generator.is_image and not npy:
        raise ValueError(
            f"The samples have shape {generator.sample_shape}, not images: pass --npy PATH. "
            "Received: --npy=None"
        )


def _write_samples(generator, images, out, npy, default_out, num_rows=None):
    import numpy as np

    from kgan import atomic
    from kgan.images import save_image_grid

    out = out or (default_out if generator.is_image else None)
    if out:
        save_image_grid(images, out, num_rows=num_rows)
        print(f"wrote {out}")
    if npy:
        npy = _npy_path(npy)
        with atomic.replacing(npy, suffix=".npy") as temp:
            np.save(temp, images)
        print(f"wrote {npy}")


def add_interpolate_command(subparsers):
    parser = subparsers.add_parser(
        "interpolate",
        help="walk between latent vectors (or classes) and write the images as a grid or GIF",
        description="Write a grid whose rows walk from one seeded latent vector to another "
        "(slerp by default), or, with --class-blend A,B, from class A to class B at a fixed "
        "latent vector (conditional Keras models only: a run folder or a .keras file).",
    )
    parser.add_argument("model", metavar="MODEL", help="run folder, .keras, SavedModel or .onnx")
    parser.add_argument(
        "--steps", type=int, default=10, help="images per row, at least 2 (default: 10)"
    )
    parser.add_argument("--rows", type=int, default=4, help="walks, one per row (default: 4)")
    parser.add_argument(
        "--method",
        choices=["slerp", "linear"],
        default="slerp",
        help="path between the two latent vectors (default: slerp)",
    )
    parser.add_argument(
        "--labels",
        help="class of every row (3 or cat) or of each row (0,1,2,3) of a conditional model",
    )
    parser.add_argument(
        "--class-blend",
        metavar="A,B",
        help="blend from class A to class B (numbers or names; a name holding a comma in double "
        "quotes) at a fixed z (no --labels or --method)",
    )
    parser.add_argument("--seed", type=int, default=0, help="default: 0")
    _add_grid_option(parser, "interpolation.png")
    parser.add_argument("--npy", metavar="PATH", help="also write the images as a .npy array")
    parser.add_argument(
        "--gif",
        metavar="PATH",
        help="also write an animated GIF: frame t shows every row at step t, so the rows "
        "move from their start to their end together, then start again",
    )
    parser.add_argument(
        "--fps", type=float, default=10, help="frames per second of --gif (default: 10)"
    )
    parser.set_defaults(run=run_interpolate, check=check_interpolate)


def check_interpolate(args):
    options.check_model_path(args.model)
    options.check_values(
        args,
        {"--steps": "at least 2", "--rows": "count", "--seed": "latent seed", "--fps": "positive"},
    )
    if args.class_blend is not None:
        for option in ("--labels", "--method"):
            if option in options.typed(args, option):
                raise ValueError(
                    f"--class-blend walks between two classes at one z; leave out {option}. "
                    f"Received: {option}={getattr(args, options.dest(option))}"
                )
        options.parse_class_pair(args.class_blend, "--class-blend")
    options.parse_labels(args.labels)
    _check_grid(args, "interpolation.png")
    options.check_output(args.npy, "--npy", written=_npy_path(args.npy))
    options.check_output(args.gif, "--gif")
    options.check_suffix(args.gif, "--gif", ".gif", ignore_case=True)


def run_interpolate(args):
    from kgan import control
    from kgan.control.labels import class_indices

    generator = options.load_generator(args.model)
    if args.gif:
        _require_images(generator, "--gif", args.gif)
    _check_sample_outputs(generator, args, args.npy)
    if args.class_blend is not None:
        _check_conditional(generator, "--class-blend", args.class_blend)
        pair = options.parse_class_pair(args.class_blend, "--class-blend")
        start, end = class_indices(
            pair, generator.class_names, name="--class-blend", typed=args.class_blend
        )
        _check_classes((start, end), generator, "--class-blend", args.class_blend)
        blend = {"start": "--class-blend", "end": "--class-blend"}
        with options.options_in_errors(args, {**_INTERPOLATE_OPTIONS, **blend}, derived=blend):
            images = control.class_interpolation_grid(
                generator, start, end, args.steps, num_rows=args.rows, seed=args.seed
            )
    else:
        labels = _option_labels(args.labels, args.rows, generator, count_option="--rows")
        with options.options_in_errors(args, _INTERPOLATE_OPTIONS):
            images = control.interpolation_grid(
                generator, args.rows, args.steps, seed=args.seed, method=args.method, labels=labels
            )
    _write_samples(generator, images, args.out, args.npy, "interpolation.png", args.rows)
    if args.gif:
        from kgan.images import save_animation

        # The grid's rows are the walks; the animation's frames are their steps.
        frames = images.reshape(args.rows, args.steps, *images.shape[1:]).swapaxes(0, 1)
        save_animation(frames, args.gif, fps=args.fps)
        print(f"wrote {args.gif}")
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
        "--classifier",
        required=True,
        metavar="PATH",
        help=".keras classifier on the generator's images",
    )
    parser.add_argument("--target", type=int, required=True, help="class to move towards")
    parser.add_argument(
        "--strength",
        type=float,
        help="move along the global direction by this much instead (no --steps, --step-size, "
        "--keep or --stop-at-target)",
    )
    parser.add_argument(
        "--steps", type=int, default=20, help="gradient steps of each edit (default: 20)"
    )
    parser.add_argument(
        "--step-size", type=float, default=0.2, help="length of each step in z (default: 0.2)"
    )
    parser.add_argument(
        "--stop-at-target", action="store_true", help="stop each edit once the class is reached"
    )
    parser.add_argument("--keep", help="classes whose scores the edit holds fixed, e.g. 1,2")
    parser.add_argument(
        "--probabilities", action="store_true", help="the classifier outputs probabilities"
    )
    parser.add_argument("--num-samples", type=int, default=8, help="samples to edit (default: 8)")
    parser.add_argument(
        "--labels",
        help=_LABELS_HELP,
    )
    parser.add_argument("--seed", type=int, default=0, help="default: 0")
    _add_grid_option(parser, "before_after.png")
    parser.set_defaults(run=run_edit, check=check_edit)


# The options of a gradient edit, which a move along the global direction (--strength) has not.
_GRADIENT_OPTIONS = ("--steps", "--step-size", "--keep", "--stop-at-target")


def _typed_value(args, option):
    """`--keep=1`, or `--stop-at-target` for a flag: an option as the user gave it."""
    value = getattr(args, options.dest(option))
    return option if isinstance(value, bool) else f"{option}={value}"


def check_edit(args):
    options.check_model_path(args.model)
    options.check_values(
        args,
        {
            "--target": "class",
            "--strength": "finite",
            "--steps": "count",
            "--step-size": "non-negative",
            "--num-samples": "count",
            "--seed": "latent seed",
        },
    )
    given = options.typed(args, *_GRADIENT_OPTIONS)
    if args.strength is not None and given:
        raise ValueError(
            f"--strength moves along the global direction, which takes no {', '.join(given)} "
            f"(gradient edits only). Received: --strength={args.strength} with "
            + _typed_value(args, given[0])
        )
    options.parse_labels(args.keep, "--keep", names=False)
    options.parse_labels(args.labels)
    options.check_classifier(args.classifier)
    _check_grid(args, "before_after.png")


def run_edit(args):
    from kgan import control
    from kgan.runs.folder import load_keras_file

    generator = options.load_generator(args.model)
    _check_sample_outputs(generator, args, None, takes_npy=False)
    classifier = load_keras_file(args.classifier, compile=False, name="--classifier")
    labels = _option_labels(args.labels, args.num_samples, generator)
    edit_options = {}
    if args.strength is None:
        edit_options = {
            "steps": args.steps,
            "step_size": args.step_size,
            "keep": options.parse_labels(args.keep, "--keep", names=False),
            "stop_at_target": args.stop_at_target,
        }
    # The classifier the library names by its Keras name is the file the user gave.
    edit_names = {**_EDIT_OPTIONS, "classifier": "--classifier"}
    with options.options_in_errors(args, edit_names, derived=("classifier",)):
        if edit_options.get("keep"):
            from kgan.control.edit import check_keep, classifier_outputs

            # Here, so that the errors name --keep and --target rather than the library's.
            outputs = classifier_outputs(classifier, generator.sample_shape)
            check_keep(
                edit_options["keep"], args.target, outputs, name="--keep", target_name="--target"
            )
        result = control.edit_samples(
            generator,
            classifier,
            args.target,
            num_samples=args.num_samples,
            seed=args.seed,
            labels=labels,
            strength=args.strength,
            from_logits=not args.probabilities,
            **edit_options,
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

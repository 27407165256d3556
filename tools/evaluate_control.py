"""Measures how well kgan controls what a generator draws: class control and edits.

    python tools/evaluate_control.py --classifier mnist_classifier.keras \
        --conditional savedmodels/mnist_cdcgan --edit-model savedmodels/mnist_wgangp \
        --json control.json

- Class control (`--conditional`, a class-conditional generator): the share of the samples
  drawn for each class that the classifier (trained on the real data) assigns to that class.
- Edits (`--edit-model`, or the conditional generator when not given): `kgan.control.edit`
  towards each target class, stopping once the classifier's top class is the target, and the
  global `attribute_direction` at each of `--strengths`: how often the target is reached, the
  mean L2 pixel move (pixels in [0, 1]) and the mean change of the other classes' logits.

MODEL paths are anything `kgan sample` opens (run folder, .keras, SavedModel; edits need
gradients, so not ONNX). Prints a table and, with `--json`, writes the numbers.
"""

import argparse
import sys


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--classifier", required=True, help=".keras classifier (logits)")
    parser.add_argument("--conditional", metavar="MODEL", help="class-conditional generator")
    parser.add_argument("--edit-model", metavar="MODEL", help="generator to edit")
    parser.add_argument("--num-samples", type=int, default=1000, help="samples per class")
    parser.add_argument("--edit-samples", type=int, default=100, help="samples edited per target")
    parser.add_argument("--targets", help="target classes of the edits (default: all)")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--step-size", type=float, default=0.1)
    parser.add_argument("--strengths", default="1,2,4", help="strengths of the global direction")
    parser.add_argument("--direction-samples", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if not args.conditional and not args.edit_model:
        print("error: pass --conditional MODEL and/or --edit-model MODEL", file=sys.stderr)
        return 2
    import keras

    from kgan import atomic, control
    from kgan.cli.options import parse_labels

    classifier = keras.saving.load_model(args.classifier, compile=False)
    targets = parse_labels(args.targets, "--targets", names=False)
    strengths = [float(value) for value in args.strengths.split(",")]
    results = {"classifier": args.classifier}
    conditional = control.load_generator(args.conditional) if args.conditional else None
    if conditional is not None:
        results["conditional"] = args.conditional
        results["class_control"] = control.class_control(
            conditional, classifier, args.num_samples, seed=args.seed
        )
    edit_model = control.load_generator(args.edit_model) if args.edit_model else conditional
    results["edit_model"] = args.edit_model or args.conditional
    results["edits"] = control.measure_edits(
        edit_model,
        classifier,
        targets=targets,
        num_samples=args.edit_samples,
        steps=args.steps,
        step_size=args.step_size,
        seed=args.seed,
    )
    results["directions"] = control.measure_directions(
        edit_model,
        classifier,
        targets=targets,
        strengths=strengths,
        num_samples=args.edit_samples,
        direction_samples=args.direction_samples,
        seed=args.seed,
    )
    print(control.format_report(results))
    if args.json:
        atomic.write_json(args.json, results)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

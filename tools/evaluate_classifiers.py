"""Test accuracy of the shipped domain classifiers, into tools/results/classifiers.json.

    KGAN_DATA_DIR=../shared/data python tools/evaluate_classifiers.py

Each `savedmodels/classifiers/NAME.keras` is scored on its dataset's test split as
`kgan.data.load` reads it from `$KGAN_DATA_DIR` (the original IDX files, the CIFAR-10 JPEG
copy). The script then writes `savedmodels/classifiers/README.md` from these figures and from
the record `kgan train-classifier` left beside each classifier (`NAME.json`: command, time,
machine); `--check` only compares that README with what it would write.
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLASSIFIERS = os.path.join(ROOT, "savedmodels", "classifiers")


def accuracy(path, dataset):
    import keras
    import numpy as np

    import kgan

    classifier = keras.saving.load_model(path, compile=False)
    test = kgan.data.load(
        dataset, split="test", batch_size=500, with_labels=True, shuffle=False, verbose=0
    )
    correct = total = 0
    for images, labels in test:
        predicted = np.argmax(classifier(images, training=False), axis=-1)
        correct += int(np.sum(predicted == labels.numpy()))
        total += len(predicted)
    return correct / total, total


DATA = {
    "mnist": "MNIST, 60,000 training images, 28x28x1",
    "fashion_mnist": "Fashion-MNIST, 60,000 training images, 28x28x1",
    "cifar10": "CIFAR-10 (the JPEG copy), 50,000 training images, 32x32x3",
}
# The classifiers trained before `kgan train-classifier` kept a record.
UNRECORDED_COMMANDS = {
    "mnist": "kgan train-classifier --output mnist.keras --data mnist --epochs 3",
    "fashion_mnist": "kgan train-classifier --output fashion_mnist.keras --data fashion_mnist "
    "--epochs 3",
}


def readme(results, folder):
    """The text of `savedmodels/classifiers/README.md` for `results` (classifiers.json)."""
    lines = [
        "# savedmodels/classifiers/",
        "",
        "Written by `tools/evaluate_classifiers.py` (do not edit by hand; re-run it).",
        "",
        "Domain classifiers for images in [-1, 1] (`kgan.metrics.image_classifier`: blocks of "
        "two 3x3 convolutions, a 128-unit `features` layer, 10 logits), saved without "
        "optimiser state. They give FID/KID features offline (`kgan evaluate` uses the one "
        "of its `--data` by default) and the class scores that `kgan edit` and "
        "`tools/evaluate_control.py` steer by.",
        "",
        "| file | data | test accuracy | command | training |",
        "|---|---|---|---|---|",
    ]
    for name, result in sorted(results["classifiers"].items()):
        record_path = os.path.join(folder, f"{name}.json")
        if os.path.isfile(record_path):
            with open(record_path) as file:
                record = json.load(file)
            command = record["command"]
            environment = record["environment"]
            training = (
                f"{record['train_seconds'] / 60:.0f} minutes, {record['epochs']} epochs, on "
                f"{environment['cpu_count']} CPU cores (TensorFlow {environment['tensorflow']})"
            )
        else:
            command, training = UNRECORDED_COMMANDS[name], "not recorded"
        lines.append(
            f"| `{name}.keras` | {DATA[name]} | {100 * result['test_accuracy']:.2f}% of the "
            f"{result['test_images']:,} test images | `{command}` | {training} |"
        )
    lines += [
        "",
        "The accuracies are measured by this script on the test split in `$KGAN_DATA_DIR`; "
        "the trainings ran with other jobs beside them, so their times are upper bounds.",
        "",
        "    kgan edit savedmodels/mnist_wgangp --classifier savedmodels/classifiers/mnist.keras "
        "--target 7 --out edit.png",
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", default=CLASSIFIERS, help="where the .keras files are")
    parser.add_argument(
        "--json", default=os.path.join(ROOT, "tools", "results", "classifiers.json")
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="only check that the folder's README.md is what the stored results give",
    )
    args = parser.parse_args(argv)
    readme_path = os.path.join(args.folder, "README.md")
    if args.check:
        with open(args.json) as file:
            expected = readme(json.load(file), args.folder)
        with open(readme_path) as file:
            if file.read() != expected:
                print(f"{readme_path} differs from what {args.json} gives; re-run the script")
                return 1
        return 0

    from kgan import _system, atomic
    from kgan.metrics import CLASSIFIER_SETTINGS

    results = {}
    for name in sorted(CLASSIFIER_SETTINGS):
        path = os.path.join(args.folder, f"{name}.keras")
        if not os.path.isfile(path):
            continue
        share, count = accuracy(path, name)
        results[name] = {"test_accuracy": round(share, 4), "test_images": count}
        print(f"{name}: {100 * share:.2f}% of {count} test images", flush=True)
    record = {
        "command": "python tools/evaluate_classifiers.py",
        "classifiers": results,
        "environment": _system.environment(),
    }
    atomic.write_json(args.json, record)
    atomic.write_text(readme_path, readme(record, args.folder))
    print(f"wrote {args.json} and {readme_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Test accuracy of the shipped domain classifiers, into tools/results/classifiers.json.

    KGAN_DATA_DIR=../shared/data python tools/evaluate_classifiers.py

Each `savedmodels/classifiers/NAME.keras` is scored on its dataset's test split as
`kgan.data.load` reads it from `$KGAN_DATA_DIR` (the original IDX files, the CIFAR-10 JPEG
copy). `savedmodels/classifiers/README.md` quotes these figures, and a test checks it against
this file.
"""

import argparse
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", default=CLASSIFIERS, help="where the .keras files are")
    parser.add_argument(
        "--json", default=os.path.join(ROOT, "tools", "results", "classifiers.json")
    )
    args = parser.parse_args(argv)

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
    atomic.write_json(
        args.json,
        {
            "command": "python tools/evaluate_classifiers.py",
            "classifiers": results,
            "environment": _system.environment(),
        },
    )
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

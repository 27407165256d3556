"""Rebuilds kgan's embedded dataset, `fashion_mnist_sample`, from the Fashion-MNIST files.

The sample is the first 200 training images of each of the 10 classes, in file order (2,000
images), written as gzip IDX files with a fixed timestamp, so that running this script again on
the same input gives byte-identical files.

    python3 tools/make_embedded_sample.py [--source ../shared/data/fashion_mnist]
"""

import argparse
import hashlib
import pathlib
import sys

import numpy as np

from kgan.data import read_idx, write_idx
from kgan.data.local import EMBEDDED_FILES

PER_CLASS = 200
NUM_CLASSES = 10


def select_sample(labels, per_class=PER_CLASS):
    """Indices of the first `per_class` examples of each class, in file order."""
    chosen = np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in range(NUM_CLASSES)])
    counts = np.bincount(labels[chosen], minlength=NUM_CLASSES)
    if not np.all(counts == per_class):
        raise ValueError(
            f"Every class needs {per_class} examples. Received: class counts {counts.tolist()}"
        )
    return np.sort(chosen)


def main(argv=None):
    repo = pathlib.Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source",
        default=str(repo.parent / "shared" / "data" / "fashion_mnist"),
        help="folder with train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz",
    )
    args = parser.parse_args(argv)
    source = pathlib.Path(args.source)
    images = read_idx(source / "train-images-idx3-ubyte.gz")
    labels = read_idx(source / "train-labels-idx1-ubyte.gz")
    chosen = select_sample(labels)
    images_path, labels_path = EMBEDDED_FILES
    images_path.parent.mkdir(parents=True, exist_ok=True)
    write_idx(images_path, images[chosen])
    write_idx(labels_path, labels[chosen])
    for path in (images_path, labels_path):
        digest = hashlib.md5(path.read_bytes()).hexdigest()
        print(f"{path.relative_to(repo)}: {path.stat().st_size:,} bytes, md5 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmarks kgan's data pipeline against the rate at which training consumes it.

Prints the pipeline's images per second (iterating `kgan.data.load(...)` alone, after a
warm-up) next to the images per second a DCGAN `GAN.fit` step consumes at the same batch size
(fed from one cached batch, so that it measures training alone), and their ratio. The target is
a pipeline at least 20x faster than training, so that the GAN never waits for data.

    KGAN_DATA_DIR=../shared/data python3 tools/benchmark_data.py [--dataset mnist]
        [--batch-size 256] [--batches 200] [--train-steps 10]
    KGAN_DATA_DIR=../shared/data python3 tools/benchmark_data.py --quick   # a smoke run

With `--cache`, times instead a folder data set's first load (every image decoded, the decoded
array written to the cache) against its second (the cache read), in a new cache folder, and
reports their ratio: tools/results/benchmark_folder_cache.txt is

    KGAN_DATA_DIR=../shared/data python3 tools/benchmark_data.py --dataset cifar10 --cache
"""

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import kgan  # noqa: E402

TARGET_RATIO = 20.0


def pipeline_rate(dataset, num_batches, warmup_batches=10):
    """Images per second of iterating `dataset` (repeated) for `num_batches` batches."""
    iterator = iter(dataset.repeat())
    for _ in range(warmup_batches):
        next(iterator)
    count = 0
    start = time.perf_counter()
    for _ in range(num_batches):
        batch = next(iterator)
        images = batch[0] if isinstance(batch, tuple) else batch
        count += int(images.shape[0])
    return count / (time.perf_counter() - start)


def training_rate(image_shape, batch_size, steps, latent_dim=100):
    """Images per second consumed by `GAN.fit` train steps of a DCGAN, after a warm-up fit."""
    keras.utils.set_random_seed(0)
    gan = kgan.GAN(
        kgan.models.dcgan_generator(image_shape, latent_dim=latent_dim),
        kgan.models.dcgan_discriminator(image_shape),
    )
    gan.compile()
    # One real batch, cached and repeated: the timing then contains no data loading at all.
    batch = tf.random.uniform((batch_size, *image_shape), -1.0, 1.0)
    data = tf.data.Dataset.from_tensors(batch).cache().repeat()
    gan.fit(data, steps_per_epoch=2, epochs=1, verbose=0)  # Traces and compiles the step.
    start = time.perf_counter()
    gan.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    return steps * batch_size / (time.perf_counter() - start)


def cache_seconds(dataset, data_dir):
    """`(first, second)`: the seconds of a first and a second `kgan.data.load(dataset)` in a new
    cache folder (`$KGAN_CACHE_DIR`)."""
    from kgan.data import folder_cache

    seconds = []
    with tempfile.TemporaryDirectory() as cache:
        previous = os.environ.get(folder_cache.ENV_VAR)
        os.environ[folder_cache.ENV_VAR] = cache
        try:
            for _ in range(2):
                start = time.perf_counter()
                kgan.data.load(dataset, data_dir=data_dir, seed=0, verbose=0)
                seconds.append(time.perf_counter() - start)
                if not any(folder_cache.cache_dir().glob("*.npz")):
                    raise SystemExit(
                        f"error: {dataset!r} is not read from image folders, so it has no "
                        f"cache to time. Received: --dataset {dataset}"
                    )
        finally:
            if previous is None:
                del os.environ[folder_cache.ENV_VAR]
            else:
                os.environ[folder_cache.ENV_VAR] = previous
    return tuple(seconds)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist", help="name given to kgan.data.load")
    parser.add_argument(
        "--data-dir", default=None, help="local data folder (default: $KGAN_DATA_DIR)"
    )
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--batches", type=int, default=200, help="batches timed in the pipeline")
    parser.add_argument("--train-steps", type=int, default=10, help="train steps timed")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: batch 32, 5 batches, 2 train steps"
    )
    parser.add_argument(
        "--cache",
        action="store_true",
        help="time a folder data set's first load (decode, write the cache) against its second",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.batch_size, args.batches, args.train_steps = 32, 5, 2

    data_dir = args.data_dir
    if data_dir is None and kgan.data.data_dir() is None:
        default = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
        data_dir = default if os.path.isdir(default) else None

    if args.cache:
        first, second = cache_seconds(args.dataset, data_dir)
        print(f"dataset: {args.dataset}, {os.cpu_count()} CPUs, a new cache folder")
        print(f"first load (decode every image, write the cache): {first:8.2f} s")
        print(f"second load (read the cache):                     {second:8.2f} s")
        print(f"ratio first / second:                             {first / second:8.1f}x")
        return 0

    start = time.perf_counter()
    dataset = kgan.data.load(args.dataset, batch_size=args.batch_size, data_dir=data_dir, seed=0)
    load_seconds = time.perf_counter() - start
    image_shape = tuple(dataset.element_spec.shape[1:])
    data_rate = pipeline_rate(dataset, args.batches)
    train_rate = training_rate(image_shape, args.batch_size, args.train_steps)
    ratio = data_rate / train_rate

    print(
        f"dataset: {args.dataset} {image_shape}, batch size {args.batch_size}, "
        f"{tf.config.threading.get_inter_op_parallelism_threads() or os.cpu_count()} CPU threads"
    )
    print(f"load (read + decode once):   {load_seconds:8.2f} s")
    print(f"pipeline ({args.batches} batches):      {data_rate:12,.0f} images/s")
    print(f"training (DCGAN GAN.fit, {args.train_steps} steps): {train_rate:8,.0f} images/s")
    print(f"ratio pipeline / training:   {ratio:10,.1f}x (target >= {TARGET_RATIO:.0f}x)")
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())

"""Regression benchmark: does a `fit` call end when its last step ends?

With TensorFlow 2.21, destroying a tf.data iterator can wait for tf.data's autotuning thread to
finish its current sleep (up to 10.24 s); Keras destroys the iterator when `fit` returns, so a
`fit` call could end seconds after its last step, mostly on a busy CPU. kgan turns the thread
off for its own pipelines and for datasets passed to its models' `fit`
(`kgan.data.pipeline.without_autotune_thread`). This script measures, for whole `fit` calls of
`--steps` steps of `kgan.GAN` on the TensorFlow DCGAN tutorial's networks:

* the time of the call against the sum of its steps (each step timed from
  `on_train_batch_begin` to `on_train_batch_end`), and the tail from the last step to the
  return of `fit`;
* with the dataset as kgan passes it to Keras (autotuning thread off) and with
  `autotune.enabled=True` set explicitly, which kgan respects (tf.data's default);

and then that turning the thread off does not slow a heavy parallel `map`: images per second
of a map that costs about a millisecond per image, with and without the thread.

    python tools/benchmark_fit_wait.py            # 50-step calls, 3 of each kind
    python tools/benchmark_fit_wait.py --quick    # a smoke test: small networks, few steps
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kgan  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchmark_networks import tutorial_discriminator, tutorial_generator  # noqa: E402


class StepTimer(keras.callbacks.Callback):
    """Records the start and end of every training step."""

    def on_train_begin(self, logs=None):
        self.steps = []

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append((self._start, time.perf_counter()))


def _autotune(dataset, enabled):
    options = tf.data.Options()
    options.autotune.enabled = enabled
    return dataset.with_options(options)


def _images(count, shape):
    return np.random.default_rng(0).uniform(-1, 1, (count, *shape)).astype("float32")


def time_fit(model, dataset):
    """One `fit` call: `(call seconds, sum of step seconds, tail seconds)`."""
    timer = StepTimer()
    start = time.perf_counter()
    model.fit(dataset, epochs=1, verbose=0, callbacks=[timer])
    end = time.perf_counter()
    steps = sum(stop - begin for begin, stop in timer.steps)
    return end - start, steps, end - timer.steps[-1][1]


def fit_rows(args):
    if args.quick:
        generator = kgan.models.dcgan_generator((8, 8, 1), 16, base_filters=8)
        discriminator = kgan.models.dcgan_discriminator((8, 8, 1), base_filters=8)
        shape = (8, 8, 1)
    else:
        generator, discriminator = tutorial_generator(), tutorial_discriminator()
        shape = (28, 28, 1)
    gan = kgan.GAN(generator, discriminator)
    gan.compile()
    base = tf.data.Dataset.from_tensor_slices(_images(args.batch_size * args.steps, shape))
    base = base.batch(args.batch_size, drop_remainder=True).cache().prefetch(tf.data.AUTOTUNE)
    list(base)  # Fill the cache.
    kinds = {
        "kgan (autotuning thread off)": base,
        "autotune.enabled=True (before)": _autotune(base, True),
    }
    gan.fit(base.take(2), epochs=1, verbose=0)  # Tracing, untimed.
    results = {name: [] for name in kinds}
    for repeat in range(args.repeats):
        # Alternate the order, so that a drift in machine load hits both kinds.
        names = list(kinds) if repeat % 2 == 0 else list(reversed(kinds))
        for name in names:
            results[name].append(time_fit(gan, kinds[name]))
    return results


def map_rate(enabled, count, cost):
    """Images per second through a parallel map of about `cost` matrix products per image."""
    matrix = tf.random.stateless_normal((64, 64), seed=[0, 1])

    def heavy(index):
        x = tf.fill((64, 64), tf.cast(index, tf.float32) * 1e-6)
        for _ in range(cost):
            x = tf.tanh(tf.matmul(x, matrix))
        return x

    dataset = tf.data.Dataset.range(count).map(heavy, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = _autotune(dataset.prefetch(tf.data.AUTOTUNE), enabled)
    iterator = iter(dataset)
    next(iterator)  # Start the pipeline before timing.
    start = time.perf_counter()
    for _ in range(count - 1):
        next(iterator)
    return (count - 1) / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50, help="steps per fit call")
    parser.add_argument("--repeats", type=int, default=3, help="fit calls of each kind")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--quick", action="store_true", help="small networks and few steps")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.repeats, args.batch_size = 5, 2, 16
    keras.utils.set_random_seed(0)

    print(f"{args.repeats} fit calls of {args.steps} steps (batch {args.batch_size}) per kind")
    print(f"{'dataset':<34}{'fit call s':>12}{'sum of steps s':>16}{'ratio':>8}{'tail s':>9}")
    for name, runs in fit_rows(args).items():
        for call, steps, tail in runs:
            print(f"{name:<34}{call:>12.2f}{steps:>16.2f}{call / steps:>8.3f}{tail:>9.2f}")
        median_tail = statistics.median(tail for _, _, tail in runs)
        print(f"{name:<34}{'median tail':>44}{median_tail:>9.2f}")

    count, cost = (40, 2) if args.quick else (400, 20)
    rates = {}
    for repeat in range(2):
        for enabled in (True, False) if repeat == 0 else (False, True):
            rates.setdefault(enabled, []).append(map_rate(enabled, count, cost))
    on, off = max(rates[True]), max(rates[False])
    print(
        f"heavy map ({cost} 64x64 matrix products per image, best of 2): autotuning thread on "
        f"{on:.0f} images/s, off {off:.0f} images/s, ratio off / on {off / on:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

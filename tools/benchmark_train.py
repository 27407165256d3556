"""Training throughput of `kgan.GAN.fit` against a hand-written `tf.function` loop.

Both train the TensorFlow DCGAN tutorial's networks (generator Dense 7x7x256 ->
Conv2DTranspose 128/5/1 -> 64/5/2 -> 1/5/2 tanh with BatchNorm and LeakyReLU; discriminator
Conv2D 64/5/2 -> 128/5/2 with LeakyReLU and Dropout 0.3 -> Dense 1; z of 100, batch 256) with
the same update order as `kgan.GAN.train_step`: a discriminator step on a real and a generated
batch, then a generator step on fresh noise. Both read the same cached in-memory dataset.
Runs alternate in ABBA order (kgan, reference, reference, kgan, ...) so that drift in machine
load hits both, and the script prints images per second and the ratio kgan / reference.
It then times the train step alone (kgan's compiled `train_function` against the reference
`tf.function`, alternating step by step), which separates the cost of kgan's train step from
that of `fit`'s epoch loop.

    python tools/benchmark_train.py --steps 10 --repeats 8
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

LATENT_DIM = 100


def tutorial_generator():
    return keras.Sequential(
        [
            keras.Input((LATENT_DIM,)),
            keras.layers.Dense(7 * 7 * 256, use_bias=False),
            keras.layers.BatchNormalization(),
            keras.layers.LeakyReLU(),
            keras.layers.Reshape((7, 7, 256)),
            keras.layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
            keras.layers.BatchNormalization(),
            keras.layers.LeakyReLU(),
            keras.layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
            keras.layers.BatchNormalization(),
            keras.layers.LeakyReLU(),
            keras.layers.Conv2DTranspose(
                1, 5, strides=2, padding="same", use_bias=False, activation="tanh"
            ),
        ],
        name="generator",
    )


def tutorial_discriminator():
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(64, 5, strides=2, padding="same"),
            keras.layers.LeakyReLU(),
            keras.layers.Dropout(0.3),
            keras.layers.Conv2D(128, 5, strides=2, padding="same"),
            keras.layers.LeakyReLU(),
            keras.layers.Dropout(0.3),
            keras.layers.Flatten(),
            keras.layers.Dense(1),
        ],
        name="discriminator",
    )


def make_dataset(batch_size, steps):
    """A cached dataset of `steps` batches: MNIST from KGAN_DATA_DIR when present, else noise."""
    count = batch_size * steps
    images = None
    try:
        from kgan import data as kgan_data

        if kgan_data.data_dir() is not None:
            dataset = kgan_data.load("mnist", batch_size=count, shuffle=False)
            images = next(iter(dataset)).numpy()
    except Exception as error:  # The benchmark still runs without the data module's files.
        print(f"(MNIST not available, using uniform noise images: {error})")
    if images is None or images.shape[0] < count:
        images = np.random.default_rng(0).uniform(-1, 1, (count, 28, 28, 1)).astype("float32")
    return tf.data.Dataset.from_tensor_slices(images).batch(batch_size, drop_remainder=True).cache()


class ReferenceLoop:
    """The hand-written loop: one `tf.function` per step, as in the TensorFlow DCGAN tutorial."""

    def __init__(self):
        self.generator = tutorial_generator()
        self.discriminator = tutorial_discriminator()
        self.g_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.d_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)

    @tf.function
    def train_step(self, real):
        batch = tf.shape(real)[0]
        z = tf.random.normal([batch, LATENT_DIM])
        fake = self.generator(z, training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            d_loss = self.bce(tf.ones_like(real_logits), real_logits) + self.bce(
                tf.zeros_like(fake_logits), fake_logits
            )
        grads = tape.gradient(d_loss, self.discriminator.trainable_variables)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_variables))
        z = tf.random.normal([batch, LATENT_DIM])
        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(self.generator(z, training=True), training=True)
            g_loss = self.bce(tf.ones_like(fake_logits), fake_logits)
        grads = tape.gradient(g_loss, self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables))
        return d_loss, g_loss

    def run(self, dataset):
        for real in dataset:
            d_loss, g_loss = self.train_step(real)
        return float(d_loss), float(g_loss)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per run")
    parser.add_argument("--repeats", type=int, default=8, help="timed runs of each loop")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps (tracing)")
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(0)
    warmup = make_dataset(args.batch_size, args.warmup)
    dataset = make_dataset(args.batch_size, args.steps)
    list(dataset)  # Fill the cache before anything is timed.

    gan = kgan.GAN(tutorial_generator(), tutorial_discriminator(), latent_dim=LATENT_DIM)
    gan.compile()
    reference = ReferenceLoop()
    gan.fit(warmup, epochs=1, verbose=0)
    reference.run(warmup)

    loops = {
        "kgan": lambda: gan.fit(dataset, epochs=1, verbose=0),
        "reference": lambda: reference.run(dataset),
    }
    rates = {"kgan": [], "reference": []}
    for repeat in range(args.repeats):
        # ABBA order: a steady drift in machine load favours neither loop.
        order = ["kgan", "reference"] if repeat % 2 == 0 else ["reference", "kgan"]
        for name in order:
            start = time.perf_counter()
            loops[name]()
            rates[name].append(args.steps * args.batch_size / (time.perf_counter() - start))
        print(
            f"run {repeat + 1}: kgan {rates['kgan'][-1]:.1f} img/s, "
            f"reference {rates['reference'][-1]:.1f} img/s",
            flush=True,
        )

    # The train step alone, without fit's epoch machinery: one kgan step (the compiled
    # `train_function`, as fit runs it) and one reference step, alternately, on the same data.
    step_times = {"kgan": [], "reference": []}
    kgan_iterator = iter(dataset.repeat())
    reference_iterator = iter(dataset.repeat())
    for _ in range(args.steps * 2):
        start = time.perf_counter()
        float(gan.train_function(kgan_iterator)["d_loss"])
        step_times["kgan"].append(time.perf_counter() - start)
        start = time.perf_counter()
        float(reference.train_step(next(reference_iterator))[0])
        step_times["reference"].append(time.perf_counter() - start)

    # Each run pairs two timings taken back to back, under the same load; the median of the
    # pairs' ratios is steadier than the ratio of medians on a machine whose speed wanders.
    ratios = [k / r for k, r in zip(rates["kgan"], rates["reference"])]
    kgan_rate = statistics.median(rates["kgan"])
    reference_rate = statistics.median(rates["reference"])
    print()
    print(f"devices: {[d.name for d in tf.config.list_logical_devices()]}")
    print(f"batch {args.batch_size}, {args.steps} steps x {args.repeats} runs of each loop")
    print(f"{'loop':<28}{'images/s (median)':>20}")
    print(f"{'kgan.GAN.fit':<28}{kgan_rate:>20.1f}")
    print(f"{'hand-written tf.function':<28}{reference_rate:>20.1f}")
    print(
        f"ratio kgan / reference: {statistics.median(ratios):.3f} (median of {len(ratios)} "
        f"back-to-back pairs; range {min(ratios):.3f} to {max(ratios):.3f}; target >= 1.0)"
    )
    kgan_step = statistics.median(step_times["kgan"])
    reference_step = statistics.median(step_times["reference"])
    print(
        f"train step alone (median of {len(step_times['kgan'])} alternating steps): kgan "
        f"{kgan_step * 1000:.0f} ms, reference {reference_step * 1000:.0f} ms, "
        f"ratio {reference_step / kgan_step:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

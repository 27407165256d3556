"""kgan's `mnist` recipe against the TensorFlow DCGAN tutorial, in the same wall-clock budget.

    KGAN_DATA_DIR=../shared/data python tools/compare_baseline.py --minutes 10 --json out.json
    KGAN_DATA_DIR=../shared/data python tools/compare_baseline.py --quick --json /tmp/out.json

Both train unconditional MNIST generators side by side, each in its own process on one core,
for `--minutes` of training (time spent tracing the first step included), then both are
scored the same way: 10,000 samples against the 10,000 test images in the feature space of
`savedmodels/classifiers/mnist.keras` (FID, KID, precision/recall, density/coverage, as
`tools/train_references.py`), and a 64-sample grid of each is written beside the JSON
(`compare_baseline_SIDE.png`). `--quick` is a smoke run of that path: 3 seconds of training
on the first 2,048 training images (unless `--minutes` says otherwise) and
`train_references.py --quick`'s evaluation (200 samples against 200 test images).

- **tutorial**: https://www.tensorflow.org/tutorials/generative/dcgan as published: its
  networks (`benchmark_networks.py`), z of 100, batch 256, Adam(1e-4) for both networks, one
  G(z) per step under two tapes, no weight averaging.
- **kgan**: `kgan.recipes.build("mnist", seed=0)` trained with `fit` at the recipe's batch size;
  samples from `generate` (the averaged generator).
"""

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = os.path.dirname(os.path.abspath(__file__))
SIDES = ("tutorial", "kgan")
QUICK_IMAGES = 2048


def _images():
    from kgan.data.local import idx_arrays

    images, _, _ = idx_arrays("mnist", "train", None, with_labels=False)
    return images.astype("float32") / 127.5 - 1.0


def _dataset(images, batch_size):
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(images).shuffle(len(images), seed=0)
    return dataset.repeat().batch(batch_size, drop_remainder=True).prefetch(2)


def train_tutorial(images, seconds):
    import keras
    import tensorflow as tf

    sys.path.insert(0, HERE)
    import benchmark_networks as nets

    keras.utils.set_random_seed(0)
    generator, discriminator = nets.tutorial_generator(), nets.tutorial_discriminator()
    g_optimizer, d_optimizer = keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)

    @tf.function
    def train_step(real):
        noise = tf.random.normal([tf.shape(real)[0], nets.LATENT_DIM])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = generator(noise, training=True)
            real_output = discriminator(real, training=True)
            fake_output = discriminator(fake, training=True)
            g_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
            d_loss = cross_entropy(tf.ones_like(real_output), real_output) + cross_entropy(
                tf.zeros_like(fake_output), fake_output
            )
        g_vars, d_vars = generator.trainable_variables, discriminator.trainable_variables
        g_optimizer.apply_gradients(zip(g_tape.gradient(g_loss, g_vars), g_vars))
        d_optimizer.apply_gradients(zip(d_tape.gradient(d_loss, d_vars), d_vars))

    start, steps = time.perf_counter(), 0
    for real in _dataset(images, 256):
        train_step(real)
        steps += 1
        if time.perf_counter() - start > seconds:
            break

    def generate(count, seed):
        z = keras.random.normal((count, nets.LATENT_DIM), seed=seed)
        return keras.ops.convert_to_numpy(generator.predict(z, batch_size=500, verbose=0))

    return generate, {"steps": steps, "batch_size": 256}


def train_kgan(images, seconds):
    import keras

    import kgan

    gan = kgan.recipes.build("mnist", seed=0)
    batch_size = kgan.recipes.get("mnist")["batch_size"]
    start = time.perf_counter()

    class Budget(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if time.perf_counter() - start > seconds:
                self.model.stop_training = True

    gan.fit(
        _dataset(images, batch_size),
        epochs=1,
        steps_per_epoch=10**7,
        verbose=0,
        callbacks=[Budget()],
    )
    steps = int(gan.g_optimizer.iterations.numpy())
    return (lambda count, seed: gan.generate(count, seed=seed)), {
        "steps": steps,
        "batch_size": batch_size,
    }


def run_side(side, minutes, out_dir, quick=False):
    import importlib.util

    import tensorflow as tf

    from kgan.images import save_image_grid

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    spec = importlib.util.spec_from_file_location("refs", os.path.join(HERE, "train_references.py"))
    refs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(refs)

    images = _images()
    if quick:  # A small shuffle buffer: the first training images only.
        images = images[:QUICK_IMAGES]
    start = time.perf_counter()
    train = train_tutorial if side == "tutorial" else train_kgan
    generate, record = train(images, minutes * 60)
    record["train_seconds"] = round(time.perf_counter() - start, 1)
    record["images_seen"] = record["steps"] * record["batch_size"]

    class Sampler:  # What train_references.evaluate draws from.
        def generate(self, count, seed=0):
            return generate(count, seed)

    evaluation = refs.evaluate(Sampler(), {"data": "mnist", "conditional": False}, quick)
    record.update(evaluation["model"], real_data=evaluation["real_data"])
    grid = os.path.join(out_dir, f"compare_baseline_{side}.png")
    save_image_grid(generate(64, 0), grid, num_rows=8)
    return record


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--minutes", type=float, help="training budget of each (default 10, 0.05 with --quick)"
    )
    parser.add_argument("--json", default="compare_baseline.json", help="results file")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: seconds of training, small evaluation"
    )
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)  # One worker.
    args = parser.parse_args(argv)
    if args.minutes is None:
        args.minutes = 0.05 if args.quick else 10.0
    if not args.minutes > 0:
        parser.error(f"--minutes must be a positive number. Received: --minutes={args.minutes}")
    from kgan import atomic  # Results land whole: a killed run never leaves half a JSON.

    out_dir = os.path.dirname(os.path.abspath(args.json))
    os.makedirs(out_dir, exist_ok=True)
    if args.side:
        record = run_side(args.side, args.minutes, out_dir, args.quick)
        atomic.write_json(args.json, record)
        return 0
    parts = {side: f"{args.json}.{side}" for side in SIDES}
    workers = [
        subprocess.Popen(
            [sys.executable, __file__, "--side", side, "--minutes", str(args.minutes)]
            + ["--json", path]
            + (["--quick"] if args.quick else [])
        )
        for side, path in parts.items()
    ]
    if any(worker.wait() for worker in workers):
        print("error: a worker failed", file=sys.stderr)
        return 1
    results = {"minutes": args.minutes}
    for side, path in parts.items():
        with open(path) as f:
            results[side] = json.load(f)
        os.remove(path)
    atomic.write_json(args.json, results)
    print("| | steps | images seen | FID | KID | precision | recall | density | coverage |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, row in (*((side, results[side]) for side in SIDES),):
        print(
            f"| {label} | {row['steps']:,} | {row['images_seen']:,} | {row['fid']:.2f} | "
            f"{row['kid']:.3f} | {row['precision']:.3f} | {row['recall']:.3f} | "
            f"{row['density']:.3f} | {row['coverage']:.3f} |"
        )
    real = results["kgan"]["real_data"]
    print(f"| real training images | - | - | {real['fid']:.2f} | {real['kid']:.3f} | "
          f"{real['precision']:.3f} | {real['recall']:.3f} | {real['density']:.3f} | "
          f"{real['coverage']:.3f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

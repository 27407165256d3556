"""Benchmarks generator inference: Keras `predict`, the exported SavedModel, and onnxruntime.

Builds the DCGAN generator for 28x28x1 images (z of size 100, kgan's defaults otherwise),
exports it with `kgan.export.to_saved_model` and `kgan.export.to_onnx` (both verified against
Keras), then measures in one process:

- latency at batch 1: the median (and 90th percentile) of single requests;
- throughput at batch 256: images per second, from the median time of a batch.

Ratios compare each runtime with Keras `predict` (above 1 is better). Weights are random: the
time of a forward pass does not depend on their values.

    python tools/benchmark_inference.py            # about a minute on 2 CPU cores
    python tools/benchmark_inference.py --markdown-out benchmark.md
    python tools/benchmark_inference.py --quick    # a smoke run of the same path
"""

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import onnxruntime  # noqa: E402
import tensorflow as tf  # noqa: E402

import kgan  # noqa: E402
from kgan import atomic  # noqa: E402


def _time_calls(function, repeats, warmup):
    """Seconds per call of `function()`, `repeats` times after `warmup` untimed calls."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def _runtimes(generator, saved_model_dir, onnx_path):
    """`{name: run(z)}` for each runtime; every `run` returns the images as a NumPy array."""
    serve = tf.saved_model.load(saved_model_dir).signatures["serving_default"]
    session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    return {
        "Keras predict": lambda z: generator.predict(z, batch_size=len(z), verbose=0),
        "Keras call (eager)": lambda z: keras.ops.convert_to_numpy(generator(z, training=False)),
        "SavedModel serving_default": lambda z: serve(z=tf.constant(z))["images"].numpy(),
        "onnxruntime": lambda z: session.run(["images"], {"z": z})[0],
    }


def benchmark(*, image_shape, latent_dim, batch_size, latency_repeats, throughput_repeats, workdir):
    generator = kgan.models.dcgan_generator(image_shape, latent_dim=latent_dim)
    saved_model_dir = kgan.export.to_saved_model(generator, os.path.join(workdir, "generator"))
    onnx_path = kgan.export.to_onnx(generator, os.path.join(workdir, "generator.onnx"))
    checks = {
        "SavedModel serving_default": kgan.export.read_metadata(saved_model_dir)["verification"],
        "onnxruntime": kgan.export.read_metadata(onnx_path)["verification"],
    }
    rng = np.random.default_rng(0)
    z_one = rng.normal(size=(1, latent_dim)).astype("float32")
    z_batch = rng.normal(size=(batch_size, latent_dim)).astype("float32")
    rows = []
    for name, run in _runtimes(generator, saved_model_dir, onnx_path).items():
        latency = _time_calls(lambda run=run: run(z_one), latency_repeats, warmup=5)
        batch = _time_calls(lambda run=run: run(z_batch), throughput_repeats, warmup=2)
        rows.append(
            {
                "runtime": name,
                "latency_ms": 1000 * statistics.median(latency),
                "latency_p90_ms": 1000 * float(np.percentile(latency, 90)),
                "throughput": batch_size / statistics.median(batch),
                "check": checks.get(name),
            }
        )
    return generator, rows


def format_table(rows, batch_size):
    reference = rows[0]
    lines = [
        f"| runtime | latency, batch 1 (median ms) | p90 ms | vs Keras predict | "
        f"throughput, batch {batch_size} (images/s) | vs Keras predict | max abs diff vs Keras |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        check = row["check"]
        lines.append(
            f"| {row['runtime']} | {row['latency_ms']:.2f} | {row['latency_p90_ms']:.2f} | "
            f"{reference['latency_ms'] / row['latency_ms']:.2f}x | {row['throughput']:,.0f} | "
            f"{row['throughput'] / reference['throughput']:.2f}x | "
            + (
                "reference"
                if row is reference
                else "-"
                if check is None
                else f"{check['max_abs_difference']:.1e}"
            )
            + " |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image-shape", type=int, nargs=3, default=(28, 28, 1))
    parser.add_argument("--latent-dim", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--latency-repeats", type=int, default=100)
    parser.add_argument("--throughput-repeats", type=int, default=15)
    parser.add_argument("--markdown-out", help="also write the table to this file")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: batch 8, 3 and 2 timed calls"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.batch_size, args.latency_repeats, args.throughput_repeats = 8, 3, 2

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kgan-benchmark-") as workdir:
        generator, rows = benchmark(
            image_shape=tuple(args.image_shape),
            latent_dim=args.latent_dim,
            batch_size=args.batch_size,
            latency_repeats=args.latency_repeats,
            throughput_repeats=args.throughput_repeats,
            workdir=workdir,
        )
    shape = "x".join(str(s) for s in args.image_shape)
    header = (
        f"DCGAN generator {shape}, z {args.latent_dim}, {generator.count_params():,} parameters; "
        f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}); "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}, "
        f"onnxruntime {onnxruntime.__version__}, Python {platform.python_version()}"
    )
    table = format_table(rows, args.batch_size)
    print(header + "\n\n" + table)
    print(f"\n(total {time.perf_counter() - started:.0f} s)", file=sys.stderr)
    if args.markdown_out:
        atomic.write_text(args.markdown_out, header + "\n\n" + table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

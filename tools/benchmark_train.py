"""Training speed of kgan against a hand-written loop and PyTorch, as one table from one run.

All rows train the TensorFlow DCGAN tutorial's networks (see `benchmark_networks.py`) at batch
256 on the same cached in-memory data, in whole calls of `--steps` training steps (a `fit`
call for kgan, a pass over the same batches for the loops):

* `kgan.GAN.fit`, with and without `jit_compile`, in both update orders (`update=
  "alternating"`, kgan's default, and `"shared"`, PyTorch DCGAN's order);
* the hand-written `tf.function` loop with each update order;
* PyTorch with each update order, when `torch` can be imported (else the row says why);
* `kgan.WGANGP.fit` (n_critic 5) with and without `jit_compile`;
* `mixed_bfloat16` rows when the CPU has bfloat16 instructions (`avx512_bf16` or AMX).

Calls of the rows rotate (A B C, B C A, ...) so that a drift in machine load hits every row
alike; each row reports the median of its calls and its ratio to the row it is compared with.
Then: the cost of the gradient penalty (a WGAN-GP critic update against a plain one), the FLOPs
of one step and the share of this machine's measured matrix-multiply peak they reach.

    python tools/benchmark_train.py             # the full table: several minutes per row
    python tools/benchmark_train.py --quick     # a smoke test: small batches, few steps
    python tools/benchmark_train.py --repeats 7 \\
        --only "kgan GAN.fit, alternating" --only "kgan GAN.fit, shared"   # some rows, more calls
    python tools/benchmark_train.py --overhead  # kgan's step and fit's fixed cost, step level

Each ratio is given two ways: the ratio of the rows' medians, and the median of the per-round
ratios (a row's call against its compared row's call in the same round), which cancels a drift
in machine load between rounds, with their range and their mean +- two standard errors.
"""

import argparse
import os
import statistics
import sys
import time
from functools import partial

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kgan  # noqa: E402
from kgan import precision as kgan_precision  # noqa: E402
from kgan.data.pipeline import without_autotune_thread  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchmark_networks as nets  # noqa: E402

N_CRITIC = 5


def load_images(count):
    """`count` MNIST images in [-1, 1] from KGAN_DATA_DIR when present, else uniform noise."""
    try:
        if kgan.data.data_dir() is not None:
            dataset = kgan.data.load("mnist", batch_size=count, shuffle=False)
            images = next(iter(dataset)).numpy()
            if images.shape[0] == count:
                return images
    except Exception as error:  # The benchmark still runs without the data files.
        print(f"(MNIST not available, using uniform noise images: {error})")
    return np.random.default_rng(0).uniform(-1, 1, (count, 28, 28, 1)).astype("float32")


def make_dataset(images, batch_size):
    """A cached dataset of the batches of `images`, filled before anything is timed. The
    autotuning thread is off, as in every dataset kgan builds or trains on (no wait when an
    iterator is destroyed: see `tools/benchmark_fit_wait.py`), for the loops as for kgan."""
    dataset = tf.data.Dataset.from_tensor_slices(images)
    dataset = without_autotune_thread(dataset.batch(batch_size, drop_remainder=True).cache())
    list(dataset)
    return dataset


def kgan_runner(cls, dataset, warmup, jit_compile, **kwargs):
    model = cls(nets.tutorial_generator(), nets.tutorial_discriminator(), **kwargs)
    model.compile(jit_compile=jit_compile)
    model.fit(warmup, epochs=1, verbose=0)  # Tracing, untimed.
    return lambda: model.fit(dataset, epochs=1, verbose=0)


def loop_runner(dataset, warmup, update, jit_compile=False):
    loop = nets.HandLoop(update, jit_compile=jit_compile)
    loop.run(warmup)
    return lambda: loop.run(dataset)


def torch_runner(torch, images, batch_size, update):
    nchw = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
    batches = list(torch.split(nchw, batch_size))
    loop = nets.TorchLoop(torch, update)
    loop.run(batches[:2])
    return lambda: loop.run(batches)


def build_rows(args, images, wgan_images):
    """The table's rows: name -> (make_runner or None, images per call, compared-with row,
    note). `make_runner()` builds the row's networks and traces its step (see `make_runners`)."""
    batch = args.batch_size
    dataset, warmup = make_dataset(images, batch), make_dataset(images[: 2 * batch], batch)
    wgan_data = make_dataset(wgan_images, batch)
    wgan_warmup = make_dataset(wgan_images[: 2 * N_CRITIC * batch], batch)
    n, wn = len(images), len(wgan_images)
    rows = {
        "hand loop, alternating": (
            partial(loop_runner, dataset, warmup, "alternating"),
            n,
            None,
            "",
        ),
        "hand loop, shared": (partial(loop_runner, dataset, warmup, "shared"), n, None, ""),
    }
    for update in nets.UPDATES:
        for jit in (False, True):
            name = f"kgan GAN.fit, {update}" + (", jit_compile" if jit else "")
            make = partial(kgan_runner, kgan.GAN, dataset, warmup, jit, update=update)
            rows[name] = (make, n, f"hand loop, {update}", "")
    torch, why = nets.import_torch()
    for update in nets.UPDATES:
        make = None if torch is None else partial(torch_runner, torch, images, batch, update)
        threads = "" if torch is None else f"{torch.get_num_threads()} threads"
        rows[f"PyTorch, {update}"] = (make, n, f"kgan GAN.fit, {update}", why or threads)
    for jit in (False, True):
        name = "kgan WGANGP.fit, n_critic 5" + (", jit_compile" if jit else "")
        make = partial(kgan_runner, kgan.WGANGP, wgan_data, wgan_warmup, jit, n_critic=N_CRITIC)
        rows[name] = (make, wn, None, "images: real images the critic read")
    if kgan_precision.cpu_has_bfloat16():
        in_bfloat16 = partial(_in_policy, "mixed_bfloat16")
        loop = partial(in_bfloat16, loop_runner, dataset, warmup, "alternating")
        gan = partial(in_bfloat16, kgan_runner, kgan.GAN, dataset, warmup, False)
        rows["hand loop, alternating, bfloat16"] = (loop, n, "hand loop, alternating", "")
        rows["kgan GAN.fit, alternating, bfloat16"] = (
            gan,
            n,
            "hand loop, alternating, bfloat16",
            "",
        )
    else:
        rows["mixed_bfloat16"] = (None, n, None, "no avx512_bf16 or AMX in /proc/cpuinfo")
    return rows


def _in_policy(policy, make_runner, *args, **kwargs):
    """`make_runner(*args, **kwargs)`, its networks built under the dtype policy `policy`."""
    with kgan_precision.policy_scope(policy):
        return make_runner(*args, **kwargs)


def make_runners(rows):
    """`rows` with each row's runner built (networks created, step traced), in table order."""
    return {name: (None if make is None else make(), *rest) for name, (make, *rest) in rows.items()}


def select_rows(rows, names):
    """The rows named in `names` (all rows when it is empty), with the rows they are compared
    with."""
    if not names:
        return rows
    unknown = [name for name in names if name not in rows]
    if unknown:
        raise SystemExit(f"--only: no row {unknown[0]!r}. Rows: {', '.join(rows)}")
    keep = set(names) | {rows[name][2] for name in names if rows[name][2] in rows}
    return {name: row for name, row in rows.items() if name in keep}


def time_rows(rows, repeats, quiet=False):
    """Seconds of each row's calls; the order of the rows rotates from one round to the next.

    `rows`: name -> a row tuple whose first item is its runner (or None: not timed), or
    name -> a runner."""
    runners = {name: row[0] if isinstance(row, tuple) else row for name, row in rows.items()}
    names = [name for name, runner in runners.items() if runner is not None]
    seconds = {name: [] for name in names}
    for round_index in range(repeats):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            runners[name]()
            seconds[name].append(time.perf_counter() - start)
        if not quiet:
            print(f"round {round_index + 1} of {repeats} done", flush=True)
    return seconds


def print_table(rows, seconds, args):
    rates = {name: rows[name][1] / statistics.median(times) for name, times in seconds.items()}
    print(f"\nbatch {args.batch_size}; calls of {args.steps} steps; {args.repeats} calls per row")
    print(f"{'row':<42}{'images/s':>10}{'ms/step':>9}  {'ratio':<72}note")
    for name, (_, _, compared, note) in rows.items():
        if name not in rates:
            print(f"{name:<42}{'-':>10}{'-':>9}  {'-':<72}not run: {note}")
            continue
        ms = statistics.median(seconds[name]) / args.steps * 1000
        ratio = ""
        if compared in rates:
            spread = [rows[name][1] / t for t in seconds[name]]
            # Images per second of this row over the compared row's, call by call.
            scale = rows[name][1] / rows[compared][1]
            paired = [scale * c / t for t, c in zip(seconds[name], seconds[compared], strict=True)]
            ratio = (
                f"{rates[name] / rates[compared]:.3f} x {compared} "
                f"(calls {min(spread):.0f}-{max(spread):.0f}; per round "
                f"{statistics.median(paired):.3f}, {min(paired):.3f}-{max(paired):.3f}, "
                f"mean {_mean_and_error(paired)})"
            )
        print(f"{name:<42}{rates[name]:>10.1f}{ms:>9.0f}  {ratio:<72}{note}")
    return rates


def _mean_and_error(values):
    """`"mean +- 2 standard errors"` of `values` (just the mean for a single value)."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return f"{mean:.3f}"
    error = 2 * statistics.stdev(values) / len(values) ** 0.5
    return f"{mean:.3f} +- {error:.3f}"


def print_costs(args, rates):
    """The gradient penalty's cost, the FLOPs of one step and the share of the peak."""
    real = tf.constant(load_images(args.batch_size))
    plain, penalised = nets.critic_steps()
    repeats = 3 if args.quick else 20
    plain_ms = nets.median_ms(plain, real, repeats)
    penalised_ms = nets.median_ms(penalised, real, repeats)
    print(
        f"\nWGAN-GP critic update (G(z) included): plain {plain_ms:.0f} ms, with the gradient "
        f"penalty {penalised_ms:.0f} ms: {penalised_ms / plain_ms:.2f}x (target <= 2x)"
    )
    peak = nets.matmul_peak(repeats=3 if args.quick else 10)
    print(f"measured float32 matrix-multiply peak (2048^3): {peak / 1e9:.0f} GFLOP/s")
    for update in nets.UPDATES:
        flops = nets.step_flops(nets.HandLoop(update), args.batch_size)
        for name in (f"kgan GAN.fit, {update}", f"hand loop, {update}"):
            if name in rates:
                achieved = flops * rates[name] / args.batch_size
                print(
                    f"{name}: {flops / 1e9:.1f} GFLOP per step, {achieved / 1e9:.0f} GFLOP/s, "
                    f"{achieved / peak:.0%} of the peak"
                )


def overhead_calls(update, one_batch):
    """One-step calls of the hand loop, of kgan's `train_function` and of kgan's `fit` on the
    one-batch dataset `one_batch`, in the update order `update` (traced, untimed)."""
    loop = nets.HandLoop(update)
    loop.run(one_batch)
    gan = kgan.GAN(nets.tutorial_generator(), nets.tutorial_discriminator(), update=update)
    gan.compile()
    gan.fit(one_batch, verbose=0)

    def train_function():
        logs = gan.train_function(iter(one_batch))
        return float(logs["d_loss"])  # Waits for the step.

    return {
        "loop": lambda: loop.run(one_batch),
        "train_function": train_function,
        "fit": lambda: gan.fit(one_batch, verbose=0),
    }


def print_overhead(args, images):
    """Where kgan's time per step goes beyond the hand loop's, at step level: interleaved
    one-step calls of the hand loop (`loop.run` on a one-batch dataset), of kgan's
    `train_function` on the same dataset, and of `fit` on it. The first two give the ratio of
    the steps themselves; `fit` less `train_function` is a `fit` call's fixed cost."""
    batch = args.batch_size
    one_batch = make_dataset(images[:batch], batch)
    rounds = 3 if args.quick else 20
    print(f"\nbatch {batch}; one-step calls, {rounds} rounds, medians")
    for update in nets.UPDATES:
        seconds = time_rows(overhead_calls(update, one_batch), rounds, quiet=True)
        ms = {name: statistics.median(times) * 1000 for name, times in seconds.items()}
        step_ratios = [
            loop_s / kgan_s
            for loop_s, kgan_s in zip(seconds["loop"], seconds["train_function"], strict=True)
        ]
        fixed = statistics.median(
            (fit_s - step_s) * 1000
            for fit_s, step_s in zip(seconds["fit"], seconds["train_function"], strict=True)
        )
        print(
            f"{update}: hand loop step {ms['loop']:.1f} ms, kgan train_function "
            f"{ms['train_function']:.1f} ms (loop / kgan per round: median "
            f"{statistics.median(step_ratios):.3f}, mean {_mean_and_error(step_ratios)}); "
            f"kgan fit {ms['fit']:.1f} ms, so a fit call's fixed cost is {fixed:.1f} ms "
            f"(median per round), {fixed / (args.steps * ms['loop']):.2%} of a "
            f"{args.steps}-step call"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=50, help="training steps per timed call")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls of each row")
    parser.add_argument("--quick", action="store_true", help="batch 32, 3 steps, 1 call")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="ROW",
        help="time only the row named ROW (and the row it is compared with); repeatable. "
        "The costs after the table are then left out.",
    )
    parser.add_argument(
        "--overhead",
        action="store_true",
        help="instead of the table: kgan's step against the hand loop's at step level, and "
        "the fixed cost of a fit call",
    )
    args = parser.parse_args(argv)
    if args.overhead and args.only:
        parser.error(
            "--overhead times kgan's step against the hand loop's in both orders, not table "
            f"rows; leave out --only. Received: --overhead with --only {args.only}"
        )
    if args.quick:
        args.batch_size, args.steps, args.repeats = 32, 3, 1
    keras.utils.set_random_seed(0)
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPUs")
    print(f"devices: {[d.name for d in tf.config.list_logical_devices()]}")

    images = load_images(args.batch_size * args.steps)
    if args.overhead:
        print_overhead(args, images)
        return 0
    # With critic_batches="fresh" each WGAN-GP step reads n_critic batches.
    wgan_images = np.concatenate([images] * N_CRITIC)
    rows = make_runners(select_rows(build_rows(args, images, wgan_images), args.only))
    seconds = time_rows(rows, args.repeats)
    rates = print_table(rows, seconds, args)
    if not args.only:
        print_costs(args, rates)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The numeric precision of a training run: `kgan.training.train(precision=...)` and
`kgan train --precision`.

Keras' mixed-precision policies compute inside the networks in a 16-bit type and keep the
weights (and kgan's network outputs) in float32. `"auto"` keeps a mixed policy the user has
set (`keras.mixed_precision.set_global_policy`); otherwise it picks `mixed_bfloat16` on a
CPU-only machine whose CPU has bfloat16 instructions (`avx512_bf16` or Intel AMX, read from
`/proc/cpuinfo`), where it trains faster (the bfloat16 rows of `tools/benchmark_train.py`,
stored in `tools/results/benchmark_train.txt`). Everywhere else it picks `float32`: kgan has
not measured mixed precision on a GPU, and `mixed_float16` needs loss scaling that kgan's
optimisers then do (see `kgan.models.base`).
"""

import contextlib
import functools

import keras
import tensorflow as tf

from kgan._validation import check_choice

PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
_BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.cache
def cpu_has_bfloat16(cpuinfo="/proc/cpuinfo"):
    """Whether the CPU advertises bfloat16 arithmetic (`avx512_bf16` or `amx_bf16` flags).

    `False` where `/proc/cpuinfo` cannot be read (macOS, Windows).
    """
    try:
        with open(cpuinfo) as file:
            flags = set()
            for line in file:
                if line.startswith("flags"):
                    flags.update(line.split(":", 1)[1].split())
    except OSError:
        return False
    return any(flag in flags for flag in _BFLOAT16_FLAGS)


def resolve(precision):
    """The Keras dtype policy name for `precision` (one of `PRECISIONS`).

    `"auto"`: Keras' global policy when the user set a mixed one, else `mixed_bfloat16` on a
    CPU with bfloat16 instructions and no GPU, else `float32`.

    Raises:
        ValueError: for an unknown `precision`, or `"auto"` under a global policy with 16-bit
            weights (`"bfloat16"`, `"float16"`).
    """
    check_choice("precision", precision, PRECISIONS)
    if precision != "auto":
        return precision
    chosen = keras.config.dtype_policy().name
    if chosen in ("mixed_bfloat16", "mixed_float16"):
        return chosen
    if chosen != "float32":
        raise ValueError(
            "kgan trains with float32 weights, but Keras' global dtype policy is "
            f"{chosen!r} (16-bit weights). Set a mixed policy instead "
            '(keras.mixed_precision.set_global_policy("mixed_bfloat16")), or pass '
            f"precision='float32' or a mixed policy. Received: precision='auto' with the global "
            f"policy {chosen!r}"
        )
    if not tf.config.list_physical_devices("GPU") and cpu_has_bfloat16():
        return "mixed_bfloat16"
    return "float32"


@contextlib.contextmanager
def policy_scope(policy):
    """Sets Keras' global dtype policy to `policy` inside the block, and back after it.

    Networks built inside the block keep the policy (it is saved with them); models compiled
    inside it get loss scaling under `mixed_float16`.
    """
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)

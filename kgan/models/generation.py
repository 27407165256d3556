"""Bounds of `AdversarialModel.generate`: sizes TensorFlow and this machine can hold."""

import numpy as np

from kgan._system import available_memory

# The most samples `generate` draws in one call: TensorFlow sizes tensors with int32.
MAX_GENERATE_SAMPLES = 2**31 - 1


def check_generate_size(num_samples, latent_dim, sample_shape):
    """Refuses a `generate` call whose latent vectors and float32 samples cannot exist at once:
    more than `MAX_GENERATE_SAMPLES`, or more bytes than the memory available."""
    if num_samples > MAX_GENERATE_SAMPLES:
        raise ValueError(
            f"`num_samples` must be at most {MAX_GENERATE_SAMPLES:,} (TensorFlow sizes tensors "
            f"with int32); draw samples in several calls with different seeds. "
            f"Received: num_samples={num_samples}"
        )
    check_fits_in_memory(
        4 * num_samples * (latent_dim + int(np.prod(sample_shape))),
        "`num_samples` asks for {needed} of latent vectors and samples, more than the "
        "{available} of memory available; draw them in several calls with different seeds.",
        f"num_samples={num_samples}",
    )


def check_fits_in_memory(needed, message, received):
    """Raises `ValueError(message + " Received: " + received)` when `needed` bytes exceed the
    memory available; `message` may name `{needed}` and `{available}` (formatted in GiB)."""
    available = available_memory()
    if available is not None and needed > available:
        text = message.format(
            needed=f"{needed / 2**30:,.1f} GiB", available=f"{available / 2**30:,.1f} GiB"
        )
        raise ValueError(f"{text} Received: {received}")

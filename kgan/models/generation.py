"""Bounds of `AdversarialModel.generate`: sizes TensorFlow and this machine can hold."""

import os

import numpy as np

# The most samples `generate` draws in one call: TensorFlow sizes tensors with int32.
MAX_GENERATE_SAMPLES = 2**31 - 1


def physical_memory():
    """This machine's memory in bytes, or `None` where the platform does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_generate_size(num_samples, latent_dim, sample_shape):
    """Refuses a `generate` call whose latent vectors and float32 samples cannot exist at once:
    more than `MAX_GENERATE_SAMPLES`, or more bytes than this machine's memory."""
    if num_samples > MAX_GENERATE_SAMPLES:
        raise ValueError(
            f"`num_samples` must be at most {MAX_GENERATE_SAMPLES:,} (TensorFlow sizes tensors "
            f"with int32); draw samples in several calls with different seeds. "
            f"Received: num_samples={num_samples}"
        )
    check_fits_in_memory(
        4 * num_samples * (latent_dim + int(np.prod(sample_shape))),
        "`num_samples` asks for {needed} of latent vectors and samples, more than this "
        "machine's {available} of memory; draw them in several calls with different seeds.",
        f"num_samples={num_samples}",
    )


def check_fits_in_memory(needed, message, received):
    """Raises `ValueError(message + " Received: " + received)` when `needed` bytes exceed this
    machine's memory; `message` may name `{needed}` and `{available}` (formatted in GiB)."""
    available = physical_memory()
    if available is not None and needed > available:
        text = message.format(
            needed=f"{needed / 2**30:,.1f} GiB", available=f"{available / 2**30:,.1f} GiB"
        )
        raise ValueError(f"{text} Received: {received}")

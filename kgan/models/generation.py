"""Drawing samples from a model: `AdversarialModel.generate`, and the sizes TensorFlow and this
machine can hold."""

import keras
import numpy as np

from kgan._system import available_memory
from kgan._validation import check_positive_int, check_seed
from kgan.models import checks, truncation
from kgan.models.noise import sample_latent
from kgan.networks.inputs import with_labels
from kgan.progress import Progress

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


def generate(model, num_samples, *, z, labels, seed, batch_size, jacobian_truncation, verbose):
    """`model.generate(...)`: see `kgan.models.AdversarialModel.generate`."""
    check_positive_int("batch_size", batch_size)
    if jacobian_truncation is not None:
        checks.truncation_share(jacobian_truncation, z)
    if z is None:
        check_positive_int("num_samples", num_samples)
        check_generate_size(num_samples, model.latent_dim, model.sample_shape)
        check_seed(seed)
    else:
        z = checks.latent_vectors(z, model.latent_dim, num_samples)
        check_generate_size(z.shape[0], 0, model.sample_shape)
    count = num_samples if z is None else z.shape[0]
    labels = checks.generation_labels(labels, count, model.num_classes)
    if jacobian_truncation is not None:
        z = truncation.truncated_generate(
            model.inference_generator,
            model,
            labels,
            count=count,
            share=jacobian_truncation,
            seed=seed,
            batch_size=batch_size,
            verbose=verbose,
        )
    elif z is None:
        z = sample_latent(
            num_samples, model.latent_dim, seed=seed, distribution=model.latent_distribution
        ).numpy()
    # Filled in place: concatenating per-batch results would need twice the memory.
    output = np.empty((count, *model.sample_shape), "float32")
    shown = Progress(f"Generating {count:,} samples", count, verbose=verbose)
    for start in range(0, count, batch_size):
        batch_labels = None if labels is None else labels[start : start + batch_size]
        inputs = with_labels(z[start : start + batch_size], batch_labels)
        samples = model.inference_generator(inputs, training=False)
        output[start : start + batch_size] = keras.ops.convert_to_numpy(samples)
        shown.add(len(samples))
    return output

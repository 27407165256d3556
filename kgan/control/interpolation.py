"""Walks through the latent space and between classes.

Linear interpolation between two Gaussian latent vectors cuts through the inside of the
sphere where such vectors lie (in 64 dimensions, their norms are close to 8; the midpoint of two
of them has a norm close to 8 / sqrt(2)), so the generator sees atypical inputs halfway.
Spherical interpolation (slerp, White 2016, "Sampling Generative Networks",
arXiv:1609.04468) follows the great circle between the two directions instead:

    slerp(a, b; t) = (sin((1 - t) w) a_hat + sin(t w) b_hat) / sin(w) * ((1 - t)|a| + t|b|),
    with cos(w) = a_hat . b_hat,

which keeps the norm where the end points have it (and moves it linearly between them).
"""

import numpy as np

from kgan._validation import check_choice, check_positive_int, check_seed
from kgan.control.labels import blend_labels, check_labels, check_steps
from kgan.control.loading import as_generator

METHODS = ("slerp", "linear")


def interpolate(z_start, z_end, steps, method="slerp"):
    """The latent path from `z_start` to `z_end` in `steps` points, both ends included.

    Args:
        z_start: a latent vector `(latent_dim,)` or a batch `(num_paths, latent_dim)`.
        z_end: the same shape as `z_start`.
        steps: number of points on each path, at least 2.
        method: `"slerp"` (spherical, keeps the norms of Gaussian latents) or `"linear"`.

    Returns:
        A float32 array `(steps, latent_dim)`, or `(num_paths, steps, latent_dim)` for batches.
    """
    steps = check_steps(steps)
    check_choice("method", method, METHODS)
    start = np.asarray(z_start, dtype="float64")
    end = np.asarray(z_end, dtype="float64")
    if start.shape != end.shape or start.ndim not in (1, 2):
        raise ValueError(
            "`z_start` and `z_end` must have the same shape, (latent_dim,) or "
            f"(num_paths, latent_dim). Received: z_start of shape {start.shape} and z_end of "
            f"shape {end.shape}"
        )
    single = start.ndim == 1
    start, end = np.atleast_2d(start)[:, None, :], np.atleast_2d(end)[:, None, :]
    t = np.linspace(0.0, 1.0, steps)[None, :, None]
    if method == "linear":
        path = (1.0 - t) * start + t * end
    else:
        path = _slerp(start, end, t)
    path = path.astype("float32")
    # The end points are the inputs themselves, not values recomputed in floating point.
    path[:, 0], path[:, -1] = start[:, 0], end[:, 0]
    return path[0] if single else path


def _slerp(start, end, t):
    start_norm = np.linalg.norm(start, axis=-1, keepdims=True)
    end_norm = np.linalg.norm(end, axis=-1, keepdims=True)
    start_dir = start / np.maximum(start_norm, 1e-12)
    end_dir = end / np.maximum(end_norm, 1e-12)
    cos = np.clip(np.sum(start_dir * end_dir, axis=-1, keepdims=True), -1.0, 1.0)
    omega = np.arccos(cos)
    sin = np.sin(omega)
    # Nearly parallel directions: the great circle is a straight line; so is the fallback.
    # Opposite directions have no single great circle; the linear blend is the fallback too.
    safe = sin > 1e-6
    sin = np.where(safe, sin, 1.0)
    great_circle = (np.sin((1.0 - t) * omega) * start_dir + np.sin(t * omega) * end_dir) / sin
    straight = (1.0 - t) * start_dir + t * end_dir
    straight /= np.maximum(np.linalg.norm(straight, axis=-1, keepdims=True), 1e-12)
    direction = np.where(safe, great_circle, straight)
    return direction * ((1.0 - t) * start_norm + t * end_norm)


def interpolation_grid(model, num_rows, steps, *, seed=0, method="slerp", labels=None):
    """Images along `num_rows` latent paths of `steps` points each.

    Row `r` goes from the latent vector `2 r` to `2 r + 1` of the seeded draw
    `sample_latent(2 * num_rows, latent_dim, seed=seed)`.

    Args:
        model: a kgan model, a generator `keras.Model`, a `kgan.control.Generator` or a path
            (run folder, `.keras`, SavedModel, `.onnx`).
        num_rows: number of paths.
        steps: points per path, at least 2.
        seed: integer seed of the end points.
        method: `"slerp"` or `"linear"`.
        labels: for a conditional generator, one class for every row or one per row
            (`None` cycles 0, 1, ... over the rows).

    Returns:
        A float32 array `(num_rows * steps, *sample_shape)`, row after row.
    """
    generator = as_generator(model)
    check_positive_int("num_rows", num_rows)
    steps = check_steps(steps)
    check_seed(seed)
    row_labels = check_labels(labels, num_rows, generator.num_classes)
    ends = generator.sample_z(2 * num_rows, seed).reshape(num_rows, 2, generator.latent_dim)
    path = interpolate(ends[:, 0], ends[:, 1], steps, method)
    sample_labels = None if row_labels is None else np.repeat(row_labels, steps)
    return generator.generate(z=path.reshape(-1, generator.latent_dim), labels=sample_labels)


def class_interpolation_grid(model, start, end, steps, *, num_rows=1, seed=0):
    """Images of a conditional generator going from class `start` to class `end` at fixed `z`.

    Each row holds one latent vector (`sample_latent(num_rows, latent_dim, seed=seed)`) and
    blends the one-hot class rows linearly (`blend_labels`). Exported SavedModel and ONNX
    generators take integer labels only, so this needs a Keras model (a run folder, a
    `.keras` file or the model itself); see `KerasGenerator.soft_label_model`.

    Returns:
        A float32 array `(num_rows * steps, *sample_shape)`, row after row.
    """
    generator = as_generator(model)
    if generator.format != "keras":
        raise ValueError(
            "Class interpolation blends one-hot label rows, which only a Keras model (a run "
            "folder or .keras file) takes; exported SavedModel and ONNX generators take integer "
            f"labels. Received: model={generator.describe()}"
        )
    if not generator.conditional:
        raise ValueError(
            "Class interpolation needs a class-conditional generator. "
            f"Received: model={generator.describe()} with num_classes=None"
        )
    check_positive_int("num_rows", num_rows)
    check_seed(seed)
    weights = blend_labels(start, end, steps, generator.num_classes)
    z = generator.sample_z(num_rows, seed)
    rows_z = np.repeat(z, steps, axis=0)
    rows_weights = np.tile(weights, (num_rows, 1))
    return generator.generate_soft(rows_z, rows_weights)

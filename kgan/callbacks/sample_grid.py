"""`SampleGrid`: a PNG grid of samples from fixed noise every epoch (and a TensorBoard image)."""

import os
import re

import keras
import tensorflow as tf

from kgan import images as kgan_images
from kgan._validation import check_positive_int, short
from kgan.models import sample_latent
from kgan.models.checks import generation_labels


def _check_folder(directory):
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise ValueError(
            "`directory` must be a folder (created if needed), not a file. "
            f"Received: directory={directory!r}"
        )


class SampleGrid(keras.callbacks.Callback):
    """Saves a grid of samples from the same noise (and labels) every `every_n_epochs` epochs.

    Samples come from `model.generate(z=fixed_z, labels=labels)`, so they use the averaged
    generator when `ema_decay` is set, and the same noise every epoch shows how the generator
    evolves. Files are `directory/epoch_001.png`, `epoch_002.png`...: numbers padded to the
    digits of `fit`'s `epochs`, at least three, so that they sort by name (a `fit` of 1,000
    epochs or more renames the folder's grids of three digits to four); with `tensorboard_dir`
    the same grid (without the upscaling of small images) is written as the image summary
    `samples`, at step `epoch`.

    Args:
        directory: folder of the PNG files (created if needed).
        num_samples: samples per grid.
        seed: seed of the fixed noise.
        labels: classes for a class-conditional model (one per sample, or one integer); by
            default classes cycle 0, 1, ..., num_classes - 1.
        every_n_epochs: write a grid every this many epochs, and at the last epoch.
        num_rows: rows of the grid (by default as square as possible); with `labels` that
            cycle through the classes and `num_rows` dividing `num_samples`, each column of
            the grid is one class.
        tensorboard_dir: log directory of a TensorBoard image summary, or `None`.

    Example:
    >>> gan.fit(dataset, epochs=20, callbacks=[kgan.callbacks.SampleGrid("samples/")])
    """

    def __init__(
        self,
        directory,
        num_samples=64,
        seed=0,
        labels=None,
        every_n_epochs=1,
        tensorboard_dir=None,
        num_rows=None,
    ):
        super().__init__()
        check_positive_int("num_samples", num_samples)
        check_positive_int("every_n_epochs", every_n_epochs)
        check_positive_int("num_rows", num_rows, allow_none=True)
        if not isinstance(directory, (str, os.PathLike)):
            raise TypeError(
                "`directory` must be the path of a folder (a str or os.PathLike). "
                f"Received: directory={short(repr(directory))} of type {type(directory).__name__}"
            )
        self.num_rows = num_rows
        self.directory = os.fspath(directory)
        _check_folder(self.directory)
        self.num_samples = num_samples
        self.seed = seed
        self.labels = labels
        self.every_n_epochs = every_n_epochs
        self.tensorboard_dir = tensorboard_dir
        self.paths = []
        self._z = None
        self._writer = None

    def on_train_begin(self, logs=None):
        if len(self.model.sample_shape) != 3:
            raise ValueError(
                "SampleGrid draws image grids; the generator must output images "
                "(height, width, channels). Received: samples of shape "
                f"{tuple(self.model.sample_shape)}"
            )
        # The labels are those of every grid: checked once, before any folder is made.
        generation_labels(self.labels, self.num_samples, getattr(self.model, "num_classes", None))
        if self._z is None:
            self._z = sample_latent(
                self.num_samples,
                self.model.latent_dim,
                seed=self.seed,
                distribution=self.model.latent_distribution,
            ).numpy()
        _check_folder(self.directory)
        try:
            os.makedirs(self.directory, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as error:
            raise ValueError(
                f"`directory` cannot be made a folder ({short(error)}). "
                f"Received: directory={self.directory!r}"
            ) from None
        self._digits = max(3, len(str(self.params.get("epochs") or 0)))
        self._widen_names()
        if self.tensorboard_dir and self._writer is None:
            self._writer = tf.summary.create_file_writer(os.fspath(self.tensorboard_dir))

    def _widen_names(self):
        """Renames the folder's grids numbered with fewer digits than this `fit`'s (those of a
        run of 999 epochs trained further), so that all of them still sort by name; names of
        fewer than three digits are none of a `SampleGrid`'s and stay."""
        renamed = {}
        for entry in os.listdir(self.directory):
            match = re.fullmatch(r"epoch_(\d{3,})\.png", entry)
            if match and len(match.group(1)) < self._digits:
                path = os.path.join(self.directory, entry)
                wider = f"epoch_{int(match.group(1)):0{self._digits}d}.png"
                renamed[path] = os.path.join(self.directory, wider)
                os.replace(path, renamed[path])
        self.paths = [renamed.get(path, path) for path in self.paths]

    def on_epoch_end(self, epoch, logs=None):
        last = epoch + 1 == self.params.get("epochs")
        if (epoch + 1) % self.every_n_epochs and not last:
            return
        samples = self.model.generate(z=self._z, labels=self.labels)
        path = os.path.join(self.directory, f"epoch_{epoch + 1:0{self._digits}d}.png")
        kgan_images.save_image_grid(samples, path, num_rows=self.num_rows)
        self.paths.append(path)
        if self._writer is not None:
            grid = kgan_images.image_grid(samples, num_rows=self.num_rows)
            with self._writer.as_default():
                tf.summary.image("samples", grid[None], step=epoch + 1)
            self._writer.flush()  # TensorBoard shows each grid while training goes on.

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None

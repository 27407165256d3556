"""Self-conditioned runs (`kgan train --clusters K`): a class-conditional model trained on K
clusters of its discriminator's features of unlabelled images (`kgan.callbacks.SelfConditioning`).

What such a run adds to its folder (`kgan.runs.folder`):

    RUN/clusters.json                  the clusters the final generator was trained on: their
                                       number, frequencies, and how often the images were
                                       clustered
    RUN/last_good.clusters.json        the same for `last_good.keras`, written with it
    RUN/backup/epoch-0003.clusters.npz the clustering after epoch 3 (each image's cluster, the
                                       centroids, the random state), named by the backup's
                                       `state.json` beside the weights, so that a resumed run
                                       continues with the clusters the killed one had

`model.keras` stays the class-conditional model (its labels are clusters); `load_run_generator`
gives what samples the run without labels: the generator of latent vectors alone
(`kgan.networks.latent_class_generator`), which `kgan export`, `kgan evaluate` and `kgan sample`
use for a self-conditioned run folder.
"""

import hashlib
import json
import os

import keras
import numpy as np

from kgan import atomic
from kgan.models.noise import sample_latent
from kgan.networks.inputs import latent_class_generator

CLUSTERS_FILE = "clusters.json"
# The clusters the generator of `last_good.keras` was trained on.
CHECKPOINT_CLUSTERS_FILE = "last_good.clusters.json"
# Liu et al. (2020) cluster again every 2,000 to 25,000 iterations; kgan's CPU budgets are
# about 10,000 steps, so a run clusters by default at the epoch end nearest every 2,000 batches
# of real images (discriminator steps; a WGAN-GP takes several per generator step).
RECLUSTER_STEPS = 2000


def recluster_epochs(batches_per_epoch, recluster_steps=None):
    """Every how many epochs a run of `batches_per_epoch` steps per epoch clusters again: the
    epoch end nearest every `recluster_steps` batches (default `RECLUSTER_STEPS`), at least
    every epoch."""
    steps = RECLUSTER_STEPS if recluster_steps is None else recluster_steps
    return max(1, round(steps / max(1, batches_per_epoch)))


def save_state(path, self_conditioning):
    """Writes the `get_state()` of a `SelfConditioning` to the `.npz` file `path`, atomically."""
    state = self_conditioning.get_state()
    with atomic.replacing(path, suffix=".npz") as temp:
        with open(temp, "wb") as file:
            np.savez(
                file,
                labels=state["labels"],
                centroids=state["centroids"],
                record=np.array(
                    json.dumps({"clusterings": state["clusterings"], "rng": state["rng"]})
                ),
            )


def load_state(path):
    """The state `save_state` wrote to `path`, as `SelfConditioning(state=...)` takes it."""
    with np.load(path) as saved:
        record = json.loads(str(saved["record"]))
        return {"labels": saved["labels"], "centroids": saved["centroids"], **record}


class CheckpointClusters(keras.callbacks.Callback):
    """Writes `last_good.clusters.json` beside `last_good.keras` whenever the run's
    `TrainingMonitor` saves it, with the clusters that checkpoint was trained on; it must come
    after the monitor and before the `SelfConditioning` in `fit`'s callbacks."""

    def __init__(self, monitor, self_conditioning, path):
        super().__init__()
        self.monitor = monitor
        self.self_conditioning = self_conditioning
        self.path = path

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor.checkpoint_epoch == epoch:
            write_record(
                self.path,
                self.self_conditioning,
                self.self_conditioning.every_n_epochs,
                checkpoint=self.monitor.checkpoint_path,
            )


def samples(generator, gan, num_samples, seed=0):
    """`num_samples` samples of the generator of latent vectors alone `generator` of `gan`,
    from latent vectors drawn with `seed`."""
    z = sample_latent(
        num_samples, gan.latent_dim + 1, seed=seed, distribution=gan.latent_distribution
    )
    return keras.ops.convert_to_numpy(generator(z, training=False)).astype("float32")


def write_record(path, self_conditioning, every_n_epochs, checkpoint=None):
    """`clusters.json` (or `last_good.clusters.json`): the clusters the generator was trained
    on; with `checkpoint`, the digest of that model file too, so that a record and a
    checkpoint written apart (a kill between the two) are never taken for a pair."""
    record = {
        "clusters": int(self_conditioning.num_clusters),
        "frequencies": [float(f) for f in self_conditioning.frequencies],
        "clusterings": self_conditioning.clusterings,
        "every_n_epochs": every_n_epochs,
        "feature_layer": self_conditioning.feature_layer,
    }
    if checkpoint is not None:
        record["checkpoint_sha256"] = _digest(checkpoint)
    atomic.write_json(path, record)


def _digest(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_record(run_dir, name=CLUSTERS_FILE):
    """The `clusters.json` (or `name`) record of the run in `run_dir`, or `None` (not
    self-conditioned)."""
    path = os.path.join(run_dir, name)
    if not os.path.isfile(path):
        return None
    with open(path) as file:
        return json.load(file)


def generator_source(gan, record):
    """What `kgan.export` exports for the self-conditioned `gan` with the `clusters.json`
    `record`: its generator of latent vectors alone, in float32, with the metadata of the
    model it came from (its class, training and averaged weights)."""
    from kgan.export.source import GeneratorSource, float32_copy

    generator = latent_class_generator(
        gan.inference_generator, record["frequencies"], latent_distribution=gan.latent_distribution
    )
    return GeneratorSource(
        float32_copy(generator),
        model=gan,
        latent_dim=gan.latent_dim + 1,
        num_classes=None,
        sample_shape=gan.sample_shape,
        latent_distribution=gan.latent_distribution,
        uses_averaged_weights=gan.ema_weights is not None,
    )


def run_record(run_or_model):
    """The clusters record of a run folder, its `model.keras` (`clusters.json`) or its
    `last_good.keras` (`last_good.clusters.json`), or `None` (not a self-conditioned run)."""
    path = os.fspath(run_or_model)
    if os.path.isdir(path):
        return read_record(path)
    folder, name = os.path.split(path)
    if name == "model.keras":
        return read_record(folder or ".")
    if name != "last_good.keras":
        return None
    record = read_record(folder or ".", CHECKPOINT_CLUSTERS_FILE)
    config = read_record(folder or ".", "config.json") or {}
    if record is None and not config.get("clusters"):
        return None  # Not a self-conditioned run.
    if record is None or record.get("checkpoint_sha256") != _digest(path):
        raise ValueError(
            f"The clusters this checkpoint of a self-conditioned run was trained on are not "
            f"recorded beside it ({CHECKPOINT_CLUSTERS_FILE} is missing or belongs to another "
            "save of it: the run was stopped between the two), so it cannot be sampled "
            f"without labels. Resume the run with the same command instead. Received: "
            f"run_or_model={path!r}"
        )
    return record


def load_run_generator(run_or_model, *, compile=False):
    """What samples a run without labels: `load_run`'s `(model, history, config)`, except that
    for a self-conditioned run (its folder, `model.keras` or `last_good.keras`; see
    `run_record`) `model` is its generator of latent vectors alone, a `keras.Model` of
    `latent_dim + 1` values that draws the cluster from the first at the clusters'
    frequencies.
    """
    from kgan.runs.folder import load_run

    model, history, config = load_run(run_or_model, compile=compile)
    record = run_record(run_or_model)
    if record is None:
        return model, history, config
    generator = latent_class_generator(
        model.inference_generator,
        record["frequencies"],
        latent_distribution=model.latent_distribution,
    )
    return generator, history, config

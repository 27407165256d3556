"""`kgan train --clusters K`: a self-conditioned run folder, its resumption, and the commands
that sample, export and evaluate it as an unconditional generator."""

import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import kgan
from kgan.cli import main
from kgan.models import truncation
from kgan.models.truncation import jacobian_norms
from kgan.runs import RunFolder
from kgan.runs import clusters as run_clusters
from kgan.runs import training as training_module
from kgan.runs.folder import same_command
from kgan.training import load_run, train

RUN = dict(num_samples=128, batch_size=32, base_filters=8, latent_dim=8, epochs=2, seed=0)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("self_conditioned") / "run"
    train(folder, clusters=3, verbose=0, **RUN)
    return folder


def test_the_run_trains_a_model_of_the_clusters_and_records_them(run_dir):
    gan, history, config = load_run(run_dir)
    assert gan.num_classes == 3
    # The clusters are not the data's labels: the run is unconditional for its user.
    assert config["clusters"] == 3 and config["conditional"] is False
    assert config["num_classes"] is None
    # The generator is told the cluster in its batch normalisations, the discriminator
    # projects it onto the features that were clustered.
    layers = [type(layer).__name__ for layer in gan.generator.layers]
    assert "ClassConditionalBatchNormalization" in layers
    assert [input.name for input in gan.discriminator.inputs][1] == "labels"
    record = json.loads((run_dir / "clusters.json").read_text())
    assert record["clusters"] == 3 and record["clusterings"] == 1
    assert sum(record["frequencies"]) == pytest.approx(1.0)
    state = json.loads((run_dir / "backup" / "state.json").read_text())
    assert state["epoch"] == RUN["epochs"] and (run_dir / "backup" / state["clusters"]).is_file()
    assert (run_dir / "samples.png").is_file()


def test_the_same_command_without_clusters_is_another_run(run_dir):
    """A run of `--clusters` is not the run of the same arguments without it, either way."""
    saved = json.loads((run_dir / "config.json").read_text())
    without = {key: value for key, value in saved.items() if key != "clusters"}
    assert same_command(saved, {**without, "clusters": 3})
    assert not same_command(saved, without)
    assert not same_command(without, {**without, "clusters": 3})
    with pytest.raises(FileExistsError, match="clusters 3 there, None here"):
        RunFolder(run_dir).plan(without)  # Another run, which would replace this finished one.
    # Nor is the run of another clustering interval.
    assert not same_command(saved, {**saved, "recluster_steps": 500})


def test_runs_cluster_again_at_the_epoch_end_nearest_the_interval():
    # CIFAR-10 at batch 64: 781 batches an epoch.
    assert run_clusters.recluster_epochs(781) == 3
    assert run_clusters.recluster_epochs(781, recluster_steps=15000) == 19
    assert run_clusters.recluster_epochs(781, recluster_steps=100) == 1


def test_the_last_healthy_checkpoint_samples_as_the_run_does(run_dir):
    """`last_good.keras` has the clusters it was trained on beside it."""
    record = json.loads((run_dir / "last_good.clusters.json").read_text())
    digest = record.pop("checkpoint_sha256")  # The file it goes with.
    assert record == json.loads((run_dir / "clusters.json").read_text())
    assert digest == hashlib.sha256((run_dir / "last_good.keras").read_bytes()).hexdigest()
    checkpoint = kgan.control.load_generator(str(run_dir / "last_good.keras"))
    assert checkpoint.num_classes is None
    assert checkpoint.latent_dim == RUN["latent_dim"] + 1


@pytest.mark.parametrize("record", ["missing", "of another save"])
def test_a_checkpoint_whose_clusters_are_not_beside_it_is_refused(run_dir, tmp_path, record):
    """A kill between last_good.keras and its clusters: never sampled with the wrong ones."""
    for name in ("last_good.keras", "config.json", "last_good.clusters.json"):
        shutil.copy(run_dir / name, tmp_path / name)
    if record == "missing":
        (tmp_path / "last_good.clusters.json").unlink()
    else:
        saved = json.loads((tmp_path / "last_good.clusters.json").read_text())
        saved["checkpoint_sha256"] = "0" * 64
        (tmp_path / "last_good.clusters.json").write_text(json.dumps(saved))
    with pytest.raises(ValueError, match="not recorded beside it.*last_good.keras"):
        kgan.control.load_generator(str(tmp_path / "last_good.keras"))


def test_a_generated_data_set_is_drawn_from_the_run_seed():
    """Stacked MNIST's triples: the images clustered are those a run without clusters uses."""
    if not os.environ.get("KGAN_DATA_DIR"):
        pytest.skip("Stacked MNIST stacks the MNIST digits of $KGAN_DATA_DIR")
    options = {"num_samples": 64, "image_size": None, "crop": None, "data_dir": None}
    first = training_module._image_array("stacked_mnist", 0, options)
    np.testing.assert_array_equal(training_module._image_array("stacked_mnist", 0, options), first)
    plain = kgan.data.load("stacked_mnist", batch_size=64, shuffle=False, seed=0, num_samples=64)
    np.testing.assert_array_equal(next(iter(plain)).numpy(), first / np.float32(127.5) - 1)


def test_the_images_clustered_are_kept_as_pixels():
    """uint8, a quarter of float32's memory, and exactly the pixels the data set scales."""
    options = {"num_samples": 300, "image_size": None, "crop": None, "data_dir": None}
    pixels = training_module._image_array(kgan.data.EMBEDDED_DATASET, 0, options)
    assert pixels.dtype == np.uint8 and pixels.shape == (300, 28, 28, 1)
    loaded = kgan.data.load(kgan.data.EMBEDDED_DATASET, batch_size=300, shuffle=False)
    np.testing.assert_array_equal(next(iter(loaded)).numpy(), pixels / np.float32(127.5) - 1)


def test_sample_export_and_evaluate_use_the_generator_of_latent_vectors(
    run_dir, tmp_path, monkeypatch
):
    # Thresholds from 500 prior samples, not 10,000: the SavedModel's norms take two backward
    # passes each, and what is checked here is which thresholds apply, not their precision.
    monkeypatch.setattr(
        kgan.control.generators,
        "truncated_generate",
        functools.partial(truncation.truncated_generate, calibration=500),
    )
    generator, _, _ = run_clusters.load_run_generator(run_dir)
    gan, _, _ = load_run(run_dir)
    assert generator.inputs[0].shape[-1] == gan.latent_dim + 1
    opened = kgan.control.load_generator(str(run_dir))
    assert opened.num_classes is None and opened.latent_dim == gan.latent_dim + 1
    with pytest.raises(ValueError, match="labels"):
        opened.generate(4, labels=[0, 1, 2, 0])
    saved_model, onnx = tmp_path / "sm", tmp_path / "g.onnx"
    formats = ["--saved-model", str(saved_model), "--onnx", str(onnx)]
    assert main(["export", str(run_dir), *formats]) == 0
    for exported in (saved_model, onnx):
        metadata = kgan.export.read_metadata(
            str(saved_model / "1") if exported == saved_model else str(onnx)
        )
        assert metadata["num_classes"] is None
        assert metadata["latent_dim"] == gan.latent_dim + 1
        assert metadata["latent_distribution"] == gan.latent_distribution
        # Of the GAN it came from: its class, its training and its averaged weights.
        assert metadata["model_class"] == "GAN" and metadata["uses_averaged_weights"]
        assert metadata["training"]["run_config"]["clusters"] == 3
    # The exports draw what the run's generator draws.
    expected = opened.generate(6, seed=1)
    for exported in (str(saved_model), str(onnx)):
        images = kgan.control.load_generator(exported).generate(6, seed=1)
        np.testing.assert_allclose(images, expected, atol=2e-4)
    # Jacobian truncation: TensorFlow's forward mode fails through the SavedModel, which
    # computes the integer cluster from z; its norms come from two backward passes instead.
    served = kgan.control.load_generator(str(saved_model))
    assert opened.forward_differentiable and not served.forward_differentiable
    z = opened.sample_z(6, seed=2)
    np.testing.assert_allclose(
        jacobian_norms(served, z), jacobian_norms(opened, z), rtol=1e-4, atol=1e-6
    )
    assert served.generate(4, seed=0, jacobian_truncation=0.25).shape == (4, 28, 28, 1)
    # The metadata says how z's first value picks the cluster, so that the loaded exports
    # threshold each cluster apart as the Keras generator does.
    frequencies = json.loads((run_dir / "clusters.json").read_text())["frequencies"]
    latents = opened.sample_z(500, seed=3)
    for loaded in (served, kgan.control.load_generator(str(onnx))):
        assert loaded.latent_classes.frequencies == frequencies
        np.testing.assert_array_equal(
            loaded.latent_classes.classes_of(latents), opened.latent_classes.classes_of(latents)
        )
    # An export from before the metadata recorded them is sampled with one threshold, and says so.
    metadata = kgan.export.read_metadata(str(saved_model / "1"))
    del metadata["latent_classes"]
    older = kgan.control.generators.SavedModelGenerator(str(saved_model / "1"), metadata)
    with pytest.warns(UserWarning, match="no `latent_classes`"):
        older.generate(2, seed=0, jacobian_truncation=0.25)
    assert main(["sample", str(run_dir), "--grid", str(tmp_path / "grid.png")]) == 0
    assert main(["sample", str(run_dir), "--labels", "1"]) == 2
    assert (tmp_path / "grid.png").is_file()
    scores = tmp_path / "scores.json"
    args = ["evaluate", str(run_dir), "--data", "fashion_mnist_sample", "--num-samples", "64"]
    assert main([*args, "--features", "raw", "--json", str(scores)]) == 0
    assert np.isfinite(json.loads(scores.read_text())["fid"])


def test_the_cluster_state_is_saved_and_loaded_exactly(tmp_path):
    gan = kgan.training.build_model(
        (8, 8, 3),
        num_classes=3,
        latent_dim=4,
        base_filters=4,
        generator_conditioning="batch_norm",
        discriminator_conditioning="projection",
    )
    images = np.random.default_rng(0).uniform(-1, 1, (30, 8, 8, 3)).astype("float32")
    clusters = kgan.callbacks.SelfConditioning(gan, images, seed=1, fit_samples=10)
    path = tmp_path / "state.npz"
    run_clusters.save_state(path, clusters)
    loaded = run_clusters.load_state(path)
    saved = clusters.get_state()
    np.testing.assert_array_equal(loaded["labels"], saved["labels"])
    np.testing.assert_array_equal(loaded["centroids"], saved["centroids"])
    assert loaded["rng"] == saved["rng"] and loaded["clusterings"] == 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"clusters": 1}, "clusters=1"),
        ({"clusters": 2.5}, "clusters=2.5"),
        ({"clusters": 3, "conditional": True}, "conditional=True"),
        ({"clusters": 3, "architecture": "mlp"}, "architecture='mlp'"),
        ({"clusters": 3, "num_classes": 3}, "num_classes=3"),
        ({"clusters": 3, "recipe": "toy_2d", "base_filters": None, "latent_dim": None}, "toy_2d"),
        ({"clusters": 3, "batch_size": 1000}, "batch_size=1000"),
        ({"clusters": 3, "recluster_steps": 0}, "recluster_steps=0"),
        ({"recluster_steps": 8}, "it needs `clusters`. Received: recluster_steps=8"),
    ],
)
def test_bad_cluster_arguments_are_refused_naming_them(tmp_path, kwargs, message):
    options = {**RUN, **kwargs}
    with pytest.raises(ValueError, match=message):
        train(tmp_path / "run", verbose=0, **options)
    assert not (tmp_path / "run").exists()


def test_build_model_refuses_mlp_networks_conditioned_elsewhere_than_at_their_input():
    with pytest.raises(ValueError, match="generator_conditioning='batch_norm'"):
        kgan.training.build_model(
            (2,), architecture="mlp", num_classes=3, generator_conditioning="batch_norm"
        )


# A run interrupted after its second epoch (the backup written, as a kill after the commit
# point leaves it) and run again, against an uninterrupted one; the clusters are fitted again
# after every epoch, so the resumed run must continue the killed one's clusters.
INTERRUPTED_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from kgan.runs import folder
    from kgan.training import load_run, train

    # Clustered again every 4 batches: every epoch of these runs.
    run = dict(clusters=3, recluster_steps=4, num_samples=128, batch_size=32, base_filters=8,
               latent_dim=8, epochs=4, seed=0, deterministic=True, verbose=0)
    straight, interrupted, extended = sys.argv[1:]
    train(straight, **run)

    class Interrupted(Exception):
        pass

    write_backup = folder.RunBackup.on_epoch_end

    def interrupt_after_epoch_two(self, epoch, logs=None):
        write_backup(self, epoch, logs)
        if epoch + 1 == 2:
            raise Interrupted()

    folder.RunBackup.on_epoch_end = interrupt_after_epoch_two
    try:
        train(interrupted, **run)
    except Interrupted:
        pass
    state = json.load(open(interrupted + "/backup/state.json"))
    folder.RunBackup.on_epoch_end = write_backup
    train(interrupted, **run)

    def weights(path):
        gan = load_run(path)[0]
        return [v.numpy() for v in gan.variables]

    # A run of 2 epochs (not clustered after its last), trained further to 4.
    train(extended, **dict(run, epochs=2))
    train(extended, **run)

    def same(a, b):
        return all(np.array_equal(x, y) for x, y in zip(weights(a), weights(b)))

    records = [json.load(open(p + "/clusters.json")) for p in (straight, interrupted, extended)]
    print(json.dumps({"state": state, "same_weights": same(straight, interrupted),
                      "extended_same_weights": same(straight, extended), "records": records}))
    """
)


def test_an_interrupted_run_resumes_with_its_clusters_to_the_uninterrupted_weights(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_SCRIPT, *(str(tmp_path / n) for n in "abc")],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["state"]["epoch"] == 2
    assert outcome["state"]["clusters"] == "epoch-0002.clusters.npz"
    straight, resumed, extended = outcome["records"]
    # Clustered before training and after epochs 1, 2 and 3 (not after the last).
    assert straight["clusterings"] == resumed["clusterings"] == extended["clusterings"] == 4
    assert straight["every_n_epochs"] == 1
    assert resumed["frequencies"] == straight["frequencies"] == extended["frequencies"]
    assert outcome["same_weights"]
    # Trained further, the 2-epoch run clusters after its epoch 2 as the 4-epoch run did.
    assert outcome["extended_same_weights"]

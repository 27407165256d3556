"""Resuming `kgan train` after a real SIGKILL, reproducibility with `--deterministic`, training
a finished run further, and what a re-run does with a finished, diverged or restarted run
folder."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from kgan import cli
from kgan.runs import RunFolder
from kgan.training import load_run, train

# Tiny runs: 4 steps of 64 images per epoch, networks of 8 base filters.
RUN = dict(num_samples=256, batch_size=64, base_filters=8, epochs=3, seed=0)
COMMAND = [
    "train",
    "--num-samples",
    "256",
    "--batch-size",
    "64",
    "--base-filters",
    "8",
    "--epochs",
    "3",
    "--deterministic",
]
# The reference runs: the same arguments as COMMAND, twice in one process; then a run of one
# epoch fewer, trained further to COMMAND's epochs.
REFERENCE_SCRIPT = textwrap.dedent(
    """
    import sys
    from kgan.training import train
    run = {run}
    straight, again, extended = sys.argv[1:]
    for folder in (straight, again):
        train(folder, deterministic=True, verbose=0, **run)
    train(extended, deterministic=True, verbose=0, **dict(run, epochs=run["epochs"] - 1))
    train(extended, deterministic=True, verbose=2, **run)
    """
).format(run=RUN)
TIMEOUT = 300


def _weights(folder):
    model, history, _ = load_run(folder)
    optimizers = model.d_optimizer.variables + model.g_optimizer.variables
    return [v.numpy() for v in model.variables + optimizers], history


def _wait_for_completed_epoch(process, state_path):
    """Returns once the backup records a completed epoch (or the process has ended)."""
    deadline = time.monotonic() + TIMEOUT
    while process.poll() is None and time.monotonic() < deadline:
        try:
            with open(state_path) as file:
                if json.load(file)["epoch"] >= 1:
                    return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.02)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two uninterrupted runs, and a third killed with SIGKILL after its first epoch and then
    run again with the same command."""
    root = tmp_path_factory.mktemp("resume")
    straight, again, killed = root / "straight", root / "again", root / "killed"
    extended = root / "extended"
    command = [sys.executable, "-m", "kgan", *COMMAND, "--output", str(killed)]
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    # Output goes to a file: a pipe nobody reads until the end could fill up and block.
    with open(root / "reference.log", "w+") as reference_log:
        # The reference runs go on in parallel with the killed run and its resumption.
        reference = subprocess.Popen(
            [sys.executable, "-c", REFERENCE_SCRIPT, str(straight), str(again), str(extended)],
            stdout=reference_log,
            stderr=subprocess.STDOUT,
            env=environment,
        )
        victim = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment
        )
        try:
            _wait_for_completed_epoch(victim, killed / "backup" / "state.json")
            victim.send_signal(signal.SIGKILL)
            victim.wait(TIMEOUT)
            killed_state = json.loads((killed / "backup" / "state.json").read_text())
            resumed = subprocess.run(
                command, capture_output=True, text=True, timeout=TIMEOUT, env=environment
            )
            reference.wait(TIMEOUT)
        finally:
            for process in (victim, reference):
                if process.poll() is None:
                    process.kill()
                    process.wait()
        reference_log.seek(0)
        reference_output = reference_log.read()
    assert victim.returncode == -signal.SIGKILL
    assert reference.returncode == 0, reference_output[-2000:]
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    return dict(
        straight=straight,
        again=again,
        killed=killed,
        killed_state=killed_state,
        resumed_output=resumed.stdout,
        extended=extended,
        reference_output=reference_output,
    )


def _assert_same_as_the_uninterrupted_run(runs, name):
    """The run `runs[name]` has the weights, the history and the epoch grids of the run trained
    for its epochs without interruption."""
    expected, expected_history = _weights(runs["straight"])
    weights, history = _weights(runs[name])
    # Bit-identical: networks, averaged generator, both optimisers' moments and iterations.
    assert len(weights) == len(expected)
    for value, reference in zip(weights, expected):
        np.testing.assert_array_equal(value, reference)
    assert history["epochs"] == 3 and history["metrics"] == expected_history["metrics"]
    assert history["health_events"] == expected_history["health_events"]
    assert sorted(p.name for p in (runs[name] / "samples").iterdir()) == [
        "epoch_001.png",
        "epoch_002.png",
        "epoch_003.png",
    ]
    # The last epoch's backup stays, to train the run further.
    assert sorted(p.name for p in (runs[name] / "backup").iterdir()) == [
        "epoch-0003.weights.h5",
        "state.json",
    ]


def test_a_killed_run_resumes_to_the_weights_of_an_uninterrupted_one(runs):
    # It was killed part-way: after its first epoch, before its last.
    assert 1 <= runs["killed_state"]["epoch"] < RUN["epochs"]
    assert "Epoch 1/3" not in runs["resumed_output"]  # It did not start over,
    epoch = runs["killed_state"]["epoch"]  # and said so.
    assert f"interrupted run: resuming it after epoch {epoch} of 3." in runs["resumed_output"]
    summary = f"Training GAN on 28x28x1 samples into {runs['killed']}: 3 epochs of 4 batches of 64"
    assert summary + ", recipe none, " in runs["resumed_output"]  # Then the machine's policy.
    _assert_same_as_the_uninterrupted_run(runs, "killed")


def test_a_finished_run_asked_for_more_epochs_trains_further_to_the_longer_runs_weights(runs):
    output = runs["reference_output"]
    assert "holds a finished run of 2 epochs: training it further to 3." in output
    assert "Epoch 3/3" in output and "Epoch 1/3" not in output  # It did not start over.
    _assert_same_as_the_uninterrupted_run(runs, "extended")
    assert json.loads((runs["extended"] / "config.json").read_text())["epochs"] == 3


def test_deterministic_runs_with_the_same_arguments_give_the_same_weights(runs):
    first, _ = _weights(runs["straight"])
    second, _ = _weights(runs["again"])
    for value, reference in zip(first, second):
        np.testing.assert_array_equal(value, reference)


def test_rerunning_a_finished_run_trains_nothing(runs, capsys):
    folder = runs["straight"]
    before = (folder / "model.keras").stat().st_mtime_ns
    code = cli.main([*COMMAND, "--output", str(folder)])
    assert code == 0
    assert "already holds the finished run" in capsys.readouterr().out
    assert (folder / "model.keras").stat().st_mtime_ns == before


def test_restart_starts_over(tmp_path):
    small = dict(RUN, epochs=1, num_samples=64)
    train(tmp_path / "run", verbose=0, **small)
    first = (tmp_path / "run" / "model.keras").stat().st_mtime_ns
    # The same call again keeps the finished run; restart=True trains it anew.
    _, history = train(tmp_path / "run", verbose=0, **small)
    assert (tmp_path / "run" / "model.keras").stat().st_mtime_ns == first
    assert history.epoch == [0]
    _, history = train(tmp_path / "run", verbose=0, restart=True, **small)
    assert (tmp_path / "run" / "model.keras").stat().st_mtime_ns != first
    assert history.epoch == [0]
    assert json.loads((tmp_path / "run" / "backup" / "state.json").read_text())["epoch"] == 1


def _request(folder, **changes):
    """Writes the config.json of a run of RUN's arguments (with `changes`) into `folder`."""
    config = dict(
        data="fashion_mnist_sample",
        model="gan",
        architecture="dcgan",
        conditional=False,
        num_classes=None,
        latent_dim=64,
        ema_decay=0.99,
        deterministic=False,
        image_shape=[28, 28, 1],
        **RUN,
    )
    config.update(changes)
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    return {key: value for key, value in config.items() if key != "image_shape"}


def test_a_diverged_run_is_not_resumed(tmp_path):
    folder = tmp_path / "run"
    _request(folder)
    (folder / "history.json").write_text(json.dumps({"diverged": "d_loss became nan"}))
    with pytest.raises(FileExistsError, match="non-finite loss.*--restart"):
        train(folder, verbose=0, **RUN)


def test_plan_reads_the_folder():
    assert RunFolder("missing-folder").plan({"epochs": 3}).action == "new"


def test_plan_resumes_only_the_same_command(tmp_path):
    request = _request(tmp_path / "run")
    # Killed before its first epoch ended: nothing to restore, it starts over.
    plan = RunFolder(tmp_path / "run").plan(request)
    assert (plan.action, plan.initial_epoch) == ("resume", 0)
    # Another command's run is left to check_run_folder (which refuses an unfinished one).
    assert RunFolder(tmp_path / "run").plan({**request, "epochs": 4}).action == "new"
    assert RunFolder(tmp_path / "run").plan(request, restart=True).action == "restart"


def _finished(folder, epochs):
    """Writes the files of a run finished after `epochs` epochs (its backup of the last one
    kept) into `folder`, which holds its config.json."""
    backup = folder / "backup"
    backup.mkdir()
    weights = f"epoch-{epochs:04d}.weights.h5"
    (backup / weights).write_bytes(b"weights")
    (backup / "state.json").write_text(json.dumps({"epoch": epochs, "weights": weights}))
    (folder / "model.keras").write_bytes(b"model")


def test_plan_trains_a_finished_run_further_only_when_asked_for_more_epochs(tmp_path):
    folder = tmp_path / "run"
    request = _request(folder)
    _finished(folder, RUN["epochs"])
    run = RunFolder(folder)
    assert run.plan(request).action == "finished"
    plan = run.plan({**request, "epochs": 5})
    assert (plan.action, plan.initial_epoch) == ("extend", 3)
    # Fewer epochs, or more epochs and another change, is another run: refused, since it
    # would delete this finished one, unless restarted.
    for other, named in (({"epochs": 2}, "epochs 3 there, 2 here"), ({"epochs": 5, "seed": 1},
                         "epochs 3 there, 5 here; seed 0 there, 1 here")):  # fmt: skip
        with pytest.raises(FileExistsError, match=f"finished run of other arguments .{named}"):
            run.plan({**request, **other})
        assert run.plan({**request, **other}, restart=True).action == "restart"
    # Interrupted once model.keras went, before config.json asked for 5 epochs: the same.
    run.reopen()
    assert not (folder / "model.keras").exists() and (folder / "backup" / "state.json").exists()
    assert run.plan({**request, "epochs": 5}).action == "extend"
    # Interrupted later: the unfinished run of 5 epochs, which the same command resumes.
    (folder / "config.json").write_text(json.dumps({**request, "epochs": 5}))
    plan = run.plan({**request, "epochs": 5})
    assert (plan.action, plan.initial_epoch) == ("resume", 3)
    # Without epochs, too, keeping its number of them.
    assert run.plan({**request, "epochs": None}).epochs == 5
    # And which a request for yet more epochs does not take for a finished run.
    assert run.plan({**request, "epochs": 6}).action == "new"


def test_a_killed_run_resumed_without_epochs_keeps_its_own_number(tmp_path, monkeypatch):
    from kgan.runs import folder as run_folder

    small = dict(RUN, epochs=2, num_samples=64)
    write_backup = run_folder.RunBackup.on_epoch_end

    def killed_after_epoch_one(self, epoch, logs=None):
        write_backup(self, epoch, logs)
        raise KeyboardInterrupt("killed")

    with monkeypatch.context() as patch:
        patch.setattr(run_folder.RunBackup, "on_epoch_end", killed_after_epoch_one)
        with pytest.raises(KeyboardInterrupt):
            train(tmp_path / "run", verbose=0, **small)
    _, history = train(tmp_path / "run", verbose=0, **dict(small, epochs=None))
    assert history.epoch == [0, 1]
    assert json.loads((tmp_path / "run" / "config.json").read_text())["epochs"] == 2


def test_a_finished_run_whose_backup_no_longer_fits_is_kept_whole(tmp_path, monkeypatch):
    small = dict(RUN, epochs=1, num_samples=64)
    run = tmp_path / "run"
    train(run, verbose=0, **small)
    model = (run / "model.keras").read_bytes()

    def does_not_fit(self, gan, state, monitor):
        raise ValueError("The run's backup does not fit the networks these arguments build now")

    monkeypatch.setattr(RunFolder, "restore", does_not_fit)
    with pytest.raises(ValueError, match="does not fit"):
        train(run, verbose=0, **dict(small, epochs=2))
    assert (run / "model.keras").read_bytes() == model and (run / "samples.png").is_file()
    assert json.loads((run / "config.json").read_text())["epochs"] == 1


def test_a_finished_run_without_the_backup_of_its_last_epoch_is_not_trained_further(tmp_path):
    folder = tmp_path / "run"
    request = _request(folder)
    (folder / "model.keras").write_bytes(b"model")
    message = r"finished its 3 epochs without.*--restart.*epochs=5"
    with pytest.raises(FileExistsError, match=message):
        RunFolder(folder).plan({**request, "epochs": 5})
    assert (folder / "model.keras").read_bytes() == b"model"


def test_a_diverged_run_is_not_trained_further(tmp_path):
    folder = tmp_path / "run"
    request = _request(folder)
    _finished(folder, RUN["epochs"] - 1)  # Diverged in its last epoch: no model.keras.
    (folder / "model.keras").unlink()
    (folder / "history.json").write_text(json.dumps({"diverged": "d_loss became nan"}))
    with pytest.raises(FileExistsError, match="non-finite loss"):
        RunFolder(folder).plan({**request, "epochs": 5})


def test_a_backup_that_no_longer_fits_the_networks_is_a_clear_error(tmp_path):
    from kgan.runs.training import build_model

    backup = tmp_path / "run" / "backup"
    backup.mkdir(parents=True)
    trained = build_model((28, 28, 1), base_filters=8, seed=0)
    trained.compile()
    trained.save_weights(backup / "weights.weights.h5")
    # The same arguments now build other networks (say, a recipe changed since).
    now = build_model((28, 28, 1), base_filters=16, seed=0)
    now.compile()
    state = {"weights": "weights.weights.h5", "monitor_history": [], "health_events": []}
    with pytest.raises(ValueError, match=r"does not fit the networks.*--restart.*output_dir="):
        RunFolder(tmp_path / "run").restore(now, state, monitor=None)
    assert (backup / "weights.weights.h5").is_file()


def test_a_run_with_a_recipe_resumes_with_the_settings_it_recorded(tmp_path, monkeypatch):
    from kgan import recipes
    from kgan.runs import folder as run_folder

    run = dict(recipe="small_data", num_samples=64, batch_size=32, epochs=1, verbose=0)

    def killed_before_the_model(self, gan):
        raise KeyboardInterrupt("killed")

    # The epoch's backup is written; the run is killed before its model.keras.
    with monkeypatch.context() as patch:
        patch.setattr(run_folder.RunFolder, "write_model", killed_before_the_model)
        with pytest.raises(KeyboardInterrupt):
            train(tmp_path / "run", **run)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    started_with = config["recipe_settings"]
    assert started_with == recipes.recorded(
        recipes.resolve("small_data", data_shape=(28, 28, 1), ema_decay=0.99)
    )
    assert started_with["generator"]["base_filters"] == 32
    # The recipe changes before the run is resumed: the run keeps the networks it started with.
    monkeypatch.setitem(recipes.RECIPES["small_data"]["generator"], "base_filters", 16)
    monkeypatch.setitem(recipes.RECIPES["small_data"]["discriminator"], "base_filters", 16)
    gan, _ = train(tmp_path / "run", **run)
    assert gan.generator.count_params() == (
        recipes.build_from_settings(started_with).generator.count_params()
    )
    assert (tmp_path / "run" / "model.keras").is_file()
    assert json.loads((tmp_path / "run" / "config.json").read_text())["recipe_settings"] == (
        started_with
    )
    # A new run of the changed recipe builds, and records, the narrower networks.
    train(tmp_path / "new", **run)
    config = json.loads((tmp_path / "new" / "config.json").read_text())
    assert config["recipe_settings"]["generator"]["base_filters"] == 16


def _own_model(base_filters=8):
    """A GAN of the user's own making: kgan's networks at another width, a hinge loss."""
    import kgan
    from kgan.models import dcgan_discriminator, dcgan_generator

    gan = kgan.GAN(
        dcgan_generator((28, 28, 1), 16, base_filters=base_filters),
        dcgan_discriminator((28, 28, 1), base_filters=base_filters),
        loss="hinge",
        seed=0,
    )
    gan.compile()
    return gan


def test_a_model_instance_is_trained_and_resumed_in_a_run_folder(tmp_path, monkeypatch):
    from kgan.runs import folder as run_folder

    run = dict(num_samples=64, batch_size=32, epochs=1, verbose=0)

    def killed_before_the_model(self, gan):
        raise KeyboardInterrupt("killed")

    with monkeypatch.context() as patch:
        patch.setattr(run_folder.RunFolder, "write_model", killed_before_the_model)
        with pytest.raises(KeyboardInterrupt):
            train(tmp_path / "run", model=_own_model(), **run)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["model"] == "GAN" and config["latent_dim"] == 16
    assert config["dtype_policy"] == "float32"
    state = json.loads((tmp_path / "run" / "backup" / "state.json").read_text())
    backup = _own_model()
    backup.load_weights(tmp_path / "run" / "backup" / state["weights"])

    # Another width is another run: the unfinished one is not overwritten.
    with pytest.raises(FileExistsError, match="unfinished run of other arguments") as info:
        train(tmp_path / "run", model=_own_model(base_filters=16), **run)
    assert "(model_fingerprint " in str(info.value) and "pass --restart" in str(info.value)
    # The same model built again (its layers numbered anew) resumes the run.
    gan, history = train(tmp_path / "run", model=_own_model(), **run)
    assert history.epoch == [0]
    for value, expected in zip(gan.variables, backup.variables):
        np.testing.assert_array_equal(value.numpy(), expected.numpy())
    loaded, record, _ = load_run(tmp_path / "run")
    assert type(loaded).__name__ == "GAN" and loaded.adversarial_loss == "hinge"
    assert record["epochs"] == 1
    assert config["architecture"] is None and config["base_filters"] is None

    # Called again, the finished run is kept and its weights go into the model given.
    finished = (tmp_path / "run" / "model.keras").stat().st_mtime_ns
    again = _own_model()
    returned, history = train(tmp_path / "run", model=again, **run)
    assert returned is again and history.epoch == [0]
    assert (tmp_path / "run" / "model.keras").stat().st_mtime_ns == finished
    for value, expected in zip(again.variables, loaded.variables):
        np.testing.assert_array_equal(value.numpy(), expected.numpy())


def _functional_model(loss="non_saturating", output_dtype=None):
    """A GAN of unnamed functional networks: Keras numbers their layers anew at each build."""
    import keras

    import kgan

    z = keras.Input((8,))
    image = keras.layers.Reshape((4, 4, 1))(keras.layers.Dense(16, dtype=output_dtype)(z))
    x = keras.Input((4, 4, 1))
    score = keras.layers.Dense(1)(keras.layers.Flatten()(x))
    gan = kgan.GAN(keras.Model(z, image), keras.Model(x, score), loss=loss, seed=0)
    gan.compile()
    return gan


def test_a_model_fingerprint_is_its_configuration_not_its_layer_names():
    from kgan.runs.training import model_fingerprint

    first, second = _functional_model(), _functional_model()
    assert first.generator.layers[1].name != second.generator.layers[1].name
    assert model_fingerprint(first) == model_fingerprint(second)
    assert model_fingerprint(_functional_model(loss="hinge")) != model_fingerprint(first)
    # A dtype policy is configuration, although Keras stores it as a `name`.
    assert model_fingerprint(_functional_model(output_dtype="bfloat16")) != model_fingerprint(first)
    # How a step runs is not.
    second.compile(run_eagerly=True)
    assert model_fingerprint(second) == model_fingerprint(first)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (
            dict(recipe="small_data"),
            r"`recipe` cannot be combined with a model instance.*"
            r"recipe='small_data'",
        ),
        (dict(base_filters=16), r"`base_filters` cannot be combined.*base_filters=16"),
        (dict(ema_decay=None), r"`ema_decay` cannot be combined.*ema_decay=None"),
        (dict(precision="float32"), r"`precision` must stay 'auto'.*precision='float32'"),
        (dict(conditional=True), r"num_classes=None.*conditional=True"),
        (dict(data="cifar10"), r"shape \(28, 28, 1\).*\(32, 32, 3\).*data='cifar10'"),
    ],
)
def test_a_model_instance_refuses_what_it_sets_itself(tmp_path, arguments, message):
    run = dict(num_samples=64, batch_size=32, epochs=1, verbose=0, **arguments)
    if arguments.get("data") == "cifar10" and not os.environ.get("KGAN_DATA_DIR"):
        pytest.skip("needs the CIFAR-10 copy (KGAN_DATA_DIR)")
    with pytest.raises(ValueError, match=message):
        train(tmp_path / "run", model=_own_model(), **run)
    assert not (tmp_path / "run").exists()  # Nothing written.

"""tools/evaluate_stacked_mnist.py end to end in its smoke setting."""

import json
import os
import pathlib
import runpy
import shutil

import pytest

TOOL = pathlib.Path(__file__).resolve().parents[2] / "tools" / "evaluate_stacked_mnist.py"


def _quick_record(out, *options):
    """The results file of a `--quick` run with `options`, written to `out`."""
    if not os.environ.get("KGAN_DATA_DIR"):
        pytest.skip("Stacked MNIST stacks the MNIST digits of $KGAN_DATA_DIR")
    main = runpy.run_path(str(TOOL))["main"]
    assert main(["--quick", *options, "--json", str(out)]) == 0
    return json.loads(out.read_text())


def _keep_built_models(monkeypatch):
    """The models `kgan.recipes.build` builds from now on, in a list."""
    import kgan

    built, build = [], kgan.recipes.build

    def keep(*args, **kwargs):
        built.append(build(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(kgan.recipes, "build", keep)
    return built


def _assert_decayed_to_zero(gan, steps=20):
    """The model trained reached the end of its learning rates' decay with its last step."""
    assert int(gan.g_optimizer.iterations) == steps
    assert float(gan.g_optimizer.learning_rate) == float(gan.d_optimizer.learning_rate) == 0.0


def test_quick_run_writes_per_seed_modes_and_kl_with_a_packing_discriminator(tmp_path, monkeypatch):
    built = _keep_built_models(monkeypatch)
    out = tmp_path / "stacked.json"
    options = ("--packing", "2", "--r1-weight", "0.25", "--lr-decay-from", "0.5")
    record = _quick_record(out, *options)
    assert record["packing"] == 2
    assert record["command"].endswith(" ".join(options) + " --json " + str(out))
    (run,) = record["runs"]
    assert run["generator_steps"] == 20 and run["seconds"] > 0
    assert run["r1_weight"] == 0.125  # Each pack gets the weight a sample has.
    assert run["lr_decay_from"] == 0.5
    (gan,) = built
    assert gan.discriminator.get_layer("pack").packing == 2
    _assert_decayed_to_zero(gan)
    assert 1 <= run["modes_covered"] <= 1000 and run["kl_to_uniform"] >= 0
    assert record["modes_covered"]["min"] == run["modes_covered"]
    assert record["num_samples"] == 500 and record["environment"]["tensorflow"]
    assert [row["model"] for row in record["published"]] == ["DCGAN", "VEEGAN", "PacDCGAN2"]
    # Each channel's digit KL, and the floor: as many real training images, scored alike.
    assert len(run["channel_kl_to_uniform"]) == 3
    floor = record["real_data"]
    assert floor["modes_covered"] > 250 and 0 < floor["kl_to_uniform"] < 1.5
    assert all(0 <= kl < 0.1 for kl in floor["channel_kl_to_uniform"])


def test_each_setting_has_its_results_file():
    results_file = runpy.run_path(str(TOOL))["results_file"]
    assert results_file().endswith(os.path.join("tools", "results", "stacked_mnist.json"))
    assert results_file(r1_weight=0.1).endswith(
        os.path.join("results", "stacked_mnist_r1_0.1.json")
    )
    assert results_file(clusters=100, r1_weight=0.1, steps=15000).endswith(
        "stacked_mnist_clusters100_r1_0.1_steps15000.json"
    )
    assert results_file(lr_decay_from=0.5, steps=30000).endswith(
        os.path.join("results", "stacked_mnist_lr_decay_0.5_steps30000.json")
    )
    assert results_file(clusters=100, steps=30000).endswith(
        os.path.join("tools", "results", "stacked_mnist_clusters100_steps30000.json")
    )
    assert results_file(packing=2).endswith(os.path.join("results", "stacked_mnist_packing2.json"))


def test_quick_self_conditioned_run_with_decaying_learning_rates_records_its_clusters(
    tmp_path, monkeypatch
):
    built = _keep_built_models(monkeypatch)
    record = _quick_record(tmp_path / "stacked.json", "--lr-decay-from", "0.5", "--clusters", "10")
    (run,) = record["runs"]
    assert run["lr_decay_from"] == 0.5 and run["generator_steps"] == 20
    assert 1 <= run["modes_covered"] <= 1000
    # A self-conditioned run records its clusters, clustered once in 20 steps.
    assert record["clusters"] == 10 and run["clusters"] == 10 and run["clusterings"] == 1
    (gan,) = built
    assert gan.num_classes == 10
    _assert_decayed_to_zero(gan)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--clusters", "1"], "--clusters must be at least 2. Received: --clusters=1"),
        (["--clusters", "10", "--packing", "2"], "Received: --clusters=10, --packing=2"),
        (["--seeds", "2", "--seed", "1"], "Received: --seeds=2, --seed=[1]"),
        (["--seed", "-1"], "--seed must be 0 or more. Received: --seed=-1"),
        (["--seeds", "0"], "--seeds must be positive. Received: --seeds=0"),
        (["--steps", "0"], "--steps must be positive. Received: --steps=0"),
        (["--seed", "1", "--seed", "1"], "names a seed twice. Received: --seed=[1, 1]"),
        (
            ["--r1-weight", "-0.1"],
            "--r1-weight must be 0 or more, and finite. Received: --r1-weight=-0.1",
        ),
        (["--r1-weight", "nan"], "and finite. Received: --r1-weight=nan"),
        (["--r1-weight", "inf"], "and finite. Received: --r1-weight=inf"),
        (["--lr-decay-from", "1"], "and below 1. Received: --lr-decay-from=1.0"),
        (["--lr-decay-from", "-0.5"], "Received: --lr-decay-from=-0.5"),
        (["--lr-decay-from", "nan"], "Received: --lr-decay-from=nan"),
    ],
)
def test_bad_options_are_refused_with_the_value(argv, message, capsys):
    main = runpy.run_path(str(TOOL))["main"]
    with pytest.raises(SystemExit):
        main(argv)
    assert message in capsys.readouterr().err


def test_merged_runs_keep_their_command_and_machine_and_other_settings_are_refused(tmp_path):
    tool = runpy.run_path(str(TOOL))
    out = tmp_path / "stacked.json"
    settings = dict.fromkeys(tool["SHARED_SETTINGS"], 1)
    # A file one command wrote stores that command and machine once, for all its runs.
    run = {"seed": 0, "generator_steps": 20}
    out.write_text(
        json.dumps({**settings, "command": "first", "environment": "old", "runs": [run]})
    )
    second = {**run, "seed": 1, "command": "second", "environment": "new"}
    merged = tool["merged_runs"](str(out), settings, [second])
    assert [(r["command"], r["environment"]) for r in merged] == [
        ("first", "old"),
        ("second", "new"),
    ]
    # A seed trained again replaces its earlier run.
    again = {**run, "command": "again", "environment": "new", "kl_to_uniform": 0.1}
    assert tool["merged_runs"](str(out), settings, [again]) == [again]
    # A merged file's runs keep what they stored: its machine is its last writer's.
    out.write_text(
        json.dumps(
            {**settings, "command": "first && second", "environment": "new",
             "runs": [{**run, "command": "first"}, second]}
        )
    )  # fmt: skip
    first, _ = tool["merged_runs"](str(out), settings, [{**second, "command": "third"}])
    assert first == {**run, "command": "first"}  # No machine rather than another's.
    # Without a file, the runs come in seed order.
    unmerged = tool["merged_runs"](str(tmp_path / "none.json"), settings, [second, run])
    assert [r["seed"] for r in unmerged] == [0, 1]
    with pytest.raises(SystemExit, match="packing=1, this run has 2"):
        tool["merged_runs"](str(out), {**settings, "packing": 2}, [second])
    with pytest.raises(SystemExit, match=r"\[20\] generator steps, this run has 30"):
        tool["merged_runs"](str(out), settings, [{**second, "generator_steps": 30}])
    # Runs that do not record their R1 weight have the recipe's, 1.0: another is refused.
    assert len(tool["merged_runs"](str(out), settings, [{**second, "r1_weight": 1.0}])) == 2
    with pytest.raises(SystemExit, match=r"R1 weight \[1.0\], this run has 0.1"):
        tool["merged_runs"](str(out), settings, [{**second, "r1_weight": 0.1}])
    # Runs that do not record a decay of the learning rates had none: a decay is refused.
    assert len(tool["merged_runs"](str(out), settings, [{**second, "lr_decay_from": None}])) == 2
    with pytest.raises(SystemExit, match=r"lr_decay_from \[None\], this run has 0.5"):
        tool["merged_runs"](str(out), settings, [{**second, "lr_decay_from": 0.5}])
    # A file written before packing and clusters were recorded holds runs of neither.
    before = {k: v for k, v in settings.items() if k not in ("packing", "clusters")}
    out.write_text(json.dumps({**before, "command": "first", "runs": [run]}))
    unpacked = {**settings, "packing": 1, "clusters": None}
    assert len(tool["merged_runs"](str(out), unpacked, [second])) == 2
    with pytest.raises(SystemExit, match="clusters=None, this run has 100"):
        tool["merged_runs"](str(out), {**unpacked, "clusters": 100}, [second])


def test_the_lock_makes_the_results_folder(tmp_path):
    """A run's results are written after hours of training: a --json in a folder not made yet
    is made, not refused."""
    tool = runpy.run_path(str(TOOL))
    out = tmp_path / "new" / "stacked.json"
    with tool["_locked"](str(out)):
        assert out.parent.is_dir()


def _train(run, *options, images=256):
    """`kgan train` of the recipe on `images` images, one epoch, into `run`."""
    if not os.environ.get("KGAN_DATA_DIR"):
        pytest.skip("Stacked MNIST stacks the MNIST digits of $KGAN_DATA_DIR")
    from kgan.cli import main

    argv = ["train", "--data", "stacked_mnist", "--recipe", "stacked_mnist", "--epochs", "1"]
    argv += ["--num-samples", str(images), "--precision", "float32", "--output", str(run)]
    assert main([*argv, *options]) == 0


def _edited_copy(run, folder, **config):
    """A copy of the run folder `run` at `folder` whose `config.json` records `config`."""
    shutil.copytree(run, folder)
    recorded = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**recorded, **config}))
    return folder


def test_a_finished_kgan_train_run_is_scored_and_merged_with_the_seeds_the_tool_trained(
    tmp_path,
):
    """A schedule longer than a session trains in a `kgan train` run folder, which resumes;
    `--run` scores it with its own seed, records the command that trained it, and merges it
    with the runs the tool trained itself, one seed at a time, at the same steps."""
    run, out = tmp_path / "run", tmp_path / "stacked.json"
    _train(run, "--seed", "0", images=600)  # 10 steps, the last of 24 images.
    record = _quick_record(out, "--seed", "3", "--steps", "10")  # 600 images, as the run's.
    (tool_command,) = [scored["command"] for scored in record["runs"]]
    assert tool_command.endswith(f"--seed 3 --steps 10 --json {out}")
    main = runpy.run_path(str(TOOL))["main"]
    assert main(["--run", str(run), "--quick", "--json", str(out)]) == 0
    record = json.loads(out.read_text())
    assert [scored["seed"] for scored in record["runs"]] == [0, 3]  # In the order of seeds.
    scored = record["runs"][0]
    trained = (
        "kgan train --data stacked_mnist --recipe stacked_mnist --epochs 1 --seed 0 "
        f"--precision float32 --num-samples 600 --output {run}"
    )
    assert scored["training_command"] == trained
    scoring = f"python tools/evaluate_stacked_mnist.py --run {run} --quick --json {out}"
    assert scored["command"] == f"{trained} && {scoring}"
    assert record["command"] == f"{scored['command']} && {tool_command}"
    kls = [scored["kl_to_uniform"] for scored in record["runs"]]
    assert record["kl_to_uniform"] == {"mean": sum(kls) / 2, "min": min(kls), "max": max(kls)}
    assert (scored["generator_steps"], scored["clusters"], scored["clusterings"]) == (
        10,
        None,
        None,
    )
    assert record["training_images"] == 600 and record["num_samples"] == 500
    assert scored["seconds"] > 0 and 1 <= scored["modes_covered"] <= 1000
    assert len(scored["channel_kl_to_uniform"]) == 3
    # Other settings are another recipe: refused, naming the setting and its value.
    other = _edited_copy(run, tmp_path / "other", batch_size=32)
    with pytest.raises(SystemExit, match=f"has batch_size=32. Received: --run {other}"):
        main(["--run", str(other), "--quick", "--json", str(tmp_path / "other.json")])
    # Another seed's run on other images does not join the file's runs.
    short = _edited_copy(run, tmp_path / "short", seed=4, num_samples=256)
    with pytest.raises(SystemExit, match="training_images=600, this run has 256"):
        main(["--run", str(short), "--quick", "--json", str(out)])
    # Two runs of one seed are one seed twice.
    shutil.copytree(run, tmp_path / "again")
    with pytest.raises(SystemExit, match=f"seed 0; {tmp_path / 'again'} has .*, seed 0"):
        main(["--run", str(run), "--run", str(tmp_path / "again"), "--quick", "--json", str(out)])


def test_run_refuses_what_the_run_sets_a_file_and_an_unfinished_run(tmp_path, capsys):
    tool = runpy.run_path(str(TOOL))
    main = tool["main"]
    with pytest.raises(SystemExit):
        main(["--run", str(tmp_path), "--seed", "1", "--steps", "5"])
    message = "leave out --seed, --steps. Received: --seed=[1], --steps=5 with --run="
    assert message in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--run", str(tmp_path), "--r1-weight", "0.1"])
    assert "leave out --r1-weight. Received: --r1-weight=0.1 with --run=" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--run", str(tmp_path), "--lr-decay-from", "0.5"])
    assert "Received: --lr-decay-from=0.5 with --run=" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--run", str(tmp_path), "--run", str(tmp_path)])
    assert "names a folder twice" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--quick"])  # Would replace the stored results file.
    assert "give its --json" in capsys.readouterr().err
    out = ["--quick", "--json", str(tmp_path / "out.json")]
    (tmp_path / "model.keras").write_text("")
    with pytest.raises(SystemExit, match="takes the folder of a `kgan train` run"):
        main(["--run", str(tmp_path / "model.keras"), *out])
    (tmp_path / "model.keras").unlink()
    (tmp_path / "config.json").write_text(json.dumps({"epochs": 3}))
    with pytest.raises(SystemExit, match="has no model.keras: its run has not finished"):
        main(["--run", str(tmp_path), *out])

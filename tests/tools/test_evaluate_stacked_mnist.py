"""tools/evaluate_stacked_mnist.py end to end in its smoke setting."""

import json
import os
import pathlib
import runpy

import pytest

TOOL = pathlib.Path(__file__).resolve().parents[2] / "tools" / "evaluate_stacked_mnist.py"


def test_quick_run_writes_per_seed_modes_and_kl_with_a_packing_discriminator(tmp_path):
    if not os.environ.get("KGAN_DATA_DIR"):
        pytest.skip("Stacked MNIST stacks the MNIST digits of $KGAN_DATA_DIR")
    main = runpy.run_path(str(TOOL))["main"]
    out = tmp_path / "stacked.json"
    assert main(["--quick", "--packing", "2", "--json", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["packing"] == 2 and record["command"].endswith("--packing 2 --json " + str(out))
    (run,) = record["runs"]
    assert run["generator_steps"] == 20 and run["seconds"] > 0
    assert 1 <= run["modes_covered"] <= 1000 and run["kl_to_uniform"] >= 0
    assert record["modes_covered"]["min"] == run["modes_covered"]
    assert record["num_samples"] == 500 and record["environment"]["tensorflow"]
    assert [row["model"] for row in record["published"]] == ["DCGAN", "VEEGAN", "PacDCGAN2"]


def test_quick_self_conditioned_run_records_its_clusters(tmp_path):
    if not os.environ.get("KGAN_DATA_DIR"):
        pytest.skip("Stacked MNIST stacks the MNIST digits of $KGAN_DATA_DIR")
    main = runpy.run_path(str(TOOL))["main"]
    out = tmp_path / "stacked.json"
    assert main(["--quick", "--clusters", "10", "--json", str(out)]) == 0
    record = json.loads(out.read_text())
    (run,) = record["runs"]
    assert record["clusters"] == 10 and run["clusters"] == 10
    assert run["generator_steps"] == 20 and 1 <= run["modes_covered"] <= 1000


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--clusters", "1"], "--clusters must be at least 2. Received: --clusters=1"),
        (["--clusters", "10", "--packing", "2"], "Received: --clusters=10, --packing=2"),
    ],
)
def test_bad_options_are_refused_with_the_value(argv, message, capsys):
    main = runpy.run_path(str(TOOL))["main"]
    with pytest.raises(SystemExit):
        main(argv)
    assert message in capsys.readouterr().err

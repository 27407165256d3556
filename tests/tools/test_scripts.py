"""Smoke runs of the toy, baseline and benchmark scripts: each runs end to end with `--quick`
into a temporary folder, and the test checks the shape of what it writes (the fixtures, and
what the tools' tests share, are in conftest.py). The references' and the CIFAR-10 screen's
scripts have files of their own.

Each smoke run starts its own TensorFlow process and takes 5 to 35 s, so they are marked slow
and kept out of the default run: run `python3 -m pytest -m slow tests/tools` before a script
writes a stored result. The scripts' helpers that run in the test's process stay in the
default run."""

import json
import os
import re

import numpy as np
import pytest

METRICS = ("fid", "kid", "kid_std", "precision", "recall", "density", "coverage")


@pytest.mark.slow
def test_evaluate_toys_quick_writes_every_run(run_tool, tmp_path):
    """One run (the GAN on the ring, 50 steps) through training, scoring and the Jacobian-
    truncated scoring; WGAN-GP and the grid go through the same `run_one`."""
    out = tmp_path / "toys.json"
    stdout = run_tool(
        "evaluate_toys.py", "--quick", "--steps", 50, "--models", "gan",
        "--datasets", "gaussian_ring", "--json", out, cwd=tmp_path,
    )  # fmt: skip
    record = json.loads(out.read_text())
    assert record["total_seconds"] > 0
    assert record["command"] == (
        f"python tools/evaluate_toys.py --quick --steps 50 --models gan --datasets gaussian_ring "
        f"--json {out}"
    )
    assert record["environment"]["tensorflow"] and record["environment"]["cpu_count"] >= 1
    (run,) = record["runs"]
    assert (run["model"], run["dataset"], run["seed"]) == ("gan", "gaussian_ring", 0)
    assert run["generator_steps"] == 50 and run["num_modes"] == 8
    assert 0 <= run["modes_covered"] <= 8 and 0 <= run["high_quality_percent"] <= 100
    truncated = run["jacobian_truncation"]
    assert truncated["share"] == 0.25 and 0 <= truncated["modes_covered"] <= 8
    assert "| method | ring modes (of 8) |" in stdout and "(published)" in stdout


@pytest.mark.slow
def test_compare_baseline_quick_scores_both_sides(tool_data, run_tool, tmp_path):
    data_dir = tool_data()
    out = tmp_path / "compare.json"
    stdout = run_tool(
        "compare_baseline.py", "--quick", "--json", out, cwd=tmp_path, data_dir=data_dir
    )
    results = json.loads(out.read_text())
    assert results["minutes"] == 0.05
    for side in ("tutorial", "kgan"):
        row = results[side]
        assert row["steps"] >= 1 and row["images_seen"] == row["steps"] * row["batch_size"]
        assert set(METRICS) <= set(row) and set(METRICS) <= set(row["real_data"])
        assert (tmp_path / f"compare_baseline_{side}.png").is_file()
        assert re.search(rf"^\| {side} \| [\d,]+ \| [\d,]+ \| ", stdout, re.M)
    assert not list(tmp_path.glob("compare.json.*"))  # The workers' parts are removed.


@pytest.mark.slow
def test_benchmark_data_quick_prints_both_rates_and_their_ratio(tool_data, run_tool, tmp_path):
    stdout = run_tool("benchmark_data.py", "--quick", cwd=tmp_path, data_dir=tool_data())
    assert "dataset: mnist (28, 28, 1), batch size 32" in stdout
    rates = [
        float(value.replace(",", ""))
        for value in re.findall(r"([\d,]+(?:\.\d+)?)(?: images/s|x \(target)", stdout)
    ]
    assert len(rates) == 3 and rates[2] == pytest.approx(rates[0] / rates[1], rel=0.01)


def test_benchmark_data_cache_times_a_folder_decoded_then_read_from_the_cache(
    load_tool, tmp_path, monkeypatch
):
    from PIL import Image

    from kgan.data import folder

    benchmark_data = load_tool("benchmark_data")

    for i in range(3):
        Image.fromarray(np.full((6, 5), i, np.uint8)).save(tmp_path / f"{i}.png")
    decoded = []
    decode_all = folder._decode_all
    monkeypatch.setattr(folder, "_decode_all", lambda *a: decoded.append(1) or decode_all(*a))
    monkeypatch.setenv("KGAN_CACHE_DIR", str(tmp_path / "kept"))
    first, second = benchmark_data.cache_seconds(str(tmp_path), None)
    assert len(decoded) == 1 and first > 0 and second > 0  # The second load read the cache.
    assert os.environ["KGAN_CACHE_DIR"] == str(tmp_path / "kept")  # Restored after.
    assert not (tmp_path / "kept").exists()  # The timing used a new cache folder of its own.
    with pytest.raises(SystemExit, match="not read from image folders.*--dataset gaussian_ring"):
        benchmark_data.cache_seconds("gaussian_ring", None)


@pytest.mark.slow
def test_benchmark_fit_wait_quick_prints_every_call_and_the_map_rates(run_tool, tmp_path):
    stdout = run_tool("benchmark_fit_wait.py", "--quick", cwd=tmp_path)
    for kind in ("kgan (autotuning thread off)", "autotune.enabled=True (before)"):
        calls = re.findall(
            rf"^{re.escape(kind)}\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+$", stdout, re.M
        )
        assert len(calls) == 2, stdout
        assert re.search(rf"^{re.escape(kind)}\s+median tail\s+[\d.]+$", stdout, re.M)
    assert re.search(r"autotuning thread on \d+ images/s, off \d+ images/s", stdout)


@pytest.mark.slow
def test_benchmark_inference_quick_writes_its_table(run_tool, tmp_path):
    out = tmp_path / "inference.md"
    run_tool("benchmark_inference.py", "--quick", "--markdown-out", out, cwd=tmp_path)
    text = out.read_text()
    assert text.startswith("DCGAN generator 28x28x1, z 100, ")
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert [row.split(" | ")[0] for row in rows[1:]] == [
        "| Keras predict", "| Keras call (eager)", "| SavedModel serving_default",
        "| onnxruntime",
    ]  # fmt: skip
    assert "throughput, batch 8" in rows[0]
    assert rows[1].endswith("| reference |")
    for row in rows[3:]:  # The exports' largest difference from Keras.
        assert float(row.split(" | ")[-1].rstrip(" |")) < 1e-4


@pytest.mark.slow
def test_benchmark_train_quick_prints_its_table(run_tool, tmp_path):
    """One row and the row it is compared with (every row, with XLA compilation and the costs
    after the table, takes minutes even with --quick)."""
    row = "kgan GAN.fit, alternating"
    stdout = run_tool("benchmark_train.py", "--quick", "--only", row, cwd=tmp_path)
    assert stdout.startswith("TensorFlow ")
    assert re.search(r"^hand loop, alternating\s+\d+\.\d\s+\d+\s*$", stdout, re.M), stdout
    pattern = rf"^{row}\s+\d+\.\d\s+\d+\s+\d\.\d{{3}} x hand loop, alternating \(calls"
    assert re.search(pattern, stdout, re.M), stdout


def test_every_flag_tools_readme_shows_is_a_flag_of_its_script():
    from pathlib import Path

    tools = Path(__file__).resolve().parents[2] / "tools"
    rows = re.findall(r"^\| `(\w+\.py)([^`]*)`", (tools / "README.md").read_text(), flags=re.M)
    assert len(rows) >= 12
    unknown = [
        f"{script} {flag}"
        for script, usage in rows
        for flag in re.findall(r"--[a-z][\w-]*", usage)
        if f'"{flag}"' not in (tools / script).read_text()
    ]
    assert not unknown

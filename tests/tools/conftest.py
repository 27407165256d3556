"""What the tools' tests share: a tool loaded as a module, a tool run as a user runs it, and
the local data folder a tool reads.

`run_tool` runs a tool in its own process, as a user does (the tools set dtype policies, seeds
and thread counts for the whole process); the tests that call a tool's functions in this
process use `load_tool`. The tools that train on MNIST or CIFAR-10 need the original files
(`$KGAN_DATA_DIR`, else ../shared/data); their tests are skipped, saying so, without them.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _data_dir(marker="mnist/t10k-images-idx3-ubyte.gz", what="the MNIST IDX files"):
    configured = os.environ.get("KGAN_DATA_DIR")
    for folder in [Path(configured)] if configured else [ROOT.parent / "shared" / "data"]:
        if (folder / marker).exists():
            return folder
    pytest.skip(f"{what} are not available: set KGAN_DATA_DIR (see README)")


def _run(script, *args, cwd, data_dir=None, timeout=600):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1"}
    if data_dir is not None:
        env["KGAN_DATA_DIR"] = str(data_dir)
    result = subprocess.run(
        [sys.executable, str(TOOLS / script), *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result.stdout


@pytest.fixture
def load_tool():
    """`load_tool(name)`: `tools/<name>.py` as a module."""
    return _load


@pytest.fixture
def tool_data():
    """`tool_data(marker, what)`: the data folder holding `marker` (MNIST's test images by
    default); the test is skipped, naming `what`, without it."""
    return _data_dir


@pytest.fixture
def run_tool():
    """`run_tool(script, *args, cwd, data_dir=None)`: runs `tools/<script>` in its own process
    and returns its standard output; fails with the end of its output if it fails."""
    return _run

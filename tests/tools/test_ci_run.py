"""`.ci/run`: the README's test command, and a loud failure when the test data is missing."""

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST_COMMAND = (
    'python3 -m pip install -e ".[test]" && ruff check . && ruff format --check . '
    "&& python3 -m pytest"
)


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert f"```bash\n{TEST_COMMAND}\n```" in readme
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert lines[-1] == TEST_COMMAND


def _run_ci_in(tmp_path, data_folders):
    """Runs a copy of `.ci/run` in `tmp_path/repo`, with `tmp_path/shared/data` holding
    `data_folders` (each with one file)."""
    (tmp_path / "repo" / ".ci").mkdir(parents=True)
    shutil.copy(ROOT / ".ci" / "run", tmp_path / "repo" / ".ci" / "run")
    for name in data_folders:
        (tmp_path / "shared" / "data" / name).mkdir(parents=True)
        (tmp_path / "shared" / "data" / name / "file").write_text("x")
    return subprocess.run(
        ["bash", str(tmp_path / "repo" / ".ci" / "run")],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_ci_fails_loudly_without_its_test_data(tmp_path):
    result = _run_ci_in(tmp_path, [])
    assert result.returncode == 1
    assert "missing=mnist fashion_mnist cifar10" in result.stderr
    # It stops before installing or testing anything.
    assert "pip" not in result.stdout + result.stderr.replace("pip install", "")


def test_ci_names_the_one_missing_dataset(tmp_path):
    result = _run_ci_in(tmp_path, ["mnist", "fashion_mnist"])
    assert result.returncode == 1
    assert "Received: missing=cifar10 " in result.stderr

"""The package metadata in setup.cfg: what it requires, and what it says of itself."""

import configparser
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _setup_cfg():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return config


def _names(requirements):
    return [re.split(r"[<>=!~ ]", line.strip())[0].lower() for line in requirements.split("\n")]


def test_test_only_dependencies_are_in_the_test_extra():
    config = _setup_cfg()
    assert "scipy" not in _names(config["options"]["install_requires"])
    assert "scipy" in _names(config["options.extras_require"]["test"])
    imports = [
        path.relative_to(ROOT)
        for path in (ROOT / "kgan").rglob("*.py")
        if re.search(r"^\s*(import|from) scipy\b", path.read_text(), re.MULTILINE)
    ]
    assert imports == [], f"kgan imports scipy at run time, a test-only dependency: {imports}"


def test_classifiers_name_the_pythons_and_the_licence():
    metadata = _setup_cfg()["metadata"]
    classifiers = metadata["classifiers"].split("\n")
    for version in ("3.10", "3.11", "3.12"):
        assert f"Programming Language :: Python :: {version}" in classifiers
    assert metadata["license"] == "Apache-2.0"
    assert "License :: OSI Approved :: Apache Software License" in classifiers
    assert _setup_cfg()["options"]["python_requires"] == ">=3.10"


def test_the_public_names_are_listed_and_resolve_when_first_used():
    """In the `kgan` command the sub-modules load on first use: `__all__` lists every name the
    package loads, and the README's `kgan.training` resolves on its own."""
    script = (
        "import sys; sys.argv = ['kgan']; import kgan; "
        "names = [n for n in kgan.__all__ if n != '__version__']; "
        "assert sorted(names) == sorted([*kgan._SUBMODULES, *kgan._ATTRIBUTES]), names; "
        "print(kgan.training.train.__name__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0 and done.stdout.split() == ["train"], done.stderr[-2000:]

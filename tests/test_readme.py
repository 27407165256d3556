"""The README is a short guide (its test command is checked in tests/tools/test_ci_run.py)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_the_main_command_trains_and_exports_the_embedded_default():
    main = re.findall(r"```bash\n(.*?)\n```", README, flags=re.S)[0]
    assert "kgan train --output runs/quickstart" in main and "--data" not in main
    assert "kgan export runs/quickstart --saved-model" in main and "--onnx" in main


def test_the_readme_stays_a_guide_with_a_working_table_of_contents():
    assert len(README.splitlines()) <= 350
    anchors = {
        re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        for heading in re.findall(r"^#{2,3} (.+)$", README, flags=re.M)
    }
    links = re.findall(r"\]\(#([\w-]+)\)", README)
    assert links and set(links) <= anchors, set(links) - anchors


def _kgan_names(text):
    """The `kgan.a.b` names the text puts in backticks or in its Python blocks."""
    spans = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    spans += re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    return {name for span in spans for name in re.findall(r"\bkgan(?:\.[A-Za-z_]\w*)+", span)}


# Backticked names that are files, not Python: the marker a finished export writes last.
FILE_NAMES = {"kgan.complete"}


def test_every_kgan_name_the_readme_gives_exists():
    import importlib

    names = _kgan_names(README) - FILE_NAMES
    assert len(names) > 30 and "kgan.training.train" in names
    missing = []
    for name in sorted(names):
        parts = name.split(".")
        try:
            value = importlib.import_module(parts[0])
            for index, part in enumerate(parts[1:], start=1):
                try:
                    value = getattr(value, part)
                except AttributeError:
                    value = importlib.import_module(".".join(parts[: index + 1]))
        except (AttributeError, ImportError):
            missing.append(name)
    assert not missing


def test_every_flag_of_a_command_the_readme_shows_is_accepted():
    from kgan.cli import build_parser

    subcommands = build_parser()._subparsers._group_actions[0].choices
    shown = re.findall(r"`kgan ([a-z-]+) ([^`\n]*)`", README)
    assert {command for command, _ in shown} >= {"train", "export", "evaluate", "sample"}
    unknown = []
    for command, rest in shown:
        if command not in subcommands:
            unknown.append(command)
            continue
        known = set(subcommands[command]._option_string_actions)
        unknown += [
            f"{command} {flag}"
            for flag in re.findall(r"(?<![\w-])--?[a-z][\w-]*", rest)
            if flag not in known
        ]
    assert not unknown

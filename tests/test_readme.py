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

"""savedmodels/classifiers/README.md is what tools/evaluate_classifiers.py writes from its
stored results (tools/results/classifiers.json and the classifiers' training records)."""

import pathlib
import runpy

TOOL = pathlib.Path(__file__).resolve().parents[2] / "tools" / "evaluate_classifiers.py"


def test_classifiers_readme_matches_the_stored_results(capsys):
    main = runpy.run_path(str(TOOL))["main"]
    assert main(["--check"]) == 0, capsys.readouterr().out

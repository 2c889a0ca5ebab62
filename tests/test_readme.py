"""The README opens with the two commands, and CI runs the README's test command verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```(?:bash|sh)\n(.+?)\n```", text, flags=re.S)[:2]


def test_readme_starts_with_app_and_test_commands():
    run_app, run_tests = readme_commands()
    assert "streamlit run app.py" in run_app and "pip install" in run_app
    assert "pytest" in run_tests and 'pip install -e ".[test]"' in run_tests


def test_ci_runs_the_readme_test_command():
    _, run_tests = readme_commands()
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert run_tests.strip() in [line.strip() for line in ci_lines]

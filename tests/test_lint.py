"""The code is lint-clean by ruff (rules in pyproject.toml).

Formatting (``ruff format``) is a habit, not a test: a new ruff release may format differently.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def ruff(*args: str) -> subprocess.CompletedProcess:
    executable = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(executable).exists():
        pytest.skip("ruff is not installed: pip install -e '.[test]'")
    return subprocess.run([executable, *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_check_finds_nothing():
    result = ruff("check", ".")
    assert result.returncode == 0, result.stdout + result.stderr

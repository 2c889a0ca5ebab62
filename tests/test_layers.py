"""Each layer imports only what it may (docs/architecture.md): a test that fails on a violation.

Every ``import`` statement is read from the source (also those inside functions, which run
later), so a lazy import cannot hide a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

MODEL_LIBRARIES = ("sklearn", "scipy")
APP_ONLY = ("streamlit", "dashboard.app")
UPPER = ("dashboard.services", "dashboard.app", "dashboard.cli", "streamlit")

#: (files, forbidden import prefixes, why)
RULES = [
    (
        "pages/*.py",
        ("dashboard.storage", "sqlalchemy", *MODEL_LIBRARIES),
        "pages lay out a view result (dashboard.services.views); they never read the store or fit",
    ),
    (
        "dashboard/services/**/*.py",
        (*APP_ONLY, "dashboard.cli"),
        "the use-case layer is plain Python, shared by the app, the CLI and the tests",
    ),
    (
        "dashboard/storage/**/*.py",
        (
            *UPPER,
            *MODEL_LIBRARIES,
            "dashboard.charts",
            "dashboard.simulator",
            "dashboard.domain.clv",
            "dashboard.domain.segments",
            "dashboard.domain.service_drivers",
        ),
        "storage reads and writes; fitting and orchestration belong to dashboard.services",
    ),
    (
        "dashboard/domain/**/*.py",
        (*UPPER, "dashboard.storage", "dashboard.charts", "sqlalchemy"),
        "the domain is pure rules and estimators over DataFrames",
    ),
    (
        "dashboard/simulator/**/*.py",
        (*UPPER, "dashboard.storage", "dashboard.charts", "sqlalchemy"),
        "the demo simulator is pure; dashboard.services.demo writes what it simulates",
    ),
    (
        "dashboard/charts/**/*.py",
        (*UPPER, "dashboard.storage", "sqlalchemy"),
        "charts turn data into Plotly figures and fetch nothing",
    ),
    (
        "dashboard/[!_]*.py",
        (*UPPER, "dashboard.storage", "sqlalchemy"),
        "the shared leaf modules (scope, formatting, errors) import no layer",
    ),
]
#: Modules outside the rule of their folder, with the reason.
EXCEPTIONS = {
    "dashboard/cli.py",  # the command line is an entry point, like app.py: it may call any layer
    "dashboard/__main__.py",
    "dashboard/cli_transactions.py",  # the import-transactions command: part of the command line
}


def imported_modules(source: str) -> set[str]:
    """Every module an ``import`` or ``from ... import`` names (absolute imports)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def violations(source: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        name
        for name in imported_modules(source)
        if any(name == prefix or name.startswith(prefix + ".") for prefix in forbidden)
    )


def rule_cases():
    for pattern, forbidden, why in RULES:
        files = sorted(p for p in ROOT.glob(pattern) if p.relative_to(ROOT).as_posix())
        assert files, f"no file matches {pattern}: the rule would test nothing"
        for path in files:
            relative = path.relative_to(ROOT).as_posix()
            if relative not in EXCEPTIONS:
                yield pytest.param(path, forbidden, why, id=relative)


@pytest.mark.parametrize(("path", "forbidden", "why"), list(rule_cases()))
def test_layer_imports(path, forbidden, why):
    found = violations(path.read_text(encoding="utf-8"), forbidden)
    assert not found, f"{path.relative_to(ROOT)} imports {found}: {why}"


def test_the_check_sees_lazy_and_from_imports():
    source = (
        "import pandas\n"
        "from dashboard.storage import queries\n"
        "def fit():\n"
        "    from sklearn.cluster import KMeans\n"
        "    import scipy.stats\n"
    )
    assert violations(source, ("dashboard.storage", "sklearn", "scipy")) == [
        "dashboard.storage",
        "dashboard.storage.queries",
        "scipy.stats",
        "sklearn.cluster",
        "sklearn.cluster.KMeans",
    ]
    assert violations("from dashboard.storage_extra import x\n", ("dashboard.storage",)) == []

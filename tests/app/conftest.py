"""Fixtures of the page tests: a store the app reads through DASHBOARD_DB_URL."""

from __future__ import annotations

import pytest

from dashboard.storage.engine import make_engine
from tests.fixtures import load_tiny


@pytest.fixture
def tiny_url(tmp_path, monkeypatch) -> str:
    """The hand-built tiny portfolio in a DuckDB file, set as the app's store."""
    url = f"duckdb:///{tmp_path / 'tiny.duckdb'}"
    engine = make_engine(url)
    load_tiny(engine)
    engine.dispose()  # release DuckDB's file lock before the page opens the file
    monkeypatch.setenv("DASHBOARD_DB_URL", url)
    return url

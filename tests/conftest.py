"""Shared fixtures: stores on DuckDB (always) and PostgreSQL (when DASHBOARD_TEST_PG_URL is set)."""

from __future__ import annotations

import os

import pytest

from dashboard.storage.engine import make_engine
from tests.fixtures import load_tiny, reset_store

PG_URL = os.environ.get("DASHBOARD_TEST_PG_URL")
PG_SKIP_REASON = ("DASHBOARD_TEST_PG_URL is not set: set it to a PostgreSQL URL "
                  "(e.g. postgresql+psycopg://root@127.0.0.1:5432/test) to run these tests")

BACKENDS = ["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]


def engine_for_backend(backend: str, tmp_path):
    if backend == "duckdb":
        return make_engine(f"duckdb:///{tmp_path / 'store.duckdb'}")
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    return make_engine(PG_URL)


@pytest.fixture(params=BACKENDS)
def tiny_engine(request, tmp_path):
    """The hand-built tiny portfolio on each backend."""
    engine = engine_for_backend(request.param, tmp_path)
    load_tiny(engine)
    yield engine
    if request.param == "postgresql":
        reset_store(engine)
    engine.dispose()


@pytest.fixture(autouse=True)
def _clear_streamlit_caches():
    """Streamlit caches live in the process: clear them so tests do not see each other's data."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    yield

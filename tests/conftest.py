"""Shared fixtures: stores on DuckDB (always) and PostgreSQL (when DASHBOARD_TEST_PG_URL is set).

PostgreSQL tests work in a throw-away schema of their own (``search_path``), dropped at the end,
so they never touch tables that other tests, or other people, use in the same database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from dashboard.storage.engine import make_engine
from tests.fixtures import load_tiny

PG_URL = os.environ.get("DASHBOARD_TEST_PG_URL")
PG_SKIP_REASON = (
    "DASHBOARD_TEST_PG_URL is not set: set it to a PostgreSQL URL "
    "(e.g. postgresql+psycopg://root@127.0.0.1:5432/test) to run these tests"
)

BACKENDS = ["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextmanager
def throwaway_pg_schema(prefix: str = "test") -> Iterator[str]:
    """URL of a new, empty PostgreSQL schema (skips without DASHBOARD_TEST_PG_URL)."""
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path) -> Iterator[str]:
    """URL of an empty store: a DuckDB file, or a throw-away PostgreSQL schema."""
    if request.param == "duckdb":
        yield f"duckdb:///{tmp_path / 'store.duckdb'}"
        return
    with throwaway_pg_schema(request.node.originalname) as url:
        yield url


@pytest.fixture
def tiny_engine(store_url):
    """The hand-built tiny portfolio (tests/fixtures.py) on each backend."""
    engine = make_engine(store_url)
    load_tiny(engine)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def _clear_streamlit_caches():
    """Streamlit caches live in the process: clear them so tests do not see each other's data."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    yield

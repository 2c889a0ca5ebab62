"""refresh_statistics: ANALYZE after bulk writes on PostgreSQL, nothing elsewhere, never fails."""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from sqlalchemy import Column, Integer, MetaData, Table, text

from dashboard.storage.engine import bulk_insert, create_schema, make_engine, refresh_statistics
from dashboard.storage.schema import customers
from tests.conftest import throwaway_pg_schema


def analysed_at(engine, name: str):
    """pg_stat_user_tables.last_analyze of ``name`` in the connection's current schema."""
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT last_analyze FROM pg_stat_user_tables "
                "WHERE schemaname = current_schema() AND relname = :name"
            ),
            {"name": name},
        ).scalar_one()


@pytest.fixture
def pg_engine():
    with throwaway_pg_schema("stats") as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def test_other_backends_are_left_alone(tmp_path):
    engine = make_engine(f"duckdb:///{tmp_path / 'store.duckdb'}")
    create_schema(engine)
    assert refresh_statistics(engine, [customers, "orders"]) == []
    engine.dispose()


@pytest.mark.postgres
def test_postgresql_tables_are_analysed_with_quoted_names(pg_engine):
    odd = Table("Odd Name", MetaData(), Column("id", Integer))
    odd.create(pg_engine)
    bulk_insert(pg_engine, odd, pd.DataFrame({"id": range(500)}))
    assert analysed_at(pg_engine, "Odd Name") is None
    with pg_engine.connect() as conn:  # a Connection works too (its engine runs ANALYZE)
        assert refresh_statistics(conn, [odd, "Odd Name"]) == ["Odd Name"]
    assert analysed_at(pg_engine, "Odd Name") is not None
    with pg_engine.connect() as conn:
        reltuples = conn.execute(
            text("SELECT reltuples FROM pg_class WHERE oid = CAST(:t AS regclass)"),
            {"t": '"Odd Name"'},
        ).scalar_one()
    assert reltuples == 500


@pytest.mark.postgres
def test_a_failed_analyze_is_a_warning_and_the_rest_go_on(pg_engine, caplog):
    create_schema(pg_engine)
    with caplog.at_level(logging.WARNING, logger="dashboard.storage.engine"):
        done = refresh_statistics(pg_engine, ["no_such_table", customers])
    assert done == ["customers"]
    assert analysed_at(pg_engine, "customers") is not None
    (record,) = [r for r in caplog.records if "no_such_table" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert "does not exist" in record.getMessage()

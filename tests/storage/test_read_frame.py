"""read_frame's columnar paths (DuckDB's result, PostgreSQL's COPY parsed by Arrow) give the
values SQLAlchemy's rows give: types, NULL against an empty string, no rows, bound parameters."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy import Date, Float, Integer, String, Text, cast, literal, null, select, union_all
from sqlalchemy.dialects.postgresql import INTERVAL

from dashboard.storage import sql
from dashboard.storage.engine import make_engine
from dashboard.storage.schema import customers


@pytest.fixture
def engine(store_url):
    engine = make_engine(store_url)
    yield engine
    engine.dispose()


def _rows(engine, statement) -> pd.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(statement)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _typed_literals():
    first = select(
        literal(1, Integer).label("number"),
        literal('a, "quoted"\nline', String).label("text"),
        literal("", String).label("empty_text"),
        literal(date(2024, 2, 29), Date).label("day"),
        literal(1.5, Float).label("amount"),
        literal(True).label("flag"),
    )
    second = select(
        literal(2, Integer),
        cast(null(), String),
        cast(null(), String),
        cast(null(), Date),
        cast(null(), Float),
        literal(False),
    )
    return union_all(first, second).subquery()


def test_values_types_and_nulls(engine):
    both = _typed_literals()
    frame = sql.read_frame(engine, select(both).order_by(both.c.number))
    assert list(frame.columns) == ["number", "text", "empty_text", "day", "amount", "flag"]
    assert frame["number"].tolist() == [1, 2]
    assert frame.loc[0, "text"] == 'a, "quoted"\nline'
    assert frame.loc[0, "empty_text"] == "" and pd.isna(frame.loc[1, "empty_text"])
    assert pd.Timestamp(frame.loc[0, "day"]) == pd.Timestamp("2024-02-29")
    assert pd.isna(frame.loc[1, "day"])
    assert frame.loc[0, "amount"] == 1.5 and pd.isna(frame.loc[1, "amount"])
    assert frame["flag"].tolist() == [True, False]


def test_bound_parameters_and_no_rows(engine):
    both = _typed_literals()
    names = ["x'); DROP TABLE x; --", 'a, "quoted"\nline']
    frame = sql.read_frame(engine, select(both.c.number).where(both.c.text.in_(names)))
    assert frame["number"].tolist() == [1]
    empty = sql.read_frame(engine, select(both.c.number, both.c.day).where(both.c.number > 5))
    assert empty.empty and list(empty.columns) == ["number", "day"]


def test_postgresql_reads_through_copy_and_falls_back_for_other_types(store_url, monkeypatch):
    if not store_url.startswith("postgresql"):
        pytest.skip("the COPY path is PostgreSQL's")
    engine = make_engine(store_url)
    copied = []
    original = sql._postgres_frame

    def spy(engine, statement):
        frame = original(engine, statement)
        copied.append(frame is not None)
        return frame

    monkeypatch.setattr(sql, "_postgres_frame", spy)
    statement = select(literal(3, Integer).label("n"), cast(literal("x"), Text).label("t"))
    pd.testing.assert_frame_equal(
        sql.read_frame(engine, statement), _rows(engine, statement), check_dtype=False
    )
    interval = select(cast(literal("1 day"), INTERVAL).label("span"))
    assert (
        sql.read_frame(engine, interval)["span"].tolist()
        == _rows(engine, interval)["span"].tolist()
    )
    assert copied == [True, False]  # the interval has no Arrow type here: rows
    assert customers.name  # the schema module imports cleanly beside the dialect
    engine.dispose()

"""build_demo writes the simulated portfolio into DuckDB and PostgreSQL, and never overwrites
data unless asked.

The PostgreSQL test runs when ``DASHBOARD_TEST_PG_URL`` is set. It works in a schema of its
own (``search_path``), dropped at the end, so it never touches tables other tests use.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy import insert, select

from dashboard import simulator as dp
from dashboard.services.demo import DemoError, build_demo
from dashboard.simulator import parameters
from dashboard.storage.engine import (
    contract_row_counts,
    existing_tables,
    make_engine,
    read_data_version,
)
from dashboard.storage.schema import CONTRACT_TABLES, LOAD_ORDER, dataset_info
from tests.conftest import throwaway_pg_schema


@pytest.fixture
def duck(tmp_path):
    engine = make_engine(f"duckdb:///{tmp_path / 'demo.duckdb'}")
    yield engine
    engine.dispose()


@pytest.fixture
def pg():
    with throwaway_pg_schema("demo_test") as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def _read(engine, name: str) -> pd.DataFrame:
    table = CONTRACT_TABLES[name]
    with engine.connect() as conn:
        frame = pd.read_sql(select(table), conn)

    def numeric(values: pd.Series) -> pd.Series:  # text ids in the simulator's order
        texts = values.dtype == object or pd.api.types.is_string_dtype(values)
        digits = texts and values.astype(str).str.fullmatch(r"\d+").all()
        return pd.to_numeric(values) if digits else values

    names = [c.name for c in table.primary_key.columns]
    return frame.sort_values(names, key=numeric, kind="stable").reset_index(drop=True)


def _assert_written(engine, n_customers: int, seed: int, counts: dict[str, int]) -> None:
    expected = dp.generate_demo(n_customers, seed)
    assert list(counts) == LOAD_ORDER
    assert counts == {name: len(expected[name]) for name in LOAD_ORDER}
    assert contract_row_counts(engine) == counts
    assert read_data_version(engine)
    customers = _read(engine, "customers")
    pd.testing.assert_series_equal(
        customers["acquisition_cost"], expected["customers"]["acquisition_cost"]
    )
    assert customers["name"].tolist() == expected["customers"]["name"].tolist()
    assert (
        pd.to_datetime(customers["acquired_at"]).dt.date.tolist()
        == expected["customers"]["acquired_at"].dt.date.tolist()
    )
    orders = _read(engine, "orders")
    assert orders["revenue"].sum() == pytest.approx(expected["orders"]["revenue"].sum())
    surveys = _read(engine, "surveys")
    assert surveys["csat"].isna().sum() == expected["surveys"]["csat"].isna().sum()
    assert surveys["contact_id"].notna().sum() == expected["surveys"]["contact_id"].notna().sum()
    contacts = _read(engine, "service_contacts")
    assert contacts["first_contact_resolved"].sum() == (
        expected["service_contacts"]["first_contact_resolved"].sum()
    )
    deals = _read(engine, "opportunities")
    assert deals["closed_at"].isna().sum() == deals["outcome"].eq("open").sum() > 0
    assert deals["loss_reason"].notna().sum() == deals["outcome"].eq("lost").sum()


def test_builds_into_duckdb_in_chunks_with_progress(duck, monkeypatch):
    monkeypatch.setattr(parameters, "CHUNK_SIZE", 600)  # 1,500 customers: chunks of 600, 600, 300
    calls: list[tuple[float, str]] = []
    counts = build_demo(duck, 1_500, seed=5, progress=lambda f, m: calls.append((f, m)))
    _assert_written(duck, 1_500, 5, counts)
    assert [round(f, 2) for f, _ in calls] == [0.4, 0.8, 1.0]
    assert "1,500 of 1,500 customers" in calls[-1][1]
    customer_ids = _read(duck, "customers")["customer_id"]
    assert customer_ids.tolist() == [str(i) for i in range(1, 1_501)]  # ids are text


def test_refuses_to_overwrite_without_replace_then_replaces(duck):
    build_demo(duck, 1_000, seed=1)
    before = contract_row_counts(duck)
    with pytest.raises(DemoError, match="replace=True") as refused:
        build_demo(duck, 2_000, seed=2)
    assert "customers (1,000 rows)" in str(refused.value)
    assert contract_row_counts(duck) == before

    with duck.begin() as conn:  # an app table row that a rebuild must clear
        conn.execute(
            insert(dataset_info).values(
                key="segments", value="stale", updated_at=pd.Timestamp.now()
            )
        )
    counts = build_demo(duck, 2_000, seed=2, replace=True)
    _assert_written(duck, 2_000, 2, counts)
    with duck.connect() as conn:
        keys = conn.execute(select(dataset_info.c.key)).scalars().all()
    assert keys == ["version"]


def test_refuses_when_any_contract_table_has_rows(duck):
    build_demo(duck, 1_000, seed=1)
    with duck.begin() as conn:
        for name in LOAD_ORDER:
            if name != "opportunities":
                conn.execute(CONTRACT_TABLES[name].delete())
    with pytest.raises(DemoError, match="opportunities"):
        build_demo(duck, 1_000)


@pytest.mark.parametrize("bad", [999, 1_000_001, 10.5, "1000"])
def test_rejects_sizes_outside_the_range_before_touching_the_store(duck, bad):
    with pytest.raises(DemoError, match="n_customers"):
        build_demo(duck, bad)
    assert not existing_tables(duck)


def test_end_date_is_honoured(duck):
    build_demo(duck, 1_000, seed=3, end_date=date(2025, 6, 30))
    orders = _read(duck, "orders")
    assert pd.to_datetime(orders["ordered_at"]).max() <= pd.Timestamp("2025-06-30")
    assert pd.to_datetime(orders["ordered_at"]).min() >= pd.Timestamp("2022-07-01")


@pytest.mark.postgres
def test_builds_into_postgresql(pg, monkeypatch):
    monkeypatch.setattr(parameters, "CHUNK_SIZE", 600)
    counts = build_demo(pg, 1_200, seed=9)
    _assert_written(pg, 1_200, 9, counts)
    with pytest.raises(DemoError, match="already holds data"):
        build_demo(pg, 1_000, seed=9)
    counts = build_demo(pg, 1_000, seed=10, replace=True)
    _assert_written(pg, 1_000, 10, counts)


# --- The complete demo and its completeness marker (docs/store.md, "First run") ---


def test_complete_demo_writes_the_marker_only_after_fit_and_segments(duck):
    from dashboard.services.demo import (
        COMPLETE_MARKER,
        build_complete_demo,
        complete_first_run,
        first_run_step,
    )
    from dashboard.storage import clv_store, segment_store
    from dashboard.storage.markers import read_marker

    assert first_run_step(duck) == "build"  # no tables at all
    calls: list[float] = []
    build_complete_demo(duck, 1_000, seed=4, progress=lambda f, m: calls.append(f))
    assert clv_store.latest_run(duck) is not None
    assert segment_store.latest_run(duck) is not None
    assert read_marker(duck, COMPLETE_MARKER) is not None
    assert calls == sorted(calls) and calls[-1] == 1.0
    assert first_run_step(duck) is None
    assert complete_first_run(duck, 1_000) is None  # complete: nothing is done again


def test_an_interrupted_first_run_is_finished_not_rebuilt(duck):
    from dashboard.services.demo import (
        COMPLETE_MARKER,
        complete_first_run,
        first_run_step,
    )
    from dashboard.storage import clv_store, segment_store
    from dashboard.storage.markers import read_marker

    counts = build_demo(duck, 1_000, seed=6)  # the tables committed, then the visitor left
    assert first_run_step(duck) == "finish"
    version = read_data_version(duck)
    assert complete_first_run(duck, 5_000) == "finish"
    assert contract_row_counts(duck) == counts  # the same demo, completed, not rebuilt
    assert clv_store.latest_run(duck) is not None
    assert segment_store.latest_run(duck) is not None
    assert read_marker(duck, COMPLETE_MARKER) is not None
    assert read_data_version(duck) != version  # pages see the new fit and segments


def test_finishing_keeps_a_stored_fit_and_adds_the_segments(duck):
    from dashboard.services import lifetime_value
    from dashboard.services.demo import finish_demo
    from dashboard.storage import clv_store, segment_store

    build_demo(duck, 1_000, seed=6)
    fit = lifetime_value.fit_if_possible(duck)  # crashed after the fit, before the segments
    assert fit is not None
    assert finish_demo(duck) == {"fit": False, "segments": True}
    assert clv_store.latest_run(duck).run_id == fit.run_id
    assert segment_store.latest_run(duck) is not None


def test_empty_tables_are_built(duck):
    from dashboard.services.demo import first_run_step
    from dashboard.storage.engine import create_schema

    create_schema(duck)  # the schema exists, the build's transaction never committed
    assert first_run_step(duck) == "build"


def test_demo_without_models_writes_no_marker(duck):
    from dashboard.services.demo import COMPLETE_MARKER, build_complete_demo
    from dashboard.storage import clv_store
    from dashboard.storage.markers import read_marker

    calls: list[float] = []
    counts = build_complete_demo(
        duck, 1_000, seed=4, models=False, progress=lambda f, m: calls.append(f)
    )
    assert counts["customers"] == 1_000 and calls[-1] == 1.0
    assert clv_store.latest_run(duck) is None
    assert read_marker(duck, COMPLETE_MARKER) is None


def test_complete_demo_without_replace_refuses_a_store_with_data(duck):
    from dashboard.services.demo import build_complete_demo

    build_demo(duck, 1_000, seed=1)
    with pytest.raises(DemoError, match="already holds data"):
        build_complete_demo(duck, 1_000, replace=False)


def test_a_demo_store_with_integer_customer_ids_is_built_again(duck):
    # A default store built before identifiers were text: integer customer ids, and its marker.
    from sqlalchemy import text

    from dashboard.services.demo import COMPLETE_MARKER, complete_first_run, first_run_step
    from dashboard.storage.check import integer_customer_ids
    from dashboard.storage.markers import read_marker, write_marker

    build_demo(duck, 1_000, seed=3)
    write_marker(duck, COMPLETE_MARKER, "2026-01-01")
    assert first_run_step(duck) is None and not integer_customer_ids(duck)
    with duck.begin() as conn:
        conn.execute(text("CREATE TABLE old_customers AS SELECT * FROM customers"))
        conn.execute(text("DROP TABLE customers"))
        conn.execute(text("ALTER TABLE old_customers RENAME TO customers"))
        conn.execute(text("ALTER TABLE customers ALTER customer_id TYPE INTEGER"))
    assert integer_customer_ids(duck)
    assert first_run_step(duck) == "build"
    assert complete_first_run(duck, 1_000) == "build"
    assert not integer_customer_ids(duck) and read_marker(duck, COMPLETE_MARKER) is not None
    assert first_run_step(duck) is None

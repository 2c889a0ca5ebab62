"""The app's own tables in a store apart from the contract tables (DASHBOARD_APP_DB_URL).

The contract store is only read: the fit, the segmentation and every page's view run with the
app tables in a second DuckDB file, and give the same figures as the single store.
"""

from __future__ import annotations

import shutil
from datetime import date

import pandas as pd
import pytest
from sqlalchemy import func, select

from dashboard.errors import StoreError
from dashboard.scope import Scope
from dashboard.services import lifetime_value, segmentation
from dashboard.services.demo import build_demo
from dashboard.services.views import (
    audit,
    customer_value,
    loyalty,
    overview,
    segments,
    service,
    value_curves,
)
from dashboard.storage import (
    audit_facts,
    audit_queries,
    clv_store,
    customer_queries,
    queries,
    segment_store,
    value_curve_queries,
)
from dashboard.storage.engine import existing_tables, has_tables, make_engine
from dashboard.storage.schema import clv_runs, segment_runs
from dashboard.storage.stores import app_engine, is_split, resolve_app_url
from tests.conftest import BACKENDS, throwaway_pg_schema

PERIOD = Scope(start=date(2025, 12, 1), end=date(2026, 11, 30))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A 1,000-customer demo contract (no models) and the same store fitted and segmented."""
    folder = tmp_path_factory.mktemp("split")
    contract = folder / "contract.duckdb"
    engine = make_engine(f"duckdb:///{contract}")
    build_demo(engine, n_customers=1000, seed=5)
    engine.dispose()
    single = folder / "single.duckdb"
    shutil.copy(contract, single)
    engine = make_engine(f"duckdb:///{single}")
    lifetime_value.fit_and_save(engine)
    segmentation.run_and_save(engine)
    return folder, contract, engine


def _counts(engine):
    with engine.connect() as conn:
        return [conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (clv_runs, segment_runs)]  # fmt: skip


def test_default_is_one_store_and_a_warehouse_gets_a_file(monkeypatch):
    monkeypatch.delenv("DASHBOARD_APP_DB_URL", raising=False)
    assert resolve_app_url("duckdb:///x.duckdb") is None
    assert resolve_app_url("postgresql+psycopg://u@h/db") is None
    assert resolve_app_url("hive://127.0.0.1:10000/default").endswith(".duckdb")
    assert resolve_app_url("duckdb:///x.duckdb", "duckdb:///x.duckdb") is None
    monkeypatch.setenv("DASHBOARD_APP_DB_URL", "duckdb:///app.duckdb")
    assert resolve_app_url("postgresql+psycopg://u@h/db") == "duckdb:///app.duckdb"


def _check_split(split, single, contract_counts_before):
    plain = make_engine(split.url.render_as_string(hide_password=False))  # the contract alone
    assert is_split(split)
    lifetime_value.fit_and_save(split)
    segmentation.run_and_save(split)
    # Nothing of the app's reached the contract store.
    assert _counts(plain) == contract_counts_before
    assert _counts(app_engine(split)) == [1, 1]
    run, ref_run = clv_store.latest_run(split), clv_store.latest_run(single)
    assert run.params["bgnbd"] == pytest.approx(ref_run.params["bgnbd"])
    seg_run = segment_store.latest_run(split)
    scope = PERIOD
    pd.testing.assert_frame_equal(
        clv_store.scored_customers(split, scope, run.run_id),
        clv_store.scored_customers(single, scope, ref_run.run_id),
    )
    # A segment filter (contract facts scoped by app rows) and a region filter together.
    filtered = Scope(start=scope.start, end=scope.end, segments=(1, 2), segment_run_id=1,
                     allowed_regions=("North", "South"))  # fmt: skip
    for s in (scope, filtered):
        pd.testing.assert_frame_equal(
            queries.period_totals(split, s), queries.period_totals(single, s)
        )
        pd.testing.assert_frame_equal(
            customer_queries.customer_summary(split, s),
            customer_queries.customer_summary(single, s),
        )
        pd.testing.assert_frame_equal(
            segment_store.segment_summary(split, s, seg_run.run_id),
            segment_store.segment_summary(single, s, 1),
        )
        for grain in ("quarter", "month"):  # the audit's stored facts, in the app store
            for query in (audit_queries.cohort_activity, audit_queries.second_purchase):
                pd.testing.assert_frame_equal(query(split, s, grain), query(single, s, grain))
        pd.testing.assert_frame_equal(
            audit_queries.customer_flows(split, s), audit_queries.customer_flows(single, s)
        )
        for grouping in ("segment", "region"):  # stored latest ratings, in the app store
            pd.testing.assert_frame_equal(
                value_curve_queries.value_curve_ratings(split, s, grouping),
                value_curve_queries.value_curve_ratings(single, s, grouping, stored=False),
                check_dtype=False,
            )
    assert has_tables(app_engine(split), audit_facts.customer_month_sets)
    assert not has_tables(plain, audit_facts.customer_month_sets)
    # The stored latest ratings went to the app store, never to the contract store.
    assert "latest_ratings" in existing_tables(app_engine(split))
    assert "latest_ratings" not in existing_tables(plain)
    assert (
        0
        < len(customer_queries.customer_summary(split, filtered))
        < len(customer_queries.customer_summary(split, scope))
    )
    # Every page's view runs on the split store.
    assert overview.view(split, scope).__class__.__name__ == "OverviewView"
    customer_value.view(split, scope)
    loyalty.view(split, scope)
    segments.view(split, filtered)
    service.view(split, scope, date(2023, 12, 1), scope.end)
    value_curves.view(split, scope, "segment")
    audit.one_period(split, filtered)
    audit.period_to_period(split, filtered)
    audit.cohorts(split, filtered)
    assert _counts(plain) == contract_counts_before


def test_split_duckdb_contract_and_duckdb_app(reference, tmp_path):
    folder, contract, single = reference
    before = _counts(make_engine(f"duckdb:///{contract}"))
    split = make_engine(f"duckdb:///{contract}", app_url=f"duckdb:///{tmp_path / 'app.duckdb'}")
    _check_split(split, single, before)


@pytest.mark.postgres
def test_split_postgresql_contract_and_duckdb_app(reference, tmp_path):
    folder, contract, single = reference
    with throwaway_pg_schema("split") as url:
        pg = make_engine(url)
        build_demo(pg, n_customers=1000, seed=5)
        before = _counts(pg)
        pg.dispose()
        split = make_engine(url, app_url=f"duckdb:///{tmp_path / 'app.duckdb'}")
        _check_split(split, single, before)
        split.dispose()


del BACKENDS


def test_a_write_of_an_app_table_never_reaches_the_contract_store(reference, tmp_path):
    folder, contract, single = reference
    split = make_engine(f"duckdb:///{contract}", app_url=f"duckdb:///{tmp_path / 'app.duckdb'}")
    with pytest.raises(StoreError, match="read-only contract store"):
        with split.begin() as conn:
            conn.execute(clv_runs.delete())


@pytest.mark.parametrize("page", ["overview.py", "customer_value.py", "segments.py"])
def test_pages_on_a_split_store(reference, tmp_path_factory, monkeypatch, page):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    folder, contract, single = reference
    app_url = f"duckdb:///{folder / 'pages-app.duckdb'}"
    split = make_engine(f"duckdb:///{contract}", app_url=app_url)
    if clv_store.latest_run(split) is None:
        lifetime_value.fit_and_save(split)
        segmentation.run_and_save(split)
    split.dispose()
    app_engine(split).dispose()
    monkeypatch.setenv("DASHBOARD_DB_URL", f"duckdb:///{contract}")
    monkeypatch.setenv("DASHBOARD_APP_DB_URL", app_url)
    root = Path(__file__).resolve().parents[2]
    at = AppTest.from_file(str(root / "pages" / page), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    segment_filter = {m.label: m for m in at.multiselect}["Segment"]
    assert len(segment_filter.options) >= 2  # the saved segments, read from the app store

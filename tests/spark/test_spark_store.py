"""The dashboard on Spark SQL (hive://, PyHive): check, the demo load and every page.

The contract tables are Spark tables over Parquet; the app's own tables are in a DuckDB file
(DASHBOARD_APP_DB_URL). Marked ``spark``: one Thrift server for the whole run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from dashboard.cli import main
from dashboard.storage.engine import make_engine
from dashboard.storage.schema import customers, orders
from dashboard.storage.stores import is_split

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(p.name for p in (ROOT / "pages").glob("*.py"))


def test_demo_is_in_spark_and_the_app_tables_apart(spark_demo):
    url, env = spark_demo
    engine = make_engine(url)
    assert is_split(engine)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(customers)).scalar_one() == 2000
        assert conn.execute(select(func.count()).select_from(orders)).scalar_one() > 2000


def test_check_passes_on_spark(spark_demo, capsys):
    url, env = spark_demo
    assert main(["check", "--db", url]) == 0
    out = capsys.readouterr().out
    assert "meets the data contract (0 error(s), 0 warning(s))" in out


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_spark(spark_demo, monkeypatch, page):
    url, env = spark_demo
    monkeypatch.setenv("DASHBOARD_DB_URL", url)
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=240).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.title


def test_fit_statistics_are_computed_in_spark(spark_demo):
    # One row per customer leaves Spark; it equals the summary of the raw orders.
    from datetime import timedelta

    import pandas as pd

    from dashboard.domain import clv
    from dashboard.services import lifetime_value
    from dashboard.storage import clv_store
    from dashboard.storage.sql import read_frame

    url, env = spark_demo
    engine = make_engine(url)
    end = clv_store.last_order_date(engine)
    check_end = end - timedelta(weeks=26)
    stats = clv_store.purchase_statistics(engine, end, check_end)
    assert len(stats) == 2000
    raw = read_frame(
        engine,
        select(orders.c.customer_id, orders.c.ordered_at, orders.c.revenue).where(
            orders.c.ordered_at <= end
        ),
    )
    expected = clv.rfm_summary(raw, "customer_id", "ordered_at", "revenue", end)
    summary = clv.rfm_from_statistics(stats, end)
    pd.testing.assert_frame_equal(summary, expected, check_dtype=False, check_index_type=False)
    split = lifetime_value._calibration_holdout_split(stats, check_end, end)
    pd.testing.assert_frame_equal(
        split,
        clv.calibration_holdout_split(raw, "customer_id", "ordered_at", check_end, end),
        check_dtype=False,
        check_index_type=False,
    )

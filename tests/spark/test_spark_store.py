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

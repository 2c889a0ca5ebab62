"""Every bulk write leaves PostgreSQL's planner statistics up to date (docs/performance.md).

Without ANALYZE after a load (autovacuum off or not run yet) the planner guesses a few rows per
table and the Segments page took 40 s instead of 1.3 s at 100k customers.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from dashboard.services import lifetime_value, segmentation
from dashboard.services.demo import build_demo
from dashboard.storage.engine import make_engine
from dashboard.storage.importer import import_csv
from dashboard.storage.schema import LOAD_ORDER
from tests.conftest import throwaway_pg_schema

pytestmark = pytest.mark.postgres

IMPORT_DATA = Path(__file__).resolve().parents[1] / "data" / "import"


def statistics(engine) -> dict[str, tuple[object, float]]:
    """Table -> (last_analyze, pg_class.reltuples) in the connection's current schema."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT s.relname, s.last_analyze, c.reltuples FROM pg_stat_user_tables s "
                "JOIN pg_class c ON c.oid = s.relid WHERE s.schemaname = current_schema()"
            )
        ).all()
    return {name: (when, tuples) for name, when, tuples in rows}


@pytest.fixture
def pg_engine():
    with throwaway_pg_schema("stats") as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def test_demo_build_fit_and_segments_analyse_what_they_wrote(pg_engine):
    build_demo(pg_engine, n_customers=1_000, seed=3)
    stats = statistics(pg_engine)
    for name in LOAD_ORDER:
        when, _ = stats[name]
        assert when is not None, f"{name} was not analysed after the demo build"
    assert stats["customers"][1] == 1_000
    assert stats["orders"][1] > 1_000

    assert lifetime_value.fit_if_possible(pg_engine) is not None
    segmentation.run_and_save(pg_engine, n_segments=3)
    stats = statistics(pg_engine)
    for name in ("clv_runs", "customer_clv", "segment_runs", "segment_assignments"):
        when, tuples = stats[name]
        assert when is not None and tuples > 0, f"{name} was not analysed after its save"


def test_import_analyses_the_table_it_wrote(pg_engine):
    result = import_csv(pg_engine, "customers", IMPORT_DATA / "customers_good.csv")
    when, tuples = statistics(pg_engine)["customers"]
    assert when is not None and tuples == result.inserted > 0

"""Latest ratings stored per data version (value_curve_queries.store_latest_ratings, on
stored_facts): the same value curves as the aggregation over every rating, one fill per
period end for every filter, pruned, analysed on PostgreSQL, and a fallback when nothing can
be stored. On DuckDB and PostgreSQL (``tiny_engine``); the split store is covered by
tests/storage/test_split_store.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from dashboard.scope import Scope
from dashboard.storage import stored_facts
from dashboard.storage import value_curve_queries as q
from dashboard.storage.engine import bulk_insert, bump_data_version
from dashboard.storage.schema import value_ratings
from tests.fixtures import PERIOD

MARKER = q.LATEST_RATINGS.marker
EARLY = Scope(PERIOD[0], date(2024, 6, 10))
SCOPES = [
    Scope(*PERIOD),
    replace(Scope(*PERIOD), regions=("South",)),
    replace(Scope(*PERIOD), regions=("North",), channels=("search",)),
    replace(Scope(*PERIOD), allowed_regions=("North",)),
    EARLY,
    replace(Scope(*PERIOD), regions=("Atlantis",)),
]


@pytest.fixture
def rated_again(tiny_engine):
    """Alice rates price a second time, on 20 June: 5 (importance) and 3 (performance)."""
    again = pd.DataFrame(
        [(1, date(2024, 6, 20), "price", 5, 3)],
        columns=["customer_id", "rated_at", "attribute", "importance", "performance"],
    )
    bulk_insert(tiny_engine, value_ratings, again)
    bump_data_version(tiny_engine)
    return tiny_engine


def _markers(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(select(MARKER.c.data_version, MARKER.c.as_of)).all()


def _rows(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_the_latest_rating_of_each_attribute_by_hand(rated_again):
    rows = q.value_curve_ratings(rated_again, Scope(*PERIOD), "region").set_index(
        ["group", "attribute"]
    )
    # Alice's latest price rating is the one of 20 June; her quality rating is from 1 May.
    assert rows.loc[("North", "price"), ["importance", "performance"]].tolist() == [5, 3]
    assert rows.loc[("North", "quality"), ["importance", "performance"]].tolist() == [9, 9]
    # Alice's gross margin in the 365 days to 30 June: 80 + 50 + 150; Cara's: 200.
    assert rows.loc[("North", "price"), "group_margin_12m"] == pytest.approx(280.0)
    assert rows.loc[("South", "price"), "group_margin_12m"] == pytest.approx(200.0)
    assert rows.loc[("North", "price"), "group_raters"] == 1
    # Stored rows as of 30 June: Alice 2 attributes + Cara 1; raters: Alice and Cara.
    assert PERIOD[1] in [as_of for _, as_of in _markers(rated_again)]
    with rated_again.connect() as conn:
        stored = conn.execute(
            select(q.latest_ratings.c.customer_id, q.latest_ratings.c.attribute)
            .where(q.latest_ratings.c.as_of == PERIOD[1])
            .order_by(q.latest_ratings.c.customer_id, q.latest_ratings.c.attribute)
        ).all()
    assert stored == [("1", "price"), ("1", "quality"), ("3", "price")]
    early = q.value_curve_ratings(rated_again, EARLY, "region").set_index(["group", "attribute"])
    # As of 10 June: Alice's price rating of 1 May; her margin 80 + 50.
    assert early.loc[("North", "price"), ["importance", "performance"]].tolist() == [8, 6]
    assert early.loc[("North", "price"), "group_margin_12m"] == pytest.approx(130.0)


@pytest.mark.parametrize("grouping", ["region", "acquisition_channel"])
@pytest.mark.parametrize(
    "scope", SCOPES, ids=["period", "south", "north-search", "allowed-north", "early", "none"]
)
def test_stored_curves_equal_the_aggregation(rated_again, scope, grouping):
    aggregated = q.value_curve_ratings(rated_again, scope, grouping, stored=False)
    first = q.value_curve_ratings(rated_again, scope, grouping)  # stores the period end
    again = q.value_curve_ratings(rated_again, scope, grouping)  # reads the stored rows
    pd.testing.assert_frame_equal(first, aggregated, check_dtype=False, check_exact=True)
    pd.testing.assert_frame_equal(again, aggregated, check_dtype=False, check_exact=True)


def test_one_fill_per_period_end_serves_every_filter(tiny_engine):
    for scope in SCOPES[:4]:
        q.value_curve_ratings(tiny_engine, scope, "region")
    assert [as_of for _, as_of in _markers(tiny_engine)] == [PERIOD[1]]
    assert _rows(tiny_engine, q.latest_ratings) == 3
    assert _rows(tiny_engine, q.rater_margins) == 2


def test_a_new_data_version_is_a_new_key_and_old_rows_go(tiny_engine):
    # Versions are compared as stored: on PostgreSQL the contract fingerprint may change a few
    # seconds after a write (the server's counters), so data_version() is not asked again.
    q.value_curve_ratings(tiny_engine, Scope(*PERIOD), "region")
    first = {version for version, _ in _markers(tiny_engine)}
    bump_data_version(tiny_engine)
    q.value_curve_ratings(tiny_engine, Scope(*PERIOD), "region")
    after = {version for version, _ in _markers(tiny_engine)}
    assert len(after) == 1 and after.isdisjoint(first)
    with tiny_engine.connect() as conn:
        for table in (q.latest_ratings, q.rater_margins):
            versions = conn.execute(select(table.c.data_version).distinct()).scalars()
            assert set(versions) == after


def test_at_most_keep_period_ends_are_kept(tiny_engine, monkeypatch):
    monkeypatch.setattr(q, "LATEST_RATINGS", replace(q.LATEST_RATINGS, keep=2))
    ends = [date(2024, 6, 28), date(2024, 6, 29), date(2024, 6, 30)]
    for end in ends:
        q.value_curve_ratings(tiny_engine, Scope(PERIOD[0], end), "region")
    assert sorted(key[1] for key in _markers(tiny_engine)) == ends[1:]
    assert _rows(tiny_engine, q.latest_ratings) == 2 * 3


def test_a_store_that_cannot_be_written_falls_back_to_the_aggregation(tiny_engine, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("CREATE TABLE", {}, Exception("permission denied"))

    monkeypatch.setattr(stored_facts.FACT_STORE, "create_all", refuse)
    scope = replace(Scope(*PERIOD), regions=("North",))
    assert q.store_latest_ratings(tiny_engine, scope.end) is None
    pd.testing.assert_frame_equal(
        q.value_curve_ratings(tiny_engine, scope, "region"),
        q.value_curve_ratings(tiny_engine, scope, "region", stored=False),
    )


def test_stored_tables_are_analysed_on_postgresql(tiny_engine):
    if tiny_engine.url.get_backend_name() != "postgresql":
        pytest.skip("PostgreSQL only: DuckDB keeps its statistics as it writes")
    q.store_latest_ratings(tiny_engine, PERIOD[1])
    with tiny_engine.connect() as conn:
        analysed = conn.execute(
            text(
                "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"
                " AND relname IN ('latest_ratings', 'rater_margins', 'latest_rating_dates')"
                " AND schemaname = current_schema()"
            )
        ).scalars()
        assert set(analysed) == {"latest_ratings", "rater_margins", "latest_rating_dates"}

"""Stored customer summaries (customer_queries.store_summaries): the same rows as the
aggregation, keyed by data version and period, pruned, and a fallback when nothing can be
stored. On DuckDB and PostgreSQL (``tiny_engine``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from dashboard.scope import Scope
from dashboard.storage import customer_queries as cq
from dashboard.storage import queries
from dashboard.storage.engine import bulk_insert, bump_data_version
from dashboard.storage.queries import data_version
from dashboard.storage.schema import orders
from tests.fixtures import PERIOD

SCOPES = [
    Scope(*PERIOD),
    replace(Scope(*PERIOD), regions=("South",)),
    replace(Scope(*PERIOD), regions=("North",), channels=("search",)),
    Scope(date(2024, 1, 1), date(2024, 3, 31)),
    replace(Scope(*PERIOD), regions=("Atlantis",)),
]


def _stored_periods(engine) -> list[tuple]:
    periods = cq.customer_summary_periods.c
    with engine.connect() as conn:
        return conn.execute(
            select(periods.data_version, periods.period_start, periods.period_end)
        ).all()


def _stored_rows(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(cq.customer_summaries)).scalar_one()


@pytest.mark.parametrize("scope", SCOPES, ids=["period", "south", "north-search", "q1", "none"])
def test_stored_summary_equals_the_aggregation(tiny_engine, scope):
    aggregated = cq.customer_summary(tiny_engine, scope, stored=False)
    first = cq.customer_summary(tiny_engine, scope)  # stores the period
    again = cq.customer_summary(tiny_engine, scope)  # reads the stored rows
    pd.testing.assert_frame_equal(first, aggregated, check_dtype=False, check_exact=True)
    pd.testing.assert_frame_equal(again, aggregated, check_dtype=False, check_exact=True)
    assert (data_version(tiny_engine), scope.start, scope.end) in _stored_periods(tiny_engine)


def test_one_fill_per_period_serves_every_filter(tiny_engine):
    for scope in SCOPES[:3]:
        cq.customer_summary(tiny_engine, scope)
    assert len(_stored_periods(tiny_engine)) == 1
    # Every customer acquired by the period's end (Dan, 4, is acquired later).
    assert _stored_rows(tiny_engine) == 3


def test_a_new_data_version_is_a_new_key_and_old_rows_go(tiny_engine, monkeypatch):
    # The app's own write makes the new version here (bump_data_version); PostgreSQL's row
    # counters in the contract fingerprint reach pg_stat_user_tables seconds after a commit,
    # so the version read at the end could differ from the one just stored.
    monkeypatch.setattr(queries, "contract_fingerprint", lambda engine, present=None: "fixed")
    scope = Scope(*PERIOD)
    before = cq.customer_summary(tiny_engine, scope).set_index("customer_id")
    extra = pd.DataFrame(
        {
            "order_id": [999],
            "customer_id": [3],
            "ordered_at": [date(2024, 6, 1)],
            "revenue": [1000.0],
            "cost": [400.0],
        }
    )
    bulk_insert(tiny_engine, orders, extra)
    bump_data_version(tiny_engine)
    after = cq.customer_summary(tiny_engine, scope).set_index("customer_id")
    assert after.loc["3", "revenue"] == pytest.approx(before.loc["3", "revenue"] + 1000.0)
    assert after.loc["3", "orders_period"] == before.loc["3", "orders_period"] + 1
    pd.testing.assert_frame_equal(
        after.reset_index(),
        cq.customer_summary(tiny_engine, scope, stored=False),
        check_dtype=False,
        check_exact=True,
    )
    assert {key[0] for key in _stored_periods(tiny_engine)} == {data_version(tiny_engine)}


def test_at_most_keep_periods_are_kept(tiny_engine, monkeypatch):
    monkeypatch.setattr(cq, "KEEP_PERIODS", 2)
    ends = [date(2024, 6, 28), date(2024, 6, 29), date(2024, 6, 30)]
    for end in ends:
        cq.customer_summary(tiny_engine, Scope(PERIOD[0], end))
    assert sorted(key[2] for key in _stored_periods(tiny_engine)) == ends[1:]
    assert _stored_rows(tiny_engine) == 2 * 3


def test_a_store_that_cannot_be_written_falls_back_to_the_aggregation(tiny_engine, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("CREATE TABLE", {}, Exception("permission denied"))

    monkeypatch.setattr(cq.SUMMARY_STORE, "create_all", refuse)
    scope = replace(Scope(*PERIOD), regions=("North",))
    assert cq.store_summaries(tiny_engine, scope.start, scope.end) is None
    pd.testing.assert_frame_equal(
        cq.customer_summary(tiny_engine, scope),
        cq.customer_summary(tiny_engine, scope, stored=False),
    )

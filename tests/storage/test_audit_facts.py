"""Stored audit facts (storage.audit_facts): the cohort lenses and the flows read from them
give the same rows as the aggregation of the orders, for every filter; keyed by data version
and as-of date, pruned, and a fallback when nothing can be stored. DuckDB and PostgreSQL.

The focused portfolio (tests/audit_fixtures.py) plus one order of Cara (acquired 1 Jun 2024)
dated 20 May 2024, before her acquisition: it counts in her cohort's age 0.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from dashboard.scope import Scope
from dashboard.storage import audit_facts as facts
from dashboard.storage import audit_queries as q
from dashboard.storage import queries
from dashboard.storage.engine import bulk_insert, bump_data_version, make_engine
from dashboard.storage.queries import data_version
from dashboard.storage.schema import orders
from tests.audit_fixtures import Q3, load_audit

SCOPE = Scope(start=Q3[0], end=Q3[1])
SCOPES = {
    "all": SCOPE,
    "north": replace(SCOPE, regions=("North",)),
    "south-allowed": replace(SCOPE, allowed_regions=("South",)),
    "search": replace(SCOPE, channels=("search",)),
    "none": replace(SCOPE, regions=("Atlantis",)),
    "june": Scope(start=date(2024, 6, 1), end=date(2024, 6, 30)),
}
EARLY_ORDER = pd.DataFrame(
    {
        "order_id": [12],
        "customer_id": [3],
        "ordered_at": [date(2024, 5, 20)],
        "revenue": [60.0],
        "cost": [20.0],
    }
)


@pytest.fixture
def engine(store_url, monkeypatch):
    # The data version alone keys the facts here: PostgreSQL's row counters in the contract
    # fingerprint reach pg_stat_user_tables up to seconds after a commit.
    monkeypatch.setattr(queries, "contract_fingerprint", lambda engine, present=None: "fixed")
    engine = make_engine(store_url)
    load_audit(engine)
    bulk_insert(engine, orders, EARLY_ORDER)
    bump_data_version(engine)
    yield engine
    engine.dispose()


def _sets(engine) -> list[tuple]:
    sets = facts.customer_month_sets.c
    with engine.connect() as conn:
        return conn.execute(select(sets.data_version, sets.as_of)).all()


def _rows(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _same(stored: pd.DataFrame, aggregated: pd.DataFrame) -> None:
    """Counts exactly, money to 1e-12 (sums of the same orders in another order)."""
    pd.testing.assert_frame_equal(
        stored.reset_index(drop=True),
        aggregated.reset_index(drop=True),
        check_dtype=False,
        rtol=1e-12,
    )


@pytest.mark.parametrize("name", SCOPES)
def test_stored_facts_give_the_aggregated_rows(engine, name):
    scope = SCOPES[name]
    for grain in ("month", "quarter"):
        _same(
            q.cohort_activity(engine, scope, grain),
            q.cohort_activity(engine, scope, grain, stored=False),
        )
        _same(
            q.second_purchase(engine, scope, grain),
            q.second_purchase(engine, scope, grain, stored=False),
        )
    _same(q.customer_flows(engine, scope), q.customer_flows(engine, scope, stored=False))
    assert (data_version(engine), scope.end) in _sets(engine)


def test_an_order_before_the_acquisition_counts_at_age_0(engine):
    # Cara, June 2024 cohort: 20 May (60, margin 40) and 1 Jun (400, margin 200), one customer.
    june = 2024 * 12 + 5
    for stored in (True, False):
        act = q.cohort_activity(engine, SCOPE, "month", stored=stored).set_index(["cohort", "age"])
        assert act.loc[(june, 0), "active"] == 1
        assert act.loc[(june, 0), "orders"] == 2
        assert act.loc[(june, 0), "revenue"] == pytest.approx(460.0)
        assert act.loc[(june, 0), "gross_margin"] == pytest.approx(240.0)
    # Her second purchase day is 1 Jun, 12 days after the first: bucket 0, Q2 cohort.
    second = q.second_purchase(engine, SCOPE, "quarter")
    q2 = second[second["cohort"] == 2024 * 4 + 1]
    assert q2["bucket"].tolist() == [0] and q2["customers"].tolist() == [1]
    # In Q3's flows she is lost (bought in Q2 only) with 460 of Q2 revenue, and Eve, whose
    # first order was in February, is reactivated, not new.
    flows = q.customer_flows(engine, SCOPE).set_index("flow")
    assert flows.at["lost", "revenue_previous"] == pytest.approx(510.0)  # Bob 50, Cara 460
    assert flows.at["reactivated", "customers"] == 1


def test_one_fill_per_as_of_date_serves_every_filter(engine):
    for scope in list(SCOPES.values())[:5]:  # all end on 30 Sep 2024
        q.cohort_activity(engine, scope, "quarter")
    assert _sets(engine) == [(data_version(engine), SCOPE.end)]
    # Customer-months: Alice Jan, Apr, Jun, Aug; Bob Mar, Jun; Cara Jun (two orders); Dan
    # Jul; Eve Feb, Sep. First orders: the five customers.
    assert _rows(engine, facts.customer_months) == 10
    assert _rows(engine, facts.customer_first_orders) == 5
    sets = facts.customer_month_sets.c
    with engine.connect() as conn:
        assert conn.execute(select(sets.customers, sets.months)).one() == (5, 10)


def test_a_new_data_version_replaces_the_facts(engine):
    before = q.cohort_activity(engine, SCOPE, "month")
    extra = EARLY_ORDER.assign(order_id=[13], customer_id=[4], ordered_at=[date(2024, 9, 1)])
    bulk_insert(engine, orders, extra)
    bump_data_version(engine)
    after = q.cohort_activity(engine, SCOPE, "month")
    assert after["orders"].sum() == before["orders"].sum() + 1
    _same(after, q.cohort_activity(engine, SCOPE, "month", stored=False))
    assert _sets(engine) == [(data_version(engine), SCOPE.end)]
    assert _rows(engine, facts.customer_months) == 11  # Dan's September


def test_at_most_keep_as_of_dates_are_kept(engine, monkeypatch):
    monkeypatch.setattr(facts, "KEEP_AS_OF", 2)
    ends = [date(2024, 9, 28), date(2024, 9, 29), date(2024, 9, 30)]
    for end in ends:
        q.cohort_activity(engine, Scope(start=Q3[0], end=end))
    assert sorted(as_of for _, as_of in _sets(engine)) == ends[1:]
    assert _rows(engine, facts.customer_first_orders) == 2 * 5


def test_a_store_that_cannot_be_written_falls_back_to_the_aggregation(engine, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("CREATE TABLE", {}, Exception("permission denied"))

    monkeypatch.setattr(facts.AUDIT_STORE, "create_all", refuse)
    assert facts.store_facts(engine, SCOPE.end) is None
    north = SCOPES["north"]
    _same(q.cohort_activity(engine, north), q.cohort_activity(engine, north, stored=False))
    _same(q.customer_flows(engine, north), q.customer_flows(engine, north, stored=False))

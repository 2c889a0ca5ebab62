"""The audit queries on the focused portfolio (tests/audit_fixtures.py), DuckDB and PostgreSQL.

Q3 2024 buyers: Alice (orders 8 and 9, 200, margin 90), Dan (100, new, margin 30), Eve (90,
bought in February, not in Q2: reactivated, margin 40). Q2 buyers: Alice (400), Bob (50),
Cara (400); Bob and Cara are lost.
"""

from __future__ import annotations

import pytest

from dashboard.scope import Scope
from dashboard.storage import audit_queries as q
from dashboard.storage.engine import make_engine
from tests.audit_fixtures import Q3, load_audit

SCOPE = Scope(start=Q3[0], end=Q3[1])


@pytest.fixture
def engine(store_url):
    engine = make_engine(store_url)
    load_audit(engine)
    yield engine
    engine.dispose()


def test_one_period(engine):
    row = q.period_summary(engine, SCOPE).iloc[0]
    assert (row["customers"], row["one_time_buyers"], row["orders"]) == (3, 2, 4)
    assert row["revenue"] == pytest.approx(390.0)
    assert row["gross_margin"] == pytest.approx(160.0)
    # Ranked Alice 200, Dan 100, Eve 90 into groups floor(100 (rank - 1) / 3).
    conc = q.revenue_concentration(engine, SCOPE)
    assert conc["bucket"].tolist() == [0, 33, 66]
    assert conc["revenue"].tolist() == pytest.approx([200.0, 100.0, 90.0])
    dist = q.orders_per_customer(engine, SCOPE)
    assert dict(zip(dist["orders"], dist["customers"], strict=True)) == {1: 2, 2: 1}
    # p99 of (90, 100, 200) = 100 + 0.98 x 100 = 198; width 9.9: Eve bin 9, Dan 10, Alice top.
    spend = q.spend_per_customer(engine, SCOPE)
    assert spend["p99"].iloc[0] == pytest.approx(198.0)
    assert dict(zip(spend["bin"], spend["customers"], strict=True)) == {9: 1, 10: 1, 20: 1}


def test_flows(engine):
    flows = q.customer_flows(engine, SCOPE).set_index("flow")
    assert flows["customers"].to_dict() == {"lost": 2, "new": 1, "reactivated": 1, "retained": 1}
    assert flows.at["lost", "revenue_previous"] == pytest.approx(450.0)
    assert flows.at["retained", "revenue_previous"] == pytest.approx(400.0)
    assert flows.at["retained", "revenue_current"] == pytest.approx(200.0)
    assert flows.at["new", "revenue_current"] == pytest.approx(100.0)
    assert flows.at["reactivated", "revenue_current"] == pytest.approx(90.0)


def test_cohorts_by_quarter(engine):
    sizes = q.cohort_sizes(engine, SCOPE, "quarter")
    assert sizes["customers"].tolist() == [3, 1, 1]  # Q1: Alice, Bob, Eve; Q2 Cara; Q3 Dan
    q1 = sizes["cohort"].iloc[0]
    assert q1 == (2024 * 12 + 0) // 3
    act = q.cohort_activity(engine, SCOPE, "quarter")
    first = act[act["cohort"] == q1].set_index("age")
    assert first["active"].tolist() == [3, 2, 2]
    assert first["orders"].tolist() == [3, 3, 3]
    assert first["revenue"].tolist() == pytest.approx([350.0, 450.0, 290.0])
    assert first["gross_margin"].tolist() == pytest.approx([130.0, 190.0, 130.0])


def test_cohorts_by_month_and_second_purchase(engine):
    act = q.cohort_activity(engine, SCOPE, "month")
    alice = act[act["cohort"] == 2024 * 12].set_index("age")  # January 2024
    assert alice.index.tolist() == [0, 3, 5, 7]
    assert alice.loc[7, "orders"] == 2 and alice.loc[7, "revenue"] == pytest.approx(200.0)
    # Alice 83 days (bucket 2), Bob 117 (3), Eve 227 (7); Cara and Dan none yet.
    second = q.second_purchase(engine, SCOPE, "quarter")
    q1 = second[second["cohort"] == 2024 * 4]
    assert sorted(q1["bucket"].dropna().astype(int)) == [2, 3, 7]
    assert int(second["bucket"].isna().sum()) == 2


def test_recent_customer_revenue(engine):
    row = q.recent_customer_revenue(engine, SCOPE).iloc[0]
    assert row["revenue"] == pytest.approx(1590.0)  # every order is in the 365 days
    assert row["revenue_recent"] == pytest.approx(1590.0)  # every customer won in 2024
    assert (row["customers"], row["customers_recent"]) == (5, 5)


def test_subscriptions(engine):
    assert q.has_subscriptions(engine) == "rows"
    tenures = q.subscription_tenures(engine, SCOPE, "quarter")
    got = {(r.plan, r.status, r.tenure): r.subscriptions for r in tenures.itertuples(index=False)}
    # s1 Jan 15 - Mar 15: 2 months; s3 Jun 20 - Jul 5: 1; s4 ends after the period: active,
    # 7 renewals (Feb 29 to Sep 30); s2 6 renewals; s5 Aug 31 to Sep 30: 0.
    assert got == {
        ("basic", "churned", 2): 1,
        ("basic", "active", 6): 1,
        ("basic", "active", 0): 1,
        ("plus", "churned", 1): 1,
        ("plus", "active", 7): 1,
    }
    active = q.active_subscriptions(engine, SCOPE)
    assert dict(zip(active["subscription_id"], active["renewals"], strict=True)) == {
        2: 6,
        4: 7,
        5: 0,
    }
    north = Scope(start=Q3[0], end=Q3[1], regions=("North",))  # Alice, Bob, Eve
    assert q.active_subscriptions(engine, north)["subscription_id"].tolist() == [2, 4]
    assert q.purchase_equity(engine, SCOPE).empty  # no lifetime-value fit stored


def test_scope_applies_to_every_lens(engine):
    south = Scope(start=Q3[0], end=Q3[1], allowed_regions=("South",))  # Cara, Dan
    assert q.period_summary(engine, south).iloc[0]["customers"] == 1  # Dan
    flows = q.customer_flows(engine, south).set_index("flow")["customers"].to_dict()
    assert flows == {"lost": 1, "new": 1}
    assert q.cohort_sizes(engine, south, "month")["customers"].sum() == 2


def test_store_without_subscriptions(store_url):
    from tests.fixtures import load_tiny

    engine = make_engine(store_url)
    load_tiny(engine)
    assert q.has_subscriptions(engine) == "empty"
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE subscriptions")
    assert q.has_subscriptions(engine) == "absent"
    engine.dispose()

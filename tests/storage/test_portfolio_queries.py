"""Profit, loss-maker and value sums in SQL (dashboard/storage/portfolio_queries.py) on the tiny
portfolio (tests/fixtures.py), worked out by hand, on DuckDB and PostgreSQL.

Customers acquired by 30 June 2024 (period 1 April - 30 June; money in currency units):

=====  ======  ========  ========  ==  ==  ===  ======  =====  ==  =======
who    region  channel   acquired  GM  SC  CAC  profit  GM in  SC  profit
                                   to date              period in  in period
=====  ======  ========  ========  ==  ==  ===  ======  =====  ==  =======
Alice  North   search    10 Jan    280 10  100  170     200    10  190
Bob    North   referral  5 Mar     10  20  20   -30     -10    20  -30
Cara   South   search    1 Jun     200 3   120  77      200    0   80 (CAC in the period)
=====  ======  ========  ========  ==  ==  ===  ======  =====  ==  =======

Revenue to date: Alice 600, Bob 130, Cara 400. The stored fit of
tests/app/test_customer_value_page.py: CLV 300, 40, 150; P(alive) 0.9, 0.5, 0.8; every one
active (at most 4.3 weeks between the latest purchase and the fit's data end).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from dashboard.domain import value
from dashboard.scope import Scope
from dashboard.storage import portfolio_queries as pq
from dashboard.storage.customer_queries import customer_summary
from dashboard.storage.engine import bulk_insert, bump_data_version
from dashboard.storage.schema import segment_assignments, segment_names, segment_runs
from tests.app.test_customer_value_page import store_fit_in
from tests.fixtures import PERIOD

SCOPE = Scope(*PERIOD)


def _segments(engine, assigned: dict[int, int], names: dict[int, str]) -> int:
    bulk_insert(
        engine,
        segment_runs,
        pd.DataFrame(
            {
                "run_id": [1],
                "created_at": [datetime(2024, 7, 1)],
                "as_of": [date(2024, 6, 30)],
                "n_segments": [3],
                "settings": ["{}"],
                "quality": ["{}"],
            }
        ),
    )
    bulk_insert(
        engine,
        segment_assignments,
        pd.DataFrame(
            {
                "run_id": 1,
                "customer_id": [str(c) for c in assigned],
                "segment": list(assigned.values()),
            }
        ),
    )
    bulk_insert(
        engine,
        segment_names,
        pd.DataFrame({"run_id": 1, "segment": list(names), "name": list(names.values())}),
    )
    bump_data_version(engine)
    return 1


def test_profit_sums_to_date(tiny_engine):
    sums = pq.profit_sums(tiny_engine, SCOPE, "to_date").set_index(
        ["region", "acquisition_channel"]
    )
    assert sums.loc[("North", "search")].tolist() == [1, 280.0, 10.0, 100.0, 170.0, 0]
    assert sums.loc[("North", "referral")].tolist() == [1, 10.0, 20.0, 20.0, -30.0, 1]
    assert sums.loc[("South", "search")].tolist() == [1, 200.0, 3.0, 120.0, 77.0, 0]
    assert len(sums) == 3
    assert sums["customers"].dtype == "int64" and sums["losing_customers"].dtype == "int64"


def test_profit_sums_in_the_period(tiny_engine):
    sums = pq.profit_sums(tiny_engine, SCOPE, "in_period")
    totals = value.profit_totals(sums)
    # 190 - 30 + 80; only Cara's acquisition cost falls in the period.
    assert (totals.customers, totals.profit, totals.acquisition_cost) == (3, 240.0, 120.0)
    assert (totals.gross_margin, totals.service_cost, totals.losing_customers) == (390.0, 30.0, 1)


def test_sums_equal_the_domain_functions_over_customers(tiny_engine):
    summary = customer_summary(tiny_engine, SCOPE)
    for basis in value.PROFIT_BASES:
        profit = value.customer_profit(summary, basis=basis, period_start=SCOPE.start)
        by = ["region", "acquisition_channel"]
        expected = value.profit_sums(profit, by).sort_values(by, ignore_index=True)
        got = pq.profit_sums(tiny_engine, SCOPE, basis).sort_values(by, ignore_index=True)
        pd.testing.assert_frame_equal(got[expected.columns], expected, check_dtype=False)
        assert sorted(pq.profits(tiny_engine, SCOPE, basis)) == sorted(profit["profit"])


def test_profits_and_the_whale_curve(tiny_engine):
    profits = pq.profits(tiny_engine, SCOPE, "to_date")
    assert sorted(profits) == [-30.0, 77.0, 170.0] and profits.dtype == np.float64
    whale = value.whale_curve(profits)
    assert whale.peak_share == pytest.approx(247 / 217)  # Alice and Cara, of 217
    nobody = replace(SCOPE, regions=("Atlantis",))
    assert len(pq.profits(tiny_engine, nobody, "to_date")) == 0
    assert pq.profit_sums(tiny_engine, nobody, "to_date").empty


def test_loss_makers_worst_first(tiny_engine):
    losing = pq.loss_makers(tiny_engine, SCOPE, "to_date")
    assert losing.columns.tolist() == [
        *value.IDENTITY_COLUMNS,
        "gross_margin",
        "service_cost",
        "acquisition_cost",
        "profit",
    ]
    bob = losing.iloc[0]
    assert len(losing) == 1 and (bob["customer_id"], bob["name"]) == ("2", "Bob")
    assert bob[["gross_margin", "service_cost", "acquisition_cost", "profit"]].tolist() == [
        10.0,
        20.0,
        20.0,
        -30.0,
    ]
    assert bob["acquired_at"] == pd.Timestamp("2024-03-05")
    in_period = pq.loss_makers(tiny_engine, SCOPE, "in_period")
    assert in_period[["gross_margin", "acquisition_cost", "profit"]].values.tolist() == [
        [-10.0, 0.0, -30.0]
    ]
    assert pq.loss_makers(tiny_engine, SCOPE, "to_date", limit=0).empty


def test_segments_named_unnamed_and_missing(tiny_engine):
    # Alice in the named segment 1, Bob in segment 3 (no saved name), Cara in none.
    run = _segments(tiny_engine, {1: 1, 2: 3}, {1: "Champions", 2: "Strugglers"})
    assert pq.segmented_run(tiny_engine, SCOPE) == run
    assert pq.segmented_run(tiny_engine, replace(SCOPE, regions=("South",))) is None  # Cara
    sums = pq.profit_sums(tiny_engine, SCOPE, "to_date", run).set_index("segment_name")
    assert sums["profit"].to_dict() == {
        "Champions": 170.0,
        "Segment 3": -30.0,
        pq.NOT_SEGMENTED: 77.0,
    }
    losing = pq.loss_makers(tiny_engine, SCOPE, "to_date", run)
    assert losing[["segment", "segment_name"]].values.tolist() == [[3, "Segment 3"]]


def test_value_sums_without_a_fit(tiny_engine):
    sums = pq.value_sums(tiny_engine, SCOPE, None)
    assert sums.columns.tolist() == [
        "region",
        "acquisition_channel",
        "acquisition_quarter",
        *value.VALUE_SUMS,
    ]
    rows = sums.set_index(["region", "acquisition_channel", "acquisition_quarter"])
    alice = rows.loc[("North", "search", "2024 Q1")]
    assert alice[["customers", "revenue", "gross_margin", "service_cost"]].tolist() == [
        1,
        600.0,
        280.0,
        10.0,
    ]
    assert (alice["paid_back"], alice["won_in_period"]) == (1, 0)  # 280 - 10 >= 100
    assert rows.loc[("North", "referral", "2024 Q1"), "paid_back"] == 0  # 10 - 20 < 20
    cara = rows.loc[("South", "search", "2024 Q2")]
    assert (cara["won_in_period"], cara["acquisition_spend_in_period"]) == (1, 120.0)
    assert (sums["scored_customers"] == 0).all() and (sums["clv"] == 0).all()


def test_value_sums_with_the_stored_fit(tiny_engine):
    store_fit_in(tiny_engine)
    totals = (
        pq.value_sums(tiny_engine, SCOPE, 1)
        .drop(columns=["region", "acquisition_channel", "acquisition_quarter"])
        .sum()
    )
    assert totals["scored_customers"] == 3 and totals["scored_acquisition_cost"] == 240.0
    assert totals["clv"] == 490.0  # 300 + 40 + 150
    assert totals["ltv"] == 980.0  # 580 + 50 + 350
    assert totals["probability_alive"] == pytest.approx(2.2)
    assert (totals["active_customers"], totals["active_clv"]) == (3, 490.0)
    # New in the period: Cara alone, LTV 200 + 150, CAC 120.
    assert totals[["new_customers", "new_ltv", "new_acquisition_cost"]].tolist() == [
        1,
        350.0,
        120.0,
    ]
    south = pq.value_sums(tiny_engine, replace(SCOPE, regions=("South",)), 1)
    assert south["customers"].tolist() == [1] and south["clv"].tolist() == [150.0]

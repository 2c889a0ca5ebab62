"""Payback aggregates and saved segments on the tiny portfolio (tests/fixtures.py), by hand.

Tiny portfolio seen on 30 June 2024: Alice (search, Jan 2024, CAC 100), Bob (referral, Mar,
CAC 20), Cara (search, Jun, CAC 120); Dan (partner, Jul) is not a customer yet.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pandas as pd
import pytest
from sqlalchemy import literal, select

from dashboard.domain import value
from dashboard.scope import Scope
from dashboard.storage import value_queries as vq
from dashboard.storage.engine import bulk_insert
from dashboard.storage.schema import segment_assignments, segment_names, segment_runs
from tests.fixtures import PERIOD

JAN, MAR, JUN = (2024 * 12 + m - 1 for m in (1, 3, 6))


def test_month_index_on_the_backend(tiny_engine):
    # The portable helper agrees with Python's on both ends of a year and in a leap February.
    days = [date(2023, 12, 31), date(2024, 1, 1), date(2024, 2, 29), date(1999, 7, 15)]
    with tiny_engine.connect() as conn:
        got = [conn.execute(select(vq.month_index(literal(d)))).scalar_one() for d in days]
    assert got == [value.month_index(d) for d in days]
    assert got[1] - got[0] == 1


def test_payback_facts_by_hand(tiny_engine):
    facts = vq.payback_facts(tiny_engine, Scope(*PERIOD))
    rows = {
        (r.acquisition_channel, r.acquisition_month, r.months_since): (
            r.gross_margin,
            r.service_cost,
        )
        for r in facts.itertuples()
    }
    assert rows == {
        # Bob: first order 80 - 60 in March; 5 + 15 of service in May; 50 - 60 in June.
        ("referral", MAR, 0): (20.0, 0.0),
        ("referral", MAR, 2): (0.0, 20.0),
        ("referral", MAR, 3): (-10.0, 0.0),
        # Alice: 200 - 120 in January; 100 - 50 and a 10 contact in April; 300 - 150 in June.
        ("search", JAN, 0): (80.0, 0.0),
        ("search", JAN, 3): (50.0, 10.0),
        ("search", JAN, 5): (150.0, 0.0),
        # Cara: 400 - 200 in June; her February contact predates her acquisition: month 0.
        ("search", JUN, 0): (200.0, 3.0),
    }
    assert facts["months_since"].dtype == "int64"


def test_acquisition_cohorts_by_hand(tiny_engine):
    cohorts = vq.acquisition_cohorts(tiny_engine, Scope(*PERIOD))
    assert cohorts.values.tolist() == [
        ["referral", MAR, 1, 20.0],
        ["search", JAN, 1, 100.0],
        ["search", JUN, 1, 120.0],
    ]


def test_payback_queries_respect_scope(tiny_engine):
    south = replace(Scope(*PERIOD), regions=("South",))
    facts = vq.payback_facts(tiny_engine, south)
    assert facts[["acquisition_month", "gross_margin"]].values.tolist() == [[JUN, 200.0]]
    later = Scope(date(2024, 7, 1), date(2024, 7, 31), channels=("partner",))
    assert vq.acquisition_cohorts(tiny_engine, later)["customers"].tolist() == [1]
    nobody = replace(Scope(*PERIOD), regions=("Atlantis",))
    assert vq.payback_facts(tiny_engine, nobody).empty
    assert vq.acquisition_cohorts(tiny_engine, nobody).empty


def test_payback_queries_feed_the_curves(tiny_engine):
    scope = Scope(*PERIOD)
    curves = value.payback_curves(
        vq.payback_facts(tiny_engine, scope),
        vq.acquisition_cohorts(tiny_engine, scope),
        by="channel",
        as_of=scope.end,
        min_customers=1,
    )
    search = curves[curves["group"] == "search"]
    # Month 0: (80 + 197) / 2 = 138.5 against a mean CAC of 110 (see tests/domain).
    assert search["net_position"].iloc[0] == pytest.approx(28.5)


def test_no_segments_saved(tiny_engine):
    assert vq.latest_segment_run(tiny_engine) is None
    assert vq.customer_segments(tiny_engine, Scope(*PERIOD)).empty
    assert vq.segment_list(tiny_engine).empty


def test_latest_segments(tiny_engine):
    now = datetime(2024, 7, 1)
    for run_id in (1, 2):
        bulk_insert(
            tiny_engine,
            segment_runs,
            pd.DataFrame(
                {
                    "run_id": [run_id],
                    "created_at": [now],
                    "as_of": [date(2024, 6, 30)],
                    "n_segments": [3],
                    "settings": ["{}"],
                    "quality": ["{}"],
                }
            ),
        )
    bulk_insert(
        tiny_engine,
        segment_assignments,
        pd.DataFrame(
            {"run_id": [1, 2, 2, 2], "customer_id": [1, 1, 2, 3], "segment": [3, 1, 2, 1]}
        ),
    )
    bulk_insert(
        tiny_engine,
        segment_names,
        pd.DataFrame({"run_id": [2, 2], "segment": [1, 2], "name": ["Champions", "At risk"]}),
    )
    assert vq.latest_segment_run(tiny_engine) == 2
    segments = vq.customer_segments(tiny_engine, Scope(*PERIOD))
    assert segments.values.tolist() == [
        ["1", 1, "Champions"],
        ["2", 2, "At risk"],
        ["3", 1, "Champions"],
    ]
    south = vq.customer_segments(tiny_engine, replace(Scope(*PERIOD), regions=("South",)))
    assert south["customer_id"].tolist() == ["3"]
    # Segment 3 has no name and no customer in run 2: listed all the same.
    assert vq.segment_list(tiny_engine).values.tolist() == [
        [1, "Champions"],
        [2, "At risk"],
        [3, "Segment 3"],
    ]

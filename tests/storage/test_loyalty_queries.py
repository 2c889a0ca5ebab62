"""Loyalty queries on the tiny portfolio (tests/fixtures.py), worked out by hand."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import date, datetime

import pandas as pd
import pytest

from dashboard.scope import Scope
from dashboard.storage.engine import bulk_insert
from dashboard.storage.loyalty_queries import (
    INPUT_COLUMNS,
    loyalty_inputs,
    monthly_repeat_buyers,
    monthly_survey_answers,
)
from dashboard.storage.schema import clv_runs, customer_clv
from tests.fixtures import PERIOD

HALF_YEAR = Scope(date(2024, 1, 1), date(2024, 6, 30))


def _store_fit(engine, run_id: int, fitted_at: datetime, rows: list[tuple[int, float, float]]):
    bulk_insert(
        engine,
        clv_runs,
        pd.DataFrame(
            [
                {
                    "run_id": run_id,
                    "fitted_at": fitted_at,
                    "calibration_end": date(2024, 6, 30),
                    "settings": json.dumps({"horizon_months": 36, "annual_discount_rate": 0.1}),
                    "params": "{}",
                    "diagnostics": "{}",
                }
            ]
        ),
    )
    bulk_insert(
        engine,
        customer_clv,
        pd.DataFrame(
            [
                {
                    "run_id": run_id,
                    "customer_id": cid,
                    "frequency": 1,
                    "recency": 1.0,
                    "T": 2.0,
                    "monetary_value": 10.0,
                    "probability_alive": p_alive,
                    "expected_purchases_12m": 1.0,
                    "expected_spend": 10.0,
                    "margin_share": 0.4,
                    "clv": clv,
                }
                for cid, p_alive, clv in rows
            ]
        ),
    )


def test_inputs_without_a_fit(tiny_engine):
    inputs = loyalty_inputs(tiny_engine, Scope(*PERIOD)).set_index("customer_id")
    assert list(inputs.reset_index().columns) == list(INPUT_COLUMNS)
    assert list(inputs.index) == ["1", "2", "3"]  # Dan is acquired after 30 June
    assert inputs[["probability_alive", "fit_repeat_days", "clv"]].isna().all().all()
    # Bob: orders 5 March (80) and 30 June (50); latest survey of 4 May: CSAT 4, NPS 8.
    bob = inputs.loc["2"]
    assert (bob["order_days"], bob["revenue_last_12m"], bob["revenue_period"]) == (2, 130, 50)
    assert (bob["latest_csat"], bob["latest_nps"]) == (4, 8)
    assert inputs.loc["1", "referrals_made"] == 2
    assert pd.isna(inputs.loc["3", "latest_csat"])  # Cara answered NPS only


def test_inputs_join_the_latest_fit(tiny_engine):
    # Run 2 is the latest (highest run_id, as clv_store.latest_run reads it).
    _store_fit(tiny_engine, 1, datetime(2024, 7, 1, 9), [(1, 0.1, 1.0), (2, 0.2, 2.0)])
    _store_fit(tiny_engine, 2, datetime(2024, 7, 2, 9), [(1, 0.9, 300.0), (3, 0.5, 100.0)])
    inputs = loyalty_inputs(tiny_engine, Scope(*PERIOD)).set_index("customer_id")
    assert inputs.loc["1", "probability_alive"] == pytest.approx(0.9)
    assert inputs.loc["3", "clv"] == pytest.approx(100.0)
    assert inputs.loc["3", "fit_repeat_days"] == 1  # the fit's BG/NBD frequency
    assert math.isnan(inputs.loc["2", "probability_alive"])  # not in run 2
    south = loyalty_inputs(tiny_engine, replace(Scope(*PERIOD), regions=("South",)))
    assert south["customer_id"].tolist() == ["3"] and south["clv"].tolist() == [100.0]


def test_inputs_of_nobody(tiny_engine):
    nobody = loyalty_inputs(tiny_engine, replace(Scope(*PERIOD), regions=("Atlantis",)))
    assert nobody.empty and list(nobody.columns) == list(INPUT_COLUMNS)


def test_monthly_survey_answers(tiny_engine):
    monthly = monthly_survey_answers(tiny_engine, HALF_YEAR).set_index("month")
    # March: survey 5 (CSAT 3, NPS 6). April: survey 1 (5, 10). May: surveys 2 (2, 3) and
    # 3 (4, 8). June: survey 4 (no CSAT, NPS 9). No answers in January or February.
    assert list(monthly.index) == [pd.Timestamp(f"2024-0{m}-01") for m in (3, 4, 5, 6)]
    columns = ["nps_answers", "promoters", "detractors", "csat_answers", "csat_top2"]
    assert monthly.loc["2024-03-01", columns].tolist() == [1, 0, 1, 1, 0]
    assert monthly.loc["2024-04-01", columns].tolist() == [1, 1, 0, 1, 1]
    # May: 3 is a detractor, 8 a passive (in the base only); CSAT 4 of (2, 4) is top-two.
    assert monthly.loc["2024-05-01", columns].tolist() == [2, 0, 1, 2, 1]
    assert monthly.loc["2024-06-01", columns].tolist() == [1, 1, 0, 0, 0]
    north = monthly_survey_answers(tiny_engine, replace(HALF_YEAR, regions=("North",)))
    assert north["nps_answers"].sum() == 4  # Cara's June answer is South


def test_monthly_repeat_buyers(tiny_engine):
    monthly = monthly_repeat_buyers(tiny_engine, HALF_YEAR).set_index("month")
    # January: Alice's first order. March: Bob's first. April: Alice again (first in
    # January). June: Alice (repeat), Bob (first in March: repeat), Cara (first on 1 June).
    assert monthly["buyers"].to_dict() == {
        pd.Timestamp("2024-01-01"): 1,
        pd.Timestamp("2024-03-01"): 1,
        pd.Timestamp("2024-04-01"): 1,
        pd.Timestamp("2024-06-01"): 3,
    }
    assert monthly["repeat_buyers"].tolist() == [0, 0, 1, 2]
    # A first order earlier in the same month is not "before the month": April alone.
    april = monthly_repeat_buyers(tiny_engine, Scope(date(2024, 4, 1), date(2024, 4, 30)))
    assert april[["buyers", "repeat_buyers"]].values.tolist() == [[1, 1]]
    south = monthly_repeat_buyers(tiny_engine, replace(HALF_YEAR, regions=("South",)))
    assert south[["buyers", "repeat_buyers"]].values.tolist() == [[1, 0]]
    assert monthly_repeat_buyers(tiny_engine, replace(HALF_YEAR, regions=("Atlantis",))).empty

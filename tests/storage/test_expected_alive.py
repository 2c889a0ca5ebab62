"""Expected customers alive (sum of stored P(alive)) on the tiny portfolio, by hand."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime

import pytest

from dashboard.scope import Scope
from dashboard.storage import clv_store
from dashboard.storage.schema import clv_runs, customer_clv
from tests.fixtures import PERIOD


def store_fit(engine, p_alive: dict[int, float]) -> None:
    settings = {"horizon_months": 36, "annual_discount_rate": 0.1}
    with engine.begin() as conn:
        conn.execute(
            clv_runs.insert().values(
                run_id=1,
                fitted_at=datetime(2024, 7, 1),
                calibration_end=date(2024, 6, 30),
                settings=json.dumps(settings),
                params="{}",
                diagnostics="{}",
            )
        )
        conn.execute(
            customer_clv.insert(),
            [
                {
                    "run_id": 1,
                    "customer_id": c,
                    "frequency": 1,
                    "recency": 1.0,
                    "T": 2.0,
                    "monetary_value": 10.0,
                    "probability_alive": p,
                    "expected_purchases_12m": 1.0,
                    "expected_spend": 10.0,
                    "margin_share": 0.5,
                    "clv": 5.0,
                }
                for c, p in p_alive.items()
            ],
        )


def test_expected_alive_sums_probabilities_in_scope(tiny_engine):
    assert clv_store.expected_alive(tiny_engine, Scope(*PERIOD)) is None
    store_fit(tiny_engine, {1: 0.9, 2: 0.5, 3: 0.25})
    alive, fitted_to = clv_store.expected_alive(tiny_engine, Scope(*PERIOD))
    assert alive == pytest.approx(1.65) and fitted_to == date(2024, 6, 30)
    north, _ = clv_store.expected_alive(tiny_engine, replace(Scope(*PERIOD), regions=("North",)))
    assert north == pytest.approx(1.4)  # customers 1 and 2

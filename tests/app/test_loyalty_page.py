"""The Loyalty vs satisfaction page under AppTest on the tiny store, figures worked by hand.

As of 30 June 2024 (Custom period April-June): Alice (index 69.3, satisfaction 100) is a loyal
advocate; Bob (index 44.5; CSAT 4 -> 75, NPS 8 -> 80, mean 77.5) and Cara (index 32.5; NPS 9
-> 90) are satisfied but leaving. Revenue over the 365 days to 30 June: Alice 600, Bob 130,
Cara 400. Index arithmetic as in tests/domain/test_loyalty.py, e.g. Bob:
100 × (0.25·1/4 + 0.30·1 + 0.15·117/1095) / 0.85 (no spend trend under 24 months).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.storage.engine import bulk_insert, bump_data_version, make_engine
from dashboard.storage.schema import clv_runs, customer_clv

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "loyalty.py")
QUARTER = {"period": "Custom", "from": "2024-04-01", "to": "2024-06-30"}


def run_page(query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def figures(at: AppTest) -> dict[str, tuple[str, str | None]]:
    return {m.label: (m.value, m.delta) for m in at.metric}


def test_headline_figures_by_hand(tiny_url):
    at = run_page(QUARTER)
    assert not at.exception and not at.error
    shown = figures(at)
    # Bob 130 + Cara 400 of 600 + 130 + 400 = 1130 -> 46.9%.
    assert shown["Revenue at risk"] == ("530", "46.9% of revenue")
    assert shown["Satisfied but leaving"] == ("2", "67% of surveyed")
    assert shown["Surveyed customers"] == ("3", "of 3 in view")
    # Three answered customers are too few for a correlation with an interval.
    assert shown["Explained by satisfaction"][0] == "—"
    assert any("Too few customers" in m.value for m in at.markdown)
    quadrants = at.dataframe[0].value.set_index("quadrant")
    assert quadrants["customers"].tolist() == [1, 2, 0, 0, 0]
    assert quadrants.loc["Satisfied but leaving", "revenue_last_12m"] == pytest.approx(530.0)
    # The action list: most valuable first by revenue over the last 12 months.
    action = at.dataframe[1].value
    assert action["name"].tolist() == ["Cara", "Bob"]
    assert "clv" not in action.columns
    assert any("no lifetime-value fit is stored yet" in m.value for m in at.markdown)


def test_stored_fit_replaces_recency_with_p_alive(tiny_url):
    engine = make_engine(tiny_url)
    bulk_insert(
        engine,
        clv_runs,
        pd.DataFrame(
            [
                {
                    "run_id": 1,
                    "fitted_at": datetime(2024, 7, 1, 8),
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
                    "run_id": 1,
                    "customer_id": cid,
                    "frequency": 1,
                    "recency": 1.0,
                    "T": 2.0,
                    "monetary_value": 1.0,
                    "probability_alive": p_alive,
                    "expected_purchases_12m": 1.0,
                    "expected_spend": 1.0,
                    "margin_share": 0.5,
                    "clv": clv,
                }
                for cid, p_alive, clv in [(1, 0.05, 900.0), (2, 0.9, 200.0), (3, 0.5, 300.0)]
            ]
        ),
    )
    bump_data_version(engine)
    engine.dispose()
    at = run_page(QUARTER)
    assert not at.exception
    # Alice with P(alive) 0.05: 100 × (0.125 + 0.015 + 0.15·162/1095 + 0.15) / 0.85 = 36.7,
    # below 50: all three are now satisfied but leaving, 1130 of 1130.
    assert figures(at)["Revenue at risk"] == ("1.1k", "100.0% of revenue")
    action = at.dataframe[1].value
    assert action["name"].tolist() == ["Alice", "Cara", "Bob"]  # by lifetime value
    assert action["clv"].tolist() == [900.0, 300.0, 200.0]
    assert any("P(alive) from the lifetime-value fit" in m.value for m in at.markdown)


def test_no_customer_in_scope_says_so(tiny_url):
    # Dan, the only partner customer, is acquired on 15 July 2024.
    at = run_page(
        {"period": "Custom", "from": "2024-01-10", "to": "2024-01-10", "channel": "partner"}
    )
    assert not at.exception
    assert any("No customers match these filters" in i.value for i in at.info)
    assert not at.metric


def test_customers_without_any_survey_answer(tiny_url):
    # Default period (3 months to 15 July 2024) for partner customers: Dan, who never answered.
    at = run_page({"channel": "partner"})
    assert not at.exception and not at.error
    assert any("No customer in view has answered" in i.value for i in at.info)
    assert figures(at)["Surveyed customers"] == ("0", "of 1 in view")
    assert any("repeat" in c.value.lower() for c in at.caption)  # the trends still show

"""The Customer value page under AppTest: hand-computed figures on the tiny store, with and
without a stored lifetime-value fit, the explicit fit action, and empty filter results.

Tiny store, 1 Apr - 30 Jun 2024, to date: Alice 280 - 10 - 100 = 170, Bob 10 - 20 - 20 = -30,
Cara 200 - 3 - 120 = 77 (Dan is acquired in July).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.storage.engine import bulk_insert, bump_data_version, create_schema, make_engine
from dashboard.storage.schema import (
    clv_runs,
    customer_clv,
    customers,
    orders,
    segment_assignments,
    segment_names,
    segment_runs,
)
from tests.services.test_lifetime_value import PORTFOLIO

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "customer_value.py")
QUARTER = {"period": "Custom", "from": "2024-04-01", "to": "2024-06-30"}


def run_page(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def figures(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def store_fit(url: str) -> None:
    """A hand-made stored fit: CLV 300 (Alice), 40 (Bob), 150 (Cara), 20 (Dan)."""
    engine = make_engine(url)
    store_fit_in(engine)
    engine.dispose()


def store_fit_in(engine) -> None:
    """:func:`store_fit` on an open engine."""
    holdout = {
        "calibration_start": "2024-01-10",
        "calibration_end": "2024-05-31",
        "holdout_end": "2024-06-30",
        "weeks": 4,
        "customers": 3,
        "actual_repeat_purchases": 20.0,
        "predicted_repeat_purchases": 21.0,
        "total_error_pct": 5.0,
        "by_frequency_mape": 8.0,
        "by_frequency": [
            {"calibration_purchases": "0", "customers": 2, "actual": 0.5, "predicted": 0.6},
            {"calibration_purchases": "1", "customers": 1, "actual": 1.0, "predicted": 0.9},
        ],
        "tracking": [
            {"week_end": "2024-05-26", "period": "calibration", "actual": 1.0, "predicted": 1.1},
            {"week_end": "2024-06-02", "period": "holdout", "actual": 2.0, "predicted": 2.0},
            {"week_end": "2024-06-09", "period": "holdout", "actual": 4.0, "predicted": 3.9},
        ],
    }
    run = {
        "run_id": 1,
        "fitted_at": datetime(2024, 7, 16, 9, 30),
        "calibration_end": date(2024, 6, 30),
        "settings": json.dumps(
            {"horizon_months": 36, "annual_discount_rate": 0.1, "portfolio_margin_share": 0.3}
        ),
        "params": json.dumps(
            {
                "bgnbd": {"r": 0.5, "alpha": 4.0, "a": 1.2, "b": 3.0},
                "gamma_gamma": {"p": 2.0, "q": 3.0, "v": 50.0},
            }
        ),
        "diagnostics": json.dumps(
            {
                "customers": 4,
                "repeat_buyers": 2,
                "mean_spend": 50.0,
                "spend_frequency_correlation": 0.05,
                "holdout": holdout,
            }
        ),
    }
    with engine.begin() as conn:
        conn.execute(clv_runs.insert().values(**run))
    scores = pd.DataFrame(
        {
            "run_id": 1,
            "customer_id": [1, 2, 3, 4],
            "frequency": [2, 1, 0, 0],
            "recency": [23.0, 16.9, 0.0, 0.0],
            "T": [24.6, 16.9, 4.3, 0.0],
            "monetary_value": [200.0, 50.0, 0.0, 0.0],
            "probability_alive": [0.9, 0.5, 0.8, 1.0],
            "expected_purchases_12m": [2.0, 0.5, 1.0, 1.0],
            "expected_spend": [180.0, 60.0, 100.0, 100.0],
            "margin_share": [0.47, 0.08, 0.5, 0.3],
            "clv": [300.0, 40.0, 150.0, 20.0],
        }
    )
    bulk_insert(engine, customer_clv, scores)
    bump_data_version(engine)


def test_profit_to_date_without_a_fit(tiny_url):
    at = run_page(QUARTER)
    assert not at.exception and not at.error
    shown = figures(at)
    assert shown["Total profit"] == "217"  # 170 - 30 + 77
    assert shown["Profit per customer"] == "72.33"  # 217 / 3
    assert shown["Customers losing money"] == "33.3%"  # Bob
    assert shown["Whale-curve peak"] == "113.8%"  # (170 + 77) / 217
    assert at.subheader[1].value == "Who loses money: 1 customers"
    # No stored fit: the page explains, offers the explicit action and the CLI command.
    assert any("No lifetime-value model" in info.value for info in at.info)
    assert at.button(key="cv_fit").label == "Fit lifetime-value model"
    assert "python -m dashboard fit --db" in at.code[0].value
    assert "Customer equity" not in shown


def test_profit_in_the_period(tiny_url):
    at = run_page({**QUARTER, "cv_basis": "In the period"})
    assert not at.exception
    # Alice 200 - 10 (acquired before), Bob -10 - 20, Cara 200 - 0 - 120.
    assert figures(at)["Total profit"] == "240"
    assert figures(at)["Whale-curve peak"] == "112.5%"  # (190 + 80) / 240


def test_profit_by_channel_table(tiny_url):
    at = run_page(QUARTER)
    at.segmented_control(key="cv_profit_group").set_value("acquisition_channel").run()
    assert not at.exception
    table = at.dataframe[0].value.set_index("acquisition_channel")
    # search: Alice 170 + Cara 77 over 2; referral: Bob; partner: nobody yet (Dan in July).
    assert table.loc["search", "profit_per_customer"] == pytest.approx(123.5)
    # Shares are shown in percent with one decimal: Bob, the one referral customer, loses money.
    assert table.loc["referral", "losing_share"] == 100.0
    assert table.loc["partner", "customers"] == 0


def test_the_fit_button_explains_why_the_tiny_store_cannot_be_fitted(tiny_url):
    at = run_page(QUARTER)
    at.button(key="cv_fit").click().run()
    assert not at.exception
    assert "The model could not be fitted" in at.error[0].value


def test_stored_fit_beside_its_holdout_accuracy(tiny_url):
    store_fit(tiny_url)
    at = run_page(QUARTER)
    assert not at.exception and not at.error
    shown = figures(at)
    # Customers acquired by 30 June: Alice, Bob and Cara. 300 + 40 + 150.
    assert shown["Customer equity"] == "490"
    assert shown["Mean CLV per customer"] == "163.33"
    assert shown["Expected customers alive"] == "2"  # 0.9 + 0.5 + 0.8 = 2.2
    assert shown["Holdout error, repeat purchases"] == "+5.0%"
    sentence = (
        "A model fitted on the orders to 31 May 2024 predicted 21 repeat purchases in the 4 "
        "weeks to 30 Jun 2024; the 3 customers it knew made 20 (+5.0%)."
    )
    assert any(sentence in caption.value for caption in at.caption)
    assert any(
        "36 months" in caption.value and "10% a year" in caption.value for caption in at.caption
    )
    # Keep vs win: all three active -> (300 + 40 + 150) / 3; won in the period: Cara, LTV
    # 200 + 150 = 350 for a CAC of 120.
    assert shown["Worth spending to keep an active customer"] == "163.33"
    assert shown["Worth spending to win a new customer"] == "350"
    assert shown["Spent to win one (mean CAC)"] == "120"
    acquisition = at.dataframe[-1].value.set_index("acquisition_channel")
    # search: LTV (280 + 300 + 200 + 150) / 2 = 465 against CAC (100 + 120) / 2 = 110.
    assert acquisition.loc["search", "ltv_to_cac"] == pytest.approx(465 / 110)
    assert at.button(key="cv_fit").label == "Refit the model now"


def test_segments_when_saved(tiny_url):
    engine = make_engine(tiny_url)
    bulk_insert(
        engine,
        segment_runs,
        pd.DataFrame(
            {
                "run_id": [1],
                "created_at": [datetime(2024, 7, 1)],
                "as_of": [date(2024, 6, 30)],
                "n_segments": [2],
                "settings": ["{}"],
                "quality": ["{}"],
            }
        ),
    )
    bulk_insert(
        engine,
        segment_assignments,
        pd.DataFrame({"run_id": 1, "customer_id": [1, 2, 3], "segment": [1, 2, 1]}),
    )
    bulk_insert(
        engine,
        segment_names,
        pd.DataFrame({"run_id": 1, "segment": [1, 2], "name": ["Champions", "Strugglers"]}),
    )
    bump_data_version(engine)
    engine.dispose()
    at = run_page(QUARTER)
    assert not at.exception
    table = at.dataframe[0].value.set_index("segment_name")
    assert table.loc["Champions", "profit"] == pytest.approx(247.0)  # Alice + Cara
    assert table.loc["Strugglers", "profit"] == pytest.approx(-30.0)


def test_no_customer_in_scope_says_so(tiny_url):
    at = run_page(
        {"period": "Custom", "from": "2024-01-10", "to": "2024-01-10", "channel": "partner"}
    )
    assert not at.exception
    assert any("No customers match these filters" in info.value for info in at.info)
    assert not at.metric


def test_no_activity_in_the_period_says_so(tiny_url):
    at = run_page(
        {
            "period": "Custom",
            "from": "2024-07-01",
            "to": "2024-07-10",
            "region": "North",
            "cv_basis": "In the period",
        }
    )
    assert not at.exception and not at.error
    assert any("No customer ordered" in info.value for info in at.info)


def test_fitting_from_the_page(tmp_path, monkeypatch):
    url = f"duckdb:///{tmp_path / 'fit.duckdb'}"
    engine = make_engine(url)
    create_schema(engine)
    bulk_insert(engine, customers, PORTFOLIO["customers"])
    bulk_insert(engine, orders, PORTFOLIO["orders"])
    bump_data_version(engine)
    engine.dispose()
    monkeypatch.setenv("DASHBOARD_DB_URL", url)
    at = run_page()
    assert "Customer equity" not in figures(at)
    at.button(key="cv_fit").click().run()
    assert not at.exception and not at.error
    shown = figures(at)
    assert "Customer equity" in shown and shown["Holdout error, repeat purchases"] != "—"

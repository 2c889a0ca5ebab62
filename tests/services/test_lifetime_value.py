"""Stored lifetime-value fits: fit from the store, save, read back, keep the latest runs.

A small synthetic portfolio (BG/NBD-like, 400 customers, 2 years) is fittable; the tiny
hand-built one is not. Customer 9001 is planted with a known history so its inputs can be
checked by hand.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Column, Float, Integer, MetaData, Table, func, select

from dashboard.cli import main
from dashboard.domain import clv
from dashboard.scope import Scope
from dashboard.services import lifetime_value
from dashboard.storage import clv_store
from dashboard.storage.engine import bulk_insert, create_schema, make_engine, read_data_version
from dashboard.storage.schema import clv_runs, customer_clv, customers, orders
from tests.fixtures import PERIOD, load_tiny

START, END = date(2022, 1, 1), date(2023, 12, 31)


def synthetic_portfolio(n: int = 400, seed: int = 3) -> dict[str, pd.DataFrame]:
    """Customers buying at gamma-distributed weekly rates, dropping out after a purchase with
    beta-distributed probabilities; margin 40 % of revenue, except customer 9001 (hand-made)."""
    rng = np.random.default_rng(seed)
    span = (END - START).days
    rows, order_rows = [], []
    for customer_id in range(1, n + 1):
        acquired = START + timedelta(days=int(rng.integers(0, int(span * 0.75))))
        rate, dropout = rng.gamma(0.9, 0.25), rng.beta(1.5, 8)
        mean_spend = rng.gamma(4, 15)
        day = acquired
        while day <= END:
            revenue = round(float(rng.gamma(6, mean_spend / 6)), 2)
            order_rows.append((customer_id, day, revenue, round(0.6 * revenue, 2)))
            if day > acquired and rng.random() < dropout:
                break
            day = day + timedelta(days=max(1, int(7 * rng.exponential(1 / rate))))
        rows.append(
            (
                customer_id,
                f"C{customer_id}",
                "North" if customer_id % 2 else "South",
                "search",
                acquired,
                50.0,
            )
        )
    # Customer 9001: first order 1 Mar 2023, two orders on 15 Mar (one purchase day), one on
    # 10 May 2023. Revenue 100 + 30 + 20 + 50 = 200, cost 50 + 20 + 10 + 40 = 120: margin 40 %.
    rows.append((9001, "Planted", "South", "referral", date(2023, 3, 1), 10.0))
    order_rows += [
        (9001, date(2023, 3, 1), 100.0, 50.0),
        (9001, date(2023, 3, 15), 30.0, 20.0),
        (9001, date(2023, 3, 15), 20.0, 10.0),
        (9001, date(2023, 5, 10), 50.0, 40.0),
    ]
    customer_frame = pd.DataFrame(
        rows,
        columns=[
            "customer_id",
            "name",
            "region",
            "acquisition_channel",
            "acquired_at",
            "acquisition_cost",
        ],
    )
    order_frame = pd.DataFrame(order_rows, columns=["customer_id", "ordered_at", "revenue", "cost"])
    order_frame.insert(0, "order_id", np.arange(1, len(order_frame) + 1))
    return {"customers": customer_frame, "orders": order_frame}


PORTFOLIO = synthetic_portfolio()


@pytest.fixture
def fit_engine(store_url):
    engine = make_engine(store_url)
    create_schema(engine)
    bulk_insert(engine, customers, PORTFOLIO["customers"])
    bulk_insert(engine, orders, PORTFOLIO["orders"])
    yield engine
    engine.dispose()


def holdout_repeat_days_by_hand(check_end: date) -> int:
    """Distinct (customer, day) purchases after check_end by customers who bought by then."""
    frame = PORTFOLIO["orders"]
    first = frame.groupby("customer_id")["ordered_at"].min()
    known = first[first <= check_end].index
    later = frame[(frame["ordered_at"] > check_end) & frame["customer_id"].isin(known)]
    return len(later[["customer_id", "ordered_at"]].drop_duplicates())


def repeat_days_by_hand(check_end: date) -> int:
    """Repeat purchase days to the end of the customers who bought by check_end."""
    frame = PORTFOLIO["orders"]
    first = frame.groupby("customer_id")["ordered_at"].min()
    known = frame[frame["customer_id"].isin(first[first <= check_end].index)]
    days = known[["customer_id", "ordered_at"]].drop_duplicates()
    return len(days) - days["customer_id"].nunique()


def test_fit_save_and_read_back(fit_engine):
    before = read_data_version(fit_engine)
    steps = []
    run = lifetime_value.fit_and_save(
        fit_engine, holdout_weeks=26, progress=lambda f, m: steps.append(f)
    )
    assert steps[-1] == 1.0 and steps == sorted(steps)
    assert read_data_version(fit_engine) != before
    stored = clv_store.latest_run(fit_engine)
    assert stored.run_id == run.run_id == 1
    assert stored.calibration_end == END  # the latest order date
    assert stored.params == run.params
    assert set(stored.params["bgnbd"]) == {"r", "alpha", "a", "b"}
    assert stored.settings["horizon_months"] == 36
    assert stored.settings["portfolio_margin_share"] == pytest.approx(0.4, abs=0.01)

    # The holdout check: its model saw the data to 26 weeks before the end.
    holdout = stored.holdout
    check_end = END - timedelta(weeks=26)
    assert holdout["calibration_end"] == check_end.isoformat()
    assert holdout["actual_repeat_purchases"] == holdout_repeat_days_by_hand(check_end)
    predicted, actual = holdout["predicted_repeat_purchases"], holdout["actual_repeat_purchases"]
    assert holdout["total_error_pct"] == pytest.approx(100 * (predicted - actual) / actual)
    by_frequency = stored.holdout_by_frequency()
    assert by_frequency["customers"].sum() == holdout["customers"]
    # Weighted mean of the actual per-customer means is the actual total.
    assert (by_frequency["actual"] * by_frequency["customers"]).sum() == pytest.approx(actual)
    # Week by week from the first purchase: all repeat days of those customers to the end.
    tracking = stored.holdout_tracking()
    assert tracking["actual_weekly"].sum() == repeat_days_by_hand(check_end)
    assert tracking["actual"].iloc[-1] == repeat_days_by_hand(check_end)
    assert set(tracking["period"]) == {"calibration", "holdout"}
    assert stored.holdout_start == check_end + timedelta(days=1)


def test_customer_rows(fit_engine):
    run = lifetime_value.fit_and_save(fit_engine)
    scored = clv_store.scored_customers(fit_engine, Scope(*PERIOD), run.run_id)
    assert len(scored) == PORTFOLIO["customers"].shape[0]  # every customer has an order
    planted = scored.set_index("customer_id").loc["9001"]
    # Purchase days 1 Mar, 15 Mar, 10 May 2023: 2 repeat days; recency 70 days; T to 31 Dec.
    assert planted["frequency"] == 2
    assert planted["recency"] == pytest.approx(70 / 7)
    assert planted["T"] == pytest.approx((END - date(2023, 3, 1)).days / 7)
    assert planted["monetary_value"] == pytest.approx((50 + 50) / 2)
    assert planted["margin_share"] == pytest.approx(80 / 200)
    # CLV = margin share x discounted expected revenue of the stored models.
    bgnbd = clv.BetaGeoModel.from_params(run.params["bgnbd"])
    spend = clv.GammaGammaModel.from_params(run.params["gamma_gamma"])
    revenue = clv.customer_lifetime_value(bgnbd, spend, 2, 10.0, planted["T"], 50.0)
    assert planted["clv"] == pytest.approx(0.4 * float(revenue))
    assert 0 < planted["probability_alive"] <= 1
    assert scored["clv"].notna().all() and (scored["expected_purchases_12m"] >= 0).all()
    south = clv_store.scored_customers(
        fit_engine, replace(Scope(*PERIOD), regions=("South",)), run.run_id
    )
    assert len(south) == 201  # 200 even ids + the planted customer


def test_only_the_latest_runs_are_kept(fit_engine, monkeypatch):
    monkeypatch.setattr(clv_store, "KEEP_RUNS", 2)
    for _ in range(3):
        run = lifetime_value.fit_and_save(fit_engine, calibration_end=date(2023, 12, 1))
    assert run.run_id == 3 and run.calibration_end == date(2023, 12, 1)
    with fit_engine.connect() as conn:
        runs = conn.execute(select(clv_runs.c.run_id).order_by(clv_runs.c.run_id)).scalars()
        assert list(runs) == [2, 3]
        assert conn.execute(select(func.min(customer_clv.c.run_id))).scalar_one() == 2
    assert clv_store.latest_run(fit_engine).run_id == 3


def test_short_history_fits_without_a_holdout(fit_engine):
    # 30 weeks of data cannot leave 26 out and fit on as long a period before them.
    run = lifetime_value.fit_and_save(
        fit_engine, holdout_weeks=26, calibration_end=date(2022, 7, 30)
    )
    assert run.holdout is None and "too short a history" in run.holdout_error
    assert run.holdout_by_frequency().empty and run.holdout_tracking().empty
    stored = json.loads(json.dumps(run.diagnostics))
    assert stored["customers"] > 0


def test_tiny_store_cannot_be_fitted(tiny_engine):
    assert clv_store.latest_run(tiny_engine) is None
    with pytest.raises(clv.ModelIdentificationError):
        lifetime_value.fit_and_save(tiny_engine, holdout_weeks=4)
    assert clv_store.latest_run(tiny_engine) is None  # nothing written
    assert lifetime_value.fit_if_possible(tiny_engine) is None


def test_store_without_orders(tmp_path):
    engine = make_engine(f"duckdb:///{tmp_path / 'empty.duckdb'}")
    create_schema(engine)
    with pytest.raises(clv.ModelIdentificationError, match="no orders"):
        lifetime_value.fit_and_save(engine)


def test_an_older_table_layout_is_replaced(fit_engine):
    # A store made before customer_clv had expected_spend and margin_share.
    old = MetaData()
    Table(
        "customer_clv",
        old,
        Column("run_id", Integer, primary_key=True),
        Column("customer_id", Integer, primary_key=True),
        Column("clv", Float),
    )
    customer_clv.drop(fit_engine)
    old.create_all(fit_engine)
    run = lifetime_value.fit_and_save(fit_engine)
    assert len(clv_store.scored_customers(fit_engine, Scope(*PERIOD), run.run_id)) == 401


def test_partial_last_week_can_be_left_out(fit_engine):
    # Weeks count from the first purchase; ending 3 days into week 91 leaves a partial week.
    first = PORTFOLIO["orders"]["ordered_at"].min()
    run = lifetime_value.fit_and_save(
        fit_engine, calibration_end=first + timedelta(days=7 * 90 + 2)
    )
    full = run.holdout_tracking()
    assert (full["week_end"].iloc[-1] - full["week_end"].iloc[-2]).days == 3
    complete = run.holdout_tracking(complete_weeks_only=True)
    assert len(complete) == len(full) - 1
    assert (complete["week_end"].diff().dropna().dt.days == 7).all()


def test_fit_command(tmp_path, capsys):
    url = f"duckdb:///{tmp_path / 'cli.duckdb'}"
    engine = make_engine(url)
    create_schema(engine)
    bulk_insert(engine, customers, PORTFOLIO["customers"])
    bulk_insert(engine, orders, PORTFOLIO["orders"])
    engine.dispose()
    assert main(["fit", "--db", url, "--holdout-weeks", "13", "--horizon-months", "24"]) == 0
    out = capsys.readouterr().out
    assert "Saved fit 1: 401 customers" in out and "Holdout check, 13 weeks" in out
    run = clv_store.latest_run(make_engine(url))
    assert (run.horizon_months, run.settings["holdout_weeks"]) == (24, 13)
    assert main(["fit", "--db", url, "--discount-rate", "1.5"]) == 2
    assert "annual_discount_rate" in capsys.readouterr().err


def test_fit_command_on_data_that_cannot_be_fitted(tmp_path, capsys):
    url = f"duckdb:///{tmp_path / 'tiny.duckdb'}"
    load_tiny(make_engine(url))
    assert main(["fit", "--db", url]) == 1
    assert "cannot be fitted" in capsys.readouterr().err

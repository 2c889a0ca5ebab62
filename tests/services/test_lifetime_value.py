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
    planted = scored.set_index("customer_id").loc[9001]
    # Purchase days 1 Mar, 15 Mar, 10 May 2023: 2 repeat days; recency 70 days; T to 31 Dec.
    assert planted["frequency"] == 2
    assert planted["recency"] == pytest.approx(70 / 7)
    assert planted["T"] == pytest.approx((END - date(2023, 3, 1)).days / 7)
    assert planted["monetary_value"] == pytest.approx((50 + 50) / 2)
    assert planted["margin_share"] == pytest.approx(80 / 200)
    # CLV = margin share x discounted expected revenue of the stored models.
    # (the purchase model the fit chose: both are fitted, one scores).
    model_class = {"bgnbd": clv.BetaGeoModel, "pareto_nbd": clv.ParetoNBDModel}
    purchase = model_class[run.purchase_model].from_params(run.params[run.purchase_model])
    spend = clv.GammaGammaModel.from_params(run.params["gamma_gamma"])
    revenue = clv.customer_lifetime_value(purchase, spend, 2, 10.0, planted["T"], 50.0)
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


# --------------------------------------------------------------------------------------
# Issue 13: both purchase models, the choice, intervals, what-if columns, old stores
# --------------------------------------------------------------------------------------


def test_both_models_are_compared_and_the_rule_chooses(fit_engine):
    run = lifetime_value.fit_and_save(fit_engine)
    choice = run.diagnostics["model_choice"]
    assert set(choice["models"]) == {"bgnbd", "pareto_nbd"}
    mae = {name: check["holdout_mae"] for name, check in choice["models"].items()}
    ll = {name: check["log_likelihood"] for name, check in choice["models"].items()}
    # The stated rule: lower MAE unless within 1 %, then higher log-likelihood.
    gap = abs(mae["bgnbd"] - mae["pareto_nbd"]) / min(mae.values())
    expected = min(mae, key=mae.get) if gap > 0.01 else max(ll, key=ll.get)
    assert run.purchase_model == expected == choice["auto"]
    assert clv_store.latest_run(fit_engine).purchase_model == expected
    # The stored holdout is the chosen model's; both models' parameters are stored.
    assert run.holdout == {**choice["models"][expected]["holdout"], "chosen": expected}
    assert set(run.params["pareto_nbd"]) == {"r", "alpha", "s", "beta"}
    assert len(run.params["covariance"]["purchase"]) == 4
    table = lifetime_value.model_comparison(run)
    assert list(table["chosen"]) == [name == expected for name in table["model"]]
    lines = lifetime_value.describe_model_choice(run)
    assert lines[-1].startswith("Customer equity") and "90% interval" in lines[-1]

    other = "bgnbd" if expected == "pareto_nbd" else "pareto_nbd"
    forced = lifetime_value.fit_and_save(fit_engine, model=other.replace("_", ""))
    assert forced.purchase_model == other
    assert "chosen by hand over the rule" in forced.diagnostics["model_choice"]["reason"]
    with pytest.raises(ValueError, match="model must be one of"):
        lifetime_value.fit_and_save(fit_engine, model="gamma")


def test_intervals_per_customer_and_for_any_scope(fit_engine):
    run = lifetime_value.fit_and_save(fit_engine)
    scope = Scope(*PERIOD)
    scored = clv_store.scored_customers(fit_engine, scope, run.run_id)
    assert (scored["clv_low"] <= scored["clv"] + 1e-9).all()
    assert (scored["clv"] <= scored["clv_high"] + 1e-9).all()
    assert (scored["clv_high"] > scored["clv_low"]).mean() > 0.9
    as_of = END
    sums = clv_store.draw_sums(fit_engine, scope, run, as_of)
    assert sums["customers"].sum() == len(scored)
    assert sums["clv"].sum() == pytest.approx(scored["clv"].sum())
    assert sums["clv"].sum() == pytest.approx(run.diagnostics["customer_equity"])
    south_scope = replace(scope, regions=("South",))
    south = clv_store.draw_sums(fit_engine, south_scope, run, as_of)
    south_rows = clv_store.scored_customers(fit_engine, south_scope, run.run_id)
    assert south["clv"].sum() == pytest.approx(south_rows["clv"].sum())
    # CLV at dropout -50 % is above the fit's, at +50 % below it, customer by customer summed.
    total = sums.sum(numeric_only=True)
    assert total["margin_value_discounted_revenue"] == pytest.approx(total["clv"])
    assert total["revenue_dropout_m50"] > total["discounted_revenue"] > total["revenue_dropout_p50"]

    from dashboard.services.views import customer_value

    intervals = customer_value.value_intervals(sums, run)
    equity = intervals.equity
    assert equity.low < equity.point < equity.high
    assert (equity.low, equity.high) == pytest.approx(
        (run.diagnostics["customer_equity_low"], run.diagnostics["customer_equity_high"])
    )
    south_equity = customer_value.value_intervals(south, run).equity
    # A scope's interval is that of its own total: narrower in money than the whole's, and not
    # the sum of its customers' interval ends.
    assert south_equity.high - south_equity.low < equity.high - equity.low
    assert south_equity.high < south_rows["clv_high"].sum()
    alive = intervals.expected_alive
    assert alive.low < scored["probability_alive"].sum() < alive.high


OLD_CUSTOMER_CLV = (
    "run_id", "customer_id", "frequency", "recency", "T", "monetary_value", "probability_alive",
    "expected_purchases_12m", "expected_spend", "margin_share", "clv",
)  # fmt: skip


def _plain(column: Column) -> Column:
    return Column(
        column.name, column.type, primary_key=column.primary_key, nullable=column.nullable,
        autoincrement=False,
    )  # fmt: skip


def _old_layout(engine) -> None:
    """The CLV tables as stores created before issue 13 have them, with one run."""
    metadata = MetaData()
    old_runs = Table(
        "clv_runs",
        metadata,
        *[_plain(c) for c in clv_runs.c if c.name != "purchase_model"],
    )
    old_customers = Table(
        "customer_clv",
        metadata,
        *[_plain(c) for c in customer_clv.c if c.name in OLD_CUSTOMER_CLV],
    )
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            old_runs.insert().values(
                run_id=1, fitted_at=pd.Timestamp("2024-01-02 10:00").to_pydatetime(),
                calibration_end=END, settings=json.dumps({"horizon_months": 36,
                "annual_discount_rate": 0.1}), params=json.dumps({"bgnbd": {}}),
                diagnostics=json.dumps({}),
            )
        )  # fmt: skip
        conn.execute(
            old_customers.insert().values(
                run_id=1, customer_id=1, frequency=1, recency=1.0, T=2.0, monetary_value=10.0,
                probability_alive=0.5, expected_purchases_12m=1.0, expected_spend=10.0,
                margin_share=0.4, clv=12.0,
            )
        )  # fmt: skip


def test_a_store_from_before_intervals_still_opens_and_refits(store_url):
    engine = make_engine(store_url)
    try:
        bulk_insert_tables = [customers, orders]
        for table in bulk_insert_tables:
            table.create(engine, checkfirst=True)
        bulk_insert(engine, customers, PORTFOLIO["customers"])
        bulk_insert(engine, orders, PORTFOLIO["orders"])
        _old_layout(engine)
        assert not clv_store.has_interval_layout(engine)
        run = clv_store.latest_run(engine)
        assert run.run_id == 1 and run.purchase_model == "bgnbd" and not run.has_intervals
        scored = clv_store.scored_customers(engine, Scope(*PERIOD), 1)
        assert scored["clv"].tolist() == [12.0] and scored["clv_low"].isna().all()
        assert clv_store.draw_sums(engine, Scope(*PERIOD), run, END) is None
        # The next fit recreates the derived tables with the new columns.
        fitted = lifetime_value.fit_and_save(engine)
        assert clv_store.has_interval_layout(engine)
        assert clv_store.latest_run(engine).run_id == fitted.run_id
        assert clv_store.draw_sums(engine, Scope(*PERIOD), fitted, END) is not None
    finally:
        engine.dispose()


def test_what_if_view_and_its_csv(fit_engine):
    import io

    from dashboard.domain.clv.scenario import ChannelAcquisition, Scenario
    from dashboard.services import exports
    from dashboard.services.views import customer_value

    run = lifetime_value.fit_and_save(fit_engine)
    scope = Scope(*PERIOD)
    today = customer_value.what_if(fit_engine, scope, Scenario())
    assert today.result.equity == pytest.approx(run.diagnostics["customer_equity"])
    assert set(today.channels["acquisition_channel"]) == {"search", "referral"}
    scenario = Scenario(spend_change=0.1, acquisition=(ChannelAcquisition("search", 10, 5.0),))
    view = customer_value.what_if(fit_engine, scope, scenario)
    search = today.channels.set_index("acquisition_channel").loc["search"]
    expected = 1.1 * today.result.equity + 10 * (1.1 * search["value_per_customer"] - 5.0)
    assert view.result.equity == pytest.approx(expected)
    back = pd.read_csv(io.BytesIO(exports.csv_bytes(view.export_frame())))
    row = back.set_index("figure").loc["Customer equity"]
    assert row["scenario"] == pytest.approx(expected)
    assert row["scenario_low"] < row["scenario"] < row["scenario_high"]
    assert back.set_index("figure").loc["Spend per order change", "scenario"] == 0.1

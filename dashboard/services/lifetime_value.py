"""Use case: fit the lifetime-value models on the store, check them on a holdout, store the run.

Fitting is heavy, so it never happens on a page view: it runs on an explicit action (the
"Fit lifetime-value model" button, ``python -m dashboard fit``, or right after the first-run
demo build through :func:`fit_if_possible`). What a fit does (``docs/customer-value.md`` gives
the reasons):

1. reads the orders up to ``calibration_end`` (default: the latest order date) aggregated in
   the database to one row per customer and day (revenue, gross margin);
2. holdout check: fits BG/NBD on the data up to ``calibration_end - holdout_weeks`` and
   compares its predictions for the last ``holdout_weeks`` with what customers actually did
   (in total, week by week, and by number of past repeat purchases);
3. refits BG/NBD and Gamma-Gamma (on revenue per purchase day) on all data to
   ``calibration_end`` and scores every customer: probability alive, expected purchases in the
   next 12 months, expected revenue per purchase and CLV;
4. CLV margin: each customer's own gross margin / revenue over their orders to
   ``calibration_end`` (clipped to [-1, 1]; the portfolio's where a customer has no revenue),
   applied to the expected revenue;
5. stores the run (:func:`dashboard.storage.clv_store.save_run`, which keeps the latest
   ``KEEP_RUNS`` and bumps the data version).

Importing this module loads SciPy (the model library); pages that only read a stored fit never
import it.
"""

from __future__ import annotations

import math
import time
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from dashboard.domain import clv
from dashboard.storage import clv_store
from dashboard.storage.engine import Progress, StoreLocation

# Re-exported: what fit_and_save raises when the store refuses the write, for callers (the
# Customer value page) that do not import dashboard.storage.
from dashboard.storage.engine import StoreError as StoreError

#: Weeks in 12 months (365.25 / 7) for ``expected_purchases_12m``.
WEEKS_PER_YEAR = 365.25 / 7
#: Holdout groups by calibration repeat purchases: 0, 1, ..., 6, "7+".
MAX_FREQUENCY_GROUP = 7
#: How the CLV margin is chosen (stored with each fit, shown beside every CLV figure).
MARGIN_RULE = clv_store.MARGIN_RULE


def fit_and_save(
    engine: Engine,
    *,
    calibration_end: date | None = None,
    holdout_weeks: int = 26,
    horizon_months: int = 36,
    annual_discount_rate: float = 0.10,
    progress: Progress | None = None,
) -> clv_store.ClvRun:
    """Fit BG/NBD and Gamma-Gamma on the store, check them on a holdout, save and return the run.

    Parameters
    ----------
    engine : Engine
        The store (contract tables readable, app tables writable).
    calibration_end : date, optional
        Last day of data used; default the latest order date.
    holdout_weeks : int
        Length of the holdout check at the end of the data, weeks (the check's model is fitted
        on the data before it).
    horizon_months, annual_discount_rate :
        CLV horizon (months) and yearly discount rate.
    progress : callable, optional
        ``progress(fraction, message)`` as the fit advances.

    Raises
    ------
    dashboard.domain.clv.ModelIdentificationError
        The data cannot identify the models (too few customers or no repeat purchases); the
        message says why. Nothing is written then.
    dashboard.storage.engine.StoreError
        The store refused the write (e.g. a read-only warehouse user).
    """
    report = progress or (lambda fraction, message: None)
    if holdout_weeks < 1:
        raise ValueError(f"holdout_weeks must be at least 1, got {holdout_weeks}")
    if horizon_months < 1:
        raise ValueError(f"horizon_months must be at least 1, got {horizon_months}")
    if not (math.isfinite(annual_discount_rate) and 0 <= annual_discount_rate < 1):
        raise ValueError(
            f"annual_discount_rate is a yearly rate from 0 to 1 (0.10 for 10%), got "
            f"{annual_discount_rate}"
        )
    started = time.perf_counter()
    report(0.05, "Reading purchase days…")
    if calibration_end is None:
        calibration_end = clv_store.last_order_date(engine)
        if calibration_end is None:
            raise clv.ModelIdentificationError("the store has no orders: nothing to fit")
    days = clv_store.purchase_days(engine, calibration_end)
    if days.empty:
        raise clv.ModelIdentificationError(f"no orders up to {calibration_end}: nothing to fit")

    report(0.25, f"Holdout check: predicting the last {holdout_weeks} weeks…")
    holdout = _holdout_check(days, calibration_end, holdout_weeks)

    report(0.5, "Fitting purchase and spend models on all the data…")
    scores, params, fit_diagnostics = _fit_and_score(
        days, calibration_end, horizon_months, annual_discount_rate
    )

    report(0.85, "Saving the predictions…")
    portfolio_margin = _portfolio_margin_share(days)
    settings = {
        "horizon_months": int(horizon_months),
        "annual_discount_rate": float(annual_discount_rate),
        "monthly_discount_rate": clv.monthly_discount_rate(annual_discount_rate),
        "time_unit": clv_store.TIME_UNIT,
        "holdout_weeks": int(holdout_weeks),
        "margin_rule": MARGIN_RULE,
        "portfolio_margin_share": portfolio_margin,
    }
    diagnostics = {
        **fit_diagnostics,
        "holdout": holdout,
        "fit_seconds": round(time.perf_counter() - started, 2),
    }
    run = clv_store.save_run(engine, calibration_end, settings, params, diagnostics, scores)
    report(1.0, "Lifetime-value model fitted and saved.")
    return run


def fit_command(url: str) -> str:
    """The command line that fits the store at ``url`` (password hidden), to show on a page."""
    return f'python -m dashboard fit --db "{StoreLocation(url, "current").display_url}"'


def fit_if_possible(engine: Engine, *, progress: Progress | None = None) -> clv_store.ClvRun | None:
    """:func:`fit_and_save` with the default settings; None when the data cannot be fitted.

    Meant for the first-run demo build: a portfolio too small or too young to fit must not
    stop the app from opening (the page then explains and offers the fit button).
    """
    try:
        return fit_and_save(engine, progress=progress)
    except clv.ModelIdentificationError:
        return None


def _holdout_check(days: pd.DataFrame, calibration_end: date, holdout_weeks: int) -> dict[str, Any]:
    """Fit on the data before the holdout weeks and compare with what happened in them."""
    check_end = calibration_end - timedelta(weeks=holdout_weeks)
    first_day = days["ordered_at"].min().date()
    # The calibration part must be at least as long as the holdout it predicts.
    if (check_end - first_day).days < holdout_weeks * 7:
        return {
            "error": (
                f"the data start on {first_day:%d %b %Y}: too short a history to leave "
                f"{holdout_weeks} weeks out and fit on at least as long a period before them"
            )
        }
    split = clv.calibration_holdout_split(
        days, "customer_id", "ordered_at", check_end, calibration_end, time_unit=clv_store.TIME_UNIT
    )
    try:
        model = clv.BetaGeoModel().fit(split["frequency"], split["recency"], split["T"])
    except clv.ModelIdentificationError as exc:
        return {"error": f"the model cannot be fitted on the data before the holdout: {exc}"}
    comparison = clv.holdout_comparison(
        model,
        split,
        days,
        customer_id_col="customer_id",
        datetime_col="ordered_at",
        calibration_end=check_end,
        holdout_end=calibration_end,
        time_unit=clv_store.TIME_UNIT,
        max_frequency=MAX_FREQUENCY_GROUP,
    )
    totals = comparison.totals.set_index(["period", "series"])["repeat_purchases"]
    by_frequency = comparison.by_frequency.pivot_table(
        index=["calibration_purchases", "customers"],
        columns="series",
        values="holdout_purchases_per_customer",
        observed=True,
    ).reset_index()
    tracking = (
        comparison.tracking.pivot_table(
            index=["period_end", "period"], columns="series", values="cumulative_repeat_purchases"
        )
        .reset_index()
        .sort_values("period_end")
    )
    return {
        "calibration_start": f"{first_day:%Y-%m-%d}",
        "calibration_end": f"{check_end:%Y-%m-%d}",
        "holdout_end": f"{calibration_end:%Y-%m-%d}",
        "weeks": int(holdout_weeks),
        "customers": len(split),
        "params": model.params_,
        "actual_repeat_purchases": float(totals[("holdout", "actual")]),
        "predicted_repeat_purchases": float(totals[("holdout", "predicted")]),
        "total_error_pct": _finite(comparison.holdout_total_error_pct),
        "calibration_total_error_pct": _finite(comparison.calibration_total_error_pct),
        "by_frequency_mape": _finite(comparison.by_frequency_mape),
        "tracking_holdout_mape": _finite(comparison.tracking_holdout_mape),
        "by_frequency": [
            {
                "calibration_purchases": str(row.calibration_purchases),
                "customers": int(row.customers),
                "actual": _finite(row.actual),
                "predicted": _finite(row.predicted),
            }
            for row in by_frequency.itertuples()
        ],
        "tracking": [
            {
                "week_end": f"{row.period_end:%Y-%m-%d}",
                "period": row.period,
                "actual": float(row.actual),
                "predicted": float(row.predicted),
            }
            for row in tracking.itertuples()
        ],
    }


def _fit_and_score(
    days: pd.DataFrame, calibration_end: date, horizon_months: int, annual_discount_rate: float
) -> tuple[pd.DataFrame, dict, dict]:
    """Fit both models on all purchase days to ``calibration_end`` and score every customer."""
    summary = clv.rfm_summary(
        days,
        "customer_id",
        "ordered_at",
        "revenue",
        observation_period_end=calibration_end,
        time_unit=clv_store.TIME_UNIT,
    )
    frequency, recency, age = summary["frequency"], summary["recency"], summary["T"]
    bgnbd = clv.BetaGeoModel().fit(frequency, recency, age)
    repeat = frequency > 0
    # Repeat days worth nothing (free or refunded orders) cannot enter Gamma-Gamma; score them
    # as if their repeat spend were a cent, which the model shrinks towards the mean.
    monetary = summary["monetary_value"].where(~repeat | (summary["monetary_value"] > 0), 0.01)
    spend_fit = repeat & (summary["monetary_value"] > 0)
    gamma_gamma = clv.GammaGammaModel().fit(frequency[spend_fit], monetary[spend_fit])
    expected_spend = gamma_gamma.expected_spend(frequency, monetary)
    discounted_revenue = clv.customer_lifetime_value(
        bgnbd,
        gamma_gamma,
        frequency,
        recency,
        age,
        monetary,
        horizon_months=horizon_months,
        margin=1.0,
        annual_discount_rate=annual_discount_rate,
    )
    margin_share = _customer_margin_share(days).reindex(summary.index)
    margin_share = margin_share.fillna(_portfolio_margin_share(days))
    scores = pd.DataFrame(
        {
            "customer_id": summary.index.to_numpy(),
            "frequency": frequency.to_numpy(dtype=np.int64),
            "recency": recency.to_numpy(),
            "T": age.to_numpy(),
            "monetary_value": summary["monetary_value"].to_numpy(),
            "probability_alive": bgnbd.probability_alive(frequency, recency, age),
            "expected_purchases_12m": bgnbd.expected_purchases(
                WEEKS_PER_YEAR, frequency, recency, age
            ),
            "expected_spend": expected_spend,
            "margin_share": margin_share.to_numpy(),
            "clv": discounted_revenue * margin_share.to_numpy(),
        }
    )
    if not np.isfinite(scores["clv"]).all():
        raise clv.ModelIdentificationError(
            "the spend model has no finite mean (Gamma-Gamma q <= 1): lifetime values would be "
            "infinite; more repeat buyers are needed"
        )
    with np.errstate(invalid="ignore"):
        correlation = float(np.corrcoef(frequency[spend_fit], monetary[spend_fit])[0, 1])
    params = {"bgnbd": bgnbd.params_, "gamma_gamma": gamma_gamma.params_}
    diagnostics = {
        "customers": len(summary),
        "repeat_buyers": int(repeat.sum()),
        "bgnbd_log_likelihood": bgnbd.log_likelihood_,
        "gamma_gamma_log_likelihood": gamma_gamma.log_likelihood_,
        "spend_frequency_correlation": _finite(correlation),
        "mean_spend": float(gamma_gamma.expected_spend(0, 0)),
        "customer_equity": float(scores["clv"].sum()),
    }
    return scores, params, diagnostics


def _customer_margin_share(days: pd.DataFrame) -> pd.Series:
    """Each customer's gross margin / revenue, clipped to [-1, 1]; NaN without revenue."""
    totals = days.groupby("customer_id")[["revenue", "gross_margin"]].sum()
    share = totals["gross_margin"] / totals["revenue"].where(totals["revenue"] > 0)
    return share.clip(-1.0, 1.0)


def _portfolio_margin_share(days: pd.DataFrame) -> float:
    revenue = float(days["revenue"].sum())
    return float(days["gross_margin"].sum()) / revenue if revenue > 0 else 0.0


def _finite(value: float | None) -> float | None:
    """A float for JSON: None for NaN or infinity."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None

"""Fit the lifetime-value models on the store, save the run, and read the latest one back.

Fitting is heavy, so it never happens on a page view: it runs on an explicit action (the
"Fit lifetime-value model" button, ``python -m dashboard fit``, or right after the first-run
demo build through :func:`fit_if_possible`) and is stored in two app tables:

- ``clv_runs``: one row per fit with its settings, parameters and diagnostics (JSON), among
  them the holdout check (predicted against actual repeat purchases);
- ``customer_clv``: one row per customer of the run with the model's inputs and predictions.

What a fit does (``docs/customer-value.md`` gives the reasons):

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
5. saves the run (keeping the latest :data:`KEEP_RUNS`) and bumps the data version.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from dashboard.scope import Scope
from dashboard.storage.engine import (
    Progress,
    StoreError,
    bulk_insert,
    bump_data_version,
    ensure_app_tables,
    has_tables,
)
from dashboard.storage.schema import clv_runs, customer_clv, orders
from dashboard.storage.sql import customer_scope, read_frame

#: Time unit of the stored recency and T (weeks), as in the BG/NBD paper.
TIME_UNIT = "W"
#: Weeks in 12 months (365.25 / 7) for ``expected_purchases_12m``.
WEEKS_PER_YEAR = 365.25 / 7
#: Fits kept in the store (older ones are deleted with their customer rows).
KEEP_RUNS = 3
#: Holdout groups by calibration repeat purchases: 0, 1, ..., 6, "7+".
MAX_FREQUENCY_GROUP = 7
#: How the CLV margin is chosen, as shown beside every CLV figure.
MARGIN_RULE = (
    "each customer's own gross margin % on their orders to the fit date (the portfolio's "
    "when they have no revenue), clipped to -100 %..100 %"
)


@dataclass(frozen=True)
class ClvRun:
    """A stored fit: when, on what data, with which settings, parameters and diagnostics.

    ``settings``: ``horizon_months``, ``annual_discount_rate``, ``time_unit``,
    ``holdout_weeks``, ``margin_rule``, ``portfolio_margin_share``. ``params``: ``bgnbd``
    (r, alpha in weeks, a, b) and ``gamma_gamma`` (p, q, v in currency units).
    ``diagnostics``: ``customers``, ``repeat_buyers``, log-likelihoods, fit time,
    ``spend_frequency_correlation`` and ``holdout`` (see :meth:`holdout`).
    """

    run_id: int
    fitted_at: datetime
    calibration_end: date
    settings: dict[str, Any] = field(hash=False)
    params: dict[str, Any] = field(hash=False)
    diagnostics: dict[str, Any] = field(hash=False)

    @property
    def horizon_months(self) -> int:
        return int(self.settings["horizon_months"])

    @property
    def annual_discount_rate(self) -> float:
        return float(self.settings["annual_discount_rate"])

    @property
    def holdout(self) -> dict[str, Any] | None:
        """The holdout check, or None when it could not be run (see ``holdout_error``)."""
        holdout = self.diagnostics.get("holdout")
        return holdout if holdout and "error" not in holdout else None

    @property
    def holdout_error(self) -> str | None:
        """Why the holdout check could not be run, if it could not."""
        holdout = self.diagnostics.get("holdout") or {}
        return holdout.get("error")

    def describe_settings(self) -> str:
        """The CLV settings in one line, to show beside every CLV figure."""
        return (
            f"CLV over the next {self.horizon_months} months, discounted at "
            f"{100 * self.annual_discount_rate:.0f}% a year, on gross margin ({MARGIN_RULE}); "
            f"fitted {self.fitted_at:%d %b %Y %H:%M} on orders to {self.calibration_end:%d %b %Y}"
        )

    def holdout_by_frequency(self) -> pd.DataFrame:
        """Holdout purchases per customer by calibration repeat purchases, actual and predicted.

        Columns ``calibration_purchases`` ("0".."7+"), ``customers``, ``actual``, ``predicted``
        (mean repeat purchases per customer in the holdout weeks). Empty without a holdout.
        """
        rows = (self.holdout or {}).get("by_frequency", [])
        return pd.DataFrame(
            rows, columns=["calibration_purchases", "customers", "actual", "predicted"]
        )

    def holdout_tracking(self, *, complete_weeks_only: bool = False) -> pd.DataFrame:
        """Repeat purchases week by week, actual and predicted, over calibration and holdout.

        Columns ``week_end`` (datetime; the last week may be partial), ``period``
        ("calibration"/"holdout"), ``actual`` and ``predicted`` (cumulative since the first
        customer's first purchase), ``actual_weekly`` and ``predicted_weekly`` (in the week).
        Empty without a holdout. ``complete_weeks_only`` drops a last, partial week (its
        count would look like a slump).
        """
        rows = (self.holdout or {}).get("tracking", [])
        frame = pd.DataFrame(rows, columns=["week_end", "period", "actual", "predicted"])
        frame["week_end"] = pd.to_datetime(frame["week_end"])
        for series in ("actual", "predicted"):
            frame[f"{series}_weekly"] = frame[series].diff().fillna(frame[series])
        if complete_weeks_only and len(frame) > 1:
            last_week_days = (frame["week_end"].iloc[-1] - frame["week_end"].iloc[-2]).days
            if last_week_days < 7:
                frame = frame.iloc[:-1]
        return frame

    @property
    def holdout_fit_end(self) -> date | None:
        """Last day of the data the holdout check's model was fitted on."""
        if self.holdout is None:
            return None
        return date.fromisoformat(self.holdout["calibration_end"])

    def describe_holdout(self) -> str:
        """The holdout check in one sentence (predicted against actual repeat purchases)."""
        holdout = self.holdout
        if holdout is None:
            return f"No holdout check: {self.holdout_error}."
        return (
            f"A model fitted on the orders to {self.holdout_fit_end:%d %b %Y} predicted "
            f"{holdout['predicted_repeat_purchases']:,.0f} repeat purchases in the "
            f"{holdout['weeks']} weeks to {self.calibration_end:%d %b %Y}; the "
            f"{holdout['customers']:,} customers it knew made "
            f"{holdout['actual_repeat_purchases']:,.0f} ({holdout['total_error_pct']:+.1f}%)."
        )

    @property
    def holdout_start(self) -> date | None:
        """First day of the holdout weeks (the day after the check's calibration end)."""
        if self.holdout is None:
            return None
        return date.fromisoformat(self.holdout["calibration_end"]) + timedelta(days=1)


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------


def latest_run(engine: Engine) -> ClvRun | None:
    """The most recent stored fit, or None when no fit has been stored."""
    if not has_tables(engine, clv_runs, customer_clv):
        return None
    statement = select(clv_runs).order_by(clv_runs.c.run_id.desc()).limit(1)
    with engine.connect() as conn:
        row = conn.execute(statement).mappings().first()
    if row is None:
        return None
    return ClvRun(
        run_id=int(row["run_id"]),
        fitted_at=pd.Timestamp(row["fitted_at"]).to_pydatetime(),
        calibration_end=pd.Timestamp(row["calibration_end"]).date(),
        settings=json.loads(row["settings"]),
        params=json.loads(row["params"]),
        diagnostics=json.loads(row["diagnostics"]),
    )


def scored_customers(engine: Engine, scope: Scope, run_id: int) -> pd.DataFrame:
    """Stored predictions of run ``run_id`` for the customers in scope.

    The predictions are as of the run's ``calibration_end``, whatever the period: only the
    customer scope (region, channel, segment, row-level access) applies.

    Returns
    -------
    DataFrame
        The ``customer_clv`` columns but ``run_id``: ``customer_id``, ``frequency``,
        ``recency``, ``T`` (weeks), ``monetary_value``, ``probability_alive``,
        ``expected_purchases_12m``, ``expected_spend``, ``margin_share``, ``clv`` (currency).
    """
    columns = [c for c in customer_clv.c if c.name != "run_id"]
    statement = (
        select(*columns)
        .where(customer_clv.c.run_id == run_id, customer_scope(scope, customer_clv.c.customer_id))
        .order_by(customer_clv.c.customer_id)
    )
    frame = read_frame(engine, statement)
    for column in frame.columns:
        if column != "customer_id":
            frame[column] = pd.to_numeric(frame[column]).astype("float64")
    return frame


def expected_alive(engine: Engine, scope: Scope) -> tuple[float, date] | None:
    """Expected number of customers still alive (sum of P(alive)) in scope, latest fit.

    Returns (expected alive, the fit's data end), or None when no fit is stored. Summed in
    the database; the period does not apply (predictions are as of the fit's data end).
    """
    run = latest_run(engine)
    if run is None:
        return None
    statement = select(func.coalesce(func.sum(customer_clv.c.probability_alive), 0.0)).where(
        customer_clv.c.run_id == run.run_id,
        customer_scope(scope, customer_clv.c.customer_id),
    )
    with engine.connect() as conn:
        return float(conn.execute(statement).scalar_one()), run.calibration_end


def purchase_days(engine: Engine, end: date) -> pd.DataFrame:
    """Orders up to ``end`` summed per customer and day (the models count purchase days).

    Returns ``customer_id``, ``ordered_at`` (datetime), ``revenue`` and ``gross_margin``
    (currency units). Portfolio-wide: a fit covers every customer.
    """
    statement = (
        select(
            orders.c.customer_id,
            orders.c.ordered_at,
            func.sum(orders.c.revenue).label("revenue"),
            func.sum(orders.c.revenue - orders.c.cost).label("gross_margin"),
        )
        .where(orders.c.ordered_at <= end)
        .group_by(orders.c.customer_id, orders.c.ordered_at)
    )
    frame = read_frame(engine, statement)
    frame["ordered_at"] = pd.to_datetime(frame["ordered_at"])
    for column in ("revenue", "gross_margin"):
        frame[column] = pd.to_numeric(frame[column]).astype("float64")
    return frame


def _last_order_date(engine: Engine) -> date | None:
    with engine.connect() as conn:
        last = conn.execute(select(func.max(orders.c.ordered_at))).scalar_one_or_none()
    return None if last is None else pd.Timestamp(last).date()


# --------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------


def fit_and_save(
    engine: Engine,
    *,
    calibration_end: date | None = None,
    holdout_weeks: int = 26,
    horizon_months: int = 36,
    annual_discount_rate: float = 0.10,
    progress: Progress | None = None,
) -> ClvRun:
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
    from dashboard.domain import clv  # lazily: scikit-learn/SciPy load only when fitting

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
        calibration_end = _last_order_date(engine)
        if calibration_end is None:
            raise clv.ModelIdentificationError("the store has no orders: nothing to fit")
    days = purchase_days(engine, calibration_end)
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
        "time_unit": TIME_UNIT,
        "holdout_weeks": int(holdout_weeks),
        "margin_rule": MARGIN_RULE,
        "portfolio_margin_share": portfolio_margin,
    }
    diagnostics = {
        **fit_diagnostics,
        "holdout": holdout,
        "fit_seconds": round(time.perf_counter() - started, 2),
    }
    try:
        run = _save(engine, calibration_end, settings, params, diagnostics, scores)
        bump_data_version(engine)
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
        raise StoreError(
            f"The store did not accept the fit: {detail}. The app saves fits in its own tables "
            "(clv_runs, customer_clv, dataset_info): give its database user the right to create "
            "and write them."
        ) from exc
    report(1.0, "Lifetime-value model fitted and saved.")
    return run


def fit_if_possible(engine: Engine, *, progress: Progress | None = None) -> ClvRun | None:
    """:func:`fit_and_save` with the default settings; None when the data cannot be fitted.

    Meant for the first-run demo build: a portfolio too small or too young to fit must not
    stop the app from opening (the page then explains and offers the fit button).
    """
    from dashboard.domain import clv  # lazily: scikit-learn/SciPy load only when fitting

    try:
        return fit_and_save(engine, progress=progress)
    except clv.ModelIdentificationError:
        return None


def _holdout_check(days: pd.DataFrame, calibration_end: date, holdout_weeks: int) -> dict[str, Any]:
    """Fit on the data before the holdout weeks and compare with what happened in them."""
    from dashboard.domain import clv  # lazily: scikit-learn/SciPy load only when fitting

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
        days, "customer_id", "ordered_at", check_end, calibration_end, time_unit=TIME_UNIT
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
        time_unit=TIME_UNIT,
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
    from dashboard.domain import clv  # lazily: scikit-learn/SciPy load only when fitting

    summary = clv.rfm_summary(
        days,
        "customer_id",
        "ordered_at",
        "revenue",
        observation_period_end=calibration_end,
        time_unit=TIME_UNIT,
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


def _ensure_tables(engine: Engine) -> None:
    """Create the CLV tables; recreate them if an older layout lacks columns (derived data)."""
    ensure_app_tables(engine)
    try:  # a probe rather than reflection, which duckdb-engine does not fully support
        with engine.connect() as conn:
            conn.execute(select(*customer_clv.c).limit(0)).fetchall()
    except SQLAlchemyError:
        customer_clv.drop(engine)
        clv_runs.drop(engine)
        ensure_app_tables(engine)


def _save(
    engine: Engine,
    calibration_end: date,
    settings: dict,
    params: dict,
    diagnostics: dict,
    scores: pd.DataFrame,
) -> ClvRun:
    """Write the run and its customer rows in one transaction; drop runs beyond KEEP_RUNS."""
    _ensure_tables(engine)
    fitted_at = datetime.now().replace(microsecond=0)
    with engine.begin() as conn:
        last = conn.execute(select(func.max(clv_runs.c.run_id))).scalar_one_or_none()
        run_id = int(last or 0) + 1
        conn.execute(
            clv_runs.insert().values(
                run_id=run_id,
                fitted_at=fitted_at,
                calibration_end=calibration_end,
                settings=json.dumps(settings),
                params=json.dumps(params),
                diagnostics=json.dumps(diagnostics),
            )
        )
        bulk_insert(conn, customer_clv, scores.assign(run_id=run_id))
        stale = run_id - KEEP_RUNS
        conn.execute(customer_clv.delete().where(customer_clv.c.run_id <= stale))
        conn.execute(clv_runs.delete().where(clv_runs.c.run_id <= stale))
    return ClvRun(run_id, fitted_at, calibration_end, settings, params, diagnostics)

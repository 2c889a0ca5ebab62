"""Use case: fit the lifetime-value models on the store, check them on a holdout, store the run.

Fitting is heavy, so it never happens on a page view: it runs on an explicit action (the
"Fit lifetime-value model" button, ``python -m dashboard fit``, or right after the first-run
demo build through :func:`fit_if_possible`). What a fit does (``docs/customer-value.md`` gives
the reasons):

1. reads the sufficient statistics of the models, computed in the database by GROUP BY from
   the orders up to ``calibration_end`` (default: the latest order date): one row per customer
   (first and last purchase day, purchase days, repeat spend, revenue, gross margin, and the
   same to the holdout check's calibration end), and the tracking plot's first and repeat
   purchases per day (:func:`dashboard.storage.clv_store.purchase_statistics`,
   :func:`~dashboard.storage.clv_store.purchase_day_counts`);
2. holdout check: fits BG/NBD and Pareto/NBD on the data up to ``calibration_end -
   holdout_weeks`` and compares their predictions for the last ``holdout_weeks`` with what
   customers actually did (in total, per customer, week by week, by past repeat purchases);
   the rule of :func:`dashboard.domain.clv.choose_purchase_model` picks one, unless ``model``
   names it;
3. refits both purchase models and Gamma-Gamma (on revenue per purchase day) on all data to
   ``calibration_end`` and scores every customer with the chosen one: probability alive,
   expected purchases in the next 12 months, expected revenue per purchase and CLV, with the
   CLV's 90 % interval and the draw loadings from 100 parameter draws, and the discounted
   revenue at the what-if's dropout changes (``docs/clv.md``);
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
from dashboard.domain.clv import scenario, uncertainty
from dashboard.domain.clv.data import time_unit_days
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
#: What ``fit_and_save(model=...)`` and ``fit --model`` accept -> stored purchase model.
MODEL_CHOICES = {
    "auto": "auto",
    "bgnbd": clv.BGNBD,
    "pareto_nbd": clv.PARETO_NBD,
    "paretonbd": clv.PARETO_NBD,
}
#: Parameter draws per fit for the intervals (fixed seed: a refit on the same data gives the
#: same intervals).
N_DRAWS = 100
INTERVAL_LEVEL = 0.9


def fit_and_save(
    engine: Engine,
    *,
    calibration_end: date | None = None,
    holdout_weeks: int = 26,
    horizon_months: int = 36,
    annual_discount_rate: float = 0.10,
    progress: Progress | None = None,
    model: str = "auto",
) -> clv_store.ClvRun:
    """Fit BG/NBD, Pareto/NBD and Gamma-Gamma, compare them on a holdout, save the run.

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
    model : str
        ``"auto"`` (the holdout chooses, :func:`dashboard.domain.clv.choose_purchase_model`),
        ``"bgnbd"`` or ``"pareto_nbd"`` (``"paretonbd"`` too): the purchase model whose
        predictions are stored. Both are fitted and compared either way.

    Raises
    ------
    dashboard.domain.clv.ModelIdentificationError
        The data cannot identify the models (too few customers or no repeat purchases); the
        message says why. Nothing is written then.
    dashboard.storage.engine.StoreError
        The store refused the write (e.g. a read-only warehouse user).
    """
    report = progress or (lambda fraction, message: None)
    requested = MODEL_CHOICES.get(model)
    if requested is None:
        raise ValueError(f"model must be one of {', '.join(sorted(MODEL_CHOICES))}, got {model!r}")
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
    report(0.05, "Computing each customer's purchase statistics in the store…")
    if calibration_end is None:
        calibration_end = clv_store.last_order_date(engine)
        if calibration_end is None:
            raise clv.ModelIdentificationError("the store has no orders: nothing to fit")
    check_end = calibration_end - timedelta(weeks=holdout_weeks)
    statistics = clv_store.purchase_statistics(engine, calibration_end, check_end)
    if statistics.empty:
        raise clv.ModelIdentificationError(f"no orders up to {calibration_end}: nothing to fit")

    report(0.2, f"Holdout check: both purchase models predict the last {holdout_weeks} weeks…")
    holdout, comparison = _holdout_check(engine, statistics, calibration_end, holdout_weeks)
    chosen, reason = _choose(requested, comparison)
    if "error" not in holdout:
        holdout = {**comparison["models"][chosen]["holdout"], "chosen": chosen}
    comparison = {**comparison, "chosen": chosen, "reason": reason, "requested": model}

    report(0.4, "Fitting purchase and spend models on all the data…")
    scores, params, fit_diagnostics = _fit_and_score(
        statistics, calibration_end, horizon_months, annual_discount_rate, chosen, report
    )

    report(0.85, "Saving the predictions…")
    portfolio_margin = _portfolio_margin_share(statistics)
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
        "model_choice": comparison,
        "fit_seconds": round(time.perf_counter() - started, 2),
    }
    run = clv_store.save_run(
        engine, calibration_end, settings, params, diagnostics, scores, purchase_model=chosen
    )
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


def _holdout_check(
    engine: Engine, statistics: pd.DataFrame, calibration_end: date, holdout_weeks: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit both purchase models on the data before the holdout weeks, compare them on those.

    ``statistics``: :func:`dashboard.storage.clv_store.purchase_statistics` with the check's
    calibration end ``calibration_end - holdout_weeks``. Returns the holdout summary
    (``{"error": ...}`` when the check cannot run) and the model comparison: per model its
    holdout figures, calibration log-likelihood, per-customer MAE, weekly tracking; the
    rule's choice and reason.
    """
    check_end = calibration_end - timedelta(weeks=holdout_weeks)
    first_day = statistics["first_purchase"].min().date()
    # The calibration part must be at least as long as the holdout it predicts.
    if (check_end - first_day).days < holdout_weeks * 7:
        error = (
            f"the data start on {first_day:%d %b %Y}: too short a history to leave "
            f"{holdout_weeks} weeks out and fit on at least as long a period before them"
        )
        return {"error": error}, {"models": {}, "auto": None, "auto_reason": error}
    split = _calibration_holdout_split(statistics, check_end, calibration_end)
    counts = clv_store.purchase_day_counts(engine, calibration_end, check_end).set_index(
        "ordered_at"
    )
    day_counts = clv.PurchaseDayCounts(counts["first_purchases"], counts["repeat_purchases"])
    try:
        choice = clv.choose_purchase_model(
            split,
            calibration_end=check_end,
            holdout_end=calibration_end,
            time_unit=clv_store.TIME_UNIT,
            day_counts=day_counts,
        )
    except clv.ModelIdentificationError as exc:
        error = f"the models cannot be fitted on the data before the holdout: {exc}"
        return {"error": error}, {"models": {}, "auto": None, "auto_reason": error}
    models = {}
    for name, comparison in choice.comparisons.items():
        scores = choice.scores.loc[name]
        models[name] = {
            "params": choice.models[name].params_,
            "log_likelihood": float(scores["log_likelihood"]),
            "holdout_mae": _finite(scores["holdout_mae"]),
            "holdout": _holdout_summary(
                comparison, choice.models[name], split, first_day, check_end, calibration_end,
                holdout_weeks,
            ),
        }  # fmt: skip
    return models[choice.chosen]["holdout"], {
        "models": models,
        "errors": choice.errors,
        "auto": choice.chosen,
        "auto_reason": choice.reason,
    }


def _calibration_holdout_split(
    statistics: pd.DataFrame, check_end: date, holdout_end: date
) -> pd.DataFrame:
    """:func:`dashboard.domain.clv.calibration_holdout_split` from the per-customer statistics:
    the customers who bought by ``check_end``, summarised to it, with their purchase days after
    it (every one a repeat purchase) as ``frequency_holdout``."""
    calibration = statistics.loc[
        statistics["check_purchase_days"] > 0, ["first_purchase", "check_last_purchase"]
    ].rename(columns={"check_last_purchase": "last_purchase"})
    calibration["purchase_days"] = statistics["check_purchase_days"]
    split = clv.rfm_from_statistics(calibration, check_end, time_unit=clv_store.TIME_UNIT)
    holdout_days = statistics["purchase_days"] - statistics["check_purchase_days"]
    split["frequency_holdout"] = holdout_days.reindex(split.index).to_numpy(dtype=np.int64)
    split["duration_holdout"] = (holdout_end - check_end).days / time_unit_days(clv_store.TIME_UNIT)
    return split


def _holdout_summary(
    comparison: clv.HoldoutComparison,
    model: Any,
    split: pd.DataFrame,
    first_day: date,
    check_end: date,
    calibration_end: date,
    holdout_weeks: int,
) -> dict[str, Any]:
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


def _choose(requested: str, comparison: dict[str, Any]) -> tuple[str, str]:
    """The purchase model to store predictions of, and why."""
    auto, auto_reason = comparison.get("auto"), comparison.get("auto_reason")
    if requested != "auto":
        label = clv_labels()[requested]
        if auto is None:
            return requested, f"{label}: chosen by hand (no holdout check: {auto_reason})"
        if requested == auto:
            return requested, f"{label}: chosen by hand, as the rule would ({auto_reason})"
        return requested, f"{label}: chosen by hand over the rule's choice ({auto_reason})"
    if auto is None:
        return clv.BGNBD, f"BG/NBD by default: no holdout check to choose by ({auto_reason})"
    return auto, auto_reason


def clv_labels() -> dict[str, str]:
    """Display names of the purchase models."""
    return {clv.BGNBD: "BG/NBD", clv.PARETO_NBD: "Pareto/NBD"}


def _fit_and_score(
    statistics: pd.DataFrame,
    calibration_end: date,
    horizon_months: int,
    annual_discount_rate: float,
    chosen: str,
    report: Progress,
) -> tuple[pd.DataFrame, dict, dict]:
    """Fit both purchase models and Gamma-Gamma on all data; score every customer with
    ``chosen``, with 90 % intervals from parameter draws and the what-if columns."""
    summary = clv.rfm_from_statistics(
        statistics[["first_purchase", "last_purchase", "purchase_days", "repeat_spend"]],
        calibration_end,
        time_unit=clv_store.TIME_UNIT,
    )
    frequency, recency, age = summary["frequency"], summary["recency"], summary["T"]
    fitted: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, model_class in ((clv.BGNBD, clv.BetaGeoModel), (clv.PARETO_NBD, clv.ParetoNBDModel)):
        try:
            fitted[name] = model_class().fit(frequency, recency, age)
        except clv.ModelIdentificationError as exc:
            if name == chosen:
                raise
            errors[name] = str(exc)
    purchase = fitted[chosen]
    repeat = frequency > 0
    # Repeat days worth nothing (free or refunded orders) cannot enter Gamma-Gamma; score them
    # as if their repeat spend were a cent, which the model shrinks towards the mean.
    monetary = summary["monetary_value"].where(~repeat | (summary["monetary_value"] > 0), 0.01)
    spend_fit = repeat & (summary["monetary_value"] > 0)
    gamma_gamma = clv.GammaGammaModel().fit(frequency[spend_fit], monetary[spend_fit])
    expected_spend = gamma_gamma.expected_spend(frequency, monetary)
    history = (frequency, recency, age, monetary)
    settings = {"horizon_months": horizon_months, "annual_discount_rate": annual_discount_rate}
    discounted_revenue = clv.customer_lifetime_value(
        purchase, gamma_gamma, *history, margin=1.0, **settings
    )
    margin_share = _customer_margin_share(statistics).reindex(summary.index)
    margin_share = margin_share.fillna(_portfolio_margin_share(statistics)).to_numpy()
    alive = purchase.probability_alive(frequency, recency, age)
    scores = pd.DataFrame(
        {
            "customer_id": summary.index.to_numpy(),
            "frequency": frequency.to_numpy(dtype=np.int64),
            "recency": recency.to_numpy(),
            "T": age.to_numpy(),
            "monetary_value": summary["monetary_value"].to_numpy(),
            "probability_alive": alive,
            "expected_purchases_12m": purchase.expected_purchases(
                WEEKS_PER_YEAR, frequency, recency, age
            ),
            "expected_spend": expected_spend,
            "margin_share": margin_share,
            "clv": discounted_revenue * margin_share,
        }
    )
    if not np.isfinite(scores["clv"]).all():
        raise clv.ModelIdentificationError(
            "the spend model has no finite mean (Gamma-Gamma q <= 1): lifetime values would be "
            "infinite; more repeat buyers are needed"
        )

    report(0.55, f"Intervals: lifetime value at {N_DRAWS} draws of the parameters…")
    purchase_draws = clv.parameter_draws(
        purchase, frequency, recency, age, n_draws=N_DRAWS, random_state=13
    )
    spend_draws = clv.parameter_draws(
        gamma_gamma, frequency[spend_fit], monetary[spend_fit], n_draws=N_DRAWS, random_state=14
    )
    spread = uncertainty.lifetime_value_uncertainty(
        purchase_draws, spend_draws, *history, margin_share, level=INTERVAL_LEVEL, **settings
    )
    scores["clv_low"], scores["clv_high"] = spread.clv_low, spread.clv_high
    scores["discounted_revenue"] = discounted_revenue
    for k, name in enumerate(clv_store.CLV_LOADINGS):
        scores[name] = spread.clv_loadings[:, k] if k < spread.clv_loadings.shape[1] else 0.0
    for k, name in enumerate(clv_store.ALIVE_LOADINGS):
        scores[name] = spread.alive_loadings[:, k] if k < spread.alive_loadings.shape[1] else 0.0

    report(0.8, "What-if: lifetime value with customers leaving faster or slower…")
    spend_alive = alive * expected_spend
    for change in scenario.DROPOUT_CHANGES:
        if change == 0:
            continue
        faster = uncertainty.DropoutScaled(purchase, 1.0 + change)
        scores[scenario.dropout_column(change)] = spend_alive * uncertainty.discounted_purchases(
            faster, frequency, age, **settings
        )

    def padded(basis: np.ndarray, rank: int) -> list[list[float]]:
        full = np.zeros((rank, basis.shape[1]))
        full[: basis.shape[0]] = basis
        return full.tolist()

    with np.errstate(invalid="ignore"):
        correlation = float(np.corrcoef(frequency[spend_fit], monetary[spend_fit])[0, 1])
    params = {
        **{name: model.params_ for name, model in fitted.items()},
        "gamma_gamma": gamma_gamma.params_,
        "purchase_model": chosen,
        "covariance": {
            "purchase": purchase_draws.log_covariance.tolist(),
            "gamma_gamma": spend_draws.log_covariance.tolist(),
            "scale": "log-parameters",
        },
        "standard_errors": {
            "purchase": purchase_draws.standard_errors,
            "gamma_gamma": spend_draws.standard_errors,
        },
        "draw_basis": {
            "method": "asymptotic normal draws of the log-parameters",
            "n_draws": N_DRAWS,
            "level": INTERVAL_LEVEL,
            "clv": padded(spread.clv_basis, len(clv_store.CLV_LOADINGS)),
            "alive": padded(spread.alive_basis, len(clv_store.ALIVE_LOADINGS)),
            "clv_captured": spread.clv_captured,
            "alive_captured": spread.alive_captured,
        },
    }
    equity_draws = uncertainty.scope_total_draws(
        float(scores["clv"].sum()), spread.clv_loadings.sum(axis=0), spread.clv_basis
    )
    low, high = uncertainty.total_interval(equity_draws, INTERVAL_LEVEL)
    diagnostics = {
        "customers": len(summary),
        "repeat_buyers": int(repeat.sum()),
        "bgnbd_log_likelihood": _finite(getattr(fitted.get(clv.BGNBD), "log_likelihood_", None)),
        "pareto_nbd_log_likelihood": _finite(
            getattr(fitted.get(clv.PARETO_NBD), "log_likelihood_", None)
        ),
        "full_fit_errors": errors,
        "gamma_gamma_log_likelihood": gamma_gamma.log_likelihood_,
        "spend_frequency_correlation": _finite(correlation),
        "mean_spend": float(gamma_gamma.expected_spend(0, 0)),
        "customer_equity": float(scores["clv"].sum()),
        "customer_equity_low": low,
        "customer_equity_high": high,
    }
    return scores, params, diagnostics


def _customer_margin_share(statistics: pd.DataFrame) -> pd.Series:
    """Each customer's gross margin / revenue, clipped to [-1, 1]; NaN without revenue."""
    revenue = statistics["revenue"]
    share = statistics["gross_margin"] / revenue.where(revenue > 0)
    return share.clip(-1.0, 1.0)


def _portfolio_margin_share(statistics: pd.DataFrame) -> float:
    revenue = float(statistics["revenue"].sum())
    return float(statistics["gross_margin"].sum()) / revenue if revenue > 0 else 0.0


def _finite(value: float | None) -> float | None:
    """A float for JSON: None for NaN or infinity."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def model_comparison(run: clv_store.ClvRun) -> pd.DataFrame:
    """Both purchase models side by side: one row per model.

    Columns ``model`` (key), ``label``, ``chosen`` (bool), ``parameters`` (text),
    ``log_likelihood`` (holdout-check calibration fit), ``holdout_mae`` (per customer,
    purchases), ``holdout_predicted``, ``holdout_actual`` (repeat purchases in the holdout
    weeks), ``holdout_error_pct``, ``full_log_likelihood`` (fit on all data). Empty for a run
    stored before the comparison.
    """
    choice = run.diagnostics.get("model_choice") or {}
    rows = []
    for name, label in clv_labels().items():
        params = run.params.get(name)
        if params is None:
            continue
        check = (choice.get("models") or {}).get(name) or {}
        holdout = check.get("holdout") or {}
        rows.append(
            {
                "model": name,
                "label": label,
                "chosen": name == run.purchase_model,
                "parameters": ", ".join(f"{k} {v:.3f}" for k, v in params.items()),
                "log_likelihood": check.get("log_likelihood"),
                "holdout_mae": check.get("holdout_mae"),
                "holdout_predicted": holdout.get("predicted_repeat_purchases"),
                "holdout_actual": holdout.get("actual_repeat_purchases"),
                "holdout_error_pct": holdout.get("total_error_pct"),
                "full_log_likelihood": run.diagnostics.get(f"{name}_log_likelihood"),
            }
        )
    return pd.DataFrame(rows)


def describe_model_choice(run: clv_store.ClvRun) -> list[str]:
    """The comparison as lines for the command line: both models and the choice."""
    table = model_comparison(run)
    if table.empty:
        return []
    lines = [f"{'model':<11} {'holdout MAE':>11} {'predicted':>10} {'actual':>10} {'error':>7} "
             f"{'calib. LL':>12}  parameters"]  # fmt: skip

    def number(value, spec):
        return "—" if value is None or pd.isna(value) else format(value, spec)

    for row in table.itertuples():
        mark = "*" if row.chosen else " "
        lines.append(
            f"{mark}{row.label:<10} {number(row.holdout_mae, '.4f'):>11} "
            f"{number(row.holdout_predicted, ',.0f'):>10} {number(row.holdout_actual, ',.0f'):>10} "
            f"{number(row.holdout_error_pct, '+.1f'):>6}% {number(row.log_likelihood, ',.1f'):>12}"
            f"  {row.parameters}"
        )
    reason = (run.diagnostics.get("model_choice") or {}).get("reason", "")
    lines.append(f"* predictions from {clv_labels()[run.purchase_model]}: {reason}")
    low = run.diagnostics.get("customer_equity_low")
    if low is not None:
        lines.append(
            f"Customer equity {run.diagnostics['customer_equity']:,.0f} "
            f"(90% interval {low:,.0f} to {run.diagnostics['customer_equity_high']:,.0f}, "
            "parameter uncertainty)."
        )
    return lines

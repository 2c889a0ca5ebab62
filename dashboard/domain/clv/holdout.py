"""Holdout validation of a BG/NBD model: the figures of Fader, Hardie & Lee (2005a).

- totals: repeat purchases predicted against actual, in the calibration and holdout periods;
- by frequency: mean holdout purchases per customer by calibration repeat purchases
  (0, 1, ..., 7+), the "conditional expectations" chart;
- tracking: cumulative repeat purchases period by period, actual against
  ``sum_i E[X(t - s_i)]`` over customers with first purchase at ``s_i`` (the "tracking plot").
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard.domain.clv.data import (
    _first_purchase_and_repeat_days,
    _to_day_number,
    day_numbers,
    time_unit_days,
)
from dashboard.domain.clv.models import BetaGeoModel

__all__ = ["HoldoutComparison", "PurchaseDayCounts", "holdout_comparison"]

ACTUAL = "actual"
PREDICTED = "predicted"
_REQUIRED = ("frequency", "recency", "T", "frequency_holdout", "duration_holdout")


@dataclass(frozen=True)
class HoldoutComparison:
    """Predicted against actual repeat purchases, in tidy frames ready for charting.

    Attributes
    ----------
    totals : DataFrame
        Columns ``period`` ("calibration", "holdout"), ``series`` ("actual",
        "predicted"), ``repeat_purchases``. Calibration predictions are the
        unconditional ``sum_i E[X(T_i)]``; holdout predictions the conditional
        ``sum_i E[X(duration) | x_i, t_x_i, T_i]``.
    by_frequency : DataFrame
        Columns ``calibration_purchases`` (ordered categorical "0", "1", ..., "7+"),
        ``customers``, ``series``, ``holdout_purchases_per_customer`` (mean).
    tracking : DataFrame or None
        Columns ``period_index`` (1, 2, ... time units since the cohort's first purchase),
        ``period_end`` (last day included), ``period`` ("calibration"/"holdout"),
        ``series``, ``repeat_purchases`` (in the period) and
        ``cumulative_repeat_purchases``. None when no transactions were given.
    holdout_total_error_pct : float
        100 * (predicted - actual) / actual holdout repeat purchases.
    calibration_total_error_pct : float
        The same for the calibration period (in-sample fit).
    by_frequency_mape : float
        Mean absolute percentage error of ``by_frequency`` over the groups with actual > 0.
    tracking_holdout_mape : float or None
        Mean absolute percentage error of the cumulative tracking curve over the holdout
        periods.
    """

    totals: pd.DataFrame
    by_frequency: pd.DataFrame
    tracking: pd.DataFrame | None
    holdout_total_error_pct: float
    calibration_total_error_pct: float
    by_frequency_mape: float
    tracking_holdout_mape: float | None


@dataclass(frozen=True)
class PurchaseDayCounts:
    """What the tracking plot needs, day by day: counted where the transactions are (a
    ``GROUP BY`` day in the database) or from transactions (:meth:`from_transactions`).

    Attributes
    ----------
    first_purchases : Series
        Indexed by day (date-like): customers of the summary whose first purchase was that day.
    repeat_purchases : Series
        Indexed by day, up to the holdout end: repeat purchase days of those customers on that
        day (a customer's purchases on one day are one; the first purchase day is not a repeat).
    """

    first_purchases: pd.Series
    repeat_purchases: pd.Series

    @classmethod
    def from_transactions(
        cls,
        transactions: pd.DataFrame,
        customer_id_col: Hashable,
        datetime_col: Hashable,
        customers: pd.Index,
        holdout_end: object,
    ) -> PurchaseDayCounts:
        """The counts of ``customers`` (all in ``transactions``) up to ``holdout_end``."""
        first_day, repeat_days = _first_purchase_and_repeat_days(
            transactions,
            customer_id_col,
            datetime_col,
            customers,
            _to_day_number(holdout_end, "holdout_end"),
        )

        def per_day(day_numbers: np.ndarray) -> pd.Series:
            days, counts = np.unique(day_numbers, return_counts=True)
            return pd.Series(counts, index=pd.to_datetime(days.astype("datetime64[D]")))

        return cls(per_day(first_day), per_day(repeat_days))


def _pct_error(predicted: float, actual: float) -> float:
    return float(100.0 * (predicted - actual) / actual) if actual else float("nan")


def _mape(predicted: np.ndarray, actual: np.ndarray) -> float:
    usable = actual > 0
    if not usable.any():
        return float("nan")
    return float(100.0 * np.mean(np.abs(predicted[usable] - actual[usable]) / actual[usable]))


def holdout_comparison(
    model: BetaGeoModel,
    summary: pd.DataFrame,
    transactions: pd.DataFrame | None = None,
    *,
    customer_id_col: Hashable | None = None,
    datetime_col: Hashable | None = None,
    calibration_end: object | None = None,
    holdout_end: object | None = None,
    time_unit: str = "W",
    max_frequency: int = 7,
    day_counts: PurchaseDayCounts | None = None,
) -> HoldoutComparison:
    """Compare a BG/NBD model fitted on the calibration period with the holdout.

    Parameters
    ----------
    model : BetaGeoModel
        Fitted on ``summary``'s calibration columns, in ``time_unit``.
    summary : DataFrame
        Output of :func:`calibration_holdout_split` (columns ``frequency``, ``recency``,
        ``T``, ``frequency_holdout``, ``duration_holdout``), indexed by customer id.
    transactions : DataFrame, optional
        The transactions the summary was built from; needed for the tracking plot only.
    customer_id_col, datetime_col : column labels
        As given to :func:`calibration_holdout_split` (with ``transactions``).
    calibration_end, holdout_end : date-like
        As given to :func:`calibration_holdout_split` (with ``transactions``).
    time_unit : {"D", "W", "M"}
        Time unit of the summary and model; also the length of a tracking period.
    max_frequency : int, default 7
        Calibration purchase counts from this one up are pooled ("7+").
    day_counts : PurchaseDayCounts, optional
        Instead of ``transactions`` (with ``calibration_end`` and ``holdout_end``): the
        summary's customers' first and repeat purchases per day, for the tracking plot.

    Returns
    -------
    HoldoutComparison
    """
    missing = [column for column in _REQUIRED if column not in summary.columns]
    if missing:
        raise ValueError(f"summary lacks {missing}: build it with calibration_holdout_split()")
    if max_frequency < 1:
        raise ValueError(f"max_frequency must be >= 1, got {max_frequency}")
    frequency = summary["frequency"].to_numpy(dtype=np.float64)
    recency = summary["recency"].to_numpy(dtype=np.float64)
    age = summary["T"].to_numpy(dtype=np.float64)
    duration = summary["duration_holdout"].to_numpy(dtype=np.float64)
    actual_holdout = summary["frequency_holdout"].to_numpy(dtype=np.float64)

    predicted_holdout = model.expected_purchases(duration, frequency, recency, age)
    predicted_calibration = model.expected_purchases_new(age)
    totals = pd.DataFrame(
        {
            "period": ["calibration", "calibration", "holdout", "holdout"],
            "series": [ACTUAL, PREDICTED, ACTUAL, PREDICTED],
            "repeat_purchases": [
                float(frequency.sum()),
                float(predicted_calibration.sum()),
                float(actual_holdout.sum()),
                float(predicted_holdout.sum()),
            ],
        }
    )

    labels = [str(k) for k in range(max_frequency)] + [f"{max_frequency}+"]
    group = np.minimum(frequency, max_frequency).astype(np.int64)
    customers = np.bincount(group, minlength=max_frequency + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        actual_mean = np.bincount(group, actual_holdout, max_frequency + 1) / customers
        predicted_mean = np.bincount(group, predicted_holdout, max_frequency + 1) / customers
    category = pd.CategoricalDtype(labels, ordered=True)
    by_frequency = pd.DataFrame(
        {
            "calibration_purchases": pd.Categorical(labels * 2, dtype=category),
            "customers": np.tile(customers, 2),
            "series": [ACTUAL] * len(labels) + [PREDICTED] * len(labels),
            "holdout_purchases_per_customer": np.concatenate([actual_mean, predicted_mean]),
        }
    )
    by_frequency = by_frequency[by_frequency["customers"] > 0].reset_index(drop=True)
    seen = customers > 0

    tracking = None
    tracking_mape = None
    if transactions is not None or day_counts is not None:
        if None in (calibration_end, holdout_end) or (
            day_counts is None and None in (customer_id_col, datetime_col)
        ):
            raise ValueError(
                "the tracking plot needs customer_id_col, datetime_col, calibration_end and "
                "holdout_end along with transactions (calibration_end and holdout_end with "
                "day_counts)"
            )
        if day_counts is None:
            day_counts = PurchaseDayCounts.from_transactions(
                transactions, customer_id_col, datetime_col, summary.index, holdout_end
            )
        tracking = _tracking(
            model,
            day_counts,
            _to_day_number(calibration_end, "calibration_end"),
            _to_day_number(holdout_end, "holdout_end"),
            time_unit_days(time_unit),
        )
        holdout_rows = tracking[tracking["period"] == "holdout"]
        tracking_mape = _mape(
            holdout_rows.loc[
                holdout_rows["series"] == PREDICTED, "cumulative_repeat_purchases"
            ].to_numpy(),
            holdout_rows.loc[
                holdout_rows["series"] == ACTUAL, "cumulative_repeat_purchases"
            ].to_numpy(),
        )

    return HoldoutComparison(
        totals=totals,
        by_frequency=by_frequency,
        tracking=tracking,
        holdout_total_error_pct=_pct_error(predicted_holdout.sum(), actual_holdout.sum()),
        calibration_total_error_pct=_pct_error(predicted_calibration.sum(), frequency.sum()),
        by_frequency_mape=_mape(predicted_mean[seen], actual_mean[seen]),
        tracking_holdout_mape=tracking_mape,
    )


def _tracking(
    model: BetaGeoModel,
    day_counts: PurchaseDayCounts,
    calibration_day: int,
    holdout_day: int,
    unit_days: float,
) -> pd.DataFrame:
    first_purchases = day_counts.first_purchases.sort_index()
    first_days = day_numbers(first_purchases.index.to_series())
    cohort_sizes = first_purchases.to_numpy(dtype=np.float64)
    cohort_start = int(first_days.min())
    # Period k covers the days up to cohort_start + floor(k * unit) - 1, the same
    # "time = day number" convention as T, so period 39 of CDNOW ends on 1997-09-30.
    n_periods = int(np.ceil((holdout_day - cohort_start + 1) / unit_days))
    ends = cohort_start + np.floor(np.arange(1, n_periods + 1) * unit_days).astype(np.int64) - 1
    ends = np.minimum(ends, holdout_day)

    repeat = day_counts.repeat_purchases
    repeat_days = day_numbers(repeat.index.to_series())
    in_range = repeat_days <= holdout_day
    actual = np.bincount(
        np.searchsorted(ends, repeat_days[in_range], side="left"),
        weights=repeat.to_numpy(dtype=np.float64)[in_range],
        minlength=n_periods,
    )

    # Predicted: customers grouped by first-purchase day; E[X(t)] of a new customer tabled
    # once per elapsed day.
    elapsed = ends[:, None] - first_days[None, :]
    expected_by_elapsed = model.expected_purchases_new(
        np.arange(int(max(elapsed.max(), 0)) + 1) / unit_days
    )
    expected = np.where(elapsed >= 0, expected_by_elapsed[np.maximum(elapsed, 0)], 0.0)
    predicted_cumulative = expected @ cohort_sizes

    period_end = pd.to_datetime(ends.astype("datetime64[D]"))
    period = np.where(ends <= calibration_day, "calibration", "holdout")
    frames = []
    for series, cumulative in (
        (ACTUAL, np.cumsum(actual)),
        (PREDICTED, predicted_cumulative),
    ):
        frames.append(
            pd.DataFrame(
                {
                    "period_index": np.arange(1, n_periods + 1),
                    "period_end": period_end,
                    "period": period,
                    "series": series,
                    "repeat_purchases": np.diff(cumulative, prepend=0.0),
                    "cumulative_repeat_purchases": cumulative,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)

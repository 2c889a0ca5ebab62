"""holdout_comparison on hand-built summaries and transactions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard.domain.clv import (
    BetaGeoModel,
    PurchaseDayCounts,
    calibration_holdout_split,
    holdout_comparison,
)

MODEL = BetaGeoModel.from_params({"r": 1.0, "alpha": 1.0, "a": 2.0, "b": 1.0})


@pytest.fixture
def summary() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "frequency": [0, 1, 8],
            "recency": [0.0, 1.0, 5.0],
            "T": [2.0, 2.0, 6.0],
            "frequency_holdout": [1, 0, 3],
            "duration_holdout": [1.0, 1.0, 1.0],
        },
        index=pd.Index(["A", "B", "C"], name="customer"),
    )


def test_totals_and_groups_by_hand(summary):
    comparison = holdout_comparison(MODEL, summary, max_frequency=1)
    predicted = MODEL.expected_purchases(1.0, [0, 1, 8], [0.0, 1.0, 5.0], [2.0, 2.0, 6.0])
    totals = comparison.totals.set_index(["period", "series"])["repeat_purchases"]
    assert totals["holdout", "actual"] == 4
    assert totals["holdout", "predicted"] == pytest.approx(predicted.sum())
    assert totals["calibration", "actual"] == 9
    assert totals["calibration", "predicted"] == pytest.approx(
        MODEL.expected_purchases_new([2.0, 2.0, 6.0]).sum()
    )
    assert comparison.holdout_total_error_pct == pytest.approx(100 * (predicted.sum() - 4) / 4)
    # Groups "0" (A) and "1+" (B and C: actual (0 + 3) / 2 = 1.5).
    table = comparison.by_frequency.set_index(["calibration_purchases", "series"])
    assert table.loc[("0", "actual"), "holdout_purchases_per_customer"] == 1.0
    assert table.loc[("1+", "actual"), "holdout_purchases_per_customer"] == 1.5
    assert table.loc[("1+", "predicted"), "holdout_purchases_per_customer"] == pytest.approx(
        predicted[1:].mean()
    )
    assert table.loc[("1+", "actual"), "customers"] == 2
    assert comparison.by_frequency_mape == pytest.approx(
        100 / 2 * (abs(predicted[0] - 1) / 1 + abs(predicted[1:].mean() - 1.5) / 1.5)
    )
    assert comparison.tracking is None and comparison.tracking_holdout_mape is None


def test_tracking_by_hand():
    # A buys on days 0 and 2, B on day 1; calibration to day 2, holdout to day 4, in days.
    start = pd.Timestamp("2024-01-01")
    transactions = pd.DataFrame(
        {
            "customer": ["A", "A", "B"],
            "day": [start, start + pd.Timedelta(days=2), start + pd.Timedelta(days=1)],
        }
    )
    split = calibration_holdout_split(
        transactions, "customer", "day", "2024-01-03", "2024-01-05", time_unit="D"
    )
    comparison = holdout_comparison(
        MODEL,
        split,
        transactions,
        customer_id_col="customer",
        datetime_col="day",
        calibration_end="2024-01-03",
        holdout_end="2024-01-05",
        time_unit="D",
    )
    tracking = comparison.tracking.pivot(
        index="period_index", columns="series", values="cumulative_repeat_purchases"
    )
    # Period k ends on day k - 1: A's repeat purchase on day 2 counts from period 3.
    np.testing.assert_array_equal(tracking["actual"], [0, 0, 1, 1, 1])
    # Predicted at the end of period k: E[X(k - 1)] for A plus E[X(k - 2)] for B (once born).
    k = np.arange(1, 6)
    expected = MODEL.expected_purchases_new(k - 1.0) + np.where(
        k >= 2, MODEL.expected_purchases_new(np.maximum(k - 2.0, 0)), 0
    )
    np.testing.assert_allclose(tracking["predicted"], expected, rtol=1e-12)
    periods = comparison.tracking.drop_duplicates("period_index")["period"].tolist()
    assert periods == ["calibration"] * 3 + ["holdout"] * 2


def test_refuses_incomplete_inputs(summary):
    with pytest.raises(ValueError, match="calibration_holdout_split"):
        holdout_comparison(MODEL, summary.drop(columns="duration_holdout"))
    with pytest.raises(ValueError, match="tracking plot needs"):
        holdout_comparison(MODEL, summary, pd.DataFrame({"customer": [], "day": []}))


def test_tracking_from_day_counts_equals_tracking_from_transactions():
    # The same history as test_tracking_by_hand, counted per day (as the store does).
    start = pd.Timestamp("2024-01-01")
    transactions = pd.DataFrame(
        {
            "customer": ["A", "A", "B"],
            "day": [start, start + pd.Timedelta(days=2), start + pd.Timedelta(days=1)],
        }
    )
    split = calibration_holdout_split(
        transactions, "customer", "day", "2024-01-03", "2024-01-05", time_unit="D"
    )
    ends = {"calibration_end": "2024-01-03", "holdout_end": "2024-01-05", "time_unit": "D"}
    from_transactions = holdout_comparison(
        MODEL, split, transactions, customer_id_col="customer", datetime_col="day", **ends
    )
    # First purchases: A on day 0, B on day 1; one repeat purchase, A's on day 2.
    counts = PurchaseDayCounts(
        first_purchases=pd.Series([1, 1], index=[start, start + pd.Timedelta(days=1)]),
        repeat_purchases=pd.Series([1], index=[start + pd.Timedelta(days=2)]),
    )
    from_counts = holdout_comparison(MODEL, split, day_counts=counts, **ends)
    pd.testing.assert_frame_equal(from_counts.tracking, from_transactions.tracking)
    assert from_counts.tracking_holdout_mape == from_transactions.tracking_holdout_mape
    with pytest.raises(ValueError, match="tracking plot needs"):
        holdout_comparison(MODEL, split, day_counts=counts)

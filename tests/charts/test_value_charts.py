"""Customer value charts, tested on their traces and layout."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from dashboard.charts import value as charts
from dashboard.charts.theme import PALETTE
from dashboard.domain import value


def test_whale_curve_in_percent_with_its_peak():
    whale = value.whale_curve([170.0, 77.0, 50.0, -30.0, -60.0])
    fig = charts.build_whale_curve(
        whale.points,
        title="Whale curve",
        peak_share=whale.peak_share,
        peak_customer_share=whale.peak_customer_share,
    )
    curve, peak = fig.data
    assert list(curve.x) == pytest.approx([0, 20, 40, 60, 80, 100])
    # 297 / 207 = 143.5 % at the peak; the curve ends at 100 %.
    assert max(curve.y) == pytest.approx(100 * 297 / 207)
    assert curve.y[-1] == pytest.approx(100.0)
    assert (peak.x[0], peak.y[0]) == pytest.approx((60.0, 100 * 297 / 207))
    assert peak.text[0] == "Peak 143%"
    assert fig.layout.shapes[0].y0 == 100  # the 100 % line
    assert "%" in fig.layout.yaxis.title.text and "%" in fig.layout.xaxis.title.text
    assert fig.layout.title.text == "Whale curve"


def test_whale_curve_of_a_losing_portfolio_in_currency():
    whale = value.whale_curve([-5.0, 10.0, -20.0])
    fig = charts.build_whale_curve(
        whale.points, title="t", peak_share=None, peak_customer_share=whale.peak_customer_share
    )
    assert len(fig.data) == 1 and not fig.layout.shapes
    assert list(fig.data[0].y) == [0, 10, 5, -15]
    assert "currency" in fig.layout.yaxis.title.text


def test_group_bars_colour_losses_and_keep_empty_groups():
    table = pd.DataFrame(
        {
            "region": ["North", "West", "East"],
            "customers": [2, 1, 0],
            "profit_per_customer": [70.0, -60.0, np.nan],
        }
    )
    fig = charts.build_group_bars(
        table,
        group="region",
        measure="profit_per_customer",
        title="Profit per customer",
        axis_title="Profit per customer (currency)",
    )
    (bars,) = fig.data
    # First row on top: plotly draws the y categories bottom-up, so they arrive reversed.
    assert list(bars.y) == ["East", "West", "North"]
    assert list(bars.marker.color) == [PALETTE["primary"], PALETTE["negative"], PALETTE["primary"]]
    assert np.isnan(bars.x[0])
    assert fig.layout.xaxis.title.text == "Profit per customer (currency)"


def test_payback_curves_one_line_per_group_and_break_even():
    curves = pd.DataFrame(
        {
            "group": ["search", "search", "referral"],
            "months_since": [0, 1, 0],
            "customers": [2, 1, 1],
            "cumulative_net_margin": [138.5, 138.5, 20.0],
            "acquisition_cost": [110.0, 110.0, 20.0],
            "net_position": [28.5, 28.5, 0.0],
        }
    )
    fig = charts.build_payback_curves(curves, title="Payback")
    assert [trace.name for trace in fig.data] == ["referral", "search"]
    assert list(fig.data[1].y) == [28.5, 28.5]
    assert fig.layout.shapes[0].y0 == 0
    assert "Months since acquisition" in fig.layout.xaxis.title.text
    assert "currency" in fig.layout.yaxis.title.text


def test_holdout_charts():
    tracking = pd.DataFrame(
        {
            "week_end": pd.to_datetime(["2024-01-07", "2024-01-14", "2024-01-21"]),
            "actual_weekly": [3.0, 5.0, 4.0],
            "predicted_weekly": [3.5, 4.5, 4.2],
        }
    )
    fig = charts.build_holdout_tracking(tracking, holdout_start=date(2024, 1, 15), title="t")
    assert [trace.name for trace in fig.data] == ["Actual", "Predicted"]
    assert list(fig.data[0].y) == [3.0, 5.0, 4.0]
    band = fig.layout.shapes[0]
    assert pd.Timestamp(band.x0) == pd.Timestamp("2024-01-15")
    assert pd.Timestamp(band.x1) == pd.Timestamp("2024-01-21")
    by_frequency = pd.DataFrame(
        {
            "calibration_purchases": ["0", "1", "7+"],
            "customers": [10, 5, 2],
            "actual": [0.5, 0.9, 2.5],
            "predicted": [0.6, 0.8, 2.4],
        }
    )
    fig = charts.build_holdout_by_frequency(by_frequency, title="t")
    assert [trace.name for trace in fig.data] == ["Actual", "Predicted"]
    assert list(fig.data[1].y) == [0.6, 0.8, 2.4]
    assert fig.layout.barmode == "group" and fig.layout.xaxis.type == "category"


def test_cohort_payback_curves_run_light_to_dark_with_a_side_legend():
    curves = pd.DataFrame(
        {
            "group": ["2024 Q2", "2024 Q1", "2024 Q1"],
            "months_since": [0, 0, 1],
            "customers": [3, 2, 2],
            "cumulative_net_margin": [10.0, 5.0, 9.0],
            "acquisition_cost": [20.0, 6.0, 6.0],
            "net_position": [-10.0, -1.0, 3.0],
        }
    )
    fig = charts.build_payback_curves(curves, title="t", chronological=True)
    assert [trace.name for trace in fig.data] == ["2024 Q1", "2024 Q2"]
    oldest, newest = (trace.line.color for trace in fig.data)
    assert oldest != newest
    assert fig.layout.legend.orientation == "v"
    assert charts.build_payback_curves(curves, title="t").layout.legend.orientation == "h"

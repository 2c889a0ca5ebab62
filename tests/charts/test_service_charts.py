"""Service charts: traces, values, colours and axis titles with units."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.charts.service import (
    MAX_LABELLED_AGENTS,
    build_agent_ranks,
    build_driver_effects,
    build_monthly_lenses,
)
from dashboard.charts.theme import PALETTE

RANKED = pd.DataFrame(
    {
        "agent_id": ["F", "Q", "M", "V"],
        "aht_seconds": [240.0, 300.0, 360.0, 600.0],
        "fcr": [50.0, 80.0, 70.0, 90.0],
        "speed_rank": [1, 2, 3, 4],
        "value_rank": [4, 2, 3, 1],
        "rank_shift": [-3, 0, 0, 3],
    }
)


def test_agent_ranks_slope_chart():
    fig = build_agent_ranks(
        RANKED,
        value_measure="fcr",
        value_label="First-contact resolution",
        value_unit="%",
        title="Ranks",
    )
    assert len(fig.data) == 4  # one line per agent
    fast, _, _, valuable = fig.data
    assert list(fast.y) == [1, 4] and list(valuable.y) == [4, 1]
    assert fast.line.color == PALETTE["negative"]  # falls when judged by value
    assert valuable.line.color == PALETTE["positive"]
    assert fig.data[1].line.color == PALETTE["neutral"]
    assert list(fast.text) == ["F · 4m 00s", "F · 50.0%"]
    assert fig.layout.yaxis.title.text == "Rank (1 = best)"
    assert fig.layout.yaxis.autorange == "reversed"
    assert fig.layout.title.text == "Ranks"


def test_agent_ranks_drop_labels_for_many_agents_and_format_nps():
    many = pd.concat([RANKED] * 6, ignore_index=True).assign(nps=-12.4)
    assert len(many) > MAX_LABELLED_AGENTS
    fig = build_agent_ranks(
        many,
        value_measure="nps",
        value_label="NPS after contact",
        value_unit="NPS points",
        title="t",
    )
    assert fig.data[0].text is None and fig.data[0].mode == "lines+markers"
    assert "NPS after contact -12 (rank 4)" in fig.data[0].hovertemplate


def test_monthly_lenses():
    monthly = pd.DataFrame(
        {
            "month": pd.to_datetime(["2024-02-01", "2024-04-01", "2024-05-01"]),
            "contacts": [1, 1, 2],
            "handle_seconds": [120.0, 600.0, 1200.0],
            "fcr_contacts": [1, 1, 1],
        }
    )
    fig = build_monthly_lenses(monthly, period_start=pd.Timestamp("2024-04-01"), title="Trend")
    aht, fcr = fig.data
    assert list(aht.y) == pytest.approx([2.0, 10.0, 10.0])  # minutes: 120/1/60, 600/60, 1200/2/60
    assert list(fcr.y) == pytest.approx([100.0, 100.0, 50.0])
    assert fig.layout.yaxis.title.text == "Average handle time (minutes)"
    assert fig.layout.yaxis2.title.text == "First-contact resolution (%)"
    assert fig.layout.shapes[0].type == "rect"  # the current period is shaded
    # FCR of 100% (Feb, Apr) stays inside the plot, with the top tick label whole, and the
    # legend sits under the plot, not on the lines near 100%.
    assert fig.layout.yaxis2.range[1] > 100 and max(fig.layout.yaxis2.tickvals) == 100
    assert fig.layout.legend.y < 0


def test_monthly_lenses_without_contacts():
    empty = pd.DataFrame(
        {"month": pd.to_datetime([]), "contacts": [], "handle_seconds": [], "fcr_contacts": []}
    )
    fig = build_monthly_lenses(empty, period_start=pd.Timestamp("2024-04-01"), title="t")
    assert len(fig.data[0].x) == 0 and not fig.layout.shapes


def test_driver_effects_forest_plot():
    effects = pd.DataFrame(
        {
            "label": ["FCR (resolved vs not)", "Handle time (+5 min)"] * 2,
            "outcome": ["ordered_again"] * 2 + ["revenue_after"] * 2,
            "estimate": [20.0, 0.2, 70.0, None],
            "low": [18.0, -0.5, 60.0, None],
            "high": [22.0, 0.9, 80.0, None],
        }
    )
    fig = build_driver_effects(effects, title="Effects")
    order, revenue = fig.data
    assert list(order.x) == [20.0, 0.2]
    assert list(order.error_x.array) == pytest.approx([2.0, 0.7])
    assert list(order.error_x.arrayminus) == pytest.approx([2.0, 0.7])
    assert list(revenue.y) == ["FCR (resolved vs not)"]  # the effect without estimate is left out
    assert fig.layout.xaxis.title.text == "Chance of ordering again (points)"
    assert fig.layout.xaxis2.title.text == "Revenue after the contact (currency units)"

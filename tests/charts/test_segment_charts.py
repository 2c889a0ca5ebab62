"""Segment charts, tested on fig.data and fig.layout."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from dashboard.charts import segments as charts

LABELS = pd.DataFrame({"segment": [1, 2], "label": ["1 · Stars", "2 · Strugglers"]})


def test_value_shares_puts_customers_next_to_value():
    shares = pd.DataFrame(
        {
            "label": ["1 · Stars", "2 · Strugglers"],
            "customers_share": [10.0, 90.0],
            "revenue_share": [70.0, 30.0],
            "gross_margin_share": [80.0, 20.0],
            "profit_share": [125.0, -25.0],
            "lifetime_value_share": [np.nan, np.nan],
        }
    )
    fig = charts.build_value_shares(shares, title="Shares")
    assert [t.name for t in fig.data] == ["Customers", "Revenue", "Gross margin", "Profit"]
    profit = fig.data[3]
    assert list(profit.x) == [125.0, -25.0]
    assert list(profit.y) == ["1 · Stars", "2 · Strugglers"]
    assert profit.text == ("125%", "-25%")
    assert fig.layout.xaxis.title.text == "Share of the portfolio (%)"
    assert fig.layout.title.text == "Shares"


def test_profile_heatmap_colours_differences_and_shows_means():
    profiles = pd.DataFrame(
        {
            "segment": [0, 1, 2, 0, 1, 2],
            "feature": ["recency_days"] * 3 + ["fcr_share"] * 3,
            "customers": [10, 4, 6] * 2,
            "mean": [100.0, 20.0, 160.0, 0.7, 0.9, 0.5],
            "difference": [0.0, -1.2, 3.5, 0.0, 0.8, -0.6],
        }
    )
    fig = charts.build_profile_heatmap(profiles, LABELS, title="Profiles")
    heat = fig.data[0]
    assert list(heat.x) == ["1 · Stars", "2 · Strugglers"]
    assert charts.wrap_label("3 · High-value loyalists, referrers") == (
        "3 · High-value<br>loyalists,<br>referrers"
    )
    assert heat.y[0] == "Days since last order"
    assert heat.z[0][0] == pytest.approx(-1.2)
    assert heat.z[0][1] == 2.0  # 3.5 clipped at the colour range
    assert heat.text[0] == ["20.0", "160"]
    assert heat.text[1] == ["90%", "50%"]  # shares shown as percent
    assert heat.customdata[0][1][0] == "100"  # all customers' mean in the hover
    assert heat.zmid == 0


def test_silhouette_curve_marks_the_chosen_number():
    fig = charts.build_silhouette_curve({2: 0.29, 3: 0.28, 4: 0.31}, 4, title="Quality")
    assert list(fig.data[0].x) == [2, 3, 4]
    assert list(fig.data[1].x) == [4] and list(fig.data[1].y) == [0.31]
    assert fig.layout.xaxis.title.text == "Number of segments"


def test_migration_sankey_links_previous_to_current():
    transitions = pd.DataFrame(
        {"from_segment": [0, 1, 1, 2], "to_segment": [1, 1, 2, 2], "customers": [5, 30, 10, 45]}
    )
    fig = charts.build_migration_sankey(
        transitions, LABELS, title="Migration", previous_label="30 Jun", current_label="30 Sep"
    )
    sankey = fig.data[0]
    # Left nodes: segment 1, segment 2, new customers; right: segment 1, segment 2.
    assert list(sankey.node.label) == [
        "1 · Stars",
        "2 · Strugglers",
        "New customers",
        "1 · Stars",
        "2 · Strugglers",
    ]
    assert list(sankey.node.customdata) == ["30 Jun"] * 3 + ["30 Sep"] * 2
    assert list(sankey.link.source) == [2, 0, 0, 1]
    assert list(sankey.link.target) == [3, 3, 4, 4]
    assert list(sankey.link.value) == [5, 30, 10, 45]


def test_customer_history_shows_orders_and_contacts():
    history = pd.DataFrame(
        {
            "date": [date(2024, 6, 20), date(2024, 4, 5), date(2024, 4, 2)],
            "event": ["order", "service contact", "order"],
            "amount": [300.0, 10.0, 100.0],
            "gross_margin": [150.0, np.nan, 50.0],
            "detail": ["", "phone, resolved at first contact", ""],
        }
    )
    fig = charts.build_customer_history(history, title="History")
    orders, contacts = fig.data
    assert list(orders.y) == [100.0, 300.0]  # April, June
    assert [str(m)[:7] for m in orders.x] == ["2024-04", "2024-06"]
    assert list(contacts.y) == [10.0]
    assert fig.layout.yaxis.title.text == "Currency units"

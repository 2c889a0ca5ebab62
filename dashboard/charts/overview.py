"""Charts of the Overview page: functions ``build_…(frame, *, title) -> Figure``, no data access."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.theme import PALETTE, apply_theme


def build_monthly_trend(monthly: pd.DataFrame, *, title: str) -> go.Figure:
    """Revenue and gross margin per month (bars) with service cost (line), currency units."""
    fig = go.Figure()
    fig.add_bar(
        x=monthly["month"],
        y=monthly["revenue"],
        name="Revenue",
        marker_color=PALETTE["primary"],
        hovertemplate="%{x|%b %Y}<br>Revenue %{y:,.0f}<extra></extra>",
    )
    fig.add_bar(
        x=monthly["month"],
        y=monthly["gross_margin"],
        name="Gross margin",
        marker_color=PALETTE["positive"],
        hovertemplate="%{x|%b %Y}<br>Gross margin %{y:,.0f}<extra></extra>",
    )
    fig.add_scatter(
        x=monthly["month"],
        y=monthly["service_cost"],
        name="Service cost",
        mode="lines+markers",
        line={"color": PALETTE["negative"], "width": 2},
        hovertemplate="%{x|%b %Y}<br>Service cost %{y:,.0f}<extra></extra>",
    )
    fig.update_layout(barmode="group", yaxis_title="Currency units", xaxis_title=None)
    fig.update_xaxes(dtick="M1", tickformat="%b %Y")
    return apply_theme(fig, title=title)

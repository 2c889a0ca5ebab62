"""Charts of the Loyalty versus satisfaction page: ``build_…(frame, *, title) -> Figure``."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.charts.theme import PALETTE, apply_theme
from dashboard.domain.loyalty import (
    LOST,
    LOYAL_ADVOCATES,
    LOYAL_BUT_UNHAPPY,
    QUADRANTS,
    SATISFIED_BUT_LEAVING,
)

#: One colour per quadrant, the same on every chart and table of the page.
QUADRANT_COLOURS = {
    LOYAL_ADVOCATES: PALETTE["positive"],
    SATISFIED_BUT_LEAVING: PALETTE["highlight"],
    LOYAL_BUT_UNHAPPY: PALETTE["primary"],
    LOST: PALETTE["negative"],
}

LOYALTY_AXIS = "Loyalty index (0–100, from behaviour)"
SATISFACTION_AXIS = "Satisfaction (0–100, latest answers)"


def _corner(name: str, loyal_cut: float, satisfied_cut: float) -> dict:
    """Where a quadrant's label goes: the outer corner of its quadrant."""
    loyal = name in (LOYAL_ADVOCATES, LOYAL_BUT_UNHAPPY)
    satisfied = name in (LOYAL_ADVOCATES, SATISFIED_BUT_LEAVING)
    return {
        "x": 99 if loyal else 1,
        "xanchor": "right" if loyal else "left",
        "y": 104 if satisfied else -4,
        "yanchor": "bottom" if satisfied else "top",
    }


def _add_quadrants(
    fig: go.Figure, summary: pd.DataFrame, *, loyal_cut: float, satisfied_cut: float
) -> None:
    """Cut lines and one label per quadrant with its customer count and share."""
    line = {"color": PALETTE["neutral"], "width": 1.5, "dash": "dash"}
    fig.add_shape(type="line", x0=loyal_cut, x1=loyal_cut, y0=0, y1=102, line=line)
    fig.add_shape(type="line", x0=0, x1=100, y0=satisfied_cut, y1=satisfied_cut, line=line)
    by_name = summary.set_index("quadrant")
    surveyed = int(by_name.loc[list(QUADRANTS), "customers"].sum())
    for name in QUADRANTS:
        count = int(by_name.loc[name, "customers"])
        share = 100.0 * count / surveyed if surveyed else 0.0
        fig.add_annotation(
            text=f"<b>{name}</b>: {count:,} ({share:.0f}%)",
            showarrow=False,
            font={"color": QUADRANT_COLOURS[name], "size": 13},
            bgcolor="rgba(255,255,255,0.85)",
            **_corner(name, loyal_cut, satisfied_cut),
        )


def _axes(fig: go.Figure) -> None:
    fig.update_xaxes(
        title_text=LOYALTY_AXIS, range=[-2, 102], tickvals=list(range(0, 101, 10)), zeroline=False
    )
    fig.update_yaxes(
        title_text=SATISFACTION_AXIS,
        range=[-12, 112],
        tickvals=list(range(0, 101, 10)),
        zeroline=False,
    )


def build_quadrant_density(
    grid: pd.DataFrame, summary: pd.DataFrame, *, loyal_cut: float, satisfied_cut: float, title: str
) -> go.Figure:
    """Customers per loyalty × satisfaction cell (heatmap), with the quadrant cuts and labels.

    ``grid`` is :func:`dashboard.domain.loyalty.density_grid` (cells by lower edge);
    ``summary`` is :func:`dashboard.domain.loyalty.quadrant_summary`. Empty cells are blank.
    """
    loyalty_edges = np.sort(grid["loyalty"].unique())
    satisfaction_edges = np.sort(grid["satisfaction"].unique())
    loyalty_step = float(loyalty_edges[1] - loyalty_edges[0]) if len(loyalty_edges) > 1 else 100
    satisfaction_step = (
        float(satisfaction_edges[1] - satisfaction_edges[0]) if len(satisfaction_edges) > 1 else 100
    )
    matrix = grid.pivot(index="satisfaction", columns="loyalty", values="customers").reindex(
        index=satisfaction_edges, columns=loyalty_edges
    )
    counts = matrix.to_numpy(dtype=float)
    labels = np.array(
        [[f"{x:.0f}–{x + loyalty_step:.0f}" for x in loyalty_edges] for _ in satisfaction_edges]
    )
    ranges = np.array(
        [[f"{y:.0f}–{y + satisfaction_step:.0f}"] * len(loyalty_edges) for y in satisfaction_edges]
    )
    fig = go.Figure(
        go.Heatmap(
            x=loyalty_edges + loyalty_step / 2,
            y=satisfaction_edges + satisfaction_step / 2,
            z=np.where(counts > 0, counts, np.nan),
            customdata=np.dstack([labels, ranges]),
            colorscale="Blues",
            colorbar={"title": {"text": "Customers"}, "thickness": 12},
            xgap=1,
            ygap=1,
            hovertemplate="Loyalty %{customdata[0]}<br>Satisfaction %{customdata[1]}"
            "<br>%{z:,} customers<extra></extra>",
            name="Customers",
        )
    )
    _add_quadrants(fig, summary, loyal_cut=loyal_cut, satisfied_cut=satisfied_cut)
    _axes(fig)
    fig.update_layout(height=520)
    return apply_theme(fig, title=title)


def build_quadrant_scatter(
    points: pd.DataFrame,
    summary: pd.DataFrame,
    *,
    loyal_cut: float,
    satisfied_cut: float,
    title: str,
) -> go.Figure:
    """One mark per customer with a survey answer, coloured by quadrant, with the cuts.

    ``points`` is :func:`dashboard.domain.loyalty.scatter_points` (``satisfaction_shown`` is
    the nudged value that is drawn; the hover shows the real one).
    """
    fig = go.Figure()
    for name in QUADRANTS:
        group = points[points["quadrant"] == name]
        fig.add_scatter(
            x=group["loyalty_index"],
            y=group["satisfaction_shown"],
            mode="markers",
            name=name,
            marker={"color": QUADRANT_COLOURS[name], "size": 8, "opacity": 0.75},
            customdata=np.column_stack(
                [group["name"].astype(str), group["satisfaction"], group["revenue_last_12m"]]
            )
            if len(group)
            else None,
            hovertemplate="%{customdata[0]}<br>Loyalty %{x:.0f}<br>Satisfaction "
            "%{customdata[1]:.0f}<br>Revenue last 12 months "
            "%{customdata[2]:,.0f}<extra>" + name + "</extra>",
        )
    _add_quadrants(fig, summary, loyal_cut=loyal_cut, satisfied_cut=satisfied_cut)
    _axes(fig)
    fig.update_layout(height=520, showlegend=False)
    return apply_theme(fig, title=title)


def _shade_period(fig: go.Figure, period_start: date | None, trend: pd.DataFrame) -> None:
    """Shade the months of the selected period when the trend reaches further back."""
    if period_start is None or trend.empty:
        return
    start = pd.Timestamp(period_start).to_period("M").to_timestamp()
    if start <= trend["month"].min():
        return
    fig.add_vrect(
        x0=start - pd.Timedelta(days=15),
        x1=trend["month"].max() + pd.Timedelta(days=15),
        fillcolor=PALETTE["neutral"],
        opacity=0.15,
        line_width=0,
        row="all",
        col=1,
    )


def _trend_figure(
    trend: pd.DataFrame,
    *,
    rate: str,
    rate_name: str,
    rate_axis: str,
    rate_format: str,
    count: str,
    count_name: str,
    colour: str,
    period_start: date | None,
    title: str,
) -> go.Figure:
    """The monthly rate (line, top) over the count it rests on (bars, bottom), shared months."""
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28], vertical_spacing=0.06
    )
    fig.add_scatter(
        x=trend["month"],
        y=trend[rate],
        name=rate_name,
        row=1,
        col=1,
        mode="lines+markers",
        line={"color": colour, "width": 2.5},
        connectgaps=False,
        hovertemplate="%{x|%b %Y}<br>" + rate_name + " %{y:" + rate_format + "}<extra></extra>",
    )
    fig.add_bar(
        x=trend["month"],
        y=trend[count],
        name=count_name,
        row=2,
        col=1,
        marker_color=PALETTE["secondary"],
        hovertemplate="%{x|%b %Y}<br>" + count_name + " %{y:,}<extra></extra>",
    )
    if len(trend):
        months = [
            trend["month"].min() - pd.Timedelta(days=15),
            trend["month"].max() + pd.Timedelta(days=15),
        ]
        fig.update_xaxes(range=months)
    fig.update_xaxes(tickformat="%b %Y", row=2, col=1)
    fig.update_yaxes(title_text=rate_axis, row=1, col=1)
    fig.update_yaxes(
        title_text=count_name, row=2, col=1, rangemode="tozero", tickformat=",d", nticks=3
    )
    _shade_period(fig, period_start, trend)
    fig.update_layout(height=420, bargap=0.3, showlegend=False)
    return apply_theme(fig, title=title)


def build_nps_trend(
    trend: pd.DataFrame, *, title: str, period_start: date | None = None
) -> go.Figure:
    """NPS per month (line, −100..+100) over the number of NPS answers (bars, below).

    ``trend`` is :func:`dashboard.domain.loyalty.monthly_trends`; months without answers
    leave a gap. The months of the selected period are shaded when the trend starts earlier.
    """
    fig = _trend_figure(
        trend,
        rate="nps",
        rate_name="NPS",
        rate_axis="NPS (−100 to +100)",
        rate_format="+.0f",
        count="nps_answers",
        count_name="NPS answers",
        colour=PALETTE["primary"],
        period_start=period_start,
        title=title,
    )
    fig.add_hline(y=0, row=1, col=1, line={"color": PALETTE["neutral"], "width": 1})
    return fig


def build_repeat_purchase_trend(
    trend: pd.DataFrame, *, title: str, period_start: date | None = None
) -> go.Figure:
    """Repeat-purchase rate per month (line, % of buyers) over the buyers (bars, below)."""
    fig = _trend_figure(
        trend,
        rate="repeat_purchase_rate",
        rate_name="Repeat-purchase rate",
        rate_axis="Repeat-purchase rate (% of buyers)",
        rate_format=".1f",
        count="buyers",
        count_name="Buyers",
        colour=PALETTE["positive"],
        period_start=period_start,
        title=title,
    )
    # Headroom above 100% so that a marker at 100 is not cut by the plot's top edge.
    fig.update_yaxes(range=[0, 105], tickvals=list(range(0, 101, 20)), row=1, col=1)
    return fig

"""Charts of the Customer value page: ``build_…(frame, *, title) -> Figure``, no data access.

Money is in currency units; shares are plotted in percent.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from dashboard.charts.theme import PALETTE, SEQUENCE, apply_theme


def build_whale_curve(
    points: pd.DataFrame, *, title: str, peak_share: float | None, peak_customer_share: float
) -> go.Figure:
    """Cumulative profit (% of total) against customers ranked most profitable first (%).

    ``points`` is :attr:`dashboard.domain.value.WhaleCurve.points`. When total profit is not
    positive (no share exists) the y axis is cumulative profit in currency units instead.
    """
    as_share = peak_share is not None
    x = 100 * points["customer_share"]
    y = 100 * points["profit_share"] if as_share else points["cumulative_profit"]
    y_title = "Cumulative profit, % of total profit" if as_share else "Cumulative profit (currency)"
    fig = go.Figure()
    fig.add_scatter(
        x=x,
        y=y,
        mode="lines",
        name="Whale curve",
        line={"color": PALETTE["primary"], "width": 3},
        customdata=points[["cumulative_profit"]].to_numpy(),
        hovertemplate="Most profitable %{x:.1f}% of customers<br>"
        + ("earn %{y:.0f}% of total profit" if as_share else "earn %{y:,.0f}")
        + "<br>(%{customdata[0]:,.0f} currency units)<extra></extra>",
    )
    if as_share:
        fig.add_hline(
            y=100,
            line={"color": PALETTE["neutral"], "dash": "dash", "width": 1},
            annotation_text="100% of total profit",
            annotation_position="bottom right",
        )
        fig.add_scatter(
            x=[100 * peak_customer_share],
            y=[100 * peak_share],
            mode="markers+text",
            name="Peak",
            marker={"color": PALETTE["highlight"], "size": 11},
            text=[f"Peak {100 * peak_share:.0f}%"],
            textposition="top center",
            hovertemplate="Peak: the profitable %{x:.1f}% of customers earn %{y:.0f}% of total "
            "profit<extra></extra>",
        )
    fig.update_layout(
        xaxis_title="Customers ranked from most to least profitable, cumulative %",
        yaxis_title=y_title,
        showlegend=False,
    )
    fig.update_xaxes(range=[0, 100], ticksuffix="%")
    if as_share:
        fig.update_yaxes(ticksuffix="%", rangemode="tozero")
    return apply_theme(fig, title=title)


def build_group_bars(
    table: pd.DataFrame,
    *,
    group: str,
    measure: str,
    title: str,
    axis_title: str,
    hover_format: str = ",.0f",
) -> go.Figure:
    """Horizontal bars of ``measure`` per ``group`` (negative bars in red), first row on top.

    Used for profit per customer by segment/region/channel and for customer equity by group.
    Groups with no value (an empty segment) show no bar but keep their row.
    """
    frame = table.iloc[::-1]
    values = frame[measure]
    colours = [PALETTE["negative"] if v < 0 else PALETTE["primary"] for v in values.fillna(0)]
    fig = go.Figure()
    fig.add_bar(
        x=values,
        y=frame[group].astype(str),
        orientation="h",
        marker_color=colours,
        customdata=frame[["customers"]].to_numpy(),
        hovertemplate=f"%{{y}}<br>{axis_title}: %{{x:{hover_format}}}"
        "<br>%{customdata[0]:,} customers<extra></extra>",
    )
    fig.add_vline(x=0, line={"color": PALETTE["neutral"], "width": 1})
    fig.update_layout(
        xaxis_title=axis_title,
        yaxis_title=None,
        height=max(360, 60 + 34 * len(frame)),
        showlegend=False,
    )
    return apply_theme(fig, title=title)


def build_payback_curves(
    curves: pd.DataFrame, *, title: str, chronological: bool = False
) -> go.Figure:
    """Net position per customer (cumulative net margin − acquisition cost) by month since
    acquisition, one line per channel or cohort; break-even where a line crosses zero.

    ``curves`` is :func:`dashboard.domain.value.payback_curves`. With ``chronological`` (cohorts)
    the lines go from light (oldest) to dark (newest) and the legend sits at the right.
    """
    groups = sorted(curves["group"].unique())
    if chronological:
        colours = sample_colorscale(
            "Viridis", [0.9 - 0.8 * i / max(len(groups) - 1, 1) for i in range(len(groups))]
        )
    else:
        colours = [SEQUENCE[i % len(SEQUENCE)] for i in range(len(groups))]
    fig = go.Figure()
    for group, colour in zip(groups, colours, strict=True):
        curve = curves[curves["group"] == group]
        fig.add_scatter(
            x=curve["months_since"],
            y=curve["net_position"],
            mode="lines",
            name=str(group),
            line={"color": colour, "width": 2},
            customdata=curve[["cumulative_net_margin", "acquisition_cost", "customers"]].to_numpy(),
            hovertemplate=f"{group} · month %{{x}}<br>"
            "Net position %{y:,.0f} per customer<br>"
            "= margin − service cost %{customdata[0]:,.0f} − CAC %{customdata[1]:,.0f}"
            "<br>%{customdata[2]:,} customers observed<extra></extra>",
        )
    fig.add_hline(
        y=0,
        line={"color": PALETTE["neutral"], "dash": "dash", "width": 1},
        annotation_text="break-even",
        annotation_position="bottom right",
    )
    fig.update_layout(
        xaxis_title="Months since acquisition (0 = month of acquisition)",
        yaxis_title="Cumulative net margin − CAC, per customer (currency)",
        hovermode="closest",
    )
    apply_theme(fig, title=title)
    if chronological or len(groups) > 6:
        # Many lines: a vertical legend at the right instead of one over the title.
        fig.update_layout(
            legend={"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top"}
        )
    return fig


def build_holdout_tracking(tracking: pd.DataFrame, *, holdout_start: date, title: str) -> go.Figure:
    """Repeat purchases week by week, actual against predicted, with the holdout shaded.

    ``tracking``: ``week_end``, ``actual_weekly``, ``predicted_weekly`` (see
    :meth:`dashboard.storage.clv_store.ClvRun.holdout_tracking`).
    """
    fig = go.Figure()
    fig.add_scatter(
        x=tracking["week_end"],
        y=tracking["actual_weekly"],
        mode="lines",
        name="Actual",
        line={"color": PALETTE["primary"], "width": 2},
        hovertemplate="Week to %{x|%d %b %Y}<br>Actual %{y:,.0f}<extra></extra>",
    )
    fig.add_scatter(
        x=tracking["week_end"],
        y=tracking["predicted_weekly"],
        mode="lines",
        name="Predicted",
        line={"color": PALETTE["highlight"], "width": 2, "dash": "dash"},
        hovertemplate="Week to %{x|%d %b %Y}<br>Predicted %{y:,.0f}<extra></extra>",
    )
    end = tracking["week_end"].max()
    fig.add_vrect(
        x0=pd.Timestamp(holdout_start),
        x1=end,
        fillcolor=PALETTE["neutral"],
        opacity=0.12,
        line_width=0,
        annotation_text="holdout (not seen by the fit)",
        annotation_position="top left",
    )
    fig.update_layout(xaxis_title=None, yaxis_title="Repeat purchases per week")
    return apply_theme(fig, title=title)


def build_holdout_by_frequency(frame: pd.DataFrame, *, title: str) -> go.Figure:
    """Mean holdout repeat purchases per customer by past repeat purchases, actual vs predicted.

    ``frame``: ``calibration_purchases`` ("0".."7+"), ``customers``, ``actual``, ``predicted``.
    """
    fig = go.Figure()
    for series, name, colour in (
        ("actual", "Actual", PALETTE["primary"]),
        ("predicted", "Predicted", PALETTE["highlight"]),
    ):
        fig.add_bar(
            x=frame["calibration_purchases"],
            y=frame[series],
            name=name,
            marker_color=colour,
            customdata=frame[["customers"]].to_numpy(),
            hovertemplate=f"%{{x}} past repeat purchases<br>{name} %{{y:.2f}} per customer"
            "<br>%{customdata[0]:,} customers<extra></extra>",
        )
    fig.update_layout(
        barmode="group",
        xaxis_title="Repeat purchases before the holdout",
        yaxis_title="Purchases per customer, holdout",
    )
    fig.update_xaxes(type="category")
    return apply_theme(fig, title=title)


# Issue 13: both purchase models on the holdout, and the what-if waterfall.


def build_model_tracking(
    tracking: pd.DataFrame, *, models: dict[str, str], chosen: str, holdout_start: date, title: str
) -> go.Figure:
    """Repeat purchases per week, actual against each purchase model, holdout shaded.

    ``tracking``: ``week_end``, ``actual`` and one column per key of ``models`` (key ->
    label); the chosen model's line is solid, the other dotted.
    """
    fig = go.Figure()
    fig.add_scatter(
        x=tracking["week_end"],
        y=tracking["actual"],
        mode="lines",
        name="Actual",
        line={"color": PALETTE["primary"], "width": 2},
        hovertemplate="Week to %{x|%d %b %Y}<br>Actual %{y:,.0f}<extra></extra>",
    )
    colours = iter((PALETTE["highlight"], SEQUENCE[2 % len(SEQUENCE)]))
    for key, label in models.items():
        if key not in tracking.columns:
            continue
        name = f"{label} (chosen)" if key == chosen else label
        fig.add_scatter(
            x=tracking["week_end"],
            y=tracking[key],
            mode="lines",
            name=name,
            line={"color": next(colours), "width": 2, "dash": "dash" if key == chosen else "dot"},
            hovertemplate=f"Week to %{{x|%d %b %Y}}<br>{label} %{{y:,.0f}}<extra></extra>",
        )
    fig.add_vrect(
        x0=pd.Timestamp(holdout_start),
        x1=tracking["week_end"].max(),
        fillcolor=PALETTE["neutral"],
        opacity=0.12,
        line_width=0,
        annotation_text="holdout (not seen by the fits)",
        annotation_position="top left",
    )
    fig.update_layout(xaxis_title=None, yaxis_title="Repeat purchases per week")
    return apply_theme(fig, title=title)


def build_equity_waterfall(
    steps: tuple[tuple[str, float], ...], *, scenario_label: str, title: str
) -> go.Figure:
    """Waterfall from today's customer equity to the scenario's, one step per lever.

    ``steps``: (label, amount), the first today's equity, the others changes (currency);
    a last bar ``scenario_label`` shows the total.
    """
    labels = [label for label, _ in steps] + [scenario_label]
    amounts = [amount for _, amount in steps]
    fig = go.Figure(
        go.Waterfall(
            x=labels,
            y=[*amounts, sum(amounts)],
            measure=["absolute"] + ["relative"] * (len(steps) - 1) + ["total"],
            text=[f"{amount:+,.0f}" if i else f"{amount:,.0f}" for i, amount in enumerate(amounts)]
            + [f"{sum(amounts):,.0f}"],
            textposition="outside",
            connector={"line": {"color": PALETTE["neutral"]}},
            increasing={"marker": {"color": PALETTE["positive"]}},
            decreasing={"marker": {"color": PALETTE["negative"]}},
            totals={"marker": {"color": PALETTE["primary"]}},
            hovertemplate="%{x}<br>%{y:,.0f}<extra></extra>",
        )
    )
    fig.update_layout(xaxis_title=None, yaxis_title="Customer equity (currency)", showlegend=False)
    return apply_theme(fig, title=title)

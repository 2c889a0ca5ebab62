"""Charts of the Customer-base audit page: the five lenses and subscription retention."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from dashboard.charts.theme import PALETTE, SEQUENCE, apply_theme


def build_concentration_curve(curve: pd.DataFrame, *, title: str) -> go.Figure:
    """Cumulative share of revenue against share of customers, highest revenue first; the
    diagonal is an even spread."""
    fig = go.Figure()
    fig.add_scatter(
        x=100 * curve["customer_share"],
        y=100 * curve["revenue_share"],
        mode="lines",
        name="Customers, highest revenue first",
        line={"color": PALETTE["primary"], "width": 3},
        hovertemplate="Top %{x:.0f}% of customers: %{y:.1f}% of revenue<extra></extra>",
    )
    fig.add_scatter(
        x=[0, 100],
        y=[0, 100],
        mode="lines",
        name="Even spread",
        line={"color": PALETTE["neutral"], "dash": "dot"},
        hoverinfo="skip",
    )
    fig.update_xaxes(title_text="Share of customers (%)", range=[0, 100], ticksuffix="%")
    fig.update_yaxes(title_text="Share of revenue (%)", range=[0, 100], ticksuffix="%")
    fig.update_layout(height=380, showlegend=False)
    return apply_theme(fig, title=title)


def build_distribution(
    frame: pd.DataFrame, *, title: str, x_title: str, colour: str = "primary"
) -> go.Figure:
    """Bars of ``customers`` per ``label`` (share of customers in the hover)."""
    fig = go.Figure()
    fig.add_bar(
        x=frame["label"],
        y=frame["customers"],
        marker_color=PALETTE[colour],
        customdata=100 * frame["share"],
        hovertemplate="%{x}: %{y:,} customers (%{customdata:.1f}%)<extra></extra>",
    )
    fig.update_xaxes(title_text=x_title, type="category")
    fig.update_yaxes(title_text="Customers")
    fig.update_layout(height=340, showlegend=False, bargap=0.1)
    return apply_theme(fig, title=title)


def build_revenue_bridge(bridge: pd.DataFrame, *, title: str) -> go.Figure:
    """Waterfall from the previous period's revenue to this period's."""
    fig = go.Figure(
        go.Waterfall(
            x=bridge["step"],
            y=bridge["value"],
            measure=bridge["measure"],
            customdata=bridge["customers"],
            text=[
                f"{v:+,.0f}" if m == "relative" else f"{v:,.0f}"
                for v, m in zip(bridge["value"], bridge["measure"], strict=True)
            ],
            textposition="outside",
            increasing={"marker": {"color": PALETTE["positive"]}},
            decreasing={"marker": {"color": PALETTE["negative"]}},
            totals={"marker": {"color": PALETTE["primary"]}},
            connector={"line": {"color": PALETTE["neutral"], "dash": "dot"}},
            hovertemplate="%{x}: %{y:,.0f}<br>%{customdata:,} customers<extra></extra>",
        )
    )
    fig.update_yaxes(title_text="Revenue (currency units)")
    fig.update_layout(height=420, showlegend=False)
    return apply_theme(fig, title=title)


def build_cohort_lines(
    grid: pd.DataFrame,
    measure: str,
    *,
    title: str,
    y_title: str,
    percent: bool = False,
    highlight: str | None = None,
    age_title: str = "Periods since acquisition",
) -> go.Figure:
    """One line per cohort of ``measure`` by age (complete periods only); ``highlight`` (a
    cohort label) drawn thick, the others thin."""
    fig = go.Figure()
    labels = list(dict.fromkeys(grid["cohort_label"]))
    scale = 100 if percent else 1
    # Without a highlight, colour runs from the oldest cohort (light) to the newest (dark), so
    # a dozen cohorts read without a legend.
    shades = sample_colorscale(
        "Viridis_r", [i / max(len(labels) - 1, 1) for i in range(len(labels))]
    )
    for index, label in enumerate(labels):
        mine = grid[(grid["cohort_label"] == label) & grid["complete"]]
        if highlight is None:
            colour = shades[index]
        else:
            colour = PALETTE["primary"] if label == highlight else "#c8c8c8"
        fig.add_scatter(
            x=mine["age"],
            y=scale * mine[measure],
            mode="lines+markers" if label == highlight else "lines",
            name=label,
            line={"color": colour, "width": 3 if label == highlight else 1.5},
            hovertemplate=f"{label}, age %{{x}}: %{{y:,.{1 if percent else 2}f}}"
            + ("%" if percent else "")
            + "<extra></extra>",
        )
    fig.update_xaxes(title_text=age_title)
    fig.update_yaxes(title_text=y_title, ticksuffix="%" if percent else "")
    fig.update_layout(height=360, showlegend=False)
    return apply_theme(fig, title=title)


def build_cohort_heatmap(grid: pd.DataFrame, *, title: str, age_title: str) -> go.Figure:
    """Share of each cohort active at each age (rows: cohorts, oldest on top)."""
    complete = grid[grid["complete"]]
    table = complete.pivot(index="cohort_label", columns="age", values="share_active")
    order = list(dict.fromkeys(grid["cohort_label"]))
    table = table.reindex([label for label in order if label in table.index])
    fig = go.Figure(
        go.Heatmap(
            z=100 * table.to_numpy(dtype=float),
            x=list(table.columns),
            y=list(table.index),
            colorscale="Blues",
            colorbar={"title": "% active", "ticksuffix": "%"},
            hovertemplate="%{y}, age %{x}: %{z:.1f}% active<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(title_text=age_title)
    fig.update_layout(height=max(320, 18 * len(table) + 120))
    return apply_theme(fig, title=title)


def build_early_signals(early: pd.DataFrame, *, title: str) -> go.Figure:
    """Share of each cohort with a second purchase within 90 and 180 days."""
    fig = go.Figure()
    for column, name, colour in (
        ("repeat_90", "within 90 days", "primary"),
        ("repeat_180", "within 180 days", "secondary"),
    ):
        fig.add_bar(
            x=early["cohort_label"],
            y=100 * early[column],
            name=f"Second purchase {name}",
            marker_color=PALETTE[colour],
            hovertemplate="%{x}: %{y:.1f}% " + name + "<extra></extra>",
        )
    fig.update_xaxes(type="category", title_text="Acquisition cohort")
    fig.update_yaxes(title_text="Share of cohort (%)", ticksuffix="%")
    fig.update_layout(height=360, barmode="group")
    return apply_theme(fig, title=title)


def build_second_purchase(distribution: pd.DataFrame, *, title: str) -> go.Figure:
    """One cohort's days to second purchase: bars per 30 days, cumulative share as a line."""
    fig = go.Figure()
    fig.add_bar(
        x=distribution["label"],
        y=100 * distribution["share"],
        name="In these days",
        marker_color=PALETTE["secondary"],
        hovertemplate="%{x} days: %{y:.1f}% of the cohort<extra></extra>",
    )
    fig.add_scatter(
        x=distribution["label"],
        y=100 * distribution["cumulative_share"],
        name="By then (cumulative)",
        mode="lines+markers",
        line={"color": PALETTE["primary"]},
        hovertemplate="By %{x} days: %{y:.1f}%<extra></extra>",
    )
    fig.update_xaxes(type="category", title_text="Days from first to second purchase")
    fig.update_yaxes(title_text="Share of original members (%)", ticksuffix="%")
    fig.update_layout(height=420)
    return _legend_below(apply_theme(fig, title=title), y=-0.5)


def build_layer_cake(layers: pd.DataFrame, measure: str, *, title: str, y_title: str) -> go.Figure:
    """The customer cohort chart (C3): ``measure`` by calendar month, stacked by cohort,
    oldest cohort at the bottom."""
    fig = go.Figure()
    order = layers.drop_duplicates("layer").sort_values("layer_index")["layer"]
    months = sorted(layers["month"].unique())
    # Oldest layer light, newest dark (as the cohort lines): a dozen layers, no repeated colour.
    shades = sample_colorscale("Viridis_r", [i / max(len(order) - 1, 1) for i in range(len(order))])
    for index, layer in enumerate(order):
        mine = layers[layers["layer"] == layer].set_index("month").reindex(months)
        fig.add_scatter(
            x=months,
            y=mine[measure].fillna(0),
            name=layer,
            mode="lines",
            stackgroup="cohorts",
            line={"width": 0.5, "color": shades[index]},
            hovertemplate=f"{layer} · %{{x|%b %Y}}: %{{y:,.0f}}<extra></extra>",
        )
    fig.update_yaxes(title_text=y_title)
    fig.update_layout(height=500, legend={"traceorder": "normal"})
    return _legend_below(apply_theme(fig, title=title), y=-0.12)


def build_recent_share(recent: pd.DataFrame, *, title: str) -> go.Figure:
    """Share of each month's revenue from customers acquired in the 12 months to it."""
    fig = go.Figure()
    fig.add_scatter(
        x=recent["month"],
        y=100 * recent["share"],
        mode="lines+markers",
        line={"color": PALETTE["highlight"]},
        hovertemplate="%{x|%b %Y}: %{y:.1f}%<extra></extra>",
    )
    fig.update_yaxes(title_text="Share of the month's revenue (%)", ticksuffix="%", range=[0, 100])
    fig.update_layout(height=320, showlegend=False)
    return apply_theme(fig, title=title)


def build_retention_curves(
    observed: pd.DataFrame, projected: pd.DataFrame, *, title: str
) -> go.Figure:
    """Observed share still subscribed by month since the start (solid) and the sBG model's
    projection (dashed), one colour per plan."""
    fig = go.Figure()
    for index, plan in enumerate(sorted(observed["plan"].unique())):
        colour = SEQUENCE[index % len(SEQUENCE)]
        seen = observed[observed["plan"] == plan]
        fig.add_scatter(
            x=seen["tenure"],
            y=100 * seen["survival"],
            name=f"{plan}: observed",
            mode="lines",
            line={"color": colour, "width": 3},
            customdata=seen["at_risk"],
            hovertemplate=f"{plan}, month %{{x}}: %{{y:.1f}}% still subscribed"
            "<br>%{customdata:,} at risk<extra></extra>",
        )
        model = projected[projected["plan"] == plan]
        if not model.empty:
            fig.add_scatter(
                x=model["tenure"],
                y=100 * model["survival"],
                name=f"{plan}: sBG model",
                mode="lines",
                line={"color": colour, "dash": "dash"},
                hovertemplate=f"{plan}, month %{{x}}: model %{{y:.1f}}%<extra></extra>",
            )
    fig.update_xaxes(title_text="Months since the subscription started")
    fig.update_yaxes(title_text="Still subscribed (%)", ticksuffix="%", range=[0, 100])
    fig.update_layout(height=460)
    return _legend_below(apply_theme(fig, title=title))


def build_cohort_retention(curves: pd.DataFrame, *, title: str) -> go.Figure:
    """Observed retention of one plan's start cohorts (one line per start quarter)."""
    fig = go.Figure()
    labels = list(dict.fromkeys(curves["cohort_label"]))
    shades = sample_colorscale(
        "Viridis_r", [i / max(len(labels) - 1, 1) for i in range(len(labels))]
    )
    for index, label in enumerate(labels):
        mine = curves[curves["cohort_label"] == label]
        fig.add_scatter(
            x=mine["tenure"],
            y=100 * mine["survival"],
            name=label,
            mode="lines",
            line={"color": shades[index]},
            hovertemplate=f"{label}, month %{{x}}: %{{y:.1f}}%<extra></extra>",
        )
    fig.update_xaxes(title_text="Months since the subscription started")
    fig.update_yaxes(title_text="Still subscribed (%)", ticksuffix="%", range=[0, 100])
    fig.update_layout(height=460)
    return _legend_below(apply_theme(fig, title=title))


def _legend_below(fig: go.Figure, y: float = -0.3) -> go.Figure:
    """The legend under the plot: beside a long title, the house legend would overlap it."""
    fig.update_layout(
        legend={"orientation": "h", "x": 0, "xanchor": "left", "y": y, "yanchor": "top"},
        margin={"b": 90},
    )
    return fig

"""Charts of the Value curves page (strategy canvas, gap heatmap, win/loss)."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.charts.theme import PALETTE, SEQUENCE, apply_theme


def build_value_curves(curves: pd.DataFrame, *, title: str, columns: int = 3) -> go.Figure:
    """One small strategy canvas per group: importance (expects) and performance (gets).

    x: attributes (same order in every panel), y: mean rating on the 1-10 scale.
    """
    groups = list(dict.fromkeys(curves["group"]))
    attributes = sorted(curves["attribute"].unique())
    columns = max(1, min(columns, len(groups)))
    rows = max(1, math.ceil(len(groups) / columns))
    fig = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=[str(g) for g in groups],
        shared_yaxes=True,
        vertical_spacing=0.18 if rows > 1 else 0.1,
        horizontal_spacing=0.04,
    )
    for index, group in enumerate(groups):
        row, col = divmod(index, columns)
        panel = curves[curves["group"] == group].set_index("attribute").reindex(attributes)
        for measure, colour, dash, name in (
            ("importance", PALETTE["highlight"], "dash", "Expects (importance)"),
            ("performance", PALETTE["primary"], "solid", "Gets (performance)"),
        ):
            fig.add_scatter(
                x=attributes,
                y=panel[measure],
                mode="lines+markers",
                name=name,
                legendgroup=measure,
                showlegend=index == 0,
                line={"color": colour, "dash": dash, "width": 2},
                customdata=panel[["customers"]].to_numpy(),
                hovertemplate=f"{group} · %{{x}}<br>{name} %{{y:.1f}} / 10"
                "<br>%{customdata[0]:,} raters<extra></extra>",
                row=row + 1,
                col=col + 1,
            )
    fig.update_yaxes(range=[0.5, 10.5], dtick=2)
    fig.update_yaxes(title_text="Mean rating (1-10)", col=1)
    fig.update_layout(height=max(340, 300 * rows) + 40, showlegend=False)
    # The title names the two lines; a legend would collide with the panel titles.
    return apply_theme(fig, title=f"{title} (dashed: expects · solid: gets)")


def build_gap_heatmap(curves: pd.DataFrame, *, title: str) -> go.Figure:
    """Gap (importance − performance) per group and attribute; red under-, blue over-served."""
    table = curves.pivot_table(index="group", columns="attribute", values="gap", sort=True)
    limit = max(1.0, float(table.abs().max().max()) if not table.empty else 1.0)
    fig = go.Figure(
        go.Heatmap(
            z=table.to_numpy(),
            x=list(table.columns),
            y=[str(g) for g in table.index],
            zmin=-limit,
            zmax=limit,
            zmid=0,
            colorscale=[[0, PALETTE["primary"]], [0.5, "#f7f7f7"], [1, PALETTE["negative"]]],
            # Pre-formatted so that a group that did not rate an attribute shows a blank cell.
            text=table.map(
                lambda gap: "" if pd.isna(gap) else f"{round(gap, 1) + 0.0:+.1f}"
            ).to_numpy(),
            texttemplate="%{text}",
            colorbar={"title": {"text": "Gap (pts)"}},
            hovertemplate="%{y} · %{x}<br>Gap %{z:+.1f} points<extra></extra>",
        )
    )
    fig.update_layout(height=max(260, 60 * len(table.index) + 120))
    fig.update_yaxes(autorange="reversed")
    return apply_theme(fig, title=title)


def build_win_rate_trend(rates: pd.DataFrame, *, title: str) -> go.Figure:
    """Monthly win rate (%) per group; hover shows decided opportunities behind each point."""
    fig = go.Figure()
    for index, (group, frame) in enumerate(rates.groupby("group", sort=True)):
        fig.add_scatter(
            x=frame["month"],
            y=100 * frame["win_rate"],
            mode="lines+markers",
            name=str(group),
            line={"color": SEQUENCE[index % len(SEQUENCE)]},
            customdata=frame[["won", "decided"]].to_numpy(),
            hovertemplate=f"{group} · %{{x|%b %Y}}<br>Win rate %{{y:.0f}}%"
            "<br>%{customdata[0]} won of %{customdata[1]} decided<extra></extra>",
        )
    # Headroom above 100% so a month won in full is not cut by the top edge.
    fig.update_yaxes(title_text="Win rate (%)", range=[0, 105], tickvals=list(range(0, 101, 20)))
    fig.update_xaxes(tickformat="%b %Y", dtick="M1")
    apply_theme(fig, title=title)
    # One entry per group: above the plot the legend ran into the title; under it, it does not.
    fig.update_layout(
        legend={"orientation": "h", "yanchor": "top", "y": -0.12, "xanchor": "left", "x": 0}
    )
    return fig


def build_loss_reasons(reasons: pd.DataFrame, *, title: str) -> go.Figure:
    """Share of lost opportunities by loss reason (horizontal bars, largest on top)."""
    ordered = reasons.sort_values("opportunities")
    fig = go.Figure(
        go.Bar(
            x=100 * ordered["share"],
            y=ordered["loss_reason"],
            orientation="h",
            marker_color=PALETTE["negative"],
            customdata=ordered[["opportunities", "amount"]].to_numpy(),
            hovertemplate="%{y}: %{x:.0f}% of losses<br>%{customdata[0]} opportunities, "
            "%{customdata[1]:,.0f} currency units<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="Share of lost opportunities (%)")
    fig.update_layout(height=max(240, 40 * len(ordered) + 120))
    return apply_theme(fig, title=title)

"""Charts of the Service page: functions ``build_…(frame, *, title) -> Figure``, no data access."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.charts.theme import PALETTE, apply_theme
from dashboard.formatting import lower_first

#: Above this many agents the slope chart drops its text labels (hover still names them).
MAX_LABELLED_AGENTS = 20


def _minutes_seconds(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest:02d}s"


def build_agent_ranks(
    ranked: pd.DataFrame, *, value_measure: str, value_label: str, value_unit: str, title: str
) -> go.Figure:
    """Slope chart: each agent's rank by speed (left) and by value (right), 1 at the top.

    ``ranked`` is ``service_agents.rank_agents``: ``agent_id``, ``aht_seconds``, the
    ``value_measure`` column, ``speed_rank``, ``value_rank``, ``rank_shift``. Green lines
    climb (the agent looks better by value than by speed), red ones fall.
    """
    fig = go.Figure()
    labelled = len(ranked) <= MAX_LABELLED_AGENTS
    for row in ranked.itertuples(index=False):
        colour = (
            PALETTE["positive"]
            if row.rank_shift > 0
            else PALETTE["negative"]
            if row.rank_shift < 0
            else PALETTE["neutral"]
        )
        value = getattr(row, value_measure)
        value_text = f"{value:+.0f}" if value_unit == "NPS points" else f"{value:.1f}%"
        fig.add_scatter(
            x=["By speed (handle time)", f"By value ({lower_first(value_label)})"],
            y=[row.speed_rank, row.value_rank],
            mode="lines+markers+text" if labelled else "lines+markers",
            line={"color": colour, "width": 2},
            marker={"size": 9, "color": colour},
            text=[
                f"{row.agent_id} · {_minutes_seconds(row.aht_seconds)}",
                f"{row.agent_id} · {value_text}",
            ]
            if labelled
            else None,
            textposition=["middle left", "middle right"],
            name=row.agent_id,
            showlegend=False,
            hovertemplate=(
                f"<b>{row.agent_id}</b><br>handle time "
                f"{_minutes_seconds(row.aht_seconds)} (rank {row.speed_rank})<br>"
                f"{value_label} {value_text} (rank {row.value_rank})<extra></extra>"
            ),
        )
    n = max(len(ranked), 1)
    fig.update_yaxes(
        autorange="reversed",
        title="Rank (1 = best)",
        dtick=1 if n <= 20 else 5,
        range=[n + 0.5, 0.5],
        zeroline=False,
    )
    fig.update_xaxes(title=None, range=[-0.6, 1.6])
    # Labelled: a row per agent; unlabelled (many agents): a bounded height.
    fig.update_layout(height=max(320, 28 * n + 120) if labelled else 720)
    return apply_theme(fig, title=title)


def build_monthly_lenses(
    monthly: pd.DataFrame, *, period_start: pd.Timestamp, title: str
) -> go.Figure:
    """Average handle time (minutes, left axis) and first-contact resolution (%, right axis)
    per calendar month; the shaded part is the current period, the rest the previous one.

    ``monthly`` is ``service_queries.monthly_contacts``.
    """
    frame = monthly[monthly["contacts"] > 0]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    aht_minutes = frame["handle_seconds"] / frame["contacts"] / 60.0
    fcr = 100.0 * frame["fcr_contacts"] / frame["contacts"]
    fig.add_scatter(
        x=frame["month"],
        y=aht_minutes,
        name="Average handle time (cost lens)",
        mode="lines+markers",
        line={"color": PALETTE["negative"], "width": 2},
        customdata=frame["contacts"],
        hovertemplate="%{x|%b %Y}<br>AHT %{y:.2f} min<br>%{customdata:,} contacts<extra></extra>",
        secondary_y=False,
    )
    fig.add_scatter(
        x=frame["month"],
        y=fcr,
        name="First-contact resolution (value lens)",
        mode="lines+markers",
        line={"color": PALETTE["positive"], "width": 2},
        customdata=frame["contacts"],
        hovertemplate="%{x|%b %Y}<br>FCR %{y:.1f}%<br>%{customdata:,} contacts<extra></extra>",
        secondary_y=True,
    )
    if not frame.empty:
        fig.add_vrect(
            x0=pd.Timestamp(period_start) - pd.Timedelta(days=15),
            x1=frame["month"].max() + pd.Timedelta(days=15),
            fillcolor=PALETTE["secondary"],
            opacity=0.08,
            line_width=0,
            annotation_text="this period",
            annotation_position="bottom left",
        )
    fig.update_yaxes(
        title_text="Average handle time (minutes)", rangemode="tozero", secondary_y=False
    )
    fig.update_yaxes(
        title_text="First-contact resolution (%)",
        # Headroom: a month at 100% would run along the top edge, and the top label "100"
        # would be cut in half.
        range=[0, 108],
        tickvals=list(range(0, 101, 20)),
        showgrid=False,
        secondary_y=True,
    )
    months = len(frame)
    fig.update_xaxes(dtick="M1" if months <= 13 else "M3", tickformat="%b %Y")
    apply_theme(fig, title=title)
    # The legend goes under the plot: above it, it sat on the lines near 100%.
    fig.update_layout(
        legend={"orientation": "h", "yanchor": "top", "y": -0.15, "xanchor": "left", "x": 0},
        margin={"b": 60},
    )
    return fig


def build_driver_effects(effects: pd.DataFrame, *, title: str) -> go.Figure:
    """Estimated effects with 95% confidence intervals, one panel per outcome.

    ``effects`` has ``label`` (measure and step), ``outcome`` ("ordered_again" in points,
    "revenue_after" in currency units), ``estimate``, ``low``, ``high``. A bar crossing the
    dashed zero line is no measurable effect.
    """
    panels = {
        "ordered_again": "Chance of ordering again (points)",
        "revenue_after": "Revenue after the contact (currency units)",
    }
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.06)
    for column, (outcome, axis_title) in enumerate(panels.items(), start=1):
        rows = effects[(effects["outcome"] == outcome) & effects["estimate"].notna()]
        fig.add_scatter(
            x=rows["estimate"],
            y=rows["label"],
            mode="markers",
            marker={"size": 11, "color": PALETTE["primary"]},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": rows["high"] - rows["estimate"],
                "arrayminus": rows["estimate"] - rows["low"],
                "color": PALETTE["primary"],
                "thickness": 2,
            },
            customdata=rows[["low", "high"]].to_numpy(),
            hovertemplate=(
                "%{y}<br>%{x:+.2f} (95% CI %{customdata[0]:+.2f} to "
                "%{customdata[1]:+.2f})<extra></extra>"
            ),
            showlegend=False,
            row=1,
            col=column,
        )
        fig.add_vline(x=0, line_dash="dash", line_color=PALETTE["neutral"], row=1, col=column)
        fig.update_xaxes(title_text=axis_title, row=1, col=column)
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=260)
    return apply_theme(fig, title=title)

"""A chart from its data (``dashboard.domain.findings.ChartData``), titled with its finding.

The Story page, the PNG and SVG downloads draw this figure; the PowerPoint deck draws the same
data as a native chart and the PDF with Matplotlib, so every medium shows the same series.
"""

from __future__ import annotations

import html

import plotly.graph_objects as go

from dashboard.charts.theme import SEQUENCE, apply_theme
from dashboard.domain.findings import ChartData


def finding_title(finding: str, subtitle: str) -> str:
    """The finding, with the period, filters and data date in small grey type beneath it."""
    return (
        f"<b>{html.escape(finding)}</b><br>"
        f"<span style='font-size:12px;color:#666;font-weight:normal'>{html.escape(subtitle)}</span>"
    )


def build_finding_chart(chart: ChartData, *, title: str, subtitle: str = "") -> go.Figure:
    """Bars, horizontal bars, lines over categories or a line over numbers, one trace a series."""
    fig = go.Figure()
    for number, series in enumerate(chart.series):
        colour = SEQUENCE[number % len(SEQUENCE)]
        values = [None if v is None else v for v in series.values]
        if chart.kind == "bar":
            fig.add_bar(x=list(chart.categories), y=values, name=series.name, marker_color=colour)
        elif chart.kind == "barh":
            fig.add_bar(
                y=list(chart.categories),
                x=values,
                name=series.name,
                orientation="h",
                marker_color=colour,
            )
        elif chart.kind == "line":
            fig.add_scatter(
                x=list(chart.categories),
                y=values,
                name=series.name,
                mode="lines+markers",
                line={"color": colour, "width": 2},
            )
        else:  # xy
            fig.add_scatter(
                x=list(series.x or ()),
                y=values,
                name=series.name,
                mode="lines",
                line={"color": colour, "width": 2},
            )
    if chart.kind == "barh":
        fig.update_layout(xaxis_title=chart.y_title, yaxis_title=None)
        fig.update_yaxes(autorange="reversed")
    else:
        fig.update_layout(xaxis_title=chart.x_title, yaxis_title=chart.y_title, barmode="group")
    fig = apply_theme(fig, title=finding_title(title, subtitle) if subtitle else title)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 90 if subtitle else 50, "b": 10})
    fig.update_layout(legend={"y": -0.25, "yanchor": "top", "x": 0, "xanchor": "left"})
    return fig

"""One look for every chart: colours, fonts, margins (matches .streamlit/config.toml)."""

from __future__ import annotations

import plotly.graph_objects as go

PALETTE = {
    "primary": "#1f4e79",
    "secondary": "#5b9bd5",
    "positive": "#2e8b57",
    "negative": "#c0392b",
    "neutral": "#8c8c8c",
    "highlight": "#e69f00",
}

#: Qualitative sequence for groups (segments, channels, regions): colour-blind safe (Okabe-Ito).
SEQUENCE = [
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
    "#999999",
    "#332288",
]


def apply_theme(fig: go.Figure, *, title: str) -> go.Figure:
    """Apply the house layout and the title to ``fig`` and return it."""
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
        template="plotly_white",
        colorway=SEQUENCE,
        font={"family": "Inter, Segoe UI, Helvetica, Arial, sans-serif", "size": 13},
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
        hoverlabel={"font_size": 12},
    )
    return fig

"""Small display building blocks shared by pages (Streamlit only; no data access)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import formatting
from dashboard.domain import metrics


def kpi_card(kpi: metrics.Kpi, where: Any = st) -> None:
    """A bordered figure with its change against the previous period and its definition.

    ``where`` is the container to draw in (a column, the sidebar, ...); default the page.
    """
    delta = formatting.kpi_delta(kpi)
    where.metric(
        kpi.label,
        formatting.format_value(kpi.value, kpi.kind),
        delta=delta.text,
        delta_color=delta.color,
        delta_arrow=delta.arrow,
        help=kpi.definition,
        border=True,
    )


def kpi_grid(kpis: list[metrics.Kpi], columns: int = 4) -> None:
    """Figures in rows of ``columns`` cards."""
    for row_start in range(0, len(kpis), columns):
        row = kpis[row_start : row_start + columns]
        for column, kpi in zip(st.columns(columns), row, strict=False):
            kpi_card(kpi, column)


def table_height(rows: int, *, max_rows: int = 10) -> int:
    """Pixel height of an ``st.dataframe`` that shows ``rows`` rows (capped at ``max_rows``,
    then it scrolls) without empty grid rows: 35 px per row plus the header and border."""
    return 35 * (max(min(rows, max_rows), 1) + 1) + 3

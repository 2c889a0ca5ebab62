"""Named reporting periods, anchored on the latest date in the data (not today's date).

Anchoring on the data keeps a demo or a nightly-loaded warehouse meaningful: "last 3 months"
means the three months up to the last order the store knows about. Decision recorded in
docs/decisions.md.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

PRESETS: tuple[str, ...] = (
    "Last 3 months",
    "Last month",
    "Last 6 months",
    "Last 12 months",
    "Year to date",
    "All history",
    "Custom",
)
DEFAULT_PRESET = "Last 3 months"


def _months_back(anchor: date, months: int) -> date:
    """Start of the ``months`` calendar months that end on ``anchor`` (30 Sep -> 1 Jul for 3)."""
    return (pd.Timestamp(anchor) + timedelta(days=1) - pd.DateOffset(months=months)).date()


def preset_period(preset: str, anchor: date, first: date) -> tuple[date, date]:
    """The (start, end) of a named period ending on ``anchor``; never before ``first``.

    Raises ValueError for "Custom" or an unknown name (the caller supplies custom dates).
    """
    if preset == "Last month":
        start = _months_back(anchor, 1)
    elif preset == "Last 3 months":
        start = _months_back(anchor, 3)
    elif preset == "Last 6 months":
        start = _months_back(anchor, 6)
    elif preset == "Last 12 months":
        start = _months_back(anchor, 12)
    elif preset == "Year to date":
        start = date(anchor.year, 1, 1)
    elif preset == "All history":
        start = first
    else:
        raise ValueError(f"unknown period preset {preset!r}; choose one of {PRESETS}")
    return max(start, first), anchor

"""Numbers and words for display: how a figure, a change or a count is written.

Shared by the views (findings as sentences), the charts (labels) and the app glue (cards and
tables), so every page writes "1.2M", "+3.4 pts" or "2,051 customers" the same way. Pure Python,
no Streamlit: importable from every layer except storage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from dashboard.domain.metrics import Kpi


def format_value(value: float | None, kind: str) -> str:
    """Human format of a figure by kind; an em dash for an undefined value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if kind == "money":
        return _compact(value, prefix="")
    if kind == "percent":
        return f"{value:.1f}%"
    if kind == "score":
        return f"{value:+.0f}"
    if kind == "seconds":
        minutes, seconds = divmod(round(value), 60)
        return f"{minutes}m {seconds:02d}s"
    return _compact(value)


def _compact(value: float, prefix: str = "") -> str:
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= threshold:
            return f"{sign}{prefix}{magnitude / threshold:,.1f}{suffix}"
    if magnitude == int(magnitude):
        return f"{sign}{prefix}{magnitude:,.0f}"
    return f"{sign}{prefix}{magnitude:,.2f}"


def format_change(kpi: Kpi) -> str | None:
    """The change against the previous period as shown under a figure (None if undefined).

    Percent figures change in points, NPS in points, others relatively (%) when the previous
    value is non-zero, else by a signed absolute amount.
    """
    if kpi.change is None:
        return None
    if kpi.kind == "percent":
        return f"{kpi.change:+.1f} pts"
    if kpi.kind == "score":
        return f"{kpi.change:+.0f} pts"
    if kpi.relative_change is None:
        text = format_value(kpi.change, kpi.kind)
        return text if text.startswith("-") else f"+{text}"
    return f"{100 * kpi.relative_change:+.1f}%"


@dataclass(frozen=True)
class Delta:
    """How a change is shown under a figure: text, colour rule and arrow (Streamlit's terms)."""

    text: str
    color: str  # "normal", "inverse" or "off"
    arrow: str  # "auto" or "off"


def kpi_delta(kpi: Kpi) -> Delta:
    """Delta of a headline figure: grey and arrow-less when unchanged or not comparable.

    A change that rounds to zero at the displayed precision is "no change" rather than a green
    "+0.0%"; a figure without a previous value says so, which also keeps cards the same height.
    """
    text = format_change(kpi)
    if text is None:
        return Delta("no previous value", "off", "off")
    if text.lstrip("+-").rstrip(" pts%").strip("0.") == "":
        return Delta("no change", "off", "off")
    return Delta(text, "normal" if kpi.higher_is_better else "inverse", "auto")


def format_signed(value: float | None, kind: str) -> str:
    """``format_value`` with an explicit sign ("+250", "-1.2k", "+12.50"): for differences shown
    next to a figure of the same kind, so both use the same precision."""
    text = format_value(value, kind)
    if value is None or text == "—" or text.startswith(("-", "+")):
        return text
    return f"+{text}"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """'1 customer', '2,051 customers': the count with thousands separators and agreement."""
    word = singular if count == 1 else (plural_form or f"{singular}s")
    return f"{count:,} {word}"


def lower_first(label: str) -> str:
    """A label for use mid-sentence: 'Average handle time' → 'average handle time', but
    acronyms keep their capitals ('NPS after contact', 'CSAT')."""
    first, _, rest = label.partition(" ")
    if len(first) > 1 and first.isupper():
        return label
    return label[:1].lower() + label[1:]


def in_percent(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """A copy of ``frame`` with the share ``columns`` (fractions 0-1) as percent (0-100), for
    tables that show every percentage with one decimal (``format="%.1f%%"``)."""
    shown = frame.copy()
    for column in columns:
        if column in shown:
            shown[column] = 100.0 * shown[column].astype(float)
    return shown

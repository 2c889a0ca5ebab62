"""Headline metrics: pure functions from the aggregates the queries return (docs/metrics.md).

Nothing here talks to a database or to Streamlit; the CLI, the pages and the tests share it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when the denominator is zero (undefined, not zero)."""
    if denominator is None or denominator == 0 or pd.isna(denominator):
        return None
    return float(numerator) / float(denominator)


def nps(promoters: int, detractors: int, answers: int) -> float | None:
    """Net Promoter Score = % promoters (9-10) - % detractors (0-6), passives in the base only.

    Returns a score from -100 to +100 (not a percentage), or None without answers.
    """
    share = ratio(promoters - detractors, answers)
    return None if share is None else 100.0 * share


def csat_top2(top2: int, answers: int) -> float | None:
    """CSAT as the share of answers of 4 or 5 on the 1-5 scale, in percent (None if no answer)."""
    share = ratio(top2, answers)
    return None if share is None else 100.0 * share


@dataclass(frozen=True)
class Kpi:
    """One headline figure with its previous-period value and definition.

    ``kind`` says how to read and format the value: ``count``, ``money`` (currency units),
    ``percent`` (0-100), ``score`` (NPS points) or ``seconds``.
    """

    key: str
    label: str
    value: float | None
    previous: float | None
    kind: str
    definition: str
    higher_is_better: bool = True

    @property
    def change(self) -> float | None:
        """Absolute change against the previous period (None when either side is undefined)."""
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def relative_change(self) -> float | None:
        """Change as a fraction of the previous value (None when that is zero or undefined)."""
        if self.change is None or not self.previous:
            return None
        return self.change / abs(self.previous)


def _period_kpis(row: pd.Series) -> dict[str, float | None]:
    gross_margin = float(row["revenue"]) - float(row["order_cost"])
    return {
        "customers": float(row["customers"]),
        "active_customers": float(row["active_customers"]),
        "revenue": float(row["revenue"]),
        "gross_margin": gross_margin,
        "gross_margin_pct": None
        if (r := ratio(gross_margin, row["revenue"])) is None
        else 100.0 * r,
        "csat": csat_top2(int(row["csat_top2"]), int(row["csat_answers"])),
        "csat_mean": ratio(row["csat_sum"], row["csat_answers"]),
        "nps": nps(int(row["promoters"]), int(row["detractors"]), int(row["nps_answers"])),
        "contacts": float(row["contacts"]),
        "cost_per_contact": ratio(row["service_cost"], row["contacts"]),
        "fcr": None if (f := ratio(row["fcr_contacts"], row["contacts"])) is None else 100.0 * f,
    }


#: Label, kind, definition and direction of every headline figure, in display order.
HEADLINE_DEFINITIONS: dict[str, tuple[str, str, str, bool]] = {
    "customers": (
        "Customers",
        "count",
        "Customers acquired on or before the period's last day (the customer base).",
        True,
    ),
    "active_customers": (
        "Active customers",
        "count",
        "Customers with at least one order in the 12 months (365 days) up to "
        "the period's last day.",
        True,
    ),
    "revenue": ("Revenue", "money", "Sum of order revenue in the period (currency units).", True),
    "gross_margin": (
        "Gross margin",
        "money",
        "Order revenue minus order cost in the period (currency units).",
        True,
    ),
    "csat": (
        "CSAT",
        "percent",
        "Share of CSAT answers in the period scoring 4 or 5 on the 1-5 scale (top-two-box).",
        True,
    ),
    "nps": (
        "NPS",
        "score",
        "% promoters (9-10) minus % detractors (0-6) among NPS answers in the period; "
        "passives count in the base. From -100 to +100, not a percentage.",
        True,
    ),
    "contacts": ("Service contacts", "count", "Service contacts opened in the period.", False),
    "cost_per_contact": (
        "Cost per contact",
        "money",
        "Service cost in the period divided by contacts in the period.",
        False,
    ),
}


def headline_kpis(totals: pd.DataFrame) -> list[Kpi]:
    """Headline figures for the current period with the previous period's values.

    ``totals`` is the frame of :func:`dashboard.storage.queries.period_totals` (rows
    "current" and "previous").
    """
    by_period = totals.set_index("period")
    current = _period_kpis(by_period.loc["current"])
    previous = _period_kpis(by_period.loc["previous"])
    return [
        Kpi(key, label, current[key], previous[key], kind, definition, better)
        for key, (label, kind, definition, better) in HEADLINE_DEFINITIONS.items()
    ]


def period_has_data(totals: pd.DataFrame) -> bool:
    """True when the current period has any order, contact or survey in scope."""
    row = totals.set_index("period").loc["current"]
    return bool(
        row["orders"]
        or row["contacts"]
        or row["csat_answers"]
        or row["nps_answers"]
        or row["customers"]
    )


def fill_months(monthly: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Monthly frame with every calendar month from ``start`` to ``end``, zeros where empty."""
    months = pd.date_range(
        pd.Timestamp(start).to_period("M").to_timestamp(),
        pd.Timestamp(end).to_period("M").to_timestamp(),
        freq="MS",
    )
    if monthly.empty:
        filled = pd.DataFrame({"month": months})
        for column in ("revenue", "gross_margin", "orders", "contacts", "service_cost"):
            filled[column] = 0.0
        return filled
    return (
        monthly.set_index("month").reindex(months, fill_value=0).rename_axis("month").reset_index()
    )


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


def table_height(rows: int, *, max_rows: int = 10) -> int:
    """Pixel height of an ``st.dataframe`` that shows ``rows`` rows (capped at ``max_rows``,
    then it scrolls) without empty grid rows: 35 px per row plus the header and border."""
    return 35 * (max(min(rows, max_rows), 1) + 1) + 3

"""Headline metrics: pure functions from the aggregates the queries return (docs/metrics.md).

Nothing here talks to a database or to Streamlit; the CLI, the pages and the tests share it.
"""

from __future__ import annotations

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

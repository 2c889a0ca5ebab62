"""Findings: the one sentence a chart says, and the chart's data in a form any renderer draws.

A chart's title states its finding ("The most profitable 20% of customers earn 215% of
profit"), worked out here from the same numbers the chart draws, so the screen, the PowerPoint
deck and the PDF say the same thing. Each rule is written in docs/metrics.md ("Findings").

:class:`ChartData` is the chart as plain data (categories, named series, axis titles, a number
format), so that Plotly (``dashboard.charts.findings``), python-pptx (native, editable charts)
and the PDF renderer all draw it from one source. Pure: no Streamlit, no storage.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from dashboard.domain import loyalty as loyalty_rules
from dashboard.domain.metrics import Kpi
from dashboard.formatting import format_value, lower_first

#: Chart kinds: vertical bars, horizontal bars, lines over categories, a line over numbers (x, y).
KINDS = ("bar", "barh", "line", "xy")


@dataclass(frozen=True)
class Series:
    """One named series; ``values`` align with :attr:`ChartData.categories`, or with ``x`` for
    an ``xy`` chart. None is a gap (no value)."""

    name: str
    values: tuple[float | None, ...]
    x: tuple[float, ...] | None = None


@dataclass(frozen=True)
class ChartData:
    """A chart as data.

    Attributes
    ----------
    kind:
        One of :data:`KINDS`.
    categories:
        The category axis (empty for ``xy``).
    series:
        The series drawn.
    x_title, y_title:
        Axis titles, with units.
    number_format:
        Excel-style number format of the value axis ("#,##0", "0.0", "0%" ...).
    """

    kind: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    x_title: str = ""
    y_title: str = ""
    number_format: str = "#,##0"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"chart kind must be one of {KINDS}, got {self.kind!r}")

    @property
    def is_empty(self) -> bool:
        """Nothing to draw: no category, no series or no value at all."""
        if not self.series or (self.kind != "xy" and not self.categories):
            return True
        return all(v is None for s in self.series for v in s.values)

    def frame(self) -> pd.DataFrame:
        """The chart's numbers as a table (one column per series), for a CSV or a check."""
        if self.kind == "xy":
            parts = [
                pd.DataFrame(
                    {"series": s.name, self.x_title or "x": s.x, self.y_title or "y": s.values}
                )
                for s in self.series
            ]
            return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        data = {"category": list(self.categories)}
        for s in self.series:
            data[s.name] = list(s.values)
        return pd.DataFrame(data)


def _number(value: object) -> float | None:
    """A plain float, None for a missing or non-finite value."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _values(values: Sequence[object]) -> tuple[float | None, ...]:
    return tuple(_number(v) for v in values)


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{100 * share:.0f}%"


# --------------------------------------------------------------------------------------------
# Headline figures


def headline_finding(kpis: Sequence[Kpi]) -> str:
    """Revenue and gross margin of the period against the previous one.

    "Revenue rose 13.7% to 282.2k on the previous period; gross margin rose 14.4%". A change
    below 0.05% is "held steady".
    """
    by_key = {kpi.key: kpi for kpi in kpis}
    revenue, margin = by_key.get("revenue"), by_key.get("gross_margin")
    if revenue is None or revenue.value is None:
        return "No revenue in the period"
    text = f"Revenue {_moved(revenue)} to {format_value(revenue.value, 'money')}"
    if revenue.relative_change is not None:
        text += " on the previous period"
    if margin is not None and margin.relative_change is not None:
        text += f"; gross margin {_moved(margin)}"
    return text


def _moved(kpi: Kpi) -> str:
    change = kpi.relative_change
    if change is None:
        return "came"
    if abs(change) < 0.0005:
        return "held steady"
    return f"{'rose' if change > 0 else 'fell'} {100 * abs(change):.1f}%"


def monthly_chart(monthly: pd.DataFrame) -> ChartData:
    """Revenue, gross margin and service cost per calendar month (currency units)."""
    months = tuple(pd.to_datetime(monthly["month"]).dt.strftime("%b %Y"))
    return ChartData(
        kind="bar",
        categories=months,
        series=(
            Series("Revenue", _values(monthly["revenue"])),
            Series("Gross margin", _values(monthly["gross_margin"])),
            Series("Service cost", _values(monthly["service_cost"])),
        ),
        x_title="Month",
        y_title="Currency units",
    )


# --------------------------------------------------------------------------------------------
# Whale curve


def whale_finding(top_20_share: float | None, total_profit: float) -> str:
    """ "The most profitable 20% of customers earn 215% of profit" (top-20% share of the whale
    curve); when total profit is not positive the share is undefined and the total is said."""
    if top_20_share is None:
        return (
            f"Total profit is {format_value(total_profit, 'money')}: the customers "
            "together do not make money"
        )
    return f"The most profitable 20% of customers earn {_percent(top_20_share)} of profit"


def whale_chart(points: pd.DataFrame, total_profit: float) -> ChartData:
    """Cumulative profit (% of total profit; currency units when the total is not positive)
    against the share of customers, ranked most profitable first."""
    x = tuple(round(100 * v, 4) for v in points["customer_share"])
    if total_profit > 0:
        values, title, fmt = 100 * points["profit_share"], "Cumulative profit, % of total", "0"
    else:
        values, title, fmt = points["cumulative_profit"], "Cumulative profit (currency)", "#,##0"
    return ChartData(
        kind="xy",
        categories=(),
        series=(Series("Cumulative profit", _values(values), x),),
        x_title="Customers ranked by profit, % (most profitable first)",
        y_title=title,
        number_format=fmt,
    )


# --------------------------------------------------------------------------------------------
# Segments


def segment_finding(worth: pd.DataFrame) -> str:
    """The segment whose share of gross margin most exceeds its share of customers (the rule of
    the Segments page's concentration sentence): "1 · High-value loyalists holds 97% of gross
    margin with 45% of customers"."""
    if worth.empty or worth["gross_margin_share"].isna().all():
        return "No segment holds any gross margin in the period"
    gap = worth["gross_margin_share"] - worth["customers_share"]
    top = worth.loc[gap.idxmax()]
    if gap.max() <= 0:
        return "Every segment holds about its share of customers in gross margin"
    return (
        f"{top['label']} holds {top['gross_margin_share']:.0f}% of gross margin with "
        f"{top['customers_share']:.0f}% of customers"
    )


def segment_chart(worth: pd.DataFrame) -> ChartData:
    """Share of customers, gross margin, profit (and lifetime value when known) by segment, %."""
    series = [
        Series("% of customers", _values(worth["customers_share"])),
        Series("% of gross margin", _values(worth["gross_margin_share"])),
        Series("% of profit", _values(worth["profit_share"])),
    ]
    if "lifetime_value_share" in worth and worth["lifetime_value_share"].notna().any():
        series.append(Series("% of lifetime value", _values(worth["lifetime_value_share"])))
    return ChartData(
        kind="bar",
        categories=tuple(str(label) for label in worth["label"]),
        series=tuple(series),
        x_title="Segment",
        y_title="% of the portfolio",
        number_format="0",
    )


# --------------------------------------------------------------------------------------------
# Loyalty quadrants


def loyalty_finding(customers: int, revenue_last_12m: float, share: float | None) -> str:
    """Revenue of the "satisfied but leaving" quadrant: "Satisfied but leaving customers hold
    6.6% of revenue (69.0k in the last 12 months)"."""
    if customers == 0:
        return "No customer is satisfied but leaving"
    amount = format_value(revenue_last_12m, "money")
    if share is None:
        return f"Satisfied but leaving customers hold {amount} of revenue in the last 12 months"
    return (
        f"Satisfied but leaving customers hold {share:.1f}% of revenue "
        f"({amount} in the last 12 months)"
    )


def loyalty_chart(summary: pd.DataFrame) -> ChartData:
    """Share of customers and of revenue (last 12 months) per quadrant, % of customers in view."""
    total = summary["revenue_last_12m"].sum()
    revenue_share = 100 * summary["revenue_last_12m"] / total if total else summary["share"] * 0
    return ChartData(
        kind="bar",
        categories=tuple(summary["quadrant"].astype(str)),
        series=(
            Series("% of customers", _values(summary["share"])),
            Series("% of revenue, last 12 months", _values(revenue_share)),
        ),
        x_title="Quadrant",
        y_title="% of customers in view",
        number_format="0",
    )


QUADRANT_DEFINITION = (
    f"Quadrants: satisfied = satisfaction ≥ {loyalty_rules.DEFAULT_SETTINGS.satisfied_cut:g} "
    "(latest CSAT and NPS answers, 0-100); loyal = loyalty index ≥ "
    f"{loyalty_rules.DEFAULT_SETTINGS.loyal_cut:g} (what customers do: recency, frequency, "
    "tenure, referrals, still active; 0-100)."
)


# --------------------------------------------------------------------------------------------
# Service verdict

_VERDICTS = {
    "cost center": "Service is run as a cost center: cost measures moved, value measures did not",
    "value driver": "Service is run as a value driver: value measures moved, cost measures did not",
    "both": "Service moved on both scorecards, cost and value",
    "neither": "Neither service scorecard moved beyond noise against the previous period",
}


def service_finding(scorecard: str) -> str:
    """The verdict of the Service page in one sentence (the rule: docs/metrics.md, "Service")."""
    return _VERDICTS.get(scorecard, f"Service verdict: {scorecard}")


def service_chart(kpis: Sequence[Kpi]) -> ChartData:
    """Change of each scorecard measure against the previous period, % of its previous value."""
    shown = [k for k in kpis if k.relative_change is not None]
    return ChartData(
        kind="barh",
        categories=tuple(k.label for k in shown),
        series=(
            Series(
                "Change on the previous period, %", _values(100 * k.relative_change for k in shown)
            ),
        ),
        x_title="Measure",
        y_title="Change on the previous period, %",
        number_format="0.0",
    )


# --------------------------------------------------------------------------------------------
# Value curves


def value_curve_finding(gaps: pd.DataFrame | None, group_label: str, threshold: float) -> str:
    """The gap worth the most (ranked by value at stake): "Segment High-value loyalists is
    over-served on personal service by 1.4 points (75.0k of margin at stake)"."""
    if gaps is None or gaps.empty:
        return (
            f"No {lower_first(group_label)} is more than {threshold:g} point off on any attribute"
        )
    top = gaps.iloc[0]
    return (
        f"{group_label} {top['group']} is {top['status']} on {top['attribute']} by "
        f"{abs(top['gap']):.1f} points ({format_value(top['value_at_stake'], 'money')} of "
        "margin at stake)"
    )


def value_curve_chart(curves: pd.DataFrame, group: str) -> ChartData:
    """Importance and performance (1-10) per attribute of one group."""
    rows = curves[curves["group"].astype(str) == str(group)].sort_values("attribute")
    return ChartData(
        kind="line",
        categories=tuple(rows["attribute"].astype(str)),
        series=(
            Series(f"Importance ({group})", _values(rows["importance"])),
            Series(f"Performance ({group})", _values(rows["performance"])),
        ),
        x_title="Attribute",
        y_title="Mean rating, 1-10",
        number_format="0.0",
    )


# --------------------------------------------------------------------------------------------
# Acquisition payback


def payback_finding(table: pd.DataFrame, group_column: str) -> str:
    """Fastest and slowest payback of the groups: "Direct customers pay back their acquisition
    cost in month 0; social media customers have not yet (36 months seen)"."""
    if table.empty or "payback_month" not in table:
        return "Too few customers to tell when acquisition pays back"
    known = table.dropna(subset=["payback_month"]).sort_values("payback_month")
    unpaid = table[table["payback_month"].isna()]
    if known.empty:
        return "No acquisition channel has paid back its acquisition cost yet"
    fast = known.iloc[0]
    text = (
        f"{_upper_first(str(fast[group_column]))} customers pay back their acquisition cost in "
        f"month {int(fast['payback_month'])}"
    )
    if not unpaid.empty:
        names = ", ".join(str(v) for v in unpaid[group_column])
        text += f"; {names} {'have' if len(unpaid) > 1 else 'has'} not yet"
    elif len(known) > 1:
        slow = known.iloc[-1]
        text += f"; {slow[group_column]} takes until month {int(slow['payback_month'])}"
    return text


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def payback_chart(curves: pd.DataFrame) -> ChartData:
    """Cumulative net margin per customer minus mean CAC, by month since acquisition, per group
    (break-even at 0; currency units)."""
    months = int(curves["months_since"].max()) + 1 if not curves.empty else 0
    series = []
    for group, curve in curves.groupby("group", sort=True):
        values: list[float | None] = [None] * months
        for month, position in zip(curve["months_since"], curve["net_position"], strict=True):
            values[int(month)] = _number(position)
        series.append(Series(str(group), tuple(values)))
    return ChartData(
        kind="line",
        categories=tuple(str(m) for m in range(months)),
        series=tuple(series),
        x_title="Months since acquisition",
        y_title="Net margin per customer − CAC (currency)",
    )


# --------------------------------------------------------------------------------------------
# Findings of the pages' other charts


def loss_reason_finding(reasons: pd.DataFrame) -> str:
    """The most frequent loss reason: "Top loss reason: price, 35% of lost deals"."""
    if reasons.empty:
        return "No opportunity was lost in the period"
    top = reasons.sort_values("opportunities", ascending=False).iloc[0]
    return f"Top loss reason: {top['loss_reason']}, {100 * top['share']:.0f}% of lost deals"


def equity_finding(split: pd.DataFrame, group: str, group_label: str) -> str:
    """The group holding the largest share of customer equity: "Region North holds 45% of
    customer equity with 30% of the customers"."""
    shown = split.dropna(subset=["equity_share"])
    if shown.empty or shown["customers"].sum() == 0:
        return "Customer equity is not positive: no share to compare"
    top = shown.sort_values("equity_share", ascending=False).iloc[0]
    customers = 100 * top["customers"] / shown["customers"].sum()
    return (
        f"{group_label} {top[group]} holds {100 * top['equity_share']:.0f}% of customer equity "
        f"with {customers:.0f}% of the customers"
    )


def migration_finding(stayed: float | None, before: str, now: str) -> str:
    """ "71% of customers stayed in their segment from 30 Jun 2026 to 30 Sep 2026"."""
    if stayed is None:
        return f"No customer to follow from {before} to {now}"
    return f"{stayed:.0f}% of customers stayed in their segment from {before} to {now}"

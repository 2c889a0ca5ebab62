"""Service as a cost center and as a value driver: the two scorecards, the follow-up window,
retention after contact against comparable customers, and the verdict (docs/metrics.md, "Service").

Pure functions over the frames of ``dashboard.storage.service_queries``: no database, no
Streamlit. Money is in currency units; shares are percentages (0-100); NPS is a score from
-100 to +100; changes of shares and scores are in points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from dashboard.domain.metrics import Kpi, csat_top2, nps, ratio
from dashboard.formatting import format_signed, format_value, lower_first, plural

#: Days after a contact in which an order counts as "ordered again" (docs/metrics.md).
FOLLOW_UP_DAYS = 90
#: Length of the comparison windows (days) and their maximum number: a customer is "without a
#: contact" in a window of about a month; longer periods use fewer, longer windows.
COMPARISON_WINDOW_DAYS = 30
MAX_COMPARISON_WINDOWS = 12
#: z value of a two-sided 95% confidence interval.
Z95 = 1.959963984540054

RECENCY_BANDS = {
    1: "last order 0-90 days before",
    2: "last order 91-180 days before",
    3: "last order 181-365 days before",
    4: "last order over 365 days before",
}
FREQUENCY_BANDS = {1: "1 order", 2: "2-3 orders", 3: "4+ orders"}


# --- Which contacts have a complete follow-up ---------------------------------------------------


@dataclass(frozen=True)
class FollowUpWindow:
    """Contact dates whose ``follow_up_days`` of orders are all in the store.

    ``start``..``end`` (days inclusive) is the period itself when the period ends at least
    ``follow_up_days`` before ``data_end`` (the last order date); otherwise it is a window of
    the period's length ending on the last such day (``shifted`` is True).
    """

    start: date
    end: date
    data_end: date
    follow_up_days: int
    shifted: bool

    @property
    def orders_until(self) -> date:
        """The last order day the window's follow-up reads (at most the data's end)."""
        return self.end + timedelta(days=self.follow_up_days)

    def describe(self) -> str:
        """What the retention figures cover, in one line."""
        return (
            f"contacts opened {self.start:%d %b %Y} – {self.end:%d %b %Y}, with their orders "
            f"in the {self.follow_up_days} days after each (to {self.orders_until:%d %b %Y} "
            "at the latest)"
        )


def last_followed_contact_day(data_end: date, follow_up_days: int = FOLLOW_UP_DAYS) -> date:
    """The last contact day with ``follow_up_days`` of orders in the store after it."""
    return data_end - timedelta(days=follow_up_days)


def follow_up_window(
    period_start: date,
    period_end: date,
    data_start: date,
    data_end: date,
    follow_up_days: int = FOLLOW_UP_DAYS,
) -> FollowUpWindow | None:
    """The contact window behind the retention and revenue-after-contact figures.

    Contacts opened after ``data_end - follow_up_days`` have less than ``follow_up_days`` of
    orders to look at, so they are left out. When the period ends after that day, the window
    is the period's length, ending on it. None when the store's history is too short.
    """
    last = last_followed_contact_day(data_end, follow_up_days)
    if last < data_start:
        return None
    if period_end <= last:
        return FollowUpWindow(period_start, period_end, data_end, follow_up_days, shifted=False)
    start = max(last - (period_end - period_start), data_start)
    return FollowUpWindow(start, last, data_end, follow_up_days, shifted=True)


def comparison_window_starts(window: FollowUpWindow) -> tuple[date, ...]:
    """Starts of the consecutive comparison windows covering ``window`` (about 30 days each).

    At most :data:`MAX_COMPARISON_WINDOWS`; a long window gets fewer, longer comparison
    windows so the query stays fast. The last one ends on ``window.end``.
    """
    days = (window.end - window.start).days + 1
    count = min(MAX_COMPARISON_WINDOWS, max(1, round(days / COMPARISON_WINDOW_DAYS)))
    length = math.ceil(days / count)
    return tuple(
        window.start + timedelta(days=i * length) for i in range(count) if i * length < days
    )


def driver_window(
    window: FollowUpWindow, data_start: date, min_days: int = 365
) -> tuple[date, date]:
    """Contact dates the driver analysis learns from: the follow-up window, widened to at least
    ``min_days`` (a year) back from its end so that short periods still have enough contacts."""
    start = min(window.start, window.end - timedelta(days=min_days - 1))
    return max(start, data_start), window.end


# --- The two scorecards -------------------------------------------------------------------------


def _mean_and_variance(total: float, total_sq: float, n: float) -> tuple[float | None, float]:
    """Mean and sample variance from a sum and a sum of squares (variance 0 for n < 2)."""
    if not n:
        return None, 0.0
    mean = float(total) / n
    if n < 2:
        return mean, 0.0
    return mean, max(0.0, (float(total_sq) - n * mean * mean) / (n - 1))


def _scorecards(row: pd.Series) -> dict[str, float | None]:
    contacts = float(row["contacts"])
    agent_days = float(row["agents"]) * float(row["contact_days"])
    fcr = ratio(row["fcr_contacts"], contacts)
    return {
        "aht": ratio(row["handle_seconds"], contacts),
        "contacts_per_agent_day": ratio(contacts, agent_days),
        "cost_per_contact": ratio(row["service_cost"], contacts),
        "contacts_per_customer": ratio(contacts, row["active_customers"]),
        "csat_after_contact": csat_top2(int(row["csat_top2"]), int(row["csat_answers"])),
        "nps_after_contact": nps(
            int(row["promoters"]), int(row["detractors"]), int(row["nps_answers"])
        ),
        "fcr": None if fcr is None else 100.0 * fcr,
    }


#: Label, kind, definition and direction of each scorecard figure (docs/metrics.md, "Service").
COST_CENTER_DEFINITIONS: dict[str, tuple[str, str, str, bool]] = {
    "aht": (
        "Average handle time",
        "seconds",
        "Mean handle time (talk, hold and wrap-up) of the contacts opened in the period, in "
        "minutes and seconds.",
        False,
    ),
    "contacts_per_agent_day": (
        "Contacts per agent per day",
        "count",
        "Contacts in the period / (distinct agents who handled them × "
        "days with at least one contact).",
        True,
    ),
    "cost_per_contact": (
        "Cost per contact",
        "money",
        "Service cost of the period's contacts / contacts (currency units).",
        False,
    ),
    "contacts_per_customer": (
        "Contacts per active customer",
        "count",
        "Contacts in the period / active customers (an order in the 365 "
        "days to the period's end). The demand each customer puts on "
        "service.",
        False,
    ),
}
VALUE_DRIVER_DEFINITIONS: dict[str, tuple[str, str, str, bool]] = {
    "fcr": (
        "First-contact resolution",
        "percent",
        "Share of the period's contacts resolved in that first contact.",
        True,
    ),
    "csat_after_contact": (
        "CSAT after contact",
        "percent",
        "Share of answers of 4 or 5 (1-5 scale) among the surveys that "
        "followed the period's contacts (surveys with a contact set).",
        True,
    ),
    "nps_after_contact": (
        "NPS after contact",
        "score",
        "% promoters (9-10) minus % detractors (0-6) among the surveys that "
        "followed the period's contacts. From -100 to +100.",
        True,
    ),
}


def _kpis(totals: pd.DataFrame, definitions: dict[str, tuple[str, str, str, bool]]) -> list[Kpi]:
    by_period = totals.set_index("period")
    current = _scorecards(by_period.loc["current"])
    previous = _scorecards(by_period.loc["previous"])
    return [
        Kpi(key, label, current[key], previous[key], kind, definition, better)
        for key, (label, kind, definition, better) in definitions.items()
    ]


def cost_center_kpis(totals: pd.DataFrame) -> list[Kpi]:
    """AHT, contacts per agent per day, cost per contact and contacts per active customer.

    ``totals`` is the frame of ``service_queries.contact_totals``; each figure comes with the
    previous period's value.
    """
    return _kpis(totals, COST_CENTER_DEFINITIONS)


def value_driver_kpis(totals: pd.DataFrame) -> list[Kpi]:
    """First-contact resolution, CSAT and NPS after contact, with the previous period's value."""
    return _kpis(totals, VALUE_DRIVER_DEFINITIONS)


def has_contacts(totals: pd.DataFrame) -> bool:
    """True when the current period has at least one contact in scope."""
    return bool(totals.set_index("period").loc["current", "contacts"])


# --- Retention and revenue after contact against comparable customers -------------------------


@dataclass(frozen=True)
class RetentionComparison:
    """Contacted customers against customers in the same band without a contact.

    Shares in percent, differences in points; revenue in currency units over the follow-up
    days. Only cells (window × recency band × frequency band) holding both groups count:
    ``unmatched_customers`` contacted customers had no comparable customer and are left out.
    Confidence intervals are 95%, normal approximation.
    """

    contacted_customers: int
    contacts: int
    comparable_customers: int
    unmatched_customers: int
    retention: float | None
    comparable_retention: float | None
    retention_difference: float | None
    retention_difference_ci: tuple[float, float] | None
    revenue_per_customer: float | None
    comparable_revenue_per_customer: float | None
    revenue_difference: float | None
    revenue_difference_ci: tuple[float, float] | None
    revenue_retained_per_contact: float | None


def _means_and_variances(cells: pd.DataFrame, suffix: str) -> tuple[pd.Series, pd.Series]:
    """Mean and sample variance of revenue after contact per cell (variance 0 for one customer)."""
    n = cells[f"customers{suffix}"].astype(float)
    mean = cells[f"revenue_after{suffix}"].astype(float) / n
    spread = (cells[f"revenue_after_sq{suffix}"].astype(float) - n * mean**2) / (n - 1).where(n > 1)
    return mean, spread.fillna(0.0).clip(lower=0.0)


def retention_comparison(cells: pd.DataFrame) -> RetentionComparison:
    """Band-matched retention and revenue after contact from ``service_queries.retention_cells``.

    Within each cell the comparable customers' rate is what the contacted customers would be
    expected to show without the contact; the cells are weighted by contacted customers (a
    direct standardisation), so the comparison is never raw.

    ``revenue_retained_per_contact`` = (revenue after contact of the contacted customers −
    what comparable customers' revenue predicts for them) / their contacts in the window.
    """
    keys = ["window", "recency_band", "frequency_band"]
    is_contacted = cells["contacted"].astype(bool)
    contacted, comparable = cells[is_contacted], cells[~is_contacted]
    matched = contacted.merge(comparable, on=keys, suffixes=("_1", "_0"))
    matched = matched[(matched["customers_1"] > 0) & (matched["customers_0"] > 0)]
    unmatched = int(contacted["customers"].sum()) - int(matched["customers_1"].sum())
    n1 = matched["customers_1"].astype(float)
    n0 = matched["customers_0"].astype(float)
    total = float(n1.sum())
    if total == 0:
        return RetentionComparison(
            0,
            0,
            int(comparable["customers"].sum()),
            unmatched,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        )
    weight = n1 / total
    p1 = matched["retained_1"] / n1
    p0 = matched["retained_0"] / n0
    retention = float((weight * p1).sum())
    expected = float((weight * p0).sum())
    retention_se = math.sqrt(float((weight**2 * (p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)).sum()))
    m1, v1 = _means_and_variances(matched, "_1")
    m0, v0 = _means_and_variances(matched, "_0")
    revenue_difference = float((weight * (m1 - m0)).sum())
    revenue_se = math.sqrt(float((weight**2 * (v1 / n1 + v0 / n0)).sum()))
    contacts = int(matched["contacts_1"].sum())
    retention_difference = 100.0 * (retention - expected)
    return RetentionComparison(
        contacted_customers=int(total),
        contacts=contacts,
        comparable_customers=int(n0.sum()),
        unmatched_customers=unmatched,
        retention=100.0 * retention,
        comparable_retention=100.0 * expected,
        retention_difference=retention_difference,
        retention_difference_ci=(
            retention_difference - 100.0 * Z95 * retention_se,
            retention_difference + 100.0 * Z95 * retention_se,
        ),
        revenue_per_customer=float((weight * m1).sum()),
        comparable_revenue_per_customer=float((weight * m0).sum()),
        revenue_difference=revenue_difference,
        revenue_difference_ci=(
            revenue_difference - Z95 * revenue_se,
            revenue_difference + Z95 * revenue_se,
        ),
        revenue_retained_per_contact=ratio(revenue_difference * total, contacts),
    )


@dataclass(frozen=True)
class AfterContactFigure:
    """A value-lens figure after contact, formatted for a metric card: the delta is the
    difference from comparable customers (not a change over time)."""

    label: str
    value: str
    delta: str | None
    delta_description: str | None
    definition: str
    delta_color: str = "normal"  # "off" (grey, no arrow) when the difference rounds to zero
    delta_arrow: str = "auto"


def _signed_money_like(amount: float, shown: str) -> str:
    """``amount`` as a signed money figure with the precision of the figure ``shown`` beside
    it: whole units next to a whole-unit value ("60": "+40"), else ``format_signed``."""
    if "." not in shown and abs(amount) < 1000:
        return f"{amount:+,.0f}"
    return format_signed(amount, "money")


def _difference_figure(
    label: str, value: str, shown: str, interval: str, description: str, definition: str
) -> AfterContactFigure:
    """A figure whose delta is a difference shown as ``shown`` with its ``interval``: a
    difference that rounds to zero reads "no difference" in grey, not a green "+0.0"."""
    if shown.lstrip("+-").rstrip(" pts%").strip("0.,") == "":
        return AfterContactFigure(
            label, value, f"no difference ({interval})", description, definition, "off", "off"
        )
    return AfterContactFigure(label, value, f"{shown} ({interval})", description, definition)


def after_contact_figures(
    comparison: RetentionComparison | None, follow_up_days: int = FOLLOW_UP_DAYS
) -> list[AfterContactFigure]:
    """Retention after contact, revenue after contact and revenue retained per contact."""
    days = follow_up_days
    definitions = (
        (
            "Retention after contact",
            "percent",
            f"Share of contacted customers who ordered again 1-{days} days after their first "
            "contact in a comparison window (about a month). The delta is the difference from "
            "comparable customers without a contact in the same window and the same recency and "
            "frequency band, weighted like the contacted customers; 95% CI in brackets.",
        ),
        (
            f"Revenue in the {days} days after contact",
            "money",
            f"Mean revenue per contacted customer in the {days} days after the first contact "
            "(currency units). The delta is the difference from comparable customers (same "
            "window and band, without a contact), measured from the window's middle day.",
        ),
        (
            "Revenue retained per contact",
            "money",
            "(Revenue after contact of the contacted customers − what comparable customers' "
            "revenue predicts for them) / their contacts in the windows (currency units). "
            "Negative means revenue lost per contact.",
        ),
    )
    if comparison is None or comparison.retention is None:
        return [
            AfterContactFigure(label, "—", None, None, definition)
            for label, _, definition in definitions
        ]
    c = comparison
    low, high = c.retention_difference_ci
    revenue_shown = format_value(c.revenue_per_customer, "money")
    rev_low, rev_high = c.revenue_difference_ci
    return [
        _difference_figure(
            definitions[0][0],
            format_value(c.retention, "percent"),
            f"{c.retention_difference:+.1f} pts",
            f"{low:+.1f} to {high:+.1f}",
            f"vs {format_value(c.comparable_retention, 'percent')} of comparable customers",
            definitions[0][2],
        ),
        _difference_figure(
            definitions[1][0],
            revenue_shown,
            _signed_money_like(c.revenue_difference, revenue_shown),
            f"{_signed_money_like(rev_low, revenue_shown)} to "
            f"{_signed_money_like(rev_high, revenue_shown)}",
            f"vs {format_value(c.comparable_revenue_per_customer, 'money')} for comparable "
            "customers",
            definitions[1][2],
        ),
        AfterContactFigure(
            definitions[2][0],
            format_value(c.revenue_retained_per_contact, "money"),
            None,
            f"over {plural(c.contacts, 'contact')} of {plural(c.contacted_customers, 'customer')}",
            definitions[2][2],
        ),
    ]


def follow_up_note(
    window: FollowUpWindow | None, totals: pd.DataFrame, comparison: RetentionComparison | None
) -> str:
    """What window the after-contact figures cover and which contacts they leave out."""
    row = totals.set_index("period").loc["current"]
    contacts, followed = int(row["contacts"]), int(row["contacts_followed_up"])
    if window is None:
        return (
            f"Retention and revenue after contact need {FOLLOW_UP_DAYS} days of orders "
            "after each contact; the store's history is too short for any contact."
        )
    days = window.follow_up_days
    text = f"Retention and revenue after contact cover {window.describe()}. "
    if window.shifted:
        text += (
            f"The period ends less than {days} days before the last order date "
            f"({window.data_end:%d %b %Y}): {contacts - followed:,} of its "
            f"{plural(contacts, 'contact')} {'has' if contacts - followed == 1 else 'have'} "
            f"less than {days} days of follow-up and "
            f"{'is' if contacts - followed == 1 else 'are'} excluded, so these "
            f"figures use the latest contacts with complete follow-up, over a window as "
            f"long as the period. "
        )
    if comparison is not None and comparison.contacted_customers:
        text += (
            f"{plural(comparison.contacted_customers, 'contacted customer')} "
            f"{'is' if comparison.contacted_customers == 1 else 'are'} compared with "
            f"{plural(comparison.comparable_customers, 'customer-window')} without a contact"
        )
        if comparison.unmatched_customers:
            unmatched = comparison.unmatched_customers
            text += (
                f"; {plural(unmatched, 'contacted customer')} had no "
                f"comparable customer in their band and {'is' if unmatched == 1 else 'are'} "
                "left out"
            )
        text += ". "
    text += (
        "Customers without an order before the window are left out (no band). Contacted "
        "customers are known to be alive at the contact, so part of the difference is "
        "selection: read it as an association, not a controlled experiment."
    )
    return text


def support_sentence(drivers, comparison: RetentionComparison | None, totals: pd.DataFrame) -> str:
    """Which scorecard the data back: the driver analysis' summary, and the value after a
    contact set against its cost. ``drivers`` is a ``service_drivers.DriverAnalysis`` or None."""
    row = totals.set_index("period").loc["current"]
    cost = ratio(row["service_cost"], row["contacts"])
    parts = []
    if drivers is not None:
        parts.append(drivers.summary)
    if comparison is not None and comparison.revenue_retained_per_contact is not None:
        retained = comparison.revenue_retained_per_contact
        parts.append(
            f"A contact costs {format_value(cost, 'money')} on average and is followed by "
            f"{format_value(retained, 'money')} of revenue {'above' if retained >= 0 else 'below'}"
            " what comparable customers without a contact bring in."
        )
    if drivers is not None:
        moving = {e.measure for e in drivers.effects if e.verdict in ("raises", "lowers")}
        if "resolved" in moving and "handle_minutes" not in moving:
            parts.append(
                "So the value-driver scorecard tracks what moves revenue; cutting "
                "handle time saves cost without measurably changing it."
            )
        elif "handle_minutes" in moving and "resolved" not in moving:
            parts.append("So handle time, a cost-center measure, is the one tied to revenue here.")
        elif not moving:
            parts.append("Neither scorecard's measures are tied to revenue in these data.")
    return " ".join(parts) if parts else "Not enough contacts with complete follow-up to say."


# --- Which scorecard the company is running ----------------------------------------------------


@dataclass(frozen=True)
class MeasureChange:
    """A scorecard measure this period against the previous one, with a 95% CI of the change.

    ``direction`` is "improved", "worsened" or "flat" (the interval includes zero), or
    "unknown" when either period lacks data. ``unit`` is how ``change`` reads ("seconds",
    "currency units", "points").
    """

    key: str
    label: str
    lens: str
    current: float | None
    previous: float | None
    change: float | None
    ci: tuple[float, float] | None
    unit: str
    higher_is_better: bool

    @property
    def direction(self) -> str:
        if self.change is None or self.ci is None:
            return "unknown"
        low, high = self.ci
        if low <= 0 <= high:
            return "flat"
        rising = low > 0
        return "improved" if rising == self.higher_is_better else "worsened"


def _mean_change(
    key: str,
    label: str,
    lens: str,
    totals: pd.DataFrame,
    total: str,
    total_sq: str,
    count: str,
    unit: str,
) -> MeasureChange:
    by_period = totals.set_index("period")
    stats = {}
    for period in ("current", "previous"):
        row = by_period.loc[period]
        stats[period] = _mean_and_variance(row[total], row[total_sq], float(row[count])) + (
            float(row[count]),
        )
    (m1, v1, n1), (m0, v0, n0) = stats["current"], stats["previous"]
    if m1 is None or m0 is None:
        return MeasureChange(key, label, lens, m1, m0, None, None, unit, False)
    change = m1 - m0
    half = Z95 * math.sqrt(v1 / n1 + v0 / n0)
    return MeasureChange(
        key, label, lens, m1, m0, change, (change - half, change + half), unit, False
    )


def _share_change(
    key: str, label: str, totals: pd.DataFrame, hits: str, count: str
) -> MeasureChange:
    by_period = totals.set_index("period")
    shares = []
    for period in ("current", "previous"):
        row = by_period.loc[period]
        n = float(row[count])
        shares.append((None if not n else float(row[hits]) / n, n))
    (p1, n1), (p0, n0) = shares
    if p1 is None or p0 is None:
        return MeasureChange(
            key,
            label,
            "value driver",
            None if p1 is None else 100 * p1,
            None if p0 is None else 100 * p0,
            None,
            None,
            "points",
            True,
        )
    change = 100.0 * (p1 - p0)
    half = 100.0 * Z95 * math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    return MeasureChange(
        key,
        label,
        "value driver",
        100 * p1,
        100 * p0,
        change,
        (change - half, change + half),
        "points",
        True,
    )


def _nps_change(totals: pd.DataFrame) -> MeasureChange:
    by_period = totals.set_index("period")
    stats = []
    for period in ("current", "previous"):
        row = by_period.loc[period]
        n = float(row["nps_answers"])
        if not n:
            stats.append((None, 0.0, 0.0))
            continue
        promoters, detractors = float(row["promoters"]) / n, float(row["detractors"]) / n
        score = 100.0 * (promoters - detractors)
        # Each answer scores +100, 0 or -100: the variance of that score.
        variance = 10_000.0 * (promoters + detractors) - score * score
        stats.append((score, max(variance, 0.0), n))
    (s1, v1, n1), (s0, v0, n0) = stats
    if s1 is None or s0 is None:
        return MeasureChange(
            "nps_after_contact",
            "NPS after contact",
            "value driver",
            s1,
            s0,
            None,
            None,
            "points",
            True,
        )
    change = s1 - s0
    half = Z95 * math.sqrt(v1 / n1 + v0 / n0)
    return MeasureChange(
        "nps_after_contact",
        "NPS after contact",
        "value driver",
        s1,
        s0,
        change,
        (change - half, change + half),
        "points",
        True,
    )


def scorecard_changes(totals: pd.DataFrame) -> tuple[MeasureChange, ...]:
    """AHT, cost per contact, FCR and NPS after contact: this period against the previous one."""
    return (
        _mean_change(
            "aht",
            "Average handle time",
            "cost center",
            totals,
            "handle_seconds",
            "handle_seconds_sq",
            "contacts",
            "seconds",
        ),
        _mean_change(
            "cost_per_contact",
            "Cost per contact",
            "cost center",
            totals,
            "service_cost",
            "service_cost_sq",
            "contacts",
            "currency units",
        ),
        _share_change("fcr", "First-contact resolution", totals, "fcr_contacts", "contacts"),
        _nps_change(totals),
    )


#: The verdict's rule, shown on the page as it is applied.
VERDICT_RULE = (
    "Each measure is compared with the previous period of the same length; it counts as moved "
    "only when the 95% confidence interval of its change excludes zero. The cost-center lens "
    "scores +1 for each of average handle time and cost per contact that fell and −1 for each "
    "that rose; the value-driver lens scores +1 for each of first-contact resolution and NPS "
    "after contact that rose and −1 for each that fell. A company running a cost-center "
    "scorecard improves the first score while the second does not improve; one running a "
    "value-driver scorecard the reverse; if both improve it is running both; if neither does, "
    "the data show neither scorecard being pushed."
)


@dataclass(frozen=True)
class ScorecardVerdict:
    """Which scorecard the trends say the company is running, and the evidence.

    ``scorecard`` is "cost center", "value driver", "both" or "neither".
    """

    scorecard: str
    cost_score: int
    value_score: int
    headline: str
    changes: tuple[MeasureChange, ...]
    rule: str = VERDICT_RULE


def _lens_score(changes: tuple[MeasureChange, ...], lens: str) -> int:
    signs = {"improved": 1, "worsened": -1}
    return sum(signs.get(c.direction, 0) for c in changes if c.lens == lens)


def _moved(changes: tuple[MeasureChange, ...], lens: str) -> str:
    parts = [
        f"{lower_first(c.label)} {c.direction}"
        for c in changes
        if c.lens == lens and c.direction in ("improved", "worsened")
    ]
    return ", ".join(parts) if parts else "no measure moved beyond noise"


def scorecard_verdict(totals: pd.DataFrame) -> ScorecardVerdict:
    """Apply :data:`VERDICT_RULE` to the period's and previous period's totals."""
    changes = scorecard_changes(totals)
    cost, value = _lens_score(changes, "cost center"), _lens_score(changes, "value driver")
    cost_moves, value_moves = _moved(changes, "cost center"), _moved(changes, "value driver")
    if cost > 0 and value <= 0:
        scorecard = "cost center"
        headline = (
            f"The data say service is being run as a **cost center**: it got cheaper or "
            f"faster ({cost_moves}) without getting better ({value_moves})."
        )
    elif value > 0 and cost <= 0:
        scorecard = "value driver"
        headline = (
            f"The data say service is being run as a **value driver**: it got better "
            f"({value_moves}) without getting cheaper or faster ({cost_moves})."
        )
    elif cost > 0 and value > 0:
        scorecard = "both"
        headline = (
            f"The data say service is running **both scorecards**: it got cheaper or "
            f"faster ({cost_moves}) and better ({value_moves})."
        )
    else:
        scorecard = "neither"
        headline = (
            "The data show **neither scorecard being pushed**: against the previous "
            f"period, cost-center measures: {cost_moves}; value-driver measures: "
            f"{value_moves}."
        )
    return ScorecardVerdict(scorecard, cost, value, headline, changes)


def describe_change(change: MeasureChange) -> str:
    """'7m 05s → 6m 50s (−15 s, 95% CI −22 to −8)' style line for a measure's change."""
    kind = {"seconds": "seconds", "currency units": "money"}.get(change.unit)
    if change.key == "nps_after_contact":
        kind = "score"
    elif change.key == "fcr":
        kind = "percent"
    now, before = format_value(change.current, kind), format_value(change.previous, kind)
    if change.change is None or change.ci is None:
        return f"{change.label}: {before} → {now} (not comparable: a period without data)"
    unit = {"seconds": "s", "currency units": "", "points": " pts"}[change.unit]
    digits = 2 if change.unit == "currency units" else (0 if change.unit == "seconds" else 1)
    low, high = change.ci
    return (
        f"{change.label}: {before} → {now} ({change.change:+.{digits}f}{unit}, 95% CI "
        f"{low:+.{digits}f} to {high:+.{digits}f}: {change.direction})"
    )

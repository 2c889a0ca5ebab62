"""Loyalty versus satisfaction: what customers do against what they say.

Pure functions over the per-customer facts of
:func:`dashboard.storage.loyalty_queries.loyalty_inputs` (one row per customer). Nothing here
talks to a database or to Streamlit. The definitions are documented in ``docs/loyalty.md`` and
shown on the Loyalty page; the constants below are the single source of both.

The behavioural loyalty index (0-100) is a weighted mean of five component scores, each on a
0-1 scale with a stated point of full marks, so that a customer's index does not depend on who
else is in view (a segment filter does not move the cut between loyal and not):

- repeat purchase: purchase days after the first, full marks at ``repeat_days_full``;
- still active: P(alive) from the stored lifetime-value fit when there is one and the
  customer had a repeat purchase in it (BG/NBD's P(alive) is 1 for every one-time buyer),
  otherwise recency (1 on the day of the latest order, 0 after ``recency_days_zero`` days
  without one);
- spend trend: growth of spend in the last 12 months against the 12 before, -100% scores 0,
  flat 0.5, +100% or more 1; undefined (its weight goes to the others) for customers younger
  than 24 months or without spend in the earlier 12 months;
- active tenure: days from the first to the latest order, full marks at ``tenure_days_full``;
- referrals made: full marks at ``referrals_full`` referrals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy import stats

from dashboard.domain.metrics import csat_top2, nps
from dashboard.scope import Scope

#: The four quadrants, in display order: (satisfied?, loyal?) -> name.
LOYAL_ADVOCATES = "Loyal advocates"
SATISFIED_BUT_LEAVING = "Satisfied but leaving"
LOYAL_BUT_UNHAPPY = "Loyal but unhappy"
LOST = "Lost"
NO_SURVEY = "No survey answer"
QUADRANTS: tuple[str, ...] = (LOYAL_ADVOCATES, SATISFIED_BUT_LEAVING, LOYAL_BUT_UNHAPPY, LOST)

#: What each quadrant means, in plain words (tooltips, docs).
QUADRANT_MEANINGS: dict[str, str] = {
    LOYAL_ADVOCATES: "Satisfied and loyal in what they do: keep them, ask them to refer.",
    SATISFIED_BUT_LEAVING: "Say they are satisfied but buy less, stopped or never came back: "
    "the revenue at risk that surveys do not show.",
    LOYAL_BUT_UNHAPPY: "Keep buying although dissatisfied (habit, switching cost, no "
    "alternative): vulnerable to a competitor.",
    LOST: "Dissatisfied and not loyal: learn why, win back only the valuable ones.",
    NO_SURVEY: "Never answered a CSAT or NPS question up to the period's end: not placed in a "
    "quadrant.",
}

#: Tenure (days since acquisition) below which the spend trend is undefined: 24 months.
SPEND_TREND_MIN_TENURE_DAYS = 730


@dataclass(frozen=True)
class LoyaltySettings:
    """Weights, full-marks points and quadrant cuts of the loyalty index (see module doc).

    Weights need not sum to one: the index divides by the weights of the defined components.
    """

    weight_repeat: float = 0.25
    weight_active: float = 0.30
    weight_spend_trend: float = 0.15
    weight_tenure: float = 0.15
    weight_referrals: float = 0.15
    #: Purchase days after the first that earn full marks on repeat purchase.
    repeat_days_full: int = 4
    #: Days without an order after which the recency score is 0 (fallback for P(alive)).
    recency_days_zero: int = 365
    #: Days from first to latest order that earn full marks on active tenure (3 years).
    tenure_days_full: int = 1095
    #: Referrals made that earn full marks.
    referrals_full: int = 2
    #: Loyal when the index is at least this (0-100).
    loyal_cut: float = 50.0
    #: Satisfied when the satisfaction score is at least this (0-100): a single answer of
    #: CSAT 4-5 or NPS 7-10.
    satisfied_cut: float = 70.0

    def __post_init__(self) -> None:
        weights = self.weights()
        if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
            raise ValueError(f"loyalty weights must be non-negative, not all zero: {weights}")
        if (
            min(
                self.repeat_days_full,
                self.recency_days_zero,
                self.tenure_days_full,
                self.referrals_full,
            )
            <= 0
        ):
            raise ValueError("full-marks points of the loyalty components must be positive")

    def weights(self) -> dict[str, float]:
        """Weight of each component, keyed as in :data:`COMPONENTS`."""
        return {
            "repeat": self.weight_repeat,
            "active": self.weight_active,
            "spend_trend": self.weight_spend_trend,
            "tenure": self.weight_tenure,
            "referrals": self.weight_referrals,
        }


DEFAULT_SETTINGS = LoyaltySettings()

#: Component key -> label shown on the page.
COMPONENTS: dict[str, str] = {
    "repeat": "Repeat purchase",
    "active": "Still active",
    "spend_trend": "Spend trend",
    "tenure": "Active tenure",
    "referrals": "Referrals made",
}


def component_table(
    settings: LoyaltySettings = DEFAULT_SETTINGS, *, uses_probability_alive: bool = False
) -> pd.DataFrame:
    """The formula as a display table: component, weight (as "25%"), how it scores 0 to 1."""
    s = settings
    recency = f"1 − days since the latest order ÷ {s.recency_days_zero}, floored at 0"
    active = (
        "P(alive) from the stored lifetime-value fit (BG/NBD) for customers with a repeat "
        f"purchase; for one-time buyers, whose P(alive) is always 1, recency: {recency}"
        if uses_probability_alive
        else f"Recency: {recency} (no lifetime-value fit for this date)"
    )
    scoring = {
        "repeat": f"Purchase days after the first ÷ {s.repeat_days_full}, capped at 1",
        "active": active,
        "spend_trend": "0.5 + growth ÷ 2, within 0–1 (−100% → 0, flat → 0.5, +100% or more → 1);"
        " growth = last 12 months' spend vs the 12 before; undefined under 24 "
        "months of tenure or without earlier spend (weight shared by the others)",
        "tenure": f"Days from first to latest order ÷ {s.tenure_days_full}, capped at 1",
        "referrals": f"Referrals made to date ÷ {s.referrals_full}, capped at 1",
    }
    weights = s.weights()
    total = sum(weights.values())
    return pd.DataFrame(
        {
            "Component": [COMPONENTS[k] for k in COMPONENTS],
            "Weight": [f"{100.0 * weights[k] / total:.0f}%" for k in COMPONENTS],
            "Score from 0 to 1": [scoring[k] for k in COMPONENTS],
        }
    )


def spend_trend(frame: pd.DataFrame, as_of: date) -> pd.Series:
    """Spend growth per customer: last 12 months against the 12 before, as a fraction.

    ``(revenue_last_12m - revenue_prior_12m) / revenue_prior_12m``; NaN (undefined, not zero)
    for customers acquired less than 24 months (730 days) before ``as_of`` and for those with
    no spend in the earlier 12 months.
    """
    prior = frame["revenue_prior_12m"].astype(float)
    growth = (frame["revenue_last_12m"].astype(float) - prior) / prior.where(prior > 0)
    tenure_days = (pd.Timestamp(as_of) - pd.to_datetime(frame["acquired_at"])).dt.days
    return growth.where(tenure_days >= SPEND_TREND_MIN_TENURE_DAYS)


def satisfaction_score(latest_csat: pd.Series, latest_nps: pd.Series) -> pd.Series:
    """Satisfaction 0-100 per customer from the latest answers it gave.

    The mean of the latest CSAT rescaled (1 -> 0, 5 -> 100) and the latest NPS answer
    rescaled (0 -> 0, 10 -> 100), over the answers the customer has; NaN with neither.
    """
    csat = (pd.to_numeric(latest_csat).astype(float) - 1.0) * 25.0
    recommend = pd.to_numeric(latest_nps).astype(float) * 10.0
    return pd.concat([csat, recommend], axis=1).mean(axis=1, skipna=True)


NPS_GROUPS: tuple[str, ...] = ("Promoter", "Passive", "Detractor")
#: Where a customer's "still active" score comes from.
ACTIVE_SOURCES: tuple[str, ...] = ("P(alive)", "recency")


def nps_group(latest_nps: pd.Series) -> pd.Series:
    """ "Promoter" (9-10), "Passive" (7-8), "Detractor" (0-6) or missing, per answer
    (categorical)."""
    answer = pd.to_numeric(latest_nps).astype(float).to_numpy()
    codes = np.select([answer >= 9, answer >= 7, answer >= 0], [0, 1, 2], default=-1)
    return pd.Series(pd.Categorical.from_codes(codes, NPS_GROUPS), index=latest_nps.index)


def loyalty_components(
    frame: pd.DataFrame, as_of: date, settings: LoyaltySettings = DEFAULT_SETTINGS
) -> pd.DataFrame:
    """Component scores (0-1) per customer, keyed as in :data:`COMPONENTS`.

    ``frame`` has the columns of ``loyalty_inputs``. ``probability_alive`` is used where it
    is present and ``fit_repeat_days`` >= 1, recency elsewhere; column ``active_source`` says
    which ("P(alive)"/"recency").
    """
    s = settings
    as_of_ts = pd.Timestamp(as_of)
    repeat_days = (frame["order_days"].astype(float) - 1.0).clip(lower=0.0)
    last_order = pd.to_datetime(frame["last_order"])
    first_order = pd.to_datetime(frame["first_order"])
    days_since = (as_of_ts - last_order).dt.days.astype(float)
    recency = (1.0 - days_since / s.recency_days_zero).clip(0.0, 1.0).fillna(0.0)
    p_alive = (
        frame["probability_alive"].astype(float)
        if "probability_alive" in frame
        else pd.Series(np.nan, index=frame.index)
    )
    if "fit_repeat_days" in frame:
        # BG/NBD lets a customer drop out only after a repeat purchase, so its P(alive) is 1
        # for every one-time buyer however long ago: it says nothing, recency does.
        p_alive = p_alive.where(frame["fit_repeat_days"].astype(float) >= 1)
    growth = spend_trend(frame, as_of)
    tenure_days = (last_order - first_order).dt.days.astype(float).fillna(0.0)
    return pd.DataFrame(
        {
            "repeat": (repeat_days / s.repeat_days_full).clip(upper=1.0),
            "active": p_alive.clip(0.0, 1.0).fillna(recency),
            "spend_trend": (0.5 + growth / 2.0).clip(0.0, 1.0),
            "tenure": (tenure_days / s.tenure_days_full).clip(upper=1.0),
            "referrals": (frame["referrals_made"].astype(float) / s.referrals_full).clip(upper=1.0),
            "active_source": pd.Categorical.from_codes(
                np.where(p_alive.notna().to_numpy(), 0, 1), ACTIVE_SOURCES
            ),
        },
        index=frame.index,
    )


def loyalty_index(
    components: pd.DataFrame, settings: LoyaltySettings = DEFAULT_SETTINGS
) -> pd.Series:
    """Index 0-100 = 100 × Σ weight × score / Σ weight, over the components that are defined."""
    weights = pd.Series(settings.weights())
    scores = components[list(weights.index)].astype(float)
    defined = scores.notna()
    numerator = scores.fillna(0.0).mul(weights, axis=1).sum(axis=1)
    denominator = defined.mul(weights, axis=1).sum(axis=1)
    return 100.0 * numerator / denominator


def quadrant(
    loyalty: pd.Series, satisfaction: pd.Series, settings: LoyaltySettings = DEFAULT_SETTINGS
) -> pd.Series:
    """Quadrant name per customer (categorical over :data:`QUADRANTS` and :data:`NO_SURVEY`);
    :data:`NO_SURVEY` where satisfaction is missing."""
    loyal = (loyalty >= settings.loyal_cut).to_numpy()
    satisfied = (satisfaction >= settings.satisfied_cut).to_numpy()
    answered = satisfaction.notna().to_numpy()
    # Codes index (*QUADRANTS, NO_SURVEY).
    codes = np.select([~answered, satisfied & loyal, satisfied, loyal], [4, 0, 1, 2], default=3)
    return pd.Series(pd.Categorical.from_codes(codes, (*QUADRANTS, NO_SURVEY)), index=loyalty.index)


def customer_loyalty(
    inputs: pd.DataFrame,
    as_of: date,
    settings: LoyaltySettings = DEFAULT_SETTINGS,
    *,
    use_probability_alive: bool = True,
) -> pd.DataFrame:
    """Per customer: components, loyalty index, satisfaction score, NPS group and quadrant.

    Returns ``inputs`` with added columns ``score_<component>`` (0-1), ``active_source``,
    ``spend_trend`` (growth, fraction), ``loyalty_index`` (0-100), ``satisfaction`` (0-100),
    ``nps_group`` and ``quadrant``. Facts are as of ``as_of`` (the period's end). With
    ``use_probability_alive`` false, "still active" is recency even where P(alive) is stored.
    """
    facts = (
        inputs
        if use_probability_alive
        else inputs.drop(columns=["probability_alive"], errors="ignore")
    )
    components = loyalty_components(facts, as_of, settings)
    out = inputs.copy()
    for key in COMPONENTS:
        out[f"score_{key}"] = components[key]
    out["active_source"] = components["active_source"]
    out["spend_trend"] = spend_trend(inputs, as_of)
    out["loyalty_index"] = loyalty_index(components, settings)
    out["satisfaction"] = satisfaction_score(inputs["latest_csat"], inputs["latest_nps"])
    out["nps_group"] = nps_group(inputs["latest_nps"])
    out["quadrant"] = quadrant(out["loyalty_index"], out["satisfaction"], settings)
    return out


def quadrant_summary(customers: pd.DataFrame) -> pd.DataFrame:
    """Count, share, revenue, lifetime value, NPS and CSAT per quadrant, plus "no survey".

    ``customers`` is the frame of :func:`customer_loyalty`. Columns: ``quadrant``,
    ``customers``, ``share`` (% of customers in view), ``revenue_last_12m`` and
    ``revenue_period`` (currency units), ``clv`` (sum of expected lifetime value; NaN when no
    customer of the group has one), ``mean_loyalty`` (0-100), ``nps`` (of the customers'
    latest answers, -100..+100) and ``csat`` (% of latest answers that are 4 or 5).
    """
    total = len(customers)
    groups = {
        name: group
        for name, group in customers[
            [
                "quadrant",
                "revenue_last_12m",
                "revenue_period",
                "loyalty_index",
                "latest_nps",
                "latest_csat",
                *(["clv"] if "clv" in customers else []),
            ]
        ].groupby("quadrant", observed=True)
    }
    empty = customers.iloc[0:0]
    rows = []
    for name in (*QUADRANTS, NO_SURVEY):
        group = groups.get(name, empty)
        answers = group["latest_nps"].dropna()
        csat_answers = group["latest_csat"].dropna()
        clv = group["clv"] if "clv" in group else pd.Series(dtype=float)
        rows.append(
            {
                "quadrant": name,
                "customers": len(group),
                "share": 100.0 * len(group) / total if total else math.nan,
                "revenue_last_12m": float(group["revenue_last_12m"].sum()),
                "revenue_period": float(group["revenue_period"].sum()),
                "clv": float(clv.sum()) if clv.notna().any() else math.nan,
                "mean_loyalty": float(group["loyalty_index"].mean()) if len(group) else math.nan,
                "nps": _or_nan(
                    nps(int((answers >= 9).sum()), int((answers <= 6).sum()), len(answers))
                ),
                "csat": _or_nan(csat_top2(int((csat_answers >= 4).sum()), len(csat_answers))),
            }
        )
    return pd.DataFrame(rows)


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


@dataclass(frozen=True)
class RevenueAtRisk:
    """Revenue of the satisfied customers who are leaving, the figure to remember.

    ``revenue_last_12m`` in currency units over the 365 days to the period's end;
    ``share_of_revenue`` in % of the same revenue of every customer in view.
    """

    customers: int
    revenue_last_12m: float
    share_of_revenue: float | None
    clv: float | None


def revenue_at_risk(customers: pd.DataFrame) -> RevenueAtRisk:
    """The "satisfied but leaving" quadrant's revenue (last 12 months) and its share."""
    leaving = customers[customers["quadrant"] == SATISFIED_BUT_LEAVING]
    total = float(customers["revenue_last_12m"].sum())
    revenue = float(leaving["revenue_last_12m"].sum())
    clv = leaving["clv"] if "clv" in leaving else pd.Series(dtype=float)
    return RevenueAtRisk(
        customers=len(leaving),
        revenue_last_12m=revenue,
        share_of_revenue=100.0 * revenue / total if total > 0 else None,
        clv=float(clv.sum()) if clv.notna().any() else None,
    )


@dataclass(frozen=True)
class SatisfactionExplains:
    """How much satisfaction alone explains loyalty, among customers with a survey answer.

    ``r_squared`` is the share (0-1) of the variance of the loyalty index explained by a
    straight line on the satisfaction score (the square of Pearson's r); ``slope`` is the
    change in loyalty index points per satisfaction point; ``spearman`` is the rank
    correlation. Intervals are 95% from Fisher's z (Spearman's with the Fieller-Hartley-Pearson
    standard error √(1.06 / (n − 3))). Undefined (None) with fewer than 4 customers or when
    either score does not vary.
    """

    customers: int
    r_squared: float | None = None
    r_squared_low: float | None = None
    r_squared_high: float | None = None
    pearson: float | None = None
    slope: float | None = None
    spearman: float | None = None
    spearman_low: float | None = None
    spearman_high: float | None = None

    @property
    def is_defined(self) -> bool:
        return self.r_squared is not None

    def sentence(self) -> str:
        """The result in plain words, with its uncertainty."""
        if not self.is_defined:
            return (
                f"Too few customers with a survey answer ({self.customers}) to say how "
                "much satisfaction explains loyalty (at least 4 with varying scores)."
            )
        share = 100.0 * self.r_squared
        low, high = 100.0 * self.r_squared_low, 100.0 * self.r_squared_high
        return (
            f"Satisfaction explains about {share:.0f}% of the variation in loyalty "
            f"(95% interval {low:.0f}–{high:.0f}%, {self.customers:,} customers with a "
            f"survey answer); the other {100 - share:.0f}% comes from elsewhere."
        )


_Z95 = 1.959963984540054


def satisfaction_explains(customers: pd.DataFrame) -> SatisfactionExplains:
    """Correlation and simple regression of the loyalty index on the satisfaction score."""
    answered = customers.loc[
        customers["satisfaction"].notna(), ["satisfaction", "loyalty_index"]
    ].astype(float)
    n = len(answered)
    x, y = answered["satisfaction"].to_numpy(), answered["loyalty_index"].to_numpy()
    if n < 4 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return SatisfactionExplains(customers=n)
    pearson = float(np.corrcoef(x, y)[0, 1])
    slope = float(pearson * y.std() / x.std())
    r_low, r_high = _fisher_interval(pearson, math.sqrt(1.0 / (n - 3)))
    if r_low <= 0.0 <= r_high:
        r2_low, r2_high = 0.0, max(r_low**2, r_high**2)
    else:
        r2_low, r2_high = sorted((r_low**2, r_high**2))
    spearman = float(stats.spearmanr(x, y).statistic)
    s_low, s_high = _fisher_interval(spearman, math.sqrt(1.06 / (n - 3)))
    return SatisfactionExplains(
        customers=n,
        r_squared=pearson**2,
        r_squared_low=r2_low,
        r_squared_high=r2_high,
        pearson=pearson,
        slope=slope,
        spearman=spearman,
        spearman_low=s_low,
        spearman_high=s_high,
    )


def _fisher_interval(r: float, standard_error: float) -> tuple[float, float]:
    z = math.atanh(min(max(r, -0.999999), 0.999999))
    return math.tanh(z - _Z95 * standard_error), math.tanh(z + _Z95 * standard_error)


def density_grid(
    customers: pd.DataFrame, *, loyalty_bin: float = 5.0, satisfaction_bin: float = 10.0
) -> pd.DataFrame:
    """Customers with a survey answer counted on a grid of loyalty × satisfaction cells.

    Columns ``loyalty`` and ``satisfaction`` (lower edge of the cell, 0-100), ``customers``
    (count, every cell present, zeros included). The top cells include 100. Bin widths should
    divide the quadrant cuts so that no cell straddles a cut (defaults: 5 and 10 for 50 and 70).
    """
    answered = customers[customers["satisfaction"].notna()]
    loyalty_edges = np.arange(0.0, 100.0 + loyalty_bin, loyalty_bin)
    satisfaction_edges = np.arange(0.0, 100.0 + satisfaction_bin, satisfaction_bin)
    counts, _, _ = np.histogram2d(
        answered["loyalty_index"].astype(float).clip(0.0, 100.0),
        answered["satisfaction"].astype(float).clip(0.0, 100.0),
        bins=[loyalty_edges, satisfaction_edges],
    )
    loyalty, satisfaction = np.meshgrid(loyalty_edges[:-1], satisfaction_edges[:-1], indexing="ij")
    return pd.DataFrame(
        {
            "loyalty": loyalty.ravel(),
            "satisfaction": satisfaction.ravel(),
            "customers": counts.ravel().astype(int),
        }
    )


def scatter_points(customers: pd.DataFrame, *, random_state: int = 0) -> pd.DataFrame:
    """Customers with a survey answer, with the satisfaction nudged up by 0-2 points.

    Satisfaction takes few distinct values, so equal answers would hide each other; the nudge
    is upward only and smaller than the 2.5-point step between scores, so no point crosses
    the satisfied cut. Column ``satisfaction_shown`` holds the nudged value.
    """
    answered = customers[customers["satisfaction"].notna()].copy()
    rng = np.random.default_rng(random_state)
    answered["satisfaction_shown"] = answered["satisfaction"] + rng.uniform(0.0, 2.0, len(answered))
    return answered


#: Columns of the "satisfied but leaving" action list, with their headers.
ACTION_LIST_COLUMNS: dict[str, str] = {
    "customer_id": "Customer ID",
    "name": "Name",
    "region": "Region",
    "acquisition_channel": "Acquisition channel",
    "loyalty_index": "Loyalty index (0-100)",
    "satisfaction": "Satisfaction (0-100)",
    "latest_csat": "Latest CSAT (1-5)",
    "latest_nps": "Latest NPS answer (0-10)",
    "last_order": "Latest order",
    "revenue_last_12m": "Revenue last 12 months",
    "revenue": "Revenue to date",
    "clv": "Expected lifetime value",
    "score_active": "Still active (0-1)",
    "active_source": "Still active from",
}


def satisfied_but_leaving(customers: pd.DataFrame) -> pd.DataFrame:
    """The "satisfied but leaving" customers, most valuable first, for action.

    Sorted by expected lifetime value when a fit is stored, then by revenue over the last
    12 months. Columns as in :data:`ACTION_LIST_COLUMNS` (raw names).
    """
    leaving = customers[customers["quadrant"] == SATISFIED_BUT_LEAVING]
    columns = [c for c in ACTION_LIST_COLUMNS if c in leaving]
    if "clv" in leaving and leaving["clv"].notna().any():
        keys, ascending = ["clv", "revenue_last_12m", "customer_id"], [False, False, True]
    else:
        columns = [c for c in columns if c != "clv"]
        keys, ascending = ["revenue_last_12m", "revenue", "customer_id"], [False, False, True]
    ordered = leaving.sort_values(keys, ascending=ascending, na_position="last")
    return ordered[columns].reset_index(drop=True)


def trend_filters(scope: Scope, *, min_months: int = 12) -> Scope:
    """The filters of the trend charts: the period widened, when shorter, to the
    ``min_months`` calendar months ending with the period's last month, so that a trend
    shows. Scope (regions, channels, segments, access) is unchanged."""
    earliest = (pd.Timestamp(scope.end).to_period("M") - (min_months - 1)).to_timestamp()
    return replace(scope, start=min(scope.start, earliest.date()))


def monthly_trends(
    nps_monthly: pd.DataFrame, repeat_monthly: pd.DataFrame, start: date, end: date
) -> pd.DataFrame:
    """NPS and repeat-purchase rate per calendar month from ``start`` to ``end``.

    ``nps_monthly`` has ``month``, ``nps_answers``, ``promoters``, ``detractors``;
    ``repeat_monthly`` has ``month``, ``buyers``, ``repeat_buyers``. Returns ``month``,
    ``nps`` (-100..+100), ``nps_answers``, ``repeat_purchase_rate`` (%), ``buyers``,
    ``repeat_buyers``; rates are NaN (undefined) in months without answers or buyers.
    """
    months = pd.date_range(
        pd.Timestamp(start).to_period("M").to_timestamp(),
        pd.Timestamp(end).to_period("M").to_timestamp(),
        freq="MS",
    )
    frame = pd.DataFrame({"month": months})
    for part, columns in (
        (nps_monthly, ["nps_answers", "promoters", "detractors"]),
        (repeat_monthly, ["buyers", "repeat_buyers"]),
    ):
        part = (
            part.assign(month=pd.to_datetime(part["month"]))
            if len(part)
            else pd.DataFrame(columns=["month", *columns])
        )
        frame = frame.merge(part[["month", *columns]], on="month", how="left")
        frame[columns] = frame[columns].fillna(0).astype(int)
    answers = frame["nps_answers"].where(frame["nps_answers"] > 0)
    frame["nps"] = 100.0 * (frame["promoters"] - frame["detractors"]) / answers
    buyers = frame["buyers"].where(frame["buyers"] > 0)
    frame["repeat_purchase_rate"] = 100.0 * frame["repeat_buyers"] / buyers
    return frame[
        [
            "month",
            "nps",
            "nps_answers",
            "promoters",
            "detractors",
            "repeat_purchase_rate",
            "buyers",
            "repeat_buyers",
        ]
    ]


def activity_sources(customers: pd.DataFrame) -> dict[str, int]:
    """How many customers' "still active" score came from P(alive) and from recency."""
    counts = customers["active_source"].value_counts()
    return {source: int(counts.get(source, 0)) for source in ("P(alive)", "recency")}


#: A stored P(alive) stands for "still active" only when its fit is this close to the
#: period's end (days); otherwise the index uses recency as of the period's end.
FIT_TOLERANCE_DAYS = 31


def fit_applies(calibration_end: date | None, period_end: date) -> bool:
    """True when a lifetime-value fit calibrated on ``calibration_end`` describes the
    customers as of ``period_end`` (within :data:`FIT_TOLERANCE_DAYS`)."""
    if calibration_end is None:
        return False
    return abs((period_end - calibration_end) // timedelta(days=1)) <= FIT_TOLERANCE_DAYS

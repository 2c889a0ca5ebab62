"""Driver analysis: which service measures move retention and revenue after a contact.

One row per contact (``service_queries.contact_outcomes``). Two outcomes: did the customer order
again within the follow-up days (0/1), and the revenue of those days (currency units). Features:
first-contact resolution (0/1), handle time (minutes), channel, the customer's contacts in the
90 days before, and the customer's order frequency and recency band at the contact.

The model is a linear regression with heteroskedasticity-robust (HC1) standard errors: for the
0/1 outcome it is a linear probability model, whose coefficients read directly as "points of
probability", and HC1 makes its confidence intervals valid despite the binary outcome. It fits
in milliseconds, so it runs on the cached rows without a stored fit. The figures are
associations after adjusting for the features, not the result of a controlled experiment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin

from dashboard.domain.service import FOLLOW_UP_DAYS, FREQUENCY_BANDS, RECENCY_BANDS, Z95
from dashboard.formatting import lower_first

#: Contacts the analysis reads at most (the most recent with complete follow-up): bounds the
#: query and the fit at any portfolio size; stated on the page.
MAX_DRIVER_CONTACTS = 20_000
#: Fewer contacts than this and the analysis is not shown (intervals would be too wide).
MIN_DRIVER_CONTACTS = 200
#: Handle-time change the effect is stated for, in minutes (about one typical contact's worth).
HANDLE_MINUTES_STEP = 5.0
#: Below these, a measurable effect is called negligible: 1 point of probability, and 1% of
#: the mean revenue after a contact.
NEGLIGIBLE_POINTS = 1.0
NEGLIGIBLE_REVENUE_SHARE = 0.01

#: The service measures whose effect is reported, with how their coefficient is scaled.
SERVICE_MEASURES = {
    "resolved": (
        "First-contact resolution",
        1.0,
        "resolving the contact at first contact (against not resolving it)",
    ),
    "handle_minutes": (
        "Handle time",
        HANDLE_MINUTES_STEP,
        f"{HANDLE_MINUTES_STEP:.0f} more minutes of handle time",
    ),
}
OUTCOMES = {
    "ordered_again": "the chance that the customer orders again within {days} days",
    "revenue_after": "the customer's revenue in the {days} days after the contact",
}


def driver_features(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Design matrix of the driver analysis, one row per contact (no intercept column).

    ``resolved`` (0/1), ``handle_minutes``, ``prior_contacts`` (capped at 5), and indicator
    columns for channel, frequency band and recency band at the contact (the most common level
    of each is the baseline and has no column). Columns without variation are dropped.
    """
    features = pd.DataFrame(index=outcomes.index)
    features["resolved"] = outcomes["resolved"].astype(float)
    features["handle_minutes"] = outcomes["handle_seconds"].astype(float) / 60.0
    features["prior_contacts"] = outcomes["prior_contacts"].astype(float).clip(upper=5)
    days_since = (outcomes["opened_at"] - outcomes["last_order_before"]).dt.days
    prior = outcomes["prior_orders"].astype(int)
    frequency = pd.Series("no order before", index=outcomes.index)
    frequency[prior == 1] = FREQUENCY_BANDS[1]
    frequency[prior.between(2, 3)] = FREQUENCY_BANDS[2]
    frequency[prior >= 4] = FREQUENCY_BANDS[3]
    recency = pd.Series("no order before", index=outcomes.index)
    for band, upper in ((4, math.inf), (3, 365), (2, 180), (1, 90)):
        recency[days_since <= upper] = RECENCY_BANDS[band]
    categorical = {
        "channel": outcomes["channel"].astype(str),
        "frequency": frequency,
        "recency": recency,
    }
    for name, values in categorical.items():
        baseline = values.value_counts().index[0] if len(values) else None
        for level in sorted(values.unique()):
            if level != baseline:
                features[f"{name}: {level}"] = (values == level).astype(float)
    varying = [c for c in features.columns if features[c].nunique() > 1]
    return features[varying]


class RobustLinearModel(RegressorMixin, BaseEstimator):
    """Least squares with an intercept and HC1 (heteroskedasticity-robust) standard errors.

    Parameters
    ----------
    confidence:
        Level of the two-sided confidence intervals (only 0.95 is supported by the z value).

    Attributes
    ----------
    coef_ : pandas.Series
        Coefficient per feature, in outcome units per feature unit.
    intercept_ : float
    std_errors_ : pandas.Series
        HC1 standard errors of ``coef_``.
    conf_int_ : pandas.DataFrame
        ``low`` and ``high`` of the confidence interval per feature.
    n_samples_ : int
    """

    def __init__(self, confidence: float = 0.95) -> None:
        self.confidence = confidence

    def fit(self, X: pd.DataFrame, y: pd.Series | np.ndarray) -> RobustLinearModel:
        if self.confidence != 0.95:
            raise ValueError("only 95% intervals are supported")
        names = list(X.columns)
        design = np.column_stack([np.ones(len(X)), X.to_numpy(dtype=float)])
        target = np.asarray(y, dtype=float)
        n, k = design.shape
        if n <= k:
            raise ValueError(f"{n} rows cannot fit {k} coefficients")
        bread = np.linalg.pinv(design.T @ design)
        beta = bread @ design.T @ target
        residual = target - design @ beta
        meat = (design * residual[:, None] ** 2).T @ design
        covariance = bread @ meat @ bread * n / (n - k)
        errors = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
        self.intercept_ = float(beta[0])
        self.coef_ = pd.Series(beta[1:], index=names)
        self.std_errors_ = pd.Series(errors[1:], index=names)
        self.conf_int_ = pd.DataFrame(
            {
                "low": self.coef_ - Z95 * self.std_errors_,
                "high": self.coef_ + Z95 * self.std_errors_,
            }
        )
        self.n_samples_ = n
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.intercept_ + X[list(self.coef_.index)].to_numpy(dtype=float) @ self.coef_.values


@dataclass(frozen=True)
class DriverEffect:
    """The estimated effect of one service measure on one outcome, with its 95% CI.

    ``estimate`` is per ``step`` of the measure (1 = resolved vs not; 5 minutes of handle time),
    in points of probability for ``ordered_again`` and currency units for ``revenue_after``.
    ``verdict`` is "raises", "lowers", "negligible" or "none" (interval includes zero), or
    "not estimable" when the contacts do not vary in that measure.
    """

    measure: str
    label: str
    outcome: str
    step: float
    estimate: float | None
    ci: tuple[float, float] | None
    unit: str
    verdict: str
    sentence: str


@dataclass(frozen=True)
class DriverAnalysis:
    """Effects of FCR and handle time on ordering again and revenue, from ``contacts`` rows."""

    contacts: int
    effects: tuple[DriverEffect, ...]
    base_rate: float  # share of contacts followed by an order, percent
    mean_revenue_after: float  # currency units
    follow_up_days: int
    summary: str

    def effect(self, measure: str, outcome: str) -> DriverEffect:
        return next(e for e in self.effects if e.measure == measure and e.outcome == outcome)


def _format_amount(value: float, unit: str) -> str:
    return f"{value:+.1f} points" if unit == "points" else f"{value:+,.2f} currency units"


def _effect(
    model: RobustLinearModel | None, measure: str, outcome: str, days: int, mean_revenue: float
) -> DriverEffect:
    label, step, phrase = SERVICE_MEASURES[measure]
    unit = "points" if outcome == "ordered_again" else "currency units"
    scale = 100.0 * step if outcome == "ordered_again" else step
    target = OUTCOMES[outcome].format(days=days)
    if model is None or measure not in model.coef_.index:
        return DriverEffect(
            measure,
            label,
            outcome,
            step,
            None,
            None,
            unit,
            "not estimable",
            f"The effect of {lower_first(label)} on {target} cannot be estimated: "
            "the contacts do not vary in it.",
        )
    estimate = float(model.coef_[measure]) * scale
    low, high = (float(v) * scale for v in model.conf_int_.loc[measure])
    threshold = NEGLIGIBLE_POINTS if unit == "points" else NEGLIGIBLE_REVENUE_SHARE * mean_revenue
    interval = (
        f"95% CI {low:+,.1f} to {high:+,.1f}"
        if unit == "points"
        else (f"95% CI {low:+,.2f} to {high:+,.2f}")
    )
    if low <= 0 <= high:
        verdict = "none"
        sentence = (
            f"{phrase[0].upper()}{phrase[1:]} has no measurable effect on {target} "
            f"({_format_amount(estimate, unit)}, {interval})."
        )
    elif abs(estimate) < threshold:
        verdict = "negligible"
        sentence = (
            f"{phrase[0].upper()}{phrase[1:]} changes {target} by a negligible "
            f"{_format_amount(estimate, unit)} ({interval})."
        )
    else:
        verdict = "raises" if estimate > 0 else "lowers"
        amount = (
            f"{abs(estimate):.1f} points"
            if unit == "points"
            else f"{abs(estimate):,.2f} currency units"
        )
        sentence = f"{phrase[0].upper()}{phrase[1:]} {verdict} {target} by {amount} ({interval})."
    return DriverEffect(
        measure, label, outcome, step, estimate, (low, high), unit, verdict, sentence
    )


def _summary(effects: tuple[DriverEffect, ...]) -> str:
    moving = {e.label for e in effects if e.verdict in ("raises", "lowers")}
    still = [label for label, *_ in SERVICE_MEASURES.values() if label not in moving]
    if not moving:
        return (
            "Neither first-contact resolution nor handle time measurably moves retention or "
            "revenue after a contact."
        )
    moves = " and ".join(sorted(moving, key=lambda s: s != "First-contact resolution"))
    rest = f"; {' and '.join(lower_first(s) for s in still)} hardly or not at all" if still else ""
    return f"{moves} moves retention and revenue after a contact{rest}."


def analyse_drivers(outcomes: pd.DataFrame, follow_up_days: int) -> DriverAnalysis | None:
    """Fit both outcomes on the contacts' features; None below :data:`MIN_DRIVER_CONTACTS`.

    ``outcomes`` is the frame of ``service_queries.contact_outcomes``.
    """
    if len(outcomes) < MIN_DRIVER_CONTACTS:
        return None
    features = driver_features(outcomes)
    ordered = (outcomes["orders_after"] > 0).astype(float)
    revenue = outcomes["revenue_after"].astype(float)
    mean_revenue = float(revenue.mean())
    effects = []
    for outcome, target in (("ordered_again", ordered), ("revenue_after", revenue)):
        model = (
            RobustLinearModel().fit(features, target)
            if len(features.columns) and target.nunique() > 1
            else None
        )
        effects += [
            _effect(model, measure, outcome, follow_up_days, mean_revenue)
            for measure in SERVICE_MEASURES
        ]
    effects_tuple = tuple(effects)
    return DriverAnalysis(
        contacts=len(outcomes),
        effects=effects_tuple,
        base_rate=100.0 * float(ordered.mean()),
        mean_revenue_after=mean_revenue,
        follow_up_days=follow_up_days,
        summary=_summary(effects_tuple),
    )


def effects_frame(analysis: DriverAnalysis) -> pd.DataFrame:
    """The effects as rows for a chart or table: ``measure``, ``label`` (with the step),
    ``outcome``, ``estimate``, ``low``, ``high``, ``unit``, ``verdict``."""
    steps = {"resolved": "resolved vs not", "handle_minutes": f"+{HANDLE_MINUTES_STEP:.0f} min"}
    return pd.DataFrame(
        [
            {
                "measure": e.measure,
                "label": f"{e.label} ({steps[e.measure]})",
                "outcome": e.outcome,
                "estimate": e.estimate,
                "low": e.ci[0] if e.ci else None,
                "high": e.ci[1] if e.ci else None,
                "unit": e.unit,
                "verdict": e.verdict,
            }
            for e in analysis.effects
        ]
    ).astype({"estimate": float, "low": float, "high": float})


def not_enough_note(window) -> str:
    """Why the driver analysis is not shown (``window`` is a FollowUpWindow or None)."""
    if window is None:
        return (
            f"The driver analysis needs contacts with {FOLLOW_UP_DAYS} days of orders after "
            "them; the store's history is too short."
        )
    return (
        f"Fewer than {MIN_DRIVER_CONTACTS} contacts in scope with complete follow-up in "
        "the year to "
        f"{window.end:%d %b %Y}: too few to estimate effects. Widen the filters."
    )


def method_note(analysis: DriverAnalysis, start, end) -> str:
    """How the driver analysis was fitted, on which contacts (shown under the chart)."""
    capped = (
        f" (the {MAX_DRIVER_CONTACTS:,} most recent)"
        if analysis.contacts >= MAX_DRIVER_CONTACTS
        else ""
    )
    return (
        f"Fitted on {analysis.contacts:,} contacts{capped} opened {start:%d %b %Y} – "
        f"{end:%d %b %Y}, each with {analysis.follow_up_days} days of orders after it (at least "
        f"a year of contacts, whatever the period, so that estimates are stable). "
        f"{analysis.base_rate:.1f}% of them were followed by an order; mean revenue after a "
        f"contact {analysis.mean_revenue_after:,.2f}. Linear regression with robust (HC1) 95% "
        "confidence intervals, adjusting for channel, the customer's contacts in the 90 days "
        "before and order frequency and recency band at the contact. Associations, not a "
        "controlled experiment; an interval crossing zero is no measurable effect."
    )

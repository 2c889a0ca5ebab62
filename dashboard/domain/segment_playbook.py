"""What the segments mean for the business: names, a playbook, value shares and migration.

Pure functions over the frames the segment store returns; the page and the CLI share them.

- :func:`generated_names` gives each segment a plain-language name from its profile
  ("High-value loyalists", "Big spenders at risk", "Costly to serve", ...).
- :func:`playbook` recommends one treatment per segment by the rule in :data:`PLAYBOOK_RULES`,
  derived from value, loyalty and cost to serve compared with all customers.
- :func:`value_shares` turns per-segment totals into shares of the portfolio.
- :func:`migration_matrix` turns previous -> current segment counts into a transition table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard.domain.metrics import ratio

#: Cost to serve counts as high when service cost per customer-year is at least this multiple
#: of the portfolio's.
COSTLY_MULTIPLE = 1.5
#: A segment is "new" when its mean tenure is at most this share of the portfolio's.
NEW_TENURE_SHARE = 0.5
#: A segment is "lapsed" when its active share is at most this share of the portfolio's.
LAPSED_ACTIVE_SHARE = 0.5

TREATMENTS: dict[str, str] = {
    "Invest to grow": "The core of the portfolio: grow share of wallet, reward loyalty, ask for "
    "referrals, protect their service levels.",
    "Retain": "Valuable but slipping away: find out why, proactive service and win-back offers "
    "before they go.",
    "Develop": "Loyal but small: cross-sell and up-sell to raise what each one is worth.",
    "Serve at lower cost": "Cost a lot to serve for what they bring: move them to self-service "
    "and cheaper channels, remove the causes of their contacts.",
    "Reconsider": "Do not pay back what they cost: stop costly acquisition and win-back for "
    "this profile, reprice, or let them go.",
}

#: The playbook rule, applied in this order (first match wins): (treatment, condition).
PLAYBOOK_RULES: tuple[tuple[str, str], ...] = (
    ("Invest to grow", "value per customer ≥ the portfolio's and active share ≥ the portfolio's"),
    ("Retain", "value per customer ≥ the portfolio's and active share < the portfolio's"),
    ("Reconsider", "12-month contribution per customer < 0 (they cost more than they bring)"),
    (
        "Serve at lower cost",
        f"value < the portfolio's and service cost per customer-year ≥ "
        f"{COSTLY_MULTIPLE:g} × the portfolio's",
    ),
    ("Develop", "value < the portfolio's and active share ≥ the portfolio's"),
    ("Reconsider", "value < the portfolio's, active share < the portfolio's, not costly"),
)

#: Phrases for a feature far above (+) or below (-) the average, used to tell names apart.
TRAIT_PHRASES: dict[str, tuple[str, str]] = {
    "recency_days": ("long silent", "recently active"),
    "orders_per_year": ("frequent buyers", "rare buyers"),
    "average_order_value": ("big baskets", "small baskets"),
    "gross_margin": ("high margin", "low margin"),
    "tenure_days": ("long-standing", "recently won"),
    "acquisition_cost": ("costly to acquire", "cheap to acquire"),
    "latest_csat": ("satisfied", "dissatisfied"),
    "latest_nps": ("promoters", "detractors"),
    "contacts_per_year": ("heavy service users", "self-sufficient"),
    "fcr_share": ("resolved first time", "unresolved issues"),
    "referrals_made": ("referrers", "non-referrers"),
}


#: A difference from the average of at least this many standard deviations is "strong".
STRONG_DIFFERENCE = 1.0
#: Segments sharing a name are told apart by a trait at least this far (standard deviations)
#: from their own mean.
SETS_APART = 1 / 3


@dataclass(frozen=True)
class SegmentTraits:
    """The flags behind a segment's name and treatment, compared with all customers.

    ``differences`` holds the segment's standardized difference from all customers per
    feature (see ``dashboard.domain.segments.segment_profiles``).
    """

    segment: int
    value: float
    portfolio_value: float
    active_share: float
    portfolio_active_share: float
    service_cost_per_year: float
    portfolio_service_cost_per_year: float
    contribution_12m: float
    tenure_days: float
    portfolio_tenure_days: float
    differences: tuple[tuple[str, float], ...] = ()

    def difference(self, feature: str) -> float:
        return dict(self.differences).get(feature, 0.0)

    @property
    def high_value(self) -> bool:
        return self.value >= self.portfolio_value

    @property
    def loyal(self) -> bool:
        return self.active_share >= self.portfolio_active_share

    @property
    def costly(self) -> bool:
        base = self.portfolio_service_cost_per_year
        return base > 0 and self.service_cost_per_year >= COSTLY_MULTIPLE * base

    @property
    def loss_making(self) -> bool:
        return self.contribution_12m < 0

    @property
    def new(self) -> bool:
        return self.tenure_days <= NEW_TENURE_SHARE * self.portfolio_tenure_days

    @property
    def lapsed(self) -> bool:
        return self.active_share <= LAPSED_ACTIVE_SHARE * self.portfolio_active_share

    @property
    def unhappy(self) -> bool:
        return (
            min(self.difference("latest_nps"), self.difference("latest_csat")) <= -STRONG_DIFFERENCE
        )

    @property
    def unresolved(self) -> bool:
        return self.difference("fcr_share") <= -STRONG_DIFFERENCE


def _wide(profiles: pd.DataFrame, column: str) -> pd.DataFrame:
    return profiles.pivot_table(index="segment", columns="feature", values=column, aggfunc="first")


def segment_traits(profiles: pd.DataFrame, value_measure: str) -> list[SegmentTraits]:
    """The flags of every segment (not the all-customers row 0) from stored profiles."""
    means = _wide(profiles, "mean")
    differences = _wide(profiles, "difference").fillna(0.0)
    if 0 not in means.index:
        raise ValueError("the profiles lack the all-customers row (segment 0)")

    def get(segment: int, feature: str) -> float:
        value = means.at[segment, feature] if feature in means.columns else np.nan
        return 0.0 if pd.isna(value) else float(value)

    return [
        SegmentTraits(
            segment=int(s),
            value=get(s, value_measure),
            portfolio_value=get(0, value_measure),
            active_share=get(s, "active_share"),
            portfolio_active_share=get(0, "active_share"),
            service_cost_per_year=get(s, "service_cost_per_year"),
            portfolio_service_cost_per_year=get(0, "service_cost_per_year"),
            contribution_12m=get(s, "contribution_12m"),
            tenure_days=get(s, "tenure_days"),
            portfolio_tenure_days=get(0, "tenure_days"),
            differences=tuple((f, float(v)) for f, v in differences.loc[s].items()),
        )
        for s in means.index
        if s != 0
    ]


def treatment(traits: SegmentTraits) -> tuple[str, int]:
    """The recommended treatment and the number (1-based) of the rule that gave it."""
    if traits.high_value and traits.loyal:
        return "Invest to grow", 1
    if traits.high_value:
        return "Retain", 2
    if traits.loss_making:
        return "Reconsider", 3
    if traits.costly:
        return "Serve at lower cost", 4
    if traits.loyal:
        return "Develop", 5
    return "Reconsider", 6


#: Names by profile, checked in this order (first match): (name, condition).
NAME_RULES: tuple[tuple[str, str], ...] = (
    ("Promising newcomers", "high value, mean tenure ≤ half the portfolio's"),
    ("High-value loyalists", "high value, active share ≥ the portfolio's"),
    ("Big spenders at risk", "high value, active share < the portfolio's"),
    ("Unhappy customers", "latest NPS or CSAT ≥ 1 standard deviation below average"),
    ("Unresolved service issues", "first-contact resolution ≥ 1 standard deviation below"),
    ("Loss-making regulars", "12-month contribution < 0, active share ≥ the portfolio's"),
    ("Costly to serve", f"service cost per customer-year ≥ {COSTLY_MULTIPLE:g} × the portfolio's"),
    ("Newcomers", "mean tenure ≤ half the portfolio's"),
    ("Lapsed customers", "active share ≤ half the portfolio's"),
    ("Loss-making occasional buyers", "12-month contribution < 0"),
    ("Loyal small spenders", "active share ≥ the portfolio's"),
    ("Occasional low spenders", "everything else"),
)


def _base_name(t: SegmentTraits) -> str:
    checks = (
        t.high_value and t.new,
        t.high_value and t.loyal,
        t.high_value,
        t.unhappy,
        t.unresolved,
        t.loss_making and t.loyal,
        t.costly,
        t.new,
        t.lapsed,
        t.loss_making,
        t.loyal,
        True,
    )
    return next(name for (name, _), hit in zip(NAME_RULES, checks, strict=True) if hit)


def generated_names(profiles: pd.DataFrame, value_measure: str) -> dict[int, str]:
    """A plain-language name per segment from its profile, unique within the run.

    The name comes from :data:`NAME_RULES` (value, loyalty, cost to serve, satisfaction
    against all customers). Segments that would share a name each get the trait that sets
    them most apart from the others sharing it ("High-value loyalists, referrers"), then a
    number if still needed.
    """
    traits = segment_traits(profiles, value_measure)
    names = {t.segment: _base_name(t) for t in traits}
    differences = _wide(profiles, "difference").fillna(0.0)
    trait_features = [f for f in TRAIT_PHRASES if f in differences.columns]
    for name in set(names.values()):
        sharing = [s for s, n in names.items() if n == name]
        if len(sharing) < 2:
            continue
        group = differences.loc[sharing, trait_features]
        apart = group - group.mean()
        for segment in sharing:
            # Its most marked trait among those that set it apart from the others sharing
            # the name (at least a third of a standard deviation from their mean).
            own = group.loc[segment].where(apart.loc[segment].abs() >= SETS_APART)
            if own.notna().any():
                feature = own.abs().idxmax()
                direction = own[feature]
            else:
                feature = apart.loc[segment].abs().idxmax()
                direction = apart.loc[segment, feature]
            if direction == 0:
                continue  # nothing sets it apart: a number will
            up, down = TRAIT_PHRASES[feature]
            names[segment] = f"{name}, {up if direction > 0 else down}"
    seen: dict[str, int] = {}
    for segment in sorted(names):
        name = names[segment]
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            names[segment] = f"{name} ({seen[name]})"
    return names


def playbook(
    profiles: pd.DataFrame, value_measure: str, values: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One recommended treatment per segment, with the rule that gave it and the value at stake.

    Parameters
    ----------
    profiles:
        Stored profiles (segment 0 = all customers), see
        :func:`dashboard.domain.segments.segment_profiles`.
    value_measure:
        ``lifetime_value`` or ``contribution_12m``.
    values:
        Optional per-segment frame with ``segment`` and ``value_at_stake`` (currency units, in
        the page's scope) to attach.

    Returns
    -------
    Frame with ``segment``, ``treatment``, ``rule`` (its number in :data:`PLAYBOOK_RULES`),
    ``why`` (the rule's condition), ``action`` (what the treatment means), the flags
    ``high_value``, ``loyal``, ``costly`` and ``value_at_stake`` when ``values`` is given.
    """
    rows = []
    for t in segment_traits(profiles, value_measure):
        name, rule = treatment(t)
        rows.append(
            {
                "segment": t.segment,
                "treatment": name,
                "rule": rule,
                "why": PLAYBOOK_RULES[rule - 1][1],
                "action": TREATMENTS[name],
                "high_value": t.high_value,
                "loyal": t.loyal,
                "costly": t.costly,
            }
        )
    frame = pd.DataFrame(rows)
    if values is not None and not frame.empty:
        frame = frame.merge(values[["segment", "value_at_stake"]], on="segment", how="left")
    return frame


def value_shares(summary: pd.DataFrame) -> pd.DataFrame:
    """Each segment's share of customers, revenue, gross margin, profit and lifetime value.

    ``summary`` has one row per segment with ``customers`` and the money columns ``revenue``,
    ``gross_margin``, ``profit`` and optionally ``lifetime_value``. Each ``*_share`` column is
    the segment's amount over the portfolio total, in percent; undefined (missing) when the
    total is zero. A share of profit can be negative or above 100% when some segments lose
    money (as on a whale curve).
    """
    frame = summary.copy()
    for column in ("customers", "revenue", "gross_margin", "profit", "lifetime_value"):
        if column not in frame:
            continue
        total = frame[column].sum(min_count=1)
        frame[f"{column}_share"] = [
            None if (r := ratio(v, total)) is None or pd.isna(v) else 100.0 * r
            for v in frame[column]
        ]
    return frame


NEW_CUSTOMERS = 0  # "from" segment of customers acquired after the previous period end


def migration_matrix(transitions: pd.DataFrame) -> pd.DataFrame:
    """Share of each previous segment's customers in each current segment, in percent.

    ``transitions`` has ``from_segment`` (0 = not yet a customer at the previous period end),
    ``to_segment`` and ``customers``. Rows: previous segment; columns: current segment; each
    row sums to 100. Missing combinations are 0.
    """
    if transitions.empty:
        return pd.DataFrame()
    counts = transitions.pivot_table(
        index="from_segment", columns="to_segment", values="customers", aggfunc="sum", fill_value=0
    )
    return counts.div(counts.sum(axis=1), axis=0).mul(100.0)


def stayed_share(transitions: pd.DataFrame) -> float | None:
    """Share (percent) of customers present at both dates who stayed in the same segment."""
    known = transitions[transitions["from_segment"] != NEW_CUSTOMERS]
    stayed = known.loc[known["from_segment"] == known["to_segment"], "customers"].sum()
    share = ratio(stayed, known["customers"].sum())
    return None if share is None else 100.0 * share


# --------------------------------------------------------------------------------------------
# Tables the Segments page shows (labels attached, shares computed)
# --------------------------------------------------------------------------------------------


def segment_worth(summary: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Per-segment summary with its label and every share (see :func:`value_shares`).

    ``summary`` is the frame of ``segment_store.segment_summary``; ``labels`` has ``segment``
    and ``label``. Segments without customers in scope are left out.
    """
    shares = value_shares(summary[summary["customers"] > 0])
    return labels[["segment", "label"]].merge(shares, on="segment", how="inner")


def value_at_stake(summary: pd.DataFrame, value_measure: str) -> pd.DataFrame:
    """Value at stake per segment: the sum of the value measure over its customers in scope.

    Lifetime value (when the value engine has run) or the 12-month contribution (gross margin
    - service cost in the 365 days to the period's end), currency units.
    """
    column = "lifetime_value" if value_measure == "lifetime_value" else "contribution_12m"
    return pd.DataFrame({"segment": summary["segment"], "value_at_stake": summary[column]})


def playbook_table(
    profiles: pd.DataFrame, value_measure: str, summary: pd.DataFrame, labels: pd.DataFrame
) -> pd.DataFrame:
    """The playbook with labels and value at stake in scope, ready to show."""
    plan = playbook(profiles, value_measure, value_at_stake(summary, value_measure))
    if plan.empty:
        return plan
    return labels[["segment", "label"]].merge(plan, on="segment", how="inner")


def migration_table(transitions: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """:func:`migration_matrix` with segment labels (rows: before, columns: now), percent."""
    matrix = migration_matrix(transitions)
    if matrix.empty:
        return matrix
    names = dict(zip(labels["segment"], labels["label"], strict=True))
    names[NEW_CUSTOMERS] = "New customers"
    return matrix.rename(
        index=lambda s: names.get(s, f"Segment {s}"), columns=lambda s: names.get(s, f"Segment {s}")
    ).rename_axis(index="Segment before", columns="Segment now")


def member_choices(members: pd.DataFrame, limit: int = 500) -> list[tuple[str, str]]:
    """(customer id, "id · name") of the first ``limit`` members, for a customer picker.

    Ids are text, kept as written (``00042``); the name is left out when it is the id.
    """
    head = members.head(limit)
    return [
        (str(c), str(c) if str(n) == str(c) else f"{c} · {n}")
        for c, n in zip(head["customer_id"], head["name"], strict=True)
    ]


def concentration_note(worth: pd.DataFrame) -> str | None:
    """One sentence on the segment holding the most value relative to its size.

    Uses gross margin (always known): the segment with the largest gap between its share of
    gross margin and its share of customers. None when no segment holds more than its weight.
    """
    if worth.empty or worth["gross_margin_share"].isna().all():
        return None
    gap = worth["gross_margin_share"] - worth["customers_share"]
    top = worth.loc[gap.idxmax()]
    if gap.max() <= 0:
        return None
    return (
        f"**{top['label']}** holds **{top['gross_margin_share']:.0f}% of the gross margin** "
        f"with **{top['customers_share']:.0f}% of the customers**."
    )

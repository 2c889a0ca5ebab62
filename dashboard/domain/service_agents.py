"""Agents ranked two ways, and what would change under the other scorecard.

Speed is the cost-center view of an agent (average handle time, fastest first); value is the
value-driver view (first-contact resolution by default, or NPS after contact, or the share of
contacts followed by an order). The scenarios ask: if every agent worked like the best quarter
of agents on one lens, what would the period's contacts cost and earn (using the effects the
driver analysis measured)?
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from dashboard.domain.metrics import csat_top2, nps, ratio
from dashboard.domain.service_drivers import DriverAnalysis
from dashboard.formatting import format_value, lower_first

#: Contacts an agent needs in the period to be ranked (fewer make the rates noise).
MIN_AGENT_CONTACTS = 30
#: Survey answers an agent needs for an NPS after contact.
MIN_AGENT_ANSWERS = 10
#: Share of ranked agents forming the "best quarter" of a lens in the scenarios.
TOP_SHARE = 0.25

VALUE_MEASURES = {
    "fcr": ("First-contact resolution", "%"),
    "nps": ("NPS after contact", "NPS points"),
    "retention": ("Contacts followed by an order", "%"),
}


def agent_scorecard(
    activity: pd.DataFrame, follow_up: pd.DataFrame, min_contacts: int = MIN_AGENT_CONTACTS
) -> pd.DataFrame:
    """One row per agent with both lenses' figures.

    ``activity`` is ``service_queries.agent_activity`` (the period), ``follow_up`` is
    ``service_queries.agent_follow_up`` (the follow-up window). Columns: ``agent_id``,
    ``contacts``, ``aht_seconds``, ``contacts_per_day`` (contacts / days the agent handled a
    contact), ``cost_per_contact``, ``fcr`` (%), ``nps`` (None under
    :data:`MIN_AGENT_ANSWERS` answers), ``csat`` (%), ``followed_contacts``, ``retention`` (% of
    the agent's contacts in the follow-up window followed by an order), ``ranked`` (at least
    ``min_contacts`` contacts in the period).
    """
    if activity.empty:
        return pd.DataFrame(
            columns=[
                "agent_id",
                "contacts",
                "aht_seconds",
                "contacts_per_day",
                "cost_per_contact",
                "fcr",
                "nps",
                "csat",
                "followed_contacts",
                "retention",
                "ranked",
            ]
        )
    frame = activity.merge(follow_up, on="agent_id", how="left")
    rows = []
    for row in frame.itertuples(index=False):
        followed = 0 if pd.isna(row.followed_contacts) else int(row.followed_contacts)
        retained = 0 if pd.isna(row.retained_contacts) else int(row.retained_contacts)
        answers = int(row.nps_answers)
        fcr = ratio(row.fcr_contacts, row.contacts)
        retention = ratio(retained, followed)
        rows.append(
            {
                "agent_id": row.agent_id,
                "contacts": int(row.contacts),
                "aht_seconds": ratio(row.handle_seconds, row.contacts),
                "contacts_per_day": ratio(row.contacts, row.active_days),
                "cost_per_contact": ratio(row.service_cost, row.contacts),
                "fcr": None if fcr is None else 100.0 * fcr,
                "nps": (
                    nps(int(row.promoters), int(row.detractors), answers)
                    if answers >= MIN_AGENT_ANSWERS
                    else None
                ),
                "csat": csat_top2(int(row.csat_top2), int(row.csat_answers)),
                "followed_contacts": followed,
                "retention": None if retention is None else 100.0 * retention,
                "ranked": int(row.contacts) >= min_contacts,
            }
        )
    return pd.DataFrame(rows).astype(
        {"aht_seconds": float, "fcr": float, "nps": float, "csat": float, "retention": float}
    )


def rank_agents(scorecard: pd.DataFrame, value_measure: str = "fcr") -> pd.DataFrame:
    """Ranked agents with ``speed_rank`` (1 = shortest handle time) and ``value_rank``
    (1 = best ``value_measure``), and ``rank_shift`` = speed rank − value rank (positive: the
    agent looks better by value than by speed). Agents not ranked or without a value for the
    measure are left out. Ties share the better rank.
    """
    if value_measure not in VALUE_MEASURES:
        raise ValueError(
            f"unknown value measure {value_measure!r}; choose one of {sorted(VALUE_MEASURES)}"
        )
    ranked = scorecard[scorecard["ranked"] & scorecard[value_measure].notna()].copy()
    ranked["speed_rank"] = ranked["aht_seconds"].rank(method="min").astype(int)
    ranked["value_rank"] = ranked[value_measure].rank(method="min", ascending=False).astype(int)
    ranked["rank_shift"] = ranked["speed_rank"] - ranked["value_rank"]
    return ranked.sort_values(["speed_rank", "agent_id"]).reset_index(drop=True)


@dataclass(frozen=True)
class RankingComparison:
    """How much the two rankings of agents agree."""

    agents: int
    rank_correlation: float | None  # Spearman, -1 to 1
    top_size: int
    top_overlap: int  # agents in both top groups
    fastest_agent: str | None
    fastest_value_rank: int | None
    best_value_agent: str | None
    best_value_speed_rank: int | None
    sentence: str


def compare_rankings(ranked: pd.DataFrame, value_label: str) -> RankingComparison:
    """Agreement of the speed and value rankings, stated in one sentence."""
    n = len(ranked)
    if n < 2:
        return RankingComparison(
            n,
            None,
            0,
            0,
            None,
            None,
            None,
            None,
            "Too few agents have enough contacts to compare rankings.",
        )
    correlation = float(ranked["speed_rank"].corr(ranked["value_rank"], method="spearman"))
    if math.isnan(correlation):
        correlation = None
    top = max(1, math.ceil(n * TOP_SHARE))
    fastest = set(ranked.nsmallest(top, "speed_rank")["agent_id"])
    best = set(ranked.nsmallest(top, "value_rank")["agent_id"])
    overlap = len(fastest & best)
    first_fast = ranked.sort_values(["speed_rank", "agent_id"]).iloc[0]
    first_value = ranked.sort_values(["value_rank", "agent_id"]).iloc[0]
    agreement = (
        "are nearly unrelated"
        if correlation is None or abs(correlation) < 0.3
        else "disagree"
        if correlation < 0
        else "broadly agree"
    )
    correlation_text = "n/a" if correlation is None else f"{correlation:+.2f}"
    sentence = (
        f"Ranking {n} agents by speed and by {lower_first(value_label)} {agreement} (rank "
        f"correlation {correlation_text}): {overlap} of the {top} fastest are also among the "
        f"{top} best by {lower_first(value_label)}. The fastest agent, {first_fast['agent_id']}, "
        f"ranks {int(first_fast['value_rank'])} of {n} by value; the best by value, "
        f"{first_value['agent_id']}, ranks {int(first_value['speed_rank'])} of {n} by speed."
    )
    return RankingComparison(
        n,
        correlation,
        top,
        overlap,
        first_fast["agent_id"],
        int(first_fast["value_rank"]),
        first_value["agent_id"],
        int(first_value["speed_rank"]),
        sentence,
    )


# --- What would change under the other scorecard ----------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """The period's contacts handled the way the best quarter of agents on one lens handles them.

    ``fcr_change`` in points, ``aht_change`` in seconds, ``handling_cost_change`` in currency
    units over the period (time-driven cost: cost per handled minute × minutes), and from the
    driver analysis: ``orders_change`` (more contacts followed by an order within the follow-up
    days) and ``revenue_change`` (currency units in those days). Effects the analysis could not
    measure count as zero and are named in ``sentence``.
    """

    lens: str  # "cost center" or "value driver"
    agents: tuple[str, ...]
    fcr_change: float
    aht_change: float
    handling_cost_change: float
    orders_change: float
    revenue_change: float
    sentence: str


def _pooled(agents: pd.DataFrame) -> tuple[float, float]:
    """FCR (share) and AHT (seconds) of a group of agents, weighted by their contacts."""
    contacts = agents["contacts"].sum()
    fcr = float((agents["fcr"] / 100 * agents["contacts"]).sum() / contacts)
    aht = float((agents["aht_seconds"] * agents["contacts"]).sum() / contacts)
    return fcr, aht


def what_would_change(
    scorecard: pd.DataFrame,
    drivers: DriverAnalysis | None,
    totals: pd.DataFrame,
) -> dict[str, Scenario] | None:
    """Both scenarios for the period (keys "cost center" and "value driver"), or None when
    fewer than two agents are ranked or there are no contacts.

    ``totals`` is ``service_queries.contact_totals``: its current period's contacts, service
    cost and handle seconds are what the scenarios rescale. The cost of a handled minute is
    ``service_cost / handled minutes``: it treats all service cost as time-driven, so cost
    changes are an upper bound.
    """
    row = totals.set_index("period").loc["current"]
    contacts, service_cost = int(row["contacts"]), float(row["service_cost"])
    handle_seconds = float(row["handle_seconds"])
    ranked = scorecard[scorecard["ranked"]]
    if len(ranked) < 2 or not contacts or not handle_seconds:
        return None
    top = max(1, math.ceil(len(ranked) * TOP_SHARE))
    all_fcr, all_aht = _pooled(ranked)
    cost_per_second = service_cost / handle_seconds
    follow_up = drivers.follow_up_days if drivers else 90
    groups = {
        "cost center": ranked.nsmallest(top, "aht_seconds"),
        "value driver": ranked.nlargest(top, "fcr"),
    }
    scenarios = {}
    for lens, group in groups.items():
        fcr, aht = _pooled(group)
        fcr_change, aht_change = fcr - all_fcr, aht - all_aht
        unmeasured = []
        orders_change = revenue_change = 0.0
        for outcome in ("ordered_again", "revenue_after"):
            for measure, delta in (("resolved", fcr_change), ("handle_minutes", aht_change / 60)):
                effect = drivers.effect(measure, outcome) if drivers else None
                if effect is None or effect.estimate is None or effect.verdict == "none":
                    if outcome == "ordered_again":
                        unmeasured.append(measure)
                    continue
                per_unit = effect.estimate / effect.step
                if outcome == "ordered_again":
                    orders_change += contacts * delta * per_unit / 100.0
                else:
                    revenue_change += contacts * delta * per_unit
        cost_change = contacts * aht_change * cost_per_second
        names = sorted(group["agent_id"])
        who = (
            ", ".join(names)
            if len(names) <= 4
            else (f"{len(names)} agents: {', '.join(names[:3])} and {len(names) - 3} more")
        )
        label = "fastest" if lens == "cost center" else "best-resolving"
        note = ""
        if unmeasured:
            names = " and ".join(
                "first-contact resolution" if m == "resolved" else "handle time" for m in unmeasured
            )
            note = f" ({names}: no measurable effect on ordering again, counted as zero)"
        sentence = (
            f"If the period's {contacts:,} contacts were handled like the {label} quarter of "
            f"agents ({who}) handle theirs: first-contact resolution {100 * fcr_change:+.1f} "
            f"points and handle time {aht_change:+.0f} s per contact, so handling cost "
            f"{cost_change:+,.0f} currency units and, by the driver analysis, "
            f"{orders_change:+,.0f} contacts followed by an order within {follow_up} days and "
            f"{revenue_change:+,.0f} currency units of revenue in those days{note}."
        )
        scenarios[lens] = Scenario(
            lens,
            tuple(sorted(group["agent_id"])),
            100 * fcr_change,
            aht_change,
            cost_change,
            orders_change,
            revenue_change,
            sentence,
        )
    return scenarios


def scenario_sentences(scenarios: dict[str, Scenario] | None, scorecard: str) -> list[str]:
    """The scenario(s) to show under the verdict: the other scorecard first.

    ``scorecard`` is the verdict ("cost center", "value driver", "both", "neither"): a company
    on one scorecard sees the other; "both" and "neither" see both.
    """
    if not scenarios:
        return [
            f"Too few agents have {MIN_AGENT_CONTACTS} or more contacts in the period to "
            "say what would change: widen the period or the filters."
        ]
    order = {"cost center": ["value driver"], "value driver": ["cost center"]}.get(
        scorecard, ["value driver", "cost center"]
    )
    prefix = {"value driver": "Run as a value driver", "cost center": "Run as a cost center"}
    return [f"**{prefix[lens]}.** {scenarios[lens].sentence}" for lens in order]


def ranking_note(scorecard: pd.DataFrame, ranked: pd.DataFrame) -> str:
    """Which agents the ranking leaves out, and why."""
    left_out = len(scorecard) - len(ranked)
    note = (
        f"Agents with at least {MIN_AGENT_CONTACTS} contacts in the period are ranked; NPS "
        f"after contact needs {MIN_AGENT_ANSWERS} answers. Ties share the better rank."
    )
    if left_out:
        note += f" {left_out} agent(s) left out for too few contacts or answers."
    return note


def empty_follow_up() -> pd.DataFrame:
    """An ``agent_follow_up`` frame with no rows (when no contact has complete follow-up)."""
    return pd.DataFrame(
        {
            "agent_id": pd.Series(dtype=str),
            "followed_contacts": pd.Series(dtype="int64"),
            "retained_contacts": pd.Series(dtype="int64"),
            "revenue_after": pd.Series(dtype=float),
        }
    )


def agent_table(ranked: pd.DataFrame) -> pd.DataFrame:
    """The ranked agents as shown in the page's table, best by speed first (columns in words)."""
    return pd.DataFrame(
        {
            "Agent": ranked["agent_id"],
            "Rank by speed": ranked["speed_rank"],
            "Rank by value": ranked["value_rank"],
            "Places gained by value": ranked["rank_shift"],
            "Contacts": ranked["contacts"],
            "Handle time": [format_value(v, "seconds") for v in ranked["aht_seconds"]],
            "Cost per contact": ranked["cost_per_contact"],
            "FCR (%)": ranked["fcr"],
            "NPS after contact": ranked["nps"],
            "Followed by an order (%)": ranked["retention"],
        }
    )

"""Agents ranked by speed and by value, and the scenarios under the other scorecard."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.domain.service_agents import (
    agent_scorecard,
    agent_table,
    compare_rankings,
    empty_follow_up,
    rank_agents,
    scenario_sentences,
    what_would_change,
)
from dashboard.domain.service_drivers import DriverAnalysis, DriverEffect


def activity(rows):
    """``agent_activity`` rows: (agent, contacts, handle s, cost, resolved, days, nps answers,
    promoters, detractors)."""
    frame = pd.DataFrame(
        rows,
        columns=[
            "agent_id",
            "contacts",
            "handle_seconds",
            "service_cost",
            "fcr_contacts",
            "active_days",
            "nps_answers",
            "promoters",
            "detractors",
        ],
    )
    return frame.assign(csat_answers=0, csat_top2=0)


#: Four agents: F is fastest but resolves least, V slowest and resolves most; S has too few
#: contacts to be ranked.
AGENTS = activity(
    [
        ("F", 100, 100 * 240.0, 500.0, 50, 20, 10, 2, 5),  # 4 min, 50% FCR, NPS (2-5)/10 = -30
        ("M", 100, 100 * 360.0, 700.0, 70, 20, 10, 5, 2),  # 6 min, 70%, +30
        ("V", 100, 100 * 600.0, 1100.0, 90, 25, 4, 4, 0),  # 10 min, 90%, too few answers for NPS
        ("Q", 100, 100 * 300.0, 600.0, 80, 20, 10, 6, 1),  # 5 min, 80%, +50
        ("S", 10, 10 * 100.0, 20.0, 10, 2, 0, 0, 0),  # 10 contacts: not ranked
    ]
)
FOLLOW_UP = pd.DataFrame(
    {
        "agent_id": ["F", "M", "V", "Q"],
        "followed_contacts": [80, 80, 80, 0],
        "retained_contacts": [40, 48, 64, 0],
        "revenue_after": [1.0, 1.0, 1.0, 0.0],
    }
)


def test_agent_scorecard_by_hand():
    card = agent_scorecard(AGENTS, FOLLOW_UP).set_index("agent_id")
    f = card.loc["F"]
    assert f["aht_seconds"] == 240.0 and f["fcr"] == 50.0
    assert f["contacts_per_day"] == 5.0  # 100 contacts over 20 days
    assert f["cost_per_contact"] == 5.0  # 500 / 100
    assert f["nps"] == pytest.approx(-30.0)  # (2 - 5) / 10 answers
    assert f["retention"] == 50.0  # 40 of 80 followed contacts
    assert pd.isna(card.loc["V", "nps"])  # 4 answers < 10
    assert pd.isna(card.loc["Q", "retention"])  # no contact with complete follow-up
    assert pd.isna(card.loc["S", "retention"])  # no follow-up row at all
    assert not card.loc["S", "ranked"] and card.loc["F", "ranked"]


def test_agent_scorecard_without_follow_up_or_contacts():
    card = agent_scorecard(AGENTS, empty_follow_up())
    assert card["retention"].isna().all() and (card["followed_contacts"] == 0).all()
    assert agent_scorecard(AGENTS.iloc[0:0], empty_follow_up()).empty


def test_rank_agents_two_ways():
    ranked = rank_agents(agent_scorecard(AGENTS, FOLLOW_UP), "fcr").set_index("agent_id")
    # Speed: F 240 s, Q 300, M 360, V 600. FCR: V 90, Q 80, M 70, F 50. S is not ranked.
    assert ranked["speed_rank"].to_dict() == {"F": 1, "Q": 2, "M": 3, "V": 4}
    assert ranked["value_rank"].to_dict() == {"F": 4, "Q": 2, "M": 3, "V": 1}
    assert ranked["rank_shift"].to_dict() == {"F": -3, "Q": 0, "M": 0, "V": 3}
    by_nps = rank_agents(agent_scorecard(AGENTS, FOLLOW_UP), "nps")
    assert list(by_nps["agent_id"]) == ["F", "Q", "M"]  # V has no NPS: left out
    assert list(by_nps["value_rank"]) == [3, 1, 2]
    with pytest.raises(ValueError, match="unknown value measure"):
        rank_agents(agent_scorecard(AGENTS, FOLLOW_UP), "speed")


def test_rank_ties_share_the_better_rank():
    tied = activity(
        [("A", 50, 50 * 300.0, 1.0, 40, 5, 0, 0, 0), ("B", 50, 50 * 300.0, 1.0, 30, 5, 0, 0, 0)]
    )
    ranked = rank_agents(agent_scorecard(tied, empty_follow_up()), "fcr")
    assert list(ranked["speed_rank"]) == [1, 1]


def test_compare_rankings():
    ranked = rank_agents(agent_scorecard(AGENTS, FOLLOW_UP), "fcr")
    comparison = compare_rankings(ranked, "First-contact resolution")
    # Speed ranks 1,2,3,4 (F,Q,M,V) against value ranks 4,2,3,1: Spearman
    # 1 - 6 Σd² / (n(n² - 1)) = 1 - 6 (9 + 0 + 0 + 9) / 60 = -0.8.
    assert comparison.rank_correlation == pytest.approx(-0.8)
    assert (comparison.top_size, comparison.top_overlap) == (1, 0)  # ceil(4 / 4) = 1
    assert (comparison.fastest_agent, comparison.fastest_value_rank) == ("F", 4)
    assert (comparison.best_value_agent, comparison.best_value_speed_rank) == ("V", 4)
    assert "disagree (rank correlation -0.80)" in comparison.sentence
    assert compare_rankings(ranked.iloc[:1], "FCR").rank_correlation is None


def analysis(fcr_points: float | None, handle_verdict: str = "none") -> DriverAnalysis:
    def effect(measure, outcome, estimate, verdict, step):
        ci = None if estimate is None else (estimate - 1, estimate + 1)
        return DriverEffect(
            measure,
            measure,
            outcome,
            step,
            estimate,
            ci,
            "points" if outcome == "ordered_again" else "currency units",
            verdict,
            "",
        )

    return DriverAnalysis(
        contacts=1_000,
        effects=(
            effect("resolved", "ordered_again", fcr_points, "raises", 1.0),
            effect("handle_minutes", "ordered_again", 0.1, handle_verdict, 5.0),
            effect("resolved", "revenue_after", 30.0, "raises", 1.0),
            effect("handle_minutes", "revenue_after", 0.2, handle_verdict, 5.0),
        ),
        base_rate=60.0,
        mean_revenue_after=100.0,
        follow_up_days=90,
        summary="",
    )


def totals(contacts=1_000, service_cost=6_000.0, handle_seconds=360_000.0):
    return pd.DataFrame(
        [
            {
                "period": "current",
                "contacts": contacts,
                "service_cost": service_cost,
                "handle_seconds": handle_seconds,
            }
        ]
    )


def test_what_would_change_by_hand():
    card = agent_scorecard(AGENTS, FOLLOW_UP)
    scenarios = what_would_change(card, analysis(20.0), totals())
    # Ranked F, M, V, Q (100 contacts each): FCR 72.5%, AHT 375 s. Top quarter = 1 agent.
    value = scenarios["value driver"]
    assert value.agents == ("V",)
    assert value.fcr_change == pytest.approx(17.5)  # 90% - 72.5%
    assert value.aht_change == pytest.approx(225.0)  # 600 - 375 s
    # Cost per handled second = 6000 / 360000; 1000 contacts × 225 s × that = 3750.
    assert value.handling_cost_change == pytest.approx(3_750.0)
    # 1000 contacts × 0.175 × 20 points / 100 = 35 more contacts followed by an order.
    assert value.orders_change == pytest.approx(35.0)
    assert value.revenue_change == pytest.approx(1_000 * 0.175 * 30.0)  # 5250
    cost = scenarios["cost center"]
    assert cost.agents == ("F",)
    assert cost.fcr_change == pytest.approx(-22.5)  # 50% - 72.5%
    assert cost.handling_cost_change == pytest.approx(1_000 * -135 * 6_000 / 360_000)  # -2250
    assert cost.orders_change == pytest.approx(-45.0)  # 1000 × -0.225 × 20 / 100
    assert "handle time: no measurable effect on ordering again, counted as zero" in cost.sentence


def test_what_would_change_counts_a_measured_handle_time_effect():
    scenarios = what_would_change(
        agent_scorecard(AGENTS, FOLLOW_UP), analysis(20.0, handle_verdict="raises"), totals()
    )
    # Handle effect 0.1 points per 5 min: +225 s = 3.75 min adds 1000 × 3.75 × 0.02 / 100.
    assert scenarios["value driver"].orders_change == pytest.approx(35.0 + 0.75)


def test_scenarios_need_two_ranked_agents():
    card = agent_scorecard(AGENTS.iloc[[0, 4]], FOLLOW_UP)
    assert what_would_change(card, analysis(20.0), totals()) is None
    assert "Too few agents" in scenario_sentences(None, "neither")[0]


def test_scenario_sentences_show_the_other_scorecard_first():
    scenarios = what_would_change(agent_scorecard(AGENTS, FOLLOW_UP), analysis(20.0), totals())
    assert scenario_sentences(scenarios, "cost center")[0].startswith("**Run as a value driver")
    assert len(scenario_sentences(scenarios, "cost center")) == 1
    assert scenario_sentences(scenarios, "value driver")[0].startswith("**Run as a cost center")
    assert len(scenario_sentences(scenarios, "neither")) == 2


def test_agent_table():
    table = agent_table(rank_agents(agent_scorecard(AGENTS, FOLLOW_UP), "fcr"))
    assert list(table["Agent"]) == ["F", "Q", "M", "V"]
    assert list(table["Handle time"]) == ["4m 00s", "5m 00s", "6m 00s", "10m 00s"]

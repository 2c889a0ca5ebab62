"""Playbook rule, names, value shares and migration on hand-made segments."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.domain import segment_playbook as pb


def profiles(
    rows: dict[int, dict[str, float]], differences: dict[int, dict[str, float]] | None = None
) -> pd.DataFrame:
    """Long profile frame from {segment: {feature: mean}} (segment 0 = all customers)."""
    differences = differences or {}
    features = sorted({f for means in [*rows.values(), *differences.values()] for f in means})
    return pd.DataFrame(
        [
            {
                "segment": s,
                "feature": f,
                "customers": 100,
                "mean": rows[s].get(f),
                "difference": differences.get(s, {}).get(f, 0.0),
            }
            for s in rows
            for f in features
        ]
    )


def seg(
    value: float,
    active: float,
    service: float,
    contribution: float | None = None,
    tenure: float = 500.0,
) -> dict[str, float]:
    return {
        "contribution_12m": value if contribution is None else contribution,
        "active_share": active,
        "service_cost_per_year": service,
        "tenure_days": tenure,
    }


# Portfolio: value 50 per customer, 60% active, service cost 10 per customer-year.
PORTFOLIO = seg(50.0, 0.60, 10.0)
HAND_MADE = profiles(
    {
        0: PORTFOLIO,
        1: seg(200.0, 0.90, 12.0),  # valuable and loyal
        2: seg(120.0, 0.30, 8.0),  # valuable, slipping away
        3: seg(20.0, 0.70, 30.0),  # small, costly (30 >= 1.5 x 10)
        4: seg(30.0, 0.80, 9.0),  # small, loyal, cheap
        5: seg(-15.0, 0.40, 25.0),  # loses money
        6: seg(5.0, 0.20, 2.0),  # small, lapsed, cheap
        7: seg(50.0, 0.60, 14.9),  # exactly average value and loyalty: counts as high
    }
)


def test_playbook_rule_on_hand_made_segments():
    plan = pb.playbook(HAND_MADE, "contribution_12m").set_index("segment")
    assert plan.loc[1, "treatment"] == "Invest to grow"
    assert plan.loc[2, "treatment"] == "Retain"
    assert plan.loc[3, "treatment"] == "Serve at lower cost"
    assert plan.loc[4, "treatment"] == "Develop"
    assert plan.loc[5, "treatment"] == "Reconsider"
    assert plan.loc[5, "rule"] == 3  # loss-making comes before "costly"
    assert plan.loc[6, "treatment"] == "Reconsider"
    assert plan.loc[6, "rule"] == 6
    assert plan.loc[7, "treatment"] == "Invest to grow"  # >= is inclusive
    assert plan.loc[3, "why"] == pb.PLAYBOOK_RULES[3][1]
    assert set(plan["action"]) <= set(pb.TREATMENTS.values())


def test_costly_threshold_is_one_and_a_half_times_the_portfolio():
    below = profiles({0: PORTFOLIO, 1: seg(20.0, 0.30, 14.9)})
    at = profiles({0: PORTFOLIO, 1: seg(20.0, 0.30, 15.0)})
    assert pb.playbook(below, "contribution_12m")["treatment"].item() == "Reconsider"
    assert pb.playbook(at, "contribution_12m")["treatment"].item() == "Serve at lower cost"


def test_playbook_attaches_value_at_stake():
    values = pd.DataFrame({"segment": [1, 2], "value_at_stake": [1000.0, 250.0]})
    plan = pb.playbook(
        profiles({0: PORTFOLIO, 1: seg(90, 0.9, 5), 2: seg(10, 0.9, 5)}), "contribution_12m", values
    )
    assert plan.set_index("segment")["value_at_stake"].to_dict() == {1: 1000.0, 2: 250.0}


def test_lifetime_value_ranks_when_it_is_the_value_measure():
    rows = {
        0: {**PORTFOLIO, "lifetime_value": 300.0},
        1: {**seg(10.0, 0.9, 5.0), "lifetime_value": 900.0},
    }
    plan = pb.playbook(profiles(rows), "lifetime_value")
    assert plan["treatment"].item() == "Invest to grow"  # 900 >= 300, though 10 < 50


def test_names_follow_the_profile_and_are_unique():
    names = pb.generated_names(HAND_MADE, "contribution_12m")
    # Nothing in the differences sets segments 1 and 7 (or 3 and 5) apart: numbered.
    assert names == {
        1: "High-value loyalists",
        2: "Big spenders at risk",
        3: "Costly to serve",
        4: "Loyal small spenders",
        5: "Costly to serve (2)",  # loses money but inactive: "costly" comes first
        6: "Lapsed customers",  # 0.20 <= half of 0.60
        7: "High-value loyalists (2)",
    }


def test_shared_names_get_the_trait_that_sets_each_apart():
    rows = {0: PORTFOLIO, 1: seg(200.0, 0.9, 12.0), 2: seg(150.0, 0.8, 12.0)}
    differences = {
        1: {"referrals_made": 2.3, "contacts_per_year": 0.2},
        2: {"referrals_made": -0.1, "contacts_per_year": 2.1},
    }
    names = pb.generated_names(profiles(rows, differences), "contribution_12m")
    assert names == {
        1: "High-value loyalists, referrers",
        2: "High-value loyalists, heavy service users",
    }


def test_unhappy_and_new_segments_are_named_so():
    rows = {0: PORTFOLIO, 1: seg(20.0, 0.5, 9.0), 2: seg(20.0, 0.5, 9.0, tenure=200.0)}
    differences = {1: {"latest_nps": -1.4}}
    names = pb.generated_names(profiles(rows, differences), "contribution_12m")
    assert names == {1: "Unhappy customers", 2: "Newcomers"}  # 200 <= 0.5 x 500


def test_value_shares_show_a_small_segment_holding_most_value():
    summary = pd.DataFrame(
        {
            "segment": [1, 2, 3],
            "customers": [10, 30, 60],
            "revenue": [700.0, 200.0, 100.0],
            "gross_margin": [300.0, 80.0, 20.0],
            "profit": [250.0, 50.0, -100.0],
            "lifetime_value": [float("nan")] * 3,
        }
    )
    shares = pb.value_shares(summary).set_index("segment")
    assert shares.loc[1, "customers_share"] == pytest.approx(10.0)  # 10 / 100
    assert shares.loc[1, "revenue_share"] == pytest.approx(70.0)  # 700 / 1000
    assert shares.loc[1, "profit_share"] == pytest.approx(125.0)  # 250 / 200: above 100%
    assert shares.loc[3, "profit_share"] == pytest.approx(-50.0)  # -100 / 200
    assert shares["lifetime_value_share"].isna().all()  # no value engine: undefined


def test_migration_matrix_rows_sum_to_100():
    transitions = pd.DataFrame(
        {
            "from_segment": [0, 1, 1, 2, 2],
            "to_segment": [1, 1, 2, 2, 1],
            "customers": [5, 30, 10, 45, 5],
        }
    )
    matrix = pb.migration_matrix(transitions)
    assert matrix.loc[1, 1] == pytest.approx(75.0)  # 30 of 40
    assert matrix.loc[2, 1] == pytest.approx(10.0)  # 5 of 50
    assert matrix.loc[0, 2] == 0.0
    assert (matrix.sum(axis=1).round(9) == 100.0).all()
    assert pb.stayed_share(transitions) == pytest.approx(100 * 75 / 90)  # new ones left out

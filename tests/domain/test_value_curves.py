"""Value curves and win/loss figures against hand-computed values."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.domain import value_curves as vc


def ratings() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "group": ["A", "A", "B", "B"],
            "attribute": ["price", "service", "price", "service"],
            "customers": [10, 5, 4, 4],
            "importance": [8.0, 3.0, 5.0, 6.0],
            "performance": [6.0, 7.5, 5.5, 6.0],
            "group_raters": [10, 10, 4, 4],
            "group_margin_12m": [1000.0, 1000.0, 200.0, 200.0],
        }
    )


def test_gap_and_status():
    curves = vc.value_curves(ratings()).set_index(["group", "attribute"])
    assert curves.loc[("A", "price"), "gap"] == 2.0  # 8 - 6
    assert curves.loc[("A", "price"), "status"] == "under-served"
    assert curves.loc[("A", "service"), "gap"] == -4.5  # 3 - 7.5
    assert curves.loc[("A", "service"), "status"] == "over-served"
    assert curves.loc[("B", "price"), "status"] == "in line"  # -0.5 is within ±1


def test_ranked_gaps_by_value_at_stake():
    gaps = vc.ranked_gaps(vc.value_curves(ratings()))
    # A/price: all 10 raters -> 1000 × 10/10 = 1000; A/service: 1000 × 5/10 = 500.
    assert list(zip(gaps["group"], gaps["attribute"], strict=True)) == [
        ("A", "price"),
        ("A", "service"),
    ]
    assert list(gaps["value_at_stake"]) == [1000.0, 500.0]


def test_no_gaps_gives_empty_frame():
    flat = ratings().assign(performance=lambda f: f["importance"])
    assert vc.ranked_gaps(vc.value_curves(flat)).empty


def deals() -> pd.DataFrame:
    m1, m2 = pd.Timestamp("2024-04-01"), pd.Timestamp("2024-05-01")
    return pd.DataFrame(
        [
            (m1, "North", "won", None, 3, 300.0),
            (m1, "North", "lost", "price", 1, 50.0),
            (m2, "North", "lost", "price", 2, 80.0),
            (m2, "North", "lost", None, 1, 10.0),
            (m2, "Prospects", "open", None, 4, 400.0),
        ],
        columns=["month", "group", "outcome", "loss_reason", "opportunities", "amount"],
    )


def test_win_loss_summary_excludes_open():
    summary = vc.win_loss_summary(deals())
    assert (summary.won, summary.lost, summary.open) == (3, 4, 4)
    assert summary.win_rate == pytest.approx(3 / 7)
    assert summary.lost_amount == pytest.approx(140.0)


def test_win_rate_by_month_leaves_undecided_missing():
    rates = vc.win_rate_by(deals(), ["month", "group"]).set_index(["month", "group"])
    assert rates.loc[(pd.Timestamp("2024-04-01"), "North"), "win_rate"] == pytest.approx(0.75)
    assert rates.loc[(pd.Timestamp("2024-05-01"), "North"), "win_rate"] == 0
    assert "Prospects" not in rates.index.get_level_values("group")


def test_loss_reasons_shares():
    reasons = vc.loss_reasons(deals()).set_index("loss_reason")
    assert reasons.loc["price", "opportunities"] == 3
    assert reasons.loc["price", "share"] == pytest.approx(0.75)
    assert reasons.loc["not recorded", "share"] == pytest.approx(0.25)

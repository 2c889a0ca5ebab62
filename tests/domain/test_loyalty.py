"""Loyalty index, satisfaction, quadrants and explained share, against values worked by hand.

The portfolio below is as of 30 June 2026. Default settings: weights repeat 0.25, still active
0.30, spend trend 0.15, active tenure 0.15, referrals 0.15; full marks at 4 repeat purchase
days, 1095 days of active tenure, 2 referrals; recency 0 after 365 days; loyal >= 50,
satisfied >= 70.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from dashboard.domain import loyalty
from dashboard.domain.loyalty import (
    LOST,
    LOYAL_ADVOCATES,
    LOYAL_BUT_UNHAPPY,
    NO_SURVEY,
    SATISFIED_BUT_LEAVING,
)
from dashboard.scope import Scope
from dashboard.services import exports

AS_OF = date(2026, 6, 30)
NaT = pd.NaT
T = pd.Timestamp


def portfolio() -> pd.DataFrame:
    """Six customers, one per case the page must get right."""
    rows = [
        # id, acquired, order_days, first, last, revenue, rev_period, last_12m, prior_12m,
        # referrals, csat, nps, p_alive, clv
        # A: long-standing, growing, referring, delighted.
        (
            1,
            "A",
            T("2023-01-01"),
            5,
            T("2023-01-10"),
            T("2026-06-20"),
            900.0,
            100.0,
            300.0,
            200.0,
            3,
            5,
            10,
            None,
            None,
        ),
        # B: a single order, no survey, younger than 24 months.
        (
            2,
            "B",
            T("2026-03-01"),
            1,
            T("2026-03-01"),
            T("2026-03-01"),
            50.0,
            0.0,
            50.0,
            0.0,
            0,
            None,
            None,
            None,
            None,
        ),
        # C: no order at all, an NPS answer of 9 (promoter) only.
        (3, "C", T("2026-06-01"), 0, NaT, NaT, 0.0, 0.0, 0.0, 0.0, 0, None, 9, None, None),
        # D: stopped buying 16 months ago; CSAT 4 but NPS 6.
        (
            4,
            "D",
            T("2024-01-01"),
            3,
            T("2024-01-05"),
            T("2025-03-01"),
            400.0,
            0.0,
            0.0,
            400.0,
            1,
            4,
            6,
            None,
            None,
        ),
        # E: loyal buyer with a stored P(alive) and lifetime value, unhappy (CSAT 2).
        (
            5,
            "E",
            T("2022-06-30"),
            9,
            T("2022-07-01"),
            T("2026-06-30"),
            3000.0,
            300.0,
            1000.0,
            1000.0,
            0,
            2,
            None,
            0.8,
            500.0,
        ),
        # F: a passive (NPS 7, exactly the satisfied cut) whose last order is a year old.
        (
            6,
            "F",
            T("2025-01-01"),
            2,
            T("2025-01-02"),
            T("2025-07-01"),
            200.0,
            0.0,
            120.0,
            80.0,
            0,
            None,
            7,
            None,
            None,
        ),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "customer_id",
            "name",
            "acquired_at",
            "order_days",
            "first_order",
            "last_order",
            "revenue",
            "revenue_period",
            "revenue_last_12m",
            "revenue_prior_12m",
            "referrals_made",
            "latest_csat",
            "latest_nps",
            "probability_alive",
            "clv",
        ],
    )
    frame["region"], frame["acquisition_channel"] = "North", "direct"
    for column in ("latest_csat", "latest_nps"):
        frame[column] = pd.array(frame[column], dtype="Float64")
    for column in ("probability_alive", "clv"):
        frame[column] = frame[column].astype(float)
    return frame


@pytest.fixture
def scored() -> pd.DataFrame:
    return loyalty.customer_loyalty(portfolio(), AS_OF).set_index("customer_id")


def test_spend_trend_is_undefined_under_24_months_or_without_earlier_spend():
    growth = loyalty.spend_trend(portfolio(), AS_OF)
    assert growth[0] == pytest.approx(0.5)  # A: (300 - 200) / 200
    assert math.isnan(growth[1])  # B: acquired 121 days ago
    assert math.isnan(growth[2])  # C: acquired 29 days ago
    assert growth[3] == pytest.approx(-1.0)  # D: (0 - 400) / 400, 911 days of tenure
    assert growth[4] == pytest.approx(0.0)  # E: flat
    assert math.isnan(growth[5])  # F: 545 days of tenure < 730
    # Old enough but nothing spent in the earlier year: growth from zero is undefined.
    old_no_prior = portfolio().iloc[[3]].assign(revenue_prior_12m=0.0, revenue_last_12m=10.0)
    assert math.isnan(loyalty.spend_trend(old_no_prior, AS_OF).iloc[0])


def test_components_by_hand(scored):
    a, b, c, d, e, f = (scored.loc[i] for i in range(1, 7))
    # A: repeat (5-1)/4 = 1; active 1 - 10/365; spend 0.5 + 0.5/2 = 0.75; tenure 1257 days
    # (10 Jan 2023 - 20 Jun 2026) capped at 1; referrals 3/2 capped at 1.
    assert a["score_repeat"] == 1.0
    assert a["score_active"] == pytest.approx(1 - 10 / 365)
    assert a["score_spend_trend"] == pytest.approx(0.75)
    assert a["score_tenure"] == 1.0 and a["score_referrals"] == 1.0
    assert a["active_source"] == "recency"
    # B: a single order is no repeat; 121 days since it; no tenure between orders.
    assert b["score_repeat"] == 0.0 and b["score_tenure"] == 0.0
    assert b["score_active"] == pytest.approx(1 - 121 / 365)
    assert math.isnan(b["score_spend_trend"])
    # C: no order at all scores zero everywhere it is defined.
    assert (c["score_repeat"], c["score_active"], c["score_tenure"]) == (0.0, 0.0, 0.0)
    # D: 486 days since the last order -> recency floored at 0; spend -100% -> 0;
    # 2 repeat days -> 0.5; 421 days of active tenure / 1095; 1 referral / 2.
    assert d["score_active"] == 0.0 and d["score_spend_trend"] == 0.0
    assert d["score_repeat"] == 0.5
    assert d["score_tenure"] == pytest.approx(421 / 1095)
    assert d["score_referrals"] == 0.5
    # E: P(alive) 0.8 wins over recency (which would be 1: ordered on the day).
    assert e["score_active"] == pytest.approx(0.8) and e["active_source"] == "P(alive)"
    assert e["score_spend_trend"] == pytest.approx(0.5)
    # F: 364 days since the last order -> 1/365; 180 days of active tenure.
    assert f["score_active"] == pytest.approx(1 / 365)
    assert f["score_tenure"] == pytest.approx(180 / 1095)


def test_loyalty_index_by_hand(scored):
    index = scored["loyalty_index"]
    # A: 100 × (0.25·1 + 0.30·(355/365) + 0.15·0.75 + 0.15·1 + 0.15·1) = 95.428
    assert index[1] == pytest.approx(100 * (0.25 + 0.30 * 355 / 365 + 0.1125 + 0.15 + 0.15))
    # B: spend trend undefined -> its weight goes: 100 × 0.30·(244/365) / 0.85 = 23.594
    assert index[2] == pytest.approx(100 * 0.30 * (244 / 365) / 0.85)
    assert index[3] == 0.0
    # D: 100 × (0.25·0.5 + 0.15·421/1095 + 0.15·0.5) = 25.767
    assert index[4] == pytest.approx(100 * (0.125 + 0.15 * 421 / 1095 + 0.075))
    # E: 100 × (0.25 + 0.30·0.8 + 0.15·0.5 + 0.15·1 + 0) = 71.5
    assert index[5] == pytest.approx(71.5)
    # F: 100 × (0.25·0.25 + 0.30/365 + 0.15·180/1095) / 0.85 = 10.350
    assert index[6] == pytest.approx(100 * (0.0625 + 0.3 / 365 + 0.15 * 180 / 1095) / 0.85)


def test_recency_replaces_p_alive_when_the_fit_does_not_apply():
    scored = loyalty.customer_loyalty(portfolio(), AS_OF, use_probability_alive=False)
    e = scored.set_index("customer_id").loc[5]
    # Ordered on 30 June: recency 1, so 100 × (0.25 + 0.30 + 0.075 + 0.15) = 77.5.
    assert e["active_source"] == "recency"
    assert e["loyalty_index"] == pytest.approx(77.5)


def test_p_alive_of_one_time_buyers_is_ignored():
    # BG/NBD gives every one-time buyer P(alive) = 1; F's last order is 364 days old.
    frame = portfolio().assign(fit_repeat_days=[4.0, 0.0, 0.0, 2.0, 8.0, 0.0])
    frame.loc[frame["customer_id"] == 6, "probability_alive"] = 1.0
    frame.loc[frame["customer_id"] == 1, "probability_alive"] = 0.5
    scored = loyalty.customer_loyalty(frame, AS_OF).set_index("customer_id")
    assert scored.loc[6, "active_source"] == "recency"
    assert scored.loc[6, "score_active"] == pytest.approx(1 / 365)
    assert scored.loc[1, "active_source"] == "P(alive)"  # A had repeat purchases in the fit
    assert scored.loc[1, "score_active"] == pytest.approx(0.5)
    assert loyalty.activity_sources(scored) == {"P(alive)": 2, "recency": 4}


def test_satisfaction_score_and_nps_groups(scored):
    # A: CSAT 5 -> 100, NPS 10 -> 100; C: NPS 9 -> 90; D: (75 + 60) / 2; E: CSAT 2 -> 25;
    # F: NPS 7 -> 70; B: no answer.
    assert scored["satisfaction"].to_dict() == pytest.approx(
        {1: 100.0, 2: math.nan, 3: 90.0, 4: 67.5, 5: 25.0, 6: 70.0}, nan_ok=True
    )
    groups = loyalty.nps_group(pd.Series(pd.array([0, 6, 7, 8, 9, 10, None], dtype="Float64")))
    named = [g if isinstance(g, str) else "-" for g in groups]
    assert named == ["Detractor", "Detractor", "Passive", "Passive", "Promoter", "Promoter", "-"]


def test_quadrants(scored):
    assert scored["quadrant"].to_dict() == {
        1: LOYAL_ADVOCATES,
        2: NO_SURVEY,  # no answer: not placed
        3: SATISFIED_BUT_LEAVING,  # satisfied (90), index 0
        4: LOST,  # 67.5 < 70 although CSAT 4 is top-two-box
        5: LOYAL_BUT_UNHAPPY,  # 71.5 >= 50, satisfaction 25
        6: SATISFIED_BUT_LEAVING,  # exactly 70 counts as satisfied
    }
    # The cuts are inclusive on both axes.
    at_cut = loyalty.quadrant(pd.Series([50.0, 49.99]), pd.Series([70.0, 69.99]))
    assert list(at_cut) == [LOYAL_ADVOCATES, LOST]


def test_quadrant_summary_by_hand(scored):
    summary = loyalty.quadrant_summary(scored.reset_index()).set_index("quadrant")
    assert list(summary.index) == [
        LOYAL_ADVOCATES,
        SATISFIED_BUT_LEAVING,
        LOYAL_BUT_UNHAPPY,
        LOST,
        NO_SURVEY,
    ]
    assert summary["customers"].tolist() == [1, 2, 1, 1, 1]
    assert summary["share"].sum() == pytest.approx(100.0)
    assert summary.loc[SATISFIED_BUT_LEAVING, "share"] == pytest.approx(100 * 2 / 6)
    assert summary.loc[SATISFIED_BUT_LEAVING, "revenue_last_12m"] == pytest.approx(0 + 120)
    assert summary.loc[LOYAL_BUT_UNHAPPY, "revenue_period"] == pytest.approx(300.0)
    # Lifetime value only where a fit gave one: E's 500; NaN elsewhere, not 0.
    assert summary.loc[LOYAL_BUT_UNHAPPY, "clv"] == pytest.approx(500.0)
    assert math.isnan(summary.loc[LOYAL_ADVOCATES, "clv"])
    # NPS of latest answers: satisfied but leaving has a promoter (9) and a passive (7):
    # (1 - 0) / 2 = +50, the passive in the base only. Lost: one detractor (6) -> -100.
    assert summary.loc[SATISFIED_BUT_LEAVING, "nps"] == pytest.approx(50.0)
    assert summary.loc[LOST, "nps"] == pytest.approx(-100.0)
    assert summary.loc[LOYAL_ADVOCATES, "nps"] == pytest.approx(100.0)
    assert math.isnan(summary.loc[LOYAL_BUT_UNHAPPY, "nps"])  # no NPS answer: undefined
    # CSAT top-two-box of latest answers: D's 4 -> 100%; E's 2 -> 0%; none in C, F.
    assert summary.loc[LOST, "csat"] == 100.0 and summary.loc[LOYAL_BUT_UNHAPPY, "csat"] == 0.0
    assert math.isnan(summary.loc[SATISFIED_BUT_LEAVING, "csat"])
    assert summary.loc[LOYAL_BUT_UNHAPPY, "mean_loyalty"] == pytest.approx(71.5)


def test_quadrant_summary_of_nobody_is_defined_and_empty():
    nobody = loyalty.customer_loyalty(portfolio().iloc[0:0], AS_OF)
    summary = loyalty.quadrant_summary(nobody)
    assert summary["customers"].tolist() == [0, 0, 0, 0, 0]
    assert summary["nps"].isna().all() and summary["share"].isna().all()


def test_revenue_at_risk(scored):
    risk = loyalty.revenue_at_risk(scored.reset_index())
    # C (0) + F (120) of 300 + 50 + 0 + 0 + 1000 + 120 = 1470 in the last 12 months.
    assert risk.customers == 2
    assert risk.revenue_last_12m == pytest.approx(120.0)
    assert risk.share_of_revenue == pytest.approx(100 * 120 / 1470)
    assert risk.clv is None  # neither has a lifetime value


def test_satisfaction_explains_by_hand():
    frame = pd.DataFrame(
        {
            "satisfaction": [0.0, 25, 50, 75, 100, np.nan],
            "loyalty_index": [10.0, 20, 20, 40, 60, 99],
        }
    )
    result = loyalty.satisfaction_explains(frame)
    # Without the unanswered row: deviations x (-50,-25,0,25,50), y (-20,-10,-10,10,30);
    # Σxy = 3000, Σx² = 6250, Σy² = 1600 -> r = 3000 / √(6250·1600) = 0.94868, R² = 0.9,
    # slope 3000 / 6250 = 0.48 loyalty points per satisfaction point.
    assert result.customers == 5
    assert result.r_squared == pytest.approx(0.9)
    assert result.slope == pytest.approx(0.48)
    # Fisher: atanh(0.94868) = 1.81845 ± 1.95996/√2 -> r in [0.40744, 0.99671].
    assert result.r_squared_low == pytest.approx(0.40744**2, rel=1e-4)
    assert result.r_squared_high == pytest.approx(0.99671**2, rel=1e-4)
    # Spearman: ranks y (1, 2.5, 2.5, 4, 5) -> 9.5 / √(10·9.5) = 0.97468;
    # interval with SE √(1.06/2): [0.63598, 0.99852].
    assert result.spearman == pytest.approx(9.5 / math.sqrt(95))
    assert (result.spearman_low, result.spearman_high) == pytest.approx(
        (0.63598, 0.99852), abs=1e-4
    )
    assert result.sentence().startswith("Satisfaction explains about 90% of the variation")


def test_satisfaction_explains_is_undefined_when_it_cannot_be_computed():
    three = pd.DataFrame({"satisfaction": [0.0, 50, 100], "loyalty_index": [1.0, 2, 3]})
    assert not loyalty.satisfaction_explains(three).is_defined
    assert "Too few customers" in loyalty.satisfaction_explains(three).sentence()
    flat = pd.DataFrame({"satisfaction": [70.0] * 5, "loyalty_index": [1.0, 2, 3, 4, 5]})
    assert loyalty.satisfaction_explains(flat).r_squared is None
    # A perfect line does not break Fisher's z (atanh(1) is infinite).
    line = pd.DataFrame({"satisfaction": [0.0, 10, 20, 30], "loyalty_index": [0.0, 1, 2, 3]})
    assert loyalty.satisfaction_explains(line).r_squared == pytest.approx(1.0)


def test_density_grid_counts_every_answered_customer_once(scored):
    grid = loyalty.density_grid(scored.reset_index())
    assert len(grid) == 20 * 10  # 5-point loyalty × 10-point satisfaction cells
    assert grid["customers"].sum() == 5  # B has no answer
    cell = grid.set_index(["loyalty", "satisfaction"])["customers"]
    assert cell[(95.0, 90.0)] == 1  # A: 95.4, 100 (the top cell includes 100)
    assert cell[(0.0, 90.0)] == 1  # C: 0, 90
    assert cell[(10.0, 70.0)] == 1  # F: 10.35, exactly 70 -> the cell above the cut
    assert cell[(25.0, 60.0)] == 1  # D: 25.8, 67.5


def test_scatter_points_are_nudged_up_without_crossing_the_cut(scored):
    points = loyalty.scatter_points(scored.reset_index(), random_state=1)
    assert len(points) == 5
    nudge = points["satisfaction_shown"] - points["satisfaction"]
    assert ((nudge >= 0) & (nudge < 2)).all()
    again = loyalty.scatter_points(scored.reset_index(), random_state=1)
    assert points["satisfaction_shown"].tolist() == again["satisfaction_shown"].tolist()


def test_action_list_is_the_satisfied_leavers_most_valuable_first(scored):
    action = loyalty.satisfied_but_leaving(scored.reset_index())
    # No lifetime value among them: by revenue over the last 12 months, F (120) then C (0).
    assert action["customer_id"].tolist() == [6, 3]
    assert "clv" not in action.columns
    with_value = scored.reset_index()
    with_value.loc[with_value["customer_id"] == 3, "clv"] = 42.0
    ranked = loyalty.satisfied_but_leaving(with_value)
    assert ranked["customer_id"].tolist() == [3, 6]  # C's 42 of value beats F's none
    csv = (
        exports.csv_bytes(action, loyalty.ACTION_LIST_COLUMNS, float_format="%.2f")
        .decode("utf-8")
        .splitlines()
    )
    assert csv[0].startswith("Customer ID,Name,Region")
    assert "Revenue last 12 months" in csv[0]
    assert len(csv) == 3 and csv[1].startswith("6,F,North")


def test_trend_filters_widen_short_periods_to_twelve_months():
    quarter = Scope(date(2026, 4, 1), date(2026, 6, 30), regions=("North",))
    widened = loyalty.trend_filters(quarter)
    assert (widened.start, widened.end) == (date(2025, 7, 1), date(2026, 6, 30))
    assert widened.regions == ("North",)
    long = Scope(date(2024, 1, 15), date(2026, 6, 30))
    assert loyalty.trend_filters(long) == long


def test_monthly_trends_fill_months_and_leave_empty_ones_undefined():
    nps_monthly = pd.DataFrame(
        {
            "month": [T("2026-04-01"), T("2026-06-01")],
            "nps_answers": [4, 3],
            "promoters": [2, 0],
            "detractors": [1, 3],
        }
    )
    repeat_monthly = pd.DataFrame({"month": [T("2026-05-01")], "buyers": [8], "repeat_buyers": [6]})
    trend = loyalty.monthly_trends(
        nps_monthly, repeat_monthly, date(2026, 4, 15), date(2026, 6, 30)
    ).set_index("month")
    assert list(trend.index) == [T("2026-04-01"), T("2026-05-01"), T("2026-06-01")]
    assert trend.loc["2026-04-01", "nps"] == pytest.approx(25.0)  # (2 - 1) / 4
    assert math.isnan(trend.loc["2026-05-01", "nps"])  # no answers: undefined, not 0
    assert trend.loc["2026-05-01", "nps_answers"] == 0
    assert trend.loc["2026-06-01", "nps"] == pytest.approx(-100.0)  # all detractors
    assert trend.loc["2026-05-01", "repeat_purchase_rate"] == pytest.approx(75.0)  # 6 / 8
    assert math.isnan(trend.loc["2026-04-01", "repeat_purchase_rate"])
    empty = loyalty.monthly_trends(
        nps_monthly.iloc[0:0], repeat_monthly.iloc[0:0], date(2026, 4, 1), date(2026, 5, 31)
    )
    assert len(empty) == 2 and empty["nps"].isna().all()


def test_fit_applies_within_a_month_of_the_period_end():
    assert not loyalty.fit_applies(None, AS_OF)
    assert loyalty.fit_applies(date(2026, 5, 30), AS_OF)  # 31 days
    assert not loyalty.fit_applies(date(2026, 5, 29), AS_OF)  # 32 days
    assert loyalty.fit_applies(date(2026, 7, 31), AS_OF)


def test_settings_and_formula_table():
    table = loyalty.component_table()
    assert table["Weight"].tolist() == ["25%", "30%", "15%", "15%", "15%"]
    assert "Recency" in table.loc[1, "Score from 0 to 1"]
    with_fit = loyalty.component_table(uses_probability_alive=True)
    assert "P(alive)" in with_fit.loc[1, "Score from 0 to 1"]
    # Weights need not sum to one: they are shown as shares.
    doubled = loyalty.LoyaltySettings(
        weight_repeat=0.5,
        weight_active=0.6,
        weight_spend_trend=0.3,
        weight_tenure=0.3,
        weight_referrals=0.3,
    )
    assert loyalty.component_table(doubled)["Weight"].tolist() == table["Weight"].tolist()
    with pytest.raises(ValueError, match="non-negative"):
        loyalty.LoyaltySettings(weight_repeat=-0.1)
    with pytest.raises(ValueError, match="positive"):
        loyalty.LoyaltySettings(referrals_full=0)

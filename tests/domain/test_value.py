"""Profit, whale curve, equity, LTV/CAC, payback and keep-vs-win against hand-computed figures.

The hand-built portfolio (period 1 Apr - 30 Jun 2024; money in currency units):

==  ======  ========  ==========  ===  =====  =======  ======  ========  ===========
id  region  channel   acquired    CAC  GM     service  profit  GM in     service in
                                       to     to date  to      period    period
                                       date            date
==  ======  ========  ==========  ===  =====  =======  ======  ========  ===========
1   North   search    2024-01-10  100  280    10       170     200       10
2   North   referral  2024-03-05  20   10     20       -30     -10       20
3   South   search    2024-06-01  120  200    3        77      200       0
4   South   partner   2024-05-01  0    50     0        50      50        0
5   West    partner   2024-02-01  60   0      0        -60     0         0
==  ======  ========  ==========  ===  =====  =======  ======  ========  ===========

Customer 4 has one order and cost nothing to win; customer 5 never ordered.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from dashboard.domain import value
from dashboard.services import exports

PERIOD_START = date(2024, 4, 1)
PERIOD_END = date(2024, 6, 30)


def summary_frame() -> pd.DataFrame:
    rows = [
        # id, region, channel, acquired, cac, revenue, gm, sc, orders_p, contacts_p, gm_p, sc_p
        (1, "North", "search", "2024-01-10", 100.0, 600.0, 280.0, 10.0, 2, 1, 200.0, 10.0),
        (2, "North", "referral", "2024-03-05", 20.0, 130.0, 10.0, 20.0, 1, 2, -10.0, 20.0),
        (3, "South", "search", "2024-06-01", 120.0, 400.0, 200.0, 3.0, 1, 0, 200.0, 0.0),
        (4, "South", "partner", "2024-05-01", 0.0, 90.0, 50.0, 0.0, 1, 0, 50.0, 0.0),
        (5, "West", "partner", "2024-02-01", 60.0, 0.0, 0.0, 0.0, 0, 0, 0.0, 0.0),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "customer_id",
            "region",
            "acquisition_channel",
            "acquired_at",
            "acquisition_cost",
            "revenue",
            "gross_margin",
            "service_cost",
            "orders_period",
            "contacts_period",
            "gross_margin_period",
            "service_cost_period",
        ],
    )
    frame["name"] = "Customer " + frame["customer_id"].astype(str)
    frame["acquired_at"] = pd.to_datetime(frame["acquired_at"])
    return frame


# --- profit per customer --------------------------------------------------------------


def test_profit_to_date_by_hand():
    profit = value.customer_profit(summary_frame()).set_index("customer_id")
    # 280 - 10 - 100, 10 - 20 - 20, 200 - 3 - 120, 50 - 0 - 0, 0 - 0 - 60
    assert profit["profit"].tolist() == [170.0, -30.0, 77.0, 50.0, -60.0]
    totals = value.profit_totals(value.profit_sums(profit))
    assert totals.profit == pytest.approx(207.0)
    assert totals.profit_per_customer == pytest.approx(207.0 / 5)
    assert (totals.losing_customers, totals.losing_share) == (2, 0.4)
    assert totals.acquisition_cost == pytest.approx(300.0)


def test_profit_in_period_counts_each_cost_when_incurred():
    profit = value.customer_profit(
        summary_frame(), basis="in_period", period_start=PERIOD_START
    ).set_index("customer_id")
    # Customer 5 did nothing in the period: left out. Only 3 and 4 were acquired in it.
    assert list(profit.index) == [1, 2, 3, 4]
    assert profit["acquisition_cost"].tolist() == [0.0, 0.0, 120.0, 0.0]
    # 200 - 10, -10 - 20, 200 - 0 - 120, 50
    assert profit["profit"].tolist() == [190.0, -30.0, 80.0, 50.0]


def test_in_period_needs_the_period_start():
    with pytest.raises(ValueError, match="period_start"):
        value.customer_profit(summary_frame(), basis="in_period")
    with pytest.raises(ValueError, match="basis"):
        value.customer_profit(summary_frame(), basis="forever")


def test_missing_costs_count_as_zero():
    summary = summary_frame()
    summary["service_cost"] = np.nan
    profit = value.customer_profit(summary)
    assert profit["service_cost"].sum() == 0
    assert profit.loc[0, "profit"] == pytest.approx(180.0)  # 280 - 0 - 100


def test_profit_by_region_keeps_an_empty_group():
    profit = value.customer_profit(summary_frame())
    sums = value.profit_sums(profit, ["region", "acquisition_channel"])
    table = value.profit_by_group(sums, "region", groups=["East", "North", "South", "West"])
    rows = table.set_index("region")
    # North: 170 - 30 = 140 over 2; South: 77 + 50 = 127 over 2; West: -60.
    assert rows.loc["North", "profit_per_customer"] == pytest.approx(70.0)
    assert rows.loc["South", "profit_per_customer"] == pytest.approx(63.5)
    assert rows.loc["West", "losing_share"] == 1.0
    assert rows.loc["North", "profit_share"] == pytest.approx(140 / 207)
    # East has nobody in scope: zero customers, undefined per-customer figures, listed last.
    assert rows.loc["East", "customers"] == 0
    assert np.isnan(rows.loc["East", "profit_per_customer"])
    assert table["region"].tolist() == ["North", "South", "West", "East"]


def test_loss_makers_worst_first():
    losing = value.loss_makers(value.customer_profit(summary_frame()))
    assert losing["customer_id"].tolist() == [5, 2]
    csv = exports.csv_bytes(losing).decode()
    assert csv.splitlines()[0].startswith("customer_id,name,region")
    assert "2024-02-01" in csv


def test_cost_data_gaps():
    assert value.cost_data_gaps(summary_frame()) == []
    bare = summary_frame().assign(
        gross_margin=lambda f: f["revenue"], service_cost=0.0, acquisition_cost=0.0
    )
    assert value.cost_data_gaps(bare) == [
        "no order cost is recorded, so gross margin equals revenue",
        "no service cost is recorded",
        "no acquisition cost is recorded",
    ]


# --- whale curve ----------------------------------------------------------------------


def test_whale_curve_by_hand():
    curve = value.whale_curve(value.customer_profit(summary_frame())["profit"])
    # Ranked: 170, 77, 50, -30, -60; cumulative 0, 170, 247, 297, 267, 207.
    assert curve.points["cumulative_profit"].tolist() == [0, 170, 247, 297, 267, 207]
    assert curve.points["customer_share"].tolist() == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert curve.peak_profit == 297
    assert curve.peak_share == pytest.approx(297 / 207)  # 143.5 %: above 100 %
    assert curve.peak_customer_share == pytest.approx(0.6)
    assert curve.profit_destroyed == 90  # 30 + 60
    assert (curve.losing_customers, curve.losing_share) == (2, 0.4)
    assert curve.top_20_share == pytest.approx(170 / 207)
    # y(0.9) halfway between 267 (x 0.8) and 207 (x 1.0) = 237; the bottom 10 % lose 30.
    assert curve.bottom_10_loss_share == pytest.approx(30 / 207)


def test_whale_curve_without_losses_ends_at_its_peak():
    curve = value.whale_curve(pd.Series([10.0, 30.0, 0.0]))
    assert curve.peak_share == pytest.approx(1.0)
    assert curve.losing_customers == 0 and curve.profit_destroyed == 0
    assert curve.peak_customer_share == pytest.approx(2 / 3)


def test_whale_curve_of_a_losing_portfolio_has_no_shares():
    curve = value.whale_curve([-5.0, 10.0, -20.0])
    assert curve.total_profit == -15
    assert curve.peak_share is None and curve.top_20_share is None
    assert curve.points["profit_share"].isna().all()
    assert curve.peak_profit == 10


def test_whale_curve_is_downsampled_but_keeps_peak_and_end():
    rng = np.random.default_rng(7)
    profit = rng.normal(20, 50, 100_000)
    curve = value.whale_curve(profit, max_points=500)
    assert len(curve.points) <= 500
    exact = np.concatenate([[0], np.cumsum(np.sort(profit)[::-1])])
    assert curve.peak_profit == pytest.approx(exact.max())
    assert curve.points["cumulative_profit"].max() == pytest.approx(exact.max())
    assert curve.points["customer_share"].iloc[[0, -1]].tolist() == [0.0, 1.0]
    assert curve.points["cumulative_profit"].iloc[-1] == pytest.approx(profit.sum())
    assert curve.points["customer_share"].is_monotonic_increasing


def test_whale_curve_needs_a_customer():
    with pytest.raises(ValueError):
        value.whale_curve([])


# --- lifetime value, equity, LTV/CAC, keep vs win -------------------------------------


def scored_frame() -> pd.DataFrame:
    """Stored predictions: customer 2 silent for 60 weeks (not active), 5 never ordered."""
    return pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "clv": [300.0, 40.0, 150.0, 60.0],
            "probability_alive": [0.9, 0.2, 0.8, 0.7],
            "recency": [23.0, 1.0, 0.0, 0.0],
            "T": [24.6, 61.0, 4.3, 8.6],
        }
    )


def values_frame() -> pd.DataFrame:
    return value.lifetime_values(summary_frame(), scored_frame(), calibration_end=PERIOD_END)


#: The finest groups the store's value sums come in (dashboard.storage.portfolio_queries).
GROUPS = ["region", "acquisition_channel", "acquisition_quarter"]


def sums_frame(period_start: date = PERIOD_START, frame=None) -> pd.DataFrame:
    """:func:`value.value_sums` of the hand-built customers (with the stored predictions)."""
    frame = values_frame() if frame is None else frame
    return value.value_sums(frame, GROUPS, period_start=period_start)


def test_value_sums_by_hand():
    sums = sums_frame().set_index(GROUPS)
    # Five customers, five groups: no two share region, channel and quarter.
    assert len(sums) == 5
    search = sums.xs("search", level="acquisition_channel")
    assert search["ltv"].sum() == 930.0  # 580 + 350
    assert search["paid_back"].sum() == 2
    # Customer 5: a customer at the fit, never ordered: counted, not scored.
    west = sums.loc[("West", "partner", "2024 Q1")]
    assert (west["customers"], west["scored_customers"], west["clv"]) == (1, 0, 0.0)
    totals = sums.sum()
    assert (totals["won_in_period"], totals["acquisition_spend_in_period"]) == (2, 120.0)
    assert (totals["active_customers"], totals["active_clv"]) == (3, 510.0)  # 300+150+60
    assert (totals["new_customers"], totals["new_ltv"]) == (2, 460.0)  # 350 + 110


def test_lifetime_values_join():
    values = values_frame().set_index("customer_id")
    # Customer 5 was a customer at the fit but never ordered: CLV 0, not scored.
    assert values.loc[5, "clv"] == 0 and not values.loc[5, "scored"]
    assert values["active"].tolist() == [True, False, True, True, False]
    # LTV = gross margin to date + CLV: 280 + 300, 10 + 40, 200 + 150, 50 + 60, 0 + 0.
    assert values["ltv"].tolist() == [580.0, 50.0, 350.0, 110.0, 0.0]


def test_customer_acquired_after_the_fit_is_not_scored():
    values = value.lifetime_values(
        summary_frame(), scored_frame().iloc[:2], calibration_end=date(2024, 4, 30)
    )
    # 3 (June) and 4 (May) were acquired after the fit's data end: unknown, not zero.
    assert values["clv"].isna().tolist() == [False, False, True, True, False]


def test_customer_equity_and_split():
    values = sums_frame()
    equity = value.customer_equity(values)
    assert (equity.customers, equity.equity) == (4, 550.0)  # 300 + 40 + 150 + 60
    assert equity.active_customers == 3
    assert equity.expected_alive == pytest.approx(2.6)
    assert equity.mean_clv == pytest.approx(137.5)
    split = value.equity_by_group(
        values, "acquisition_channel", groups=["direct", "partner", "referral", "search"]
    )
    rows = split.set_index("acquisition_channel")
    assert rows.loc["search", "equity"] == 450 and rows.loc["search", "mean_clv"] == 225
    assert rows.loc["search", "equity_share"] == pytest.approx(450 / 550)
    assert rows.loc["direct", "customers"] == 0 and np.isnan(rows.loc["direct", "mean_clv"])


def test_acquisition_economics_by_channel():
    table = value.acquisition_economics(sums_frame(), "acquisition_channel", with_values=True)
    rows = table.set_index("acquisition_channel")
    search = rows.loc["search"]
    assert (search["customers"], search["mean_cac"]) == (2, 110.0)  # (100 + 120) / 2
    assert (search["won_in_period"], search["acquisition_spend_in_period"]) == (1, 120.0)
    assert search["paid_back_share"] == 1.0  # 270 >= 100 and 197 >= 120
    assert search["mean_ltv"] == pytest.approx(465.0)  # (580 + 350) / 2
    assert search["ltv_to_cac"] == pytest.approx(465 / 110)
    assert rows.loc["referral", "paid_back_share"] == 0.0  # 10 - 20 < 20
    assert rows.loc["referral", "ltv_to_cac"] == pytest.approx(2.5)  # 50 / 20
    partner = rows.loc["partner"]
    # 4 cost nothing and is paid back; 5 never ordered. The only scored one (4) has CAC 0.
    assert partner["paid_back_share"] == 0.5 and partner["mean_cac"] == 30.0
    assert partner["mean_ltv"] == 110.0 and np.isnan(partner["ltv_to_cac"])


def test_acquisition_economics_without_a_fit():
    table = value.acquisition_economics(
        sums_frame(frame=summary_frame()), "acquisition_channel", with_values=False
    )
    assert "ltv_to_cac" not in table.columns
    assert table["customers"].sum() == 5


def test_keep_versus_win():
    result = value.keep_versus_win(sums_frame())
    # Active: 1, 3, 4 -> (300 + 150 + 60) / 3 = 170.
    assert (result.active_customers, result.keep_value) == (3, pytest.approx(170.0))
    # New in the period: 3 and 4 -> LTV (350 + 110) / 2 = 230, CAC (120 + 0) / 2 = 60.
    assert result.new_customers == 2
    assert result.new_customer_ltv == pytest.approx(230.0)
    assert result.new_customer_cac == pytest.approx(60.0)
    assert result.new_customer_net == pytest.approx(170.0)
    assert result.keep_to_win_ratio == pytest.approx(1.0)


def test_keep_versus_win_without_new_customers():
    result = value.keep_versus_win(sums_frame(date(2024, 7, 1)))
    assert result.new_customers == 0 and result.new_customer_net is None
    assert result.keep_to_win_ratio is None


# --- payback --------------------------------------------------------------------------

JAN, MAR, JUN = (2024 * 12 + m - 1 for m in (1, 3, 6))


def payback_inputs() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers 1-3 of the table; month 0 = month of acquisition (a contact before counts in 0)."""
    facts = pd.DataFrame(
        [
            ("referral", MAR, 0, 20.0, 0.0),
            ("referral", MAR, 2, 0.0, 20.0),
            ("referral", MAR, 3, -10.0, 0.0),
            ("search", JAN, 0, 80.0, 0.0),
            ("search", JAN, 3, 50.0, 10.0),
            ("search", JAN, 5, 150.0, 0.0),
            ("search", JUN, 0, 200.0, 3.0),
        ],
        columns=[
            "acquisition_channel",
            "acquisition_month",
            "months_since",
            "gross_margin",
            "service_cost",
        ],
    )
    cohorts = pd.DataFrame(
        [("referral", MAR, 1, 20.0), ("search", JAN, 1, 100.0), ("search", JUN, 1, 120.0)],
        columns=["acquisition_channel", "acquisition_month", "customers", "acquisition_cost"],
    )
    return facts, cohorts


def test_month_index_and_complete_months():
    assert value.month_index(date(2024, 1, 10)) == 2024 * 12
    assert value.last_complete_month(date(2024, 6, 30)) == JUN
    assert value.last_complete_month(date(2024, 6, 29)) == JUN - 1
    assert value.month_label(JUN) == "2024 Q2"


def test_payback_curves_by_channel():
    facts, cohorts = payback_inputs()
    curves = value.payback_curves(facts, cohorts, by="channel", as_of=PERIOD_END, min_customers=1)
    search = curves[curves["group"] == "search"]
    # Month 0: (80 + 197) / 2 customers = 138.5; later months only customer 1 (Jan) has lived:
    # +0, +0, +40, +0, +150 -> 138.5, 138.5, 138.5, 178.5, 178.5, 328.5. CAC (100 + 120) / 2.
    assert search["customers"].tolist() == [2, 1, 1, 1, 1, 1]
    assert search["cumulative_net_margin"].tolist() == pytest.approx(
        [138.5, 138.5, 138.5, 178.5, 178.5, 328.5]
    )
    assert search["acquisition_cost"].unique().tolist() == [110.0]
    referral = curves[curves["group"] == "referral"]
    # March to June: 4 months. 20, +0, -20, -10 -> 20, 20, 0, -10; CAC 20.
    assert referral["net_position"].tolist() == pytest.approx([0.0, 0.0, -20.0, -30.0])
    months = value.payback_months(curves).set_index("group")
    # Break-even is reaching the cost: referral's 20 against 20 counts in month 0.
    assert months.loc["referral", "payback_month"] == 0
    assert months.loc["search", "payback_month"] == 0


def test_payback_curves_by_cohort_and_censoring():
    facts, cohorts = payback_inputs()
    curves = value.payback_curves(facts, cohorts, by="cohort", as_of=PERIOD_END, min_customers=1)
    q1 = curves[curves["group"] == "2024 Q1"]
    # Q1 = customers 1 (Jan, 6 months) and 2 (Mar, 4 months). Mean increments:
    # m0 (80 + 20) / 2 = 50, m1 0, m2 (0 - 20) / 2 = -10, m3 (40 - 10) / 2 = 15, m4 0, m5 150.
    assert q1["cumulative_net_margin"].tolist() == pytest.approx([50, 50, 40, 55, 55, 205])
    assert q1["customers"].tolist() == [2, 2, 2, 2, 1, 1]
    months = value.payback_months(curves).set_index("group")
    assert months.loc["2024 Q1", "payback_month"] == 5  # 205 - 60 >= 0 first in month 5
    assert months.loc["2024 Q2", "payback_month"] == 0  # 197 >= 120
    # Seen from 29 June, June is not complete: customer 3 (June) has no month yet, and
    # customer 1's June order (month 5) is not counted.
    partial = value.payback_curves(
        facts, cohorts, by="cohort", as_of=date(2024, 6, 29), min_customers=1
    )
    assert set(partial["group"]) == {"2024 Q1"}
    assert partial["months_since"].max() == 4


def test_payback_not_yet_and_min_customers():
    facts, cohorts = payback_inputs()
    cohorts.loc[cohorts["acquisition_channel"] == "referral", "acquisition_cost"] = 500.0
    curves = value.payback_curves(facts, cohorts, by="channel", as_of=PERIOD_END, min_customers=2)
    # With at least 2 customers per month only search's month 0 remains; referral has one.
    assert curves[["group", "months_since"]].values.tolist() == [["search", 0]]
    curves = value.payback_curves(facts, cohorts, by="channel", as_of=PERIOD_END, min_customers=1)
    months = value.payback_months(curves).set_index("group")
    assert np.isnan(months.loc["referral", "payback_month"])
    assert value.describe_payback(months.loc["referral", "payback_month"], 4) == (
        "not yet (4 months seen)"
    )
    assert value.describe_payback(7.0) == "month 7"


def test_payback_with_no_cohorts():
    facts, cohorts = payback_inputs()
    curves = value.payback_curves(facts, cohorts.iloc[0:0], by="channel", as_of=PERIOD_END)
    assert curves.empty and "net_position" in curves.columns
    assert value.payback_months(curves).empty


def test_attach_segments():
    segments = pd.DataFrame(
        {"customer_id": [1, 3], "segment": [1, 2], "segment_name": ["Champions", "Bargain hunters"]}
    )
    frame = value.attach_segments(summary_frame(), segments)
    assert frame["segment_name"].tolist() == [
        "Champions",
        "Not segmented",
        "Bargain hunters",
        "Not segmented",
        "Not segmented",
    ]
    assert value.attach_segments(summary_frame(), segments.iloc[0:0]).equals(summary_frame())


def test_acquisition_economics_by_cohort_with_payback():
    facts, cohorts = payback_inputs()
    curves = value.payback_curves(facts, cohorts, by="cohort", as_of=PERIOD_END, min_customers=1)
    table = value.acquisition_economics(
        sums_frame(), "acquisition_quarter", with_values=True, payback=value.payback_months(curves)
    )
    rows = table.set_index("acquisition_quarter")
    # Q1: customers 1, 2 and 5 (Jan, Mar, Feb); Q2: 3 and 4. Payback curves for 1-3 only.
    assert rows["customers"].to_dict() == {"2024 Q1": 3, "2024 Q2": 2}
    assert rows.loc["2024 Q1", "mean_cac"] == pytest.approx(60.0)  # (100 + 20 + 60) / 3
    assert rows["payback"].to_dict() == {"2024 Q1": "month 5", "2024 Q2": "month 0"}
    lonely = value.payback_months(curves[curves["group"] == "2024 Q1"])
    table = value.acquisition_economics(
        sums_frame(), "acquisition_quarter", with_values=True, payback=lonely
    )
    assert table.set_index("acquisition_quarter").loc["2024 Q2", "payback"] == value.NO_CURVE


def test_groups_outside_the_known_list_are_kept():
    profit = value.customer_profit(summary_frame())
    table = value.profit_by_group(value.profit_sums(profit, ["region"]), "region", groups=["North"])
    assert table["region"].tolist() == ["North", "South", "West"]

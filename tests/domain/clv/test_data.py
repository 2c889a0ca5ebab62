"""rfm_summary and calibration_holdout_split on small hand-built transactions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard.domain.clv import calibration_holdout_split, rfm_from_statistics, rfm_summary


@pytest.fixture
def orders() -> pd.DataFrame:
    # A: two orders on 1 Jan (merged into one purchase of 15), then 8 and 15 Jan.
    # B: one order. C: first buys after the 29 Jan end. D: one order before the end, one
    # after it.
    return pd.DataFrame(
        {
            "customer": ["A", "A", "A", "A", "B", "C", "D", "D"],
            "ordered_at": pd.to_datetime(
                [
                    "2024-01-01 09:00",
                    "2024-01-01 17:30",
                    "2024-01-08 00:00",
                    "2024-01-15 00:00",
                    "2024-01-10 00:00",
                    "2024-02-01 00:00",
                    "2024-01-20 00:00",
                    "2024-02-05 00:00",
                ]
            ),
            "revenue": [10.0, 5.0, 20.0, 30.0, 7.0, 9.0, 3.0, 4.0],
        }
    )


def test_rfm_summary_by_hand(orders):
    summary = rfm_summary(
        orders, "customer", "ordered_at", "revenue", observation_period_end="2024-01-29"
    )
    # A: purchase days 1, 8, 15 Jan -> frequency 2, recency 14 days = 2 weeks,
    #    T = 29 Jan - 1 Jan = 28 days = 4 weeks, repeat spend (20 + 30) / 2 = 25.
    # B: frequency 0, recency 0, T = 19 days. D: T = 9 days (5 Feb is after the end).
    expected = pd.DataFrame(
        {
            "frequency": [2, 0, 0],
            "recency": [2.0, 0.0, 0.0],
            "T": [4.0, 19 / 7, 9 / 7],
            "monetary_value": [25.0, 0.0, 0.0],
        },
        index=pd.Index(["A", "B", "D"], name="customer"),
    )
    pd.testing.assert_frame_equal(summary, expected, check_dtype=False)
    assert summary["frequency"].dtype.kind == "i"


def test_same_day_purchases_merge_and_their_values_add(orders):
    # A's repeat purchases on one day: 8 Jan twice (20 + 6) and 15 Jan (30).
    extra = pd.DataFrame(
        {"customer": ["A"], "ordered_at": [pd.Timestamp("2024-01-08 20:00")], "revenue": [6.0]}
    )
    summary = rfm_summary(
        pd.concat([orders, extra]), "customer", "ordered_at", "revenue", "2024-01-29"
    )
    assert summary.loc["A", "frequency"] == 2
    assert summary.loc["A", "monetary_value"] == pytest.approx((26 + 30) / 2)


@pytest.mark.parametrize(("unit", "days"), [("D", 1.0), ("W", 7.0), ("M", 30.4375)])
def test_time_units(orders, unit, days):
    summary = rfm_summary(orders, "customer", "ordered_at", observation_period_end="2024-01-29",
                          time_unit=unit)  # fmt: skip
    assert summary.loc["A", "recency"] == pytest.approx(14 / days)
    assert summary.loc["A", "T"] == pytest.approx(28 / days)
    assert "monetary_value" not in summary.columns


def test_default_end_is_the_last_transaction_day(orders):
    summary = rfm_summary(orders, "customer", "ordered_at", time_unit="D")
    # Last transaction 5 Feb: A has T = 35 days; C (1 Feb) is in, D has two purchase days.
    assert summary.loc["A", "T"] == 35
    assert summary.loc["C", "T"] == 4
    assert summary.loc["D", "frequency"] == 1
    assert summary.loc["D", "recency"] == 16


def test_time_zone_aware_stamps_count_on_their_local_day():
    orders = pd.DataFrame(
        {
            "customer": [1, 1],
            "ordered_at": pd.to_datetime(["2024-03-01 00:30", "2024-03-01 23:30"]).tz_localize(
                "Europe/Paris"
            ),
        }
    )
    summary = rfm_summary(orders, "customer", "ordered_at", time_unit="D")
    assert summary.loc[1, "frequency"] == 0


def test_integer_and_string_ids_and_dates_as_text():
    orders = pd.DataFrame(
        {
            "customer": [30, 10, 30, 20],
            "day": ["2024-01-01", "2024-01-02", "2024-01-05", "2024-01-03"],
        }
    )
    summary = rfm_summary(orders, "customer", "day", time_unit="D")
    assert summary.index.tolist() == [10, 20, 30]
    assert summary["frequency"].tolist() == [0, 0, 1]
    orders["customer"] = orders["customer"].map({30: "c", 10: "a", 20: "b"})
    assert rfm_summary(orders, "customer", "day").index.tolist() == ["a", "b", "c"]


def test_zero_value_repeat_purchases_give_zero_monetary_value():
    orders = pd.DataFrame(
        {"customer": [1, 1], "day": pd.to_datetime(["2024-01-01", "2024-01-09"]), "v": [5.0, 0]}
    )
    summary = rfm_summary(orders, "customer", "day", "v")
    assert summary.loc[1, "frequency"] == 1
    assert summary.loc[1, "monetary_value"] == 0.0


def test_bad_inputs_are_refused(orders):
    with pytest.raises(ValueError, match="time_unit"):
        rfm_summary(orders, "customer", "ordered_at", time_unit="Y")
    with pytest.raises(KeyError, match="nope"):
        rfm_summary(orders, "customer", "nope")
    broken = orders.copy()
    broken.loc[0, "ordered_at"] = pd.NaT
    with pytest.raises(ValueError, match="missing dates"):
        rfm_summary(broken, "customer", "ordered_at")
    broken = orders.copy()
    broken.loc[0, "customer"] = None
    with pytest.raises(ValueError, match="missing customer ids"):
        rfm_summary(broken, "customer", "ordered_at")
    broken = orders.copy()
    broken.loc[0, "revenue"] = np.nan
    with pytest.raises(ValueError, match="missing or infinite"):
        rfm_summary(broken, "customer", "ordered_at", "revenue")


def test_calibration_holdout_split_by_hand(orders):
    split = calibration_holdout_split(
        orders, "customer", "ordered_at", "2024-01-29", "2024-02-29", "revenue", time_unit="D"
    )
    # C first bought in the holdout: not part of the calibration cohort.
    assert split.index.tolist() == ["A", "B", "D"]
    assert split["frequency"].tolist() == [2, 0, 0]
    assert split["frequency_holdout"].tolist() == [0, 0, 1]
    assert split["monetary_value_holdout"].tolist() == [0.0, 0.0, 4.0]
    assert (split["duration_holdout"] == 31).all()
    with pytest.raises(ValueError, match="after calibration_end"):
        calibration_holdout_split(orders, "customer", "ordered_at", "2024-02-01", "2024-01-01")


def test_rfm_from_statistics_by_hand():
    # A as in the orders fixture: purchase days 1, 8, 15 Jan, repeat spend 20 + 30; B one day;
    # C no purchase up to the end (left out).
    statistics = pd.DataFrame(
        {
            "first_purchase": ["2024-01-01", "2024-01-10", None],
            "last_purchase": ["2024-01-15", "2024-01-10", None],
            "purchase_days": [3, 1, 0],
            "repeat_spend": [50.0, 0.0, 0.0],
        },
        index=pd.Index(["A", "B", "C"], name="customer"),
    )
    summary = rfm_from_statistics(statistics, "2024-01-29")
    expected = pd.DataFrame(
        {
            "frequency": [2, 0],
            "recency": [2.0, 0.0],
            "T": [4.0, 19 / 7],
            "monetary_value": [25.0, 0.0],
        },
        index=pd.Index(["A", "B"], name="customer"),
    )
    pd.testing.assert_frame_equal(summary, expected, check_dtype=False)
    assert summary["frequency"].dtype.kind == "i"
    without_spend = rfm_from_statistics(statistics.drop(columns="repeat_spend"), "2024-01-29")
    assert "monetary_value" not in without_spend


def test_rfm_from_statistics_equals_rfm_summary(orders):
    days = orders.assign(day=orders["ordered_at"].dt.normalize())
    days = days[days["day"] <= "2024-01-29"].groupby(["customer", "day"])["revenue"].sum()
    days = days.reset_index()
    first = days.groupby("customer")["day"].transform("min")
    statistics = days.groupby("customer").agg(
        first_purchase=("day", "min"), last_purchase=("day", "max"), purchase_days=("day", "size")
    )
    statistics["repeat_spend"] = days[days["day"] > first].groupby("customer")["revenue"].sum()
    statistics["repeat_spend"] = statistics["repeat_spend"].fillna(0.0)
    pd.testing.assert_frame_equal(
        rfm_from_statistics(statistics, "2024-01-29"),
        rfm_summary(orders, "customer", "ordered_at", "revenue", "2024-01-29"),
    )


def test_rfm_from_statistics_refuses_inconsistent_rows():
    statistics = pd.DataFrame(
        {"first_purchase": ["2024-01-05"], "last_purchase": ["2024-01-01"], "purchase_days": [2]}
    )
    with pytest.raises(ValueError, match="first_purchase <= last_purchase"):
        rfm_from_statistics(statistics, "2024-01-29")
    with pytest.raises(KeyError, match="purchase_days"):
        rfm_from_statistics(statistics.drop(columns="purchase_days"), "2024-01-29")

"""The value models' per-customer statistics and the tracking plot's day counts, computed in the
store by GROUP BY (clv_store.purchase_statistics, purchase_day_counts), on a hand-built fixture.

Fit to 31 Mar 2024; the holdout check's calibration ends on 29 Feb 2024 (a leap day).
"""

from __future__ import annotations

from contextlib import ExitStack
from datetime import date

import numpy as np
import pandas as pd
import pytest

from dashboard.domain import clv
from dashboard.services import lifetime_value
from dashboard.storage import clv_store
from dashboard.storage.engine import bulk_insert, make_engine
from dashboard.storage.schema import customers, orders
from tests.conftest import BACKENDS, throwaway_pg_schema

D = date
END, CHECK_END = D(2024, 3, 31), D(2024, 2, 29)

# A: two orders on 1 Jan (one purchase day of 15), 15 Jan, 10 Mar; one after the end.
# B: one order, no margin. C: first buys on 5 Mar (after the check's end), twice that day,
# again 20 Mar. D: only after the end. E: on the check's last day, then the day after it.
ORDERS = [
    ("A", D(2024, 1, 1), 10.0, 4.0),
    ("A", D(2024, 1, 1), 5.0, 1.0),
    ("A", D(2024, 1, 15), 20.0, 10.0),
    ("A", D(2024, 3, 10), 30.0, 15.0),
    ("A", D(2024, 4, 5), 99.0, 0.0),
    ("B", D(2024, 2, 10), 8.0, 8.0),
    ("C", D(2024, 3, 5), 6.0, 3.0),
    ("C", D(2024, 3, 5), 4.0, 2.0),
    ("C", D(2024, 3, 20), 7.0, 1.0),
    ("D", D(2024, 4, 2), 50.0, 10.0),
    ("E", D(2024, 2, 29), 12.0, 6.0),
    ("E", D(2024, 3, 1), 3.0, 1.0),
]


@pytest.fixture(params=[*BACKENDS, "sqlite"])
def engine(request, tmp_path):
    """The fixture on DuckDB, PostgreSQL (with DASHBOARD_TEST_PG_URL) and SQLite."""
    with ExitStack() as stack:
        if request.param == "postgresql":
            url = stack.enter_context(throwaway_pg_schema("clv_statistics"))
        else:
            url = f"{request.param}:///{tmp_path / 'store.db'}"
        engine = make_engine(url)
        stack.callback(engine.dispose)
        customers.create(engine)
        orders.create(engine)
        people = pd.DataFrame(
            {
                "customer_id": list("ABCDE"),
                "name": list("ABCDE"),
                "region": "North",
                "acquisition_channel": "search",
                "acquired_at": D(2024, 1, 1),
                "acquisition_cost": 1.0,
            }
        )
        frame = pd.DataFrame(ORDERS, columns=["customer_id", "ordered_at", "revenue", "cost"])
        frame.insert(0, "order_id", [str(k) for k in range(1, len(frame) + 1)])
        bulk_insert(engine, customers, people)
        bulk_insert(engine, orders, frame)
        yield engine


def days(values: list) -> pd.Series:
    return pd.to_datetime(values).astype("datetime64[ns]")


def test_statistics_by_hand(engine):
    stats = clv_store.purchase_statistics(engine, END, CHECK_END)
    expected = pd.DataFrame(
        {
            "first_purchase": days(["2024-01-01", "2024-02-10", "2024-03-05", "2024-02-29"]),
            "last_purchase": days(["2024-03-10", "2024-02-10", "2024-03-20", "2024-03-01"]),
            # A: 1 Jan (two orders, one day), 15 Jan, 10 Mar; C: 5 Mar (two orders), 20 Mar.
            "purchase_days": [3, 1, 2, 2],
            # Revenue after the first purchase day: A 20 + 30, C 7, E 3.
            "repeat_spend": [50.0, 0.0, 7.0, 3.0],
            "revenue": [65.0, 8.0, 17.0, 15.0],
            "gross_margin": [35.0, 0.0, 11.0, 8.0],
            # To 29 Feb: A's last day is 15 Jan (2 days), C has none, E bought on the day.
            "check_last_purchase": days(["2024-01-15", "2024-02-10", None, "2024-02-29"]),
            "check_purchase_days": [2, 1, 0, 1],
        },
        index=pd.Index(["A", "B", "C", "E"], name="customer_id"),
    )
    pd.testing.assert_frame_equal(stats, expected, check_index_type=False)


def test_model_inputs_in_weeks_as_the_models_define_them(engine):
    stats = clv_store.purchase_statistics(engine, END, CHECK_END)
    summary = clv.rfm_from_statistics(stats, END, time_unit="W")
    a = summary.loc["A"]
    # Repeat purchase days 2; 1 Jan -> 10 Mar = 69 days, -> 31 Mar (included) = 90 days;
    # mean repeat spend (20 + 30) / 2.
    assert (a["frequency"], a["recency"], a["T"], a["monetary_value"]) == (2, 69 / 7, 90 / 7, 25.0)
    assert summary.loc["B"].tolist() == [0, 0.0, 50 / 7, 0.0]
    assert summary.loc["C", "monetary_value"] == 7.0 and summary.loc["E", "T"] == 31 / 7

    # The same as the transactions-based summary and holdout split of the domain.
    raw = pd.DataFrame(ORDERS, columns=["customer_id", "ordered_at", "revenue", "cost"])
    pd.testing.assert_frame_equal(
        summary,
        clv.rfm_summary(raw, "customer_id", "ordered_at", "revenue", END),
        check_dtype=False,
    )
    split = lifetime_value._calibration_holdout_split(stats, CHECK_END, END)
    by_hand = clv.calibration_holdout_split(raw, "customer_id", "ordered_at", CHECK_END, END)
    pd.testing.assert_frame_equal(split, by_hand, check_dtype=False)
    # A bought on 10 Mar after the check, E on 1 Mar; C is not in the check (acquired after).
    assert split["frequency_holdout"].to_dict() == {"A": 1, "B": 0, "E": 1}


def test_day_counts_by_hand(engine):
    counts = clv_store.purchase_day_counts(engine, END, CHECK_END)
    # Customers who bought by 29 Feb (A, B, E): first purchases, and repeat purchase days.
    assert counts["ordered_at"].dt.strftime("%m-%d").tolist() == [
        "01-01", "01-15", "02-10", "02-29", "03-01", "03-10",
    ]  # fmt: skip
    assert counts["first_purchases"].tolist() == [1, 0, 1, 1, 0, 0]
    assert counts["repeat_purchases"].tolist() == [0, 1, 0, 0, 1, 1]
    raw = pd.DataFrame(ORDERS, columns=["customer_id", "ordered_at", "revenue", "cost"])
    by_hand = clv.PurchaseDayCounts.from_transactions(
        raw, "customer_id", "ordered_at", pd.Index(["A", "B", "E"]), END
    )
    frame = counts.set_index("ordered_at")
    assert np.array_equal(
        frame["first_purchases"][frame["first_purchases"] > 0], by_hand.first_purchases
    )
    assert np.array_equal(
        frame["repeat_purchases"][frame["repeat_purchases"] > 0], by_hand.repeat_purchases
    )

"""Audit rules on hand-made aggregates (the focused portfolio's Q3 2024 figures)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from dashboard.domain import audit


def test_top_share_and_curve():
    conc = pd.DataFrame(
        {"bucket": [0, 33, 66], "customers": [1, 1, 1], "revenue": [200.0, 100.0, 90.0]}
    )
    assert audit.top_share(conc, 0.10) == pytest.approx(200 / 390)
    assert audit.top_share(conc, 0.50) == pytest.approx(300 / 390)
    curve = audit.concentration_curve(conc)
    assert curve["customer_share"].tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert curve["revenue_share"].tolist() == pytest.approx([0, 200 / 390, 300 / 390, 1])


def test_bridge_adds_up():
    flows = pd.DataFrame(
        {
            "flow": ["lost", "new", "reactivated", "retained"],
            "customers": [2, 1, 1, 1],
            "revenue_previous": [450.0, 0.0, 0.0, 400.0],
            "revenue_current": [0.0, 100.0, 90.0, 200.0],
        }
    )
    bridge = audit.revenue_bridge(flows).set_index("step")
    assert bridge["value"].tolist() == pytest.approx([850, -450, -200, 100, 90, 390])
    relative = bridge.loc[bridge["measure"] == "relative", "value"].sum()
    assert bridge.at["Previous period", "value"] + relative == pytest.approx(390)
    assert bridge.at["This period", "customers"] == 3


def test_cohort_grid_decomposes_revenue():
    # Q1 2024 cohort (Alice, Bob, Eve) by quarter, as of 30 Sep 2024.
    activity = pd.DataFrame(
        {
            "cohort": [8096] * 3,
            "age": [0, 1, 2],
            "active": [3, 2, 2],
            "orders": [3, 3, 3],
            "revenue": [350.0, 450.0, 290.0],
            "gross_margin": [130.0, 190.0, 130.0],
        }
    )
    sizes = pd.DataFrame({"cohort": [8096], "customers": [3]})
    grid = audit.cohort_grid(activity, sizes, "quarter", date(2024, 9, 30))
    assert grid["cohort_label"].iloc[0] == "2024 Q1"
    assert grid["complete"].tolist() == [True, True, True]
    row = grid.iloc[1]
    assert row["share_active"] == pytest.approx(2 / 3)
    assert row["orders_per_active"] == pytest.approx(1.5)
    assert row["revenue_per_order"] == pytest.approx(150.0)
    product = (
        grid["size"] * grid["share_active"] * grid["orders_per_active"] * grid["revenue_per_order"]
    )
    assert product.tolist() == pytest.approx(grid["revenue"].tolist())
    assert grid["cumulative_revenue_per_member"].iloc[-1] == pytest.approx(1090 / 3)
    partial = audit.cohort_grid(activity, sizes, "quarter", date(2024, 9, 15))
    assert partial["complete"].tolist() == [True, True, False]


def test_early_repeat_waits_for_the_cohort_to_age():
    buckets = pd.DataFrame(
        {
            "cohort": [8096, 8096, 8096, 8097, 8097],
            "bucket": pd.array([2, 3, 7, None, None], dtype="Int64"),
            "customers": [1, 1, 1, 1, 0],
        }
    )
    sizes = pd.DataFrame({"cohort": [8096, 8097, 8098], "customers": [3, 1, 1]})
    early = audit.second_purchase_table(buckets, sizes, "quarter", date(2024, 9, 30)).set_index(
        "cohort_label"
    )
    assert early.at["2024 Q1", "repeat_90"] == pytest.approx(1 / 3)  # Alice, 83 days
    assert early.at["2024 Q1", "repeat_180"] == pytest.approx(2 / 3)  # and Bob, 117
    assert early.at["2024 Q1", "repeat_any"] == pytest.approx(1.0)
    assert early.at["2024 Q2", "repeat_90"] == 0  # 92 days observed, no repeat
    assert np.isnan(early.at["2024 Q2", "repeat_180"])
    assert np.isnan(early.at["2024 Q3", "repeat_90"])


def test_retention_curve_is_kaplan_meier():
    tenures = pd.DataFrame(
        {
            "plan": ["basic"] * 3,
            "status": ["churned", "active", "active"],
            "tenure": [2, 6, 0],
            "subscriptions": [1, 1, 1],
        }
    )
    curve = audit.retention_curves(tenures, ("plan",)).set_index("tenure")
    # At risk at 1: 2 (the one at 0 is censored before); churn at 2: 1 of 2 -> 0.5.
    assert curve.loc[1, "survival"] == 1.0 and curve.loc[1, "at_risk"] == 2
    assert curve.loc[2, "survival"] == pytest.approx(0.5)
    assert curve.loc[6, "survival"] == pytest.approx(0.5)


def test_subscriber_value_is_margin_times_derl():
    from dashboard.domain.clv.models import ShiftedBetaGeoModel

    model = ShiftedBetaGeoModel.from_params({"alpha": 0.668, "beta": 3.806})
    fits = {"plus": audit.PlanFit("plus", model, 100, 50)}
    active = pd.DataFrame({"plan": ["plus"], "renewals": [7], "monthly_value": [30.0]})
    settings = audit.SubscriptionSettings(margin_share=0.5, annual_discount_rate=0.12)
    value = audit.subscriber_values(active, fits, settings).iloc[0]
    derl = model.expected_remaining_lifetime(7, 1.12 ** (1 / 12) - 1)
    assert value["derl"] == pytest.approx(float(derl))
    assert value["lifetime_value"] == pytest.approx(15.0 * float(derl))
    assert value["p_active_12m"] == pytest.approx(float(model.survival(19) / model.survival(7)))

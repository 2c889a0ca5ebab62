"""Audit chart builders: what they draw, from hand-made frames."""

from __future__ import annotations

from datetime import date

import pandas as pd

from dashboard.charts import audit as charts


def test_bridge_is_a_waterfall_with_totals_at_both_ends():
    bridge = pd.DataFrame(
        {
            "step": ["Previous period", "Lost customers", "This period"],
            "measure": ["absolute", "relative", "total"],
            "value": [850.0, -450.0, 400.0],
            "customers": [3, 2, 1],
        }
    )
    fig = charts.build_revenue_bridge(bridge, title="Bridge")
    (trace,) = fig.data
    assert trace.type == "waterfall"
    assert list(trace.measure) == ["absolute", "relative", "total"]
    assert list(trace.text) == ["850", "-450", "400"]


def test_layer_cake_stacks_one_trace_per_cohort_oldest_first():
    layers = pd.DataFrame(
        {
            "month": [date(2024, 1, 1), date(2024, 2, 1), date(2024, 2, 1)],
            "layer": ["2024 Q1", "2024 Q1", "2023 Q4"],
            "layer_index": [8096, 8096, 8095],
            "revenue": [10.0, 20.0, 5.0],
            "active": [1, 2, 1],
        }
    )
    fig = charts.build_layer_cake(layers, "revenue", title="C3", y_title="Revenue")
    assert [t.name for t in fig.data] == ["2023 Q4", "2024 Q1"]
    assert all(t.stackgroup == "cohorts" for t in fig.data)
    assert list(fig.data[0].y) == [0.0, 5.0]  # no revenue in January: a zero, not a gap


def test_retention_curves_pair_observed_and_model():
    observed = pd.DataFrame(
        {"plan": ["basic"] * 2, "tenure": [0, 1], "survival": [1.0, 0.8], "at_risk": [10, 10]}
    )
    projected = pd.DataFrame({"plan": ["basic"] * 2, "tenure": [0, 1], "survival": [1.0, 0.85]})
    fig = charts.build_retention_curves(observed, projected, title="Retention")
    assert [t.name for t in fig.data] == ["basic: observed", "basic: sBG model"]
    assert list(fig.data[1].y) == [100.0, 85.0]
    assert fig.data[1].line.dash == "dash"

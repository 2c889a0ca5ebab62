"""Headline metrics against hand-computed values, including the edge cases."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard import formatting
from dashboard.app.widgets import table_height
from dashboard.domain import metrics


@pytest.mark.parametrize(
    ("promoters", "detractors", "answers", "expected"),
    [
        (2, 1, 4, 25.0),  # (2 - 1) / 4
        (0, 0, 5, 0.0),  # only passives: 0, not undefined
        (3, 0, 3, 100.0),
        (0, 2, 2, -100.0),
        (0, 0, 0, None),  # no answers: undefined
    ],
)
def test_nps(promoters, detractors, answers, expected):
    assert metrics.nps(promoters, detractors, answers) == expected


def test_csat_top2_and_ratio():
    assert metrics.csat_top2(2, 3) == pytest.approx(200 / 3)
    assert metrics.csat_top2(0, 0) is None
    assert metrics.ratio(30, 3) == 10.0 and metrics.ratio(1, 0) is None


def kpi(value, previous, kind="count", better=True):
    return metrics.Kpi("k", "K", value, previous, kind, "definition", better)


def test_change_formatting():
    assert formatting.format_change(kpi(3, 2)) == "+50.0%"
    assert formatting.format_change(kpi(3, 0)) == "+3"  # no base for a percentage: signed amount
    assert formatting.format_change(kpi(0, 3)) == "-100.0%"
    assert formatting.format_change(kpi(66.7, 70.0, "percent")) == "-3.3 pts"
    assert formatting.format_change(kpi(25, -100, "score")) == "+125 pts"
    assert formatting.format_change(kpi(None, 2)) is None


def test_delta_is_grey_when_unchanged_or_not_comparable():
    assert formatting.kpi_delta(kpi(5, 5)) == formatting.Delta("no change", "off", "off")
    assert formatting.kpi_delta(kpi(50.0, 50.01, "percent")).text == "no change"
    assert formatting.kpi_delta(kpi(5, None)).text == "no previous value"
    costs_up = formatting.kpi_delta(kpi(12, 10, "money", better=False))
    assert (costs_up.text, costs_up.color) == ("+20.0%", "inverse")


def test_format_value():
    assert formatting.format_value(1_234_567, "money") == "1.2M"
    assert formatting.format_value(850, "money") == "850"
    assert formatting.format_value(13.06, "money") == "13.06"
    assert formatting.format_value(-2500, "count") == "-2.5k"
    assert formatting.format_value(66.666, "percent") == "66.7%"
    assert formatting.format_value(25, "score") == "+25"
    assert formatting.format_value(125, "seconds") == "2m 05s"
    assert formatting.format_value(None, "money") == "—"


def test_fill_months_adds_empty_months():
    monthly = pd.DataFrame(
        {
            "month": [pd.Timestamp("2024-04-01")],
            "revenue": [1.0],
            "gross_margin": [1.0],
            "orders": [1],
            "contacts": [0],
            "service_cost": [0.0],
        }
    )
    filled = metrics.fill_months(monthly, pd.Timestamp("2024-04-15"), pd.Timestamp("2024-06-30"))
    assert list(filled["month"].dt.month) == [4, 5, 6]
    assert list(filled["revenue"]) == [1.0, 0.0, 0.0]


def test_signed_format_matches_the_figure():
    assert formatting.format_signed(250.0, "money") == "+250"  # like format_value(250) = "250"
    assert formatting.format_signed(-1234.0, "money") == "-1.2k"
    assert formatting.format_signed(12.5, "money") == "+12.50"
    assert formatting.format_signed(None, "money") == "—"


def test_plural_and_lower_first():
    assert formatting.plural(1, "customer") == "1 customer"
    assert formatting.plural(2051, "customer") == "2,051 customers"
    assert formatting.plural(0, "customer-window") == "0 customer-windows"
    assert formatting.lower_first("NPS after contact") == "NPS after contact"
    assert formatting.lower_first("Average handle time") == "average handle time"


def test_in_percent_and_table_height():
    frame = pd.DataFrame({"share": [0.7107, 0.5], "customers": [3, 4]})
    shown = formatting.in_percent(frame, ["share", "missing"])
    assert shown["share"].tolist() == pytest.approx([71.07, 50.0])
    assert frame["share"].tolist() == [0.7107, 0.5]  # the input is not changed
    assert table_height(2) == 35 * 3 + 3  # header + 2 rows + border
    assert table_height(500, max_rows=10) == 35 * 11 + 3

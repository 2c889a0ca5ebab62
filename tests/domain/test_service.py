"""Service scorecards, follow-up window, band-matched retention and the verdict, by hand."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from dashboard.domain import service
from dashboard.domain.service import (
    after_contact_figures,
    comparison_window_starts,
    cost_center_kpis,
    describe_change,
    driver_window,
    follow_up_note,
    follow_up_window,
    retention_comparison,
    scorecard_changes,
    scorecard_verdict,
    value_driver_kpis,
)

D = date


def totals_frame(current: dict, previous: dict | None = None) -> pd.DataFrame:
    """A ``contact_totals`` frame: zeros except what the test sets."""
    base = dict.fromkeys(
        [
            "contacts",
            "agents",
            "contact_days",
            "contacted_customers",
            "active_customers",
            "service_cost",
            "service_cost_sq",
            "handle_seconds",
            "handle_seconds_sq",
            "fcr_contacts",
            "contacts_followed_up",
            "csat_answers",
            "csat_top2",
            "csat_sum",
            "nps_answers",
            "promoters",
            "detractors",
        ],
        0,
    )
    rows = [
        {"period": "current", **base, **current},
        {"period": "previous", **base, **(previous or {})},
    ]
    return pd.DataFrame(rows)


# --- Follow-up window ---------------------------------------------------------------------------


def test_window_is_the_period_when_follow_up_is_complete():
    window = follow_up_window(D(2024, 1, 1), D(2024, 3, 31), D(2023, 1, 1), D(2024, 6, 29))
    # 2024-06-29 - 90 days = 2024-03-31: the period's last contact has its 90 days.
    assert (window.start, window.end, window.shifted) == (D(2024, 1, 1), D(2024, 3, 31), False)
    assert window.orders_until == D(2024, 6, 29)


def test_window_shifts_back_when_the_period_ends_too_late():
    window = follow_up_window(D(2024, 4, 1), D(2024, 6, 30), D(2023, 1, 1), D(2024, 6, 30))
    # Last day with 90 days after it: 2024-04-01; same length (91 days) ending there.
    assert (window.start, window.end, window.shifted) == (D(2024, 1, 2), D(2024, 4, 1), True)
    assert "02 Jan 2024 – 01 Apr 2024" in window.describe()


def test_window_never_starts_before_the_data_and_needs_90_days():
    window = follow_up_window(D(2023, 1, 1), D(2024, 6, 30), D(2024, 1, 1), D(2024, 6, 30))
    assert (window.start, window.end) == (D(2024, 1, 1), D(2024, 4, 1))
    assert follow_up_window(D(2024, 1, 1), D(2024, 2, 1), D(2024, 1, 1), D(2024, 3, 1)) is None


def test_comparison_windows():
    def window(start, end):
        return service.FollowUpWindow(start, end, D(2030, 1, 1), 90, False)

    assert comparison_window_starts(window(D(2024, 3, 1), D(2024, 3, 30))) == (D(2024, 3, 1),)
    # 92 days -> round(92 / 30) = 3 windows of ceil(92 / 3) = 31 days.
    assert comparison_window_starts(window(D(2024, 7, 1), D(2024, 9, 30))) == (
        D(2024, 7, 1),
        D(2024, 8, 1),
        D(2024, 9, 1),
    )
    # Three years: capped at 12 windows of ceil(1096 / 12) = 92 days.
    starts = comparison_window_starts(window(D(2021, 1, 1), D(2023, 12, 31)))
    assert len(starts) == 12 and starts[1] == D(2021, 4, 3)


def test_driver_window_is_at_least_a_year():
    window = service.FollowUpWindow(D(2024, 1, 2), D(2024, 4, 1), D(2024, 6, 30), 90, True)
    assert driver_window(window, D(2020, 1, 1)) == (D(2023, 4, 3), D(2024, 4, 1))
    assert driver_window(window, D(2023, 10, 1)) == (D(2023, 10, 1), D(2024, 4, 1))


# --- Scorecards ---------------------------------------------------------------------------------


def test_cost_center_kpis_by_hand():
    # The tiny portfolio's April-June contacts (tests/storage/test_service_queries.py).
    totals = totals_frame(
        {
            "contacts": 3,
            "agents": 2,
            "contact_days": 3,
            "active_customers": 3,
            "service_cost": 30.0,
            "handle_seconds": 1800.0,
        },
        {
            "contacts": 1,
            "agents": 1,
            "contact_days": 1,
            "active_customers": 2,
            "service_cost": 3.0,
            "handle_seconds": 120.0,
        },
    )
    kpis = {k.key: k for k in cost_center_kpis(totals)}
    assert kpis["aht"].value == 600.0 and kpis["aht"].previous == 120.0  # 1800 / 3, 120 / 1
    assert kpis["contacts_per_agent_day"].value == pytest.approx(0.5)  # 3 / (2 agents × 3 days)
    assert kpis["cost_per_contact"].value == pytest.approx(10.0)  # 30 / 3
    assert kpis["contacts_per_customer"].value == pytest.approx(1.0)  # 3 / 3 active
    assert kpis["contacts_per_customer"].previous == pytest.approx(0.5)  # 1 / 2
    assert not kpis["aht"].higher_is_better and kpis["contacts_per_agent_day"].higher_is_better


def test_value_driver_kpis_by_hand():
    totals = totals_frame(
        {
            "contacts": 3,
            "fcr_contacts": 2,
            "csat_answers": 3,
            "csat_top2": 2,
            "nps_answers": 3,
            "promoters": 1,
            "detractors": 1,
        }
    )
    kpis = {k.key: k for k in value_driver_kpis(totals)}
    assert kpis["fcr"].value == pytest.approx(200 / 3)  # 2 of 3 resolved
    assert kpis["csat_after_contact"].value == pytest.approx(200 / 3)  # 2 of 3 answers 4-5
    assert kpis["nps_after_contact"].value == pytest.approx(0.0)  # (1 - 1) / 3
    # The previous period has no contact and no survey: undefined, not zero.
    assert kpis["fcr"].previous is None and kpis["nps_after_contact"].previous is None


@pytest.mark.parametrize(
    ("promoters", "detractors", "answers", "expected"),
    [(4, 0, 4, 100.0), (0, 3, 3, -100.0), (0, 0, 5, 0.0), (1, 2, 4, -25.0), (0, 0, 0, None)],
    ids=["all promoters", "all detractors", "only passives", "mixed", "no survey"],
)
def test_nps_after_contact_edge_cases(promoters, detractors, answers, expected):
    totals = totals_frame(
        {"contacts": 5, "nps_answers": answers, "promoters": promoters, "detractors": detractors}
    )
    nps_kpi = {k.key: k for k in value_driver_kpis(totals)}["nps_after_contact"]
    assert nps_kpi.value == (pytest.approx(expected) if expected is not None else None)


# --- Retention after contact against comparable customers ---------------------------------------


def cells_frame(rows):
    return pd.DataFrame(
        rows,
        columns=[
            "window",
            "recency_band",
            "frequency_band",
            "contacted",
            "customers",
            "retained",
            "revenue_after",
            "revenue_after_sq",
            "contacts",
        ],
    )


def test_retention_comparison_is_band_matched():
    cells = cells_frame(
        [
            # Cell A: 10 contacted (6 retained, revenue 600, 12 contacts) vs 40 (16 retained, 800).
            (0, 1, 1, True, 10, 6, 600.0, 60_000.0, 12),
            (0, 1, 1, False, 40, 16, 800.0, 40_000.0, 0),
            # Cell B: 30 contacted (9 retained, 900, 18 contacts) vs 20 (4 retained, 200).
            (0, 2, 2, True, 30, 9, 900.0, 54_000.0, 18),
            (0, 2, 2, False, 20, 4, 200.0, 4_000.0, 0),
            # Cell C: 5 contacted, nobody comparable: left out.
            (0, 4, 3, True, 5, 1, 50.0, 2_500.0, 5),
        ]
    )
    result = retention_comparison(cells)
    assert (result.contacted_customers, result.unmatched_customers) == (40, 5)
    assert (result.contacts, result.comparable_customers) == (30, 60)
    assert result.retention == pytest.approx(37.5)  # (6 + 9) / 40
    # Weights 10/40 and 30/40: expected 0.25 × 16/40 + 0.75 × 4/20 = 0.10 + 0.15 = 25%.
    # A raw comparison would say 20 / 60 = 33.3%.
    assert result.comparable_retention == pytest.approx(25.0)
    assert result.retention_difference == pytest.approx(12.5)
    # Var = 0.25² (0.6·0.4/10 + 0.4·0.6/40) + 0.75² (0.3·0.7/30 + 0.2·0.8/20) = 0.0103125.
    half = 100 * 1.959963984540054 * math.sqrt(0.0103125)
    assert result.retention_difference_ci == pytest.approx((12.5 - half, 12.5 + half))
    # Revenue: 0.25 × (60 - 20) + 0.75 × (30 - 10) = 10 + 15 = 25 per contacted customer.
    assert result.revenue_per_customer == pytest.approx(37.5)  # 0.25 × 60 + 0.75 × 30
    assert result.comparable_revenue_per_customer == pytest.approx(12.5)  # 0.25×20 + 0.75×10
    assert result.revenue_difference == pytest.approx(25.0)
    # Retained per contact: 25 × 40 customers / 30 contacts.
    assert result.revenue_retained_per_contact == pytest.approx(1000 / 30)
    # Sample variances: A1 (60000 - 10·60²)/9 = 2666.7, A0 (40000 - 40·20²)/39 = 615.4,
    # B1 (54000 - 30·30²)/29 = 931.0, B0 (4000 - 20·10²)/19 = 105.3.
    variance = 0.25**2 * (24000 / 9 / 10 + 24000 / 39 / 40) + 0.75**2 * (
        27000 / 29 / 30 + 2000 / 19 / 20
    )
    half = 1.959963984540054 * math.sqrt(variance)
    assert result.revenue_difference_ci == pytest.approx((25 - half, 25 + half))


def test_retention_comparison_without_any_match():
    cells = cells_frame([(0, 4, 1, True, 1, 0, 0.0, 0.0, 1), (0, 1, 1, False, 2, 0, 0.0, 0.0, 0)])
    result = retention_comparison(cells)
    assert result.retention is None and result.unmatched_customers == 1
    assert result.comparable_customers == 2
    figures = after_contact_figures(result)
    assert [f.value for f in figures] == ["—", "—", "—"]


def test_retention_comparison_of_an_empty_frame():
    result = retention_comparison(cells_frame([]))
    assert result.retention is None and result.contacted_customers == 0


def test_after_contact_figures_format():
    cells = cells_frame(
        [(0, 1, 1, True, 10, 6, 600.0, 60_000.0, 12), (0, 1, 1, False, 40, 16, 800.0, 40_000.0, 0)]
    )
    retention, revenue, per_contact = after_contact_figures(retention_comparison(cells))
    assert retention.value == "60.0%" and retention.delta.startswith("+20.0 pts")  # 60% vs 40%
    assert retention.delta_description == "vs 40.0% of comparable customers"
    # 60 vs 20: a whole-unit value gets a whole-unit difference and interval, not "+40.00".
    assert revenue.value == "60" and revenue.delta == "+40 (+7 to +73)"
    assert revenue.delta_color == "normal"
    assert per_contact.value == "33.33"  # 40 × 10 customers / 12 contacts
    # One contacted customer, one contact: singular words.
    one = cells_frame(
        [(0, 1, 1, True, 1, 1, 50.0, 2_500.0, 1), (0, 1, 1, False, 4, 1, 50.0, 2_500.0, 0)]
    )
    _, _, per_contact_one = after_contact_figures(retention_comparison(one))
    assert per_contact_one.delta_description == "over 1 contact of 1 customer"


def test_a_zero_difference_is_grey_not_a_green_gain():
    # Contacted: 2 customers, 1 retained, revenue 50 each; comparable: 4, 2 retained, 50 each.
    # Retention 50% vs 50% and revenue 50 vs 50: both differences are zero.
    cells = cells_frame(
        [(0, 1, 1, True, 2, 1, 100.0, 5_000.0, 2), (0, 1, 1, False, 4, 2, 200.0, 10_000.0, 0)]
    )
    retention, revenue, _ = after_contact_figures(retention_comparison(cells))
    assert retention.delta.startswith("no difference (") and retention.delta_color == "off"
    assert revenue.delta.startswith("no difference (") and revenue.delta_arrow == "off"


def test_follow_up_note_says_what_is_excluded():
    window = follow_up_window(D(2024, 4, 1), D(2024, 6, 30), D(2023, 1, 1), D(2024, 6, 30))
    totals = totals_frame({"contacts": 50, "contacts_followed_up": 2})
    note = follow_up_note(window, totals, None)
    assert "48 of its 50 contacts have less than 90 days of follow-up and are excluded" in note
    assert "02 Jan 2024 – 01 Apr 2024" in note
    assert "too short" in follow_up_note(None, totals, None)


# --- Verdict ------------------------------------------------------------------------------------


def aht_totals(mean_now, mean_before, n=100, sd=60.0, fcr_now=50, fcr_before=50, **extra):
    """Totals with given mean handle times (seconds, sample sd ``sd``) and FCR counts."""

    def side(mean, fcr):
        return {
            "contacts": n,
            "handle_seconds": n * mean,
            "handle_seconds_sq": (n - 1) * sd**2 + n * mean**2,
            "service_cost": n * 10.0,
            "service_cost_sq": n * 100.0,
            "fcr_contacts": fcr,
        }

    return totals_frame({**side(mean_now, fcr_now), **extra}, side(mean_before, fcr_before))


def test_aht_change_interval_by_hand():
    changes = {c.key: c for c in scorecard_changes(aht_totals(300.0, 400.0))}
    aht = changes["aht"]
    # Change -100 s; SE = sqrt(3600/100 + 3600/100) = 8.485; half-width 1.96 × 8.485 = 16.63.
    assert aht.change == pytest.approx(-100.0)
    assert aht.ci == pytest.approx((-100 - 16.631, -100 + 16.631), abs=1e-3)
    assert aht.direction == "improved"
    # Cost per contact is exactly 10 both times (no spread): a zero-width interval at 0.
    assert changes["cost_per_contact"].direction == "flat"
    assert changes["fcr"].direction == "flat"  # 50% both times
    assert changes["nps_after_contact"].direction == "unknown"  # no survey


def test_fcr_change_interval_by_hand():
    changes = {
        c.key: c
        for c in scorecard_changes(aht_totals(300.0, 300.0, n=400, fcr_now=240, fcr_before=200))
    }
    fcr = changes["fcr"]
    # 60% vs 50%: +10 pts; SE = sqrt(.6·.4/400 + .5·.5/400) = 0.035; half 1.96 × 3.5 = 6.86.
    assert fcr.change == pytest.approx(10.0)
    assert fcr.ci == pytest.approx((10 - 6.860, 10 + 6.860), abs=1e-3)
    assert fcr.direction == "improved"


@pytest.mark.parametrize(
    ("totals", "scorecard"),
    [
        (aht_totals(300.0, 400.0), "cost center"),  # faster, FCR flat
        (aht_totals(300.0, 400.0, fcr_now=20, fcr_before=50), "cost center"),  # faster, worse
        (aht_totals(300.0, 300.0, fcr_now=80, fcr_before=50), "value driver"),
        (aht_totals(450.0, 400.0, fcr_now=80, fcr_before=50), "value driver"),  # slower, better
        (aht_totals(300.0, 400.0, fcr_now=80, fcr_before=50), "both"),
        (aht_totals(300.0, 301.0), "neither"),  # nothing beyond noise
        (aht_totals(450.0, 400.0, fcr_now=20, fcr_before=50), "neither"),  # worse on both
    ],
    ids=["cost", "cost-trading-value", "value", "value-paying-time", "both", "flat", "worse"],
)
def test_verdict_rule(totals, scorecard):
    verdict = scorecard_verdict(totals)
    assert verdict.scorecard == scorecard
    assert "confidence interval" in verdict.rule
    assert ("cost center" in verdict.headline) == (scorecard == "cost center")


def test_verdict_headline_names_what_moved():
    verdict = scorecard_verdict(aht_totals(300.0, 400.0))
    assert "average handle time improved" in verdict.headline
    assert "no measure moved beyond noise" in verdict.headline


def test_describe_change():
    change = {c.key: c for c in scorecard_changes(aht_totals(300.0, 400.0))}["aht"]
    assert describe_change(change) == (
        "Average handle time: 6m 40s → 5m 00s (-100s, 95% CI -117 to -83: improved)"
    )
    unknown = {c.key: c for c in scorecard_changes(aht_totals(300.0, 400.0))}["nps_after_contact"]
    assert "not comparable" in describe_change(unknown)

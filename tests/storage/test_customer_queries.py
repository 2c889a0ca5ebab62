"""Per-customer facts on the tiny portfolio, worked out by hand from tests/fixtures.py."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from dashboard.scope import Scope
from dashboard.storage.customer_queries import SUMMARY_COLUMNS, customer_summary
from tests.fixtures import PERIOD


def test_customer_summary_by_hand(tiny_engine):
    summary = customer_summary(tiny_engine, Scope(*PERIOD)).set_index("customer_id")
    assert list(summary.reset_index().columns) == list(SUMMARY_COLUMNS)
    # Dan (4) is acquired after 30 June 2024: not yet a customer.
    assert list(summary.index) == ["1", "2", "3"]
    alice = summary.loc["1"]
    assert (alice["orders"], alice["order_days"]) == (3, 3)
    assert alice["revenue"] == pytest.approx(600.0)
    assert alice["gross_margin"] == pytest.approx(80 + 50 + 150)
    assert alice["orders_period"] == 2 and alice["revenue_period"] == pytest.approx(400.0)
    assert alice["first_order"] == pd.Timestamp("2024-01-10")
    assert alice["last_order"] == pd.Timestamp("2024-06-20")
    assert (alice["contacts"], alice["service_cost"], alice["fcr_contacts"]) == (1, 10.0, 1)
    assert alice["referrals_made"] == 2
    # Alice's latest answers: survey 1 (5, 10) of 6 April beats survey 5 (3, 6) of 1 March.
    assert (alice["latest_csat"], alice["latest_nps"]) == (5, 10)
    bob = summary.loc["2"]
    assert bob["gross_margin"] == pytest.approx(20 - 10)
    assert (bob["contacts"], bob["fcr_contacts"], bob["handle_seconds"]) == (2, 1, 1200)
    # Bob's latest answer is survey 3 of 4 May: CSAT 4, NPS 8.
    assert (bob["latest_csat"], bob["latest_nps"]) == (4, 8)
    cara = summary.loc["3"]
    # Cara's only survey has no CSAT: latest CSAT is missing, NPS 9.
    assert pd.isna(cara["latest_csat"]) and cara["latest_nps"] == 9
    assert cara["contacts"] == 1 and cara["referrals_made"] == 0
    # All of Alice's revenue is within the last 12 months to 30 June 2024.
    assert alice["revenue_last_12m"] == pytest.approx(600.0)
    assert alice["revenue_prior_12m"] == 0


def test_customer_summary_respects_scope(tiny_engine):
    south = customer_summary(tiny_engine, replace(Scope(*PERIOD), regions=("South",)))
    assert list(south["customer_id"]) == ["3"]
    nobody = customer_summary(tiny_engine, replace(Scope(*PERIOD), regions=("Atlantis",)))
    assert nobody.empty

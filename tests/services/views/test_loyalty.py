"""The Loyalty vs satisfaction view (dashboard/services/views/loyalty.py) on the tiny portfolio.

The view must hold exactly what the page used to compute from the queries and domain functions
itself: the figures were worked out by hand in tests/domain and tests/storage (and on the page,
tests/app/test_loyalty_page.py), so here the view is compared with that composition.
"""

from __future__ import annotations

import math
import pickle
from dataclasses import replace
from datetime import date

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dashboard.domain import loyalty
from dashboard.scope import Scope
from dashboard.services.views import loyalty as loyalty_view
from dashboard.storage.loyalty_queries import loyalty_inputs
from tests.fixtures import PERIOD


def test_matches_the_domain_functions(tiny_engine):
    scope = Scope(*PERIOD)
    view = loyalty_view.view(tiny_engine, scope)
    inputs = loyalty_inputs(tiny_engine, scope)
    # No fit stored in the tiny store: "still active" is recency.
    customers = loyalty.customer_loyalty(inputs, scope.end, use_probability_alive=False)
    assert view.uses_probability_alive is False and view.run is None
    assert view.customers_in_view == len(inputs) > 0
    assert_frame_equal(view.summary, loyalty.quadrant_summary(customers))
    assert view.risk == loyalty.revenue_at_risk(customers)
    assert view.explains.customers == loyalty.satisfaction_explains(customers).customers
    assert view.verdict == view.explains.sentence()
    assert_frame_equal(view.action_list, loyalty.satisfied_but_leaving(customers))
    assert view.action_customers == len(view.action_list) == 2
    # The download lists every one, read again from the store.
    assert_frame_equal(loyalty_view.action_list(tiny_engine, scope), view.action_list)
    assert view.sources == loyalty.activity_sources(customers)
    assert_frame_equal(view.components, loyalty.component_table(uses_probability_alive=False))
    # A handful of surveyed customers: one mark each, no density grid.
    assert view.density is None
    assert_frame_equal(view.scatter, loyalty.scatter_points(customers, random_state=0))


def test_figures_by_hand(tiny_engine):
    view = loyalty_view.view(tiny_engine, Scope(*PERIOD))
    # Bob 130 + Cara 400 of 600 + 130 + 400 = 1130 (tests/app/test_loyalty_page.py).
    assert view.risk.revenue_last_12m == pytest.approx(530.0)
    assert view.risk.share_of_revenue == pytest.approx(100 * 530 / 1130)
    assert view.risk.customers == 2
    assert view.summary.set_index("quadrant")["customers"].tolist() == [1, 2, 0, 0, 0]
    assert view.action_list["name"].tolist() == ["Cara", "Bob"]
    assert "Too few customers" in view.verdict  # three answers: no interval


def test_trends_over_twelve_months(tiny_engine):
    view = loyalty_view.view(tiny_engine, Scope(*PERIOD))
    # The quarter is widened to the 12 months ending with June 2024.
    assert (view.trend_start, view.trend_end) == (date(2023, 7, 1), date(2024, 6, 30))
    trends = view.trends.set_index("month")
    assert len(trends) == 12
    # NPS answers: March Alice 6 (detractor); April Alice 10; May Bob 3 and 8; June Cara 9.
    nps = trends["nps"]
    assert nps[pd.Timestamp("2024-03-01")] == pytest.approx(-100.0)
    assert nps[pd.Timestamp("2024-04-01")] == pytest.approx(100.0)
    assert nps[pd.Timestamp("2024-05-01")] == pytest.approx(-50.0)
    assert nps[pd.Timestamp("2024-06-01")] == pytest.approx(100.0)
    # Buyers: January Alice (first), March Bob (first), April Alice, June Alice, Bob and Cara
    # (first): 2 of 3 had ordered before June.
    rate = trends["repeat_purchase_rate"]
    assert rate[pd.Timestamp("2024-01-01")] == pytest.approx(0.0)
    assert rate[pd.Timestamp("2024-04-01")] == pytest.approx(100.0)
    assert rate[pd.Timestamp("2024-06-01")] == pytest.approx(200 / 3)
    assert math.isnan(rate[pd.Timestamp("2024-05-01")])  # nobody ordered in May


def test_switches_to_a_density_grid_above_the_limit(tiny_engine):
    scope = Scope(*PERIOD)
    view = loyalty_view.view(tiny_engine, scope, scatter_limit=0)
    assert view.scatter is None
    # Every surveyed customer lands in exactly one cell.
    assert view.density["customers"].sum() == view.explains.customers > 0


def test_with_no_customer_in_scope(tiny_engine):
    nobody = replace(Scope(*PERIOD), regions=("Atlantis",))
    view = loyalty_view.view(tiny_engine, nobody)
    assert view.customers_in_view == 0
    assert view.summary is None and view.action_list is None


def test_is_picklable_for_the_cache(tiny_engine):
    view = loyalty_view.view(tiny_engine, Scope(*PERIOD))
    again = pickle.loads(pickle.dumps(view))
    assert isinstance(again.summary, pd.DataFrame)
    assert again.risk == view.risk

"""Derived page data (dashboard/app/page_data.py) on the tiny portfolio.

Each view must hold exactly what the page used to compute from the queries and domain
functions itself: the figures were worked out by hand in tests/domain and tests/storage, so
here the view is compared with that composition, plus the counts that decide the layout.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
from pandas.testing import assert_frame_equal

from dashboard.app import page_data
from dashboard.domain import loyalty
from dashboard.filters import Filters
from dashboard.storage.loyalty_queries import loyalty_inputs
from tests.fixtures import PERIOD


def test_loyalty_view_matches_the_domain_functions(tiny_engine):
    filters = Filters(*PERIOD)
    view = page_data.loyalty_view(tiny_engine, filters)
    inputs = loyalty_inputs(tiny_engine, filters)
    # No fit stored in the tiny store: "still active" is recency.
    customers = loyalty.customer_loyalty(inputs, filters.end, use_probability_alive=False)
    assert view.uses_probability_alive is False
    assert view.customers_in_view == len(inputs) > 0
    assert_frame_equal(view.summary, loyalty.quadrant_summary(customers))
    assert view.risk == loyalty.revenue_at_risk(customers)
    assert view.explains.customers == loyalty.satisfaction_explains(customers).customers
    assert_frame_equal(view.action_list, loyalty.satisfied_but_leaving(customers))
    assert view.sources == loyalty.activity_sources(customers)
    # A handful of surveyed customers: one mark each, no density grid.
    assert view.density is None
    assert_frame_equal(view.scatter, loyalty.scatter_points(customers, random_state=0))


def test_loyalty_view_switches_to_a_density_grid_above_the_limit(tiny_engine):
    filters = Filters(*PERIOD)
    view = page_data.loyalty_view(tiny_engine, filters, scatter_limit=0)
    assert view.scatter is None
    # Every surveyed customer lands in exactly one cell.
    assert view.density["customers"].sum() == view.explains.customers > 0


def test_loyalty_view_with_no_customer_in_scope(tiny_engine):
    nobody = replace(Filters(*PERIOD), regions=("Atlantis",))
    view = page_data.loyalty_view(tiny_engine, nobody)
    assert view.customers_in_view == 0
    assert view.summary is None and view.action_list is None


def test_loyalty_view_is_picklable_for_the_cache(tiny_engine):
    import pickle

    view = page_data.loyalty_view(tiny_engine, Filters(*PERIOD))
    again = pickle.loads(pickle.dumps(view))
    assert isinstance(again.summary, pd.DataFrame)
    assert again.risk == view.risk

"""Derived page data (dashboard/app/page_data.py) on the tiny portfolio.

Each view must hold exactly what the page used to compute from the queries and domain
functions itself: the figures were worked out by hand in tests/domain and tests/storage, so
here the view is compared with that composition, plus the counts that decide the layout.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dashboard.app import page_data
from dashboard.domain import loyalty, value
from dashboard.scope import Scope
from dashboard.storage import clv_store
from dashboard.storage.customer_queries import customer_summary
from dashboard.storage.engine import make_engine
from dashboard.storage.loyalty_queries import loyalty_inputs
from dashboard.storage.value_queries import acquisition_cohorts, payback_facts
from tests.app.test_customer_value_page import store_fit
from tests.fixtures import PERIOD

#: Every group of the tiny store, as the Customer value page passes them.
GROUPS = (
    ("segment_name", ()),
    ("region", ("North", "South")),
    ("acquisition_channel", ("Paid search", "Referral")),
)


def test_loyalty_view_matches_the_domain_functions(tiny_engine):
    scope = Scope(*PERIOD)
    view = page_data.loyalty_view(tiny_engine, scope)
    inputs = loyalty_inputs(tiny_engine, scope)
    # No fit stored in the tiny store: "still active" is recency.
    customers = loyalty.customer_loyalty(inputs, scope.end, use_probability_alive=False)
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
    scope = Scope(*PERIOD)
    view = page_data.loyalty_view(tiny_engine, scope, scatter_limit=0)
    assert view.scatter is None
    # Every surveyed customer lands in exactly one cell.
    assert view.density["customers"].sum() == view.explains.customers > 0


def test_loyalty_view_with_no_customer_in_scope(tiny_engine):
    nobody = replace(Scope(*PERIOD), regions=("Atlantis",))
    view = page_data.loyalty_view(tiny_engine, nobody)
    assert view.customers_in_view == 0
    assert view.summary is None and view.action_list is None


def test_loyalty_view_is_picklable_for_the_cache(tiny_engine):
    import pickle

    view = page_data.loyalty_view(tiny_engine, Scope(*PERIOD))
    again = pickle.loads(pickle.dumps(view))
    assert isinstance(again.summary, pd.DataFrame)
    assert again.risk == view.risk


def test_customer_value_view_profit_on_both_bases(tiny_engine):
    view = page_data.customer_value_view(tiny_engine, Scope(*PERIOD), GROUPS)
    to_date, in_period = view.profit["to_date"], view.profit["in_period"]
    # As on the page (tests/app/test_customer_value_page.py): 170 - 30 + 77 over 3 customers.
    assert to_date.totals.profit == pytest.approx(217.0)
    assert to_date.customers == to_date.totals.customers == 3
    assert in_period.totals.profit == pytest.approx(240.0)
    assert to_date.whale.total_profit == pytest.approx(217.0)
    # One table per grouping present (no segmentation saved), every known region listed.
    assert set(to_date.by_group) == {"region", "acquisition_channel"}
    assert list(to_date.by_group["region"]["region"].sort_values()) == ["North", "South"]
    assert to_date.losing["profit"].lt(0).all()
    assert len(to_date.losing) == to_date.totals.losing_customers
    assert view.has_segments is False
    # No fit stored: no lifetime-value figures, acquisition tables from the facts alone.
    assert view.run_id is None and view.equity is None and view.keep_versus_win is None
    assert set(view.acquisition_tables) == {"channel", "cohort"}


def test_customer_value_view_with_a_stored_fit_matches_the_domain_functions(tiny_url):
    store_fit(tiny_url)
    engine = make_engine(tiny_url)
    scope = Scope(*PERIOD)
    view = page_data.customer_value_view(engine, scope, GROUPS)
    summary = customer_summary(engine, scope)
    run = clv_store.latest_run(engine)
    values = value.lifetime_values(
        summary,
        clv_store.scored_customers(engine, scope, run.run_id),
        calibration_end=run.calibration_end,
    )
    assert view.run_id == run.run_id
    assert view.equity == value.customer_equity(values)
    assert view.keep_versus_win == value.keep_versus_win(values, period_start=scope.start)
    assert_frame_equal(
        view.equity_by_group["region"],
        value.equity_by_group(values, "region", groups=("North", "South")),
    )
    curves = value.payback_curves(
        payback_facts(engine, scope),
        acquisition_cohorts(engine, scope),
        by="channel",
        as_of=scope.end,
    )
    assert_frame_equal(view.payback_curves["channel"], curves)
    assert_frame_equal(
        view.acquisition_tables["channel"],
        value.acquisition_economics(
            values,
            "acquisition_channel",
            period_start=scope.start,
            payback=value.payback_months(curves),
        ),
    )
    engine.dispose()


def test_customer_value_view_with_no_customer_in_scope(tiny_engine):
    nobody = replace(Scope(*PERIOD), regions=("Atlantis",))
    view = page_data.customer_value_view(tiny_engine, nobody, GROUPS)
    assert view.customers_in_view == 0
    assert view.profit is None

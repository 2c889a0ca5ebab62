"""The Customer value view (dashboard/services/views/customer_value.py) on the tiny portfolio.

The view must hold exactly what the page used to compute from the queries and domain functions
itself: the figures were worked out by hand in tests/domain and tests/storage, so here the view
is compared with that composition, plus the counts that decide the layout.
"""

from __future__ import annotations

import pickle
from dataclasses import replace

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dashboard.domain import value
from dashboard.scope import Scope
from dashboard.services.views import customer_value
from dashboard.storage import clv_store
from dashboard.storage.customer_queries import customer_summary
from dashboard.storage.value_queries import acquisition_cohorts, payback_facts
from tests.app.test_customer_value_page import store_fit_in
from tests.fixtures import PERIOD

#: Every region and channel of the tiny store, as the page passes them (``ctx.bounds``).
REGIONS = ("North", "South")
CHANNELS = ("partner", "referral", "search")


def test_profit_on_both_bases(tiny_engine):
    view = customer_value.view(tiny_engine, Scope(*PERIOD), REGIONS, CHANNELS)
    to_date, in_period = view.profit["to_date"], view.profit["in_period"]
    # As on the page (tests/app/test_customer_value_page.py): 170 - 30 + 77 over 3 customers.
    assert to_date.totals.profit == pytest.approx(217.0)
    assert to_date.customers == to_date.totals.customers == 3
    assert in_period.totals.profit == pytest.approx(240.0)
    assert to_date.whale.total_profit == pytest.approx(217.0)
    # One table per grouping present (no segmentation saved), every known region listed.
    assert set(to_date.by_group) == {"region", "acquisition_channel"}
    assert list(to_date.by_group["region"]["region"].sort_values()) == ["North", "South"]
    # Partner has no customer by 30 June (Dan comes in July) and is listed empty.
    channels = to_date.by_group["acquisition_channel"].set_index("acquisition_channel")
    assert channels.loc["partner", "customers"] == 0
    assert channels.loc["search", "profit_per_customer"] == pytest.approx(123.5)
    assert to_date.worst_losses["profit"].lt(0).all()
    assert len(to_date.worst_losses) == to_date.totals.losing_customers == 1  # Bob
    assert_frame_equal(
        customer_value.loss_makers(tiny_engine, Scope(*PERIOD), "to_date"), to_date.worst_losses
    )
    assert view.has_segments is False
    # No fit stored: no lifetime-value figures, acquisition tables from the facts alone.
    assert view.run is None and view.run_id is None
    assert view.holdout_by_frequency is None and view.holdout_tracking is None
    assert view.equity is None and view.keep_versus_win is None
    assert set(view.acquisition_tables) == {"channel", "cohort"}


def test_known_groups_follow_the_scope(tiny_engine):
    scope = Scope(*PERIOD)
    assert customer_value.known_groups(tiny_engine, scope, REGIONS, CHANNELS) == {
        "segment_name": (),
        "region": REGIONS,
        "acquisition_channel": CHANNELS,
    }
    # Without the store's regions and channels, the view reads them; filters narrow them.
    north = replace(scope, regions=("North",), channels=("search",))
    assert customer_value.known_groups(tiny_engine, north) == {
        "segment_name": (),
        "region": ("North",),
        "acquisition_channel": ("search",),
    }
    assert customer_value.known_groups(tiny_engine, scope)["region"] == REGIONS


def test_with_a_stored_fit_matches_the_domain_functions(tiny_engine):
    store_fit_in(tiny_engine)
    scope = Scope(*PERIOD)
    view = customer_value.view(tiny_engine, scope, REGIONS, CHANNELS)
    summary = customer_summary(tiny_engine, scope)
    run = clv_store.latest_run(tiny_engine)
    values = value.lifetime_values(
        summary,
        clv_store.scored_customers(tiny_engine, scope, run.run_id),
        calibration_end=run.calibration_end,
    )
    # The view's sums come from the store's GROUP BY; the domain's from the per-customer frame.
    sums = value.value_sums(
        values, ["region", "acquisition_channel", "acquisition_quarter"], period_start=scope.start
    )
    assert view.run == run and view.run_id == run.run_id == 1
    # The hand-made run stores no margin rule: its settings line names the app's rule.
    assert view.run.describe_settings() == (
        "CLV over the next 36 months, discounted at 10% a year, on gross margin "
        f"({clv_store.MARGIN_RULE}); fitted 16 Jul 2024 09:30 on orders to 30 Jun 2024"
    )
    # Customers acquired by 30 June: Alice, Bob and Cara, CLV 300 + 40 + 150.
    assert view.equity.equity == pytest.approx(490.0)
    assert view.equity == value.customer_equity(sums)
    assert view.keep_versus_win == value.keep_versus_win(sums)
    assert view.keep_versus_win.new_customer_ltv == pytest.approx(350.0)  # Cara: 200 + 150
    assert_frame_equal(
        view.equity_by_group["region"],
        value.equity_by_group(sums, "region", groups=REGIONS),
    )
    curves = value.payback_curves(
        payback_facts(tiny_engine, scope),
        acquisition_cohorts(tiny_engine, scope),
        by="channel",
        as_of=scope.end,
    )
    assert_frame_equal(view.payback_curves["channel"], curves)
    assert_frame_equal(
        view.acquisition_tables["channel"],
        value.acquisition_economics(
            sums,
            "acquisition_channel",
            with_values=True,
            payback=value.payback_months(curves),
        ),
    )
    search = view.acquisition_tables["channel"].set_index("acquisition_channel").loc["search"]
    assert search["ltv_to_cac"] == pytest.approx(465 / 110)
    # The holdout check of the stored fit, as the page draws it.
    assert_frame_equal(view.holdout_by_frequency, run.holdout_by_frequency())
    assert view.holdout_by_frequency["customers"].tolist() == [2, 1]
    # Three weekly points, none partial (7 days apart): all kept.
    assert_frame_equal(view.holdout_tracking, run.holdout_tracking(complete_weeks_only=True))
    assert view.holdout_tracking["actual_weekly"].tolist() == [1.0, 1.0, 2.0]


def test_with_no_customer_in_scope(tiny_engine):
    nobody = replace(Scope(*PERIOD), regions=("Atlantis",))
    view = customer_value.view(tiny_engine, nobody, REGIONS, CHANNELS)
    assert view.customers_in_view == 0
    assert view.profit is None


def test_is_picklable_for_the_cache(tiny_engine):
    store_fit_in(tiny_engine)
    view = customer_value.view(tiny_engine, Scope(*PERIOD), REGIONS, CHANNELS)
    again = pickle.loads(pickle.dumps(view))
    assert isinstance(again.holdout_tracking, pd.DataFrame)
    assert again.run == view.run and again.equity == view.equity

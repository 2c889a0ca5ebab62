"""The Value curves view on the tiny portfolio (tests/fixtures.py): the figures worked out by
hand in tests/storage/test_value_curve_queries.py and tests/domain/test_value_curves.py."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pandas.testing import assert_frame_equal

from dashboard.domain import value_curves as vc
from dashboard.scope import Scope
from dashboard.services.views import value_curves
from dashboard.storage import value_curve_queries as q
from tests.fixtures import PERIOD


def test_groupings_without_a_saved_segmentation(tiny_engine):
    assert value_curves.groupings(tiny_engine, Scope(*PERIOD)) == ("region", "acquisition_channel")


def test_view_by_region_by_hand(tiny_engine):
    scope = Scope(*PERIOD)
    view = value_curves.view(tiny_engine, scope, "region")
    assert view.grouping == "region" and view.has_ratings and view.has_deals
    curves = view.curves.set_index(["group", "attribute"])
    # North: Alice rated price 8/6 and quality 9/9; South: Cara rated price 4/7.
    assert curves.loc[("North", "price"), ["gap", "status"]].tolist() == [2.0, "under-served"]
    assert curves.loc[("North", "quality"), "status"] == "in line"
    assert curves.loc[("South", "price"), ["gap", "status"]].tolist() == [-3.0, "over-served"]
    # Value at stake: the group's 12-month margin × the share of its raters who rated price
    # (1 of 1 in each region): Alice 280, Cara 200.
    assert list(zip(view.gaps["group"], view.gaps["value_at_stake"], strict=True)) == [
        ("North", pytest.approx(280.0)),
        ("South", pytest.approx(200.0)),
    ]
    # April-June: opportunity 2 (prospect, lost in May, 300) and 3 (Cara, open since June).
    assert view.win_loss == vc.WinLossSummary(
        won=0, lost=1, open=1, win_rate=0.0, won_amount=0.0, lost_amount=300.0
    )
    assert view.prospects_included
    assert view.win_rates[["group", "won", "lost", "win_rate"]].values.tolist() == [
        ["Prospects", 0, 1, 0.0]
    ]
    assert view.loss_reasons[["loss_reason", "opportunities", "share"]].values.tolist() == [
        ["price", 1, 1.0]
    ]


def test_view_matches_the_domain_functions(tiny_engine):
    scope = Scope(*PERIOD)
    view = value_curves.view(tiny_engine, scope, "acquisition_channel")
    ratings = q.value_curve_ratings(tiny_engine, scope, "acquisition_channel")
    deals = q.win_loss(tiny_engine, scope, "acquisition_channel")
    assert_frame_equal(view.ratings, ratings)
    assert_frame_equal(view.curves, vc.value_curves(ratings))
    assert_frame_equal(view.gaps, vc.ranked_gaps(vc.value_curves(ratings)))
    assert_frame_equal(view.deals, deals)
    assert view.win_loss == vc.win_loss_summary(deals)
    assert_frame_equal(view.win_rates, vc.win_rate_by(deals, ["month", "group"]))
    assert_frame_equal(view.loss_reasons, vc.loss_reasons(deals))


def test_filters_leave_out_prospects_and_empty_sections(tiny_engine):
    north = replace(Scope(*PERIOD), regions=("North",))
    view = value_curves.view(tiny_engine, north, "region")
    assert not view.prospects_included
    assert not view.has_deals and view.win_loss is None and view.loss_reasons is None
    early = Scope(PERIOD[0], PERIOD[0].replace(month=4, day=30))  # before any rating
    view = value_curves.view(tiny_engine, early, "region")
    assert not view.has_ratings and view.curves is None and view.gaps is None

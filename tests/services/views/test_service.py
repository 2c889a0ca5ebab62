"""The Service view on the tiny portfolio (figures worked out by hand in tests/storage and
tests/domain, and on the Service page) and the driver analysis on the demo generator's data."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from pandas.testing import assert_frame_equal

from dashboard.domain import service, service_agents, service_drivers
from dashboard.scope import Scope
from dashboard.services.demo import build_demo
from dashboard.services.views import service as service_view
from dashboard.storage import queries, service_queries
from dashboard.storage.engine import make_engine
from tests.fixtures import PERIOD

D = date


def tiny_view(engine, scope: Scope | None = None) -> service_view.ServiceView:
    bounds = queries.data_bounds(engine)
    return service_view.view(engine, scope or Scope(*PERIOD), bounds.first_order, bounds.last_order)


def test_view_on_the_tiny_portfolio_by_hand(tiny_engine):
    view = tiny_view(tiny_engine)
    assert view.has_contacts
    assert (view.previous.start, view.previous.end) == (D(2024, 1, 1), D(2024, 3, 31))
    # Data end 15 Jul 2024 - 90 days = 16 Apr: the window of the period's length ends there.
    assert (view.window.start, view.window.end, view.window.shifted) == (
        D(2024, 1, 17),
        D(2024, 4, 16),
        True,
    )
    cost = {k.key: (k.value, k.previous) for k in view.cost_center_kpis}
    assert cost["aht"] == (600.0, 120.0)  # (600 + 300 + 900) / 3 against contact 4's 120 s
    assert cost["contacts_per_agent_day"][0] == pytest.approx(0.5)  # 3 / (2 agents × 3 days)
    assert cost["cost_per_contact"][0] == pytest.approx(10.0)  # 30 / 3
    value = {k.key: (k.value, k.previous) for k in view.value_driver_kpis}
    assert value["fcr"][0] == pytest.approx(200 / 3) and value["fcr"][1] == 100.0
    assert value["nps_after_contact"] == (0.0, None)  # 10, 3, 8; no survey before
    # Customer 1 (contact 04-05, order 06-20: 300) against customer 2 (04-02 + 90 days: 50).
    after = view.after_contact
    assert (after.retention, after.comparable_retention) == (100.0, 100.0)
    assert after.revenue_difference == pytest.approx(250.0)
    assert after.revenue_retained_per_contact == pytest.approx(250.0)
    figures = {f.label: (f.value, f.delta) for f in view.after_contact_figures}
    assert figures["Revenue in the 90 days after contact"] == ("300", "+250 (+250 to +250)")
    assert "2 of its 3 contacts have less than 90 days of follow-up" in view.follow_up_note
    assert view.verdict.scorecard == "neither"
    assert any(line.startswith("Average handle time: ") for line in view.verdict_changes)
    # Two contacts with follow-up: no driver analysis; no agent has 30 contacts.
    assert view.drivers is None and view.driver_effects is None
    assert view.driver_note.startswith("Fewer than 200 contacts")
    assert set(view.rankings) == set(service_agents.VALUE_MEASURES)
    assert not any(ranking.comparable for ranking in view.rankings.values())
    assert view.scenarios is None
    assert view.scenario_sentences[0].startswith("Too few agents")
    assert view.support.startswith("A contact costs 10 on average and is followed by 250")


def test_view_matches_the_domain_functions(tiny_engine):
    scope = Scope(*PERIOD)
    bounds = queries.data_bounds(tiny_engine)
    view = tiny_view(tiny_engine, scope)
    window = service.follow_up_window(scope.start, scope.end, bounds.first_order, bounds.last_order)
    totals = service_queries.contact_totals(
        tiny_engine, scope, service.last_followed_contact_day(bounds.last_order)
    )
    assert view.window == window
    assert_frame_equal(view.totals, totals)
    assert list(view.cost_center_kpis) == service.cost_center_kpis(totals)
    assert list(view.value_driver_kpis) == service.value_driver_kpis(totals)
    cells = service_queries.retention_cells(
        tiny_engine, scope, service.comparison_window_starts(window), window.end, 90
    )
    assert view.after_contact == service.retention_comparison(cells)
    assert view.verdict == service.scorecard_verdict(totals)
    agents = service_agents.agent_scorecard(
        service_queries.agent_activity(tiny_engine, scope),
        service_queries.agent_follow_up(tiny_engine, scope, window.start, window.end, 90),
    )
    assert_frame_equal(view.agents, agents)
    for measure, ranking in view.rankings.items():
        assert_frame_equal(ranking.ranked, service_agents.rank_agents(agents, measure))
        assert ranking.note == service_agents.ranking_note(agents, ranking.ranked)
    assert_frame_equal(view.monthly, service_queries.monthly_contacts(tiny_engine, scope))


def test_no_contacts_in_scope(tiny_engine):
    # Customer 4 (partner) has no contact at all.
    view = tiny_view(tiny_engine, replace(Scope(*PERIOD), channels=("partner",)))
    assert not view.has_contacts
    assert view.verdict is None and view.rankings == {}


# --- The driver analysis on the demo generator's data -------------------------------------------


@pytest.fixture(scope="module")
def demo_engine(tmp_path_factory):
    engine = make_engine(f"duckdb:///{tmp_path_factory.mktemp('demo') / 'demo.duckdb'}")
    build_demo(engine, n_customers=1_000, seed=3, replace=True)
    yield engine
    engine.dispose()


def test_driver_analysis_finds_the_demo_effects(demo_engine):
    """The demo plants FCR -> retention and no effect of handle time (docs/demo-data.md)."""
    bounds = queries.data_bounds(demo_engine)
    scope = Scope(D(2025, 10, 1), bounds.last_order)
    window = service.follow_up_window(scope.start, scope.end, bounds.first_order, bounds.last_order)
    start, end = service.driver_window(window, bounds.first_order)
    analysis = service_view.driver_analysis(demo_engine, scope, start, end, window.follow_up_days)
    fcr = analysis.effect("resolved", "ordered_again")
    handle = analysis.effect("handle_minutes", "ordered_again")
    assert fcr.verdict == "raises" and fcr.ci[0] > 5
    assert handle.verdict in ("none", "negligible")
    assert analysis.effect("resolved", "revenue_after").verdict == "raises"
    assert analysis.summary.startswith("First-contact resolution moves retention")
    # The view holds the same analysis, on the same contacts.
    view = service_view.view(demo_engine, scope, bounds.first_order, bounds.last_order)
    assert view.drivers == analysis and view.driver_window == (start, end)
    assert_frame_equal(view.driver_effects, service_drivers.effects_frame(analysis))
    assert view.driver_note == service_drivers.method_note(analysis, start, end)


def test_every_value_measure_is_ranked_on_the_demo(demo_engine):
    bounds = queries.data_bounds(demo_engine)
    view = service_view.view(
        demo_engine, Scope(D(2025, 1, 1), bounds.last_order), bounds.first_order, bounds.last_order
    )
    for measure, ranking in view.rankings.items():
        assert ranking.comparable, measure
        label = service_agents.VALUE_MEASURES[measure][0]
        expected = service_agents.compare_rankings(ranking.ranked, label).sentence
        assert ranking.sentence == expected
        assert_frame_equal(ranking.table, service_agents.agent_table(ranking.ranked))
    assert view.scenarios is not None and len(view.scenario_sentences) >= 1

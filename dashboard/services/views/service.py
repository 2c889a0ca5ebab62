"""Service page: the same contacts as a cost center and as a value driver, the verdict, the
driver analysis and the agents ranked two ways (docs/metrics.md, "Service")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
from sqlalchemy import Engine

from dashboard.domain import service, service_agents, service_drivers
from dashboard.domain.metrics import Kpi
from dashboard.scope import Scope
from dashboard.storage import service_queries

#: What each function of this module computes, shown while it runs on a cache miss
#: (``dashboard.app.context.load`` adds the period and filters).
COMPUTING = {
    "view": "Computing service cost, retention after contact, the driver analysis and the "
    "agent rankings"
}


@dataclass(frozen=True)
class AgentRanking:
    """Agents ranked by speed and by one value measure of ``service_agents.VALUE_MEASURES``.

    Attributes
    ----------
    measure, label, unit:
        The value measure's key, label and unit.
    ranked:
        :func:`~dashboard.domain.service_agents.rank_agents` (fewer than two rows: no ranking
        to compare).
    sentence:
        :func:`~dashboard.domain.service_agents.compare_rankings`' sentence.
    table:
        The ranked agents as the page's table
        (:func:`~dashboard.domain.service_agents.agent_table`).
    note:
        Which agents the ranking leaves out (:func:`~dashboard.domain.service_agents.ranking_note`).
    """

    measure: str
    label: str
    unit: str
    ranked: pd.DataFrame
    sentence: str
    table: pd.DataFrame
    note: str

    @property
    def comparable(self) -> bool:
        """At least two agents are ranked, so the two rankings can be compared."""
        return len(self.ranked) >= 2


@dataclass(frozen=True)
class ServiceView:
    """What the Service page shows for a scope.

    Attributes
    ----------
    has_contacts:
        Whether the period has a service contact in scope (else nothing else is filled).
    previous:
        The period the scorecards compare with (:meth:`Scope.previous_period`).
    window:
        The contacts with complete follow-up behind the after-contact figures
        (:func:`~dashboard.domain.service.follow_up_window`; None when the store's history is
        too short).
    totals:
        ``service_queries.contact_totals`` of the period and the previous one.
    cost_center_kpis, value_driver_kpis:
        The two scorecards, each figure with the previous period's value.
    after_contact:
        Retention and revenue after contact against comparable customers (None without window).
    after_contact_figures:
        Those figures formatted for the metric cards.
    follow_up_note:
        What window the after-contact figures cover and which contacts they leave out.
    verdict, verdict_changes:
        Which scorecard the company is running, and each measure's change as a line.
    drivers, driver_window, driver_effects, driver_note:
        The driver analysis (None below ``MIN_DRIVER_CONTACTS`` or without window), the contact
        dates it learned from, its effects as chart rows, and the note under the chart (how it
        was fitted) or in its place (why it is not shown).
    agents:
        Both lenses per agent (:func:`~dashboard.domain.service_agents.agent_scorecard`).
    rankings:
        An :class:`AgentRanking` per key of ``service_agents.VALUE_MEASURES``.
    scenarios, scenario_sentences:
        What would change under the other scorecard, and the sentences under the verdict.
    support:
        "What the data support" (:func:`~dashboard.domain.service.support_sentence`).
    monthly:
        ``service_queries.monthly_contacts``: both lenses per calendar month.
    """

    has_contacts: bool
    previous: Scope
    window: service.FollowUpWindow | None = None
    totals: pd.DataFrame | None = None
    cost_center_kpis: tuple[Kpi, ...] = ()
    value_driver_kpis: tuple[Kpi, ...] = ()
    after_contact: service.RetentionComparison | None = None
    after_contact_figures: tuple[service.AfterContactFigure, ...] = ()
    follow_up_note: str = ""
    verdict: service.ScorecardVerdict | None = None
    verdict_changes: tuple[str, ...] = ()
    drivers: service_drivers.DriverAnalysis | None = None
    driver_window: tuple[date, date] | None = None
    driver_effects: pd.DataFrame | None = None
    driver_note: str = ""
    agents: pd.DataFrame | None = None
    rankings: Mapping[str, AgentRanking] = field(default_factory=dict)
    scenarios: Mapping[str, service_agents.Scenario] | None = None
    scenario_sentences: tuple[str, ...] = ()
    support: str = ""
    monthly: pd.DataFrame | None = None


def driver_analysis(
    engine: Engine,
    scope: Scope,
    window_start: date,
    window_end: date,
    follow_up_days: int,
    max_contacts: int = service_drivers.MAX_DRIVER_CONTACTS,
) -> service_drivers.DriverAnalysis | None:
    """The driver analysis of the window's contacts: ``service_queries.contact_outcomes`` (the
    ``max_contacts`` most recent) fitted by ``service_drivers.analyse_drivers``. Not stored:
    the fit takes a few hundred milliseconds and is cached with the view."""
    outcomes = service_queries.contact_outcomes(
        engine, scope, window_start, window_end, follow_up_days, max_contacts
    )
    return service_drivers.analyse_drivers(outcomes, follow_up_days)


def _ranking(agents: pd.DataFrame, measure: str) -> AgentRanking:
    label, unit = service_agents.VALUE_MEASURES[measure]
    ranked = service_agents.rank_agents(agents, measure)
    return AgentRanking(
        measure=measure,
        label=label,
        unit=unit,
        ranked=ranked,
        sentence=service_agents.compare_rankings(ranked, label).sentence,
        table=service_agents.agent_table(ranked),
        note=service_agents.ranking_note(agents, ranked),
    )


def view(engine: Engine, scope: Scope, data_start: date, data_end: date) -> ServiceView:
    """Everything the Service page shows for ``scope``.

    ``data_start`` and ``data_end`` are the first and last order dates in the store
    (``queries.data_bounds``): they decide which contacts have a complete follow-up.
    """
    previous = scope.previous_period()
    window = service.follow_up_window(scope.start, scope.end, data_start, data_end)
    totals = service_queries.contact_totals(
        engine, scope, service.last_followed_contact_day(data_end)
    )
    if not service.has_contacts(totals):
        return ServiceView(has_contacts=False, previous=previous, window=window, totals=totals)

    after_contact = None
    drivers = None
    driver_dates = None
    if window:
        cells = service_queries.retention_cells(
            engine,
            scope,
            service.comparison_window_starts(window),
            window.end,
            window.follow_up_days,
        )
        after_contact = service.retention_comparison(cells)
        driver_dates = service.driver_window(window, data_start)
        drivers = driver_analysis(engine, scope, *driver_dates, window.follow_up_days)
        follow_up = service_queries.agent_follow_up(
            engine, scope, window.start, window.end, window.follow_up_days
        )
    else:
        follow_up = service_agents.empty_follow_up()
    agents = service_agents.agent_scorecard(
        service_queries.agent_activity(engine, scope), follow_up
    )
    verdict = service.scorecard_verdict(totals)
    scenarios = service_agents.what_would_change(agents, drivers, totals)
    return ServiceView(
        has_contacts=True,
        previous=previous,
        window=window,
        totals=totals,
        cost_center_kpis=tuple(service.cost_center_kpis(totals)),
        value_driver_kpis=tuple(service.value_driver_kpis(totals)),
        after_contact=after_contact,
        after_contact_figures=tuple(service.after_contact_figures(after_contact)),
        follow_up_note=service.follow_up_note(window, totals, after_contact),
        verdict=verdict,
        verdict_changes=tuple(service.describe_change(change) for change in verdict.changes),
        drivers=drivers,
        driver_window=driver_dates,
        driver_effects=None if drivers is None else service_drivers.effects_frame(drivers),
        driver_note=(
            service_drivers.not_enough_note(window)
            if drivers is None
            else service_drivers.method_note(drivers, *driver_dates)
        ),
        agents=agents,
        rankings={measure: _ranking(agents, measure) for measure in service_agents.VALUE_MEASURES},
        scenarios=scenarios,
        scenario_sentences=tuple(service_agents.scenario_sentences(scenarios, verdict.scorecard)),
        support=service.support_sentence(drivers, after_contact, totals),
        monthly=service_queries.monthly_contacts(engine, scope),
    )

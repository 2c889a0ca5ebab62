"""Loyalty vs satisfaction page: what customers do (a behavioural loyalty index) against what
they say (their latest CSAT and NPS answers), quadrants, revenue at risk and the trends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import Engine

from dashboard.domain import loyalty
from dashboard.scope import Scope
from dashboard.storage import clv_store, loyalty_queries

#: What each function of this module computes, shown while it runs on a cache miss
#: (``dashboard.app.context.load`` adds the period and filters).
COMPUTING = {
    "view": "Scoring every customer's loyalty against their satisfaction",
    "action_list": "Listing every customer who is satisfied but leaving",
}

#: Up to this many customers with a survey answer, one mark per customer; above, a density
#: grid.
LOYALTY_SCATTER_LIMIT = 2_000

#: Customers of the "satisfied but leaving" action list the view holds (the most valuable);
#: the download holds all (:func:`action_list`): a browser cannot take 100k rows.
ACTION_LIST_SHOWN = 1_000


@dataclass(frozen=True)
class LoyaltyView:
    """Everything the Loyalty vs satisfaction page shows that depends on the filters.

    Attributes
    ----------
    customers_in_view:
        Customers in scope (acquired up to the period's end); 0 means "nothing to show" (the
        other fields but ``run`` and ``uses_probability_alive`` are then None).
    uses_probability_alive:
        Whether "still active" uses P(alive) of the stored fit (close to the period's end).
    run:
        The latest stored lifetime-value fit (None: none stored): its date, data end and
        settings (:meth:`~dashboard.storage.clv_store.ClvRun.describe_settings`).
    summary:
        :func:`dashboard.domain.loyalty.quadrant_summary`.
    risk, explains:
        :func:`~dashboard.domain.loyalty.revenue_at_risk`,
        :func:`~dashboard.domain.loyalty.satisfaction_explains`.
    verdict:
        ``explains.sentence()``: how much satisfaction explains loyalty, in words.
    scatter:
        One row per surveyed customer (:func:`~dashboard.domain.loyalty.scatter_points`) when
        they are at most ``scatter_limit``, else None.
    density:
        :func:`~dashboard.domain.loyalty.density_grid` above the limit, else None.
    action_list, action_customers:
        The :data:`ACTION_LIST_SHOWN` most valuable of
        :func:`~dashboard.domain.loyalty.satisfied_but_leaving`, and how many there are in all
        (:func:`action_list` lists them all).
    sources:
        :func:`~dashboard.domain.loyalty.activity_sources`.
    components:
        :func:`~dashboard.domain.loyalty.component_table` of the settings, as "still active"
        is scored here.
    trends, trend_start, trend_end:
        :func:`~dashboard.domain.loyalty.monthly_trends` over the period widened to 12 months
        (:func:`~dashboard.domain.loyalty.trend_filters`), and that span.
    """

    customers_in_view: int
    uses_probability_alive: bool
    run: clv_store.ClvRun | None = None
    summary: pd.DataFrame | None = None
    risk: loyalty.RevenueAtRisk | None = None
    explains: loyalty.SatisfactionExplains | None = None
    verdict: str | None = None
    scatter: pd.DataFrame | None = None
    density: pd.DataFrame | None = None
    action_list: pd.DataFrame | None = None
    action_customers: int = 0
    sources: dict[str, int] | None = None
    components: pd.DataFrame | None = None
    trends: pd.DataFrame | None = None
    trend_start: date | None = None
    trend_end: date | None = None


def view(
    engine: Engine,
    scope: Scope,
    settings: loyalty.LoyaltySettings = loyalty.DEFAULT_SETTINGS,
    *,
    scatter_limit: int = LOYALTY_SCATTER_LIMIT,
) -> LoyaltyView:
    """Loyalty, satisfaction and quadrants of the customers in scope, as of ``scope.end``.

    Reads :func:`~dashboard.storage.loyalty_queries.loyalty_inputs` and the latest stored
    lifetime-value fit, scores every customer (:func:`~dashboard.domain.loyalty.customer_loyalty`)
    and keeps only what the page shows, with the monthly NPS and repeat-purchase trends. The
    names, regions and channels are read only for the customers listed or plotted.
    """
    inputs = loyalty_queries.loyalty_inputs(engine, scope, identity=False)
    run = clv_store.latest_run(engine)
    uses_p_alive = loyalty.fit_applies(run.calibration_end if run else None, scope.end)
    if inputs.empty:
        return LoyaltyView(customers_in_view=0, uses_probability_alive=uses_p_alive, run=run)
    customers = loyalty.customer_loyalty(
        inputs, scope.end, settings, use_probability_alive=uses_p_alive
    )
    del inputs
    explains = loyalty.satisfaction_explains(customers)
    small = explains.customers <= scatter_limit
    leaving = loyalty.satisfied_but_leaving(customers)
    trend_scope = loyalty.trend_filters(scope)
    return LoyaltyView(
        customers_in_view=len(customers),
        uses_probability_alive=uses_p_alive,
        run=run,
        summary=loyalty.quadrant_summary(customers),
        risk=loyalty.revenue_at_risk(customers),
        explains=explains,
        verdict=explains.sentence(),
        scatter=_scatter(engine, scope, customers) if small else None,
        density=None if small else loyalty.density_grid(customers),
        action_list=_identified(
            engine, scope, leaving.head(ACTION_LIST_SHOWN), loyalty.ACTION_LIST_COLUMNS
        ),
        action_customers=len(leaving),
        sources=loyalty.activity_sources(customers),
        components=loyalty.component_table(settings, uses_probability_alive=uses_p_alive),
        trends=loyalty.monthly_trends(
            loyalty_queries.monthly_survey_answers(engine, trend_scope),
            loyalty_queries.monthly_repeat_buyers(
                engine, trend_scope, first_orders_start=scope.start
            ),
            trend_scope.start,
            trend_scope.end,
        ),
        trend_start=trend_scope.start,
        trend_end=trend_scope.end,
    )


def _identified(
    engine: Engine, scope: Scope, frame: pd.DataFrame, order: Sequence[str]
) -> pd.DataFrame:
    """``frame`` (same rows, same index) with the name, region and channel of its customers,
    its columns in the ``order`` given (any others after them)."""
    known = loyalty_queries.customer_identity(engine, scope, frame["customer_id"])
    merged = frame.merge(known, on="customer_id", how="left")
    merged.index = frame.index
    first = [c for c in order if c in merged.columns]
    return merged[first + [c for c in merged.columns if c not in first]]


def _scatter(engine: Engine, scope: Scope, customers: pd.DataFrame) -> pd.DataFrame:
    """:func:`~dashboard.domain.loyalty.scatter_points` of the surveyed customers, with their
    names. The customers are put in id order first: each point's nudge depends on its place."""
    ranked = customers.sort_values("customer_id", ignore_index=True)
    points = loyalty.scatter_points(ranked, random_state=0)
    return _identified(engine, scope, points, loyalty_queries.INPUT_COLUMNS)


def action_list(
    engine: Engine, scope: Scope, settings: loyalty.LoyaltySettings = loyalty.DEFAULT_SETTINGS
) -> pd.DataFrame:
    """Every "satisfied but leaving" customer in scope, most valuable first: the download of
    the page's action list (read when it is asked for, not with the page)."""
    inputs = loyalty_queries.loyalty_inputs(engine, scope)
    if inputs.empty:
        return pd.DataFrame(columns=list(loyalty.ACTION_LIST_COLUMNS))
    run = clv_store.latest_run(engine)
    uses_p_alive = loyalty.fit_applies(run.calibration_end if run else None, scope.end)
    customers = loyalty.customer_loyalty(
        inputs, scope.end, settings, use_probability_alive=uses_p_alive
    )
    return loyalty.satisfied_but_leaving(customers)

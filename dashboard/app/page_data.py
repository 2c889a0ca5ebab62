"""Derived page data: a page's queries followed by its domain functions, cached as one.

A page that needs per-customer frames (one row per customer: a million rows on a big store)
would otherwise redo its pandas work on every rerun, because ``load`` caches only what a
query returns. Each function here takes the engine first and hashable arguments, runs the
storage queries and the domain functions, and returns a small frozen result: the figures,
tables and chart inputs the page shows. A page calls it through
:func:`dashboard.app.context.load`, so a warm rerun only lays out.

No Streamlit import here: the functions are plain and tested on the tiny store.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine

from dashboard.domain import loyalty
from dashboard.filters import Filters
from dashboard.storage import clv_store, loyalty_queries

#: Loyalty page: up to this many customers with a survey answer, one mark per customer;
#: above, a density grid.
LOYALTY_SCATTER_LIMIT = 2_000


@dataclass(frozen=True)
class LoyaltyView:
    """Everything the Loyalty vs satisfaction page shows that depends on the filters.

    Attributes
    ----------
    customers_in_view:
        Customers in scope (acquired up to the period's end); 0 means "nothing to show".
    uses_probability_alive:
        Whether "still active" uses P(alive) of the stored fit (close to the period's end).
    summary:
        :func:`dashboard.domain.loyalty.quadrant_summary`.
    risk, explains:
        :func:`~dashboard.domain.loyalty.revenue_at_risk`,
        :func:`~dashboard.domain.loyalty.satisfaction_explains`.
    scatter:
        One row per surveyed customer (:func:`~dashboard.domain.loyalty.scatter_points`) when
        they are at most :data:`LOYALTY_SCATTER_LIMIT`, else None.
    density:
        :func:`~dashboard.domain.loyalty.density_grid` above the limit, else None.
    action_list:
        :func:`~dashboard.domain.loyalty.satisfied_but_leaving`.
    sources:
        :func:`~dashboard.domain.loyalty.activity_sources`.
    """

    customers_in_view: int
    uses_probability_alive: bool
    summary: pd.DataFrame | None = None
    risk: loyalty.RevenueAtRisk | None = None
    explains: loyalty.SatisfactionExplains | None = None
    scatter: pd.DataFrame | None = None
    density: pd.DataFrame | None = None
    action_list: pd.DataFrame | None = None
    sources: dict[str, int] | None = None


def loyalty_view(
    engine: Engine,
    filters: Filters,
    settings: loyalty.LoyaltySettings = loyalty.DEFAULT_SETTINGS,
    *,
    scatter_limit: int = LOYALTY_SCATTER_LIMIT,
) -> LoyaltyView:
    """Loyalty, satisfaction and quadrants of the customers in scope, as of ``filters.end``.

    Reads :func:`~dashboard.storage.loyalty_queries.loyalty_inputs` and the latest stored
    lifetime-value fit, scores every customer (:func:`~dashboard.domain.loyalty.customer_loyalty`)
    and keeps only what the page shows.
    """
    inputs = loyalty_queries.loyalty_inputs(engine, filters)
    run = clv_store.latest_run(engine)
    uses_p_alive = loyalty.fit_applies(run.calibration_end if run else None, filters.end)
    if inputs.empty:
        return LoyaltyView(customers_in_view=0, uses_probability_alive=uses_p_alive)
    customers = loyalty.customer_loyalty(
        inputs, filters.end, settings, use_probability_alive=uses_p_alive
    )
    del inputs
    explains = loyalty.satisfaction_explains(customers)
    small = explains.customers <= scatter_limit
    return LoyaltyView(
        customers_in_view=len(customers),
        uses_probability_alive=uses_p_alive,
        summary=loyalty.quadrant_summary(customers),
        risk=loyalty.revenue_at_risk(customers),
        explains=explains,
        scatter=loyalty.scatter_points(customers, random_state=0) if small else None,
        density=None if small else loyalty.density_grid(customers),
        action_list=loyalty.satisfied_but_leaving(customers),
        sources=loyalty.activity_sources(customers),
    )

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

from dashboard.domain import loyalty, value
from dashboard.scope import Scope
from dashboard.storage import clv_store, loyalty_queries, value_queries
from dashboard.storage.customer_queries import customer_summary

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
    scope: Scope,
    settings: loyalty.LoyaltySettings = loyalty.DEFAULT_SETTINGS,
    *,
    scatter_limit: int = LOYALTY_SCATTER_LIMIT,
) -> LoyaltyView:
    """Loyalty, satisfaction and quadrants of the customers in scope, as of ``scope.end``.

    Reads :func:`~dashboard.storage.loyalty_queries.loyalty_inputs` and the latest stored
    lifetime-value fit, scores every customer (:func:`~dashboard.domain.loyalty.customer_loyalty`)
    and keeps only what the page shows.
    """
    inputs = loyalty_queries.loyalty_inputs(engine, scope)
    run = clv_store.latest_run(engine)
    uses_p_alive = loyalty.fit_applies(run.calibration_end if run else None, scope.end)
    if inputs.empty:
        return LoyaltyView(customers_in_view=0, uses_probability_alive=uses_p_alive)
    customers = loyalty.customer_loyalty(
        inputs, scope.end, settings, use_probability_alive=uses_p_alive
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


# --------------------------------------------------------------------------------------
# Customer value
# --------------------------------------------------------------------------------------

#: Groupings of the acquisition table and payback curves: key -> grouping column.
PAYBACK_GROUPINGS = {"channel": "acquisition_channel", "cohort": "acquisition_quarter"}


@dataclass(frozen=True)
class ProfitView:
    """Profit figures of one basis (``to_date`` or ``in_period``).

    ``customers`` counts the customers counted on this basis (0: nobody ordered, contacted
    service or was acquired in the period); the other fields are then None.
    ``by_group`` maps each grouping column to :func:`~dashboard.domain.value.profit_by_group`;
    ``losing`` is :func:`~dashboard.domain.value.loss_makers` (every loss maker, worst first).
    """

    customers: int
    totals: value.ProfitTotals | None = None
    whale: value.WhaleCurve | None = None
    by_group: dict[str, pd.DataFrame] | None = None
    losing: pd.DataFrame | None = None


@dataclass(frozen=True)
class CustomerValueView:
    """Everything the Customer value page shows that depends on the filters.

    Attributes
    ----------
    customers_in_view:
        Customers in scope (acquired up to the period's end); 0 means "nothing to show".
    has_segments:
        Whether a segmentation is saved (the ``segment_name`` grouping exists).
    cost_gaps:
        :func:`~dashboard.domain.value.cost_data_gaps`.
    profit:
        One :class:`ProfitView` per basis of :data:`~dashboard.domain.value.PROFIT_BASES`.
    run_id:
        The lifetime-value fit the predictions come from (None: no fit stored; the
        lifetime-value fields are then None).
    equity, equity_by_group, keep_versus_win:
        :func:`~dashboard.domain.value.customer_equity`, ``equity_by_group`` per grouping
        column, :func:`~dashboard.domain.value.keep_versus_win`.
    payback_curves, acquisition_tables:
        Per key of :data:`PAYBACK_GROUPINGS`: :func:`~dashboard.domain.value.payback_curves`
        and :func:`~dashboard.domain.value.acquisition_economics` with their payback months.
    """

    customers_in_view: int
    has_segments: bool = False
    cost_gaps: tuple[str, ...] = ()
    profit: dict[str, ProfitView] | None = None
    run_id: int | None = None
    equity: value.Equity | None = None
    equity_by_group: dict[str, pd.DataFrame] | None = None
    keep_versus_win: value.KeepVersusWin | None = None
    payback_curves: dict[str, pd.DataFrame] | None = None
    acquisition_tables: dict[str, pd.DataFrame] | None = None


def _profit_view(
    summary: pd.DataFrame, basis: str, period_start, groups: dict[str, tuple]
) -> ProfitView:
    profit = value.customer_profit(summary, basis=basis, period_start=period_start)
    if profit.empty:
        return ProfitView(customers=0)
    return ProfitView(
        customers=len(profit),
        totals=value.profit_totals(profit),
        whale=value.whale_curve(profit["profit"]),
        by_group={
            by: value.profit_by_group(profit, by, groups=known)
            for by, known in groups.items()
            if by in profit.columns
        },
        losing=value.loss_makers(profit),
    )


def customer_value_view(
    engine: Engine, scope: Scope, groups: tuple[tuple[str, tuple], ...]
) -> CustomerValueView:
    """Profit, whale curve, lifetime value, equity and acquisition economics in scope.

    Parameters
    ----------
    engine, scope:
        The store and the page's scope. Profit "to date" covers everything up to
        ``scope.end``; "in period" from ``scope.start`` to ``scope.end``.
    groups:
        ``(grouping column, every group that exists)`` pairs, e.g.
        ``(("region", ("North", "South")), ...)``: groups without a customer in scope are
        listed empty. Segments apply only when a segmentation is saved.

    Both profit bases are computed at once, so switching between them is a cache hit.
    """
    summary = customer_summary(engine, scope)
    if summary.empty:
        return CustomerValueView(customers_in_view=0)
    summary = value.attach_segments(summary, value_queries.customer_segments(engine, scope))
    known_groups = dict(groups)
    profit = {
        basis: _profit_view(summary, basis, scope.start, known_groups)
        for basis in value.PROFIT_BASES
    }
    run = clv_store.latest_run(engine)
    values = None
    if run is not None:
        scored = clv_store.scored_customers(engine, scope, run.run_id)
        values = value.lifetime_values(summary, scored, calibration_end=run.calibration_end)
    acquisition_frame = summary if values is None else values
    facts = value_queries.payback_facts(engine, scope)
    cohorts = value_queries.acquisition_cohorts(engine, scope)
    curves = {
        key: value.payback_curves(facts, cohorts, by=key, as_of=scope.end)
        for key in PAYBACK_GROUPINGS
    }
    tables = {
        key: value.acquisition_economics(
            acquisition_frame,
            column,
            period_start=scope.start,
            payback=value.payback_months(curves[key]),
        )
        for key, column in PAYBACK_GROUPINGS.items()
    }
    return CustomerValueView(
        customers_in_view=len(summary),
        has_segments="segment_name" in summary.columns,
        cost_gaps=tuple(value.cost_data_gaps(summary)),
        profit=profit,
        run_id=None if run is None else run.run_id,
        equity=None if values is None else value.customer_equity(values),
        equity_by_group=None
        if values is None
        else {
            by: value.equity_by_group(values, by, groups=known)
            for by, known in known_groups.items()
            if by in values.columns
        },
        keep_versus_win=None
        if values is None
        else value.keep_versus_win(values, period_start=scope.start),
        payback_curves=curves,
        acquisition_tables=tables,
    )

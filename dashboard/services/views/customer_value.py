"""Customer value page: profit and the whale curve, lifetime value and customer equity beside
the stored fit's holdout check, and what acquisition is worth (LTV/CAC, payback)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine

from dashboard.domain import value
from dashboard.scope import Scope
from dashboard.storage import clv_store, queries, value_queries
from dashboard.storage.customer_queries import customer_summary

#: What each function of this module computes, shown while it runs on a cache miss
#: (``dashboard.app.context.load`` adds the period and filters).
COMPUTING = {
    "view": "Computing profit per customer, the whale curve, lifetime value, customer equity "
    "and payback"
}

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
    run:
        The stored lifetime-value fit the predictions come from (None: no fit stored; the
        lifetime-value fields are then None): its date, settings line
        (:meth:`~dashboard.storage.clv_store.ClvRun.describe_settings`), parameters,
        diagnostics and holdout sentence
        (:meth:`~dashboard.storage.clv_store.ClvRun.describe_holdout`).
    run_id:
        ``run.run_id`` (None without a fit).
    holdout_by_frequency, holdout_tracking:
        The fit's holdout check by past repeat purchases and week by week (complete weeks
        only): :meth:`~dashboard.storage.clv_store.ClvRun.holdout_by_frequency` and
        :meth:`~dashboard.storage.clv_store.ClvRun.holdout_tracking`. None without a fit,
        and for a scope restricted to some regions (the check counts every region's
        customers); empty without a holdout check.
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
    run: clv_store.ClvRun | None = None
    holdout_by_frequency: pd.DataFrame | None = None
    holdout_tracking: pd.DataFrame | None = None
    equity: value.Equity | None = None
    equity_by_group: dict[str, pd.DataFrame] | None = None
    keep_versus_win: value.KeepVersusWin | None = None
    payback_curves: dict[str, pd.DataFrame] | None = None
    acquisition_tables: dict[str, pd.DataFrame] | None = None

    @property
    def run_id(self) -> int | None:
        return None if self.run is None else self.run.run_id


def known_groups(
    engine: Engine,
    scope: Scope,
    regions: tuple[str, ...] | None = None,
    channels: tuple[str, ...] | None = None,
) -> dict[str, tuple]:
    """Every group of each grouping column, listed even when no customer in scope is in it.

    Segments of the latest saved segmentation; the scope's regions (after access) or every
    region; the scope's channels or every channel. ``regions``/``channels`` are the store's
    (the page passes its ``ctx.bounds``); None reads them from the store.
    """
    if regions is None or channels is None:
        bounds = queries.data_bounds(engine)
        regions = bounds.regions if regions is None else regions
        channels = bounds.channels if channels is None else channels
    return {
        "segment_name": tuple(value_queries.segment_list(engine)["segment_name"]),
        "region": tuple(scope.effective_regions() or regions),
        "acquisition_channel": tuple(scope.channels or channels),
    }


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


def view(
    engine: Engine,
    scope: Scope,
    regions: tuple[str, ...] | None = None,
    channels: tuple[str, ...] | None = None,
) -> CustomerValueView:
    """Profit, whale curve, lifetime value, equity and acquisition economics in scope.

    Parameters
    ----------
    engine, scope:
        The store and the page's scope. Profit "to date" covers everything up to
        ``scope.end``; "in period" from ``scope.start`` to ``scope.end``.
    regions, channels:
        Every region and acquisition channel of the store (the page passes ``ctx.bounds``'s;
        None reads them from the store): groups without a customer in scope are listed empty
        (:func:`known_groups`). Segments apply only when a segmentation is saved.

    Both profit bases are computed at once, so switching between them is a cache hit.
    """
    summary = customer_summary(engine, scope)
    if summary.empty:
        return CustomerValueView(customers_in_view=0)
    summary = value.attach_segments(summary, value_queries.customer_segments(engine, scope))
    groups = known_groups(engine, scope, regions, channels)
    profit = {
        basis: _profit_view(summary, basis, scope.start, groups) for basis in value.PROFIT_BASES
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
    # The stored holdout check counts every region's customers: not for a restricted scope.
    whole = run is not None and scope.allowed_regions is None
    return CustomerValueView(
        customers_in_view=len(summary),
        has_segments="segment_name" in summary.columns,
        cost_gaps=tuple(value.cost_data_gaps(summary)),
        profit=profit,
        run=run,
        holdout_by_frequency=run.holdout_by_frequency() if whole else None,
        holdout_tracking=run.holdout_tracking(complete_weeks_only=True) if whole else None,
        equity=None if values is None else value.customer_equity(values),
        equity_by_group=None
        if values is None
        else {
            by: value.equity_by_group(values, by, groups=known)
            for by, known in groups.items()
            if by in values.columns
        },
        keep_versus_win=None
        if values is None
        else value.keep_versus_win(values, period_start=scope.start),
        payback_curves=curves,
        acquisition_tables=tables,
    )

"""Overview page: the portfolio's headline figures for the period against the one before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from dashboard.domain import metrics
from dashboard.scope import Scope
from dashboard.storage import clv_store, queries

#: What each function of this module computes, shown while it runs on a cache miss
#: (``dashboard.app.context.load`` adds the period and filters).
COMPUTING = {"view": "Computing the headline figures and the monthly trend"}


@dataclass(frozen=True)
class OverviewView:
    """What the Overview shows for a scope.

    Attributes
    ----------
    has_data:
        Whether any customer, order, contact or survey is in scope in the period.
    previous:
        The period the changes compare with (:meth:`Scope.previous_period`).
    kpis:
        The headline figures (:func:`dashboard.domain.metrics.headline_kpis`).
    expected_alive, alive_fit_end:
        Sum of P(alive) of the customers in scope and the last day of the fit's data (None
        without a stored lifetime-value fit).
    monthly:
        Revenue, gross margin, orders, contacts and service cost per calendar month of the
        period (:func:`dashboard.domain.metrics.fill_months`).
    """

    has_data: bool
    previous: Scope
    kpis: tuple[metrics.Kpi, ...] = ()
    expected_alive: float | None = None
    alive_fit_end: date | None = None
    monthly: pd.DataFrame | None = None
    #: 90 % interval of ``expected_alive`` from the fit's parameter draws (None: no fit, or a
    #: fit stored before intervals). Issue 13.
    alive_interval: tuple[float, float] | None = None


def view(engine: Engine, scope: Scope) -> OverviewView:
    """Headline figures, expected customers alive and the monthly trend in ``scope``."""
    totals = queries.period_totals(engine, scope)
    previous = scope.previous_period()
    if not metrics.period_has_data(totals):
        return OverviewView(has_data=False, previous=previous)
    alive = clv_store.expected_alive(engine, scope)
    return OverviewView(
        has_data=True,
        previous=previous,
        kpis=tuple(metrics.headline_kpis(totals)),
        expected_alive=None if alive is None else alive[0],
        alive_fit_end=None if alive is None else alive[1],
        monthly=metrics.fill_months(
            queries.monthly_activity(engine, scope), scope.start, scope.end
        ),
        alive_interval=_alive_interval(engine, scope),
    )


def _alive_interval(engine: Engine, scope: Scope) -> tuple[float, float] | None:
    """90 % interval of the expected customers alive in scope (issue 13)."""
    sums = clv_store.alive_sums(engine, scope)
    if sums is None:
        return None
    point, loadings, run = sums
    # The scope's total at every parameter draw from the stored loadings
    # (dashboard.domain.clv.uncertainty.scope_total_draws; numpy here, so this page does
    # not load the model library).
    draws = point + np.asarray(loadings) @ np.asarray(run.params["draw_basis"]["alive"])
    low, high = np.quantile(draws, [0.05, 0.95])
    return float(low), float(high)

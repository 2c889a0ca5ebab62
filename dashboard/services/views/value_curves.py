"""Value curves page: what each group of customers expects against what it gets, and win/loss.

The grouping radio's options depend on the store (segments once a segmentation is saved), so
the page loads :func:`groupings` first, then :func:`view` for the chosen grouping.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine

from dashboard.domain import value_curves as vc
from dashboard.scope import Scope
from dashboard.storage import value_curve_queries

#: What each function of this module computes, shown while it runs on a cache miss
#: (``dashboard.app.context.load`` adds the period and filters).
COMPUTING = {
    "groupings": "Reading the groupings this store offers",
    "view": "Computing value curves, gaps and win/loss by group",
}


@dataclass(frozen=True)
class ValueCurvesView:
    """What the Value curves page shows for a scope and a grouping of customers.

    Attributes
    ----------
    grouping:
        The key of ``value_curves.GROUPINGS`` the groups are made by.
    ratings:
        ``value_curve_queries.value_curve_ratings`` (empty: no rating in scope up to the
        period's end, and ``curves`` and ``gaps`` are None).
    curves:
        :func:`~dashboard.domain.value_curves.value_curves`: one row per group and attribute
        with its gap and reading (the value curves and the gap heat map).
    gaps:
        :func:`~dashboard.domain.value_curves.ranked_gaps`: under- and over-served pairs ranked
        by value at stake.
    deals:
        ``value_curve_queries.win_loss`` (empty: no opportunity closed or opened in the period,
        and the win/loss fields are None).
    win_loss:
        :func:`~dashboard.domain.value_curves.win_loss_summary` of the period.
    win_rates:
        Win rate per month and group (:func:`~dashboard.domain.value_curves.win_rate_by`).
    loss_reasons:
        Lost opportunities per reason (:func:`~dashboard.domain.value_curves.loss_reasons`).
    prospects_included:
        Whether prospects (opportunities with no customer) count as their own group: only
        without a region, channel or segment filter.
    """

    grouping: str
    ratings: pd.DataFrame
    deals: pd.DataFrame
    prospects_included: bool
    curves: pd.DataFrame | None = None
    gaps: pd.DataFrame | None = None
    win_loss: vc.WinLossSummary | None = None
    win_rates: pd.DataFrame | None = None
    loss_reasons: pd.DataFrame | None = None

    @property
    def has_ratings(self) -> bool:
        return not self.ratings.empty

    @property
    def has_deals(self) -> bool:
        return not self.deals.empty


def groupings(engine: Engine, scope: Scope) -> tuple[str, ...]:
    """The groupings the page offers now (keys of ``value_curves.GROUPINGS``): segments only
    once a segmentation is saved. The same for every scope."""
    return value_curve_queries.available_groupings(engine)


def view(engine: Engine, scope: Scope, grouping: str) -> ValueCurvesView:
    """Value curves, gaps and win/loss in ``scope`` with customers grouped by ``grouping``."""
    ratings = value_curve_queries.value_curve_ratings(engine, scope, grouping)
    deals = value_curve_queries.win_loss(engine, scope, grouping)
    curves = None if ratings.empty else vc.value_curves(ratings)
    has_deals = not deals.empty
    return ValueCurvesView(
        grouping=grouping,
        ratings=ratings,
        deals=deals,
        prospects_included=(
            scope.effective_regions() is None and not scope.channels and not scope.segments
        ),
        curves=curves,
        gaps=None if curves is None else vc.ranked_gaps(curves),
        win_loss=vc.win_loss_summary(deals) if has_deals else None,
        win_rates=vc.win_rate_by(deals, ["month", "group"]) if has_deals else None,
        loss_reasons=vc.loss_reasons(deals) if has_deals else None,
    )

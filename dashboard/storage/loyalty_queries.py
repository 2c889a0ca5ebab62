"""Queries of the Loyalty versus satisfaction page: ``(engine, scope) -> DataFrame``.

The per-customer facts come from :func:`customer_summary` (one query, aggregated in the
database), joined with the optional lifetime-value results of the latest stored fit
(:func:`dashboard.storage.clv_store.latest_run`; the page reads that run through the same
function). The monthly trends are aggregated by month in the database.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, case, func, select

from dashboard.scope import Scope
from dashboard.storage import clv_store
from dashboard.storage.customer_queries import customer_summary
from dashboard.storage.schema import orders, surveys
from dashboard.storage.sql import between, customer_scope, month_start, read_frame

#: Columns of :func:`loyalty_inputs` (units: money in currency units).
INPUT_COLUMNS = {
    "customer_id": "customer identifier",
    "name": "display name",
    "region": "region",
    "acquisition_channel": "acquisition channel",
    "acquired_at": "acquisition date",
    "order_days": "distinct days with an order up to the period's end",
    "first_order": "date of the first order",
    "last_order": "date of the latest order up to the period's end",
    "revenue": "revenue up to the period's end",
    "revenue_period": "revenue in the period",
    "revenue_last_12m": "revenue in the 365 days to the period's end",
    "revenue_prior_12m": "revenue in the 365 days before those",
    "referrals_made": "referrals made up to the period's end",
    "latest_csat": "latest CSAT answer (1-5) up to the period's end",
    "latest_nps": "latest NPS answer (0-10) up to the period's end",
    "probability_alive": "P(alive) from the latest lifetime-value fit (NaN without one)",
    "fit_repeat_days": "repeat purchase days the fit saw (BG/NBD frequency; NaN without fit)",
    "clv": "expected lifetime value from the latest fit (NaN without one)",
}


def loyalty_inputs(engine: Engine, scope: Scope) -> pd.DataFrame:
    """One row per customer in scope with the facts the loyalty index and quadrants need.

    Lifetime-to-date facts up to ``scope.end``, in-period revenue from ``scope.start``,
    latest survey answers, and P(alive) and lifetime value from the latest stored fit (NaN for
    every customer when there is none, and for customers the fit did not cover). See
    :data:`INPUT_COLUMNS`.
    """
    summary = customer_summary(engine, scope)
    frame = summary[[c for c in INPUT_COLUMNS if c in summary.columns]]
    run = clv_store.latest_run(engine)
    if run is None:
        return frame.assign(
            probability_alive=float("nan"), fit_repeat_days=float("nan"), clv=float("nan")
        )[list(INPUT_COLUMNS)]
    fitted = clv_store.scored_customers(engine, scope, run.run_id)
    fitted = (
        fitted[["customer_id", "probability_alive", "frequency", "clv"]]
        .rename(columns={"frequency": "fit_repeat_days"})
        .astype({"customer_id": frame["customer_id"].dtype})
    )
    return frame.merge(fitted, on="customer_id", how="left")[list(INPUT_COLUMNS)]


def monthly_survey_answers(engine: Engine, scope: Scope) -> pd.DataFrame:
    """NPS and CSAT answers per calendar month of the period, all answers (not only latest).

    Columns: ``month`` (first day), ``nps_answers``, ``promoters`` (9-10), ``detractors``
    (0-6), ``csat_answers``, ``csat_top2`` (4-5). Months without answers are absent.
    """
    month = month_start(surveys.c.answered_at).label("month")
    statement = (
        select(
            month,
            func.count(surveys.c.nps).label("nps_answers"),
            func.count(case((surveys.c.nps >= 9, 1))).label("promoters"),
            func.count(case((surveys.c.nps <= 6, 1))).label("detractors"),
            func.count(surveys.c.csat).label("csat_answers"),
            func.count(case((surveys.c.csat >= 4, 1))).label("csat_top2"),
        )
        .where(
            between(surveys.c.answered_at, scope.start, scope.end),
            customer_scope(scope, surveys.c.customer_id),
        )
        .group_by(month)
        .order_by(month)
    )
    return _with_month(read_frame(engine, statement))


def monthly_repeat_buyers(engine: Engine, scope: Scope) -> pd.DataFrame:
    """Buyers per calendar month of the period, and those who had ordered before that month.

    Columns: ``month`` (first day), ``buyers`` (customers with an order in the month),
    ``repeat_buyers`` (of those, customers whose first order is before the month). The
    repeat-purchase rate of a month is ``repeat_buyers / buyers``. Months without orders are
    absent.
    """
    first_orders = (
        select(orders.c.customer_id, func.min(orders.c.ordered_at).label("first_order"))
        .where(orders.c.ordered_at <= scope.end, customer_scope(scope, orders.c.customer_id))
        .group_by(orders.c.customer_id)
        .cte("first_orders")
    )
    month = month_start(orders.c.ordered_at)
    statement = (
        select(
            month.label("month"),
            func.count(orders.c.customer_id.distinct()).label("buyers"),
            func.count(
                case((first_orders.c.first_order < month, orders.c.customer_id)).distinct()
            ).label("repeat_buyers"),
        )
        .select_from(orders.join(first_orders, first_orders.c.customer_id == orders.c.customer_id))
        .where(between(orders.c.ordered_at, scope.start, scope.end))
        .group_by(month)
        .order_by(month)
    )
    return _with_month(read_frame(engine, statement))


def _with_month(frame: pd.DataFrame) -> pd.DataFrame:
    if not frame.empty:
        frame["month"] = pd.to_datetime(frame["month"])
        for column in frame.columns.drop("month"):
            frame[column] = frame[column].astype(int)
    return frame

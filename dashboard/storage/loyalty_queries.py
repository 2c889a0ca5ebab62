"""Queries of the Loyalty versus satisfaction page: ``(engine, scope) -> DataFrame``.

The per-customer facts come from the stored customer summaries
(:func:`~dashboard.storage.customer_queries.summary_rows`), joined in the database with the
optional lifetime-value results of the latest stored fit
(:func:`dashboard.storage.clv_store.latest_run`; the page reads that run through the same
function). The monthly trends are aggregated by month in the database.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd
from sqlalchemy import Engine, Float, and_, case, func, null, select

from dashboard.scope import Scope
from dashboard.storage import clv_store
from dashboard.storage.customer_queries import summary_rows
from dashboard.storage.schema import customer_clv, customers, orders, surveys
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


#: Identity columns of :data:`INPUT_COLUMNS` (text: costly to read for a million customers).
IDENTITY_COLUMNS = ("name", "region", "acquisition_channel")


def loyalty_inputs(engine: Engine, scope: Scope, *, identity: bool = True) -> pd.DataFrame:
    """One row per customer in scope with the facts the loyalty index and quadrants need.

    Lifetime-to-date facts up to ``scope.end``, in-period revenue from ``scope.start``,
    latest survey answers, and P(alive) and lifetime value from the latest stored fit (NaN for
    every customer when there is none, and for customers the fit did not cover). See
    :data:`INPUT_COLUMNS`. Read from the period's stored customer summaries joined with the
    fit's predictions in the database.

    ``identity`` (default): with :data:`IDENTITY_COLUMNS`, rows by customer id. Without, the
    rows come in no particular order and without those columns (a page that scores every
    customer reads the identity of the few it lists with :func:`customer_identity`).
    """
    rows = summary_rows(engine, scope)
    names = [n for n in INPUT_COLUMNS if n in rows.c and (identity or n not in IDENTITY_COLUMNS)]
    columns = [rows.c[name] for name in names]
    source = rows
    run = clv_store.latest_run(engine)
    if run is None:
        nothing = null().cast(Float)
        columns += [nothing.label(n) for n in ("probability_alive", "fit_repeat_days", "clv")]
    else:
        fitted = customer_clv.c
        source = rows.outerjoin(
            customer_clv,
            and_(fitted.run_id == run.run_id, fitted.customer_id == rows.c.customer_id),
        )
        columns += [
            fitted.probability_alive,
            fitted.frequency.label("fit_repeat_days"),
            fitted.clv,
        ]
    statement = select(*columns).select_from(source)
    if identity:
        statement = statement.order_by(rows.c.customer_id)
    frame = read_frame(engine, statement)
    for column in ("acquired_at", "first_order", "last_order"):
        frame[column] = pd.to_datetime(frame[column])
    for column in ("latest_csat", "latest_nps"):
        frame[column] = pd.to_numeric(frame[column]).astype("Float64")
    for column in ("probability_alive", "fit_repeat_days", "clv"):
        frame[column] = pd.to_numeric(frame[column]).astype("float64")
    return frame


def customer_identity(engine: Engine, scope: Scope, customer_ids) -> pd.DataFrame:
    """``customer_id`` and :data:`IDENTITY_COLUMNS` of the given customers in scope."""
    ids = [str(customer_id) for customer_id in customer_ids]
    if not ids:
        return pd.DataFrame(columns=["customer_id", *IDENTITY_COLUMNS])
    statement = select(
        customers.c.customer_id, *(customers.c[name] for name in IDENTITY_COLUMNS)
    ).where(customers.c.customer_id.in_(ids), customer_scope(scope))
    return read_frame(engine, statement)


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


def monthly_repeat_buyers(
    engine: Engine, scope: Scope, *, first_orders_start: date | None = None
) -> pd.DataFrame:
    """Buyers per calendar month of the period, and those who had ordered before that month.

    Columns: ``month`` (first day), ``buyers`` (customers with an order in the month),
    ``repeat_buyers`` (of those, customers whose first order is before the month). The
    repeat-purchase rate of a month is ``repeat_buyers / buyers``. Months without orders are
    absent.

    Each customer's first order is the stored customer summary's of the period
    ``first_orders_start``..``scope.end`` (a first order depends only on the end: pass the
    start of a period whose summaries are stored, e.g. the page's); None: aggregated from
    every order up to ``scope.end``.
    """
    if first_orders_start is None:
        first_orders = (
            select(orders.c.customer_id, func.min(orders.c.ordered_at).label("first_order"))
            .where(orders.c.ordered_at <= scope.end, customer_scope(scope, orders.c.customer_id))
            .group_by(orders.c.customer_id)
            .cte("first_orders")
        )
    else:
        first_orders = summary_rows(engine, replace(scope, start=first_orders_start))
    # One row per customer and month with an order (then one join per buyer, not per order).
    month = month_start(orders.c.ordered_at).label("month")
    buyer_months = (
        select(orders.c.customer_id, month)
        .where(between(orders.c.ordered_at, scope.start, scope.end))
        .group_by(orders.c.customer_id, month)
        .subquery("buyer_months")
    )
    statement = (
        select(
            buyer_months.c.month,
            func.count().label("buyers"),
            func.count(case((first_orders.c.first_order < buyer_months.c.month, 1))).label(
                "repeat_buyers"
            ),
        )
        .select_from(
            buyer_months.join(
                first_orders, first_orders.c.customer_id == buyer_months.c.customer_id
            )
        )
        .group_by(buyer_months.c.month)
        .order_by(buyer_months.c.month)
    )
    return _with_month(read_frame(engine, statement))


def _with_month(frame: pd.DataFrame) -> pd.DataFrame:
    if not frame.empty:
        frame["month"] = pd.to_datetime(frame["month"])
        for column in frame.columns.drop("month"):
            frame[column] = frame[column].astype(int)
    return frame

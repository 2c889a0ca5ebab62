"""Queries of the Customer value page: payback aggregates and the latest saved segments.

Every function is ``(engine, scope) -> DataFrame`` in SQLAlchemy Core, aggregated in the
database, scoped with :func:`~dashboard.storage.sql.customer_scope`, portable across DuckDB,
PostgreSQL and SQLite. Per-customer profit comes from
:func:`dashboard.storage.customer_queries.customer_summary` (not repeated here).
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, case, func, literal, select, union_all

from dashboard.scope import Scope
from dashboard.storage.engine import existing_tables
from dashboard.storage.schema import (
    customers,
    orders,
    segment_assignments,
    segment_names,
    segment_runs,
    service_contacts,
)
from dashboard.storage.sql import customer_scope, month_index, read_frame
from dashboard.storage.stores import app_engine


def payback_facts(engine: Engine, scope: Scope) -> pd.DataFrame:
    """Gross margin and service cost by channel, month of acquisition and months since then.

    Covers every customer in scope acquired up to ``scope.end`` and their orders and service
    contacts up to ``scope.end`` (the payback view looks at whole histories; the period's
    end is its as-of date). Month 0 is the calendar month of acquisition; an order or contact
    dated before the acquisition month counts in month 0.

    Returns
    -------
    DataFrame
        ``acquisition_channel``, ``acquisition_month`` (``year * 12 + month - 1``),
        ``months_since`` (int >= 0), ``gross_margin`` and ``service_cost`` (sums over the
        cohort's customers, currency units).
    """
    acquired_month = month_index(customers.c.acquired_at)
    in_scope = (customers.c.acquired_at <= scope.end, customer_scope(scope))

    def monthly(table, day_column, margin=None, cost=None):
        since = month_index(day_column) - acquired_month
        months_since = case((since < 0, 0), else_=since)
        # A constant column stays outside the aggregate: PostgreSQL cannot type sum($1).
        return (
            select(
                customers.c.acquisition_channel,
                acquired_month.label("acquisition_month"),
                months_since.label("months_since"),
                (literal(0.0) if margin is None else func.sum(margin)).label("gross_margin"),
                (literal(0.0) if cost is None else func.sum(cost)).label("service_cost"),
            )
            .select_from(table.join(customers, customers.c.customer_id == table.c.customer_id))
            .where(day_column <= scope.end, *in_scope)
            .group_by(customers.c.acquisition_channel, acquired_month, months_since)
        )

    by_order = monthly(orders, orders.c.ordered_at, margin=orders.c.revenue - orders.c.cost)
    by_contact = monthly(
        service_contacts, service_contacts.c.opened_at, cost=service_contacts.c.cost
    )
    both = union_all(by_order, by_contact).subquery("both_facts")
    statement = (
        select(
            both.c.acquisition_channel,
            both.c.acquisition_month,
            both.c.months_since,
            func.sum(both.c.gross_margin).label("gross_margin"),
            func.sum(both.c.service_cost).label("service_cost"),
        )
        .group_by(both.c.acquisition_channel, both.c.acquisition_month, both.c.months_since)
        .order_by(both.c.acquisition_channel, both.c.acquisition_month, both.c.months_since)
    )
    frame = read_frame(engine, statement)
    return _typed(
        frame, ints=("acquisition_month", "months_since"), floats=("gross_margin", "service_cost")
    )


def acquisition_cohorts(engine: Engine, scope: Scope) -> pd.DataFrame:
    """Customers won and what they cost, by channel and month of acquisition.

    Customers in scope acquired up to ``scope.end``.

    Returns
    -------
    DataFrame
        ``acquisition_channel``, ``acquisition_month`` (``year * 12 + month - 1``),
        ``customers``, ``acquisition_cost`` (sum, currency units).
    """
    acquired_month = month_index(customers.c.acquired_at)
    statement = (
        select(
            customers.c.acquisition_channel,
            acquired_month.label("acquisition_month"),
            func.count().label("customers"),
            func.coalesce(func.sum(customers.c.acquisition_cost), 0.0).label("acquisition_cost"),
        )
        .where(customers.c.acquired_at <= scope.end, customer_scope(scope))
        .group_by(customers.c.acquisition_channel, acquired_month)
        .order_by(customers.c.acquisition_channel, acquired_month)
    )
    frame = read_frame(engine, statement)
    return _typed(frame, ints=("acquisition_month", "customers"), floats=("acquisition_cost",))


def latest_segment_run(engine: Engine) -> int | None:
    """Run id of the latest saved segmentation, or None when there is none."""
    if not {"segment_runs", "segment_assignments", "segment_names"} <= existing_tables(engine):
        return None
    with app_engine(engine).connect() as conn:
        return conn.execute(select(func.max(segment_runs.c.run_id))).scalar_one_or_none()


def customer_segments(engine: Engine, scope: Scope) -> pd.DataFrame:
    """Segment of each customer in scope in the latest saved segmentation.

    Returns
    -------
    DataFrame
        ``customer_id``, ``segment`` (number, 1 = most valuable), ``segment_name`` (the saved
        name, else "Segment <n>"); empty (with those columns) when no segmentation is saved.
    """
    columns = ["customer_id", "segment", "segment_name"]
    run_id = latest_segment_run(engine)
    if run_id is None:
        return pd.DataFrame(columns=columns)
    statement = (
        select(
            segment_assignments.c.customer_id,
            segment_assignments.c.segment,
            segment_names.c.name.label("segment_name"),
        )
        .select_from(
            segment_assignments.outerjoin(
                segment_names,
                (segment_names.c.run_id == segment_assignments.c.run_id)
                & (segment_names.c.segment == segment_assignments.c.segment),
            )
        )
        .where(
            segment_assignments.c.run_id == run_id,
            customer_scope(scope, segment_assignments.c.customer_id),
        )
        .order_by(segment_assignments.c.customer_id)
    )
    frame = read_frame(engine, statement)
    frame = frame.reindex(columns=columns)
    unnamed = frame["segment_name"].isna()
    frame.loc[unnamed, "segment_name"] = "Segment " + frame.loc[unnamed, "segment"].astype(str)
    return frame


def segment_list(engine: Engine) -> pd.DataFrame:
    """Every segment of the latest saved segmentation (``segment``, ``segment_name``), in order.

    Lets the page show a segment with no customer in the current scope as empty.
    """
    columns = ["segment", "segment_name"]
    run_id = latest_segment_run(engine)
    if run_id is None:
        return pd.DataFrame(columns=columns)
    run = segment_runs.c
    with app_engine(engine).connect() as conn:
        n_segments = conn.execute(select(run.n_segments).where(run.run_id == run_id)).scalar_one()
        names = dict(
            conn.execute(
                select(segment_names.c.segment, segment_names.c.name).where(
                    segment_names.c.run_id == run_id
                )
            ).all()
        )
    segments = range(1, int(n_segments) + 1)
    return pd.DataFrame(
        {
            "segment": list(segments),
            "segment_name": [names.get(s, f"Segment {s}") for s in segments],
        }
    )


def _typed(frame: pd.DataFrame, *, ints: tuple[str, ...], floats: tuple[str, ...]) -> pd.DataFrame:
    """Cast numeric columns (PostgreSQL returns Decimal for sums)."""
    for column in ints:
        frame[column] = pd.to_numeric(frame[column]).astype("int64")
    for column in floats:
        frame[column] = pd.to_numeric(frame[column]).astype("float64")
    return frame

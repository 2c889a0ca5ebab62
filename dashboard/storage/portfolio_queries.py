"""Profit, the whale curve, equity and acquisition sums of the Customer value page, in SQL.

Every query reads the per-customer summary of the scope (:func:`summary_rows`: the stored
``customer_summaries`` of the current data version, or the aggregation where the store cannot
hold them) and returns what the page shows, never one row per customer: sums per group of
customers (``GROUP BY``), the worst loss makers (``ORDER BY ... LIMIT``), and for the whale
curve one number per customer, its profit (see :func:`profits`). The formulas are those of
:mod:`dashboard.domain.value`, whose per-customer functions (``customer_profit``,
``profit_sums``, ``lifetime_values``, ``value_sums``) give the same figures from a frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Engine,
    Float,
    FromClause,
    Select,
    String,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    select,
)

from dashboard.domain.value import (
    ACTIVE_WINDOW_DAYS,
    IDENTITY_COLUMNS,
    PROFIT_BASES,
    PROFIT_SUMS,
    VALUE_COUNTS,
    VALUE_SUMS,
    month_label,
)
from dashboard.scope import Scope
from dashboard.storage.customer_queries import summary_rows
from dashboard.storage.schema import customer_clv, segment_assignments, segment_names
from dashboard.storage.sql import customer_scope, month_index, read_frame
from dashboard.storage.stores import route
from dashboard.storage.value_queries import latest_segment_run

#: The name of customers without an assignment in the latest segmentation.
NOT_SEGMENTED = "Not segmented"

#: Groups of the profit and value sums (with ``segment_name`` first when segments apply).
GROUPS = ("region", "acquisition_channel")


def _zero(column: ColumnElement) -> ColumnElement:
    return func.coalesce(column, literal(0.0, Float))


def _with_segments(rows: FromClause, segment_run: int | None):
    """``rows`` joined with the segment of each customer in run ``segment_run`` (None: no
    join) and the segment name column (saved name, else "Segment <n>"; "Not segmented")."""
    if segment_run is None:
        return rows, None, None
    assigned = segment_assignments.c
    named = segment_names.c
    joined = rows.outerjoin(
        segment_assignments,
        and_(assigned.run_id == segment_run, assigned.customer_id == rows.c.customer_id),
    ).outerjoin(
        segment_names, and_(named.run_id == assigned.run_id, named.segment == assigned.segment)
    )
    name = case(
        (assigned.segment.is_(None), literal(NOT_SEGMENTED, String)),
        else_=func.coalesce(
            named.name, literal("Segment ", String) + cast(assigned.segment, String)
        ),
    )
    return joined, assigned.segment, name


def profit_rows(engine: Engine, scope: Scope, basis: str, segment_run: int | None = None) -> Select:
    """One row per customer counted on ``basis`` (``to_date`` / ``in_period``): the identity
    columns, ``segment`` and ``segment_name`` (with ``segment_run``), ``gross_margin``,
    ``service_cost``, ``acquisition_cost`` and ``profit`` as
    :func:`dashboard.domain.value.customer_profit` counts them (missing costs are zero)."""
    if basis not in PROFIT_BASES:
        raise ValueError(f"basis must be one of {sorted(PROFIT_BASES)}, got {basis!r}")
    rows = summary_rows(engine, scope)
    source, segment, segment_name = _with_segments(rows, segment_run)
    cost = _zero(rows.c.acquisition_cost)
    won = rows.c.acquired_at >= scope.start
    if basis == "to_date":
        margin, service, acquisition = _zero(rows.c.gross_margin), _zero(rows.c.service_cost), cost
        counted = None
    else:
        margin = _zero(rows.c.gross_margin_period)
        service = _zero(rows.c.service_cost_period)
        acquisition = case((won, cost), else_=literal(0.0, Float))
        counted = (rows.c.orders_period > 0) | (rows.c.contacts_period > 0) | won
    columns = [rows.c[name] for name in IDENTITY_COLUMNS]
    if segment is not None:
        columns += [segment.label("segment"), segment_name.label("segment_name")]
    columns += [
        margin.label("gross_margin"),
        service.label("service_cost"),
        acquisition.label("acquisition_cost"),
        ((margin - service) - acquisition).label("profit"),
    ]
    statement = select(*columns).select_from(source)
    return statement if counted is None else statement.where(counted)


def profit_sums(
    engine: Engine, scope: Scope, basis: str, segment_run: int | None = None
) -> pd.DataFrame:
    """:data:`~dashboard.domain.value.PROFIT_SUMS` per segment (with ``segment_run``), region
    and acquisition channel of the customers counted on ``basis``; no row when none is."""
    per_customer = profit_rows(engine, scope, basis, segment_run).subquery("profit_rows")
    keys = [per_customer.c[name] for name in _keys(segment_run)]
    value = per_customer.c.profit
    statement = select(
        *keys,
        func.count().label("customers"),
        *(
            func.sum(per_customer.c[name]).label(name)
            for name in ("gross_margin", "service_cost", "acquisition_cost", "profit")
        ),
        _count(value < 0).label("losing_customers"),
    ).group_by(*keys)
    return _typed(read_frame(engine, statement), PROFIT_SUMS, ("customers", "losing_customers"))


def profits(engine: Engine, scope: Scope, basis: str) -> np.ndarray:
    """Profit of each customer counted on ``basis``, in no order (currency units): the whale
    curve's input. One number per customer (8 MB at a million) rather than a window function
    over the ranks: reading and sorting them in numpy took a fifth of the time of DuckDB's
    ranked running sum at 1M customers, and gives the curve bit for bit
    (docs/decisions.md)."""
    per_customer = profit_rows(engine, scope, basis).subquery("profit_rows")
    frame = read_frame(engine, select(per_customer.c.profit))
    return pd.to_numeric(frame["profit"]).to_numpy(dtype=np.float64)


def loss_makers(
    engine: Engine,
    scope: Scope,
    basis: str,
    segment_run: int | None = None,
    *,
    limit: int | None = None,
) -> pd.DataFrame:
    """The customers counted on ``basis`` whose profit is below zero, worst first (ties by
    customer id), the ``limit`` worst (None: all): the columns of :func:`profit_rows`."""
    per_customer = profit_rows(engine, scope, basis, segment_run).subquery("profit_rows")
    statement = (
        select(per_customer)
        .where(per_customer.c.profit < 0)
        .order_by(per_customer.c.profit, per_customer.c.customer_id)
        .limit(limit)
    )
    frame = read_frame(engine, statement)
    frame["acquired_at"] = pd.to_datetime(frame["acquired_at"])
    for name in ("gross_margin", "service_cost", "acquisition_cost", "profit"):
        frame[name] = pd.to_numeric(frame[name]).astype("float64")
    return frame


def value_sums(
    engine: Engine,
    scope: Scope,
    run_id: int | None,
    segment_run: int | None = None,
) -> pd.DataFrame:
    """:data:`~dashboard.domain.value.VALUE_SUMS` per segment (with ``segment_run``), region,
    acquisition channel and ``acquisition_quarter`` ("2024 Q1") of every customer in scope,
    with the stored predictions of fit ``run_id`` (None: no fit, the scored sums are 0).

    As :func:`dashboard.domain.value.value_sums` of
    :func:`~dashboard.domain.value.lifetime_values`: scored = the fit has a prediction for
    the customer; active = scored and at most 365 days (in weeks) between the customer's
    latest purchase and the fit's data end; LTV = gross margin to date + CLV; customers
    acquired on or after the period's start are the period's.
    """
    rows = summary_rows(engine, scope)
    source, _, segment_name = _with_segments(rows, segment_run)
    cost = _zero(rows.c.acquisition_cost)
    margin = _zero(rows.c.gross_margin)
    service = _zero(rows.c.service_cost)
    won = rows.c.acquired_at >= scope.start
    if run_id is None:
        scored = active = false()
        clv = probability_alive = literal(0.0, Float)
    else:
        fitted = customer_clv.c
        source = source.outerjoin(
            customer_clv,
            and_(fitted.run_id == run_id, fitted.customer_id == rows.c.customer_id),
        )
        scored = fitted.customer_id.is_not(None)
        active = scored & (fitted["T"] - fitted.recency <= ACTIVE_WINDOW_DAYS / 7)
        clv, probability_alive = fitted.clv, fitted.probability_alive
    new = scored & won
    ltv = margin + clv
    month = month_index(rows.c.acquired_at).label("acquisition_month")
    keys = [
        *([segment_name.label("segment_name")] if segment_name is not None else []),
        rows.c.region,
        rows.c.acquisition_channel,
        month,
    ]
    statement = (
        select(
            *keys,
            func.count().label("customers"),
            func.sum(_zero(rows.c.revenue)).label("revenue"),
            func.sum(margin).label("gross_margin"),
            func.sum(service).label("service_cost"),
            func.sum(cost).label("acquisition_cost"),
            _count(won).label("won_in_period"),
            _sum_if(won, cost).label("acquisition_spend_in_period"),
            _count(margin - service >= cost).label("paid_back"),
            _count(scored).label("scored_customers"),
            _sum_if(scored, cost).label("scored_acquisition_cost"),
            _sum_if(scored, ltv).label("ltv"),
            _sum_if(scored, clv).label("clv"),
            _sum_if(scored, probability_alive).label("probability_alive"),
            _count(active).label("active_customers"),
            _sum_if(active, clv).label("active_clv"),
            _count(new).label("new_customers"),
            _sum_if(new, ltv).label("new_ltv"),
            _sum_if(new, cost).label("new_acquisition_cost"),
        )
        .select_from(source)
        .group_by(*keys)
    )
    frame = _typed(read_frame(engine, statement), VALUE_SUMS, VALUE_COUNTS)
    quarter = frame.pop("acquisition_month").astype("int64").map(month_label)
    frame.insert(len(keys) - 1, "acquisition_quarter", quarter)
    return frame


def _keys(segment_run: int | None) -> list[str]:
    return (["segment_name"] if segment_run is not None else []) + list(GROUPS)


def _count(condition: ColumnElement[bool]) -> ColumnElement:
    return func.count(case((condition, 1)))


def _sum_if(condition: ColumnElement[bool], amount: ColumnElement) -> ColumnElement:
    return func.coalesce(func.sum(case((condition, amount), else_=literal(0.0, Float))), 0.0)


def _typed(frame: pd.DataFrame, sums: Sequence[str], counts: Sequence[str]) -> pd.DataFrame:
    """Counts as int64, the other sums as float64 (PostgreSQL returns numeric counts as
    Decimal or int, DuckDB sums of an empty group as NaN)."""
    for name in sums:
        kind = "int64" if name in counts else "float64"
        frame[name] = pd.to_numeric(frame[name]).fillna(0).astype(kind)
    return frame


def segmented_run(engine: Engine, scope: Scope) -> int | None:
    """The latest saved segmentation when it assigns a segment to some customer in scope
    (then the page groups by segment and the loss makers carry their segment), else None."""
    run_id = latest_segment_run(engine)
    if run_id is None:
        return None
    assigned = segment_assignments.c
    statement = (
        select(assigned.customer_id)
        .where(assigned.run_id == run_id, customer_scope(scope, assigned.customer_id))
        .limit(1)
    )
    with route(engine, statement).connect() as conn:
        found = conn.execute(statement).first()
    return None if found is None else run_id

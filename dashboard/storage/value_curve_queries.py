"""Queries behind the value curves and win/loss: expectations vs delivery, by customer group.

Groups are the latest saved segments when a segment run exists, else a customer column
(region or acquisition channel). Aggregation happens in the database.

Each customer's latest rating of each attribute as of a date, and the 12-month gross margin of
each rater, are stored once per data version and date (:data:`LATEST_RATINGS`, tables
``latest_ratings``, ``rater_margins``, marker ``latest_rating_dates``): ranking every rating by
customer and attribute was the slowest query of the page at a million customers on PostgreSQL
(docs/performance.md). The value curves then group the stored rows by any grouping and filter.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from sqlalchemy import (
    Column,
    Date,
    Double,
    Engine,
    Integer,
    String,
    Table,
    case,
    cast,
    func,
    literal,
    select,
)

from dashboard.domain.value_curves import GROUPINGS
from dashboard.scope import Scope
from dashboard.storage.schema import (
    KEY,
    customers,
    opportunities,
    orders,
    segment_assignments,
    segment_names,
    value_ratings,
)
from dashboard.storage.sql import between, customer_scope, month_start, read_frame
from dashboard.storage.stored_facts import (
    FACT_STORE,
    FactStore,
    marker_table,
    store,
    version_column,
)
from dashboard.storage.value_queries import latest_segment_run


def _as_of() -> Column:
    return Column("as_of", Date, primary_key=True, comment="Date the ratings are as of.")


#: Each customer's latest rating of each attribute on or before ``as_of``.
latest_ratings = Table(
    "latest_ratings",
    FACT_STORE,
    version_column(),
    _as_of(),
    Column("customer_id", KEY, primary_key=True, autoincrement=False),
    Column("attribute", String(100), primary_key=True),
    Column("importance", Integer, nullable=False),
    Column("performance", Integer, nullable=False),
)

#: Every customer with a rating on or before ``as_of``, and its gross margin in the 365 days
#: to ``as_of`` (null without an order then; currency units).
rater_margins = Table(
    "rater_margins",
    FACT_STORE,
    version_column(),
    _as_of(),
    Column("customer_id", KEY, primary_key=True, autoincrement=False),
    Column("margin_12m", Double, nullable=True),
)

LATEST_RATINGS = FactStore(
    name="latest ratings",
    marker=marker_table("latest_rating_dates", _as_of()),
    tables=(latest_ratings, rater_margins),
    keys=("as_of",),
)


def available_groupings(engine: Engine) -> tuple[str, ...]:
    """Groupings that can be used now: segments only once a segment run is saved."""
    names = ("region", "acquisition_channel")
    return (("segment",) + names) if latest_segment_run(engine) is not None else names


def _group_column(engine: Engine, grouping: str):
    """(label expression, extra join or None) for a grouping of customers."""
    if grouping == "segment":
        run_id = latest_segment_run(engine)
        if run_id is None:
            raise ValueError("no saved segment run: run the segmentation first")
        label = func.coalesce(
            segment_names.c.name, literal("Segment ") + cast(segment_assignments.c.segment, String)
        )
        join = (
            segment_assignments.outerjoin(
                segment_names,
                (segment_names.c.run_id == segment_assignments.c.run_id)
                & (segment_names.c.segment == segment_assignments.c.segment),
            ),
            segment_assignments.c.run_id == run_id,
        )
        return label, join
    if grouping not in ("region", "acquisition_channel"):
        raise ValueError(f"unknown grouping {grouping!r}; choose one of {sorted(GROUPINGS)}")
    return customers.c[grouping], None


def value_curve_ratings(
    engine: Engine, scope: Scope, grouping: str, *, stored: bool = True
) -> pd.DataFrame:
    """Mean importance and performance per group and attribute, with the value at stake.

    Uses each customer's latest rating of each attribute on or before the period's end.
    Columns: ``group``, ``attribute``, ``customers`` (raters), ``importance``, ``performance``
    (means on the 1-10 scale), ``group_raters`` (customers who rated anything in the group),
    ``group_margin_12m`` (gross margin of the group's raters in the 365 days to the period's
    end, currency units: the value of the customers affected).

    ``stored`` (default): group the latest ratings stored for the current data version and the
    period's end (:func:`store_latest_ratings`, stored first when missing); the same figures
    as the aggregation over every rating (``stored=False``, also the fallback of a store that
    cannot be written).
    """
    version = store_latest_ratings(engine, scope.end) if stored else None
    if version is None:
        latest = _latest_statement(scope).subquery("latest")
        raters = _rater_statement(scope, latest).subquery("raters")
        where_latest = where_raters = ()
    else:
        latest, raters = latest_ratings, rater_margins
        where_latest = (
            *LATEST_RATINGS.key_condition(latest, version, {"as_of": scope.end}),
            customer_scope(scope, latest.c.customer_id),
        )
        where_raters = (
            *LATEST_RATINGS.key_condition(raters, version, {"as_of": scope.end}),
            customer_scope(scope, raters.c.customer_id),
        )
    group, join = _group_column(engine, grouping)
    conditions = [] if join is None else [join[1]]

    def grouped(facts):
        source = facts.join(customers, customers.c.customer_id == facts.c.customer_id)
        if join is not None:
            source = source.join(join[0], segment_assignments.c.customer_id == facts.c.customer_id)
        return source

    per_attribute = (
        select(
            group.label("group"),
            latest.c.attribute,
            func.count().label("customers"),
            func.avg(latest.c.importance).label("importance"),
            func.avg(latest.c.performance).label("performance"),
        )
        .select_from(grouped(latest))
        .where(*where_latest, *conditions)
        .group_by(group, latest.c.attribute)
    )
    per_group = (
        select(
            group.label("group"),
            func.count().label("group_raters"),
            func.coalesce(func.sum(raters.c.margin_12m), 0.0).label("group_margin_12m"),
        )
        .select_from(grouped(raters))
        .where(*where_raters, *conditions)
        .group_by(group)
    )
    curves = read_frame(engine, per_attribute)
    groups = read_frame(engine, per_group)
    if curves.empty:
        return curves.assign(
            group_raters=pd.Series(dtype="int64"), group_margin_12m=pd.Series(dtype="float64")
        )
    return (
        curves.merge(groups, on="group", how="left")
        .sort_values(["group", "attribute"])
        .reset_index(drop=True)
    )


def _latest_statement(scope: Scope):
    """Each customer's latest rating of each attribute on or before ``scope.end``, in scope:
    ``customer_id``, ``attribute``, ``importance``, ``performance``."""
    ranked = (
        select(
            value_ratings.c.customer_id,
            value_ratings.c.attribute,
            value_ratings.c.importance,
            value_ratings.c.performance,
            func.row_number()
            .over(
                partition_by=(value_ratings.c.customer_id, value_ratings.c.attribute),
                order_by=value_ratings.c.rated_at.desc(),
            )
            .label("rank"),
        )
        .where(
            value_ratings.c.rated_at <= scope.end,
            customer_scope(scope, value_ratings.c.customer_id),
        )
        .subquery("ranked")
    )
    return select(
        ranked.c.customer_id, ranked.c.attribute, ranked.c.importance, ranked.c.performance
    ).where(ranked.c.rank == 1)


def _rater_statement(scope: Scope, latest):
    """Each customer of ``latest`` once, with its gross margin in the 365 days to the
    period's end (null without an order): ``customer_id``, ``margin_12m``."""
    margin = (
        select(orders.c.customer_id, func.sum(orders.c.revenue - orders.c.cost).label("margin_12m"))
        .where(
            between(orders.c.ordered_at, scope.end - timedelta(days=364), scope.end),
            customer_scope(scope, orders.c.customer_id),
        )
        .group_by(orders.c.customer_id)
        .subquery("margin")
    )
    raters = select(latest.c.customer_id).distinct().subquery("rating_customers")
    return select(raters.c.customer_id, margin.c.margin_12m).select_from(
        raters.outerjoin(margin, margin.c.customer_id == raters.c.customer_id)
    )


def store_latest_ratings(engine: Engine, as_of: date) -> str | None:
    """Store every customer's latest ratings and rater margin as of ``as_of`` for the current
    data version (when not there yet); that version, or None when they cannot be stored."""

    def statements():
        everyone = Scope(start=as_of, end=as_of)
        latest = _latest_statement(everyone)
        return {
            latest_ratings: latest,
            rater_margins: _rater_statement(everyone, latest.subquery("latest")),
        }

    return store(LATEST_RATINGS, engine, {"as_of": as_of}, statements)


def win_loss(engine: Engine, scope: Scope, grouping: str) -> pd.DataFrame:
    """Closed and open opportunities per closing month, group, outcome and loss reason.

    Opportunities closed in the period count by their closing month; open ones by their opening
    month. Prospects (no customer) form the group "Prospects" and are included only when no
    region, channel or segment filter is set (they belong to no region or segment yet).
    Columns: ``month``, ``group``, ``outcome``, ``loss_reason``, ``opportunities``, ``amount``.
    """
    when = func.coalesce(opportunities.c.closed_at, opportunities.c.opened_at)
    month = month_start(when).label("month")
    group, join = _group_column(engine, grouping)
    customer_filtered = bool(
        scope.effective_regions() is not None or scope.channels or scope.segments
    )
    prospects_group = case(
        (opportunities.c.customer_id.is_(None), literal("Prospects")), else_=group
    )
    source = opportunities.outerjoin(
        customers, customers.c.customer_id == opportunities.c.customer_id
    )
    conditions = [between(when, scope.start, scope.end)]
    if join is not None:
        source = source.outerjoin(
            join[0],
            (segment_assignments.c.customer_id == opportunities.c.customer_id) & join[1],
        )
    if customer_filtered:
        conditions.append(customer_scope(scope, opportunities.c.customer_id))
    statement = (
        select(
            month,
            prospects_group.label("group"),
            opportunities.c.outcome,
            opportunities.c.loss_reason,
            func.count().label("opportunities"),
            func.sum(opportunities.c.amount).label("amount"),
        )
        .select_from(source)
        .where(*conditions)
        .group_by(month, prospects_group, opportunities.c.outcome, opportunities.c.loss_reason)
        .order_by(month)
    )
    frame = read_frame(engine, statement)
    if not frame.empty:
        frame["month"] = pd.to_datetime(frame["month"])
        frame["group"] = frame["group"].fillna("Unassigned")
    return frame

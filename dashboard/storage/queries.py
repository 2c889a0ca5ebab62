"""Queries the pages need, as functions ``(engine, scope) -> DataFrame`` (SQLAlchemy Core).

Aggregation happens in the database; only the few rows a page shows come back to pandas.
Every value reaches the database as a bound parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
from sqlalchemy import Engine, Select, case, func, literal, select, true, union_all

from dashboard.scope import Scope
from dashboard.storage.engine import contract_fingerprint, existing_tables, read_data_version
from dashboard.storage.schema import (
    CONTRACT_TABLES,
    OPTIONAL_TABLES,
    customers,
    orders,
    referrals,
    service_contacts,
    surveys,
)
from dashboard.storage.sql import between, customer_scope, month_start, read_frame
from dashboard.storage.stores import ensure_customer_mirror

#: Window that defines an "active" customer (docs/metrics.md): an order in the 12 months to the end.
ACTIVE_WINDOW_DAYS = 365


def missing_contract_tables(engine: Engine) -> list[str]:
    """Contract tables (or views) the store lacks, in load order (optional ones excepted)."""
    present = existing_tables(engine)
    return [name for name in CONTRACT_TABLES if name not in present and name not in OPTIONAL_TABLES]


def data_version(engine: Engine) -> str:
    """A string that changes whenever the data changes, whoever changed it.

    The stored version (bumped by every write of the app and its command line) joined with
    :func:`~dashboard.storage.engine.contract_fingerprint`, which changes when another program
    adds, changes or deletes contract rows (an ETL into PostgreSQL, say). Warehouses exposed
    through views have no stored version; the fingerprint alone serves there.
    """
    present = existing_tables(engine)
    stored = read_data_version(engine, present)
    fingerprint = contract_fingerprint(engine, present)
    ensure_customer_mirror(engine, fingerprint)  # a separate app store's copy (no-op else)
    return f"{stored}|fp:{fingerprint}" if stored else f"fp:{fingerprint}"


@dataclass(frozen=True)
class DataBounds:
    """What the store holds: first and last order dates and the filter choices."""

    first_order: date | None
    last_order: date | None
    regions: tuple[str, ...]
    channels: tuple[str, ...]
    customers: int

    @property
    def is_empty(self) -> bool:
        return self.customers == 0 or self.last_order is None


def _as_date(value: object) -> date | None:
    if value is None:
        return None
    return pd.Timestamp(value).date()


def data_bounds(engine: Engine, allowed_regions: tuple[str, ...] | None = None) -> DataBounds:
    """Date range of the orders and the distinct regions and channels (for the filters).

    With ``allowed_regions`` (row-level access) the regions, channels and customers are
    counted within those regions only. The dates stay the store's: they say how far the data
    goes (periods end on the last order, follow-up windows need complete data), the same for
    every user.
    """
    in_scope = (
        customers.c.region.in_(list(allowed_regions)) if allowed_regions is not None else true()
    )
    # One statement (a warehouse statement costs about a second whatever it reads): the order
    # dates beside the customers counted per (region, channel), a few dozen rows at most.
    dates = select(
        func.min(orders.c.ordered_at).label("first_order"),
        func.max(orders.c.ordered_at).label("last_order"),
    ).subquery("order_dates")
    groups = (
        select(
            customers.c.region,
            customers.c.acquisition_channel,
            func.count().label("customers"),
        )
        .where(in_scope)
        .group_by(customers.c.region, customers.c.acquisition_channel)
        .subquery("customer_groups")
    )
    statement = select(dates, groups.c.region, groups.c.acquisition_channel, groups.c.customers)
    statement = statement.select_from(dates.outerjoin(groups, true()))
    with engine.connect() as conn:
        rows = conn.execute(statement).all()
    first, last = rows[0].first_order, rows[0].last_order
    counted = [row for row in rows if row.customers]
    regions = tuple(sorted({str(r.region) for r in counted if r.region is not None}))
    channels = tuple(
        sorted({str(r.acquisition_channel) for r in counted if r.acquisition_channel is not None})
    )
    n_customers = sum(int(r.customers) for r in counted)
    return DataBounds(_as_date(first), _as_date(last), regions, channels, n_customers)


def period_totals(engine: Engine, scope: Scope) -> pd.DataFrame:
    """Raw aggregates behind the headline figures, one row per period (current, previous).

    Columns: ``period`` ("current"/"previous"), ``start``, ``end``, ``customers`` (acquired on or
    before the end), ``new_customers`` (acquired in the period), ``active_customers`` (an order
    in the 365 days to the end), ``orders``, ``revenue``, ``order_cost``, ``contacts``,
    ``service_cost``, ``fcr_contacts``, ``handle_seconds``, ``csat_answers``, ``csat_top2``,
    ``csat_sum``, ``nps_answers``, ``promoters``, ``detractors``, ``referrals``. Money in
    currency units.
    """
    periods = [("current", scope), ("previous", scope.previous_period())]
    # One statement for both periods (a warehouse statement costs about a second whatever it
    # reads): each one-row aggregate a subquery, all joined side by side.
    parts = [
        (name, statement.subquery(f"{name}_{kind}"))
        for name, f in periods
        for kind, statement in _period_statements(f).items()
    ]
    joined = parts[0][1]
    for _, part in parts[1:]:
        joined = joined.join(part, true())
    columns = [part.c[c.name].label(f"{name}__{c.name}") for name, part in parts for c in part.c]
    with engine.connect() as conn:
        values = conn.execute(select(*columns).select_from(joined)).one()._asdict()
    rows = []
    for name, f in periods:
        row: dict[str, object] = {"period": name, "start": f.start, "end": f.end}
        prefix = f"{name}__"
        row.update({k[len(prefix) :]: v for k, v in values.items() if k.startswith(prefix)})
        rows.append(row)
    return pd.DataFrame(rows)


def _period_statements(f: Scope) -> dict[str, Select]:
    """The one-row aggregates of one period's headline figures, by source table."""
    order_stats = select(
        func.count().label("orders"),
        func.coalesce(func.sum(orders.c.revenue), 0.0).label("revenue"),
        func.coalesce(func.sum(orders.c.cost), 0.0).label("order_cost"),
    ).where(between(orders.c.ordered_at, f.start, f.end), customer_scope(f, orders.c.customer_id))
    active_stats = active_customers_statement(f)
    customer_stats = select(
        func.count().label("customers"),
        func.count(case((customers.c.acquired_at >= f.start, 1))).label("new_customers"),
    ).where(customers.c.acquired_at <= f.end, customer_scope(f))
    contact_stats = select(
        func.count().label("contacts"),
        func.coalesce(func.sum(service_contacts.c.cost), 0.0).label("service_cost"),
        func.count(case((service_contacts.c.first_contact_resolved, 1))).label("fcr_contacts"),
        func.coalesce(func.sum(service_contacts.c.handle_seconds), 0).label("handle_seconds"),
    ).where(
        between(service_contacts.c.opened_at, f.start, f.end),
        customer_scope(f, service_contacts.c.customer_id),
    )
    survey_stats = select(
        func.count(surveys.c.csat).label("csat_answers"),
        func.count(case((surveys.c.csat >= 4, 1))).label("csat_top2"),
        func.coalesce(func.sum(surveys.c.csat), 0).label("csat_sum"),
        func.count(surveys.c.nps).label("nps_answers"),
        func.count(case((surveys.c.nps >= 9, 1))).label("promoters"),
        func.count(case((surveys.c.nps <= 6, 1))).label("detractors"),
    ).where(
        between(surveys.c.answered_at, f.start, f.end),
        customer_scope(f, surveys.c.customer_id),
    )
    referral_stats = select(func.count().label("referrals")).where(
        between(referrals.c.referred_at, f.start, f.end),
        customer_scope(f, referrals.c.referrer_id),
    )
    return {
        "orders": order_stats,
        "active": active_stats,
        "customers": customer_stats,
        "contacts": contact_stats,
        "surveys": survey_stats,
        "referrals": referral_stats,
    }


def active_customers_statement(f: Scope) -> Select:
    """``active_customers``: customers in scope with an order in the ``ACTIVE_WINDOW_DAYS``
    to ``f.end``, counted over a GROUP BY of the orders (PostgreSQL sorts every order's text id
    for a ``count(DISTINCT ...)`` and hashes a GROUP BY: about 2x faster)."""
    active = (
        select(orders.c.customer_id)
        .where(
            between(orders.c.ordered_at, f.end - timedelta(days=ACTIVE_WINDOW_DAYS - 1), f.end),
            customer_scope(f, orders.c.customer_id),
        )
        .group_by(orders.c.customer_id)
        .subquery("active")
    )
    return select(func.count().label("active_customers")).select_from(active)


def monthly_activity(engine: Engine, scope: Scope) -> pd.DataFrame:
    """Revenue, gross margin, service cost and contacts per calendar month of the period.

    Columns: ``month`` (first day), ``revenue``, ``gross_margin``, ``orders``, ``contacts``,
    ``service_cost``. Months without activity are absent (the domain layer fills them).
    """
    order_month = month_start(orders.c.ordered_at).label("month")
    by_order = (
        select(
            order_month,
            func.sum(orders.c.revenue).label("revenue"),
            func.sum(orders.c.revenue - orders.c.cost).label("gross_margin"),
            func.count().label("orders"),
            literal(0).label("contacts"),
            literal(0.0).label("service_cost"),
        )
        .where(
            between(orders.c.ordered_at, scope.start, scope.end),
            customer_scope(scope, orders.c.customer_id),
        )
        .group_by(order_month)
    )
    contact_month = month_start(service_contacts.c.opened_at).label("month")
    by_contact = (
        select(
            contact_month,
            literal(0.0).label("revenue"),
            literal(0.0).label("gross_margin"),
            literal(0).label("orders"),
            func.count().label("contacts"),
            func.sum(service_contacts.c.cost).label("service_cost"),
        )
        .where(
            between(service_contacts.c.opened_at, scope.start, scope.end),
            customer_scope(scope, service_contacts.c.customer_id),
        )
        .group_by(contact_month)
    )
    both = union_all(by_order, by_contact).subquery()
    statement = (
        select(
            both.c.month,
            func.sum(both.c.revenue).label("revenue"),
            func.sum(both.c.gross_margin).label("gross_margin"),
            func.sum(both.c.orders).label("orders"),
            func.sum(both.c.contacts).label("contacts"),
            func.sum(both.c.service_cost).label("service_cost"),
        )
        .group_by(both.c.month)
        .order_by(both.c.month)
    )
    frame = read_frame(engine, statement)
    if not frame.empty:
        frame["month"] = pd.to_datetime(frame["month"])
    return frame

"""Stored facts of the customer-base audit's cohort lenses, per data version and as-of date.

Lenses 3 to 5 (and the new-or-reactivated split of lens 2) look at every order up to the
period's end. Aggregating them per query means joining every order to its customer, several
times per page view (month and quarter grids, time to second purchase, flows): about 2 s on
the embedded store at a million customers (5.6M orders), far more on PostgreSQL. What those
queries need depends only on the data and the as-of date (the period's end; every preset
period ends on the latest order, so one as-of date serves them all):

* ``customer_months``: per customer acquired by the as-of date and calendar month with an
  order up to it: orders, revenue, gross margin (about 4M rows at 1M customers, 0.7 per
  order). The month of an order dated before the customer's acquisition is the acquisition
  month (lens 3 counts such orders at age 0), so ``month - cohort_month`` is the age;
* ``customer_first_orders``: per customer with an order up to the as-of date: the first
  order's date and the second purchase day's (the first order on a later day), and the
  acquisition date.

Both are written by ``INSERT ... SELECT`` in the database (nothing comes to Python), in one
transaction with the as-of date's row in ``customer_month_sets``: an as-of date listed there
is complete. The same transaction deletes other data versions' rows and this version's
oldest as-of dates beyond :data:`KEEP_AS_OF`. Filters and the user's regions are applied
when the rows are read (``customer_scope`` on their ``customer_id``), as for
``customer_summaries``. On PostgreSQL the tables are analysed after the write. With the
app's tables in a store apart (:func:`~dashboard.storage.stores.is_split`), the rows are
computed in the contract store and written to the app store. A store that cannot be written
returns None: the callers aggregate the orders instead.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Double,
    Engine,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    case,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

from dashboard.errors import first_line
from dashboard.storage.engine import bulk_insert, has_tables, refresh_statistics
from dashboard.storage.queries import data_version
from dashboard.storage.schema import KEY, customers, orders
from dashboard.storage.sql import month_index, read_frame
from dashboard.storage.stores import app_engine, is_split

log = logging.getLogger(__name__)

#: The stored tables, on their own metadata (as the customer summaries): created on the first
#: read, never part of the contract. The big tables have no primary key (an index of 4M rows
#: would slow every write); the set row's primary key is what stops two processes from
#: storing the same as-of date twice (the second transaction fails and reads the first's).
AUDIT_STORE = MetaData()


def _keys() -> list[Column]:
    return [
        Column("data_version", String(200), nullable=False),
        Column("as_of", Date, nullable=False),
        Column("customer_id", KEY, nullable=False),
    ]


customer_months = Table(
    "customer_months",
    AUDIT_STORE,
    *_keys(),
    Column("cohort_month", Integer, nullable=False, comment="month index of acquired_at"),
    Column(
        "month",
        Integer,
        nullable=False,
        comment="month index of the orders (the acquisition month for orders before it)",
    ),
    Column(
        "quarter_first",
        Integer,
        nullable=False,
        comment="1 for the customer's first month with orders in its quarter, else 0",
    ),
    Column("orders", BigInteger, nullable=False, comment="orders in the month"),
    Column("revenue", Double, nullable=False, comment="revenue in the month"),
    Column("gross_margin", Double, nullable=False, comment="revenue - cost in the month"),
)

customer_first_orders = Table(
    "customer_first_orders",
    AUDIT_STORE,
    *_keys(),
    Column("acquired_at", Date, comment="customers.acquired_at (null: not in customers)"),
    Column("first_order", Date, nullable=False, comment="date of the first order"),
    Column("second_order", Date, comment="first order on a later day than the first"),
)

#: One row per stored (data version, as-of date), written in the transaction of its rows.
customer_month_sets = Table(
    "customer_month_sets",
    AUDIT_STORE,
    Column("data_version", String(200), primary_key=True),
    Column("as_of", Date, primary_key=True),
    Column("stored_at", DateTime, nullable=False),
    Column("customers", BigInteger, nullable=False),
    Column("months", BigInteger, nullable=False),
)

#: As-of dates kept per data version (the presets share one; custom periods add others).
KEEP_AS_OF = 3


def store_facts(engine: Engine, as_of: date) -> str | None:
    """Make sure the audit facts as of ``as_of`` are stored for the current data version;
    return that version, or None when the store cannot hold them (then aggregate)."""
    version = data_version(engine)
    target = app_engine(engine)
    key = (customer_month_sets.c.data_version == version, customer_month_sets.c.as_of == as_of)
    try:
        if _stored(target, key):
            return version
        AUDIT_STORE.create_all(target, checkfirst=True)
        with target.begin() as conn:
            _prune(conn, version)
            counts = {}
            for table, statement in (
                (customer_months, _months_statement(as_of)),
                (customer_first_orders, _first_orders_statement(as_of)),
            ):
                if is_split(engine):  # computed in the warehouse, written to the app store
                    frame = read_frame(engine, statement).assign(data_version=version, as_of=as_of)
                    counts[table.name] = bulk_insert(conn, table, frame)
                else:
                    keyed = select(
                        literal(version, String(200)).label("data_version"),
                        literal(as_of, Date).label("as_of"),
                        *statement.subquery().c,
                    )
                    names = [c.name for c in keyed.selected_columns]
                    conn.execute(table.insert().from_select(names, keyed))
                    # Counted: the insert's rowcount came back 0 on PostgreSQL (1M copy).
                    counts[table.name] = conn.execute(
                        select(func.count())
                        .select_from(table)
                        .where(stored_rows(table, version, as_of))
                    ).scalar_one()
            conn.execute(
                customer_month_sets.insert().values(
                    data_version=version,
                    as_of=as_of,
                    stored_at=datetime.now(),
                    customers=counts[customer_first_orders.name],
                    months=counts[customer_months.name],
                )
            )
    except SQLAlchemyError as exc:
        try:
            if _stored(target, key):  # another process stored it meanwhile
                return version
        except SQLAlchemyError:
            pass
        log.warning("audit facts not stored, aggregating instead: %s", first_line(exc))
        return None
    refresh_statistics(target, AUDIT_STORE.sorted_tables)
    return version


def _months_statement(as_of: date) -> Select:
    """Per customer acquired by ``as_of`` and month: orders, revenue, gross margin, and
    whether it is the customer's first month in its quarter (so that customers active in a
    quarter are a sum, not a count of distinct customers, when read)."""
    cohort = month_index(customers.c.acquired_at)
    ordered = month_index(orders.c.ordered_at)
    month = case((ordered < cohort, cohort), else_=ordered)
    grouped = (
        select(
            orders.c.customer_id,
            cohort.label("cohort_month"),
            month.label("month"),
            func.count().label("orders"),
            func.sum(orders.c.revenue).label("revenue"),
            func.sum(orders.c.revenue - orders.c.cost).label("gross_margin"),
        )
        .select_from(orders.join(customers, customers.c.customer_id == orders.c.customer_id))
        .where(orders.c.ordered_at <= as_of, customers.c.acquired_at <= as_of)
        .group_by(orders.c.customer_id, cohort, month)
        .subquery("customer_month")
    )
    rank_in_quarter = func.row_number().over(
        partition_by=(grouped.c.customer_id, cast(func.floor(grouped.c.month / 3.0), Integer)),
        order_by=grouped.c.month,
    )
    return select(
        grouped.c.customer_id,
        grouped.c.cohort_month,
        grouped.c.month,
        case((rank_in_quarter == 1, 1), else_=0).label("quarter_first"),
        grouped.c.orders,
        grouped.c.revenue,
        grouped.c.gross_margin,
    )


def _first_orders_statement(as_of: date) -> Select:
    """Per customer with an order up to ``as_of``: first order, second purchase day."""
    first = (
        select(orders.c.customer_id, func.min(orders.c.ordered_at).label("first_order"))
        .where(orders.c.ordered_at <= as_of)
        .group_by(orders.c.customer_id)
        .cte("first_purchase")
    )
    second = (
        select(orders.c.customer_id, func.min(orders.c.ordered_at).label("second_order"))
        .select_from(orders.join(first, first.c.customer_id == orders.c.customer_id))
        .where(orders.c.ordered_at <= as_of, orders.c.ordered_at > first.c.first_order)
        .group_by(orders.c.customer_id)
        .cte("second_purchase")
    )
    return select(
        first.c.customer_id,
        customers.c.acquired_at,
        first.c.first_order,
        second.c.second_order,
    ).select_from(
        first.outerjoin(customers, customers.c.customer_id == first.c.customer_id).outerjoin(
            second, second.c.customer_id == first.c.customer_id
        )
    )


def _stored(engine: Engine, key) -> bool:
    if not has_tables(engine, *AUDIT_STORE.sorted_tables):
        return False
    with engine.connect() as conn:
        found = conn.execute(
            select(func.count()).select_from(customer_month_sets).where(*key)
        ).scalar_one()
    return bool(found)


def _prune(conn, version: str) -> None:
    """Delete other data versions' facts and this version's oldest as-of dates beyond
    ``KEEP_AS_OF - 1`` (a new one is about to be stored)."""
    sets = customer_month_sets.c
    for table in AUDIT_STORE.sorted_tables:
        conn.execute(table.delete().where(table.c.data_version != version))
    kept = conn.execute(
        select(sets.as_of).where(sets.data_version == version).order_by(sets.stored_at.desc())
    ).scalars()
    for old in list(kept)[KEEP_AS_OF - 1 :]:
        for table in AUDIT_STORE.sorted_tables:
            conn.execute(
                table.delete().where(table.c.data_version == version, table.c.as_of == old)
            )


def stored_rows(table: Table, version: str, as_of: date):
    """The condition selecting ``table``'s rows of one stored (version, as-of date)."""
    return (table.c.data_version == version) & (table.c.as_of == as_of)


__all__ = [
    "AUDIT_STORE",
    "KEEP_AS_OF",
    "customer_first_orders",
    "customer_month_sets",
    "customer_months",
    "store_facts",
    "stored_rows",
]

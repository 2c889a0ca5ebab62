"""Per-customer facts, aggregated in the database: the input of value, segments and loyalty.

One row per customer in scope (acquired on or before the period's end), with what the customer
did up to the end of the period and within it. Everything is summed per customer in SQL, so only
one row per customer reaches pandas.

The summary of every customer for a period is stored once per data version
(``customer_summaries``, filled by one ``INSERT ... SELECT`` in the database on the first read
of that period): aggregating every order, contact, survey and referral per customer is the
slowest query of the app (seconds at 100k customers on PostgreSQL, more at 1M), and its result
depends only on the data and the period. Later reads of the period, with any filter, read the
stored rows; a new data version (:func:`dashboard.storage.queries.data_version`) is a new key,
so nothing stale is ever read. A store that cannot be written falls back to the aggregation.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

import pandas as pd
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
    Subquery,
    Table,
    case,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

from dashboard.errors import first_line
from dashboard.scope import Scope
from dashboard.storage.engine import has_tables, refresh_statistics
from dashboard.storage.queries import data_version
from dashboard.storage.schema import KEY, customers, orders, referrals, service_contacts, surveys
from dashboard.storage.sql import between, customer_scope, read_frame
from dashboard.storage.stores import is_split, store_summaries_apart

log = logging.getLogger(__name__)

#: Columns of :func:`customer_summary` and their meaning (units: money in currency units).
SUMMARY_COLUMNS = {
    "customer_id": "customer identifier",
    "name": "display name",
    "region": "region",
    "acquisition_channel": "acquisition channel",
    "acquired_at": "acquisition date",
    "acquisition_cost": "cost to win the customer",
    "orders": "orders up to the period's end",
    "order_days": "distinct days with an order up to the period's end",
    "first_order": "date of the first order",
    "last_order": "date of the latest order up to the period's end",
    "revenue": "revenue up to the period's end",
    "gross_margin": "revenue - cost up to the period's end",
    "orders_period": "orders in the period",
    "revenue_period": "revenue in the period",
    "gross_margin_period": "gross margin in the period",
    "revenue_last_12m": "revenue in the 365 days to the period's end",
    "revenue_prior_12m": "revenue in the 365 days before those",
    "contacts": "service contacts up to the period's end",
    "service_cost": "service cost up to the period's end",
    "fcr_contacts": "contacts resolved at first contact, up to the period's end",
    "handle_seconds": "total handle time up to the period's end, seconds",
    "contacts_period": "service contacts in the period",
    "service_cost_period": "service cost in the period",
    "referrals_made": "referrals made up to the period's end",
    "latest_csat": "latest CSAT answer (1-5) up to the period's end",
    "latest_nps": "latest NPS answer (0-10) up to the period's end",
}


def customer_summary(engine: Engine, scope: Scope, *, stored: bool = True) -> pd.DataFrame:
    """One row per customer in scope with lifetime-to-date and in-period aggregates.

    Lifetime-to-date figures cover everything up to ``scope.end``; ``*_period`` figures cover
    ``scope.start`` to ``scope.end``. Customers without orders, contacts or surveys have
    zeros (and nulls for dates and survey answers). See ``SUMMARY_COLUMNS``.

    ``stored`` (default): read the period's stored summary of the current data version,
    storing it first when it is not there yet (:func:`store_summaries`); the same rows as the
    aggregation (``stored=False``, which always aggregates).
    """
    if stored:
        version = store_summaries(engine, scope.start, scope.end)
        if version is not None:
            return _typed_summary(read_frame(engine, _stored_statement(scope, version)))
    return _typed_summary(read_frame(engine, _summary_statement(scope)))


def summary_rows(engine: Engine, scope: Scope) -> Subquery:
    """The rows of :func:`customer_summary` as a subquery (columns ``SUMMARY_COLUMNS``), for
    queries that aggregate them in the database: the period's stored rows of the current data
    version (storing them first), or the aggregation where the store cannot hold them."""
    version = store_summaries(engine, scope.start, scope.end)
    if version is None:
        return _summary_statement(scope, ordered=False).subquery("summary")
    return _stored_statement(scope, version).order_by(None).subquery("summary")


def _typed_summary(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[list(SUMMARY_COLUMNS)]
    for column in ("acquired_at", "first_order", "last_order"):
        frame[column] = pd.to_datetime(frame[column])
    for column in ("latest_csat", "latest_nps"):
        frame[column] = pd.to_numeric(frame[column]).astype("Float64")
    return frame


def _summary_statement(scope: Scope, *, ordered: bool = True) -> Select:
    """The aggregation behind :func:`customer_summary` (columns ``SUMMARY_COLUMNS``)."""
    end, start = scope.end, scope.start
    last_12m_start = end - timedelta(days=364)
    prior_12m_start = last_12m_start - timedelta(days=365)
    in_period = between(orders.c.ordered_at, start, end)
    order_facts = (
        select(
            orders.c.customer_id,
            func.count().label("orders"),
            func.count(orders.c.ordered_at.distinct()).label("order_days"),
            func.min(orders.c.ordered_at).label("first_order"),
            func.max(orders.c.ordered_at).label("last_order"),
            func.sum(orders.c.revenue).label("revenue"),
            func.sum(orders.c.revenue - orders.c.cost).label("gross_margin"),
            func.count(case((in_period, 1))).label("orders_period"),
            func.sum(case((in_period, orders.c.revenue), else_=0.0)).label("revenue_period"),
            func.sum(case((in_period, orders.c.revenue - orders.c.cost), else_=0.0)).label(
                "gross_margin_period"
            ),
            func.sum(
                case((orders.c.ordered_at >= last_12m_start, orders.c.revenue), else_=0.0)
            ).label("revenue_last_12m"),
            func.sum(
                case(
                    (
                        between(
                            orders.c.ordered_at, prior_12m_start, last_12m_start - timedelta(days=1)
                        ),
                        orders.c.revenue,
                    ),
                    else_=0.0,
                )
            ).label("revenue_prior_12m"),
        )
        .where(orders.c.ordered_at <= end, customer_scope(scope, orders.c.customer_id))
        .group_by(orders.c.customer_id)
        .cte("order_facts")
    )
    contact_in_period = between(service_contacts.c.opened_at, start, end)
    contact_facts = (
        select(
            service_contacts.c.customer_id,
            func.count().label("contacts"),
            func.sum(service_contacts.c.cost).label("service_cost"),
            func.sum(cast(service_contacts.c.first_contact_resolved, Integer)).label(
                "fcr_contacts"
            ),
            func.sum(service_contacts.c.handle_seconds).label("handle_seconds"),
            func.count(case((contact_in_period, 1))).label("contacts_period"),
            func.sum(case((contact_in_period, service_contacts.c.cost), else_=0.0)).label(
                "service_cost_period"
            ),
        )
        .where(
            service_contacts.c.opened_at <= end,
            customer_scope(scope, service_contacts.c.customer_id),
        )
        .group_by(service_contacts.c.customer_id)
        .cte("contact_facts")
    )
    referral_facts = (
        select(referrals.c.referrer_id.label("customer_id"), func.count().label("referrals_made"))
        .where(referrals.c.referred_at <= end, customer_scope(scope, referrals.c.referrer_id))
        .group_by(referrals.c.referrer_id)
        .cte("referral_facts")
    )
    latest_survey = _latest_answers(scope)
    columns = [
        customers.c.customer_id,
        customers.c.name,
        customers.c.region,
        customers.c.acquisition_channel,
        customers.c.acquired_at,
        customers.c.acquisition_cost,
    ]
    zero_filled = [
        (
            order_facts,
            [
                "orders",
                "order_days",
                "revenue",
                "gross_margin",
                "orders_period",
                "revenue_period",
                "gross_margin_period",
                "revenue_last_12m",
                "revenue_prior_12m",
            ],
        ),
        (
            contact_facts,
            [
                "contacts",
                "service_cost",
                "fcr_contacts",
                "handle_seconds",
                "contacts_period",
                "service_cost_period",
            ],
        ),
        (referral_facts, ["referrals_made"]),
    ]
    for cte, names in zero_filled:
        columns += [func.coalesce(cte.c[name], 0).label(name) for name in names]
    columns += [
        order_facts.c.first_order,
        order_facts.c.last_order,
        latest_survey.c.latest_csat,
        latest_survey.c.latest_nps,
    ]
    statement = (
        select(*columns)
        .select_from(
            customers.outerjoin(order_facts, order_facts.c.customer_id == customers.c.customer_id)
            .outerjoin(contact_facts, contact_facts.c.customer_id == customers.c.customer_id)
            .outerjoin(referral_facts, referral_facts.c.customer_id == customers.c.customer_id)
            .outerjoin(latest_survey, latest_survey.c.customer_id == customers.c.customer_id)
        )
        .where(customers.c.acquired_at <= end, customer_scope(scope))
    )
    return statement.order_by(customers.c.customer_id) if ordered else statement


# --------------------------------------------------------------------------------------------
# Stored summaries: one row per customer, per (data version, period)
# --------------------------------------------------------------------------------------------

#: The stored summaries' tables, on their own metadata (as the segment tables): created on the
#: first read, never part of the contract doc; rows are keyed by data version, so rows left by
#: a replaced store are never read and are deleted by the next fill.
SUMMARY_STORE = MetaData()

#: Stored types; money and answers as double precision (FLOAT is 32-bit on DuckDB).
_TYPES = {
    "customer_id": KEY,
    "name": String(200),
    "region": String(100),
    "acquisition_channel": String(100),
    "acquired_at": Date,
    "first_order": Date,
    "last_order": Date,
    "acquisition_cost": Double,
    "revenue": Double,
    "gross_margin": Double,
    "revenue_period": Double,
    "gross_margin_period": Double,
    "revenue_last_12m": Double,
    "revenue_prior_12m": Double,
    "service_cost": Double,
    "service_cost_period": Double,
    "latest_csat": Double,
    "latest_nps": Double,
}

#: Every customer's :func:`customer_summary` of a period, as of a data version.
customer_summaries = Table(
    "customer_summaries",
    SUMMARY_STORE,
    Column("data_version", String(200), primary_key=True),
    Column("period_start", Date, primary_key=True),
    Column("period_end", Date, primary_key=True),
    *(
        Column(
            name,
            _TYPES.get(name, BigInteger),
            primary_key=name == "customer_id",
            autoincrement=False,
            comment=meaning,
        )
        for name, meaning in SUMMARY_COLUMNS.items()
    ),
)

#: One row per stored (data version, period), written in the transaction of its rows: a period
#: listed here is complete.
customer_summary_periods = Table(
    "customer_summary_periods",
    SUMMARY_STORE,
    Column("data_version", String(200), primary_key=True),
    Column("period_start", Date, primary_key=True),
    Column("period_end", Date, primary_key=True),
    Column("stored_at", DateTime, nullable=False),
    Column("customers", BigInteger, nullable=False),
)

#: Periods kept per data version (the six presets and a couple of custom periods); older
#: ones are deleted when a new one is stored.
KEEP_PERIODS = 8


def store_summaries(engine: Engine, start: date, end: date) -> str | None:
    """Make sure every customer's summary of ``start``..``end`` is stored for the current data
    version; return that version, or None when the store cannot hold it (then aggregate).

    The rows are computed and written by one ``INSERT ... SELECT`` in the database (nothing
    comes to Python), in one transaction with the period's row in ``customer_summary_periods``,
    which also deletes other data versions' rows and this version's oldest periods beyond
    :data:`KEEP_PERIODS`. Two processes storing the same period at once: the second one's
    insert fails on the primary key and it reads the first one's rows. On PostgreSQL the two
    tables are analysed afterwards (``refresh_statistics``).
    """
    version = data_version(engine)
    if is_split(engine):  # computed in the warehouse, stored in the app store
        return store_summaries_apart(engine, start, end, version)
    key = (
        customer_summary_periods.c.data_version == version,
        customer_summary_periods.c.period_start == start,
        customer_summary_periods.c.period_end == end,
    )
    try:
        if _period_stored(engine, key):
            return version
        SUMMARY_STORE.create_all(engine, checkfirst=True)
        with engine.begin() as conn:
            _prune(conn, version)
            summary = _summary_statement(Scope(start=start, end=end), ordered=False).subquery()
            rows = select(
                literal(version, String(200)).label("data_version"),
                literal(start, Date).label("period_start"),
                literal(end, Date).label("period_end"),
                *(summary.c[name] for name in SUMMARY_COLUMNS),
            )
            stored = conn.execute(
                customer_summaries.insert().from_select(
                    ["data_version", "period_start", "period_end", *SUMMARY_COLUMNS], rows
                )
            ).rowcount
            conn.execute(
                customer_summary_periods.insert().values(
                    data_version=version,
                    period_start=start,
                    period_end=end,
                    stored_at=datetime.now(),
                    customers=max(int(stored or 0), 0),
                )
            )
    except SQLAlchemyError as exc:
        try:
            if _period_stored(engine, key):  # another process stored it meanwhile
                return version
        except SQLAlchemyError:
            pass
        log.warning("customer summaries not stored, aggregating instead: %s", first_line(exc))
        return None
    refresh_statistics(engine, [customer_summaries, customer_summary_periods])
    return version


def _period_stored(engine: Engine, key) -> bool:
    if not has_tables(engine, customer_summaries, customer_summary_periods):
        return False
    with engine.connect() as conn:
        found = conn.execute(
            select(func.count()).select_from(customer_summary_periods).where(*key)
        ).scalar_one()
    return bool(found)


def _prune(conn, version: str) -> None:
    """Delete other data versions' summaries and this version's oldest periods beyond
    ``KEEP_PERIODS - 1`` (a new one is about to be stored)."""
    periods = customer_summary_periods.c
    summaries = customer_summaries.c
    conn.execute(customer_summaries.delete().where(summaries.data_version != version))
    conn.execute(customer_summary_periods.delete().where(periods.data_version != version))
    kept = conn.execute(
        select(periods.period_start, periods.period_end)
        .where(periods.data_version == version)
        .order_by(periods.stored_at.desc())
    ).all()
    for start, end in kept[KEEP_PERIODS - 1 :]:
        for table in (customer_summaries, customer_summary_periods):
            conn.execute(
                table.delete().where(
                    table.c.data_version == version,
                    table.c.period_start == start,
                    table.c.period_end == end,
                )
            )


def _stored_statement(scope: Scope, version: str) -> Select:
    """The stored summary rows of ``scope``'s period and filters, by customer."""
    stored = customer_summaries.c
    return (
        select(*(stored[name] for name in SUMMARY_COLUMNS))
        .where(
            stored.data_version == version,
            stored.period_start == scope.start,
            stored.period_end == scope.end,
            customer_scope(scope, stored.customer_id),
        )
        .order_by(stored.customer_id)
    )


def latest_answer(score: str, scope: Scope, as_of: date, name: str) -> Select:
    """Each customer's latest non-null answer of ``score`` (csat or nps) up to ``as_of``:
    columns ``customer_id``, ``answer``. The ranking subquery is called ``ranked_<name>``."""
    ranked = (
        select(
            surveys.c.customer_id,
            surveys.c[score].label("answer"),
            func.row_number()
            .over(
                partition_by=surveys.c.customer_id,
                order_by=(surveys.c.answered_at.desc(), surveys.c.survey_id.desc()),
            )
            .label("rank"),
        )
        .where(
            surveys.c[score].is_not(None),
            surveys.c.answered_at <= as_of,
            customer_scope(scope, surveys.c.customer_id),
        )
        .subquery(f"ranked_{name}")
    )
    return select(ranked.c.customer_id, ranked.c.answer).where(ranked.c.rank == 1)


def _latest_answers(scope: Scope):
    """Latest non-null CSAT and latest non-null NPS per customer up to the period's end."""
    csat, nps = (
        latest_answer(score, scope, scope.end, score).subquery(f"latest_{score}")
        for score in ("csat", "nps")
    )
    return (
        select(
            customers.c.customer_id,
            csat.c.answer.label("latest_csat"),
            nps.c.answer.label("latest_nps"),
        )
        .select_from(
            customers.outerjoin(csat, csat.c.customer_id == customers.c.customer_id).outerjoin(
                nps, nps.c.customer_id == customers.c.customer_id
            )
        )
        .where((csat.c.customer_id.is_not(None)) | (nps.c.customer_id.is_not(None)))
        .cte("latest_survey")
    )

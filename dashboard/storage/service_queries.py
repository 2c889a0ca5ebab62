"""Queries behind the Service page: the same contacts as a cost center and as a value driver.

Every function is ``(engine, scope, ...) -> DataFrame`` built with SQLAlchemy Core; sums and
counts happen in the database and date bounds reach it as bound parameters. The one piece of
per-row date arithmetic, "the contact date plus 90 days", is the :class:`add_days` construct
below, compiled for each dialect (DuckDB and PostgreSQL add an integer to a DATE; SQLite uses
``date(x, '+N days')``).

Conventions shared by the follow-up queries (docs/metrics.md, "Retention after contact"):

- an order *follows* a contact when it is placed 1 to ``follow_up_days`` days after the contact
  day (same-day orders are neither before nor after: their order within the day is unknown);
- an order is *prior* to a contact when it is placed before the contact day;
- callers pass a window of contact dates whose follow-up is complete (the last contact day plus
  ``follow_up_days`` is on or before the last order date in the store), computed by
  ``dashboard.domain.service.follow_up_window``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import (
    Date,
    Engine,
    Float,
    Integer,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from dashboard.scope import Scope
from dashboard.storage.queries import active_customers_statement
from dashboard.storage.schema import orders, service_contacts, surveys
from dashboard.storage.sql import between, customer_scope, month_start, read_frame

#: Recency bands (days from the last order to the reference date, upper bounds inclusive) and
#: frequency bands (orders before the reference date, lower bounds) used to compare contacted
#: customers with similar customers without a contact. Labels live in the domain layer.
RECENCY_BAND_DAYS = (90, 180, 365)
FREQUENCY_BAND_ORDERS = (2, 4)


class add_days(FunctionElement):  # noqa: N801 - reads like the SQL function it is
    """``column + days`` as a DATE on every supported dialect; ``days`` is a fixed integer.

    The number of days is rendered into the SQL (it is a constant of the metric, validated as
    an ``int`` here, never user text) because PostgreSQL has no ``date + bigint`` operator for
    a bound parameter to use.
    """

    type = Date()
    inherit_cache = True
    name = "add_days"

    def __init__(self, column: ColumnElement, days: int) -> None:
        if not isinstance(days, int) or isinstance(days, bool):
            raise TypeError(f"days must be an int, got {days!r}")
        super().__init__(column, literal_column(str(days), Integer()))


def _add_days_parts(element: add_days, compiler: Any, **kw: Any) -> tuple[str, int]:
    column, days = list(element.clauses)
    return compiler.process(column, **kw), int(days.name)


@compiles(add_days)
def _add_days_default(element: add_days, compiler: Any, **kw: Any) -> str:
    column, days = _add_days_parts(element, compiler, **kw)
    return f"CAST(({column}) + ({days}) AS DATE)"


@compiles(add_days, "sqlite")
def _add_days_sqlite(element: add_days, compiler: Any, **kw: Any) -> str:
    column, days = _add_days_parts(element, compiler, **kw)
    return f"date({column}, '{days:+d} days')"


def _numbers(frame: pd.DataFrame, *, skip: tuple[str, ...] = ()) -> pd.DataFrame:
    """Sums come back as Decimal from PostgreSQL: make every column but ``skip`` a float/int."""
    for column in frame.columns:
        if column not in skip and frame[column].dtype == object:
            frame[column] = pd.to_numeric(frame[column])
    return frame


def _float(column: ColumnElement) -> ColumnElement:
    # Squares of handle seconds overflow a 32-bit integer (86,400² > 2³¹): square as floats.
    return cast(column, Float)


# --- The two lenses over a period ---------------------------------------------------------------


def contact_totals(engine: Engine, scope: Scope, follow_up_until: date) -> pd.DataFrame:
    """Raw aggregates of both scorecards, one row per period ("current", "previous").

    Contacts opened in the period, in scope. Columns: ``period``, ``start``, ``end``,
    ``contacts``, ``agents`` (distinct), ``contact_days`` (distinct days with a contact),
    ``contacted_customers``, ``active_customers`` (an order in the 365 days to the period's
    end), ``service_cost`` and ``service_cost_sq`` (currency units, sum and sum of squares),
    ``handle_seconds`` and ``handle_seconds_sq``, ``fcr_contacts``, and over the surveys that
    followed these contacts (``surveys.contact_id`` set): ``csat_answers``, ``csat_top2``,
    ``csat_sum``, ``nps_answers``, ``promoters``, ``detractors``. ``contacts_followed_up``
    counts the contacts opened on or before ``follow_up_until`` (the last day whose 90-day
    follow-up is complete).
    """
    rows = [
        _period_contact_totals(engine, name, f, follow_up_until)
        for name, f in (("current", scope), ("previous", scope.previous_period()))
    ]
    return _numbers(pd.DataFrame(rows), skip=("period", "start", "end"))


def _period_contact_totals(
    engine: Engine, name: str, f: Scope, follow_up_until: date
) -> dict[str, object]:
    c = service_contacts
    in_scope = (between(c.c.opened_at, f.start, f.end), customer_scope(f, c.c.customer_id))
    contact_stats = select(
        func.count().label("contacts"),
        func.count(distinct(c.c.agent_id)).label("agents"),
        func.count(distinct(c.c.opened_at)).label("contact_days"),
        func.count(distinct(c.c.customer_id)).label("contacted_customers"),
        func.coalesce(func.sum(c.c.cost), 0.0).label("service_cost"),
        func.coalesce(func.sum(c.c.cost * c.c.cost), 0.0).label("service_cost_sq"),
        func.coalesce(func.sum(_float(c.c.handle_seconds)), 0.0).label("handle_seconds"),
        func.coalesce(func.sum(_float(c.c.handle_seconds) * _float(c.c.handle_seconds)), 0.0).label(
            "handle_seconds_sq"
        ),
        func.count(case((c.c.first_contact_resolved, 1))).label("fcr_contacts"),
        func.count(case((c.c.opened_at <= follow_up_until, 1))).label("contacts_followed_up"),
    ).where(*in_scope)
    survey_stats = (
        select(
            func.count(surveys.c.csat).label("csat_answers"),
            func.count(case((surveys.c.csat >= 4, 1))).label("csat_top2"),
            func.coalesce(func.sum(surveys.c.csat), 0).label("csat_sum"),
            func.count(surveys.c.nps).label("nps_answers"),
            func.count(case((surveys.c.nps >= 9, 1))).label("promoters"),
            func.count(case((surveys.c.nps <= 6, 1))).label("detractors"),
        )
        .select_from(surveys.join(c, c.c.contact_id == surveys.c.contact_id))
        .where(*in_scope)
    )
    active_stats = active_customers_statement(f)
    row: dict[str, object] = {"period": name, "start": f.start, "end": f.end}
    with engine.connect() as conn:
        for statement in (contact_stats, survey_stats, active_stats):
            result = conn.execute(statement)
            row.update(dict(zip(result.keys(), result.one(), strict=True)))
    return row


def monthly_contacts(engine: Engine, scope: Scope) -> pd.DataFrame:
    """Both lenses per calendar month, from the month of the previous period's start to the
    period's end (whole months at the start, so that the first point is not one stray day).

    Columns: ``month`` (first day), ``contacts``, ``handle_seconds``, ``service_cost``,
    ``fcr_contacts``, ``nps_answers``, ``promoters``, ``detractors`` (surveys that followed
    the month's contacts). Months without contacts are absent.
    """
    start = scope.previous_period().start.replace(day=1)
    c = service_contacts
    month = month_start(c.c.opened_at).label("month")
    contact_side = (
        select(
            c.c.contact_id,
            month,
            c.c.handle_seconds,
            c.c.cost,
            c.c.first_contact_resolved,
        )
        .where(between(c.c.opened_at, start, scope.end), customer_scope(scope, c.c.customer_id))
        .subquery("month_contacts")
    )
    answers = (
        select(
            surveys.c.contact_id,
            func.count(surveys.c.nps).label("nps_answers"),
            func.count(case((surveys.c.nps >= 9, 1))).label("promoters"),
            func.count(case((surveys.c.nps <= 6, 1))).label("detractors"),
        )
        .where(surveys.c.contact_id.is_not(None))
        .group_by(surveys.c.contact_id)
        .subquery("contact_answers")
    )
    statement = (
        select(
            contact_side.c.month,
            func.count().label("contacts"),
            func.sum(_float(contact_side.c.handle_seconds)).label("handle_seconds"),
            func.sum(contact_side.c.cost).label("service_cost"),
            func.count(case((contact_side.c.first_contact_resolved, 1))).label("fcr_contacts"),
            func.coalesce(func.sum(answers.c.nps_answers), 0).label("nps_answers"),
            func.coalesce(func.sum(answers.c.promoters), 0).label("promoters"),
            func.coalesce(func.sum(answers.c.detractors), 0).label("detractors"),
        )
        .select_from(
            contact_side.outerjoin(answers, answers.c.contact_id == contact_side.c.contact_id)
        )
        .group_by(contact_side.c.month)
        .order_by(contact_side.c.month)
    )
    frame = _numbers(read_frame(engine, statement), skip=("month",))
    if not frame.empty:
        frame["month"] = pd.to_datetime(frame["month"])
    return frame


# --- Agents ----------------------------------------------------------------------------------


def agent_activity(engine: Engine, scope: Scope) -> pd.DataFrame:
    """Each agent's contacts in the period, with speed and value figures.

    Columns: ``agent_id``, ``contacts``, ``handle_seconds`` (total), ``service_cost``,
    ``fcr_contacts``, ``active_days`` (days with a contact), and over surveys that followed
    the agent's contacts: ``nps_answers``, ``promoters``, ``detractors``, ``csat_answers``,
    ``csat_top2``. One row per agent with a contact in the period.
    """
    c = service_contacts
    answers = (
        select(
            surveys.c.contact_id,
            func.count(surveys.c.nps).label("nps_answers"),
            func.count(case((surveys.c.nps >= 9, 1))).label("promoters"),
            func.count(case((surveys.c.nps <= 6, 1))).label("detractors"),
            func.count(surveys.c.csat).label("csat_answers"),
            func.count(case((surveys.c.csat >= 4, 1))).label("csat_top2"),
        )
        .where(surveys.c.contact_id.is_not(None))
        .group_by(surveys.c.contact_id)
        .subquery("contact_answers")
    )
    statement = (
        select(
            c.c.agent_id,
            func.count().label("contacts"),
            func.sum(_float(c.c.handle_seconds)).label("handle_seconds"),
            func.sum(c.c.cost).label("service_cost"),
            func.count(case((c.c.first_contact_resolved, 1))).label("fcr_contacts"),
            func.count(distinct(c.c.opened_at)).label("active_days"),
            *[
                func.coalesce(func.sum(answers.c[name]), 0).label(name)
                for name in ("nps_answers", "promoters", "detractors", "csat_answers", "csat_top2")
            ],
        )
        .select_from(c.outerjoin(answers, answers.c.contact_id == c.c.contact_id))
        .where(
            between(c.c.opened_at, scope.start, scope.end),
            customer_scope(scope, c.c.customer_id),
        )
        .group_by(c.c.agent_id)
        .order_by(c.c.agent_id)
    )
    return _numbers(read_frame(engine, statement), skip=("agent_id",))


def _follow_up(
    scope: Scope,
    window_start: date,
    window_end: date,
    follow_up_days: int,
    limit: int | None = None,
):
    """Per contact opened in the window: orders and revenue in the follow-up days after it."""
    c = service_contacts
    base = select(c).where(
        between(c.c.opened_at, window_start, window_end), customer_scope(scope, c.c.customer_id)
    )
    if limit is not None:
        # The most recent contacts: a deterministic, portable cap on the sample.
        base = base.order_by(c.c.opened_at.desc(), c.c.contact_id.desc()).limit(limit)
    base = base.cte("window_contacts")
    followed = (
        select(
            base.c.contact_id,
            func.count(orders.c.order_id).label("orders_after"),
            func.coalesce(func.sum(orders.c.revenue), 0.0).label("revenue_after"),
        )
        .select_from(
            base.outerjoin(
                orders,
                and_(
                    orders.c.customer_id == base.c.customer_id,
                    orders.c.ordered_at > base.c.opened_at,
                    orders.c.ordered_at <= add_days(base.c.opened_at, follow_up_days),
                ),
            )
        )
        .group_by(base.c.contact_id)
        .cte("followed")
    )
    return base, followed


def agent_follow_up(
    engine: Engine, scope: Scope, window_start: date, window_end: date, follow_up_days: int
) -> pd.DataFrame:
    """Per agent, contacts opened in the window and how many were followed by an order.

    Columns: ``agent_id``, ``followed_contacts`` (contacts opened in the window, all with
    complete follow-up), ``retained_contacts`` (followed by an order within
    ``follow_up_days``), ``revenue_after`` (revenue in those days, currency units).
    """
    base, followed = _follow_up(scope, window_start, window_end, follow_up_days)
    statement = (
        select(
            base.c.agent_id,
            func.count().label("followed_contacts"),
            func.count(case((followed.c.orders_after > 0, 1))).label("retained_contacts"),
            func.sum(followed.c.revenue_after).label("revenue_after"),
        )
        .select_from(base.join(followed, followed.c.contact_id == base.c.contact_id))
        .group_by(base.c.agent_id)
        .order_by(base.c.agent_id)
    )
    return _numbers(read_frame(engine, statement), skip=("agent_id",))


# --- Driver analysis input --------------------------------------------------------------------


def contact_outcomes(
    engine: Engine,
    scope: Scope,
    window_start: date,
    window_end: date,
    follow_up_days: int,
    max_contacts: int,
) -> pd.DataFrame:
    """One row per contact opened in the window (the ``max_contacts`` most recent), with outcome.

    Columns: ``contact_id``, ``customer_id``, ``agent_id``, ``opened_at``, ``channel``,
    ``handle_seconds``, ``resolved`` (first-contact resolved, bool), ``cost``;
    ``orders_after`` and ``revenue_after`` (orders and revenue 1 to ``follow_up_days`` days
    after the contact); ``prior_orders`` (orders before the contact day), ``last_order_before``
    (date of the latest of them, null if none); ``prior_contacts`` (the customer's contacts in
    the ``follow_up_days`` days before this one). Every contact must have complete follow-up:
    callers keep ``window_end`` at least ``follow_up_days`` before the last order date.
    """
    base, followed = _follow_up(scope, window_start, window_end, follow_up_days, limit=max_contacts)
    prior = (
        select(
            base.c.contact_id,
            func.count(orders.c.order_id).label("prior_orders"),
            func.max(orders.c.ordered_at).label("last_order_before"),
        )
        .select_from(
            base.outerjoin(
                orders,
                and_(
                    orders.c.customer_id == base.c.customer_id,
                    orders.c.ordered_at < base.c.opened_at,
                ),
            )
        )
        .group_by(base.c.contact_id)
        .cte("prior")
    )
    earlier = service_contacts.alias("earlier")
    prior_contacts = (
        select(base.c.contact_id, func.count(earlier.c.contact_id).label("prior_contacts"))
        .select_from(
            base.outerjoin(
                earlier,
                and_(
                    earlier.c.customer_id == base.c.customer_id,
                    earlier.c.opened_at >= add_days(base.c.opened_at, -follow_up_days),
                    or_(
                        earlier.c.opened_at < base.c.opened_at,
                        and_(
                            earlier.c.opened_at == base.c.opened_at,
                            earlier.c.contact_id < base.c.contact_id,
                        ),
                    ),
                ),
            )
        )
        .group_by(base.c.contact_id)
        .cte("prior_contacts")
    )
    statement = (
        select(
            base.c.contact_id,
            base.c.customer_id,
            base.c.agent_id,
            base.c.opened_at,
            base.c.channel,
            base.c.handle_seconds,
            base.c.first_contact_resolved.label("resolved"),
            base.c.cost,
            followed.c.orders_after,
            followed.c.revenue_after,
            prior.c.prior_orders,
            prior.c.last_order_before,
            prior_contacts.c.prior_contacts,
        )
        .select_from(
            base.join(followed, followed.c.contact_id == base.c.contact_id)
            .join(prior, prior.c.contact_id == base.c.contact_id)
            .join(prior_contacts, prior_contacts.c.contact_id == base.c.contact_id)
        )
        .order_by(base.c.opened_at, base.c.contact_id)
    )
    frame = _numbers(
        read_frame(engine, statement),
        skip=("agent_id", "channel", "opened_at", "last_order_before"),
    )
    for column in ("opened_at", "last_order_before"):
        frame[column] = pd.to_datetime(frame[column])
    frame["resolved"] = frame["resolved"].astype(bool)
    return frame


# --- Retention after contact against comparable customers -------------------------------------


def _comparison_windows(
    window_starts: tuple[date, ...], window_end: date
) -> list[tuple[date, date, date]]:
    """``(start, end, anchor)`` of each consecutive comparison window; the anchor is the
    middle day, the reference date of customers without a contact in the window."""
    windows = []
    for number, start in enumerate(window_starts):
        end = (
            window_starts[number + 1] - timedelta(days=1)
            if number + 1 < len(window_starts)
            else window_end
        )
        windows.append((start, end, start + timedelta(days=(end - start).days // 2)))
    return windows


def retention_cells(
    engine: Engine,
    scope: Scope,
    window_starts: tuple[date, ...],
    window_end: date,
    follow_up_days: int,
) -> pd.DataFrame:
    """Orders after contact for contacted and comparable customers, per window and band.

    The contact window is cut into consecutive comparison windows starting on
    ``window_starts`` (the last ends on ``window_end``). In each window, every customer in scope
    with an order before the window starts is either *contacted* (a contact opened in the
    window; reference date = the first such contact) or *comparable* (no contact in the
    window; reference date = the window's middle day). Customers are banded at the window start
    by recency (days since the last order: ≤90, 91-180, 181-365, >365 → 1-4) and frequency
    (orders so far: 1, 2-3, 4+ → 1-3). The outcome is an order 1 to ``follow_up_days`` days
    after the reference date, and the revenue of those days.

    Columns: ``window``, ``recency_band``, ``frequency_band``, ``contacted`` (bool),
    ``customers``, ``retained`` (customers with an order after), ``revenue_after`` and
    ``revenue_after_sq`` (sum and sum of squares per customer, currency units), ``contacts``
    (contacts opened in the window by these customers; 0 for comparable customers).
    """
    windows = _comparison_windows(window_starts, window_end)
    follow_up = timedelta(days=follow_up_days)
    # One pass over the contacts: each contacted customer's reference dates, one column pair
    # per window (the first contact in it and the end of its follow-up), and contact counts.
    c = service_contacts
    contact_columns = []
    for k, (start, end, _) in enumerate(windows):
        in_window = between(c.c.opened_at, start, end)
        first = func.min(case((in_window, c.c.opened_at)))
        contact_columns += [
            first.label(f"reference_{k}"),
            add_days(first, follow_up_days).label(f"follow_up_end_{k}"),
            func.count(case((in_window, 1))).label(f"contacts_{k}"),
        ]
    contacted = (
        select(c.c.customer_id, *contact_columns)
        .where(
            between(c.c.opened_at, windows[0][0], windows[-1][1]),
            customer_scope(scope, c.c.customer_id),
        )
        .group_by(c.c.customer_id)
        .cte("contacted")
    )
    # One pass over the orders, grouped by customer: per window the orders before it starts,
    # the latest of them, and the orders and revenue of the follow-up days. Orders after the
    # last follow-up day are not read. (It replaced as-of joins over every order numbered by
    # window functions, with the same result: docs/performance.md, "Service in one pass".)
    o = orders
    order_columns = []
    for k, (start, _, anchor) in enumerate(windows):
        before = o.c.ordered_at < start
        reference = func.coalesce(contacted.c[f"reference_{k}"], literal(anchor, Date()))
        follow_up_end = func.coalesce(
            contacted.c[f"follow_up_end_{k}"], literal(anchor + follow_up, Date())
        )
        after = and_(o.c.ordered_at > reference, o.c.ordered_at <= follow_up_end)
        order_columns += [
            func.count(case((before, 1))).label(f"prior_orders_{k}"),
            func.max(case((before, o.c.ordered_at))).label(f"last_order_{k}"),
            func.count(case((after, 1))).label(f"orders_after_{k}"),
            func.sum(case((after, o.c.revenue), else_=0.0)).label(f"revenue_after_{k}"),
            func.max(func.coalesce(contacted.c[f"contacts_{k}"], 0)).label(f"contacts_{k}"),
        ]
    per_customer = (
        select(o.c.customer_id, *order_columns)
        .select_from(o.outerjoin(contacted, contacted.c.customer_id == o.c.customer_id))
        .where(
            o.c.ordered_at <= window_end + follow_up,
            customer_scope(scope, o.c.customer_id),
        )
        .group_by(o.c.customer_id)
        .cte("per_customer")
    )
    low, high = FREQUENCY_BAND_ORDERS
    per_window = []
    for k, (start, _, _) in enumerate(windows):
        prior_orders = per_customer.c[f"prior_orders_{k}"]
        last_order = per_customer.c[f"last_order_{k}"]
        thresholds = [start - timedelta(days=days) for days in RECENCY_BAND_DAYS]
        recency_band = case(
            *[(last_order >= day, band) for band, day in enumerate(thresholds, start=1)],
            else_=len(thresholds) + 1,
        )
        frequency_band = case((prior_orders < low, 1), (prior_orders < high, 2), else_=3)
        contacts = per_customer.c[f"contacts_{k}"]
        per_window.append(
            select(
                literal(k, Integer()).label("window"),
                recency_band.label("recency_band"),
                frequency_band.label("frequency_band"),
                (contacts > 0).label("contacted"),
                contacts.label("contacts"),
                per_customer.c[f"orders_after_{k}"].label("orders_after"),
                per_customer.c[f"revenue_after_{k}"].label("revenue_after"),
            ).where(prior_orders > 0)
        )
    outcome = (union_all(*per_window) if len(per_window) > 1 else per_window[0]).cte("outcome")
    statement = (
        select(
            outcome.c.window,
            outcome.c.recency_band,
            outcome.c.frequency_band,
            outcome.c.contacted,
            func.count().label("customers"),
            func.count(case((outcome.c.orders_after > 0, 1))).label("retained"),
            func.sum(outcome.c.revenue_after).label("revenue_after"),
            func.sum(outcome.c.revenue_after * outcome.c.revenue_after).label("revenue_after_sq"),
            func.sum(outcome.c.contacts).label("contacts"),
        )
        .group_by(
            outcome.c.window, outcome.c.recency_band, outcome.c.frequency_band, outcome.c.contacted
        )
        .order_by(
            outcome.c.window, outcome.c.recency_band, outcome.c.frequency_band, outcome.c.contacted
        )
    )
    frame = read_frame(engine, statement)
    frame["contacted"] = frame["contacted"].astype(bool)
    for column in ("window", "recency_band", "frequency_band", "customers", "retained", "contacts"):
        frame[column] = frame[column].astype("int64")
    for column in ("revenue_after", "revenue_after_sq"):
        frame[column] = frame[column].astype(float)
    return frame

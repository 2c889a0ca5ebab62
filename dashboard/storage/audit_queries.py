"""Queries of the Customer-base audit page (Fader, Hardie & Ross 2022): the five lenses and the
subscription section.

Every function is ``(engine, scope, ...) -> DataFrame`` in SQLAlchemy Core, aggregated in the
database (per-customer figures are computed in a common table expression and only bins or
groups come back), scoped with :func:`~dashboard.storage.sql.customer_scope`, portable across
DuckDB and PostgreSQL. Cohorts are month (or quarter) indices, ``year * 12 + month - 1`` (or
that // 3), so no dialect-specific date truncation is needed; the domain turns them into dates.
The cohort lenses and the flows read the customer-month facts stored per data version and
as-of date (:mod:`dashboard.storage.audit_facts`) when the store holds them, and aggregate
the orders otherwise (``stored=False``): the same rows either way.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from sqlalchemy import Engine, Integer, and_, case, cast, extract, func, literal, or_, select

from dashboard.scope import Scope
from dashboard.storage import audit_facts
from dashboard.storage.engine import existing_tables
from dashboard.storage.schema import clv_runs, customer_clv, customers, orders, subscriptions
from dashboard.storage.sql import (
    between,
    customer_scope,
    days_between,
    month_index,
    read_frame,
)
from dashboard.storage.stores import is_split

#: Grains of the cohort lenses: months per cohort period.
GRAIN_MONTHS = {"month": 1, "quarter": 3}

#: Orders per customer from which the distribution lumps customers together ("10+").
ORDERS_CAP = 10

#: Bins of the spend-per-customer distribution below its 99th percentile (one more above).
SPEND_BINS = 20

#: Days per bucket of the time to second purchase, and the last bucket (12: 361 days or more).
SECOND_PURCHASE_BUCKET_DAYS = 30
SECOND_PURCHASE_LAST_BUCKET = 12

#: Window of "customers won in the last 12 months" (days, the period's end included).
RECENT_WINDOW_DAYS = 365


def _period_index(column, grain: str):
    """Month index (``grain="month"``) or quarter index of a date column, as an integer."""
    return _grain_index(month_index(column), grain)


def _grain_index(index, grain: str):
    """The month (``grain="month"``) or quarter index of a month index, as an integer."""
    months = GRAIN_MONTHS[grain]
    if months == 1:
        return index
    return cast(func.floor(index / float(months)), Integer)


def stored_facts(engine: Engine, scope: Scope) -> str | None:
    """The data version whose audit facts as of ``scope.end`` are stored (storing them first),
    or None (a store that cannot hold them). Pass it as ``stored`` to the cohort queries of
    one view, so the data version is looked up once."""
    return audit_facts.store_facts(engine, scope.end)


def _facts_version(engine: Engine, scope: Scope, stored: bool | str) -> str | None:
    """``stored`` as a data version with stored facts, or None: aggregate the orders
    (``stored=False``, or a store that cannot hold them)."""
    if isinstance(stored, str):
        return stored
    return stored_facts(engine, scope) if stored else None


def _per_customer_in_period(scope: Scope):
    """Per customer in scope with an order in the period: orders, revenue, gross margin."""
    return (
        select(
            orders.c.customer_id,
            func.count().label("n_orders"),
            func.sum(orders.c.revenue).label("revenue"),
            func.sum(orders.c.revenue - orders.c.cost).label("gross_margin"),
        )
        .where(
            between(orders.c.ordered_at, scope.start, scope.end),
            customer_scope(scope, orders.c.customer_id),
        )
        .group_by(orders.c.customer_id)
        .cte("per_customer")
    )


# --------------------------------------------------------------------------------------
# Lens 1: one period
# --------------------------------------------------------------------------------------


def period_summary(engine: Engine, scope: Scope) -> pd.DataFrame:
    """One row: the period's buyers, one-time buyers, orders, revenue and gross margin.

    Columns ``customers`` (in scope, at least one order in the period), ``one_time_buyers``
    (exactly one order in it), ``orders``, ``revenue``, ``gross_margin`` (currency units).
    """
    per = _per_customer_in_period(scope)
    statement = select(
        func.count().label("customers"),
        func.count(case((per.c.n_orders == 1, 1))).label("one_time_buyers"),
        func.coalesce(func.sum(per.c.n_orders), 0).label("orders"),
        func.coalesce(func.sum(per.c.revenue), 0.0).label("revenue"),
        func.coalesce(func.sum(per.c.gross_margin), 0.0).label("gross_margin"),
    )
    return _typed(read_frame(engine, statement), ints=("customers", "one_time_buyers", "orders"))


def revenue_concentration(engine: Engine, scope: Scope, points: int = 100) -> pd.DataFrame:
    """The period's buyers ranked by revenue (highest first) in ``points`` equal groups.

    Group ``g`` holds the customers of rank ``r`` (1 = highest revenue, ties by customer id)
    with ``floor(points * (r - 1) / n) = g``, so groups ``0 .. k - 1`` are exactly the top
    ``ceil(k * n / points)`` customers. Columns ``bucket``, ``customers``, ``revenue``; only
    non-empty groups (fewer than ``points`` buyers leave gaps).
    """
    per = _per_customer_in_period(scope)
    ranked = select(
        per.c.revenue,
        func.row_number().over(order_by=(per.c.revenue.desc(), per.c.customer_id)).label("rank"),
        func.count().over().label("n"),
    ).cte("ranked")
    bucket = cast(func.floor(float(points) * (ranked.c.rank - 1) / ranked.c.n), Integer)
    statement = (
        select(
            bucket.label("bucket"),
            func.count().label("customers"),
            func.sum(ranked.c.revenue).label("revenue"),
        )
        .group_by(bucket)
        .order_by(bucket)
    )
    return _typed(read_frame(engine, statement), ints=("bucket", "customers"))


def orders_per_customer(engine: Engine, scope: Scope, cap: int = ORDERS_CAP) -> pd.DataFrame:
    """The period's buyers by number of orders in the period (``cap`` = "cap or more").

    Columns ``orders`` (1 .. cap), ``customers``, ``revenue``.
    """
    per = _per_customer_in_period(scope)
    n_orders = case((per.c.n_orders >= cap, cap), else_=per.c.n_orders)
    statement = (
        select(
            n_orders.label("orders"),
            func.count().label("customers"),
            func.sum(per.c.revenue).label("revenue"),
        )
        .group_by(n_orders)
        .order_by(n_orders)
    )
    return _typed(read_frame(engine, statement), ints=("orders", "customers"))


def spend_per_customer(engine: Engine, scope: Scope, bins: int = SPEND_BINS) -> pd.DataFrame:
    """The period's buyers by revenue per customer, in ``bins`` equal-width bins up to the
    99th percentile of that revenue and one bin (``bin = bins``) for those above it.

    Columns ``bin``, ``customers``, ``revenue``, ``width`` (of a bin, currency units; the
    same on every row) and ``p99``. Bin ``b`` covers ``[b * width, (b + 1) * width)``.
    """
    per = _per_customer_in_period(scope)
    stats = select(
        func.percentile_cont(0.99).within_group(per.c.revenue).label("p99"),
    ).cte("stats")
    width = stats.c.p99 / float(bins)
    raw_bin = cast(func.floor(per.c.revenue / width), Integer)
    spend_bin = case(
        (stats.c.p99 <= 0, 0),
        (per.c.revenue >= stats.c.p99, bins),
        else_=case((raw_bin >= bins, bins - 1), else_=raw_bin),
    )
    statement = (
        select(
            spend_bin.label("bin"),
            func.count().label("customers"),
            func.sum(per.c.revenue).label("revenue"),
            func.max(width).label("width"),
            func.max(stats.c.p99).label("p99"),
        )
        .select_from(per.join(stats, literal(True)))
        .group_by(spend_bin)
        .order_by(spend_bin)
    )
    return _typed(read_frame(engine, statement), ints=("bin", "customers"))


# --------------------------------------------------------------------------------------
# Lens 2: period to period
# --------------------------------------------------------------------------------------


def customer_flows(engine: Engine, scope: Scope, *, stored: bool | str = True) -> pd.DataFrame:
    """Buyers of the period and of the previous one by flow, with their revenue in each.

    Flows: ``retained`` (bought in both), ``lost`` (previous only), ``new`` (first order ever
    in the period), ``reactivated`` (bought in the period, not in the previous one, but
    before it). Columns ``flow``, ``customers``, ``revenue_previous``, ``revenue_current``
    (currency units). Only flows with customers appear.

    ``stored`` (default): the first orders come from the stored audit facts
    (:mod:`~dashboard.storage.audit_facts`), so only the two periods' orders are read; the
    same rows as the aggregation of every order (``stored=False``). With the app's tables in
    a store apart the orders and the facts are in different databases: aggregated there.
    """
    previous = scope.previous_period()
    in_current = between(orders.c.ordered_at, scope.start, scope.end)
    in_previous = between(orders.c.ordered_at, previous.start, previous.end)
    sums = (
        func.coalesce(func.sum(case((in_current, orders.c.revenue))), 0.0).label("current"),
        func.coalesce(func.sum(case((in_previous, orders.c.revenue))), 0.0).label("previous"),
        func.count(case((in_current, 1))).label("n_current"),
        func.count(case((in_previous, 1))).label("n_previous"),
    )
    version = None if is_split(engine) else _facts_version(engine, scope, stored)
    if version is None:
        per = (
            select(orders.c.customer_id, func.min(orders.c.ordered_at).label("first_order"), *sums)
            .where(orders.c.ordered_at <= scope.end, customer_scope(scope, orders.c.customer_id))
            .group_by(orders.c.customer_id)
            .cte("flows")
        )
        first_order, source = per.c.first_order, per
    else:
        per = (
            select(orders.c.customer_id, *sums)
            .where(
                between(orders.c.ordered_at, previous.start, scope.end),
                customer_scope(scope, orders.c.customer_id),
            )
            .group_by(orders.c.customer_id)
            .cte("flows")
        )
        firsts = audit_facts.customer_first_orders
        first_order = firsts.c.first_order
        source = per.outerjoin(
            firsts,
            and_(
                firsts.c.customer_id == per.c.customer_id,
                audit_facts.stored_rows(firsts, version, scope.end),
            ),
        )
    bought_now, bought_before = per.c.n_current > 0, per.c.n_previous > 0
    flow = case(
        (and_(bought_now, bought_before), "retained"),
        (bought_before, "lost"),
        (and_(bought_now, first_order >= scope.start), "new"),
        (bought_now, "reactivated"),
        else_=None,
    )
    grouped = (
        select(
            flow.label("flow"),
            func.count().label("customers"),
            func.sum(per.c.previous).label("revenue_previous"),
            func.sum(per.c.current).label("revenue_current"),
        )
        .select_from(source)
        .where(or_(bought_now, bought_before))
        .group_by(flow)
        .order_by(flow)
    )
    return _typed(read_frame(engine, grouped), ints=("customers",))


# --------------------------------------------------------------------------------------
# Lenses 3 to 5: cohorts
# --------------------------------------------------------------------------------------


def cohort_sizes(engine: Engine, scope: Scope, grain: str = "month") -> pd.DataFrame:
    """Customers in scope acquired up to the period's end, by acquisition cohort.

    Columns ``cohort`` (month or quarter index of ``acquired_at``), ``customers``.
    """
    cohort = _period_index(customers.c.acquired_at, grain)
    statement = (
        select(cohort.label("cohort"), func.count().label("customers"))
        .where(customers.c.acquired_at <= scope.end, customer_scope(scope))
        .group_by(cohort)
        .order_by(cohort)
    )
    return _typed(read_frame(engine, statement), ints=("cohort", "customers"))


def cohort_activity(
    engine: Engine, scope: Scope, grain: str = "month", *, stored: bool | str = True
) -> pd.DataFrame:
    """What each acquisition cohort bought in each period since, up to the period's end.

    Covers the customers in scope acquired up to ``scope.end`` and their orders up to then.
    Age 0 is the cohort's own month (quarter); orders dated before the acquisition count in
    age 0. Columns ``cohort``, ``age`` (periods since acquisition, >= 0), ``active``
    (customers with at least one order in that period), ``orders``, ``revenue``,
    ``gross_margin`` (currency units). With ``grain="month"``, ``cohort + age`` is the
    calendar month, so the same rows give the customer cohort chart (C3).

    ``stored`` (default): read the stored customer-months
    (:data:`~dashboard.storage.audit_facts.customer_months`, storing them first); the same
    rows as the aggregation of the orders (``stored=False``). A data version from
    :func:`stored_facts` skips looking it up.
    """
    version = _facts_version(engine, scope, stored)
    if version is not None:
        return _stored_activity(engine, scope, grain, version)
    cohort = _period_index(customers.c.acquired_at, grain).label("cohort")
    acquired = _period_index(customers.c.acquired_at, grain)
    since = _period_index(orders.c.ordered_at, grain) - acquired
    age = case((since < 0, 0), else_=since).label("age")
    per = (
        select(
            orders.c.customer_id,
            cohort,
            age,
            func.count().label("n_orders"),
            func.sum(orders.c.revenue).label("revenue"),
            func.sum(orders.c.revenue - orders.c.cost).label("gross_margin"),
        )
        .select_from(orders.join(customers, customers.c.customer_id == orders.c.customer_id))
        .where(
            orders.c.ordered_at <= scope.end,
            customers.c.acquired_at <= scope.end,
            customer_scope(scope),
        )
        .group_by(orders.c.customer_id, cohort, age)
        .cte("per_customer_period")
    )
    statement = (
        select(
            per.c.cohort,
            per.c.age,
            func.count().label("active"),
            func.sum(per.c.n_orders).label("orders"),
            func.sum(per.c.revenue).label("revenue"),
            func.sum(per.c.gross_margin).label("gross_margin"),
        )
        .group_by(per.c.cohort, per.c.age)
        .order_by(per.c.cohort, per.c.age)
    )
    return _typed(read_frame(engine, statement), ints=_ACTIVITY_INTS)


_ACTIVITY_INTS = ("cohort", "age", "active", "orders")


def _stored_activity(engine: Engine, scope: Scope, grain: str, version: str) -> pd.DataFrame:
    """:func:`cohort_activity` from the stored customer-months of ``version``."""
    months = audit_facts.customer_months.c
    cohort = _grain_index(months.cohort_month, grain)
    # The stored month of an order before the acquisition is the acquisition month.
    age = _grain_index(months.month, grain) - cohort
    where = (
        audit_facts.stored_rows(audit_facts.customer_months, version, scope.end),
        customer_scope(scope, months.customer_id),
    )
    # One stored row per customer and month: a customer is active in a month once, in
    # a quarter in the row of its first month there.
    active = func.count() if GRAIN_MONTHS[grain] == 1 else func.sum(months.quarter_first)
    statement = (
        select(
            cohort.label("cohort"),
            age.label("age"),
            active.label("active"),
            func.sum(months.orders).label("orders"),
            func.sum(months.revenue).label("revenue"),
            func.sum(months.gross_margin).label("gross_margin"),
        )
        .where(*where)
        .group_by(cohort, age)
        .order_by(cohort, age)
    )
    return _typed(read_frame(engine, statement), ints=_ACTIVITY_INTS)


def second_purchase(
    engine: Engine, scope: Scope, grain: str = "month", *, stored: bool | str = True
) -> pd.DataFrame:
    """Days from each customer's first to second purchase day, binned, by acquisition cohort.

    A second purchase is the first order on a later day than the first order (orders up to
    the period's end). ``bucket`` ``b`` holds ``30 b + 1 .. 30 (b + 1)`` days, the last
    (:data:`SECOND_PURCHASE_LAST_BUCKET`) 361 days or more, and null customers without a
    second purchase yet. Columns ``cohort``, ``bucket``, ``customers``.

    ``stored`` (default): read the stored first orders
    (:data:`~dashboard.storage.audit_facts.customer_first_orders`, storing them first); the
    same rows as the aggregation of the orders (``stored=False``). A data version from
    :func:`stored_facts` skips looking it up.
    """
    version = _facts_version(engine, scope, stored)
    if version is None:
        scoped = (orders.c.ordered_at <= scope.end, customer_scope(scope, orders.c.customer_id))
        first = (
            select(orders.c.customer_id, func.min(orders.c.ordered_at).label("first_at"))
            .where(*scoped)
            .group_by(orders.c.customer_id)
            .cte("first_purchase")
        )
        second = (
            select(orders.c.customer_id, func.min(orders.c.ordered_at).label("second_at"))
            .select_from(orders.join(first, first.c.customer_id == orders.c.customer_id))
            .where(*scoped, orders.c.ordered_at > first.c.first_at)
            .group_by(orders.c.customer_id)
            .cte("second_purchase")
        )
        first_at, second_at, acquired_at = (
            first.c.first_at,
            second.c.second_at,
            customers.c.acquired_at,
        )
        source = first.join(customers, customers.c.customer_id == first.c.customer_id).outerjoin(
            second, second.c.customer_id == first.c.customer_id
        )
        where = (acquired_at <= scope.end,)
    else:
        firsts = audit_facts.customer_first_orders
        first_at, second_at, acquired_at = (
            firsts.c.first_order,
            firsts.c.second_order,
            firsts.c.acquired_at,
        )
        source = firsts
        where = (
            audit_facts.stored_rows(firsts, version, scope.end),
            acquired_at <= scope.end,
            customer_scope(scope, firsts.c.customer_id),
        )
    days = days_between(second_at, first_at)
    raw = cast(func.floor((days - 1) / float(SECOND_PURCHASE_BUCKET_DAYS)), Integer)
    bucket = case(
        (second_at.is_(None), None),
        (raw >= SECOND_PURCHASE_LAST_BUCKET, SECOND_PURCHASE_LAST_BUCKET),
        else_=raw,
    )
    cohort = _period_index(acquired_at, grain)
    statement = (
        select(cohort.label("cohort"), bucket.label("bucket"), func.count().label("customers"))
        .select_from(source)
        .where(*where)
        .group_by(cohort, bucket)
        .order_by(cohort, bucket)
    )
    frame = read_frame(engine, statement)
    frame["bucket"] = pd.to_numeric(frame["bucket"]).astype("Int64")
    return _typed(frame, ints=("cohort", "customers"))


def recent_customer_revenue(engine: Engine, scope: Scope) -> pd.DataFrame:
    """Revenue of the 365 days to the period's end, from customers won in them and from the
    others. One row: ``revenue``, ``revenue_recent`` (customers acquired in the window),
    ``customers``, ``customers_recent`` (buyers in the window, and those of them acquired
    in it), ``window_start``."""
    window_start = scope.end - timedelta(days=RECENT_WINDOW_DAYS - 1)
    recent = customers.c.acquired_at >= window_start
    per = (
        select(
            orders.c.customer_id,
            func.sum(orders.c.revenue).label("revenue"),
        )
        .where(
            between(orders.c.ordered_at, window_start, scope.end),
            customer_scope(scope, orders.c.customer_id),
        )
        .group_by(orders.c.customer_id)
        .cte("window_buyers")
    )
    statement = select(
        func.coalesce(func.sum(per.c.revenue), 0.0).label("revenue"),
        func.coalesce(func.sum(case((recent, per.c.revenue))), 0.0).label("revenue_recent"),
        func.count().label("customers"),
        func.count(case((recent, 1))).label("customers_recent"),
    ).select_from(per.join(customers, customers.c.customer_id == per.c.customer_id))
    frame = _typed(read_frame(engine, statement), ints=("customers", "customers_recent"))
    frame["window_start"] = window_start
    return frame


# --------------------------------------------------------------------------------------
# Subscriptions
# --------------------------------------------------------------------------------------


def has_subscriptions(engine: Engine) -> str:
    """``"absent"`` (no ``subscriptions`` table), ``"empty"`` (no rows) or ``"rows"``."""
    if subscriptions.name not in existing_tables(engine):
        return "absent"
    with engine.connect() as conn:
        found = conn.execute(select(subscriptions.c.subscription_id).limit(1)).first()
    return "rows" if found is not None else "empty"


def _months_between(start, end):
    """Whole calendar months from ``start`` to ``end`` by month index only (no day part)."""
    return month_index(end) - month_index(start)


def subscription_tenures(engine: Engine, scope: Scope, grain: str = "quarter") -> pd.DataFrame:
    """Subscriptions started up to the period's end by plan, start cohort, status and tenure.

    As of ``scope.end``: a subscription ended on or before it is ``churned`` after
    ``tenure`` = the months it ran, rounded up (at least 1: it was not renewed at the end of
    that month); one still running (no end, or an end after ``scope.end``) is ``active``
    with ``tenure`` = the whole months since its start (the renewals it made). Columns
    ``plan``, ``cohort`` (month or quarter index of ``started_at``), ``status``, ``tenure``,
    ``subscriptions``, ``monthly_value`` (sum, currency units a month).
    """
    ended = and_(subscriptions.c.ended_at.is_not(None), subscriptions.c.ended_at <= scope.end)
    as_of = literal(scope.end, type_=subscriptions.c.started_at.type)
    start_day = extract("day", subscriptions.c.started_at)
    churned_months = _months_between(subscriptions.c.started_at, subscriptions.c.ended_at) + case(
        (extract("day", subscriptions.c.ended_at) > start_day, 1), else_=0
    )
    active_months = _months_between(subscriptions.c.started_at, as_of) - case(
        (literal(scope.end.day) < start_day, 1), else_=0
    )
    tenure = case(
        (ended, case((churned_months < 1, 1), else_=churned_months)),
        else_=case((active_months < 0, 0), else_=active_months),
    )
    status = case((ended, "churned"), else_="active")
    cohort = _period_index(subscriptions.c.started_at, grain)
    statement = (
        select(
            subscriptions.c.plan,
            cohort.label("cohort"),
            status.label("status"),
            tenure.label("tenure"),
            func.count().label("subscriptions"),
            func.sum(subscriptions.c.monthly_value).label("monthly_value"),
        )
        .where(
            subscriptions.c.started_at <= scope.end,
            customer_scope(scope, subscriptions.c.customer_id),
        )
        .group_by(subscriptions.c.plan, cohort, status, tenure)
        .order_by(subscriptions.c.plan, cohort, status, tenure)
    )
    frame = read_frame(engine, statement)
    frame["plan"] = frame["plan"].astype(str)
    frame["status"] = frame["status"].astype(str)
    return _typed(frame, ints=("cohort", "tenure", "subscriptions"))


def active_subscriptions(engine: Engine, scope: Scope) -> pd.DataFrame:
    """Every subscription in scope running at the period's end (started by then, not ended).

    Columns ``subscription_id``, ``customer_id``, ``plan``, ``started_at`` (datetime),
    ``monthly_value`` (currency units a month), ``renewals`` (whole months since the start).
    """
    as_of = literal(scope.end, type_=subscriptions.c.started_at.type)
    renewals = _months_between(subscriptions.c.started_at, as_of) - case(
        (literal(scope.end.day) < extract("day", subscriptions.c.started_at), 1), else_=0
    )
    statement = (
        select(
            subscriptions.c.subscription_id,
            subscriptions.c.customer_id,
            subscriptions.c.plan,
            subscriptions.c.started_at,
            subscriptions.c.monthly_value,
            case((renewals < 0, 0), else_=renewals).label("renewals"),
        )
        .where(
            subscriptions.c.started_at <= scope.end,
            or_(subscriptions.c.ended_at.is_(None), subscriptions.c.ended_at > scope.end),
            customer_scope(scope, subscriptions.c.customer_id),
        )
        .order_by(subscriptions.c.subscription_id)
    )
    frame = read_frame(engine, statement)
    frame["plan"] = frame["plan"].astype(str)
    frame["started_at"] = pd.to_datetime(frame["started_at"])
    return _typed(frame, ints=("subscription_id", "customer_id", "renewals"))


def purchase_equity(engine: Engine, scope: Scope) -> pd.DataFrame:
    """Sum of the latest stored lifetime-value fit's CLV over the customers in scope.

    One row ``run_id``, ``calibration_end``, ``customers``, ``equity`` (currency units), or
    no row when no fit is stored.
    """
    if not {clv_runs.name, customer_clv.name} <= existing_tables(engine):
        return pd.DataFrame(columns=["run_id", "calibration_end", "customers", "equity"])
    latest = select(func.max(clv_runs.c.run_id)).scalar_subquery()
    statement = (
        select(
            clv_runs.c.run_id,
            clv_runs.c.calibration_end,
            func.count(customer_clv.c.customer_id).label("customers"),
            func.coalesce(func.sum(customer_clv.c.clv), 0.0).label("equity"),
        )
        .select_from(
            clv_runs.outerjoin(
                customer_clv,
                and_(
                    customer_clv.c.run_id == clv_runs.c.run_id,
                    customer_scope(scope, customer_clv.c.customer_id),
                ),
            )
        )
        .where(clv_runs.c.run_id == latest)
        .group_by(clv_runs.c.run_id, clv_runs.c.calibration_end)
    )
    frame = read_frame(engine, statement)
    if not frame.empty:
        frame["calibration_end"] = pd.to_datetime(frame["calibration_end"]).dt.date
    return _typed(frame, ints=("run_id", "customers"))


def _typed(frame: pd.DataFrame, *, ints: tuple[str, ...]) -> pd.DataFrame:
    """``ints`` as int64 and the money and rate columns as float64 (backends differ: DuckDB
    sums to HUGEINT or DECIMAL, PostgreSQL to NUMERIC)."""
    for column in frame.columns:
        if column in ints:
            frame[column] = pd.to_numeric(frame[column]).fillna(0).astype("int64")
        elif column in _FLOATS:
            frame[column] = pd.to_numeric(frame[column]).astype("float64")
    return frame


_FLOATS = frozenset(
    {
        "revenue",
        "gross_margin",
        "revenue_previous",
        "revenue_current",
        "revenue_recent",
        "width",
        "p99",
        "monthly_value",
        "equity",
    }
)


__all__ = [
    "GRAIN_MONTHS",
    "active_subscriptions",
    "cohort_activity",
    "cohort_sizes",
    "customer_flows",
    "has_subscriptions",
    "orders_per_customer",
    "period_summary",
    "purchase_equity",
    "recent_customer_revenue",
    "revenue_concentration",
    "second_purchase",
    "spend_per_customer",
    "stored_facts",
    "subscription_tenures",
]

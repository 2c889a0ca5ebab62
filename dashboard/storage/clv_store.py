"""Stored lifetime-value fits: write a run, read the latest one and its customers' scores.

A fit (:mod:`dashboard.services.lifetime_value`) is stored in two app tables:

- ``clv_runs``: one row per fit with its settings, parameters and diagnostics (JSON), among
  them the holdout check (predicted against actual repeat purchases);
- ``customer_clv``: one row per customer of the run with the model's inputs and predictions.

Reads of customer rows take the request's :class:`~dashboard.scope.Scope`; run metadata
(parameters, diagnostics) holds no customer rows and is read whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Engine, case, func, select, true
from sqlalchemy.exc import SQLAlchemyError

from dashboard.errors import first_line
from dashboard.scope import Scope
from dashboard.storage.customer_queries import summary_rows
from dashboard.storage.engine import (
    StoreError,
    bulk_insert,
    bump_data_version,
    ensure_app_tables,
    has_tables,
    refresh_statistics,
)
from dashboard.storage.schema import clv_runs, customer_clv, customers, orders
from dashboard.storage.sql import customer_scope, read_frame
from dashboard.storage.stores import app_engine, route

#: Time unit of the stored recency and T (weeks), as in the BG/NBD paper.
TIME_UNIT = "W"
#: How the CLV margin of a fit is chosen (:mod:`dashboard.services.lifetime_value` applies it);
#: shown beside every CLV figure, also for runs stored without it.
MARGIN_RULE = (
    "each customer's own gross margin % on their orders to the fit date (the portfolio's "
    "when they have no revenue), clipped to -100 %..100 %"
)
#: Fits kept in the store (older ones are deleted with their customer rows).
KEEP_RUNS = 3


@dataclass(frozen=True)
class ClvRun:
    """A stored fit: when, on what data, with which settings, parameters and diagnostics.

    ``settings``: ``horizon_months``, ``annual_discount_rate``, ``time_unit``,
    ``holdout_weeks``, ``margin_rule``, ``portfolio_margin_share``. ``params``: ``bgnbd``
    (r, alpha in weeks, a, b) and ``gamma_gamma`` (p, q, v in currency units).
    ``diagnostics``: ``customers``, ``repeat_buyers``, log-likelihoods, fit time,
    ``spend_frequency_correlation`` and ``holdout`` (see :meth:`holdout`).
    """

    run_id: int
    fitted_at: datetime
    calibration_end: date
    settings: dict[str, Any] = field(hash=False)
    params: dict[str, Any] = field(hash=False)
    diagnostics: dict[str, Any] = field(hash=False)
    #: "bgnbd" or "pareto_nbd": the purchase model the stored predictions come from.
    purchase_model: str = "bgnbd"

    @property
    def has_intervals(self) -> bool:
        """Whether the fit stored parameter draws (fits before intervals have none)."""
        return "draw_basis" in self.params

    @property
    def horizon_months(self) -> int:
        return int(self.settings["horizon_months"])

    @property
    def annual_discount_rate(self) -> float:
        return float(self.settings["annual_discount_rate"])

    @property
    def holdout(self) -> dict[str, Any] | None:
        """The holdout check, or None when it could not be run (see ``holdout_error``)."""
        holdout = self.diagnostics.get("holdout")
        return holdout if holdout and "error" not in holdout else None

    @property
    def holdout_error(self) -> str | None:
        """Why the holdout check could not be run, if it could not."""
        holdout = self.diagnostics.get("holdout") or {}
        return holdout.get("error")

    def describe_settings(self) -> str:
        """The CLV settings in one line, to show beside every CLV figure."""
        rule = self.settings.get("margin_rule", MARGIN_RULE)
        return (
            f"CLV over the next {self.horizon_months} months, discounted at "
            f"{100 * self.annual_discount_rate:.0f}% a year, on gross margin ({rule}); "
            f"fitted {self.fitted_at:%d %b %Y %H:%M} on orders to {self.calibration_end:%d %b %Y}"
        )

    def holdout_by_frequency(self) -> pd.DataFrame:
        """Holdout purchases per customer by calibration repeat purchases, actual and predicted.

        Columns ``calibration_purchases`` ("0".."7+"), ``customers``, ``actual``, ``predicted``
        (mean repeat purchases per customer in the holdout weeks). Empty without a holdout.
        """
        rows = (self.holdout or {}).get("by_frequency", [])
        return pd.DataFrame(
            rows, columns=["calibration_purchases", "customers", "actual", "predicted"]
        )

    def holdout_tracking(self, *, complete_weeks_only: bool = False) -> pd.DataFrame:
        """Repeat purchases week by week, actual and predicted, over calibration and holdout.

        Columns ``week_end`` (datetime; the last week may be partial), ``period``
        ("calibration"/"holdout"), ``actual`` and ``predicted`` (cumulative since the first
        customer's first purchase), ``actual_weekly`` and ``predicted_weekly`` (in the week).
        Empty without a holdout. ``complete_weeks_only`` drops a last, partial week (its
        count would look like a slump).
        """
        rows = (self.holdout or {}).get("tracking", [])
        frame = pd.DataFrame(rows, columns=["week_end", "period", "actual", "predicted"])
        frame["week_end"] = pd.to_datetime(frame["week_end"])
        for series in ("actual", "predicted"):
            frame[f"{series}_weekly"] = frame[series].diff().fillna(frame[series])
        if complete_weeks_only and len(frame) > 1:
            last_week_days = (frame["week_end"].iloc[-1] - frame["week_end"].iloc[-2]).days
            if last_week_days < 7:
                frame = frame.iloc[:-1]
        return frame

    @property
    def holdout_fit_end(self) -> date | None:
        """Last day of the data the holdout check's model was fitted on."""
        if self.holdout is None:
            return None
        return date.fromisoformat(self.holdout["calibration_end"])

    def describe_holdout(self) -> str:
        """The holdout check in one sentence (predicted against actual repeat purchases)."""
        holdout = self.holdout
        if holdout is None:
            return f"No holdout check: {self.holdout_error}."
        return (
            f"A model fitted on the orders to {self.holdout_fit_end:%d %b %Y} predicted "
            f"{holdout['predicted_repeat_purchases']:,.0f} repeat purchases in the "
            f"{holdout['weeks']} weeks to {self.calibration_end:%d %b %Y}; the "
            f"{holdout['customers']:,} customers it knew made "
            f"{holdout['actual_repeat_purchases']:,.0f} ({holdout['total_error_pct']:+.1f}%)."
        )

    @property
    def holdout_start(self) -> date | None:
        """First day of the holdout weeks (the day after the check's calibration end)."""
        if self.holdout is None:
            return None
        return date.fromisoformat(self.holdout["calibration_end"]) + timedelta(days=1)


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------


def latest_run(engine: Engine) -> ClvRun | None:
    """The most recent stored fit, or None when no fit has been stored."""
    if not has_tables(engine, clv_runs, customer_clv):
        return None
    latest = clv_runs.c.run_id.desc()
    with app_engine(engine).connect() as conn:
        try:
            row = conn.execute(select(clv_runs).order_by(latest).limit(1)).mappings().first()
        except SQLAlchemyError:  # a store from before purchase_model: read the old columns
            conn.rollback()
            old = [c for c in clv_runs.c if c.name in _OLD_RUN_COLUMNS]
            row = conn.execute(select(*old).order_by(latest).limit(1)).mappings().first()
    if row is None:
        return None
    return ClvRun(
        purchase_model=row.get("purchase_model") or "bgnbd",
        run_id=int(row["run_id"]),
        fitted_at=pd.Timestamp(row["fitted_at"]).to_pydatetime(),
        calibration_end=pd.Timestamp(row["calibration_end"]).date(),
        settings=json.loads(row["settings"]),
        params=json.loads(row["params"]),
        diagnostics=json.loads(row["diagnostics"]),
    )


def scored_customers(
    engine: Engine, scope: Scope, run_id: int, with_intervals: bool | None = None
) -> pd.DataFrame:
    """Stored predictions of run ``run_id`` for the customers in scope.

    The predictions are as of the run's ``calibration_end``, whatever the period: only the
    customer scope (region, channel, segment, row-level access) applies.

    Returns
    -------
    DataFrame
        The ``customer_clv`` columns but ``run_id``: ``customer_id``, ``frequency``,
        ``recency``, ``T`` (weeks), ``monetary_value``, ``probability_alive``,
        ``expected_purchases_12m``, ``expected_spend``, ``margin_share``, ``clv`` (currency),
        ``clv_low`` and ``clv_high`` (its 90 % interval; NaN for a fit stored without).
    """
    columns = [customer_clv.c[name] for name in _SCORED_COLUMNS]
    if with_intervals is None:
        with_intervals = has_interval_layout(engine)
    if with_intervals:  # ``run.has_intervals``: the run was written to the new layout
        columns += [customer_clv.c.clv_low, customer_clv.c.clv_high]
    statement = (
        select(*columns)
        .where(customer_clv.c.run_id == run_id, customer_scope(scope, customer_clv.c.customer_id))
        .order_by(customer_clv.c.customer_id)
    )
    frame = read_frame(engine, statement)
    for column in frame.columns:
        if column != "customer_id":
            frame[column] = pd.to_numeric(frame[column]).astype("float64")
    for column in ("clv_low", "clv_high"):
        if column not in frame.columns:
            frame[column] = float("nan")
    return frame


def expected_alive(engine: Engine, scope: Scope) -> tuple[float, date] | None:
    """Expected number of customers still alive (sum of P(alive)) in scope, latest fit.

    Returns (expected alive, the fit's data end), or None when no fit is stored. Summed in
    the database; the period does not apply (predictions are as of the fit's data end).
    """
    run = latest_run(engine)
    if run is None:
        return None
    statement = select(func.coalesce(func.sum(customer_clv.c.probability_alive), 0.0)).where(
        customer_clv.c.run_id == run.run_id,
        customer_scope(scope, customer_clv.c.customer_id),
    )
    with route(engine, statement).connect() as conn:
        return float(conn.execute(statement).scalar_one()), run.calibration_end


def _purchase_days(end: date):
    """Orders up to ``end`` summed per customer and day (the models count purchase days), each
    row marked with the customer's first purchase day (a window over the customer's days)."""
    o = orders.c
    days = (
        select(
            o.customer_id,
            o.ordered_at,
            func.sum(o.revenue).label("revenue"),
            func.sum(o.revenue - o.cost).label("gross_margin"),
        )
        .where(o.ordered_at <= end)
        .group_by(o.customer_id, o.ordered_at)
        .subquery("purchase_days")
    )
    first = func.min(days.c.ordered_at).over(partition_by=days.c.customer_id)
    return select(*days.c, first.label("first_purchase")).subquery("marked_days")


def purchase_statistics(engine: Engine, end: date, check_end: date) -> pd.DataFrame:
    """Per customer, the sufficient statistics of the value models and the holdout check,
    computed in the store by GROUP BY: one row per customer with an order up to ``end``.

    Same-day orders are one purchase (their values summed), as the models count
    (``docs/clv.md``). Portfolio-wide: a fit covers every customer.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (sorted): ``first_purchase``, ``last_purchase`` (datetime),
        ``purchase_days`` (distinct order days), ``repeat_spend`` (revenue after the first
        purchase day), ``revenue``, ``gross_margin`` (currency, all orders to ``end``);
        ``check_last_purchase`` (datetime, NaT without an order by ``check_end``) and
        ``check_purchase_days``: the same up to ``check_end``, the holdout check's
        calibration end (its holdout is the rest, to ``end``).
    """
    days = _purchase_days(end)
    d = days.c
    up_to_check = d.ordered_at <= check_end
    statement = select(
        d.customer_id,
        func.min(d.ordered_at).label("first_purchase"),
        func.max(d.ordered_at).label("last_purchase"),
        func.count().label("purchase_days"),
        func.sum(case((d.ordered_at > d.first_purchase, d.revenue), else_=0.0)).label(
            "repeat_spend"
        ),
        func.sum(d.revenue).label("revenue"),
        func.sum(d.gross_margin).label("gross_margin"),
        func.max(case((up_to_check, d.ordered_at))).label("check_last_purchase"),
        func.count(case((up_to_check, 1))).label("check_purchase_days"),
    ).group_by(d.customer_id)
    frame = read_frame(engine, statement)
    for column in ("first_purchase", "last_purchase", "check_last_purchase"):
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    for column in ("purchase_days", "check_purchase_days"):
        frame[column] = pd.to_numeric(frame[column]).astype("int64")
    for column in ("repeat_spend", "revenue", "gross_margin"):
        frame[column] = pd.to_numeric(frame[column]).astype("float64")
    frame["customer_id"] = frame["customer_id"].astype(str)
    return frame.set_index("customer_id").sort_index()


def purchase_day_counts(engine: Engine, end: date, cohort_end: date) -> pd.DataFrame:
    """Day by day to ``end``, the first and repeat purchases of the customers whose first
    purchase is on or before ``cohort_end`` (the holdout check's tracking plot), by GROUP BY.

    Returns ``ordered_at`` (datetime, sorted), ``first_purchases`` (customers whose first
    purchase day it is) and ``repeat_purchases`` (customers buying again that day).
    """
    days = _purchase_days(end)
    d = days.c
    statement = (
        select(
            d.ordered_at,
            func.count(case((d.ordered_at == d.first_purchase, 1))).label("first_purchases"),
            func.count(case((d.ordered_at > d.first_purchase, 1))).label("repeat_purchases"),
        )
        .where(d.first_purchase <= cohort_end)
        .group_by(d.ordered_at)
    )
    frame = read_frame(engine, statement)
    frame["ordered_at"] = pd.to_datetime(frame["ordered_at"]).astype("datetime64[ns]")
    for column in ("first_purchases", "repeat_purchases"):
        frame[column] = pd.to_numeric(frame[column]).astype("int64")
    return frame.sort_values("ordered_at", ignore_index=True)


def last_order_date(engine: Engine) -> date | None:
    with engine.connect() as conn:
        last = conn.execute(select(func.max(orders.c.ordered_at))).scalar_one_or_none()
    return None if last is None else pd.Timestamp(last).date()


# --------------------------------------------------------------------------------------
# Issue 13: intervals and the what-if (columns added to customer_clv and clv_runs)
# --------------------------------------------------------------------------------------

#: Columns of the first layout (stores fitted before intervals have only these).
_OLD_RUN_COLUMNS = ("run_id", "fitted_at", "calibration_end", "settings", "params", "diagnostics")
_SCORED_COLUMNS = (
    "customer_id",
    "frequency",
    "recency",
    "T",
    "monetary_value",
    "probability_alive",
    "expected_purchases_12m",
    "expected_spend",
    "margin_share",
    "clv",
)
CLV_LOADINGS = tuple(f"clv_u{k}" for k in range(1, 9))
ALIVE_LOADINGS = tuple(f"alive_u{k}" for k in range(1, 7))
#: Discounted revenue at each dropout change of ``dashboard.domain.clv.scenario.DROPOUT_CHANGES``
#: (-50 %, -25 %, -10 %, the fit, +10 %, +25 %, +50 %; ``dropout_column`` names them).
DROPOUT_COLUMNS = (
    "revenue_dropout_m50",
    "revenue_dropout_m25",
    "revenue_dropout_m10",
    "discounted_revenue",
    "revenue_dropout_p10",
    "revenue_dropout_p25",
    "revenue_dropout_p50",
)


def has_interval_layout(engine: Engine) -> bool:
    """Whether the CLV tables have the interval columns (a store from before them does not).

    A probe rather than reflection (which duckdb-engine does not fully support). Such a store
    still opens: its runs read without intervals, and the next fit recreates the tables.
    """
    try:
        with engine.connect() as conn:
            conn.execute(
                select(clv_runs.c.purchase_model, customer_clv.c.clv_low, customer_clv.c.alive_u6)
                .select_from(clv_runs.join(customer_clv, true()))
                .limit(0)
            ).fetchall()
    except SQLAlchemyError:
        return False
    return True


def draw_sums(engine: Engine, scope: Scope, run: ClvRun, as_of: date) -> pd.DataFrame | None:
    """Per acquisition channel, the sums a scope's intervals and what-if need, in SQL.

    The current customers in scope as the Customer value page counts them: acquired by
    ``as_of`` and either scored by ``run`` or acquired by its data end without an order (CLV
    0). Columns ``acquisition_channel``, ``customers``, ``acquisition_cost`` (sum of CAC),
    ``margin_to_date`` (gross margin of their orders to ``as_of``), ``clv``,
    ``probability_alive``, the ``revenue_dropout_*`` and ``discounted_revenue`` columns (sums
    of discounted revenue at each dropout change), ``margin_value_<column>`` (the same times
    each customer's margin share; ``margin_value_discounted_revenue`` is the CLV),
    ``clv_u1..8`` and ``alive_u1..6`` (sums of the draw loadings). All sums: a total over
    channels is the column sum. None for a store or a run without intervals.
    """
    if not run.has_intervals:  # a run with draws was written to the interval layout
        return None
    c = customer_clv.c
    if as_of == scope.end:
        # The customer summaries of the period hold every customer in scope acquired by its
        # end with the gross margin to that day (stored once per data version): no scan of
        # the orders.
        facts = summary_rows(engine, scope)
        people, margin_to_date, condition = facts, facts.c.gross_margin, true()
    else:
        margin = (
            select(
                orders.c.customer_id,
                func.sum(orders.c.revenue - orders.c.cost).label("gross_margin"),
            )
            .where(orders.c.ordered_at <= as_of)
            .group_by(orders.c.customer_id)
            .subquery()
        )
        people = customers.outerjoin(margin, margin.c.customer_id == customers.c.customer_id)
        facts, margin_to_date = customers, margin.c.gross_margin
        condition = customer_scope(scope) & (customers.c.acquired_at <= as_of)

    def total(column):
        return func.coalesce(func.sum(column), 0.0)

    sums = [
        func.count().label("customers"),
        total(facts.c.acquisition_cost).label("acquisition_cost"),
        total(margin_to_date).label("margin_to_date"),
        total(c.clv).label("clv"),
        total(c.probability_alive).label("probability_alive"),
        *[total(c[name]).label(name) for name in DROPOUT_COLUMNS],
        *[
            total(c[name] * c.margin_share).label(f"margin_value_{name}")
            for name in DROPOUT_COLUMNS
        ],
        *[total(c[name]).label(name) for name in CLV_LOADINGS + ALIVE_LOADINGS],
    ]
    joined = people.outerjoin(
        customer_clv, (c.customer_id == facts.c.customer_id) & (c.run_id == run.run_id)
    )
    statement = (
        select(facts.c.acquisition_channel, *sums)
        .select_from(joined)
        .where(
            condition,
            c.customer_id.is_not(None) | (facts.c.acquired_at <= run.calibration_end),
        )
        .group_by(facts.c.acquisition_channel)
        .order_by(facts.c.acquisition_channel)
    )
    frame = read_frame(engine, statement)
    for column in frame.columns:
        if column != "acquisition_channel":
            frame[column] = pd.to_numeric(frame[column]).astype("float64")
    return frame


def _ensure_tables(engine: Engine) -> None:
    """Create the CLV tables; recreate them if an older layout lacks columns (derived data)."""
    engine = app_engine(engine)
    ensure_app_tables(engine)
    if not has_interval_layout(engine):
        customer_clv.drop(engine)
        clv_runs.drop(engine)
        ensure_app_tables(engine)


def save_run(
    engine: Engine,
    calibration_end: date,
    settings: dict,
    params: dict,
    diagnostics: dict,
    scores: pd.DataFrame,
    purchase_model: str = "bgnbd",
) -> ClvRun:
    """Write a fit and its customer rows in one transaction, drop runs beyond KEEP_RUNS, and
    bump the data version.

    Raises
    ------
    dashboard.storage.engine.StoreError
        The store refused the write (e.g. a read-only warehouse user); nothing is written.
    """
    engine = app_engine(engine)
    try:
        _ensure_tables(engine)
        fitted_at = datetime.now().replace(microsecond=0)
        with engine.begin() as conn:
            last = conn.execute(select(func.max(clv_runs.c.run_id))).scalar_one_or_none()
            run_id = int(last or 0) + 1
            conn.execute(
                clv_runs.insert().values(
                    run_id=run_id,
                    fitted_at=fitted_at,
                    calibration_end=calibration_end,
                    settings=json.dumps(settings),
                    params=json.dumps(params),
                    diagnostics=json.dumps(diagnostics),
                    purchase_model=purchase_model,
                )
            )
            bulk_insert(conn, customer_clv, scores.assign(run_id=run_id))
            stale = run_id - KEEP_RUNS
            conn.execute(customer_clv.delete().where(customer_clv.c.run_id <= stale))
            conn.execute(clv_runs.delete().where(clv_runs.c.run_id <= stale))
        refresh_statistics(engine, [clv_runs, customer_clv])  # PostgreSQL; never fails
        bump_data_version(engine)
    except SQLAlchemyError as exc:
        raise StoreError(
            f"The store did not accept the fit: {first_line(exc)}. The app saves fits in its own "
            "tables (clv_runs, customer_clv, dataset_info): give its database user the right to "
            "create and write them."
        ) from exc
    return ClvRun(run_id, fitted_at, calibration_end, settings, params, diagnostics, purchase_model)


def alive_sums(engine: Engine, scope: Scope) -> tuple[float, list[float], ClvRun] | None:
    """Latest fit's sum of P(alive) and of the P(alive) draw loadings in scope, with the run.

    The same customers as :func:`expected_alive`; None without a fit with intervals.
    """
    run = latest_run(engine)
    if run is None or not run.has_intervals:
        return None
    columns = [func.coalesce(func.sum(customer_clv.c.probability_alive), 0.0)]
    columns += [func.coalesce(func.sum(customer_clv.c[name]), 0.0) for name in ALIVE_LOADINGS]
    statement = select(*columns).where(
        customer_clv.c.run_id == run.run_id,
        customer_scope(scope, customer_clv.c.customer_id),
    )
    with engine.connect() as conn:
        row = conn.execute(statement).one()
    return float(row[0]), [float(v) for v in row[1:]], run

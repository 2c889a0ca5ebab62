"""Saved segmentations: the customer facts they are computed from, and the stored runs.

A run (computed by :func:`dashboard.services.segmentation.run_and_save` from
:func:`customer_facts`) is saved by :func:`save_run` in one transaction:

- ``segment_runs``: the run, its settings, as-of date, time and quality figures;
- ``segment_assignments``: each customer's segment at the as-of date (the global segment
  filter reads it through ``customer_scope``);
- ``segment_snapshots``: each customer's segment at the previous period's end, assigned with
  the same fitted pipeline, for migration;
- ``segment_profiles``: how each segment differs from all customers, feature by feature;
- ``segment_names``: the plain-language names (user-editable).

Pages only read these tables; nothing here is recomputed on a page view.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import (
    Column,
    Date,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    union_all,
)

from dashboard.domain import segment_features as fm
from dashboard.domain.segment_playbook import NEW_CUSTOMERS
from dashboard.scope import Scope
from dashboard.storage.customer_queries import customer_summary, latest_answer
from dashboard.storage.engine import (
    bulk_insert,
    has_tables,
    refresh_statistics,
)
from dashboard.storage.schema import (
    APP,
    KEY,
    clv_runs,
    customer_clv,
    customers,
    orders,
    referrals,
    segment_assignments,
    segment_names,
    segment_runs,
    service_contacts,
    surveys,
)
from dashboard.storage.sql import between, customer_scope, read_frame
from dashboard.storage.stores import app_engine

#: The segment tables this module adds. Kept off ``schema.APP`` on purpose: APP's table list
#: must not depend on whether this module happens to be imported (the generated contract doc
#: lists APP). They are created with the run (:func:`ensure_segment_tables`), and every save
#: first clears rows of its run id, so rows left by a dropped or replaced store never mix in.
SEGMENT_EXTRA = MetaData()

#: Each customer's segment at an earlier period end, assigned with the run's fitted pipeline.
segment_snapshots = Table(
    "segment_snapshots",
    SEGMENT_EXTRA,
    Column("run_id", Integer, primary_key=True, autoincrement=False),
    Column(
        "as_of",
        Date,
        primary_key=True,
        comment="Earlier period end the customer features were computed at.",
    ),
    Column("customer_id", KEY, primary_key=True, autoincrement=False),
    Column("segment", Integer, nullable=False, comment="Segment number at that date."),
)

#: How each segment differs from all customers (segment 0), feature by feature.
segment_profiles = Table(
    "segment_profiles",
    SEGMENT_EXTRA,
    Column("run_id", Integer, primary_key=True, autoincrement=False),
    Column(
        "segment",
        Integer,
        primary_key=True,
        autoincrement=False,
        comment="Segment number; 0 = all customers.",
    ),
    Column("feature", String(50), primary_key=True),
    Column("customers", Integer, nullable=False),
    Column("mean", Float, nullable=True, comment="Mean in the feature's natural unit."),
    Column(
        "difference",
        Float,
        nullable=False,
        comment="Segment mean minus all customers' mean, in standard deviations (signed "
        "log for skewed money and counts).",
    ),
)

#: Names a user gave (``segment_names`` holds the names in force, generated or given); a given
#: name carries over to the segment that continues it in the next run.
segment_given_names = Table(
    "segment_given_names",
    SEGMENT_EXTRA,
    Column("run_id", Integer, primary_key=True, autoincrement=False),
    Column("segment", Integer, primary_key=True, autoincrement=False),
    Column("name", String(100), nullable=False),
)

SEGMENT_TABLES = [segment_runs, segment_assignments, segment_names]
EXTRA_TABLES = [segment_snapshots, segment_profiles, segment_given_names]

#: Months between the previous period end and the run's as-of date (a quarter).
MIGRATION_MONTHS = 3


def ensure_segment_tables(engine: Engine) -> None:
    """Create the segment tables that do not exist yet (never drops anything)."""
    engine = app_engine(engine)
    APP.create_all(engine, tables=SEGMENT_TABLES, checkfirst=True)
    SEGMENT_EXTRA.create_all(engine, checkfirst=True)


# --------------------------------------------------------------------------------------------
# Features
# --------------------------------------------------------------------------------------------


def previous_period_end(as_of: date, months: int = MIGRATION_MONTHS) -> date:
    """The same day ``months`` calendar months before ``as_of`` (30 Sep -> 30 Jun)."""
    return (
        pd.Timestamp(as_of) + timedelta(days=1) - pd.DateOffset(months=months)
    ).date() - timedelta(days=1)


def latest_lifetime_values(engine: Engine, scope: Scope) -> pd.DataFrame:
    """Lifetime value per customer from the latest stored value-engine run (may be empty).

    Columns ``customer_id``, ``lifetime_value`` (currency units, discounted over the run's
    horizon). Empty when the value engine has never run.
    """
    if not has_tables(engine, clv_runs, customer_clv):
        return pd.DataFrame({"customer_id": [], "lifetime_value": []})
    latest = select(func.max(clv_runs.c.run_id)).scalar_subquery()
    statement = (
        select(customer_clv.c.customer_id, customer_clv.c.clv.label("lifetime_value"))
        .where(customer_clv.c.run_id == latest, customer_scope(scope, customer_clv.c.customer_id))
        .order_by(customer_clv.c.customer_id)
    )
    return read_frame(engine, statement)


def customer_facts(
    engine: Engine, scope: Scope, dates: tuple[date, ...]
) -> dict[date, pd.DataFrame]:
    """Per-customer facts up to each of ``dates``, for segmentation, in one aggregate query.

    Returns, for each date, one row per customer in scope acquired by that date, with the
    columns of :data:`dashboard.domain.segments.FACT_COLUMNS` (money in currency units; the
    12-month figures cover the 365 days to the date). Orders, contacts and referrals are read
    once for all dates (conditional sums). A leaner relative of
    :func:`dashboard.storage.customer_queries.customer_summary` (no names, no period columns,
    no distinct-day counts) so that a million customers take seconds.
    """
    dates = tuple(sorted(set(dates)))
    last = dates[-1]
    o, sc, rf = orders.c, service_contacts.c, referrals.c
    order_columns, contact_columns, referral_columns = [], [], []
    for i, day in enumerate(dates):
        year_start = day - timedelta(days=364)
        upto = o.ordered_at <= day
        order_columns += [
            func.count(case((upto, 1))).label(f"orders_{i}"),
            func.max(case((upto, o.ordered_at))).label(f"last_order_{i}"),
            func.sum(case((upto, o.revenue), else_=0.0)).label(f"revenue_{i}"),
            func.sum(case((upto, o.revenue - o.cost), else_=0.0)).label(f"gross_margin_{i}"),
            func.sum(
                case((between(o.ordered_at, year_start, day), o.revenue - o.cost), else_=0.0)
            ).label(f"margin_12m_{i}"),
        ]
        upto = sc.opened_at <= day
        contact_columns += [
            func.count(case((upto, 1))).label(f"contacts_{i}"),
            func.sum(case((upto, sc.cost), else_=0.0)).label(f"service_cost_{i}"),
            func.count(case((and_(upto, sc.first_contact_resolved), 1))).label(f"fcr_contacts_{i}"),
            func.sum(case((between(sc.opened_at, year_start, day), sc.cost), else_=0.0)).label(
                f"service_cost_12m_{i}"
            ),
        ]
        referral_columns.append(
            func.count(case((rf.referred_at <= day, 1))).label(f"referrals_made_{i}")
        )
    order_facts = (
        select(o.customer_id, *order_columns)
        .where(o.ordered_at <= last, customer_scope(scope, o.customer_id))
        .group_by(o.customer_id)
        .cte("order_facts")
    )
    contact_facts = (
        select(sc.customer_id, *contact_columns)
        .where(sc.opened_at <= last, customer_scope(scope, sc.customer_id))
        .group_by(sc.customer_id)
        .cte("contact_facts")
    )
    referral_facts = (
        select(rf.referrer_id.label("customer_id"), *referral_columns)
        .where(rf.referred_at <= last, customer_scope(scope, rf.referrer_id))
        .group_by(rf.referrer_id)
        .cte("referral_facts")
    )
    key = customers.c.customer_id
    joined = (
        customers.outerjoin(order_facts, order_facts.c.customer_id == key)
        .outerjoin(contact_facts, contact_facts.c.customer_id == key)
        .outerjoin(referral_facts, referral_facts.c.customer_id == key)
    )
    columns = [key, customers.c.acquired_at, customers.c.acquisition_cost]
    for i, day in enumerate(dates):
        columns.append(order_facts.c[f"last_order_{i}"])
        for cte, names in (
            (order_facts, ["orders", "revenue", "gross_margin", "margin_12m"]),
            (contact_facts, ["contacts", "service_cost", "fcr_contacts", "service_cost_12m"]),
            (referral_facts, ["referrals_made"]),
        ):
            columns += [func.coalesce(cte.c[f"{n}_{i}"], 0).label(f"{n}_{i}") for n in names]
        for score in ("csat", "nps"):
            latest = latest_answer(score, scope, day, f"latest_{score}_{i}").cte(
                f"latest_{score}_{i}"
            )
            joined = joined.outerjoin(latest, latest.c.customer_id == key)
            columns.append(latest.c.answer.label(f"latest_{score}_{i}"))
    # No ORDER BY: sorting a million rows in the database is wasted, the features are sorted
    # by customer id in pandas (deterministic either way).
    statement = (
        select(*columns)
        .select_from(joined)
        .where(customers.c.acquired_at <= last, customer_scope(scope))
    )
    frame = read_frame(engine, statement).sort_values("customer_id", kind="stable")
    result = {}
    shared = ["customer_id", "acquired_at", "acquisition_cost"]
    for i, day in enumerate(dates):
        own = [c for c in fm.FACT_COLUMNS if c not in shared]
        part = frame.loc[
            pd.to_datetime(frame["acquired_at"]) <= pd.Timestamp(day),
            shared + [f"{c}_{i}" for c in own],
        ]
        part.columns = shared + own
        result[day] = part.reset_index(drop=True)
    return result


# --------------------------------------------------------------------------------------------
# Running and saving
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentRun:
    """A saved segmentation run (a row of ``segment_runs``, decoded)."""

    run_id: int
    created_at: datetime
    as_of: date
    n_segments: int
    settings: dict
    quality: dict

    @property
    def previous_as_of(self) -> date | None:
        """The earlier period end customers were also assigned at (for migration)."""
        value = self.quality.get("previous_as_of")
        return date.fromisoformat(value) if value else None

    @property
    def silhouette(self) -> float | None:
        return self.quality.get("silhouette")

    @property
    def silhouette_by_k(self) -> dict[int, float]:
        return {int(k): float(v) for k, v in self.quality.get("silhouette_by_k", {}).items()}

    @property
    def value_measure(self) -> str:
        return self.settings.get("value_measure", "contribution_12m")


def _run_from_row(row) -> SegmentRun:
    return SegmentRun(
        run_id=int(row.run_id),
        created_at=pd.Timestamp(row.created_at).to_pydatetime(),
        as_of=pd.Timestamp(row.as_of).date(),
        n_segments=int(row.n_segments),
        settings=json.loads(row.settings),
        quality=json.loads(row.quality),
    )


def latest_run(engine: Engine) -> SegmentRun | None:
    """The most recent saved run, or None when segmentation has never run on this store."""
    if not has_tables(engine, segment_runs):
        return None
    with app_engine(engine).connect() as conn:
        row = conn.execute(
            select(segment_runs).order_by(segment_runs.c.run_id.desc()).limit(1)
        ).first()
    return None if row is None else _run_from_row(row)


def run_by_id(engine: Engine, run_id: int) -> SegmentRun | None:
    """A saved run by its id (None when there is none)."""
    if not has_tables(engine, segment_runs):
        return None
    with app_engine(engine).connect() as conn:
        row = conn.execute(select(segment_runs).where(segment_runs.c.run_id == run_id)).first()
    return None if row is None else _run_from_row(row)


def assignments(engine: Engine, run_id: int) -> pd.Series:
    frame = read_frame(
        engine,
        select(segment_assignments.c.customer_id, segment_assignments.c.segment).where(
            segment_assignments.c.run_id == run_id
        ),
    )
    return frame.set_index("customer_id")["segment"].astype(int)


def given_names(engine: Engine, run_id: int) -> dict[int, str]:
    """Names a user gave to segments of a run (segment -> name)."""
    if not has_tables(engine, segment_given_names):
        return {}
    frame = read_frame(
        engine,
        select(segment_given_names.c.segment, segment_given_names.c.name).where(
            segment_given_names.c.run_id == run_id
        ),
    )
    return {int(seg): str(name) for seg, name in zip(frame["segment"], frame["name"], strict=True)}


def save_run(
    engine: Engine,
    result: Any,
    names: dict[int, str],
    given: dict[int, str],
    previous_run: SegmentRun | None,
) -> SegmentRun:
    """Write a segmentation (a :class:`dashboard.domain.segments.SegmentationResult`) with its
    names in one transaction, as the run after ``previous_run``."""
    run_id = (previous_run.run_id + 1) if previous_run else 1
    created_at = datetime.now().replace(microsecond=0)
    previous_as_of = min(result.snapshots) if result.snapshots else None
    quality = {
        "criterion": "silhouette",
        "silhouette": result.silhouette,
        "silhouette_by_k": {str(k): v for k, v in result.silhouette_by_k.items()},
        "chosen_automatically": result.chosen_automatically,
        "customers": int(len(result.assignments)),
        "inherited": {str(k): v for k, v in result.inherited.items()},
        "previous_run_id": previous_run.run_id if previous_run else None,
        "renumbered": not result.inherited,
        "previous_as_of": previous_as_of.isoformat() if previous_as_of else None,
        "notes": list(result.notes),
    }
    assignments = result.assignments.rename("segment").rename_axis("customer_id").reset_index()
    assignments.insert(0, "run_id", run_id)
    profiles = result.profiles.copy()
    profiles.insert(0, "run_id", run_id)
    engine = app_engine(engine)
    with engine.begin() as conn:
        # Only the latest run and the one before it are kept in full (for label matching);
        # older runs keep their row and names but not their per-customer rows.
        if previous_run is not None:
            for table in (segment_assignments, segment_snapshots):
                conn.execute(table.delete().where(table.c.run_id < previous_run.run_id))
        # Rows under this run id can only be leftovers of a store whose runs were dropped.
        for table in (segment_assignments, segment_names, *EXTRA_TABLES):
            conn.execute(table.delete().where(table.c.run_id == run_id))
        conn.execute(
            segment_runs.insert().values(
                run_id=run_id,
                created_at=created_at,
                as_of=result.as_of,
                n_segments=result.n_segments,
                settings=json.dumps(result.settings),
                quality=json.dumps(quality),
            )
        )
        bulk_insert(conn, segment_assignments, assignments)
        for when, snapshot in result.snapshots.items():
            frame = snapshot.rename("segment").rename_axis("customer_id").reset_index()
            frame.insert(0, "run_id", run_id)
            frame.insert(1, "as_of", when)
            bulk_insert(conn, segment_snapshots, frame)
        bulk_insert(conn, segment_profiles, profiles)
        conn.execute(
            segment_names.insert(),
            [{"run_id": run_id, "segment": int(s), "name": n} for s, n in sorted(names.items())],
        )
        if given:
            conn.execute(
                segment_given_names.insert(),
                [
                    {"run_id": run_id, "segment": int(s), "name": n}
                    for s, n in sorted(given.items())
                ],
            )
    # PostgreSQL planner statistics of the tables just written (never fails the save).
    refresh_statistics(engine, [segment_runs, segment_assignments, segment_names, *EXTRA_TABLES])
    return SegmentRun(run_id, created_at, result.as_of, result.n_segments, result.settings, quality)


def rename_segment(engine: Engine, run_id: int, segment: int, name: str) -> None:
    """Give a segment of a run a new name (blank names are refused)."""
    name = " ".join(name.split())[:100]
    if not name:
        raise ValueError("a segment name cannot be blank")
    ensure_segment_tables(engine)
    with app_engine(engine).begin() as conn:
        for table in (segment_names, segment_given_names):
            conn.execute(table.delete().where(table.c.run_id == run_id, table.c.segment == segment))
            conn.execute(table.insert().values(run_id=run_id, segment=segment, name=name))


# --------------------------------------------------------------------------------------------
# Reading a run for the pages
# --------------------------------------------------------------------------------------------


def segment_labels(engine: Engine, run_id: int) -> pd.DataFrame:
    """Segment numbers and names of a run: columns ``segment``, ``name``, ``label``.

    ``label`` is what lists and charts show: "2 · Big spenders at risk".
    """
    frame = read_frame(
        engine,
        select(segment_names.c.segment, segment_names.c.name)
        .where(segment_names.c.run_id == run_id)
        .order_by(segment_names.c.segment),
    )
    frame["segment"] = frame["segment"].astype(int)
    frame["label"] = [f"{s} · {n}" for s, n in zip(frame["segment"], frame["name"], strict=True)]
    return frame


def latest_segment_options(engine: Engine) -> tuple[int | None, tuple[tuple[int, str], ...]]:
    """The latest run id and its (segment, label) pairs, for the global segment filter."""
    run = latest_run(engine)
    if run is None:
        return None, ()
    labels = segment_labels(engine, run.run_id)
    return run.run_id, tuple(zip(labels["segment"].tolist(), labels["label"].tolist(), strict=True))


def run_profiles(engine: Engine, run_id: int) -> pd.DataFrame:
    """Stored profiles of a run (segment 0 = all customers); see ``segment_profiles``."""
    if not has_tables(engine, segment_profiles):
        return pd.DataFrame(columns=["segment", "feature", "customers", "mean", "difference"])
    frame = read_frame(
        engine,
        select(
            segment_profiles.c.segment,
            segment_profiles.c.feature,
            segment_profiles.c.customers,
            segment_profiles.c.mean,
            segment_profiles.c.difference,
        )
        .where(segment_profiles.c.run_id == run_id)
        .order_by(segment_profiles.c.segment, segment_profiles.c.feature),
    )
    frame["segment"] = frame["segment"].astype(int)
    return frame


def segment_summary(engine: Engine, scope: Scope, run_id: int) -> pd.DataFrame:
    """What each segment of a run is worth, in the filters' scope and period.

    One row per segment with ``customers`` (acquired by the period's end), ``revenue``,
    ``gross_margin``, ``service_cost`` (in the period), ``acquisition_cost`` (of customers
    acquired in the period): the components of profit in the period (docs/metrics.md period
    view; the view adds ``profit`` with :func:`dashboard.domain.value.profit`),
    ``contribution_12m`` (gross margin - service cost in the 365 days to the period's end),
    ``active_customers`` (an order in those 365 days) and ``lifetime_value`` (sum over the
    latest value-engine run; missing without one). Money in currency units.
    """
    start, end = scope.start, scope.end
    year_start = end - timedelta(days=364)
    # An alias, so that the segment filter's own EXISTS on segment_assignments (in
    # customer_scope) is not correlated with the table joined here.
    assigned = segment_assignments.alias("assigned")
    seg = assigned.c
    run = seg.run_id == run_id
    people = (
        select(
            seg.segment,
            func.count().label("customers"),
            func.sum(
                case(
                    (between(customers.c.acquired_at, start, end), customers.c.acquisition_cost),
                    else_=0.0,
                )
            ).label("acquisition_cost"),
        )
        .select_from(assigned.join(customers, customers.c.customer_id == seg.customer_id))
        .where(run, customers.c.acquired_at <= end, customer_scope(scope))
        .group_by(seg.segment)
    )
    in_period = between(orders.c.ordered_at, start, end)
    in_year = orders.c.ordered_at >= year_start
    margin = orders.c.revenue - orders.c.cost
    sales = (
        select(
            seg.segment,
            func.sum(case((in_period, orders.c.revenue), else_=0.0)).label("revenue"),
            func.sum(case((in_period, margin), else_=0.0)).label("gross_margin"),
            func.sum(case((in_year, margin), else_=0.0)).label("margin_12m"),
        )
        .select_from(orders.join(assigned, seg.customer_id == orders.c.customer_id))
        .where(
            run,
            orders.c.ordered_at >= min(start, year_start),
            orders.c.ordered_at <= end,
            customer_scope(scope, orders.c.customer_id),
        )
        .group_by(seg.segment)
    )
    # Customers with an order in the 365 days, counted over a GROUP BY (PostgreSQL sorts every
    # order's text id for a count(DISTINCT ...), and hashes a GROUP BY: about 2x faster).
    active_pairs = (
        select(seg.segment, orders.c.customer_id)
        .select_from(orders.join(assigned, seg.customer_id == orders.c.customer_id))
        .where(
            run,
            between(orders.c.ordered_at, year_start, end),
            customer_scope(scope, orders.c.customer_id),
        )
        .group_by(seg.segment, orders.c.customer_id)
        .subquery("active_pairs")
    )
    active = select(active_pairs.c.segment, func.count().label("active_customers")).group_by(
        active_pairs.c.segment
    )
    sc = service_contacts.c
    service = (
        select(
            seg.segment,
            func.sum(case((between(sc.opened_at, start, end), sc.cost), else_=0.0)).label(
                "service_cost"
            ),
            func.sum(case((sc.opened_at >= year_start, sc.cost), else_=0.0)).label(
                "service_cost_12m"
            ),
        )
        .select_from(service_contacts.join(assigned, seg.customer_id == sc.customer_id))
        .where(
            run,
            sc.opened_at >= min(start, year_start),
            sc.opened_at <= end,
            customer_scope(scope, sc.customer_id),
        )
        .group_by(seg.segment)
    )
    frames = [read_frame(engine, s) for s in (people, sales, active, service)]
    if has_tables(engine, clv_runs, customer_clv):
        latest = select(func.max(clv_runs.c.run_id)).scalar_subquery()
        value = (
            select(seg.segment, func.sum(customer_clv.c.clv).label("lifetime_value"))
            .select_from(customer_clv.join(assigned, seg.customer_id == customer_clv.c.customer_id))
            .where(
                run,
                customer_clv.c.run_id == latest,
                customer_scope(scope, customer_clv.c.customer_id),
            )
            .group_by(seg.segment)
        )
        frames.append(read_frame(engine, value))
    summary = frames[0]
    for frame in frames[1:]:
        summary = summary.merge(frame, on="segment", how="left")
    money = [
        "acquisition_cost",
        "revenue",
        "gross_margin",
        "margin_12m",
        "service_cost",
        "service_cost_12m",
    ]
    for column in money + ["active_customers"]:
        summary[column] = pd.to_numeric(summary[column]).fillna(0.0).astype(float)
    summary["contribution_12m"] = summary["margin_12m"] - summary["service_cost_12m"]
    if "lifetime_value" not in summary:
        summary["lifetime_value"] = float("nan")
    summary["lifetime_value"] = pd.to_numeric(summary["lifetime_value"]).astype(float)
    summary["segment"] = summary["segment"].astype(int)
    summary["customers"] = summary["customers"].astype(int)
    columns = [
        "segment",
        "customers",
        "revenue",
        "gross_margin",
        "service_cost",
        "acquisition_cost",
        "contribution_12m",
        "active_customers",
        "lifetime_value",
    ]
    return summary[columns].sort_values("segment").reset_index(drop=True)


def segment_transitions(engine: Engine, scope: Scope, run_id: int) -> pd.DataFrame:
    """Customers per (segment at the previous period end, segment at the run's as-of).

    Columns ``from_segment`` (0 = not yet a customer then), ``to_segment``, ``customers``.
    Empty when the run has no earlier snapshot. Scoped by the filters' customers.
    """
    if not has_tables(engine, segment_snapshots):
        return pd.DataFrame(columns=["from_segment", "to_segment", "customers"])
    seg, snap = segment_assignments.c, segment_snapshots.c
    earlier = select(func.min(snap.as_of)).where(snap.run_id == run_id).scalar_subquery()
    from_segment = func.coalesce(snap.segment, literal(NEW_CUSTOMERS)).label("from_segment")
    statement = (
        select(from_segment, seg.segment.label("to_segment"), func.count().label("customers"))
        .select_from(
            segment_assignments.outerjoin(
                segment_snapshots,
                and_(
                    snap.run_id == seg.run_id,
                    snap.customer_id == seg.customer_id,
                    snap.as_of == earlier,
                ),
            )
        )
        .where(seg.run_id == run_id, customer_scope(scope, seg.customer_id))
        .group_by(from_segment, seg.segment)
        .order_by(from_segment, seg.segment)
    )
    frame = read_frame(engine, statement)
    if (
        frame.empty
        or not read_frame(
            engine, select(func.count()).select_from(segment_snapshots).where(snap.run_id == run_id)
        ).iloc[0, 0]
    ):
        return pd.DataFrame(columns=["from_segment", "to_segment", "customers"])
    return frame.astype(int)


#: Columns of :func:`segment_members`: identity, figures to the period's end (money in currency
#: units) and the components of profit to date (the view adds ``profit_to_date``).
MEMBER_FACTS = (
    "customer_id",
    "name",
    "region",
    "acquisition_channel",
    "acquired_at",
    "last_order",
    "orders",
    "revenue",
    "gross_margin",
    "service_cost",
    "acquisition_cost",
    "revenue_period",
    "contacts",
    "latest_csat",
    "latest_nps",
    "referrals_made",
)


def segment_members(engine: Engine, scope: Scope, run_id: int, segment: int) -> pd.DataFrame:
    """The customers of one segment in scope, with their key figures to the period's end.

    Columns: :data:`MEMBER_FACTS` (money in currency units; "to date" = up to the period's
    end), by customer id.
    """
    scoped = replace(scope, segments=(int(segment),), segment_run_id=int(run_id))
    summary = customer_summary(engine, scoped)
    summary["acquired_at"] = summary["acquired_at"].dt.date
    summary["last_order"] = summary["last_order"].dt.date
    return summary[list(MEMBER_FACTS)].sort_values("customer_id").reset_index(drop=True)


def customer_history(engine: Engine, scope: Scope, customer_id: str) -> pd.DataFrame:
    """Everything one customer did up to the period's end, newest first.

    Columns ``date``, ``event`` (order, service contact, survey, referral), ``amount``
    (order revenue or contact cost, currency units; missing otherwise), ``gross_margin`` (of
    an order, currency units) and ``detail`` (contact channel and resolution, survey answers,
    whether a referral converted).
    Empty when the customer is out of the filters' scope (row-level access applies).
    ``customer_id`` is text (an integer is taken as its digits).
    """
    customer_id = str(customer_id)
    end = scope.end
    o, sc, sv, rf = orders.c, service_contacts.c, surveys.c, referrals.c
    text = String()
    no_amount = literal(None, Float())
    parts = [
        select(
            o.ordered_at.label("date"),
            literal("order", text).label("event"),
            o.revenue.label("amount"),
            (o.revenue - o.cost).label("gross_margin"),
            literal("", text).label("detail"),
        ).where(
            o.customer_id == customer_id,
            o.ordered_at <= end,
            customer_scope(scope, o.customer_id),
        ),
        select(
            sc.opened_at.label("date"),
            literal("service contact", text).label("event"),
            sc.cost.label("amount"),
            no_amount.label("gross_margin"),
            func.concat(
                sc.channel,
                ", ",
                case(
                    (sc.first_contact_resolved, "resolved at first contact"),
                    else_="not resolved at first contact",
                ),
            ).label("detail"),
        ).where(
            sc.customer_id == customer_id,
            sc.opened_at <= end,
            customer_scope(scope, sc.customer_id),
        ),
        select(
            sv.answered_at.label("date"),
            literal("survey", text).label("event"),
            no_amount.label("amount"),
            no_amount.label("gross_margin"),
            func.concat(
                "CSAT ",
                func.coalesce(cast(sv.csat, text), "–"),
                ", NPS answer ",
                func.coalesce(cast(sv.nps, text), "–"),
            ).label("detail"),
        ).where(
            sv.customer_id == customer_id,
            sv.answered_at <= end,
            customer_scope(scope, sv.customer_id),
        ),
        select(
            rf.referred_at.label("date"),
            literal("referral", text).label("event"),
            no_amount.label("amount"),
            no_amount.label("gross_margin"),
            case((rf.referred_customer_id.is_(None), "did not convert"), else_="converted").label(
                "detail"
            ),
        ).where(
            rf.referrer_id == customer_id,
            rf.referred_at <= end,
            customer_scope(scope, rf.referrer_id),
        ),
    ]
    union = union_all(*parts).subquery()
    frame = read_frame(engine, select(union).order_by(union.c.date.desc(), union.c.event))
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    for column in ("amount", "gross_margin"):
        frame[column] = pd.to_numeric(frame[column]).astype(float)
    return frame


def customer_segment_path(
    engine: Engine, scope: Scope, run_id: int, customer_id: str
) -> pd.DataFrame:
    """A customer's segment at the previous period end and at the run's as-of date.

    Columns ``as_of`` and ``segment`` (oldest first); dates when it was not yet a customer
    are absent. Empty when the customer is out of the filters' scope (row-level access
    applies).
    """
    customer_id = str(customer_id)  # identifiers are text
    snap, seg = segment_snapshots.c, segment_assignments.c
    run = run_by_id(engine, run_id)
    if run is None:
        return pd.DataFrame(columns=["as_of", "segment"])
    earlier = (
        read_frame(
            engine,
            select(snap.as_of, snap.segment).where(
                snap.run_id == run_id,
                snap.customer_id == customer_id,
                customer_scope(scope, snap.customer_id),
            ),
        )
        if has_tables(engine, segment_snapshots)
        else pd.DataFrame(columns=["as_of", "segment"])
    )
    current = read_frame(
        engine,
        select(literal(run.as_of, Date()).label("as_of"), seg.segment).where(
            seg.run_id == run_id,
            seg.customer_id == customer_id,
            customer_scope(scope, seg.customer_id),
        ),
    )
    frame = pd.concat([earlier, current], ignore_index=True)
    if frame.empty:
        return pd.DataFrame(columns=["as_of", "segment"])
    frame["as_of"] = pd.to_datetime(frame["as_of"]).dt.date
    frame["segment"] = frame["segment"].astype(int)
    return frame.sort_values("as_of").reset_index(drop=True)

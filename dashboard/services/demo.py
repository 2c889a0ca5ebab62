"""Use case: build the demo portfolio in a store, and the complete first-run demo.

:func:`build_demo` simulates the portfolio chunk by chunk (:mod:`dashboard.simulator`,
pure) and bulk-writes it in one transaction; :func:`build_complete_demo` adds the lifetime-value
fit and the segmentation, so every page is complete (the app's first run, ``demo`` command),
and only then records the completeness marker (:data:`COMPLETE_MARKER` in ``dataset_info``).
:func:`first_run_step` and :func:`complete_first_run` finish a first run that was cut short
(docs/store.md, "First run").
"""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import Engine

from dashboard.simulator import (
    DEFAULT_END_DATE,
    DemoError,
    DemoSpec,
    iter_demo_chunks,
    validate_n_customers,
)
from dashboard.storage import spark
from dashboard.storage.check import integer_customer_ids
from dashboard.storage.engine import (
    Progress,
    bulk_insert,
    bump_data_version,
    clear_all_rows,
    clear_app_rows,
    contract_row_counts,
    create_schema,
    drop_every_table,
    ensure_app_tables,
    refresh_statistics,
)
from dashboard.storage.markers import read_marker, write_marker
from dashboard.storage.queries import missing_contract_tables
from dashboard.storage.schema import CONTRACT_TABLES, LOAD_ORDER

__all__ = [
    "COMPLETE_MARKER",
    "DemoError",
    "build_complete_demo",
    "build_demo",
    "complete_first_run",
    "finish_demo",
    "first_run_step",
]

#: ``dataset_info`` key written once the demo is built, fitted and segmented (never before).
COMPLETE_MARKER = "demo_complete"


def build_demo(
    engine: Engine,
    n_customers: int = 20_000,
    seed: int = 42,
    *,
    end_date: date = DEFAULT_END_DATE,
    replace: bool = False,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Simulate a demo customer portfolio and write it into the store's contract tables.

    Parameters
    ----------
    engine:
        The store (DuckDB, PostgreSQL or any SQLAlchemy engine).
    n_customers:
        Number of customers, 1,000 to 1,000,000.
    seed:
        Random seed: the same seed, size and end date give identical data.
    end_date:
        Last day of the history; acquisitions and orders cover the three years to it.
    replace:
        Overwrite a store that already holds data. The rows of every contract table and of
        every app table (``schema.APP``: dataset version, model runs, segments, ...) are
        deleted first. Without it a store with data is refused.
    progress:
        Called as ``progress(fraction, message)`` after each chunk of customers is written,
        with ``fraction`` from 0 to 1.

    Returns
    -------
    dict
        Rows written per contract table, in load order.

    Raises
    ------
    DemoError
        If ``n_customers`` is out of range, or the store holds data and ``replace`` is False.

    Notes
    -----
    Customers are simulated and written in chunks of ``CHUNK_SIZE`` (50,000), so memory stays
    bounded for a million customers. Everything is written in one transaction, so a failed
    build leaves the store as it was; the dataset version is bumped after the commit.
    """
    validate_n_customers(n_customers)
    spec = DemoSpec(n_customers=int(n_customers), seed=seed, end_date=end_date)
    if spark.is_spark(engine):  # Parquet files and CREATE TABLE ... USING parquet
        return _build_on_spark(engine, spec, replace=replace, progress=progress)
    create_schema(engine)
    if not replace:
        filled = {name: rows for name, rows in contract_row_counts(engine).items() if rows}
        if filled:
            listing = ", ".join(f"{name} ({rows:,} rows)" for name, rows in filled.items())
            raise DemoError(
                f"The store already holds data: {listing}. Building the demo would mix "
                "simulated and existing rows, so it was not started. Pass replace=True to "
                "delete all rows first, or point the app at an empty database."
            )
    written = dict.fromkeys(LOAD_ORDER, 0)
    done = 0
    with engine.begin() as conn:
        if replace:
            clear_all_rows(conn)
        for chunk in iter_demo_chunks(spec):
            for name in LOAD_ORDER:
                written[name] += bulk_insert(conn, CONTRACT_TABLES[name], chunk.frames[name])
            done += len(chunk.frames["customers"])
            if progress is not None:
                progress(
                    done / spec.n_customers,
                    f"Demo portfolio: {done:,} of {spec.n_customers:,} customers written",
                )
    # Planner statistics for the freshly loaded tables (PostgreSQL; docs/performance.md).
    refresh_statistics(engine, [CONTRACT_TABLES[name] for name in LOAD_ORDER])
    bump_data_version(engine)
    return written


def _build_on_spark(
    engine: Engine, spec: DemoSpec, *, replace: bool, progress: Progress | None
) -> dict[str, int]:
    if not replace and not missing_contract_tables(engine):
        filled = {name: rows for name, rows in contract_row_counts(engine).items() if rows}
        if filled:
            raise DemoError(
                "The Spark store already holds the contract tables "
                f"({', '.join(filled)}); pass --replace to recreate them."
            )
    ensure_app_tables(engine)
    if replace:
        with engine.connect() as conn:  # clears the app store's rows (never the contract's)
            clear_app_rows(conn)

    def chunks():
        done = 0
        for chunk in iter_demo_chunks(spec):
            yield chunk.frames
            done += len(chunk.frames["customers"])
            if progress is not None:
                progress(
                    done / spec.n_customers,
                    f"Demo portfolio: {done:,} of {spec.n_customers:,} customers written",
                )

    written = spark.load_tables(engine, chunks())
    bump_data_version(engine)
    return written


def _step(progress: Progress | None, offset: float, width: float) -> Progress | None:
    """A progress callback reporting ``fraction`` of one step as a share of the whole."""
    if progress is None:
        return None

    def report(fraction: float, message: str) -> None:
        progress(min(max(offset + width * fraction, 0.0), 1.0), message)

    return report


def build_complete_demo(
    engine: Engine,
    n_customers: int,
    *,
    seed: int = 42,
    replace: bool = True,
    models: bool = True,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Build the demo (60% of the progress), fit lifetime value (20%) and segment it (20%).

    The store is replaced unless ``replace`` is False (then a store with data is refused, as
    by :func:`build_demo`). A portfolio too small or too young to fit is left without a fit
    (the Customer value page then explains and offers the fit button). Once the fit and the
    segmentation are stored, :data:`COMPLETE_MARKER` is written. With ``models=False`` only
    the demo tables are built (all the progress) and no marker is written.
    """
    if not models:
        return build_demo(
            engine, n_customers=n_customers, seed=seed, replace=replace, progress=progress
        )
    written = build_demo(
        engine,
        n_customers=n_customers,
        seed=seed,
        replace=replace,
        progress=_step(progress, 0.0, 0.6),
    )
    finish_demo(engine, progress=_step(progress, 0.6, 0.4), built={"customers": n_customers})
    return written


def finish_demo(
    engine: Engine, *, progress: Progress | None = None, built: dict | None = None
) -> dict[str, bool]:
    """Store what the demo still lacks (the fit, the segments), then write the marker.

    Fits lifetime value when no fit is stored and segments the customers when no segment run
    is stored (each half of the progress when both are missing); what is stored already is
    kept. Returns which of the two were run (``{"fit": bool, "segments": bool}``).
    """
    from dashboard.services import lifetime_value, segmentation  # model libraries: only here
    from dashboard.storage import clv_store, segment_store

    need_fit = clv_store.latest_run(engine) is None
    need_segments = segment_store.latest_run(engine) is None
    fit_width = 0.5 if need_fit and need_segments else 1.0
    if need_fit:
        lifetime_value.fit_if_possible(engine, progress=_step(progress, 0.0, fit_width))
    if need_segments:
        offset = fit_width if need_fit else 0.0
        segmentation.run_and_save(engine, progress=_step(progress, offset, 1.0 - offset))
    marker = {"completed_at": datetime.now().isoformat(timespec="seconds"), **(built or {})}
    write_marker(engine, COMPLETE_MARKER, json.dumps(marker))
    if progress is not None:
        progress(1.0, "Demo portfolio complete: built, fitted and segmented.")
    return {"fit": need_fit, "segments": need_segments}


def first_run_step(engine: Engine) -> str | None:
    """What the first run of the embedded default store still has to do.

    - ``"build"``: contract tables are missing or hold no customer (nothing to lose): build
      the complete demo;
    - ``"finish"``: the store holds customers but no completeness marker (a first run cut off
      after the demo tables were committed, which happens in one transaction, or a store
      built before the marker existed): store the missing fit and segments, then the marker;
    - ``None``: the marker is there, nothing to do.

    A demo store whose customer ids are integers (built before identifiers were text) is
    built again: it is the app's own demo, nothing of the user's is lost, and the pages now
    expect text identifiers.

    Only the app's embedded default store is meant: a store the user points the app at is
    never built or completed.
    """
    if missing_contract_tables(engine) or not contract_row_counts(engine)["customers"]:
        return "build"
    if integer_customer_ids(engine):
        return "build"
    if read_marker(engine, COMPLETE_MARKER) is not None:
        return None
    return "finish"


def complete_first_run(
    engine: Engine, n_customers: int, *, progress: Progress | None = None
) -> str | None:
    """Do :func:`first_run_step`'s step (build, or finish) and return it (None: nothing done)."""
    step = first_run_step(engine)
    if step == "build" and not missing_contract_tables(engine) and integer_customer_ids(engine):
        drop_every_table(engine)  # the old demo's integer-keyed tables: a new layout
    if step == "build":
        build_complete_demo(engine, n_customers, progress=progress)
    elif step == "finish":
        finish_demo(engine, progress=progress)
    return step

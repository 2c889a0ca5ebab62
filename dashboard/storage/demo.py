"""Build the demo portfolio in a store: simulate chunk by chunk, bulk-write, bump the version.

The simulation itself is pure and lives in :mod:`dashboard.simulator`; this module only decides
what may be overwritten and writes. (Storage importing the simulator is the one exception to the
top-down layering: the demo is data the store is seeded with.)
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, Engine, func, select

from dashboard.simulator import (
    DEFAULT_END_DATE,
    DemoError,
    DemoSpec,
    iter_demo_chunks,
    validate_n_customers,
)
from dashboard.storage.engine import Progress, bulk_insert, bump_data_version, create_schema
from dashboard.storage.schema import APP, CONTRACT_TABLES, LOAD_ORDER

__all__ = ["DemoError", "build_demo", "contract_row_counts"]


def contract_row_counts(engine_or_conn: Engine | Connection) -> dict[str, int]:
    """Rows in each contract table (tables must exist), in load order."""
    if isinstance(engine_or_conn, Engine):
        with engine_or_conn.connect() as conn:
            return contract_row_counts(conn)
    return {
        name: int(
            engine_or_conn.execute(
                select(func.count()).select_from(CONTRACT_TABLES[name])
            ).scalar_one()
        )
        for name in LOAD_ORDER
    }


def _clear(conn: Connection) -> None:
    # App tables first (they may refer to customers), then the contract in reverse load order.
    for table in reversed(APP.sorted_tables):
        conn.execute(table.delete())
    for name in reversed(LOAD_ORDER):
        conn.execute(CONTRACT_TABLES[name].delete())


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
            _clear(conn)
        for chunk in iter_demo_chunks(spec):
            for name in LOAD_ORDER:
                written[name] += bulk_insert(conn, CONTRACT_TABLES[name], chunk.frames[name])
            done += len(chunk.frames["customers"])
            if progress is not None:
                progress(
                    done / spec.n_customers,
                    f"Demo portfolio: {done:,} of {spec.n_customers:,} customers written",
                )
    bump_data_version(engine)
    return written

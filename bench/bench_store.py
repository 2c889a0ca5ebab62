"""Embedded store: DuckDB against SQLite, measured on the app's own code paths.

Usage::

    python bench/bench_store.py [--orders 2000000] [--customers 200000] [--repeat 3]
                                [--seed 7] [--dir DIR]

Generates a synthetic portfolio (deterministic: numpy ``default_rng(seed)``): ``customers``
and an ``orders`` table with the columns of ``dashboard.storage.schema.orders``, in date
order as a real table fills. For each backend, in a fresh file (a temporary folder unless
``--dir``), it times

(a) *load*: ``create_schema`` then ``dashboard.storage.engine.bulk_insert`` of the orders in one
    transaction, commit included (DuckDB reads the registered DataFrame; SQLite gets an
    executemany);
(b) *per customer*: GROUP BY customer over all orders (orders, revenue, gross margin, first and
    last order date) read into pandas through SQLAlchemy (``read_frame``), 200,000 rows back;
(c) *monthly, filtered*: one year of orders of the customers of one region and one
    acquisition channel, by month (orders, distinct customers, revenue, gross margin), with the
    app's ``month_start`` / ``between`` / ``customer_scope`` building blocks.

Reads run on a freshly opened engine: the first run and the best of ``--repeat`` are reported.
Both backends must return the same figures (checked). Results: docs/store.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Double, Engine, Float, MetaData, Table, distinct, func, select, text  # noqa: E402,I001

from dashboard.scope import Scope  # noqa: E402
from dashboard.storage.engine import bulk_insert, create_schema, make_engine  # noqa: E402
from dashboard.storage.schema import customers, orders  # noqa: E402
from dashboard.storage.sql import between, customer_scope, month_start, read_frame  # noqa: E402

FIRST_DAY = date(2022, 1, 1)
DAYS = 3 * 365 + 1  # 2022-01-01 to 2024-12-31
REGIONS = ["North", "South", "East", "West"]
CHANNELS = ["search", "referral", "partner", "social", "events"]
#: Scope of query (c): a year, one region, one channel (about 1/20 of the customers).
MONTHLY_FILTERS = Scope(
    start=date(2024, 1, 1), end=date(2024, 12, 31), regions=("North",), channels=("search",)
)


def synthetic_portfolio(
    n_orders: int, n_customers: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers and their orders; amounts in currency units, dates as days."""
    rng = np.random.default_rng(seed)
    start = np.datetime64(FIRST_DAY, "D")
    day = np.sort(rng.integers(0, DAYS, n_orders))  # a table fills in date order
    revenue = np.round(rng.lognormal(mean=4.0, sigma=0.8, size=n_orders), 2)
    order_frame = pd.DataFrame(
        {
            "order_id": np.arange(1, n_orders + 1, dtype=np.int64),
            "customer_id": rng.integers(1, n_customers + 1, n_orders, dtype=np.int64),
            "ordered_at": (start + day).astype("datetime64[s]"),
            "revenue": revenue,
            "cost": np.round(revenue * rng.uniform(0.45, 0.85, n_orders), 2),
        }
    )
    customer_frame = pd.DataFrame(
        {
            "customer_id": np.arange(1, n_customers + 1, dtype=np.int64),
            "name": [f"Customer {i}" for i in range(1, n_customers + 1)],
            "region": rng.choice(REGIONS, n_customers),
            "acquisition_channel": rng.choice(CHANNELS, n_customers),
            "acquired_at": (start + rng.integers(0, 30, n_customers)).astype("datetime64[s]"),
            "acquisition_cost": np.round(rng.uniform(20, 200, n_customers), 2),
        }
    )
    return customer_frame, order_frame


def per_customer(engine: Engine) -> pd.DataFrame:
    """Query (b): one row per customer over all orders."""
    statement = select(
        orders.c.customer_id,
        func.count().label("orders"),
        func.sum(orders.c.revenue).label("revenue"),
        func.sum(orders.c.revenue - orders.c.cost).label("gross_margin"),
        func.min(orders.c.ordered_at).label("first_order"),
        func.max(orders.c.ordered_at).label("last_order"),
    ).group_by(orders.c.customer_id)
    return read_frame(engine, statement)


def monthly_filtered(engine: Engine) -> pd.DataFrame:
    """Query (c): the filtered monthly aggregate."""
    month = month_start(orders.c.ordered_at).label("month")
    statement = (
        select(
            month,
            func.count().label("orders"),
            func.count(distinct(orders.c.customer_id)).label("customers"),
            func.sum(orders.c.revenue).label("revenue"),
            func.sum(orders.c.revenue - orders.c.cost).label("gross_margin"),
        )
        .where(
            between(orders.c.ordered_at, MONTHLY_FILTERS.start, MONTHLY_FILTERS.end),
            customer_scope(MONTHLY_FILTERS, orders.c.customer_id),
        )
        .group_by(month)
        .order_by(month)
    )
    return read_frame(engine, statement)


def timed(function: Callable[[], object]) -> tuple[float, float, object]:
    """Wall-clock seconds, CPU seconds of this process (all its threads) and the result.

    CPU time is reported next to wall time because the machine may be shared: it does not
    grow when other processes take the cores, so it shows when a wall time was inflated.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def double_money_tables() -> tuple[MetaData, Table, Table]:
    """Copies of ``customers`` and ``orders`` with every Float column declared DOUBLE.

    SQLAlchemy's plain ``Float`` becomes DuckDB's ``FLOAT``, a 4-byte single-precision number
    (PostgreSQL's FLOAT and SQLite's REAL are 8-byte). This variant measures DuckDB with money
    stored as 8-byte doubles, the like-for-like comparison with SQLite.
    """
    metadata = MetaData()
    copies = [table.to_metadata(metadata) for table in (customers, orders)]
    for table in copies:
        for column in table.columns:
            if isinstance(column.type, Float):
                column.type = Double()
    return metadata, *copies


def load(url: str, money: str, customer_frame: pd.DataFrame, order_frame: pd.DataFrame) -> dict:
    engine = make_engine(url)
    if money == "double":
        metadata, customer_table, order_table = double_money_tables()
        metadata.create_all(engine)
    else:  # the schema as the app creates it
        create_schema(engine)
        customer_table, order_table = customers, orders

    def load_table(table: Table, frame: pd.DataFrame) -> None:
        with engine.begin() as conn:
            bulk_insert(conn, table, frame)

    customers_wall, customers_cpu, _ = timed(lambda: load_table(customer_table, customer_frame))
    orders_wall, orders_cpu, _ = timed(lambda: load_table(order_table, order_frame))
    if engine.url.get_backend_name() == "duckdb":
        with engine.begin() as conn:  # fold the write-ahead log into the file before sizing it
            conn.execute(text("CHECKPOINT"))
    engine.dispose()
    return {
        "load_customers": (customers_wall, customers_cpu),
        "load_orders": (orders_wall, orders_cpu),
    }


def read(url: str, repeat: int) -> tuple[dict, dict[str, pd.DataFrame]]:
    engine = make_engine(url)  # freshly opened, as the app finds the file
    figures, frames = {}, {}
    for name, query in [("per_customer", per_customer), ("monthly", monthly_filtered)]:
        runs = []
        for _ in range(repeat):
            wall, cpu, frames[name] = timed(lambda q=query: q(engine))
            runs.append((wall, cpu))
        figures[f"{name}_first"] = runs[0]
        figures[f"{name}_best"] = min(runs)  # by wall time
    engine.dispose()
    return figures, frames


def file_bytes(path: Path) -> int:
    """The database file and any side files (WAL, journal) next to it."""
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.sort_values(frame.columns[0]).reset_index(drop=True)
    for column in frame.columns:
        if frame[column].dtype == object:  # dates
            frame[column] = pd.to_datetime(frame[column])
        else:
            frame[column] = frame[column].astype("float64")
    return frame


def largest_difference(
    frames: dict[str, pd.DataFrame], reference: dict[str, pd.DataFrame], column: str = "revenue"
) -> float:
    """Largest absolute difference of a per-customer sum against the reference backend."""
    left = _comparable(frames["per_customer"])[column]
    right = _comparable(reference["per_customer"])[column]
    return float((left - right).abs().max())


def check_same(
    frames: dict[str, pd.DataFrame], reference: dict[str, pd.DataFrame], name: str, rtol: float
) -> None:
    """Both backends must compute the same figures, or the timings compare nothing."""
    for query in frames:
        pd.testing.assert_frame_equal(
            _comparable(frames[query]),
            _comparable(reference[query]),
            check_exact=False,
            rtol=rtol,
            check_dtype=False,
            obj=f"{query}: {name} vs SQLite",
        )


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores ({cpu}){memory}, {platform.system()} {platform.release()}"


def load_average() -> str:
    """Other work on the machine while measuring (the figures are wall-clock times)."""
    try:
        return ", ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=2_000_000)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="folder for the database files (default: a temporary folder)",
    )
    args = parser.parse_args(argv)

    import duckdb
    import sqlalchemy

    load_at_start = load_average()
    print(f"machine: {machine()}")
    print(
        f"python {platform.python_version()}, duckdb {duckdb.__version__}, "
        f"sqlite {sqlite3.sqlite_version}, sqlalchemy {sqlalchemy.__version__}, "
        f"pandas {pd.__version__}"
    )
    started = time.perf_counter()
    customer_frame, order_frame = synthetic_portfolio(args.orders, args.customers, args.seed)
    print(
        f"generated {len(order_frame):,} orders of {order_frame.customer_id.nunique():,} "
        f"customers in {time.perf_counter() - started:.1f} s (seed {args.seed})\n"
    )

    variants = [  # (label, backend, money columns)
        ("DuckDB", "duckdb", "schema"),
        ("DuckDB DOUBLE", "duckdb", "double"),
        ("SQLite", "sqlite", "schema"),
    ]
    results, frames = {}, {}
    with tempfile.TemporaryDirectory(prefix="bench_store_") as scratch:
        folder = args.dir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for label, backend, money in variants:
            path = folder / f"bench_store_{money}.{backend}"
            for old in path.parent.glob(path.name + "*"):
                old.unlink()
            url = f"{backend}:///{path}"
            figures = load(url, money, customer_frame, order_frame)
            read_figures, frames[label] = read(url, args.repeat)
            figures.update(read_figures)
            figures["size_mb"] = (file_bytes(path) / 1e6, 0.0)
            results[label] = figures
            print(f"{label}: loaded and read", flush=True)

    check_same(frames["DuckDB DOUBLE"], frames["SQLite"], "DuckDB DOUBLE", rtol=1e-9)
    # 4-byte FLOAT keeps about 7 significant digits: each stored amount is off by up to
    # 1 part in 2**24, so sums agree only to that precision.
    check_same(frames["DuckDB"], frames["SQLite"], "DuckDB", rtol=1e-6)
    drift = largest_difference(frames["DuckDB"], frames["SQLite"])
    print(
        "all variants return the same figures (DuckDB FLOAT to 1e-6 relative; largest "
        f"per-customer revenue difference {drift:.6f} currency units)\n"
    )

    rows = [
        (f"(a) load {args.orders:,} orders (s)", "load_orders"),
        (f"    load {args.customers:,} customers (s)", "load_customers"),
        ("(b) per customer, first run (s)", "per_customer_first"),
        (f"(b) per customer, best of {args.repeat} (s)", "per_customer_best"),
        ("(c) monthly filtered, first run (s)", "monthly_first"),
        (f"(c) monthly filtered, best of {args.repeat} (s)", "monthly_best"),
        ("file size (MB)", "size_mb"),
    ]
    labels = [label for label, *_ in variants]
    print(
        f"| {'wall seconds (CPU seconds)':<36} | "
        + " | ".join(f"{label:>15}" for label in labels)
        + " | SQLite ÷ DuckDB DOUBLE |"
    )
    print(f"| {'-' * 36} |" + "".join(f" {'-' * 15}:|" for _ in labels) + f" {'-' * 22}:|")
    for text_label, key in rows:
        if key == "size_mb":
            cells = [f"{results[label][key][0]:>15.1f}" for label in labels]
        else:
            cells = [
                f"{results[label][key][0]:>7.3f} ({results[label][key][1]:>5.2f})"
                for label in labels
            ]
        ratio = results["SQLite"][key][0] / results["DuckDB DOUBLE"][key][0]
        print(f"| {text_label:<36} | " + " | ".join(cells) + f" | {ratio:>21.1f}x |")
    print(
        f"\nload average (1, 5, 15 min) at the start: {load_at_start}, at the end: {load_average()}"
    )


if __name__ == "__main__":
    main()

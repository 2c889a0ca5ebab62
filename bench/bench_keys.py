"""What text identifiers cost against integer ones, at N customers (default 1,000,000).

Builds the same customers and orders twice in a fresh store, once with BIGINT keys and once
with VARCHAR keys (the digits of the same numbers, as the demo writes them), and times what
the pages lean on: the bulk load, a join of orders to customers grouped by region, a per-
customer aggregation (the customer summary's shape), a look-up of 1,000 customers by key, and
the store's size. Prints one table; run once and note ``uptime``'s load beside it.

    PYTHONPATH=$PWD python bench/bench_keys.py [--customers N] [--pg URL]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, create_engine, text


def _frames(n: int, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = np.arange(1, n + 1, dtype=np.int64)
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "region": rng.choice(["North", "South", "East", "West"], n),
            "acquired_at": pd.Timestamp("2020-01-01")
            + pd.to_timedelta(rng.integers(0, 1500, n), "D"),
        }
    )
    per = rng.poisson(4.6, n) + 1
    owner = np.repeat(ids, per)
    m = len(owner)
    orders = pd.DataFrame(
        {
            "order_id": np.arange(1, m + 1, dtype=np.int64),
            "customer_id": owner,
            "ordered_at": pd.Timestamp("2020-01-01")
            + pd.to_timedelta(rng.integers(0, 1800, m), "D"),
            "revenue": rng.gamma(2.0, 40.0, m),
        }
    )
    return customers, orders


def _as_text(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return frame.assign(**{c: frame[c].astype(str) for c in columns})


QUERIES = {
    "join + group by region": (
        "SELECT c.region, count(*), sum(o.revenue) FROM orders o "
        "JOIN customers c ON c.customer_id = o.customer_id GROUP BY c.region"
    ),
    "per-customer summary": (
        "SELECT c.customer_id, min(o.ordered_at), max(o.ordered_at), sum(o.revenue) "
        "FROM customers c LEFT JOIN orders o ON o.customer_id = c.customer_id "
        "GROUP BY c.customer_id"
    ),
}


def _time(fn, repeat: int = 2) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def _run(url: str, key_type: str, customers: pd.DataFrame, orders: pd.DataFrame) -> dict:
    engine = create_engine(url)
    backend = engine.url.get_backend_name()
    if backend == "postgresql":  # a schema of its own, dropped at the end
        with engine.begin() as conn:
            conn.execute(text("CREATE SCHEMA IF NOT EXISTS bench_keys"))
        engine.dispose()
        engine = create_engine(url, connect_args={"options": "-csearch_path=bench_keys"})
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS orders"))
        conn.execute(text("DROP TABLE IF EXISTS customers"))
        conn.execute(
            text(
                f"CREATE TABLE customers (customer_id {key_type} PRIMARY KEY, region VARCHAR(100),"
                " acquired_at DATE)"
            )
        )
        conn.execute(
            text(
                f"CREATE TABLE orders (order_id {key_type} PRIMARY KEY, customer_id {key_type}, "
                "ordered_at DATE, revenue DOUBLE PRECISION)"
            )
        )
        if backend == "postgresql":
            conn.execute(text("CREATE INDEX ON orders (customer_id)"))
    if key_type != "BIGINT":
        customers = _as_text(customers, ["customer_id"])
        orders = _as_text(orders, ["order_id", "customer_id"])
    started = time.perf_counter()
    with engine.begin() as conn:
        raw_load(conn, backend, "customers", customers)
        raw_load(conn, backend, "orders", orders)
    load = time.perf_counter() - started
    if backend == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE customers"))
            conn.execute(text("ANALYZE orders"))
    out = {"load": load}
    for name, sql in QUERIES.items():

        def query(sql=sql):
            with engine.connect() as conn:
                conn.execute(text(sql)).fetchall()

        out[name] = _time(query)
    wanted = customers["customer_id"].sample(1000, random_state=1).tolist()

    def lookup():
        with engine.connect() as conn:
            conn.execute(
                text("SELECT count(*) FROM orders WHERE customer_id IN :ids").bindparams(
                    bindparam("ids", expanding=True)
                ),
                {"ids": wanted},
            ).scalar_one()

    out["1,000 keys look-up"] = _time(lookup)
    with engine.connect() as conn:
        if backend == "postgresql":
            out["size MB"] = (
                conn.execute(
                    text(
                        "SELECT pg_total_relation_size('orders') + "
                        "pg_total_relation_size('customers')"
                    )
                ).scalar_one()
                / 1e6
            )
        else:
            out["size MB"] = None
        if backend == "postgresql":
            conn.execute(text("DROP SCHEMA bench_keys CASCADE"))
            conn.commit()
    engine.dispose()
    return out


def raw_load(conn, backend: str, name: str, frame: pd.DataFrame) -> None:
    from sqlalchemy import Column, MetaData, Table

    from dashboard.storage.engine import bulk_insert

    table = Table(name, MetaData(), *(Column(c) for c in frame.columns))
    bulk_insert(conn, table, frame)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--pg", default=os.environ.get("DASHBOARD_TEST_PG_URL"))
    args = parser.parse_args()
    customers, orders = _frames(args.customers)
    print(f"{len(customers):,} customers, {len(orders):,} orders; load {os.getloadavg()}")
    stores = []
    with tempfile.TemporaryDirectory() as folder:
        for key_type in ("BIGINT", "VARCHAR(100)"):
            path = Path(folder) / f"keys_{key_type[:3]}.duckdb"
            result = _run(f"duckdb:///{path}", key_type, customers, orders)
            result["size MB"] = path.stat().st_size / 1e6
            stores.append(("DuckDB", key_type, result))
    if args.pg:
        for key_type in ("BIGINT", "VARCHAR(100)"):
            stores.append(("PostgreSQL", key_type, _run(args.pg, key_type, customers, orders)))
    names = list(stores[0][2])
    print("| store | key type | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 2) + "|")
    for store, key_type, result in stores:
        cells = [
            ""
            if result[n] is None
            else f"{result[n]:.2f}"
            if n != "size MB"
            else f"{result[n]:.0f}"
            for n in names
        ]
        print(f"| {store} | {key_type} | " + " | ".join(cells) + " |")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()

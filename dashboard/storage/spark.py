"""Loading contract tables into Spark SQL: Parquet files and ``CREATE TABLE ... USING parquet``.

Spark's Thrift server answers each statement with about a second of overhead, so rows are never
INSERTed: each table's rows are written as Parquet files (pandas/pyarrow) into a folder Spark
reads (a local path in local mode; shared storage, e.g. a volume or bucket, on a cluster), and
one ``CREATE TABLE <name> USING parquet LOCATION '<folder>'`` per table makes them a table.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from dashboard.storage.schema import CONTRACT_TABLES, LOAD_ORDER
from dashboard.storage.stores import write_parquet

#: Folder of the Parquet files behind Spark tables the app loads (demo); Spark must read it.
TABLES_ENV_VAR = "DASHBOARD_SPARK_TABLES_DIR"
_PROJECT_ROOT = Path(__file__).resolve().parents[2]


def is_spark(engine: Engine) -> bool:
    return engine.url.get_backend_name() == "hive"


def tables_dir() -> Path:
    return Path(os.environ.get(TABLES_ENV_VAR) or _PROJECT_ROOT / "data" / "spark-tables")


def load_tables(engine: Engine, chunks: Iterable[dict[str, pd.DataFrame]]) -> dict[str, int]:
    """Write every chunk's contract frames as Parquet parts, then (re)create the tables.

    The tables are replaced as a whole: a failure while writing the files leaves the old
    tables in place (the files go to a new folder, swapped in only once all are written).
    """
    root = tables_dir()
    staging = root / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    written = dict.fromkeys(LOAD_ORDER, 0)
    for number, frames in enumerate(chunks):
        for name in LOAD_ORDER:
            folder = staging / name
            folder.mkdir(parents=True, exist_ok=True)
            frame = frames[name]
            write_parquet(frame, CONTRACT_TABLES[name], folder / f"part-{number:05d}.parquet")
            written[name] += len(frame)
    preparer = engine.dialect.identifier_preparer
    with engine.connect() as conn:
        for name in LOAD_ORDER:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {preparer.quote(name)}")
            final = root / name
            shutil.rmtree(final, ignore_errors=True)
            (staging / name).rename(final)
            conn.exec_driver_sql(
                f"CREATE TABLE {preparer.quote(name)} USING parquet LOCATION '{final}'"
            )
    shutil.rmtree(staging, ignore_errors=True)
    cache = getattr(engine, "_dashboard_cache", None)
    if cache is not None:
        cache.clear()
    return written

"""Two stores: the contract tables (read only) and the app's own tables (written by the app).

A warehouse (Spark, Databricks, Trino, Snowflake, BigQuery) or a PostgreSQL read replica holds
the contract tables and gives the dashboard a read-only role. The app's own tables (value
fits, segment runs, stored summaries, the data version, markers) then live in a separate
writable store: ``DASHBOARD_APP_DB_URL`` (or ``--app-db``); by default the contract store itself
when it is writable (DuckDB, PostgreSQL: today's behaviour), an embedded DuckDB file for a
read-only warehouse (:func:`default_app_url`, docs/decisions.md).

How a split store is read (docs/warehouses.md):

* the contract engine carries its app engine (:func:`attach`, :func:`app_engine`);
* a statement over app tables alone, or app tables and ``customers``, runs in the app store,
  which keeps a copy of ``customers`` (one row per customer, refreshed when the contract
  fingerprint changes: :func:`ensure_customer_mirror`);
* a statement over contract facts that also names app tables (a segment filter, a join with
  segment assignments or predictions) runs in the warehouse with the app tables' rows handed
  over as common table expressions of the same names: inline ``VALUES`` on SQL databases, a
  Parquet file read by ``parquet.`path``` on Spark (:data:`EXCHANGE_ENV_VAR`). Only the rows of
  the runs the statement names are handed over.
* the app never writes the contract store: a write to an app table sent to it is refused.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    Table,
    cast,
    column,
    event,
    false,
    null,
    select,
    values,
)
from sqlalchemy.engine import make_url
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, ColumnClause
from sqlalchemy.sql.schema import Column

from dashboard.errors import StoreError
from dashboard.storage.schema import CONTRACT, customers, dataset_info

APP_ENV_VAR = "DASHBOARD_APP_DB_URL"
#: Folder where app rows are written as Parquet for Spark to read (must be readable by the
#: Spark driver and executors: a local path in local mode, shared storage on a cluster).
EXCHANGE_ENV_VAR = "DASHBOARD_SPARK_EXCHANGE_DIR"
#: Backends whose URL is taken as a read-only warehouse (app tables elsewhere by default).
WAREHOUSE_BACKENDS = frozenset(
    {"hive", "databricks", "trino", "presto", "snowflake", "bigquery", "spark"}
)
#: How long a contract fingerprint of a warehouse is reused (seconds): the pages' refresh
#: interval, so new data still shows within it.
FINGERPRINT_SECONDS = 10.0
#: How long a warehouse's table listing is reused (seconds). Tables come and go far more
#: rarely than rows, and a listing costs a statement (0.2-1 s on Spark's Thrift server) that
#: a cold page would otherwise repeat once its set-up outlasts the fingerprint's 10 s.
TABLES_SECONDS = 60.0
#: Key in the app store's ``dataset_info`` of the contract fingerprint its customer copy has.
MIRROR_KEY = "customers_mirror"
_ATTRIBUTE = "dashboard_app_store"
_PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Stores:
    """The contract store and the app store (the same engine unless split)."""

    contract: Engine
    app: Engine

    @property
    def split(self) -> bool:
        return self.app is not self.contract


def is_warehouse(url: str) -> bool:
    """True for a URL of a read-only warehouse dialect (Spark/Hive, Trino, Snowflake, ...)."""
    return make_url(url).get_backend_name() in WAREHOUSE_BACKENDS


def default_app_url(contract_url: str) -> str:
    """The embedded app store of a read-only warehouse: ``data/app-<8 hex of the URL>.duckdb``
    (one file per warehouse, so fits of one are never shown for another)."""
    shown = make_url(contract_url).render_as_string(hide_password=True)
    digest = hashlib.sha1(shown.encode()).hexdigest()[:8]
    return f"duckdb:///{_PROJECT_ROOT / 'data' / f'app-{digest}.duckdb'}"


def resolve_app_url(contract_url: str, explicit: str | None = None) -> str | None:
    """The app store's URL, or None when it is the contract store itself.

    ``explicit`` (``--app-db``), else ``DASHBOARD_APP_DB_URL``, else :func:`default_app_url`
    for a warehouse, else None (the contract store is writable: one store, as before).
    """
    chosen = (explicit or os.environ.get(APP_ENV_VAR, "")).strip()
    if not chosen:
        return default_app_url(contract_url) if is_warehouse(contract_url) else None
    return None if chosen == contract_url else chosen


def stores_of(engine: Engine) -> Stores:
    return Stores(engine, app_engine(engine))


def app_engine(engine: Engine) -> Engine:
    """The engine of the app's own tables for ``engine`` (``engine`` itself unless split)."""
    return getattr(getattr(engine, "engine", engine), _ATTRIBUTE, None) or engine


def is_split(engine: Engine) -> bool:
    """True when ``engine`` (or a Connection's engine) has an app store apart."""
    return getattr(getattr(engine, "engine", engine), _ATTRIBUTE, None) is not None


def attach(contract: Engine, app: Engine) -> Engine:
    """Make ``app`` the app store of ``contract`` (and install the hand-over of app rows)."""
    setattr(contract, _ATTRIBUTE, app)
    contract._dashboard_cache = {}

    @event.listens_for(contract, "before_execute", retval=True)
    def _before(conn, clauseelement, multiparams, params, execution_options):
        tables = referenced_tables(clauseelement)
        app_tables = [t for t in tables if _is_app_table(t)]
        if app_tables:
            if isinstance(clauseelement, UpdateBase) or not hasattr(clauseelement, "subquery"):
                raise StoreError(
                    f"The app tried to write {', '.join(t.name for t in app_tables)} in the "
                    "read-only contract store; its own tables belong in the app store "
                    f"({APP_ENV_VAR}). This is a defect of the app: please report it."
                )
            conn.info["_dashboard_ctes"] = _handover_ctes(contract, clauseelement, app_tables)
        return clauseelement, multiparams, params

    @event.listens_for(contract, "before_cursor_execute", retval=True)
    def _prefix(conn, cursor, statement, parameters, context, executemany):
        if hasattr(cursor, "arraysize"):  # PyHive fetches 1,000 rows per round trip otherwise
            cursor.arraysize = 50_000
        ctes = conn.info.pop("_dashboard_ctes", None)
        if ctes:
            if parameters and conn.dialect.paramstyle in ("pyformat", "format"):
                ctes = ctes.replace("%", "%%")
            statement = _with_ctes(statement, ctes)
        return statement, parameters

    return contract


def _is_app_table(table: Table) -> bool:
    """An app table: one of the app's (unqualified) tables, not a contract one nor a catalogue
    table a dialect reflects with (``pg_catalog.pg_class``)."""
    return table.schema is None and table.name not in CONTRACT.tables


def referenced_tables(statement) -> list[Table]:
    """The tables a statement reads or writes (FROM lists, correlated columns, DML targets)."""
    found: dict[str, Table] = {}
    for element in visitors.iterate(statement):
        if isinstance(element, Table):
            found.setdefault(element.name, element)
        elif isinstance(element, ColumnClause) and isinstance(element.table, Table):
            found.setdefault(element.table.name, element.table)
    target = getattr(statement, "table", None)
    if isinstance(target, Table):
        found.setdefault(target.name, target)
    return list(found.values())


def reads_app_tables(statement) -> bool:
    return any(_is_app_table(t) for t in referenced_tables(statement))


def route(engine: Engine, statement) -> Engine:
    """The engine that runs ``statement`` (see the module docstring)."""
    if not is_split(engine):
        return engine
    tables = referenced_tables(statement)
    if not any(_is_app_table(t) for t in tables):
        return engine
    contract_names = {t.name for t in tables if not _is_app_table(t)}
    if contract_names <= {"customers"}:
        if contract_names:
            ensure_customer_mirror(engine)
        return app_engine(engine)
    return engine


def _run_ids(statement, table: Table) -> list | None:
    """The run ids a statement compares ``table.run_id`` with (None: not all known)."""
    if "run_id" not in table.c:
        return None
    ids: list = []
    seen = False
    for element in visitors.iterate(statement):
        if not isinstance(element, BinaryExpression):
            continue
        left, right = element.left, element.right
        if not (isinstance(left, Column) and left.table is table and left.name == "run_id"):
            continue
        seen = True
        if isinstance(right, BindParameter) and element.operator in (operators.eq, operators.in_op):
            value = right.effective_value
            ids += list(value) if isinstance(value, list | tuple) else [value]
        else:
            return None  # compared with a subquery: hand the whole table over
    return ids if seen else None


def _handover_ctes(contract: Engine, statement, tables: list[Table]) -> str:
    """``name AS (...)`` for each app table, holding the rows ``statement`` may read."""
    app = app_engine(contract)
    parts = []
    for table in tables:
        query = select(table)
        ids = _run_ids(statement, table)
        if ids is not None:
            query = query.where(table.c.run_id.in_(ids))
        with app.connect() as conn:
            result = conn.execute(query)
            frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
        parts.append(f"{_quote(contract, table.name)} AS ({_rows_sql(contract, table, frame)})")
    return ", ".join(parts)


def _quote(engine: Engine, name: str) -> str:
    return engine.dialect.identifier_preparer.quote(name)


def _rows_sql(contract: Engine, table: Table, frame: pd.DataFrame) -> str:
    columns = [column(c.name, c.type) for c in table.columns]
    if contract.url.get_backend_name() == "hive":
        path = _parquet_exchange(table, frame)
        names = ", ".join(_quote(contract, c.name) for c in table.columns)
        return f"SELECT {names} FROM parquet.`{path}`"
    if frame.empty:
        typed = [cast(null(), c.type).label(c.name) for c in table.columns]
        query = select(*typed).where(false())
    else:
        records = [
            tuple(None if pd.isna(v) else v for v in row)
            for row in frame[[c.name for c in table.columns]].itertuples(index=False)
        ]
        rows = values(*columns, name=f"{table.name}_rows", literal_binds=True).data(records)
        # Dates are written as text literals: typed here, so that the rows compare with the
        # contract tables' dates as the stored columns do (SQLite keeps dates as text anyway).
        typed = contract.url.get_backend_name() != "sqlite"
        query = select(
            *(
                cast(rows.c[c.name], c.type).label(c.name)
                if typed and isinstance(c.type, (Date, DateTime))
                else rows.c[c.name]
                for c in table.columns
            )
        )
    return str(query.compile(dialect=contract.dialect, compile_kwargs={"literal_binds": True}))


def _with_ctes(sql: str, ctes: str) -> str:
    match = re.match(r"\s*WITH\s", sql, flags=re.IGNORECASE)
    if match:
        return f"WITH {ctes}, {sql[match.end() :]}"
    return f"WITH {ctes} {sql}"


def _exchange_dir() -> Path:
    folder = Path(os.environ.get(EXCHANGE_ENV_VAR) or _PROJECT_ROOT / "data" / "spark-exchange")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _arrow_type(sql_type):
    import pyarrow as pa

    if isinstance(sql_type, Boolean):
        return pa.bool_()
    if isinstance(sql_type, Integer):
        return pa.int64()
    if isinstance(sql_type, Float):
        return pa.float64()
    if isinstance(sql_type, DateTime):
        return pa.timestamp("us")
    if isinstance(sql_type, Date):
        return pa.date32()
    return pa.string()


def write_parquet(frame: pd.DataFrame, table: Table, path: Path) -> None:
    """``frame`` as a Parquet file typed by ``table``'s columns (Spark reads the types)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dashboard.storage.engine import text_identifiers  # engine imports this module

    schema = pa.schema([(c.name, _arrow_type(c.type)) for c in table.columns if c.name in frame])
    # Identifiers are text in every store: integer ids of the demo become their digits.
    data = text_identifiers(table, frame)[[name for name in schema.names]].copy()
    for field in schema:
        if pa.types.is_date32(field.type):
            data[field.name] = pd.to_datetime(data[field.name]).dt.date
    pq.write_table(pa.Table.from_pandas(data, schema=schema, preserve_index=False), path)


def _parquet_exchange(table: Table, frame: pd.DataFrame) -> Path:
    """Write ``frame`` once per content; files older than an hour are removed."""
    digest = hashlib.sha1(pd.util.hash_pandas_object(frame, index=False).values.tobytes())
    folder = _exchange_dir()
    path = folder / f"{table.name}-{len(frame)}-{digest.hexdigest()[:12]}.parquet"
    if not path.exists():
        write_parquet(frame, table, path)
        for old in folder.glob("*.parquet"):
            if time.time() - old.stat().st_mtime > 3600:
                old.unlink(missing_ok=True)
    return path


def cached_fingerprint(engine: Engine) -> str:
    """The contract fingerprint, computed at most every :data:`FINGERPRINT_SECONDS`."""
    from dashboard.storage.engine import contract_fingerprint

    cache = getattr(engine, "_dashboard_cache", {})
    hit = cache.get("fingerprint")
    if hit and time.monotonic() - hit[1] < FINGERPRINT_SECONDS:
        return hit[0]
    fingerprint = contract_fingerprint(engine)
    cache["fingerprint"] = (fingerprint, time.monotonic())
    return fingerprint


def ensure_customer_mirror(engine: Engine, fingerprint: str | None = None) -> None:
    """Keep the app store's copy of ``customers`` in step with the contract (split only).

    One row per customer leaves the warehouse, when the contract fingerprint changed; the copy
    is replaced in one transaction of the app store with its fingerprint in ``dataset_info``.
    """
    if not is_split(engine):
        return
    from dashboard.storage.engine import bulk_insert, ensure_app_tables
    from dashboard.storage.markers import read_marker, write_marker
    from dashboard.storage.sql import read_frame

    cache = getattr(engine, "_dashboard_cache", {})
    if fingerprint is None:
        fingerprint = cached_fingerprint(engine)
    else:  # just computed (the data version): later statements of the page reuse it
        cache["fingerprint"] = (fingerprint, time.monotonic())
    app = app_engine(engine)
    if cache.get("mirror") == fingerprint:
        return
    if read_marker(app, MIRROR_KEY) != fingerprint:
        rows = read_frame(engine, select(customers))
        ensure_app_tables(app)
        customers.create(app, checkfirst=True)
        with app.begin() as conn:
            conn.execute(customers.delete())
            bulk_insert(conn, customers, rows)
            write_marker(conn, MIRROR_KEY, fingerprint)
    cache["mirror"] = fingerprint


__all__ = [
    "APP_ENV_VAR",
    "Stores",
    "app_engine",
    "attach",
    "dataset_info",
    "default_app_url",
    "ensure_customer_mirror",
    "is_split",
    "resolve_app_url",
    "route",
]


def store_summaries_apart(engine: Engine, start, end, version: str) -> str | None:
    """:func:`~dashboard.storage.customer_queries.store_summaries` for a split store: the
    per-customer aggregation runs in the contract store (one row per customer leaves it) and
    the rows are written to the app store with their period row, in one transaction there."""
    from datetime import datetime as _datetime

    from sqlalchemy.exc import SQLAlchemyError

    from dashboard.scope import Scope
    from dashboard.storage import customer_queries as cq
    from dashboard.storage.engine import bulk_insert
    from dashboard.storage.sql import read_frame

    app = app_engine(engine)
    key = (
        cq.customer_summary_periods.c.data_version == version,
        cq.customer_summary_periods.c.period_start == start,
        cq.customer_summary_periods.c.period_end == end,
    )
    try:
        if cq._period_stored(app, key):
            return version
        ensure_customer_mirror(engine)  # the stored rows are scoped against the copy
        cq.SUMMARY_STORE.create_all(app, checkfirst=True)
        frame = read_frame(engine, cq._summary_statement(Scope(start=start, end=end)))
        frame = frame.assign(data_version=version, period_start=start, period_end=end)
        with app.begin() as conn:
            cq._prune(conn, version)
            bulk_insert(conn, cq.customer_summaries, frame)
            conn.execute(
                cq.customer_summary_periods.insert().values(
                    data_version=version,
                    period_start=start,
                    period_end=end,
                    stored_at=_datetime.now(),
                    customers=len(frame),
                )
            )
    except SQLAlchemyError as exc:
        try:
            if cq._period_stored(app, key):
                return version
        except SQLAlchemyError:
            pass
        from dashboard.errors import first_line

        cq.log.warning("customer summaries not stored, aggregating instead: %s", first_line(exc))
        return None
    return version

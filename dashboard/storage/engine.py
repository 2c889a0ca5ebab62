"""Where the store is and how to talk to it: URL resolution, engine creation, bulk writes.

The URL resolves in one place, in this order:

1. the environment variable ``DASHBOARD_DB_URL``;
2. ``url`` under ``[connections.portfolio]`` in ``.streamlit/secrets.toml`` (Streamlit's
   ``st.connection`` convention; the project folder first, then ``~/.streamlit``);
3. the embedded default, a DuckDB file at ``data/portfolio.duckdb`` (see docs/store.md for
   why DuckDB).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import (
    Connection,
    Engine,
    String,
    Table,
    bindparam,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from dashboard.errors import StoreError, first_line
from dashboard.storage.embedded import StoreBusy, gate_for, waiting_at_most
from dashboard.storage.schema import (
    APP,
    CONTRACT,
    CONTRACT_TABLES,
    LOAD_ORDER,
    OPTIONAL_TABLES,
    dataset_info,
)

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DB_PATH = PROJECT_ROOT / "data" / "portfolio.duckdb"
DEFAULT_DB_URL = f"duckdb:///{DEFAULT_DB_PATH}"
ENV_VAR = "DASHBOARD_DB_URL"
SECRETS_CONNECTION = "portfolio"


#: Progress callback of long writes (demo build, fit, segmentation): (fraction 0-1, message).
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class StoreLocation:
    """A resolved database URL and where the setting came from."""

    url: str
    source: str  # "environment", "secrets", "default" or "argument"

    @property
    def is_default(self) -> bool:
        return self.source == "default"

    @property
    def short_name(self) -> str:
        """A few words naming the store, e.g. "DuckDB portfolio.duckdb" or "PostgreSQL test"."""
        try:
            parsed = make_url(self.url)
        except ArgumentError:
            return "unknown store"
        backend = {"duckdb": "DuckDB", "postgresql": "PostgreSQL", "sqlite": "SQLite"}.get(
            parsed.get_backend_name(), parsed.get_backend_name()
        )
        return f"{backend} {Path(parsed.database or '').name or parsed.host or ''}".strip()

    @property
    def display_url(self) -> str:
        """The URL with any password hidden, safe to show on a page or in a log."""
        try:
            return make_url(self.url).render_as_string(hide_password=True)
        except ArgumentError:
            return self.url


def _secrets_url(search_dirs: list[Path]) -> str | None:
    for folder in search_dirs:
        path = folder / ".streamlit" / "secrets.toml"
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise StoreError(f"{path} is not valid TOML: {exc}. Fix or remove the file.") from exc
        url = data.get("connections", {}).get(SECRETS_CONNECTION, {}).get("url")
        if url:
            return str(url)
    return None


def resolve_url(explicit: str | None = None) -> StoreLocation:
    """Resolve the database URL: argument, environment, secrets.toml, embedded default."""
    if explicit:
        return StoreLocation(explicit, "argument")
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return StoreLocation(env, "environment")
    secret = _secrets_url([Path.cwd(), PROJECT_ROOT, Path.home()])
    if secret:
        return StoreLocation(secret, "secrets")
    return StoreLocation(DEFAULT_DB_URL, "default")


__all__ = ["StoreBusy", "StoreError", "waiting_at_most"]  # re-exported for every caller

#: Connections a server store's pool keeps open per process, and how many more it may open
#: at busy times; a session beyond that waits up to POOL_TIMEOUT_SECONDS for one.
POOL_SIZE = 5
POOL_MAX_OVERFLOW = 10
POOL_TIMEOUT_SECONDS = 30

#: Settings each PostgreSQL session of the app starts with (``SET`` on connect), unless the URL's
#: ``options`` names the same setting. JIT compilation costs 0.3-0.5 s per analytical query at
#: the planner's (over-)estimates of these joins and saved nothing measurable in return
#: (docs/performance.md, "PostgreSQL: JIT off").
PG_SESSION_SETTINGS = {"jit": "off", "work_mem": "'32MB'"}


def _log_wait(message: str) -> None:
    log.warning("%s", message)


def make_engine(
    url: str,
    on_lock_wait: Callable[[str], None] | None = None,
    app_url: str | None = None,
) -> Engine:
    """Create an engine for ``url`` with a message a user can act on when the URL is wrong.

    The app's own tables go to the app store of :func:`dashboard.storage.stores.resolve_app_url`
    (``app_url``, ``DASHBOARD_APP_DB_URL``, an embedded file for a read-only warehouse);
    when it is another store, it is attached to the returned engine (``stores.app_engine``).

    A DuckDB file gets no connection pool and waits for another process that holds the file
    (:mod:`dashboard.storage.embedded`); ``on_lock_wait`` is told once per wait (default: a log
    warning). Server stores get a bounded pool: at most ``POOL_SIZE + POOL_MAX_OVERFLOW``
    connections per process.
    """
    from dashboard.storage import stores

    engine = _make_engine(url, on_lock_wait)
    engine._dashboard_cache = {}  # per-engine reuse of a warehouse's table list and fingerprint
    resolved_app = stores.resolve_app_url(url, app_url)
    if resolved_app is not None:
        stores.attach(engine, _make_engine(resolved_app, on_lock_wait))
    return engine


def _make_engine(url: str, on_lock_wait: Callable[[str], None] | None = None) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(
            f"'{url}' is not a database URL. Use a SQLAlchemy URL such as "
            "duckdb:///data/portfolio.duckdb or postgresql+psycopg://user@host/db."
        ) from exc
    if parsed.get_backend_name() == "duckdb" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # psycopg (v3) is the driver we ship; plain postgresql:// would look for psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        if embedded_file(parsed) is not None:
            engine = create_engine(parsed, poolclass=NullPool)
            _install_file_gate(engine, embedded_file(parsed), on_lock_wait or _log_wait)
            return engine
        if parsed.get_backend_name() in ("duckdb", "sqlite"):
            return create_engine(parsed, pool_pre_ping=True)
        engine = create_engine(
            parsed,
            pool_pre_ping=True,
            pool_size=POOL_SIZE,
            max_overflow=POOL_MAX_OVERFLOW,
            pool_timeout=POOL_TIMEOUT_SECONDS,
        )
        if parsed.get_backend_name() == "postgresql":
            _install_session_settings(engine, parsed)
        return engine
    except (NoSuchModuleError, ModuleNotFoundError, ImportError) as exc:
        raise StoreError(
            f"No database driver for '{parsed.drivername}': {exc}. Install it with pip "
            "(DuckDB and PostgreSQL drivers ship with the app)."
        ) from exc


def _install_session_settings(engine: Engine, url: URL) -> None:
    """``SET`` :data:`PG_SESSION_SETTINGS` on every new connection, except those the URL sets."""
    options = str(url.query.get("options", ""))
    settings = {
        name: value for name, value in PG_SESSION_SETTINGS.items() if f"{name}=" not in options
    }
    if not settings:
        return

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, connection_record):
        with dbapi_connection.cursor() as cursor:
            for name, value in settings.items():
                # Names and values are this module's constants, never user input.
                cursor.execute(f"SET {name} = {value}")
        dbapi_connection.commit()


def embedded_file(url: str | URL) -> Path | None:
    """The database file of a DuckDB URL (None for other stores and in-memory DuckDB)."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() != "duckdb" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _install_file_gate(engine: Engine, path: Path, on_wait: Callable[[str], None]) -> None:
    """Open the file only while a connection is in use, waiting for other processes."""
    gate = gate_for(path)

    @event.listens_for(engine, "do_connect")
    def _connect(dialect, connection_record, cargs, cparams):
        def open_connection():
            return dialect.connect(*cargs, **cparams)

        connection = gate.connect(open_connection, on_wait)
        gate.opened()
        try:
            gate.anchor_if_needed(lambda: gate.connect(open_connection, on_wait))
        except BaseException:
            connection.close()
            gate.closed()
            raise
        return connection

    @event.listens_for(engine, "close")
    def _closed(dbapi_connection, connection_record):
        gate.closed()

    @event.listens_for(engine, "close_detached")
    def _closed_detached(dbapi_connection):
        gate.closed()


@contextlib.contextmanager
def store_session(engine: Engine) -> Iterator[None]:
    """Hold the embedded file open for this thread while the block runs (no-op elsewhere).

    A unit of work that connects several times (a page's view, a page's set-up) pays the file's
    opening once instead of per connection; outside such a block the file is closed as soon as
    the last connection is.
    """
    from dashboard.storage import stores

    with contextlib.ExitStack() as stack:
        for store in {id(e): e for e in (engine, stores.app_engine(engine))}.values():
            path = embedded_file(store.url)  # the app store's file too, when it is apart
            if path is not None:
                stack.enter_context(gate_for(path).session())
        yield


def existing_tables(engine: Engine) -> set[str]:
    """Names of the tables and views in the store's default schema.

    With a separate app store (``stores.app_engine``), the contract store's tables and the app
    store's. Spark (``hive://``) is asked with ``SHOW TABLES`` (PyHive's inspector misreads
    its answer), the listing reused for ``stores.TABLES_SECONDS``.
    """
    from dashboard.storage import stores

    bind = engine.engine if isinstance(engine, Connection) else engine  # a Connection too
    if bind.url.get_backend_name() == "hive":
        cache = getattr(bind, "_dashboard_cache", None)
        hit = cache.get("tables") if cache is not None else None
        if hit and time.monotonic() - hit[1] < stores.TABLES_SECONDS:
            names = set(hit[0])
        else:
            with engine.connect() as conn:
                rows = conn.exec_driver_sql("SHOW TABLES").fetchall()
            names = {str(row[1]) for row in rows if not (len(row) > 2 and row[2])}
            if cache is not None:
                cache["tables"] = (frozenset(names), time.monotonic())
    else:
        inspector = inspect(engine)
        names = set(inspector.get_table_names()) | set(inspector.get_view_names())
    if stores.is_split(bind):
        app_names = existing_tables(stores.app_engine(bind))
        names = {n for n in names if n in CONTRACT_TABLES} | app_names
    return names


def has_tables(engine: Engine, *tables: Table) -> bool:
    """True when every one of ``tables`` exists in the store (e.g. before reading a model run).

    With a separate app store, the app's tables are looked for there (``existing_tables``)."""
    present = existing_tables(engine)
    return all(table.name in present for table in tables)


def drop_every_table(engine: Engine) -> None:
    """Drop every table and view of the store's default schema, in one transaction (used only
    to rebuild the app's own demo store when its layout is out of date)."""
    inspector = inspect(engine)
    views, tables = inspector.get_view_names(), inspector.get_table_names()
    quote = engine.dialect.identifier_preparer.quote
    with engine.begin() as conn:
        for name in views:
            conn.execute(text(f"DROP VIEW IF EXISTS {quote(name)}"))
        for name in tables:
            conn.execute(text(f"DROP TABLE IF EXISTS {quote(name)} CASCADE"))


def create_schema(engine: Engine) -> None:
    """Create the contract and app tables that do not exist yet (never drops anything).

    The app tables go to the app store (``stores.app_engine``); Spark's contract tables are
    created by the Parquet load (``dashboard.storage.spark``), not here.
    """
    from dashboard.storage import stores

    bind = engine.engine if isinstance(engine, Connection) else engine  # a Connection too
    if bind.url.get_backend_name() != "hive":
        CONTRACT.create_all(engine, checkfirst=True)
    APP.create_all(stores.app_engine(bind) if stores.is_split(bind) else engine, checkfirst=True)


def ensure_app_tables(engine: Engine) -> None:
    """Create only the app's own tables (for a warehouse whose contract tables are views)."""
    from dashboard.storage import stores

    bind = engine.engine if isinstance(engine, Connection) else engine  # a Connection too
    APP.create_all(stores.app_engine(bind) if stores.is_split(bind) else engine, checkfirst=True)


def bump_data_version(engine: Engine) -> str:
    """Record that the data changed, so caches keyed by the version are invalidated."""
    from dashboard.storage import stores

    engine = stores.app_engine(engine)
    now = datetime.now()
    version = now.strftime("%Y%m%dT%H%M%S.%f")
    with engine.begin() as conn:
        conn.execute(dataset_info.delete().where(dataset_info.c.key == "version"))
        conn.execute(dataset_info.insert().values(key="version", value=version, updated_at=now))
    return version


#: Date column whose latest value joins each table's row count in the fingerprint.
_FINGERPRINT_DATES = {"orders": "ordered_at", "service_contacts": "opened_at"}


def contract_fingerprint(engine: Engine, present: set[str] | None = None) -> str:
    """A short string that changes when a program outside the app changes the contract tables.

    The app bumps the stored data version on its own writes; an ETL into the same database
    does not. PostgreSQL: the server's own counters of inserted, updated and deleted rows and
    the size of each table (``pg_stat_user_tables``, ``pg_relation_size``: catalogue reads, no
    table scan; the counters reach the view within about 10 s of a commit, the size at once,
    also on a read replica), row counts for contract tables that are views. Other stores: each
    table's row count and the latest order and contact dates (DuckDB answers a count from its
    metadata). Tables the store lacks are left out; ``present`` (the store's tables) saves
    looking them up again.
    """
    present = existing_tables(engine) if present is None else present
    names = [name for name in LOAD_ORDER if name in present]
    parts: list[str] = []
    if engine.url.get_backend_name() == "hive" and names:
        return _one_statement_fingerprint(engine, names)
    with engine.connect() as conn:
        counted = names
        if engine.url.get_backend_name() == "postgresql" and names:
            rows = conn.execute(
                text(
                    "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del, pg_relation_size(relid) "
                    "FROM pg_stat_user_tables "
                    "WHERE schemaname = current_schema() AND relname IN :names "
                    "ORDER BY relname"
                ).bindparams(bindparam("names", expanding=True)),
                {"names": names},
            ).all()
            parts += [":".join(str(value) for value in row) for row in rows]
            tracked = {row[0] for row in rows}
            counted = [name for name in names if name not in tracked]
        for name in counted:
            table = CONTRACT_TABLES[name]
            columns = [func.count()]
            if name in _FINGERPRINT_DATES:
                columns.append(func.max(table.c[_FINGERPRINT_DATES[name]]))
            values = conn.execute(select(*columns).select_from(table)).one()
            parts.append(f"{name}:" + ":".join(str(value) for value in values))
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]


def _one_statement_fingerprint(engine: Engine, names: list[str]) -> str:
    """Counts and latest dates of every table in ONE statement (a warehouse statement costs
    about a second whatever it does)."""
    columns = []
    for name in names:
        table = CONTRACT_TABLES[name]
        columns.append(select(func.count()).select_from(table).scalar_subquery().label(name))
        if name in _FINGERPRINT_DATES:
            latest = func.max(table.c[_FINGERPRINT_DATES[name]])
            columns.append(select(latest).scalar_subquery().label(f"{name}_latest"))
    with engine.connect() as conn:
        values = conn.execute(select(*columns)).one()
    parts = [f"{label}:{value}" for label, value in zip(values._fields, values, strict=True)]
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]


def read_data_version(engine: Engine, present: set[str] | None = None) -> str | None:
    """The stored dataset version, or None when the store has no version table."""
    from dashboard.storage import stores

    if "dataset_info" not in (existing_tables(engine) if present is None else present):
        return None
    engine = stores.app_engine(engine)
    with engine.connect() as conn:
        return conn.execute(
            select(dataset_info.c.value).where(dataset_info.c.key == "version")
        ).scalar_one_or_none()


def text_identifiers(table: Table, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with numbers in ``table``'s text columns written as their digits.

    Identifiers are text in every store (docs/decisions.md, "Identifiers are text"); the demo
    and model fits produce integer ids, which are stored as ``str(int)`` (``42`` -> ``"42"``,
    never ``"42.0"``), nulls staying null. Other columns and text values are left as they are.
    """
    converted = {}
    for column in table.columns:
        if column.name not in frame.columns or not isinstance(column.type, String):
            continue
        values = frame[column.name]
        if not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(
            values.dtype
        ):
            continue
        missing = values.isna()
        digits = values.fillna(0).astype("int64").astype(str).astype(object)
        converted[column.name] = digits.where(~missing, None)
    return frame.assign(**converted) if converted else frame


def bulk_insert(engine_or_conn, table: Table, frame: pd.DataFrame) -> int:
    """Append ``frame`` (columns named as in ``table``) to ``table`` as fast as the backend allows.

    DuckDB reads the DataFrame directly, PostgreSQL gets a COPY, others an executemany.
    Accepts an Engine (own transaction) or a Connection (caller's transaction).
    """
    if frame.empty:
        return 0
    frame = text_identifiers(
        table, frame[[c.name for c in table.columns if c.name in frame.columns]]
    )
    if isinstance(engine_or_conn, Engine):
        with engine_or_conn.begin() as conn:
            return bulk_insert(conn, table, frame)
    conn = engine_or_conn
    backend = conn.engine.url.get_backend_name()
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    if backend == "duckdb":
        raw = conn.connection.driver_connection
        view = f"_bulk_{table.name}"
        raw.register(view, frame)
        try:
            raw.execute(f'INSERT INTO "{table.name}" ({columns}) SELECT {columns} FROM {view}')
        finally:
            raw.unregister(view)
        return len(frame)
    if backend == "postgresql":
        raw = conn.connection.driver_connection
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, header=False, na_rep="\\N")
        buffer.seek(0)
        with raw.cursor() as cur:
            with cur.copy(
                f"COPY \"{table.name}\" ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
            ) as copy:
                while chunk := buffer.read(1 << 20):
                    copy.write(chunk)
        return len(frame)
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for start in range(0, len(records), 50_000):
        conn.execute(table.insert(), records[start : start + 50_000])
    return len(frame)


def refresh_statistics(
    engine_or_conn: Engine | Connection, tables: Iterable[Table | str]
) -> list[str]:
    """Update the planner statistics of ``tables`` after a bulk write; return those analysed.

    PostgreSQL plans from the statistics that ANALYZE gathers. Right after a bulk load they
    are missing (autovacuum may be off or not have run yet), the planner then guesses a few
    rows per table and picks nested loops: the Segments page took 40 s instead of 1.3 s on a
    freshly built 100k-customer store (docs/performance.md). So every bulk write (demo build,
    import, lifetime-value fit, segmentation) ends with this call.

    Runs ``ANALYZE <table>`` for each table, each in its own autocommitted statement, after the
    write's commit. With a Connection, its engine is used: a failed ANALYZE never aborts the
    caller's transaction. A failure (a user without the right, a table that is a view in a
    warehouse) is logged as a warning and the next table is analysed: statistics only make
    reads faster, they must never fail a write. Other backends: nothing to do (DuckDB keeps
    its statistics as it writes), an empty list is returned.
    """
    engine = engine_or_conn if isinstance(engine_or_conn, Engine) else engine_or_conn.engine
    if engine.url.get_backend_name() != "postgresql":
        return []
    preparer = engine.dialect.identifier_preparer
    targets: dict[str, str] = {}  # table name -> quoted (schema-qualified when the Table is)
    for table in tables:
        if isinstance(table, Table):
            targets.setdefault(table.name, preparer.format_table(table))
        else:
            targets.setdefault(table, preparer.quote(table))
    analysed: list[str] = []
    for name, quoted in targets.items():
        statement = f"ANALYZE {quoted}"
        started = time.perf_counter()
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql(statement)
        except SQLAlchemyError as exc:
            log.warning(
                "%s failed, so queries on %s may be slow until the server analyses it: %s",
                statement,
                name,
                first_line(exc),
            )
            continue
        analysed.append(name)
        log.info("%s took %.2f s", statement, time.perf_counter() - started)
    return analysed


def contract_row_counts(engine_or_conn: Engine | Connection) -> dict[str, int]:
    """Rows in each contract table (tables must exist), in load order.

    An optional table (``schema.OPTIONAL_TABLES``) the store lacks counts 0 rows."""
    if isinstance(engine_or_conn, Engine):
        with engine_or_conn.connect() as conn:
            return contract_row_counts(conn)
    absent = _absent_optional_tables(engine_or_conn)
    return {
        name: 0
        if name in absent
        else int(
            engine_or_conn.execute(
                select(func.count()).select_from(CONTRACT_TABLES[name])
            ).scalar_one()
        )
        for name in LOAD_ORDER
    }


def _absent_optional_tables(conn: Connection) -> set[str]:
    """Optional contract tables this store lacks (a store built before they existed)."""
    inspector = inspect(conn)
    present = set(inspector.get_table_names()) | set(inspector.get_view_names())
    return {name for name in OPTIONAL_TABLES if name not in present}


def clear_all_rows(conn: Connection) -> None:
    """Delete every row of the contract and app tables (the tables stay).

    With a separate app store, its rows are deleted in a transaction of its own, first."""
    from dashboard.storage import stores

    if stores.is_split(conn.engine):
        with stores.app_engine(conn.engine).begin() as app_conn:
            for table in reversed(APP.sorted_tables):
                app_conn.execute(table.delete())
    else:
        # App tables first (they may refer to customers), then the contract in reverse order.
        for table in reversed(APP.sorted_tables):
            conn.execute(table.delete())
    absent = _absent_optional_tables(conn)
    for name in reversed(LOAD_ORDER):
        if name not in absent:
            conn.execute(CONTRACT_TABLES[name].delete())


def clear_app_rows(conn: Connection) -> None:
    """Delete every row of the app tables, in the app store (the contract is not touched)."""
    from dashboard.storage import stores

    with stores.app_engine(conn.engine).begin() as app_conn:
        for table in reversed(APP.sorted_tables):
            app_conn.execute(table.delete())

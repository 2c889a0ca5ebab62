"""Where the store is and how to talk to it: URL resolution, engine creation, bulk writes.

The URL resolves in one place, in this order:

1. the environment variable ``DASHBOARD_DB_URL``;
2. ``url`` under ``[connections.portfolio]`` in ``.streamlit/secrets.toml`` (Streamlit's
   ``st.connection`` convention; the project folder first, then ``~/.streamlit``);
3. the embedded default, a DuckDB file at ``data/portfolio.duckdb`` (see docs/store.md for
   why DuckDB).
"""

from __future__ import annotations

import io
import logging
import os
import time
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, Engine, Table, create_engine, func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from dashboard.errors import first_line
from dashboard.storage.schema import APP, CONTRACT, CONTRACT_TABLES, LOAD_ORDER, dataset_info

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DB_PATH = PROJECT_ROOT / "data" / "portfolio.duckdb"
DEFAULT_DB_URL = f"duckdb:///{DEFAULT_DB_PATH}"
ENV_VAR = "DASHBOARD_DB_URL"
SECRETS_CONNECTION = "portfolio"


#: Progress callback of long writes (demo build, fit, segmentation): (fraction 0-1, message).
Progress = Callable[[float, str], None]


class StoreError(RuntimeError):
    """The store cannot be used; the message says what is wrong and how to fix it."""


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


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` with a message a user can act on when the URL is wrong."""
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
        return create_engine(parsed, pool_pre_ping=True)
    except (NoSuchModuleError, ModuleNotFoundError, ImportError) as exc:
        raise StoreError(
            f"No database driver for '{parsed.drivername}': {exc}. Install it with pip "
            "(DuckDB and PostgreSQL drivers ship with the app)."
        ) from exc


def existing_tables(engine: Engine) -> set[str]:
    """Names of the tables and views in the store's default schema."""
    inspector = inspect(engine)
    return set(inspector.get_table_names()) | set(inspector.get_view_names())


def has_tables(engine: Engine, *tables: Table) -> bool:
    """True when every one of ``tables`` exists in the store (e.g. before reading a model run)."""
    present = existing_tables(engine)
    return all(table.name in present for table in tables)


def create_schema(engine: Engine) -> None:
    """Create the contract and app tables that do not exist yet (never drops anything)."""
    CONTRACT.create_all(engine, checkfirst=True)
    APP.create_all(engine, checkfirst=True)


def ensure_app_tables(engine: Engine) -> None:
    """Create only the app's own tables (for a warehouse whose contract tables are views)."""
    APP.create_all(engine, checkfirst=True)


def bump_data_version(engine: Engine) -> str:
    """Record that the data changed, so caches keyed by the version are invalidated."""
    now = datetime.now()
    version = now.strftime("%Y%m%dT%H%M%S.%f")
    with engine.begin() as conn:
        conn.execute(dataset_info.delete().where(dataset_info.c.key == "version"))
        conn.execute(dataset_info.insert().values(key="version", value=version, updated_at=now))
    return version


def read_data_version(engine: Engine) -> str | None:
    """The stored dataset version, or None when the store has no version table."""
    if "dataset_info" not in existing_tables(engine):
        return None
    with engine.connect() as conn:
        return conn.execute(
            select(dataset_info.c.value).where(dataset_info.c.key == "version")
        ).scalar_one_or_none()


def bulk_insert(engine_or_conn, table: Table, frame: pd.DataFrame) -> int:
    """Append ``frame`` (columns named as in ``table``) to ``table`` as fast as the backend allows.

    DuckDB reads the DataFrame directly, PostgreSQL gets a COPY, others an executemany.
    Accepts an Engine (own transaction) or a Connection (caller's transaction).
    """
    if frame.empty:
        return 0
    frame = frame[[c.name for c in table.columns if c.name in frame.columns]]
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


def clear_all_rows(conn: Connection) -> None:
    """Delete every row of the contract and app tables (the tables stay)."""
    # App tables first (they may refer to customers), then the contract in reverse load order.
    for table in reversed(APP.sorted_tables):
        conn.execute(table.delete())
    for name in reversed(LOAD_ORDER):
        conn.execute(CONTRACT_TABLES[name].delete())

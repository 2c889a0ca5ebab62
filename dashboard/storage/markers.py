"""Small facts the app records about its store, one row each in ``dataset_info`` (key, value).

The data version lives there too (``engine.bump_data_version``); this module reads and writes
the other keys, such as the demo build's completeness marker (``services.demo``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, select

from dashboard.storage.engine import existing_tables
from dashboard.storage.schema import dataset_info
from dashboard.storage.stores import app_engine


def read_marker(engine: Engine, key: str) -> str | None:
    """The value stored under ``key``, or None (no such row, or no ``dataset_info`` table)."""
    engine = app_engine(engine)
    if "dataset_info" not in existing_tables(engine):
        return None
    with engine.connect() as conn:
        return conn.execute(
            select(dataset_info.c.value).where(dataset_info.c.key == key)
        ).scalar_one_or_none()


def write_marker(engine_or_conn: Engine | Connection, key: str, value: str) -> None:
    """Store ``value`` under ``key`` (replacing it); with a Connection, in its transaction."""
    if isinstance(engine_or_conn, Engine):
        with app_engine(engine_or_conn).begin() as conn:
            write_marker(conn, key, value)
        return
    engine_or_conn.execute(dataset_info.delete().where(dataset_info.c.key == key))
    engine_or_conn.execute(
        dataset_info.insert().values(key=key, value=value, updated_at=datetime.now())
    )

"""Facts stored once per data version: complete or absent, pruned, analysed, also apart.

The pattern of ``customer_summaries`` (:mod:`dashboard.storage.customer_queries`) for other
per-customer facts whose aggregation over every row of a contract table is too slow to run on
each page view at a million customers (docs/performance.md, "PostgreSQL at a million
customers"). A :class:`FactStore` names

- one or more *row tables*, each keyed by ``data_version``, the store's key columns (e.g.
  ``as_of``) and its own columns;
- a *marker table* with one row per stored key, written in the transaction of the rows: a key
  listed there is complete, one not listed has no rows that are read.

:func:`store` makes sure the rows of a key are there for the current data version
(:func:`dashboard.storage.queries.data_version`), computing them with one ``INSERT ...
SELECT`` per row table in the database, or, with the app store apart
(:mod:`dashboard.storage.stores`), reading them from the contract store and writing them to the
app store in one transaction there. It deletes other data versions' rows and this version's
oldest keys beyond ``keep``, analyses the tables on PostgreSQL, and returns the version, or
None when the store cannot hold them (a read-only store): the caller then aggregates as before.
Readers filter the row tables by version and key and apply ``customer_scope`` to their
``customer_id``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    MetaData,
    Select,
    String,
    Table,
    func,
    literal,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

from dashboard.errors import first_line
from dashboard.storage.engine import bulk_insert, has_tables, refresh_statistics
from dashboard.storage.stores import app_engine, ensure_customer_mirror, is_split

log = logging.getLogger(__name__)

#: The stored facts' tables (not part of the contract doc; created on the first fill).
FACT_STORE = MetaData()


def version_column() -> Column:
    """The ``data_version`` key column every stored table starts with (a new Column each)."""
    return Column("data_version", String(200), primary_key=True)


@dataclass(frozen=True)
class FactStore:
    """Row tables and their marker, keyed by data version and ``keys``."""

    name: str
    marker: Table
    tables: tuple[Table, ...]
    keys: tuple[str, ...]
    keep: int = 8

    def key_condition(self, table: Table, version: str, key: Mapping[str, Any]) -> list:
        return [table.c.data_version == version] + [table.c[k] == key[k] for k in self.keys]


def marker_table(name: str, *keys: Column) -> Table:
    """The marker of a :class:`FactStore`: one row per stored (data version, key)."""
    return Table(
        name,
        FACT_STORE,
        version_column(),
        *keys,
        Column("stored_at", DateTime, nullable=False),
        Column("rows", BigInteger, nullable=False),
    )


def store(
    facts: FactStore,
    engine: Engine,
    key: Mapping[str, Any],
    statements: Callable[[], Mapping[Table, Select]],
) -> str | None:
    """Make sure the rows of ``key`` are stored for the current data version; return it.

    ``statements()`` gives, per row table, a SELECT of its columns other than
    ``data_version`` and the key columns, over every customer (no scope). Returns None when
    the rows cannot be stored (the caller aggregates instead).
    """
    from dashboard.storage.queries import data_version  # queries imports this module's users

    version = data_version(engine)
    target = app_engine(engine)
    try:
        if _stored(facts, target, version, key):
            return version
        if is_split(engine):
            ensure_customer_mirror(engine)  # readers scope the stored rows against the copy
        FACT_STORE.create_all(target, checkfirst=True, tables=[facts.marker, *facts.tables])
        with target.begin() as conn:
            _prune(facts, conn, version)
            rows = 0
            for table, statement in statements().items():
                rows += _fill(engine, conn, table, statement, version, key, facts.keys)
            conn.execute(
                facts.marker.insert().values(
                    data_version=version, stored_at=datetime.now(), rows=rows, **key
                )
            )
    except SQLAlchemyError as exc:
        try:
            if _stored(facts, target, version, key):  # another process stored it meanwhile
                return version
        except SQLAlchemyError:
            pass
        log.warning("%s not stored, aggregating instead: %s", facts.name, first_line(exc))
        return None
    refresh_statistics(target, [facts.marker, *facts.tables])
    return version


def _fill(engine, conn, table, statement, version, key, keys) -> int:
    """Write ``statement``'s rows under (version, key): in the database, or fetched from the
    contract store and bulk-inserted when the app store is apart."""
    constants = [literal(version, String(200)).label("data_version")] + [
        literal(key[k], table.c[k].type).label(k) for k in keys
    ]
    if is_split(engine):
        from dashboard.storage.sql import read_frame

        frame = read_frame(engine, statement)
        frame = frame.assign(data_version=version, **{k: key[k] for k in keys})
        return bulk_insert(conn, table, frame)
    names = [c.name for c in statement.selected_columns]
    inner = statement.subquery()
    rows = select(*constants, *(inner.c[n] for n in names))
    result = conn.execute(table.insert().from_select(["data_version", *keys, *names], rows))
    return max(int(result.rowcount or 0), 0)


def _stored(facts: FactStore, target: Engine, version: str, key: Mapping[str, Any]) -> bool:
    if not has_tables(target, facts.marker, *facts.tables):
        return False
    with target.connect() as conn:
        found = conn.execute(
            select(func.count())
            .select_from(facts.marker)
            .where(*facts.key_condition(facts.marker, version, key))
        ).scalar_one()
    return bool(found)


def _prune(facts: FactStore, conn, version: str) -> None:
    """Delete other data versions' rows and this version's oldest keys beyond ``keep - 1``
    (a new one is about to be stored)."""
    marker = facts.marker
    for table in (*facts.tables, marker):
        conn.execute(table.delete().where(table.c.data_version != version))
    kept = conn.execute(
        select(*(marker.c[k] for k in facts.keys))
        .where(marker.c.data_version == version)
        .order_by(marker.c.stored_at.desc())
    ).all()
    for old in kept[facts.keep - 1 :]:
        old_key = dict(zip(facts.keys, old, strict=True))
        for table in (*facts.tables, marker):
            conn.execute(table.delete().where(*facts.key_condition(table, version, old_key)))

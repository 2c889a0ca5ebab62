"""Which contract tables hold rows, and what each holds: cheap reads for the Data page and for
the pages' "what is missing" notices.

``tables_with_rows`` asks, in one statement, for at most one row of each table;
``table_stats`` counts rows and reads the date range of each table's date column. Both are
cached by data version in the app (``dashboard.app.context``). The time of each table's last
load is kept in ``dataset_info`` under ``loaded:<table>`` by the importer (``mark_loaded``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, Engine, func, literal, select

from dashboard.storage.engine import existing_tables
from dashboard.storage.schema import CONTRACT_TABLES, LOAD_ORDER, dataset_info

#: The date column that dates each table's rows.
DATE_COLUMNS = {
    "customers": "acquired_at",
    "orders": "ordered_at",
    "service_contacts": "opened_at",
    "surveys": "answered_at",
    "referrals": "referred_at",
    "value_ratings": "rated_at",
    "opportunities": "opened_at",
    "subscriptions": "started_at",
}

_LOADED = "loaded:"


@dataclass(frozen=True)
class TableStats:
    """One contract table as the store holds it (``present`` False: no such table or view)."""

    table: str
    present: bool
    rows: int
    first: date | None
    last: date | None
    loaded_at: datetime | None


def tables_with_rows(engine: Engine) -> frozenset[str]:
    """Names of the contract tables that exist and hold at least one row.

    One statement for all tables (a warehouse statement costs about a second whatever it
    reads): per table a scalar subquery counting at most one row (Spark allows no ``EXISTS``
    in a select list).
    """
    present = existing_tables(engine)
    names = [name for name in LOAD_ORDER if name in present]
    if not names:
        return frozenset()
    columns = [
        select(func.count())
        .select_from(select(literal(1)).select_from(CONTRACT_TABLES[name]).limit(1).subquery())
        .scalar_subquery()
        .label(name)
        for name in names
    ]
    with engine.connect() as conn:
        row = conn.execute(select(*columns)).one()
    return frozenset(name for name, value in zip(names, row, strict=True) if value)


def _loaded_times(conn: Connection, present: set[str]) -> dict[str, datetime]:
    if "dataset_info" not in present:
        return {}
    rows = conn.execute(
        select(dataset_info.c.key, dataset_info.c.updated_at).where(
            dataset_info.c.key.like(f"{_LOADED}%")
        )
    ).all()
    times = {key[len(_LOADED) :]: at for key, at in rows}
    version = conn.execute(
        select(dataset_info.c.updated_at).where(dataset_info.c.key == "version")
    ).scalar_one_or_none()
    if version is not None:
        times.setdefault("*", version)
    return times


def table_stats(engine: Engine) -> list[TableStats]:
    """Rows, date range and last load of every contract table, in load order."""
    present = existing_tables(engine)
    out: list[TableStats] = []
    with engine.connect() as conn:
        loaded = _loaded_times(conn, present)
        for name in LOAD_ORDER:
            if name not in present:
                out.append(TableStats(name, False, 0, None, None, None))
                continue
            table = CONTRACT_TABLES[name]
            column = table.c[DATE_COLUMNS[name]] if name in DATE_COLUMNS else None
            dates = [func.min(column), func.max(column)] if column is not None else []
            row = conn.execute(select(func.count(), *dates).select_from(table)).one()
            rows, first, last = (*row, None, None)[:3]
            out.append(
                TableStats(
                    name,
                    True,
                    int(rows),
                    first,
                    last,
                    loaded.get(name, loaded.get("*")) if rows else None,
                )
            )
    return out


def mark_loaded(conn: Connection, tables: list[str], at: datetime) -> None:
    """Record ``at`` as the time of the last load of each of ``tables`` (in ``conn``'s
    transaction)."""
    keys = [f"{_LOADED}{name}" for name in tables]
    conn.execute(dataset_info.delete().where(dataset_info.c.key.in_(keys)))
    conn.execute(
        dataset_info.insert(),
        [{"key": key, "value": at.isoformat(), "updated_at": at} for key in keys],
    )

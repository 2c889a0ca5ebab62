"""Use case: import a CSV file into a contract table, all rows or none.

Every row is validated first (types, ranges, references, duplicates; the messages say what,
where and how to fix), then the rows are written in one transaction and the data version is
bumped, so every page sees them at once. Importing the same file twice adds nothing.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from dashboard.storage.importer import ImportRejected, ImportResult, UnknownTableError, import_csv

__all__ = ["ImportRejected", "ImportResult", "UnknownTableError", "import_file"]


def import_file(
    engine: Engine, table_name: str, path: str | Path, *, update: bool = False
) -> ImportResult:
    """Validate the CSV file at ``path`` and load it into ``table_name``, all or nothing.

    ``update`` replaces stored rows whose key the file repeats with different values (without
    it such rows are refused). Raises ``OSError`` (unreadable file), :class:`UnknownTableError`,
    :class:`ImportRejected` (the row-level findings) or ``StoreError`` (the store refused the
    write); nothing is written then.
    """
    return import_csv(engine, table_name, path, update=update)

"""Use case: import a CSV file into a contract table, all rows or none.

Every row is validated first (types, ranges, references, duplicates; the messages say what,
where and how to fix), then the rows are written in one transaction and the data version is
bumped, so every page sees them at once. Importing the same file twice adds nothing.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from dashboard.errors import StoreError
from dashboard.storage.importer import (
    ImportRejected,
    ImportResult,
    UnknownTableError,
    import_bytes,
    import_csv,
)

__all__ = [
    "StoreError",
    "ImportRejected",
    "ImportResult",
    "UnknownTableError",
    "import_file",
    "import_upload",
]


def import_file(
    engine: Engine,
    table_name: str,
    path: str | Path,
    *,
    update: bool = False,
    date_format: str | None = None,
) -> ImportResult:
    """Validate the CSV file at ``path`` and load it into ``table_name``, all or nothing.

    ``update`` replaces stored rows whose key the file repeats with different values (without
    it such rows are refused). Raises ``OSError`` (unreadable file), :class:`UnknownTableError`,
    :class:`ImportRejected` (the row-level findings) or ``StoreError`` (the store refused the
    write); nothing is written then.
    """
    return import_csv(engine, table_name, path, update=update, date_format=date_format)


def import_upload(
    engine: Engine,
    table_name: str,
    data: bytes,
    file: str,
    *,
    update: bool = False,
    date_format: str | None = None,
) -> ImportResult:
    """Validate an uploaded CSV file's ``data`` and load it into ``table_name``, all or nothing.

    The rules and messages of :func:`import_file` (the command line's ``import``).
    """
    return import_bytes(engine, table_name, data, file, update=update, date_format=date_format)

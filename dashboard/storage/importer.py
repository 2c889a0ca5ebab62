"""Import a CSV file into one contract table, validating every row before anything is written.

The rules come from the data contract (``schema.CONTRACT``): column types, ``nullable``,
primary keys and the ``info`` rules (``min``, ``max``, ``allowed``, ``not_before``,
``references``).

File format
-----------
- UTF-8 (a byte-order mark is allowed), comma-separated, double quotes around values that
  contain commas, quotes or line breaks; the first row is the header.
- Rows are numbered as in a spreadsheet: the header is row 1, the first data row is row 2.
  Blank lines are skipped but keep their number.
- An empty cell is null (there is no other null marker: ``NA`` could be a region).
  Leading and trailing spaces around values are removed.
- Whole numbers: ``42`` (``42.0`` is accepted); decimal numbers: ``1234.5`` (dot, no thousands
  separator); dates: ISO ``YYYY-MM-DD``; booleans: ``true/false``, ``yes/no``, ``1/0``, ``t/f``
  (any case).
- Every required (non-nullable) column must be in the header; nullable columns may be left
  out (they are imported as null). A column the table does not have is an error: a
  misspelt optional column would otherwise be dropped silently.

Re-importing
------------
A row whose primary key is already in the store with identical values is skipped and counted,
so importing the same file twice adds nothing. The same key with different values is an error
that names the key and the differing columns, unless ``update=True`` (``--update``), which
replaces the stored rows. A key may appear only once per file.

Layers
------
Parsing and validation are pure functions over DataFrames (``validate_frame``), usable from the
app; the store look-ups (``lookup_store``) and the write (``import_frame``, ``import_csv``) are
SQLAlchemy Core with bound parameters, in one transaction.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import re
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Column, Connection, Engine, MetaData, Table, and_, inspect, or_, select
from sqlalchemy.exc import SQLAlchemyError

from dashboard.errors import first_line
from dashboard.storage.check import type_family
from dashboard.storage.engine import (
    StoreError,
    bulk_insert,
    bump_data_version,
    create_schema,
    ensure_app_tables,
    existing_tables,
    refresh_statistics,
)
from dashboard.storage.schema import CONTRACT_TABLES, LOAD_ORDER, primary_key_columns

#: Encoding every imported file must use.
ENCODING = "utf-8"

#: Values read as booleans (compared lower-case, after stripping spaces).
TRUE_WORDS = frozenset({"true", "t", "yes", "1"})
FALSE_WORDS = frozenset({"false", "f", "no", "0"})

_INTEGER_TEXT = re.compile(r"[+-]?\d+(?:\.0*)?")
_DECIMAL_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_ISO_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
_INTEGER_LIMITS = {"BigInteger": 2**63 - 1, "Integer": 2**31 - 1, "SmallInteger": 2**15 - 1}
_DELETE_BATCH = 500


@dataclass(frozen=True)
class ImportIssue:
    """One problem found in an import file.

    Parameters
    ----------
    file:
        The file (or upload) name as shown to the user.
    row:
        Spreadsheet row number (header = row 1, first data row = row 2); None when the
        problem concerns the whole file.
    column:
        The column concerned, or None.
    reason:
        What is wrong and how to fix it.
    """

    file: str
    row: int | None
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.reason}"


@dataclass(frozen=True)
class ImportResult:
    """What an import did. Row counts are data rows of the file."""

    table: str
    file: str
    rows_in_file: int
    inserted: int
    skipped_identical: int
    replaced: int
    data_version: str | None

    @property
    def changed(self) -> bool:
        """True when the store changed (and the data version was bumped)."""
        return bool(self.inserted or self.replaced)


class UnknownTableError(ValueError):
    """The table name is not part of the data contract; the message lists the valid ones."""


class ImportRejected(ValueError):
    """The file has problems; nothing was written. ``issues`` lists every one of them."""

    def __init__(self, issues: Sequence[ImportIssue]) -> None:
        self.issues: tuple[ImportIssue, ...] = tuple(issues)
        super().__init__(f"{len(self.issues)} problem(s) found; nothing was imported")


@dataclass(frozen=True, eq=False)
class CsvContent:
    """A CSV file read as text: one string per cell, before any type conversion.

    ``frame`` has the header names as columns; ``row_numbers[i]`` is the spreadsheet row
    number of ``frame.iloc[i]``. ``issues`` are problems found while reading (encoding,
    empty file, rows with the wrong number of values).
    """

    file: str
    frame: pd.DataFrame
    row_numbers: tuple[int, ...]
    issues: tuple[ImportIssue, ...]


@dataclass(frozen=True)
class StoreLookup:
    """What the store already holds for the keys that appear in a file.

    Parameters
    ----------
    known_keys:
        For each reference target ``"table.column"``, the values of the file that exist there.
    existing_rows:
        Stored rows of the import table whose primary key appears in the file, keyed by the
        primary-key tuple; values in contract column order.
    """

    known_keys: Mapping[str, Collection[Any]]
    existing_rows: Mapping[tuple[Any, ...], tuple[Any, ...]]


@dataclass(frozen=True, eq=False)
class _Plan:
    """The rows of a valid file split by what happens to them."""

    new_rows: pd.DataFrame
    replaced_keys: tuple[tuple[Any, ...], ...]
    skipped_identical: int


# --------------------------------------------------------------------------------------------
# Tables


def contract_table(name: str) -> Table:
    """The contract table called ``name``.

    Raises
    ------
    UnknownTableError
        When there is no such table; the message lists the valid names.
    """
    if name in CONTRACT_TABLES:
        return CONTRACT_TABLES[name]
    close = difflib.get_close_matches(name, LOAD_ORDER, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise UnknownTableError(
        f"'{name}' is not a table of the data contract.{hint} Valid tables, in the order to "
        f"import them: {', '.join(LOAD_ORDER)}."
    )


def reference_targets(table: Table) -> dict[str, str]:
    """Columns of ``table`` with a logical foreign key, mapped to their ``"table.column"``."""
    return {c.name: c.info["references"] for c in table.columns if "references" in c.info}


# --------------------------------------------------------------------------------------------
# Reading


def read_csv_bytes(data: bytes, file: str, expected_header: Sequence[str] = ()) -> CsvContent:
    """Read CSV ``data`` (UTF-8, comma-separated, header first) into strings, one per cell.

    Never raises for bad content: every problem is returned in ``CsvContent.issues``.

    Parameters
    ----------
    data:
        The file's bytes.
    file:
        Name shown in the issues.
    expected_header:
        Column names quoted in the message for an empty file.
    """
    empty = pd.DataFrame()
    data_start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    try:
        text = data[data_start:].decode(ENCODING)
    except UnicodeDecodeError as exc:
        offset = data_start + exc.start
        row = data.count(b"\n", 0, offset) + 1
        bad = data[offset : offset + 1].hex().upper()
        guess = ""
        try:
            data.decode("cp1252")
            guess = " It looks like Windows-1252/Latin-1."
        except UnicodeDecodeError:
            pass
        reason = (
            f"the file is not UTF-8: byte 0x{bad} at byte offset {offset} (row {row}) is not "
            f"valid UTF-8.{guess} Save it as UTF-8 (in Excel: 'CSV UTF-8'), or convert it, "
            f"e.g. iconv -f WINDOWS-1252 -t UTF-8 '{file}' > converted.csv"
        )
        return CsvContent(file, empty, (), (ImportIssue(file, row, None, reason),))
    if not text.strip():
        reason = "the file is empty; the first row must be the header"
        if expected_header:
            reason += f": {','.join(expected_header)}"
        return CsvContent(file, empty, (), (ImportIssue(file, None, None, reason),))

    issues: list[ImportIssue] = []
    records: list[list[str]] = []
    row_numbers: list[int] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    row = 0
    try:
        for record in reader:
            row += 1
            if header is None:
                header = [name.strip() for name in record]
                continue
            if not any(cell.strip() for cell in record):
                continue  # blank line
            if len(record) > len(header) and not any(c.strip() for c in record[len(header) :]):
                record = record[: len(header)]  # trailing commas, as some spreadsheets write
            if len(record) != len(header):
                issues.append(
                    ImportIssue(
                        file,
                        row,
                        None,
                        f"has {len(record)} values but the header has {len(header)} columns; "
                        "quote values that contain a comma",
                    )
                )
                continue
            records.append(record)
            row_numbers.append(row)
    except csv.Error as exc:
        issues.append(ImportIssue(file, row + 1, None, f"cannot be read as CSV: {exc}"))
    assert header is not None  # the text is not blank, so there is a first record
    if not records and not issues:
        issues.append(
            ImportIssue(
                file, None, None, "the file has a header but no data rows; nothing to import"
            )
        )
    frame = pd.DataFrame(records or None, columns=header, dtype=object)
    return CsvContent(file, frame, tuple(row_numbers), tuple(issues))


def read_csv_file(
    path: str | Path, file: str | None = None, expected_header: Sequence[str] = ()
) -> CsvContent:
    """Read the CSV file at ``path``; see ``read_csv_bytes``. ``OSError`` if it cannot be read."""
    path = Path(path)
    return read_csv_bytes(path.read_bytes(), file or str(path), expected_header)


# --------------------------------------------------------------------------------------------
# Parsing cells


def _show(value: Any) -> str:
    text = str(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"'{text}'"


def _number(value: float | int) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _parse_integer(value: Any, limit: int) -> tuple[Any, str | None]:
    if isinstance(value, bool):
        return None, f"{_show(value)} is not a whole number"
    if isinstance(value, (int, np.integer)):
        number = int(value)
    elif isinstance(value, (float, np.floating)) and float(value).is_integer():
        number = int(value)
    else:
        text = str(value).strip()
        if not _INTEGER_TEXT.fullmatch(text):
            hint = ""
            if re.fullmatch(r"[+-]?[\d,. ']+", text):
                hint = "; write it without thousands separators"
            return None, f"{_show(text)} is not a whole number{hint}"
        number = int(text.split(".")[0])
    if not -limit - 1 <= number <= limit:
        return None, f"{number} is too large for this column (at most {limit})"
    return number, None


def _parse_decimal(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, bool):
        return None, f"{_show(value)} is not a number"
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
    else:
        text = str(value).strip()
        if not _DECIMAL_TEXT.fullmatch(text):
            return None, (
                f"{_show(text)} is not a number; use a dot as decimal separator and no "
                "thousands separators (e.g. 1234.5)"
            )
        number = float(text)
    if not math.isfinite(number):
        return None, f"{_show(value)} is not a finite number"
    return number, None


def _parse_date(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, datetime):  # includes pandas.Timestamp
        if value.time() == datetime.min.time():
            return value.date(), None
        return None, f"{_show(value)} has a time of day; the column holds dates (YYYY-MM-DD)"
    if isinstance(value, date):
        return value, None
    text = str(value).strip()
    if not _ISO_DATE_TEXT.fullmatch(text):
        return None, f"{_show(text)} is not a date in the form YYYY-MM-DD (e.g. 2025-01-31)"
    try:
        return date.fromisoformat(text), None
    except ValueError:
        return None, f"{_show(text)} is not a valid calendar date"


def _parse_boolean(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, (bool, np.bool_)):
        return bool(value), None
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True, None
    if text in FALSE_WORDS:
        return False, None
    return None, f"{_show(value)} is not a boolean; use true/false, yes/no or 1/0"


def _parse_text(value: Any, length: int | None) -> tuple[Any, str | None]:
    text = str(value).strip()
    if length is not None and len(text) > length:
        return None, f"the value is {len(text)} characters long; at most {length} are allowed"
    return text, None


def _cell_parser(column):
    family = type_family(column.type)
    if family == "integer":
        limit = _INTEGER_LIMITS.get(type(column.type).__name__, 2**63 - 1)
        return lambda value: _parse_integer(value, limit)
    if family == "float":
        return _parse_decimal
    if family == "date":
        return _parse_date
    if family == "boolean":
        return _parse_boolean
    length = getattr(column.type, "length", None)
    return lambda value: _parse_text(value, length)


def _rule_violation(column, value: Any) -> str | None:
    info = column.info
    unit = f" ({info['unit']})" if "unit" in info else ""
    if "min" in info and value < info["min"]:
        return f"{_number(value)} is below the minimum {info['min']}{unit}"
    if "max" in info and value > info["max"]:
        return f"{_number(value)} is above the maximum {info['max']}{unit}"
    allowed = info.get("allowed")
    if allowed is not None and value not in allowed:
        close = [a for a in allowed if a.lower() == str(value).lower()]
        hint = f"; did you mean '{close[0]}'? Values are case-sensitive" if close else ""
        return f"{_show(value)} is not one of: {', '.join(allowed)}{hint}"
    return None


def _empty_column(column, size: int) -> pd.Series:
    return _typed_series(column, [None] * size)


def _typed_series(column, values: list[Any]) -> pd.Series:
    family = type_family(column.type)
    if family == "integer":
        return pd.Series(pd.array(values, dtype="Int64"), name=column.name)
    if family == "float":
        return pd.Series(
            [np.nan if v is None else v for v in values], dtype="float64", name=column.name
        )
    if family == "boolean":
        return pd.Series(pd.array(values, dtype="boolean"), name=column.name)
    return pd.Series(values, dtype=object, name=column.name)


# --------------------------------------------------------------------------------------------
# Validation (pure)


@dataclass(frozen=True, eq=False)
class ParsedFrame:
    """A file's rows converted to the contract's types, with the problems found doing so.

    ``values`` holds every contract column in table order (missing nullable columns are null);
    ``valid`` marks rows without any problem; ``row_numbers`` are spreadsheet row numbers.
    """

    table: Table
    file: str
    values: pd.DataFrame
    row_numbers: tuple[int, ...]
    valid: np.ndarray
    issues: tuple[ImportIssue, ...]
    keys: tuple[tuple[Any, ...] | None, ...] = ()


def _header_issues(table: Table, columns: Sequence[str], file: str) -> list[ImportIssue]:
    issues: list[ImportIssue] = []
    expected = [c.name for c in table.columns]
    seen: set[str] = set()
    for position, name in enumerate(columns, start=1):
        if not name:
            issues.append(
                ImportIssue(file, 1, f"#{position}", "the header cell is empty; name the column")
            )
        elif name in seen:
            issues.append(ImportIssue(file, 1, name, "the column appears twice in the header"))
        elif name not in table.columns:
            close = difflib.get_close_matches(name, expected, n=1)
            if close:
                hint = f"did you mean '{close[0]}'?"
            else:
                hint = "remove the column or rename it"
            issues.append(
                ImportIssue(
                    file,
                    1,
                    name,
                    f"{table.name} has no such column; {hint} (columns: {', '.join(expected)})",
                )
            )
        seen.add(name)
    if len(columns) == 1 and any(sep in columns[0] for sep in ";\t|"):
        sep = next(sep for sep in ";\t|" if sep in columns[0])
        shown = {"\t": "tab", ";": "';'", "|": "'|'"}[sep]
        issues.append(
            ImportIssue(
                file,
                1,
                None,
                f"the header has a single column and seems to be separated by {shown}; "
                "save the file as comma-separated values",
            )
        )
    for column in table.columns:
        if column.name not in seen and not column.nullable:
            issues.append(
                ImportIssue(
                    file,
                    1,
                    column.name,
                    "required column is missing from the header "
                    f"(required: {', '.join(c.name for c in table.columns if not c.nullable)})",
                )
            )
    return issues


def parse_frame(
    table: Table | str,
    frame: pd.DataFrame,
    *,
    file: str = "<data>",
    row_numbers: Sequence[int] | None = None,
) -> ParsedFrame:
    """Convert ``frame`` (text or already-typed cells) to the contract types of ``table``.

    Checks the header (missing required, unknown and repeated columns), every cell's type,
    nulls in required columns and the ``min``/``max``/``allowed`` rules. Does not need a store.

    Parameters
    ----------
    table:
        The contract table (or its name).
    frame:
        One row per record, columns named as in the contract.
    file:
        Name shown in the issues.
    row_numbers:
        Spreadsheet row number of each row of ``frame``; by default 2, 3, ... (header = 1).
    """
    table = contract_table(table) if isinstance(table, str) else table
    size = len(frame)
    rows = tuple(row_numbers) if row_numbers is not None else tuple(range(2, size + 2))
    if len(rows) != size:
        raise ValueError("row_numbers must have one entry per row of frame")
    columns = [str(c).strip() for c in frame.columns]
    issues = _header_issues(table, columns, file)
    valid = np.ones(size, dtype=bool)
    values: dict[str, pd.Series] = {}
    key_parts: dict[str, list[Any]] = {}
    if not any(name in table.columns for name in columns):
        valid[:] = False
        return ParsedFrame(table, file, pd.DataFrame(), rows, valid, tuple(issues))
    position = {name: i for i, name in enumerate(columns)}
    for column in table.columns:
        if column.name not in position:
            values[column.name] = _empty_column(column, size)
            continue
        parse = _cell_parser(column)
        has_rules = any(key in column.info for key in ("min", "max", "allowed"))
        cells = frame.iloc[:, position[column.name]].tolist()
        parsed: list[Any] = [None] * size
        for i, cell in enumerate(cells):
            if (not cell.strip()) if type(cell) is str else _is_missing(cell):
                if not column.nullable:
                    what = "key column" if column.primary_key else "column"
                    issues.append(
                        ImportIssue(
                            file,
                            rows[i],
                            column.name,
                            f"the value is empty, but this {what} is required",
                        )
                    )
                    valid[i] = False
                continue
            value, problem = parse(cell)
            if problem is None and has_rules:
                problem = _rule_violation(column, value)
            if problem is not None:
                issues.append(ImportIssue(file, rows[i], column.name, problem))
                valid[i] = False
                continue
            parsed[i] = value
        values[column.name] = _typed_series(column, parsed)
        if column.primary_key:
            key_parts[column.name] = parsed
    typed = pd.DataFrame(values)
    issues += _order_issues(table, typed, valid, rows, file)
    names = primary_key_columns(table)
    if all(name in key_parts for name in names):
        # A key with a missing or invalid part is None: it identifies nothing.
        keys = tuple(
            None if None in key else key for key in zip(*(key_parts[n] for n in names), strict=True)
        )
    else:
        keys = (None,) * size
    return ParsedFrame(table, file, typed, rows, valid, tuple(issues), keys)


def _order_issues(
    table: Table, typed: pd.DataFrame, valid: np.ndarray, rows: Sequence[int], file: str
) -> list[ImportIssue]:
    """Rows whose value precedes the column it may not precede (``info["not_before"]``);
    marks them invalid in ``valid``."""
    issues: list[ImportIssue] = []
    for column in table.columns:
        other = column.info.get("not_before")
        if other is None:
            continue
        later, earlier = pd.to_datetime(typed[column.name]), pd.to_datetime(typed[other])
        for i in np.flatnonzero((later < earlier).to_numpy() & valid):
            issues.append(
                ImportIssue(
                    file,
                    rows[i],
                    column.name,
                    f"{later.iloc[i]:%Y-%m-%d} is before {other} {earlier.iloc[i]:%Y-%m-%d}; "
                    f"{column.name} cannot precede it",
                )
            )
            valid[i] = False
    return issues


def _key_text(names: Sequence[str], key: Sequence[Any]) -> str:
    return ", ".join(f"{name}={value}" for name, value in zip(names, key, strict=True))


def _plain(value: Any) -> Any:
    """A comparable Python value (None for nulls, date for midnight datetimes)."""
    if _is_missing(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, datetime) and value.time() == datetime.min.time():
        return value.date()
    return value


def _same(stored: Any, incoming: Any) -> bool:
    stored, incoming = _plain(stored), _plain(incoming)
    if stored is None or incoming is None:
        return stored is None and incoming is None
    if isinstance(incoming, float) or isinstance(stored, float):
        try:
            a, b = float(stored), float(incoming)
        except (TypeError, ValueError):
            return False
        # A single-precision FLOAT column (DuckDB's FLOAT) keeps about 7 digits: a value that
        # round-trips to the same float32 is the value the file held.
        return a == b or np.float32(a) == np.float32(b)
    return stored == incoming


def _check_rows(
    parsed: ParsedFrame,
    lookup: StoreLookup,
    *,
    update: bool,
) -> tuple[list[ImportIssue], _Plan]:
    """References, duplicate keys in the file, and keys already stored with other values."""
    table = parsed.table
    file, rows, values = parsed.file, parsed.row_numbers, parsed.values
    issues: list[ImportIssue] = []
    valid = parsed.valid.copy()
    if values.empty:
        return issues, _Plan(values, (), 0)

    for name, target in reference_targets(table).items():
        target_table, target_column = target.split(".")
        known = set(lookup.known_keys.get(target, ()))
        where = "the store"
        if target_table == table.name:  # the file's own rows count too
            known |= {_plain(v) for v in values[target_column].tolist()}
            where = "the store or this file"
        for i, value in enumerate(values[name].tolist()):
            value = _plain(value)
            if value is None or value in known:
                continue
            issues.append(
                ImportIssue(
                    file,
                    rows[i],
                    name,
                    f"{value} is not a known {target_column} of {target_table}: no {target} = "
                    f"{value} in {where}; import {target_table} first or correct the value",
                )
            )
            valid[i] = False

    names = primary_key_columns(table)
    keys = parsed.keys
    first_row: dict[tuple[Any, ...], int] = {}
    skipped = 0
    replaced: list[tuple[Any, ...]] = []
    keep = np.zeros(len(values), dtype=bool)
    ordered = [c.name for c in table.columns]
    records = list(values.itertuples(index=False, name=None)) if lookup.existing_rows else []
    for i, key in enumerate(keys):
        if key is None:
            continue
        if key in first_row:
            issues.append(
                ImportIssue(
                    file,
                    rows[i],
                    ", ".join(names),
                    f"duplicate key {_key_text(names, key)}: already on row {first_row[key]}; "
                    "each key may appear only once per file",
                )
            )
            valid[i] = False
            continue
        first_row[key] = rows[i]
        stored = lookup.existing_rows.get(key)
        if stored is None:
            keep[i] = True
            continue
        if not parsed.valid[i]:
            continue  # its cells already have issues; a comparison would only add noise
        incoming = records[i]
        differences = [
            f"{name}: store {_show(_plain(old))}, file {_show(_plain(new))}"
            for name, old, new in zip(ordered, stored, incoming, strict=True)
            if not _same(old, new)
        ]
        if not differences:
            skipped += 1
        elif update:
            keep[i] = True
            replaced.append(key)
        else:
            issues.append(
                ImportIssue(
                    file,
                    rows[i],
                    ", ".join(names),
                    f"key {_key_text(names, key)} is already in the store with different values "
                    f"({'; '.join(differences)}); correct the file, or import with --update to "
                    "replace the stored row",
                )
            )
            valid[i] = False
    plan = _Plan(values[keep & valid].reset_index(drop=True), tuple(replaced), skipped)
    return issues, plan


def _sorted(issues: Sequence[ImportIssue], table: Table) -> list[ImportIssue]:
    order = {c.name: i for i, c in enumerate(table.columns)}

    def sort_key(issue: ImportIssue) -> tuple[int, int]:
        row = -1 if issue.row is None else issue.row
        column = -1 if issue.column is None else order.get(issue.column, len(order))
        return row, column

    return sorted(issues, key=sort_key)


def validate_frame(
    table: Table | str,
    frame: pd.DataFrame,
    known_keys: Mapping[str, Collection[Any]] | None = None,
    *,
    existing_rows: Mapping[tuple[Any, ...], tuple[Any, ...]] | None = None,
    file: str = "<data>",
    row_numbers: Sequence[int] | None = None,
    update: bool = False,
) -> list[ImportIssue]:
    """Every problem that stops ``frame`` from being imported into ``table``; [] when none.

    Pure: what the store holds is passed in (see ``lookup_store``).

    Parameters
    ----------
    table:
        The contract table or its name.
    frame:
        Rows to import, columns named as in the contract; cells as text (from a CSV) or
        already typed.
    known_keys:
        For each reference target ``"table.column"`` (e.g. ``"customers.customer_id"``), the
        values that exist in the store. Missing targets count as empty.
    existing_rows:
        Stored rows of ``table`` keyed by primary key (see ``StoreLookup``); used to tell
        identical re-imports (skipped) from conflicting ones (an issue unless ``update``).
    file, row_numbers:
        How rows are named in the issues (header = row 1, first data row = row 2 by default).
    update:
        Accept keys already stored with different values (they will be replaced).

    Returns
    -------
    list of ImportIssue
        Ordered by row, then by column order of the table.
    """
    table = contract_table(table) if isinstance(table, str) else table
    parsed = parse_frame(table, frame, file=file, row_numbers=row_numbers)
    lookup = StoreLookup(known_keys or {}, existing_rows or {})
    more, _ = _check_rows(parsed, lookup, update=update)
    return _sorted([*parsed.issues, *more], table)


# --------------------------------------------------------------------------------------------
# Store look-ups and the write


def _batches(values: Sequence[Any], size: int):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _key_table(conn: Connection, columns: Sequence[Column], keys: Collection[tuple]) -> Table:
    """A temporary table holding ``keys``, to join with instead of sending long IN lists.

    Filled with ``bulk_insert`` (DuckDB reads the DataFrame, PostgreSQL gets a COPY), so a
    file with a million keys costs one load and one join rather than hundreds of queries.
    """
    temp = Table(
        f"_import_keys_{uuid.uuid4().hex[:12]}",
        MetaData(),
        *(Column(c.name, c.type) for c in columns),
        prefixes=["TEMPORARY"],
    )
    temp.create(conn)
    bulk_insert(conn, temp, pd.DataFrame(list(keys), columns=[c.name for c in columns]))
    return temp


def lookup_store(conn: Connection, parsed: ParsedFrame, tables: Collection[str]) -> StoreLookup:
    """Look up the file's referenced keys and already-stored rows.

    Only the keys that appear in the file are looked up: they are loaded into a temporary
    table and joined, so the cost follows the file's size, not the store's.

    Parameters
    ----------
    conn:
        Connection (inside the import's transaction).
    parsed:
        The parsed file.
    tables:
        Tables and views present in the store (look-ups into absent ones find nothing).
    """
    table = parsed.table
    values = parsed.values
    known: dict[str, set[Any]] = {}
    if values.empty:
        return StoreLookup({}, {})
    for name, target in reference_targets(table).items():
        target_table, target_column = target.split(".")
        found = known.setdefault(target, set())
        wanted = {_plain(v) for v in values[name].tolist()} - {None} - found
        if target_table not in tables or not wanted:
            continue
        column = CONTRACT_TABLES[target_table].c[target_column]
        temp = _key_table(conn, [column], [(value,) for value in wanted])
        joined = column.table.join(temp, column == temp.c[target_column])
        found.update(conn.execute(select(column).select_from(joined).distinct()).scalars())
        temp.drop(conn)

    existing: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    keys = {key for key in parsed.keys if key is not None}
    if table.name in tables and keys:
        key_columns = [table.c[name] for name in primary_key_columns(table)]
        temp = _key_table(conn, key_columns, keys)
        on = and_(*(c == temp.c[c.name] for c in key_columns))
        for row in conn.execute(select(*table.columns).select_from(table.join(temp, on))):
            key = tuple(_plain(row._mapping[c.name]) for c in key_columns)
            existing[key] = tuple(row)
        temp.drop(conn)
    return StoreLookup(known, existing)


def _delete_keys(conn: Connection, table: Table, keys: Sequence[tuple[Any, ...]]) -> None:
    columns = [table.c[name] for name in primary_key_columns(table)]
    for batch in _batches(list(keys), _DELETE_BATCH):
        if len(columns) == 1:
            condition = columns[0].in_([key[0] for key in batch])
        else:
            condition = or_(
                *(and_(*(c == v for c, v in zip(columns, key, strict=True))) for key in batch)
            )
        conn.execute(table.delete().where(condition))


def import_frame(
    engine: Engine,
    table_name: str,
    frame: pd.DataFrame,
    *,
    file: str = "<data>",
    row_numbers: Sequence[int] | None = None,
    update: bool = False,
    read_issues: Sequence[ImportIssue] = (),
) -> ImportResult:
    """Validate ``frame`` against the contract and the store, then write it in one transaction.

    Creates the contract tables when the store has none (and the target table when only it is
    missing). Nothing is written when any problem is found. The data version is bumped when
    the store changed.

    Raises
    ------
    UnknownTableError
        ``table_name`` is not a contract table.
    ImportRejected
        The file has problems (``.issues``); nothing was written.
    StoreError
        The store cannot be written (e.g. the table is a view, or a column does not match).
    """
    table = contract_table(table_name)
    parsed = parse_frame(table, frame, file=file, row_numbers=row_numbers)
    try:
        tables = existing_tables(engine)
        if table.name in inspect(engine).get_view_names():
            raise StoreError(
                f"{table.name} is a view in this store, so rows cannot be imported into it; "
                "load them into the warehouse table behind the view instead."
            )
        with engine.begin() as conn:
            # DDL inside the transaction: a rejected file leaves no empty tables behind.
            if not tables & set(CONTRACT_TABLES):
                create_schema(conn)
            elif table.name not in tables:
                table.create(conn, checkfirst=True)
            lookup = lookup_store(conn, parsed, tables)
            more, plan = _check_rows(parsed, lookup, update=update)
            issues = [*read_issues, *parsed.issues, *more]
            if issues:
                raise ImportRejected(_sorted(issues, table))
            if plan.replaced_keys:
                _delete_keys(conn, table, plan.replaced_keys)
            bulk_insert(conn, table, plan.new_rows)
    except SQLAlchemyError as exc:
        raise StoreError(
            f"writing to {table.name} failed, so nothing was imported: {first_line(exc)}. "
            "Run 'python -m dashboard check' to compare the store with the data contract."
        ) from exc
    version = None
    if len(plan.new_rows):
        refresh_statistics(engine, [table])  # PostgreSQL planner statistics; never fails
        try:
            if "dataset_info" not in existing_tables(engine):
                ensure_app_tables(engine)
            version = bump_data_version(engine)
        except SQLAlchemyError as exc:
            raise StoreError(
                f"the rows were imported into {table.name}, but the data version could not be "
                f"updated: {first_line(exc)}. Restart the app so it does not show cached data."
            ) from exc
    return ImportResult(
        table=table.name,
        file=file,
        rows_in_file=len(frame),
        inserted=len(plan.new_rows) - len(plan.replaced_keys),
        skipped_identical=plan.skipped_identical,
        replaced=len(plan.replaced_keys),
        data_version=version,
    )


def import_csv(
    engine: Engine, table_name: str, path: str | Path, *, update: bool = False
) -> ImportResult:
    """Import the CSV file at ``path`` into ``table_name``; see ``import_frame``.

    Raises
    ------
    OSError
        The file cannot be read.
    UnknownTableError, ImportRejected, StoreError
        As ``import_frame``.
    """
    table = contract_table(table_name)
    content = read_csv_file(path, expected_header=[c.name for c in table.columns])
    if content.frame.empty:  # empty, not UTF-8, header only, or no readable row
        header = _header_issues(table, list(content.frame.columns), content.file)
        if content.frame.columns.empty:
            header = []
        raise ImportRejected(_sorted([*content.issues, *header], table))
    return import_frame(
        engine,
        table.name,
        content.frame,
        file=content.file,
        row_numbers=content.row_numbers,
        update=update,
        read_issues=content.issues,
    )

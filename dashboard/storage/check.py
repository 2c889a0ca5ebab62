"""Does a database meet the data contract? Checks run as aggregate SQL inside the database.

``check_store(engine)`` looks at every contract table (or view) and reports, as findings:

- missing tables or views and missing columns;
- column types of the wrong family (integer / decimal number / text / date / boolean);
- nulls in required columns, null and duplicate primary keys (views can have them);
- orphan references (rows whose ``references`` value has no match, by an anti-join);
- values outside ``min``/``max`` or not in ``allowed``.

Every count is computed in the database with bound parameters; no table is loaded into pandas,
so the check is cheap on a warehouse too. The app can call ``check_store`` and render
``CheckReport.findings`` itself; the command line prints them with ``str(finding)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Table,
    and_,
    case,
    column,
    exists,
    func,
    inspect,
    literal,
    select,
    table,
)
from sqlalchemy import types as sqltypes
from sqlalchemy.exc import SQLAlchemyError

from dashboard.errors import first_line
from dashboard.storage.engine import StoreError, StoreLocation, existing_tables
from dashboard.storage.schema import (
    APP,
    CONTRACT_TABLES,
    KEY,
    LOAD_ORDER,
    OPTIONAL_TABLES,
    primary_key_columns,
)

ERROR = "error"
WARNING = "warning"
INFO = "info"

#: Family names as shown to people.
FAMILY_LABELS = {
    "integer": "integer",
    "float": "float-or-numeric",
    "text": "text",
    "date": "date",
    "timestamp": "timestamp",
    "boolean": "boolean",
    "unknown": "unknown",
}

#: Families a store column may have for each contract family (an integer column holds
#: decimal-number values losslessly, so it satisfies a float column).
COMPATIBLE = {
    "integer": {"integer"},
    "float": {"float", "integer"},
    "text": {"text"},
    "date": {"date"},
    "boolean": {"boolean"},
}

_FIX_BY_FAMILY = {
    "integer": "CAST(... AS bigint)",
    "float": "CAST(... AS double precision)",
    "text": "CAST(... AS varchar)",
    "date": "CAST(... AS date)",
    "boolean": "(... = 1) or CAST(... AS boolean)",
}


def type_family(sql_type: sqltypes.TypeEngine) -> str:
    """Family of a SQLAlchemy type: integer, float, text, date, timestamp, boolean or unknown."""
    if isinstance(sql_type, sqltypes.Boolean):
        return "boolean"
    if isinstance(sql_type, sqltypes.Integer):
        return "integer"
    if isinstance(sql_type, sqltypes.Float):  # not a Numeric subclass since SQLAlchemy 2.1
        return "float"
    if isinstance(sql_type, sqltypes.Numeric):
        # NUMERIC(18, 0) holds whole numbers
        return "integer" if getattr(sql_type, "scale", None) == 0 else "float"
    if isinstance(sql_type, sqltypes.DateTime):
        return "timestamp"
    if isinstance(sql_type, sqltypes.Date):
        return "date"
    if isinstance(sql_type, sqltypes.String):
        return "text"
    return "unknown"


def family_from_type_name(name: str) -> str:
    """Family of a database type name as in ``information_schema.columns.data_type``."""
    lowered = name.strip().lower()
    if lowered.startswith("bool"):
        return "boolean"
    if re.match(r"(decimal|numeric)\s*\(\s*\d+\s*,\s*0\s*\)", lowered):
        return "integer"
    if re.search(
        r"(hugeint|bigint|smallint|tinyint|integer|\bint\d*\b|serial|ubigint|uinteger)", lowered
    ):
        return "integer"
    if re.search(r"(decimal|numeric|real|float|double|money)", lowered):
        return "float"
    if lowered.startswith("timestamp") or lowered.startswith("datetime"):
        return "timestamp"
    if lowered == "date":
        return "date"
    if re.search(r"(char|text|string|clob|uuid|enum)", lowered):
        return "text"
    return "unknown"


@dataclass(frozen=True)
class Finding:
    """One result of the contract check.

    Parameters
    ----------
    severity:
        ``"error"`` (the contract is not met; the app may show wrong numbers or fail),
        ``"warning"`` (works, but look at it) or ``"info"``.
    table, column:
        Where (``column`` is None for table-level findings).
    check:
        Machine-readable kind: ``missing_table``, ``missing_column``, ``wrong_type``,
        ``unknown_type``, ``null_key``, ``null_value``, ``duplicate_key``, ``orphan``,
        ``below_min``, ``above_max``, ``not_allowed``, ``empty_table``, ``skipped``,
        ``query_failed``, ``app_table``.
    message:
        What is wrong and how to fix it.
    count:
        Number of rows (or keys) concerned, when counted.
    example:
        One offending value, when cheap to get.
    """

    severity: str
    table: str
    column: str | None
    check: str
    message: str
    count: int | None = None
    example: str | None = None

    @property
    def where(self) -> str:
        """``table.column`` or ``table``."""
        return f"{self.table}.{self.column}" if self.column else self.table

    def __str__(self) -> str:
        example = f" (e.g. {self.example})" if self.example is not None else ""
        return f"{self.severity.upper():<7} {self.where}: {self.message}{example}"


@dataclass(frozen=True)
class CheckReport:
    """Outcome of ``check_store``: the findings and the row count of each table found."""

    url: str
    findings: tuple[Finding, ...]
    row_counts: dict[str, int] = field(default_factory=dict, hash=False)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == WARNING)

    @property
    def ok(self) -> bool:
        """True when the store meets the contract (warnings allowed)."""
        return not self.errors

    def verdict(self) -> str:
        """One sentence: does the store meet the contract."""
        counts = f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)"
        if self.ok:
            return f"The database meets the data contract ({counts})."
        return f"The database does NOT meet the data contract: {counts}."


@dataclass(frozen=True)
class _StoreColumn:
    name: str
    family: str
    type_name: str


def _store_columns(conn: Connection, name: str) -> dict[str, _StoreColumn]:
    """Columns of table or view ``name``, by SQLAlchemy inspection.

    Falls back to ``information_schema.columns`` where the dialect's reflection fails (as
    duckdb-engine's does on some DuckDB versions); both are standard and read-only.
    """
    try:
        reflected = inspect(conn).get_columns(name)
        return {
            c["name"]: _StoreColumn(
                c["name"],
                # A type the dialect does not map (PyHive reflects Spark's DATE as NullType)
                # is classified by its name.
                type_family(c["type"])
                if type_family(c["type"]) != "unknown"
                else family_from_type_name(str(c.get("raw_type") or c["type"])),
                str(c["type"]),
            )
            for c in reflected
        }
    except (SQLAlchemyError, NotImplementedError):
        # The failed reflection query aborted the (read-only) transaction; start a new one.
        conn.rollback()
    info = table(
        "columns",
        column("table_schema"),
        column("table_name"),
        column("column_name"),
        column("data_type"),
        schema="information_schema",
    )
    query = (
        select(info.c.column_name, info.c.data_type)
        .where(info.c.table_name == name)
        .where(info.c.table_schema == func.current_schema())
    )
    return {
        row.column_name: _StoreColumn(
            row.column_name, family_from_type_name(row.data_type), row.data_type
        )
        for row in conn.execute(query)
    }


def integer_customer_ids(engine: Engine) -> bool:
    """Whether ``customers.customer_id`` is an integer column: a store built before identifiers
    were text (the contract now wants text)."""
    with engine.connect() as conn:
        found = _store_columns(conn, "customers").get("customer_id")
    return found is not None and found.family == "integer"


def _display(value: Any) -> str:
    text_ = str(value)
    return text_ if len(text_) <= 40 else text_[:37] + "..."


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


class _TableCheck:
    """Checks of one contract table; collects findings."""

    def __init__(self, conn: Connection, contract: Table, present: set[str]) -> None:
        self.conn = conn
        self.contract = contract
        self.present = present
        self.findings: list[Finding] = []
        self.usable: dict[str, Column] = {}
        self.rows = 0

    def add(
        self,
        severity: str,
        column: str | None,
        check: str,
        message: str,
        count: int | None = None,
        example: Any = None,
    ) -> None:
        shown = None if example is None else _display(example)
        self.findings.append(
            Finding(severity, self.contract.name, column, check, message, count, shown)
        )

    def run(self) -> None:
        stored = _store_columns(self.conn, self.contract.name)
        source = table(self.contract.name, *(column(name) for name in stored))
        for expected in self.contract.columns:
            self._check_column(expected, stored.get(expected.name), source)
        self._check_values(source)
        if self.rows:
            self._check_keys(source)
            self._check_references(source)
            self._check_order(source)

    def _check_order(self, source) -> None:
        """Rows whose value precedes the column it may not precede (``info["not_before"]``)."""
        for expected in self.contract.columns:
            other = expected.info.get("not_before")
            if other is None or expected.name not in self.usable or other not in self.usable:
                continue
            later, earlier = self.usable[expected.name], self.usable[other]
            count, example = self.conn.execute(
                select(func.count(), func.min(later)).select_from(source).where(later < earlier)
            ).one()
            if int(count):
                self.add(
                    ERROR,
                    expected.name,
                    "before_other",
                    f"{int(count)} row(s) where {expected.name} is before {other}",
                    int(count),
                    example,
                )

    def _check_column(self, expected: Column, found: _StoreColumn | None, source) -> None:
        name = expected.name
        family = type_family(expected.type)
        if found is None:
            need = "required" if not expected.nullable else "nullable, but the app reads it"
            self.add(
                ERROR,
                name,
                "missing_column",
                f"column is missing ({FAMILY_LABELS[family]}, {need}); add it to the table or view",
            )
            return
        if found.family == "unknown":
            self.add(
                WARNING,
                name,
                "unknown_type",
                f"type {found.type_name} could not be classified; expected "
                f"{FAMILY_LABELS[family]}. Values were not checked",
            )
            return
        if found.family not in COMPATIBLE[family]:
            fix = f"in a view, use {_FIX_BY_FAMILY[family]}"
            if expected.type is KEY:
                fix = (
                    f"identifiers are text so that 00042 stays 00042; in a view, use "
                    f"CAST({name} AS varchar); a table built before identifiers were text: "
                    "rebuild it (python -m dashboard demo --replace, or import the files again "
                    "into a new store)"
                )
            self.add(
                ERROR,
                name,
                "wrong_type",
                f"type is {found.type_name} ({FAMILY_LABELS[found.family]}), expected "
                f"{FAMILY_LABELS[family]}; {fix}",
            )
            return
        self.usable[name] = source.c[name]

    def _check_values(self, source) -> None:
        """Row count, nulls and range rules: one aggregate query for the whole table."""
        checks: list[tuple[str, str, Any]] = []
        selects = [func.count().label("rows")]

        def add_select(label: str, expression) -> None:
            selects.append(expression.label(f"c{len(selects)}"))
            checks.append((label, selects[-1].name, expression))

        for expected in self.contract.columns:
            col = self.usable.get(expected.name)
            if col is None:
                continue
            if not expected.nullable:
                add_select(f"{expected.name}:nulls", func.count() - func.count(col))
            info = expected.info
            if "min" in info:
                bound = literal(info["min"])
                add_select(f"{expected.name}:below", func.sum(case((col < bound, 1), else_=0)))
                add_select(f"{expected.name}:min", func.min(col))
            if "max" in info:
                bound = literal(info["max"])
                add_select(f"{expected.name}:above", func.sum(case((col > bound, 1), else_=0)))
                add_select(f"{expected.name}:max", func.max(col))
            if "allowed" in info:
                outside = and_(col.is_not(None), col.not_in(list(info["allowed"])))
                add_select(f"{expected.name}:outside", func.sum(case((outside, 1), else_=0)))
        row = self.conn.execute(select(*selects).select_from(source)).one()._mapping
        self.rows = int(row["rows"])
        if not self.rows:
            if self.contract.name in OPTIONAL_TABLES:
                return  # an optional table may be empty: nothing to report
            self.add(WARNING, None, "empty_table", "has no rows; the app will show nothing for it")
            return
        result = {label: row[name] for label, name, _ in checks}
        for expected in self.contract.columns:
            name, info = expected.name, expected.info
            unit = f" ({info['unit']})" if "unit" in info else ""
            nulls = int(result.get(f"{name}:nulls") or 0)
            if nulls:
                kind = "null_key" if expected.primary_key else "null_value"
                what = "key column" if expected.primary_key else "required column"
                self.add(ERROR, name, kind, f"{nulls} row(s) have no value in this {what}", nulls)
            below = int(result.get(f"{name}:below") or 0)
            if below:
                self.add(
                    ERROR,
                    name,
                    "below_min",
                    f"{below} row(s) below the minimum {info['min']}{unit}",
                    below,
                    _number(result[f"{name}:min"]),
                )
            above = int(result.get(f"{name}:above") or 0)
            if above:
                self.add(
                    ERROR,
                    name,
                    "above_max",
                    f"{above} row(s) above the maximum {info['max']}{unit}",
                    above,
                    _number(result[f"{name}:max"]),
                )
            outside = int(result.get(f"{name}:outside") or 0)
            if outside:
                col = self.usable[name]
                examples = self.conn.execute(
                    select(col, func.count().label("n"))
                    .select_from(source)
                    .where(col.is_not(None), col.not_in(list(info["allowed"])))
                    .group_by(col)
                    .order_by(func.count().desc(), col)
                    .limit(3)
                ).all()
                shown = ", ".join(f"'{value}' ({n})" for value, n in examples)
                self.add(
                    ERROR,
                    name,
                    "not_allowed",
                    f"{outside} row(s) with a value other than "
                    f"{', '.join(info['allowed'])}: {shown}",
                    outside,
                )

    def _check_keys(self, source) -> None:
        names = primary_key_columns(self.contract)
        if not all(name in self.usable for name in names):
            return
        key = [self.usable[name] for name in names]
        groups = (
            select(*key, func.count().label("n"))
            .select_from(source)
            .where(*(c.is_not(None) for c in key))
            .group_by(*key)
            .having(func.count() > 1)
            .subquery()
        )
        duplicated, rows = self.conn.execute(
            select(func.count(), func.coalesce(func.sum(groups.c.n), 0))
        ).one()
        duplicated, rows = int(duplicated), int(rows)
        if not duplicated:
            return
        example = self.conn.execute(
            select(*(groups.c[name] for name in names))
            .order_by(*(groups.c[name] for name in names))
            .limit(1)
        ).one()
        shown = ", ".join(f"{n}={v}" for n, v in zip(names, example, strict=True))
        self.add(
            ERROR,
            ", ".join(names),
            "duplicate_key",
            f"{duplicated} key value(s) appear more than once ({rows} rows); each key must "
            "be unique (a view may need DISTINCT or a tighter join)",
            duplicated,
            shown,
        )

    def _check_references(self, source) -> None:
        for expected in self.contract.columns:
            target = expected.info.get("references")
            if target is None or expected.name not in self.usable:
                continue
            target_table, target_column = target.split(".")
            if target_table not in self.present:
                self.add(
                    WARNING,
                    expected.name,
                    "skipped",
                    f"references {target}, but {target_table} is missing; not checked",
                )
                continue
            target_columns = _store_columns(self.conn, target_table)
            found = target_columns.get(target_column)
            expected_family = type_family(CONTRACT_TABLES[target_table].c[target_column].type)
            if found is None or found.family not in COMPATIBLE[expected_family]:
                self.add(
                    WARNING,
                    expected.name,
                    "skipped",
                    f"references {target}, which is missing or of the wrong type; not checked",
                )
                continue
            col = self.usable[expected.name]
            # Aliased so that a table referring to itself still correlates correctly.
            referenced = table(target_table, column(target_column)).alias("referenced")
            orphan = and_(
                col.is_not(None),
                ~exists().where(referenced.c[target_column] == col),
            )
            count, example = self.conn.execute(
                select(func.count(), func.min(col)).select_from(source).where(orphan)
            ).one()
            count = int(count)
            if count:
                self.add(
                    ERROR,
                    expected.name,
                    "orphan",
                    f"{count} row(s) refer to a {target} that does not exist",
                    count,
                    example,
                )


def check_store(engine: Engine, location: StoreLocation | None = None) -> CheckReport:
    """Check the store behind ``engine`` against the data contract.

    Parameters
    ----------
    engine:
        The store.
    location:
        Where the URL came from; only used for ``CheckReport.url`` (password hidden).

    Returns
    -------
    CheckReport
        Findings in contract load order, and the row count of each table found.

    Raises
    ------
    StoreError
        The database cannot be reached or queried; the message names the URL (password
        hidden) and what failed.
    """
    location = location or StoreLocation(
        engine.url.render_as_string(hide_password=False), "argument"
    )
    display = location.display_url
    findings: list[Finding] = []
    row_counts: dict[str, int] = {}
    try:
        conn = engine.connect()
    except SQLAlchemyError as exc:
        raise StoreError(
            f"Cannot reach the database at {display}: {first_line(exc)}. Check the URL "
            "(--db, DASHBOARD_DB_URL or .streamlit/secrets.toml) and that the server is "
            "running and accepts the user."
        ) from exc
    try:
        with conn:
            present = existing_tables(engine)  # also Spark's, whose inspector misreads
            for name in LOAD_ORDER:
                if name not in present and name in OPTIONAL_TABLES:
                    findings.append(
                        Finding(
                            INFO,
                            name,
                            None,
                            "optional_table",
                            "optional table is absent; the sections that read it say what "
                            "it would show (see docs/data-contract.md)",
                        )
                    )
                    continue
                if name not in present:
                    findings.append(
                        Finding(
                            ERROR,
                            name,
                            None,
                            "missing_table",
                            "table or view is missing; create it (see "
                            "docs/data-contract.md) or import it with "
                            f"'python -m dashboard import {name} FILE.csv'",
                        )
                    )
                    continue
                checker = _TableCheck(conn, CONTRACT_TABLES[name], present)
                try:
                    checker.run()
                    row_counts[name] = checker.rows
                except SQLAlchemyError as exc:
                    conn.rollback()
                    checker.add(
                        ERROR, None, "query_failed", f"could not be checked: {first_line(exc)}"
                    )
                findings.extend(checker.findings)
            if "dataset_info" in APP.tables and "dataset_info" not in present:
                findings.append(
                    Finding(
                        INFO,
                        "dataset_info",
                        None,
                        "app_table",
                        "the app's version table is missing; the app falls back to row "
                        "counts to notice changes, and creates it on its first write",
                    )
                )
    except SQLAlchemyError as exc:
        raise StoreError(
            f"Cannot read the database at {display}: {first_line(exc)}. Check that the user "
            "may read the tables and views of its default schema."
        ) from exc
    return CheckReport(display, tuple(findings), row_counts)


__all__ = [
    "CheckReport",
    "Finding",
    "check_store",
    "family_from_type_name",
    "type_family",
    "ERROR",
    "WARNING",
    "INFO",
]

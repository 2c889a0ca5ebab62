"""Use case: start from one transactions export (one row per purchase or order line).

``import_transactions`` builds the two contract tables the value analyses need from it:

- **customers**: one per customer id; acquired on the date of the first purchase in the file;
  region and channel from the columns named (the value on the customer's first purchase),
  else ``unknown``; acquisition cost from its column (the first non-empty value) or 0; the
  name is the identifier (the export has none).
- **orders**: the lines of one order (``--order``) are summed; without an order column, the
  lines of one customer on one day are one order, with the id ``<customer>-<YYYYMMDD>``, so a
  re-run finds the same ids. Cost is summed from its column, or revenue x (1 - margin), or 0.

Every line is checked first with the import's rules and messages (file, row, column, what and
how to fix); then both tables are written in one transaction, all or nothing, and rows
already stored with identical values are skipped, so running it again adds nothing. Then the
value model is fitted and the customers segmented (``lifetime_value``, ``segmentation``).

Columns are named by their header, or, in a file without a header (``header=False``), by their
position counted from 1 (``--customer 1 --date 3``); with a header a number that is not a
header name is a position too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from dashboard.storage.engine import Progress
from dashboard.storage.importer import (
    CsvContent,
    FrameToImport,
    ImportIssue,
    ImportRejected,
    ImportResult,
    import_frames,
    parse_date,
    parse_decimal,
    parse_key,
    read_csv_bytes,
)
from dashboard.storage.schema import KEY_LENGTH

UNKNOWN = "unknown"


@dataclass(frozen=True)
class ColumnMap:
    """Which file column holds what; None for the optional ones not given."""

    customer: str
    date: str
    revenue: str
    cost: str | None = None
    order: str | None = None
    region: str | None = None
    channel: str | None = None
    acquisition_cost: str | None = None

    def named(self) -> dict[str, str]:
        """Role -> column as the user wrote it, for the roles given."""
        return {role: col for role, col in vars(self).items() if col is not None}


@dataclass(frozen=True)
class TransactionsResult:
    """What ``import_transactions`` did."""

    file: str
    lines: int
    customers: ImportResult
    orders: ImportResult
    ignored_columns: tuple[str, ...]
    notes: tuple[str, ...] = ()
    fit_run: int | None = None
    fit_error: str | None = None
    segment_run: int | None = None
    segment_error: str | None = None
    columns_used: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return self.customers.changed or self.orders.changed


def _resolve_columns(
    content: CsvContent, columns: ColumnMap, header: bool
) -> tuple[dict[str, str], list[ImportIssue]]:
    """Role -> actual frame column; issues for names the file does not have."""
    names = [str(c) for c in content.frame.columns]
    resolved: dict[str, str] = {}
    issues: list[ImportIssue] = []
    for role, wanted in columns.named().items():
        wanted = wanted.strip()
        if header and wanted in names:
            resolved[role] = wanted
            continue
        if wanted.isdigit() and 1 <= int(wanted) <= len(names):
            resolved[role] = names[int(wanted) - 1]
            continue
        flag = "--" + role.replace("_", "-")
        shown = ", ".join(names) if header else f"1 to {len(names)}"
        issues.append(
            ImportIssue(
                content.file,
                1 if header else None,
                wanted,
                f"no such column for {flag}; the file's columns are: {shown}"
                + ("" if header else " (a file without a header is addressed by position)"),
            )
        )
    return resolved, issues


def _read(
    data: bytes, file: str, columns: ColumnMap, *, delimiter: str, header: bool
) -> tuple[CsvContent, dict[str, str]]:
    content = read_csv_bytes(data, file, delimiter=delimiter, header=header)
    if content.frame.empty:
        raise ImportRejected(list(content.issues))
    resolved, issues = _resolve_columns(content, columns, header)
    if issues or content.issues:
        raise ImportRejected([*content.issues, *issues])
    return content, resolved


def build_tables(
    content: CsvContent,
    resolved: dict[str, str],
    *,
    margin: float | None = None,
    date_format: str | None = None,
) -> tuple[pd.DataFrame, list[int], pd.DataFrame, list[int], list[ImportIssue]]:
    """Customers and orders frames (contract columns) from the lines; with line-level issues.

    Returns ``(customers, customer_rows, orders, order_rows, issues)``: each built row's
    spreadsheet row is that of its first line, so a later contract check names a real row.
    """
    file, frame, rows = content.file, content.frame, content.row_numbers
    issues: list[ImportIssue] = []
    size = len(frame)

    def parsed(role: str, parse) -> list:
        if role not in resolved:
            return [None] * size
        out = []
        for i, cell in enumerate(frame[resolved[role]].tolist()):
            if not str(cell).strip():
                if role in ("customer", "date", "revenue", "order", "cost"):
                    issues.append(
                        ImportIssue(
                            file,
                            rows[i],
                            resolved[role],
                            f"the value is empty, but --{role} is required on every line",
                        )
                    )
                out.append(None)
                continue
            value, problem = parse(cell)
            if problem is not None:
                issues.append(ImportIssue(file, rows[i], resolved[role], problem))
            out.append(value)
        return out

    customer = parsed("customer", lambda v: parse_key(v, KEY_LENGTH))
    day = parsed("date", lambda v: parse_date(v, date_format))
    revenue = parsed("revenue", parse_decimal)
    cost = parsed("cost", parse_decimal)
    order = parsed("order", lambda v: parse_key(v, KEY_LENGTH))
    acquisition = parsed("acquisition_cost", parse_decimal)

    def text(role: str) -> list:
        if role not in resolved:
            return [UNKNOWN] * size
        return [str(v).strip() or UNKNOWN for v in frame[resolved[role]].tolist()]

    lines = pd.DataFrame(
        {
            "row": list(rows),
            "customer_id": customer,
            "day": day,
            "revenue": revenue,
            "cost": cost,
            "order": order,
            "region": text("region"),
            "channel": text("channel"),
            "acquisition_cost": acquisition,
        }
    )
    bad_rows = {issue.row for issue in issues}
    lines = lines[~lines["row"].isin(bad_rows)]
    if "cost" not in resolved:
        share = 0.0 if margin is None else 1.0 - margin
        lines["cost"] = lines["revenue"].astype(float) * share
    if "order" in resolved:
        lines["order_id"] = lines["order"]
        owners = lines.groupby("order_id")["customer_id"].nunique()
        for order_id in owners[owners > 1].index:
            these = lines[lines["order_id"] == order_id]
            first, other = these.iloc[0], these[these["customer_id"] != these.iloc[0].customer_id]
            issues.append(
                ImportIssue(
                    file,
                    int(other.iloc[0].row),
                    resolved["customer"],
                    f"order {order_id} has lines of two customers ({first.customer_id} on row "
                    f"{int(first.row)}, {other.iloc[0].customer_id} here); an order belongs "
                    "to one customer: correct the order or customer column",
                )
            )
    else:
        lines["order_id"] = [
            f"{c}-{d:%Y%m%d}" for c, d in zip(lines["customer_id"], lines["day"], strict=True)
        ]
    lines = lines.sort_values(["day", "row"], kind="stable")
    grouped = lines.groupby("order_id", sort=False)
    orders = grouped.agg(
        customer_id=("customer_id", "first"),
        ordered_at=("day", "min"),
        revenue=("revenue", "sum"),
        cost=("cost", "sum"),
        row=("row", "min"),
    ).reset_index()
    by_customer = lines.groupby("customer_id", sort=False)
    customers = by_customer.agg(
        acquired_at=("day", "min"),
        region=("region", "first"),
        acquisition_channel=("channel", "first"),
        acquisition_cost=("acquisition_cost", "first"),
        row=("row", "min"),
    ).reset_index()
    customers["name"] = customers["customer_id"]
    customers["acquisition_cost"] = customers["acquisition_cost"].fillna(0.0).astype(float)
    customer_columns = [
        "customer_id",
        "name",
        "region",
        "acquisition_channel",
        "acquired_at",
        "acquisition_cost",
    ]
    order_columns = ["order_id", "customer_id", "ordered_at", "revenue", "cost"]
    return (
        customers[customer_columns],
        customers["row"].astype(int).tolist(),
        orders[order_columns],
        orders["row"].astype(int).tolist(),
        sorted(issues, key=lambda i: i.row or 0),
    )


def import_transactions(
    engine: Engine,
    path: str | Path,
    columns: ColumnMap,
    *,
    margin: float | None = None,
    date_format: str | None = None,
    delimiter: str = ",",
    header: bool = True,
    fit: bool = True,
    progress: Progress | None = None,
    data: bytes | None = None,
) -> TransactionsResult:
    """Build customers and orders from one transactions file, write them, fit and segment.

    Raises ``ImportRejected`` (every problem; nothing written), ``OSError`` (unreadable file),
    ``StoreError``. A fit or segmentation that cannot run is reported in the result, not
    raised: the data is in the store then, and the pages say what is missing.
    """
    if margin is not None and not -1 <= margin <= 1:
        raise ValueError(
            f"--margin must be a fraction between -1 and 1 (0.3 for 30%), not {margin}"
        )
    if margin is not None and columns.cost is not None:
        raise ValueError("give --cost COL or --margin FRACTION, not both")
    file = str(path)
    raw = Path(path).read_bytes() if data is None else data
    content, resolved = _read(raw, file, columns, delimiter=delimiter, header=header)
    used = set(resolved.values())
    ignored = tuple(str(c) for c in content.frame.columns if c not in used)
    customers, customer_rows, orders, order_rows, issues = build_tables(
        content, resolved, margin=margin, date_format=date_format
    )
    if issues:
        raise ImportRejected(issues)
    results = import_frames(
        engine,
        [
            FrameToImport("customers", customers, file, customer_rows),
            FrameToImport("orders", orders, file, order_rows),
        ],
    )
    notes: list[str] = []
    if columns.cost is None and margin is None:
        notes.append(
            "no --cost or --margin: cost is 0, so gross margin equals revenue; give the margin "
            "(--margin 0.3 for 30%) for lifetime values in profit"
        )
    for role in ("region", "channel"):
        if role not in resolved:
            notes.append(f"no --{role}: every customer's {role} is '{UNKNOWN}'")
    result = TransactionsResult(
        file=file,
        lines=len(content.frame),
        customers=results[0],
        orders=results[1],
        ignored_columns=ignored,
        notes=tuple(notes),
        columns_used=resolved,
    )
    if not fit:
        return result
    return _fit_and_segment(engine, result, progress)


def _fit_and_segment(
    engine: Engine, result: TransactionsResult, progress: Progress | None
) -> TransactionsResult:
    from dataclasses import replace

    from dashboard.domain.clv import ModelIdentificationError
    from dashboard.domain.segment_features import SegmentationError
    from dashboard.services import lifetime_value, segmentation
    from dashboard.storage import clv_store, segment_store

    fit_run = fit_error = segment_run = segment_error = None
    latest_fit = clv_store.latest_run(engine)
    latest_segments = segment_store.latest_run(engine)
    if not result.changed and latest_fit is not None and latest_segments is not None:
        return replace(result, fit_run=latest_fit.run_id, segment_run=latest_segments.run_id)
    try:
        fit_run = lifetime_value.fit_and_save(engine, progress=progress).run_id
    except (ModelIdentificationError, ValueError) as exc:
        fit_error = str(exc)
    try:
        segment_run = segmentation.run_and_save(engine, progress=progress).run_id
    except SegmentationError as exc:
        segment_error = str(exc)
    return replace(
        result,
        fit_run=fit_run,
        fit_error=fit_error,
        segment_run=segment_run,
        segment_error=segment_error,
    )


__all__: Sequence[str] = [
    "ColumnMap",
    "ImportRejected",
    "TransactionsResult",
    "build_tables",
    "import_transactions",
]

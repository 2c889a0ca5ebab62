"""``python -m dashboard import-transactions``: start from one transactions export.

Registered at the end of ``dashboard.cli.COMMANDS``; see docs/cli.md and
``dashboard.services.transactions`` for the rules.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _fraction(text: str) -> float:
    try:
        value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number (0.3 for 30%)") from None
    if not -1 <= value <= 1:
        raise argparse.ArgumentTypeError(
            f"must be a fraction from -1 to 1 (0.3 for 30%), got {text}"
        )
    return value


def _delimiter(text: str) -> str:
    from dashboard.storage.importer import delimiter_from_text

    try:
        return delimiter_from_text(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_import_transactions(args: argparse.Namespace) -> int:
    """Build customers and orders from one file, write them, fit and segment."""
    from dashboard import cli
    from dashboard.services.transactions import ColumnMap, ImportRejected, import_transactions

    path = Path(args.file)
    if not path.is_file():
        reason = "is a directory" if path.is_dir() else "does not exist"
        raise cli.CliError(f"Cannot import {path}: the file {reason}. Give the path of the export.")
    columns = ColumnMap(
        customer=args.customer,
        date=args.date,
        revenue=args.revenue,
        cost=args.cost,
        order=args.order,
        region=args.region,
        channel=args.channel,
        acquisition_cost=args.acquisition_cost,
    )
    engine = cli._open_store(args)
    print(f"Importing {path} into {cli._describe(args.location)}", flush=True)
    try:
        result = import_transactions(
            engine,
            path,
            columns,
            margin=args.margin,
            date_format=args.date_format,
            delimiter=args.delimiter,
            header=not args.no_header,
            fit=not args.no_models,
            progress=lambda fraction, message: print(f"[{fraction:4.0%}] {message}", flush=True),
        )
    except ImportRejected as exc:
        cli._print_rejection(exc, "customers and orders", str(path))
        return cli.EXIT_DATA
    except ValueError as exc:
        raise cli.CliError(str(exc)) from exc
    except OSError as exc:
        raise cli.CliError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    print(f"Read {result.lines:,} line(s).")
    if result.ignored_columns:
        print(f"Ignored columns (not named by an option): {', '.join(result.ignored_columns)}.")
    for table in (result.customers, result.orders):
        print(
            f"  {table.table}: {table.inserted:,} added, {table.replaced:,} replaced, "
            f"{table.skipped_identical:,} already in the store with identical values (skipped)."
        )
    if not result.changed:
        print("Nothing changed, so the data version was left as it was.")
    for note in result.notes:
        print(f"Note: {note}.")
    if args.no_models:
        print("No fit or segments (--no-models): run 'python -m dashboard fit' and 'segment'.")
        return cli.EXIT_OK
    if result.fit_run is not None:
        print(f"Lifetime-value fit: run {result.fit_run}.")
    else:
        print(f"Lifetime value: not fitted: {result.fit_error}", file=sys.stderr)
    if result.segment_run is not None:
        print(f"Segments: run {result.segment_run}.")
    else:
        print(f"Segments: not computed: {result.segment_error}", file=sys.stderr)
    print("Open the dashboard: streamlit run app.py (Customer value shows the whale curve).")
    return cli.EXIT_OK


def add_import_transactions(subparsers) -> None:
    from dashboard.cli import _store_options

    parser = subparsers.add_parser(
        "import-transactions",
        parents=[_store_options()],
        help="build customers and orders from one transactions export, then fit and segment",
        description="Read one export with a row per purchase or order line; build customers "
        "(acquired at their first purchase; region and channel 'unknown' unless given) and "
        "orders (lines of one order summed); check every line first and write all or nothing; "
        "rows already stored are skipped, so a re-run adds nothing; then fit lifetime value "
        "and segment the customers. COL is a header name, or a column number counted from 1 "
        "(required with --no-header).",
        epilog="Example: python -m dashboard import-transactions CDNOW_sample.txt --no-header "
        "--delimiter whitespace --customer 1 --date 3 --revenue 5 --date-format %%Y%%m%%d "
        "--margin 0.3. See docs/cli.md.",
    )
    parser.add_argument("file", metavar="FILE", help="the transactions export (UTF-8 text)")
    parser.add_argument("--customer", required=True, metavar="COL", help="customer identifier")
    parser.add_argument("--date", required=True, metavar="COL", help="purchase date or timestamp")
    parser.add_argument("--revenue", required=True, metavar="COL", help="net revenue of the line")
    costs = parser.add_mutually_exclusive_group()
    costs.add_argument("--cost", metavar="COL", help="cost of the line (default: --margin, else 0)")
    costs.add_argument(
        "--margin",
        type=_fraction,
        metavar="FRACTION",
        help="gross margin share of revenue when the file has no cost, 0.3 for 30%%",
    )
    parser.add_argument(
        "--order",
        metavar="COL",
        help="order identifier: lines of one order are summed (default: a customer's lines "
        "of one day are one order)",
    )
    parser.add_argument("--region", metavar="COL", help="region (default: unknown)")
    parser.add_argument("--channel", metavar="COL", help="acquisition channel (default: unknown)")
    parser.add_argument(
        "--acquisition-cost", metavar="COL", help="what winning the customer cost (default: 0)"
    )
    parser.add_argument(
        "--date-format",
        metavar="FMT",
        help="strptime format of the dates, e.g. %%Y%%m%%d or %%d/%%m/%%Y (default: ISO dates "
        "and timestamps)",
    )
    parser.add_argument(
        "--delimiter",
        type=_delimiter,
        default=",",
        metavar="CHAR",
        help="one character, or tab, semicolon, pipe, whitespace (default: ,)",
    )
    parser.add_argument(
        "--no-header",
        action="store_true",
        help="the first line is data; name columns by number (1 = first)",
    )
    parser.add_argument(
        "--no-models", action="store_true", help="write the tables only: no fit, no segments"
    )
    parser.set_defaults(handler=cmd_import_transactions)

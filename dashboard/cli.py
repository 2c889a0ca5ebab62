"""The command line: ``python -m dashboard <command> ...`` (documented in docs/cli.md).

Commands: ``demo``, ``import``, ``check``, ``fit``, ``segment``, ``contract-doc``, ``report``.
Each has one small ``cmd_*`` function that takes the parsed arguments, calls a use case of
``dashboard.services`` (or a read of ``dashboard.storage``) and returns an exit code;
``build_parser`` wires them up. To add a command: write ``_add_<name>(subparsers)`` that
declares its arguments (use ``parents=[_store_options()]`` for ``--db``) and calls
``set_defaults(handler=cmd_<name>)``, then append it to ``COMMANDS``.

Errors are one message on stderr (what, where, how to fix) and an exit code, never a
traceback (set ``DASHBOARD_DEBUG=1`` to see one for an unexpected error):

- 0: done; the store meets the contract;
- 1: the data is the problem: import rejected, contract not met, demo refused;
- 2: the command cannot run: wrong arguments, unreadable file, database unreachable.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from dashboard.cli_transactions import add_import_transactions, cmd_import_transactions
from dashboard.errors import first_line
from dashboard.services.importing import ImportRejected, UnknownTableError, import_file
from dashboard.storage.check import FAMILY_LABELS, check_store, type_family
from dashboard.storage.engine import (
    ENV_VAR,
    PROJECT_ROOT,
    SECRETS_CONNECTION,
    StoreError,
    StoreLocation,
    make_engine,
    resolve_url,
)
from dashboard.storage.importer import contract_table
from dashboard.storage.schema import APP, CONTRACT_TABLES, LOAD_ORDER, primary_key_columns

EXIT_OK = 0
EXIT_DATA = 1
EXIT_USAGE = 2

#: At most this many import problems are printed; the rest are counted.
MAX_ISSUES_SHOWN = 50

DEFAULT_DOC_PATH = PROJECT_ROOT / "docs" / "data-contract.md"

_SOURCE_LABELS = {
    "argument": "--db",
    "environment": ENV_VAR,
    "secrets": f".streamlit/secrets.toml [connections.{SECRETS_CONNECTION}]",
    "default": "the built-in default",
}


class CliError(Exception):
    """A failure to report as one message with an exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# --------------------------------------------------------------------------------------------
# The store


def _location(args: argparse.Namespace) -> StoreLocation:
    location = resolve_url(args.db)
    args.location = location  # so main() can name it if the database fails later
    return location


def _duckdb_path(location: StoreLocation) -> Path | None:
    try:
        url = make_url(location.url)
    except ArgumentError:
        return None
    if url.get_backend_name() != "duckdb" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def _open_store(args: argparse.Namespace, *, must_exist: bool = False) -> Engine:
    """Engine for ``--db`` (or the resolved default); ``must_exist`` refuses a new DuckDB file."""
    location = _location(args)
    path = _duckdb_path(location)
    if must_exist and path is not None and not path.exists():
        raise CliError(
            f"There is no DuckDB file at {path} (URL from {_SOURCE_LABELS[location.source]}). "
            "Check the path, or build a demo store with 'python -m dashboard demo'."
        )
    return make_engine(
        location.url, on_lock_wait=_say_waiting, app_url=getattr(args, "app_db", None)
    )


def _say_waiting(message: str) -> None:
    """Tell the terminal that the command waits for the app (or another command) to let go."""
    print(message, file=sys.stderr, flush=True)


def _describe(location: StoreLocation) -> str:
    return f"{location.display_url} (from {_SOURCE_LABELS[location.source]})"


# --------------------------------------------------------------------------------------------
# Commands


def cmd_demo(args: argparse.Namespace) -> int:
    """Build the demo portfolio (with its fit and segments unless ``--no-models``)."""
    from dashboard.domain.segment_features import SegmentationError
    from dashboard.services.demo import DemoError, build_complete_demo
    from dashboard.storage import clv_store, segment_store

    engine = _open_store(args)
    then = "" if args.no_models else ", then fitting lifetime value and segmenting it,"
    print(
        f"Building a demo portfolio of {args.customers:,} customers (seed {args.seed}){then} in "
        f"{_describe(args.location)}",
        flush=True,
    )

    def progress(fraction: float, message: str) -> None:
        print(f"[{fraction:4.0%}] {message}", flush=True)

    try:
        counts = build_complete_demo(
            engine,
            args.customers,
            seed=args.seed,
            replace=args.replace,
            models=not args.no_models,
            progress=progress,
        )
    except DemoError as exc:
        # The builder speaks Python; name the command-line flag instead.
        raise CliError(str(exc).replace("replace=True", "--replace"), EXIT_DATA) from exc
    except SegmentationError as exc:
        raise CliError(
            f"the demo was built but its customers cannot be segmented: {exc}", EXIT_DATA
        ) from exc
    width = max((len(name) for name in counts), default=0)
    print("Rows written:")
    for name, count in counts.items():
        print(f"  {name:<{width}}  {count:>12,}")
    if args.no_models:
        print(
            "No lifetime-value fit or segments (--no-models): run 'python -m dashboard fit' "
            "and 'python -m dashboard segment'."
        )
        return EXIT_OK
    fit, segments = clv_store.latest_run(engine), segment_store.latest_run(engine)
    print(
        f"Lifetime-value fit: run {fit.run_id}."
        if fit
        else "Lifetime value: not fitted (the data cannot identify the model)."
    )
    if segments:
        print(f"Segments: run {segments.run_id}, {segments.n_segments} segments.")
    return EXIT_OK


def _print_rejection(exc: ImportRejected, table: str, file: str) -> None:
    issues = exc.issues
    lines = [
        f"error: nothing was imported into {table}: {file} has {len(issues)} problem(s). "
        "Rows are numbered as in a spreadsheet: the header is row 1."
    ]
    lines += [f"  {issue}" for issue in issues[:MAX_ISSUES_SHOWN]]
    if len(issues) > MAX_ISSUES_SHOWN:
        lines.append(f"  ... and {len(issues) - MAX_ISSUES_SHOWN:,} more problem(s).")
    lines.append("Fix the file and run the import again.")
    print("\n".join(lines), file=sys.stderr)


def cmd_import(args: argparse.Namespace) -> int:
    """Validate a CSV file and, when it has no problem, append it to a contract table."""
    try:
        table = contract_table(args.table)
    except UnknownTableError as exc:
        raise CliError(str(exc)) from exc
    path = Path(args.file)
    if not path.is_file():
        reason = "is a directory" if path.is_dir() else "does not exist"
        raise CliError(f"Cannot import {path}: the file {reason}. Give the path of a CSV file.")
    engine = _open_store(args)
    try:
        result = import_file(
            engine, table.name, path, update=args.update, date_format=args.date_format
        )
    except ImportRejected as exc:
        _print_rejection(exc, table.name, str(path))
        return EXIT_DATA
    except OSError as exc:
        raise CliError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    print(
        f"Imported {result.file} into {result.table} in {_describe(args.location)}: "
        f"{result.rows_in_file:,} row(s) in the file, {result.inserted:,} added, "
        f"{result.replaced:,} replaced, {result.skipped_identical:,} already in the store "
        "with identical values (skipped)."
    )
    if not result.changed:
        print("Nothing changed, so the data version was left as it was.")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    """Report whether the database meets the data contract."""
    engine = _open_store(args, must_exist=True)
    print(f"Checking {_describe(args.location)} against the data contract.")
    try:
        report = check_store(engine, args.location)
    except StoreError as exc:
        raise CliError(str(exc)) from exc
    for name, rows in report.row_counts.items():
        print(f"  {name}: {rows:,} row{'' if rows == 1 else 's'}")
    for finding in report.findings:
        print(finding)
    print(report.verdict())
    return EXIT_OK if report.ok else EXIT_DATA


def cmd_contract_doc(args: argparse.Namespace) -> int:
    """Write (or, with ``--check``, compare) the generated data-contract documentation."""
    document = render_contract_doc()
    if args.output == "-":
        sys.stdout.write(document)
        return EXIT_OK
    path = Path(args.output)
    if args.check:
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current != document:
            raise CliError(
                f"{path} is out of date with dashboard/storage/schema.py; regenerate it with "
                "'python -m dashboard contract-doc' and commit it.",
                EXIT_DATA,
            )
        print(f"{path} is up to date.")
        return EXIT_OK
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(document, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"Cannot write {path}: {exc.strerror or exc}.") from exc
    print(f"Wrote {path}")
    return EXIT_OK


def cmd_fit(args: argparse.Namespace) -> int:
    """Fit the lifetime-value models on the store, check them on a holdout, store the run."""
    from dashboard.domain.clv import ModelIdentificationError
    from dashboard.services import lifetime_value

    engine = _open_store(args, must_exist=True)
    print(f"Fitting the lifetime-value model on {_describe(args.location)}", flush=True)
    try:
        run = lifetime_value.fit_and_save(
            engine,
            calibration_end=args.calibration_end,
            holdout_weeks=args.holdout_weeks,
            horizon_months=args.horizon_months,
            annual_discount_rate=args.discount_rate,
            progress=lambda fraction, message: print(f"[{fraction:4.0%}] {message}", flush=True),
            model=getattr(args, "model", "auto"),
        )
    except ModelIdentificationError as exc:
        raise CliError(f"the model cannot be fitted on this data: {exc}", EXIT_DATA) from exc
    except ValueError as exc:  # a setting out of range
        raise CliError(str(exc)) from exc
    diagnostics = run.diagnostics
    print(
        f"Saved fit {run.run_id}: {diagnostics['customers']:,} customers "
        f"({diagnostics['repeat_buyers']:,} repeat buyers), orders to "
        f"{run.calibration_end:%Y-%m-%d}; customer equity {diagnostics['customer_equity']:,.0f} "
        f"(CLV over {run.horizon_months} months at {run.annual_discount_rate:.0%} a year)."
    )
    if run.holdout is None:
        print(f"No holdout check: {run.holdout_error}.")
    else:
        holdout = run.holdout
        print(
            f"Holdout check, {holdout['weeks']} weeks to {holdout['holdout_end']}: "
            f"{holdout['predicted_repeat_purchases']:,.0f} repeat purchases predicted, "
            f"{holdout['actual_repeat_purchases']:,.0f} actual "
            f"({holdout['total_error_pct']:+.1f}%)."
        )
    for line in lifetime_value.describe_model_choice(run):
        print(line)
    return EXIT_OK


def cmd_segment(args: argparse.Namespace) -> int:
    """Segment the customers and save the run (the Segments page and the segment filter)."""
    from dashboard.domain.segment_features import SegmentationError
    from dashboard.services import segmentation
    from dashboard.storage import segment_store

    engine = _open_store(args, must_exist=True)
    print(f"Segmenting the customers of {_describe(args.location)}", flush=True)
    try:
        run = segmentation.run_and_save(
            engine,
            n_segments=args.k,
            renumber=args.renumber,
            progress=lambda fraction, message: print(f"[{fraction:4.0%}] {message}", flush=True),
        )
    except SegmentationError as exc:
        raise CliError(f"the customers cannot be segmented: {exc}", EXIT_DATA) from exc
    how = "fixed by --k" if args.k else "chosen by the highest mean simplified silhouette"
    quality = "undefined" if run.silhouette is None else f"{run.silhouette:.3f}"
    print(
        f"Saved segment run {run.run_id}: {run.n_segments} segments ({how}; silhouette "
        f"{quality}) of {run.quality['customers']:,} customers, data to {run.as_of:%Y-%m-%d}."
    )
    sizes = segment_store.run_profiles(engine, run.run_id).groupby("segment")["customers"].first()
    for segment, label in segment_store.segment_labels(engine, run.run_id)[
        ["segment", "label"]
    ].itertuples(index=False):
        print(f"  {label}: {int(sizes.get(segment, 0)):,} customers")
    for note in run.quality.get("notes", []):
        print(f"Note: {note}")
    return EXIT_OK


# --------------------------------------------------------------------------------------------
# Parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _store_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--db",
        metavar="URL",
        help=f"SQLAlchemy database URL (default: {ENV_VAR}, then .streamlit/secrets.toml "
        f"[connections.{SECRETS_CONNECTION}] url, then data/portfolio.duckdb)",
    )
    options.add_argument(
        "--app-db",
        metavar="URL",
        help="store of the app's own tables (fits, segments, data version) when the --db "
        "store is read-only (default: DASHBOARD_APP_DB_URL, then the --db store itself, or "
        "data/app-<hash>.duckdb for a warehouse such as hive://; docs/warehouses.md)",
    )
    return options


def _add_demo(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        parents=[_store_options()],
        help="build the demo portfolio",
        description="Build a synthetic customer portfolio in the store, then fit its "
        "lifetime value and segment it (unless --no-models).",
    )
    parser.add_argument(
        "--customers",
        type=_positive_int,
        default=20_000,
        metavar="N",
        help="number of customers (default: 20000)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=42,
        metavar="S",
        help="random seed; the same seed builds the same data (default: 42)",
    )
    parser.add_argument(
        "--replace", action="store_true", help="replace the data already in the store"
    )
    parser.add_argument(
        "--no-models",
        action="store_true",
        help="build the tables only: no lifetime-value fit and no segmentation "
        "(default: both, as on the app's first run)",
    )
    parser.set_defaults(handler=cmd_demo)


def _add_import(subparsers) -> None:
    parser = subparsers.add_parser(
        "import",
        parents=[_store_options()],
        help="import a CSV file into a table",
        description="Validate every row of a UTF-8 CSV file against the data contract; "
        "write nothing if any row has a problem, else append it in one transaction. Rows "
        "already stored with identical values are skipped.",
        epilog=f"Tables, in the order to import them: {', '.join(LOAD_ORDER)}.",
    )
    parser.add_argument("table", metavar="TABLE", help="contract table to import into")
    parser.add_argument("file", metavar="FILE.csv", help="CSV file with a header row")
    parser.add_argument(
        "--update",
        action="store_true",
        help="replace stored rows whose key is in the file with other values "
        "(default: that is an error)",
    )
    parser.add_argument(
        "--date-format",
        metavar="FMT",
        help="strptime format of the date columns, e.g. %%Y%%m%%d or %%d/%%m/%%Y (default: "
        "ISO dates and timestamps, reduced to the date as written)",
    )
    parser.set_defaults(handler=cmd_import)


def _add_check(subparsers) -> None:
    parser = subparsers.add_parser(
        "check",
        parents=[_store_options()],
        help="check a database against the data contract",
        description="Check tables or views, columns, types, keys, references and value "
        "ranges. Exit 0 when the contract is met, 1 when not, 2 when the database cannot be "
        "reached.",
    )
    parser.set_defaults(handler=cmd_check)


def _add_contract_doc(subparsers) -> None:
    parser = subparsers.add_parser(
        "contract-doc",
        help="generate docs/data-contract.md from the schema",
        description="Generate the data-contract documentation from dashboard/storage/schema.py.",
    )
    parser.add_argument(
        "--output",
        default=str(DEFAULT_DOC_PATH),
        metavar="PATH",
        help="file to write, or - for standard output (default: docs/data-contract.md)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the file differs from the schema",
    )
    parser.set_defaults(handler=cmd_contract_doc)


def _add_fit(subparsers) -> None:
    from datetime import date

    parser = subparsers.add_parser(
        "fit",
        parents=[_store_options()],
        help="fit and store the lifetime-value model",
        description="Fit BG/NBD and Gamma-Gamma on the orders, check the predictions on the "
        "last weeks of data (holdout), and store a lifetime value per customer for the "
        "Customer value page. See docs/customer-value.md.",
    )
    parser.add_argument(
        "--holdout-weeks",
        type=_positive_int,
        default=26,
        metavar="W",
        help="weeks at the end of the data to check the predictions on (default: 26)",
    )
    parser.add_argument(
        "--horizon-months",
        type=_positive_int,
        default=36,
        metavar="M",
        help="lifetime-value horizon in months (default: 36)",
    )
    parser.add_argument(
        "--discount-rate",
        type=float,
        default=0.10,
        metavar="RATE",
        help="yearly discount rate, 0.10 for 10%% (default: 0.10)",
    )
    parser.add_argument(
        "--calibration-end",
        type=date.fromisoformat,
        default=None,
        metavar="YYYY-MM-DD",
        help="last day of data to use (default: the latest order date)",
    )
    parser.add_argument(
        "--model",
        choices=("auto", "bgnbd", "paretonbd"),
        default="auto",
        help="purchase model whose predictions are stored: auto (chosen on the holdout, "
        "docs/clv.md), bgnbd or paretonbd; both are fitted and compared (default: auto)",
    )
    parser.set_defaults(handler=cmd_fit)


def _add_segment(subparsers) -> None:
    parser = subparsers.add_parser(
        "segment",
        parents=[_store_options()],
        help="segment the customers and store the segments",
        description="Group the customers into segments (scikit-learn pipeline, k-means), "
        "number them by value, keep the previous run's numbers and given names, also assign "
        "them at the previous quarter's end for migration, and store the run for the "
        "Segments page and the segment filter. See docs/segments.md.",
    )
    parser.add_argument(
        "--k",
        type=int,
        choices=range(2, 11),
        default=None,
        metavar="N",
        help="number of segments, 2 to 10 (default: chosen by the silhouette)",
    )
    parser.add_argument(
        "--renumber",
        action="store_true",
        help="number the segments afresh by value instead of continuing the previous run's",
    )
    parser.set_defaults(handler=cmd_segment)


def _access_of(email: str, secrets: str | None):
    """The access of ``email`` under ``[access]`` of ``.streamlit/secrets.toml`` (``--secrets``,
    else the project folder, the current folder, then ``~/.streamlit``), as the app resolves it."""
    import tomllib

    from dashboard import access

    folders = [Path.cwd(), PROJECT_ROOT, Path.home()]
    paths = [Path(secrets)] if secrets else [f / ".streamlit" / "secrets.toml" for f in folders]
    for path in paths:
        if not path.is_file():
            if secrets:
                raise CliError(f"--secrets {path}: no such file.")
            continue
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8")).get("access")
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise CliError(f"{path} is not valid TOML: {exc}.") from exc
        if not table:
            continue
        try:
            policy = access.parse_policy(table)
        except access.AccessConfigError as exc:
            raise CliError(f"[access] in {path} cannot be read: {exc}.") from exc
        user = policy.resolve({"email": email, "email_verified": True})
        if not user.may_read:
            raise CliError(
                f"--as {email}: this user is not listed in [access] of {path}, so they may see "
                "nothing and no report is made for them. Add them to [access] (docs/deploy.md); "
                "a grant by group cannot be checked from the command line, so list the address."
            )
        return user
    raise CliError(
        "--as needs access control: no [access] table in .streamlit/secrets.toml "
        f"({', '.join(str(p) for p in paths)}). Configure it (docs/deploy.md) or leave out --as."
    )


def cmd_report(args: argparse.Namespace) -> int:
    """Write the story for the filters (and, with ``--as``, that user's regions) to a file."""
    from dashboard.services import report

    out = Path(args.out)
    if out.suffix.lower() not in report.RENDERERS:
        raise CliError(f"--out {out}: the file must end in .pptx or .pdf.")
    user = _access_of(args.as_user, args.secrets) if args.as_user else None
    allowed = None if user is None else user.allowed_regions
    engine = _open_store(args, must_exist=True)
    try:
        keys = report.story_keys(args.story, args.screens, engine)
    except report.ReportError as exc:
        raise CliError(str(exc)) from exc
    who = f" for {user.email}, {user.describe()}" if user else ""
    print(f"Writing the story to {out} from {_describe(args.location)}{who}", flush=True)
    try:
        scope, inputs = report.scope_for(
            engine,
            period=args.period,
            regions=args.region or (),
            channels=args.channel or (),
            segments=args.segment or (),
            allowed_regions=allowed,
        )
    except report.ReportArgumentError as exc:
        raise CliError(str(exc)) from exc
    except report.ReportError as exc:
        raise CliError(str(exc), EXIT_DATA) from exc
    print(f"Filters: {scope.describe(dict(inputs.segment_names))}", flush=True)
    try:
        written = report.write_report(
            engine,
            scope,
            inputs,
            keys,
            out,
            progress=lambda fraction, message: print(f"[{fraction:4.0%}] {message}", flush=True),
        )
    except OSError as exc:
        raise CliError(f"Cannot write {out}: {exc.strerror or exc}.") from exc
    print(f"[100%] Wrote {written.path} ({written.size / 1024:,.0f} KiB):")
    for number, slide in enumerate(written.story.slides, 1):
        print(f"  {number}. {slide.name}: {slide.finding}")
    return EXIT_OK


def _add_report(subparsers) -> None:
    parser = subparsers.add_parser(
        "report",
        parents=[_store_options()],
        help="write the story to a PowerPoint or PDF file",
        description="Write the portfolio story (the Story page's screens: one chart and its "
        "finding each) for the filters to FILE.pptx (native, editable charts) or FILE.pdf. "
        "With --as, only what that user may see under [access]. See docs/cli.md.",
    )
    parser.add_argument("--out", required=True, metavar="FILE", help="FILE.pptx or FILE.pdf")
    parser.add_argument(
        "--period",
        metavar="PERIOD",
        help="'Last 3 months' (default), 'last-month', 'last-6-months', 'last-12-months', "
        "'year-to-date', 'all-history', or START:END (YYYY-MM-DD:YYYY-MM-DD); periods end on "
        "the latest order date",
    )
    parser.add_argument(
        "--region", action="append", metavar="REGION", help="a region (repeat for several)"
    )
    parser.add_argument(
        "--channel", action="append", metavar="CHANNEL", help="an acquisition channel (repeat)"
    )
    parser.add_argument(
        "--segment",
        action="append",
        metavar="SEGMENT",
        help="a segment of the latest segmentation, by number or label (repeat)",
    )
    parser.add_argument(
        "--story",
        metavar="NAME",
        help="a named story: default (every screen), value, cx, or one saved from the Story "
        "page (see docs/cli.md)",
    )
    parser.add_argument(
        "--screens",
        metavar="KEYS",
        help="the screens in order, comma-separated: headline, whale, segments, loyalty, "
        "service, value_curves, payback (overrides --story; as the Story page's link)",
    )
    parser.add_argument(
        "--as",
        dest="as_user",
        metavar="EMAIL",
        help="make the report as this user sees the app under [access]: their regions only",
    )
    parser.add_argument(
        "--secrets",
        metavar="PATH",
        help="the secrets.toml holding [access] (default: .streamlit/secrets.toml)",
    )
    parser.set_defaults(handler=cmd_report)


#: Subcommand registrars, in the order ``--help`` lists them.
COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_demo,
    _add_import,
    _add_check,
    _add_contract_doc,
    _add_fit,
    _add_segment,
    add_import_transactions,
    _add_report,
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="python -m dashboard",
        description="Customer-portfolio dashboard: build, import and check its data.",
        epilog="Exit codes: 0 done, 1 data problem (import rejected, contract not met), "
        "2 cannot run (arguments, file, database). See docs/cli.md.",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for register in COMMANDS:
        register(subparsers)
    return parser


def _prepare_first_view(args: argparse.Namespace) -> None:
    """Store the default period's customer summaries of the new data (services.first_view)."""
    import time

    from dashboard.services import first_view

    engine = _open_store(args, must_exist=True)
    started = time.perf_counter()
    print("Preparing the pages' default period for the first visitor...", flush=True)
    try:
        period = first_view.prepare_default_period(engine)
    except (StoreError, SQLAlchemyError) as exc:  # the write itself succeeded: say so, go on
        print(
            f"warning: could not prepare it ({first_line(exc)}); the first visit computes it.",
            file=sys.stderr,
        )
        period = None
    if period is not None:
        print(
            f"Prepared {period[0]:%d %b %Y} - {period[1]:%d %b %Y} "
            f"in {time.perf_counter() - started:.1f} s."
        )
    engine.dispose()


#: Commands after which the first view of the new data is prepared (they change the data).
PREPARE_AFTER = (cmd_demo, cmd_import, cmd_import_transactions, cmd_fit, cmd_segment)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (see the module docstring)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if getattr(args, "handler", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        code = args.handler(args)
        if code == EXIT_OK and args.handler in PREPARE_AFTER:
            _prepare_first_view(args)
        return code
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OperationalError as exc:
        where = getattr(args, "location", None)
        shown = _describe(where) if where else "the database"
        print(
            f"error: cannot use {shown}: {first_line(exc)}. Check the URL and that the "
            "database is running and not locked by another process.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except SQLAlchemyError as exc:
        where = getattr(args, "location", None)
        shown = _describe(where) if where else "the database"
        print(
            f"error: the database {shown} reported: {first_line(exc)}. Run "
            "'python -m dashboard check' to compare it with the data contract.",
            file=sys.stderr,
        )
        return EXIT_DATA
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback for the user, unless asked for
        if os.environ.get("DASHBOARD_DEBUG"):
            raise
        print(
            f"error: unexpected {type(exc).__name__}: {exc}. This is a bug; run again with "
            "DASHBOARD_DEBUG=1 to see the traceback and report it.",
            file=sys.stderr,
        )
        return EXIT_DATA


# --------------------------------------------------------------------------------------------
# The data-contract document

#: What each table is for (used when the schema's table has no ``comment``).
TABLE_PURPOSES = {
    "customers": "One row per customer: who they are, where they were won and what winning "
    "them cost. Every other table refers to it.",
    "orders": "One row per order: revenue and cost, the basis of gross margin, purchase "
    "frequency and lifetime value.",
    "service_contacts": "One row per service contact (phone, e-mail, chat): handle time, "
    "first-contact resolution and the cost to serve.",
    "surveys": "One row per survey answer: satisfaction (CSAT) and likelihood to recommend "
    "(NPS), either after a service contact or as a relationship survey.",
    "referrals": "One row per referral a customer made, with the customer it brought in when "
    "it converted.",
    "value_ratings": "What customers expect (importance) and what they get (performance), per "
    "attribute: one row per customer, rating date and attribute.",
    "opportunities": "The sales pipeline: one row per opportunity with a customer or a "
    "prospect, its outcome and value, and why it was lost.",
}

#: Example source for each view in "Pointing the app at your warehouse": (source relation,
#: {column: SQL expression}). Columns not listed fall back to ``src.<column>``.
WAREHOUSE_EXAMPLES: dict[str, tuple[str, dict[str, str]]] = {
    "customers": (
        "crm.accounts",
        {
            "customer_id": "CAST(src.account_id AS varchar)",
            "name": "src.account_name",
            "region": "src.sales_region",
            "acquisition_channel": "coalesce(src.lead_source, 'unknown')",
            "acquired_at": "CAST(src.created_at AS date)",
            "acquisition_cost": "coalesce(src.acquisition_cost, 0)",
        },
    ),
    "orders": (
        "erp.sales_orders",
        {
            "order_id": "src.order_id",
            "customer_id": "src.account_id",
            "ordered_at": "CAST(src.order_date AS date)",
            "revenue": "src.net_amount",
            "cost": "src.cogs + src.shipping_cost",
        },
    ),
    "service_contacts": (
        "support.tickets",
        {
            "contact_id": "src.ticket_id",
            "customer_id": "src.account_id",
            "agent_id": "CAST(src.assignee_id AS varchar)",
            "opened_at": "CAST(src.created_at AS date)",
            "channel": "lower(src.channel)",
            "handle_seconds": "CAST(src.handle_minutes * 60 AS integer)",
            "first_contact_resolved": "src.reopen_count = 0",
            "cost": "src.handle_minutes * 0.85",
        },
    ),
    "surveys": (
        "cx.survey_responses",
        {
            "survey_id": "src.response_id",
            "customer_id": "src.account_id",
            "answered_at": "CAST(src.submitted_at AS date)",
            "csat": "src.csat_score",
            "nps": "src.nps_score",
            "contact_id": "src.ticket_id",
        },
    ),
    "referrals": (
        "crm.referrals",
        {
            "referral_id": "src.referral_id",
            "referrer_id": "src.referring_account_id",
            "referred_customer_id": "src.converted_account_id",
            "referred_at": "CAST(src.created_at AS date)",
        },
    ),
    "value_ratings": (
        "cx.attribute_ratings",
        {
            "customer_id": "src.account_id",
            "rated_at": "CAST(src.rated_at AS date)",
            "attribute": "src.attribute",
            "importance": "src.importance",
            "performance": "src.performance",
        },
    ),
    "opportunities": (
        "crm.opportunities",
        {
            "opportunity_id": "src.opportunity_id",
            "customer_id": "src.account_id",
            "opened_at": "CAST(src.created_at AS date)",
            "closed_at": "CAST(src.closed_at AS date)",
            "outcome": "CASE WHEN src.stage = 'Closed Won' THEN 'won'\n"
            "     WHEN src.stage = 'Closed Lost' THEN 'lost'\n"
            "     ELSE 'open' END",
            "amount": "coalesce(src.amount, 0)",
            "loss_reason": "CASE WHEN src.stage = 'Closed Lost'\n     THEN src.loss_reason END",
        },
    ),
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _type_text(column) -> str:
    family = type_family(column.type)
    label = FAMILY_LABELS[family]
    length = getattr(column.type, "length", None)
    if family == "text" and length:
        return f"{label} (up to {length} characters)"
    return label


def _rule_text(column) -> str:
    info = column.info
    if "allowed" in info:
        return ", ".join(f"`{value}`" for value in info["allowed"])
    low, high = info.get("min"), info.get("max")
    if low is not None and high is not None:
        return f"{low} to {high}"
    if low is not None:
        return f"≥ {low}"
    if high is not None:
        return f"≤ {high}"
    return ""


def _table_section(table) -> list[str]:
    purpose = table.comment or TABLE_PURPOSES.get(table.name, "")
    keys = ", ".join(f"`{name}`" for name in primary_key_columns(table))
    lines = [f"## {table.name}", "", purpose, "", f"Primary key: {keys} (unique, never null).", ""]
    lines.append("| Column | Type | Unit | Meaning | Allowed values | Nullable | References |")
    lines.append("|---|---|---|---|---|---|---|")
    for column in table.columns:
        nullable = "yes" if column.nullable and not column.primary_key else "no"
        reference = column.info.get("references")
        cells = [
            f"`{column.name}`",
            _type_text(column),
            column.info.get("unit", ""),
            column.comment or "",
            _rule_text(column),
            nullable,
            f"`{reference}`" if reference else "",
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines + [""]


def _view_example(name: str) -> list[str]:
    source, expressions = WAREHOUSE_EXAMPLES.get(name, (f"source.{name}", {}))
    table = CONTRACT_TABLES[name]
    selected = [
        (expressions.get(column.name, f"src.{column.name}").split("\n"), column.name)
        for column in table.columns
    ]
    # Align the aliases on the last line of each expression (CASE spans several lines).
    width = max(len(lines[-1]) for lines, _ in selected)
    output = [f"CREATE VIEW portfolio.{name} AS", "SELECT"]
    for i, (lines, column_name) in enumerate(selected):
        comma = "," if i < len(selected) - 1 else ""
        output += [f"    {line}" for line in lines[:-1]]
        output.append(f"    {lines[-1]:<{width}} AS {column_name}{comma}")
    output.append(f"FROM {source} AS src;")
    return output


def render_contract_doc() -> str:
    """The data-contract documentation (Markdown), generated from ``schema.CONTRACT``.

    Deterministic: the same schema always gives the same text, so the committed
    docs/data-contract.md can be compared with it in a test.
    """
    tables = [CONTRACT_TABLES[name] for name in LOAD_ORDER]
    tables += [t for name, t in CONTRACT_TABLES.items() if name not in LOAD_ORDER]
    app_tables = ", ".join(f"`{name}`" for name in APP.tables)
    lines = [
        "# Data contract",
        "",
        "<!-- Generated by `python -m dashboard contract-doc` from dashboard/storage/schema.py."
        " Do not edit by hand: change the schema and regenerate. -->",
        "",
        "These are the tables the dashboard reads. Each may be a real table or a view over your "
        "own warehouse, in the database's default schema. The same definitions drive "
        "`python -m dashboard check` (does a database meet the contract?) and "
        "`python -m dashboard import` (validate a CSV file before loading it), so this page, "
        "the check and the import never disagree.",
        "",
        "Conventions:",
        "",
        "- **Types** are compared by family: integer, float-or-numeric (an integer column also "
        "satisfies it), text, date, boolean. In a table or view, a timestamp where a date is "
        "expected is an error: cast it with `CAST(... AS date)`.",
        "- **Identifiers** (every key and reference: `customer_id`, `order_id`, `contact_id`, "
        "`agent_id`, ...) are text, kept exactly as written: `00042` stays `00042`, and "
        "`0015g00000XyZabAAB` or a UUID are stored as they are. Integer ids are accepted and "
        "stored as their digits; in a view, `CAST(... AS varchar)`.",
        "- **Dates in files** (`import`, `import-transactions`, the Data page's upload): ISO "
        "`YYYY-MM-DD`, or an ISO timestamp with or without a time zone "
        "(`2024-01-31T23:30:00-05:00`), reduced to its date as written, in its own time zone "
        "(not converted to UTC); other forms with `--date-format` (`%Y%m%d` for `20240131`, "
        "`%d/%m/%Y` for `31/01/2024`).",
        "- **Amounts** (unit: currency units) are in one currency across all tables, net of tax.",
        "- **Ranges** are inclusive. **Allowed values** are case-sensitive.",
        "- **Nullable = no** means every row must have a value; primary keys are unique.",
        "- **References** are logical foreign keys: every non-null value must exist in the "
        "referenced column. No physical constraint is needed (views cannot have one); "
        "`check` counts the rows that do not resolve.",
        "",
        "Load (or import) the tables in this order, so that references resolve:",
        "",
    ]
    lines += [f"{i}. [{t.name}](#{t.name})" for i, t in enumerate(tables, 1)]
    lines.append("")
    for table in tables:
        lines += _table_section(table)
    lines += [
        "## Pointing the app at your warehouse",
        "",
        "The app does not need a copy of your data: it can read views over the tables you "
        "already have. For PostgreSQL:",
        "",
        "**1. Create the views** in a schema of their own (here `portfolio`), one per table "
        "above, with exactly the column names and types of the contract. Cast where your "
        "types differ, map your codes to the allowed values, and keep one row per key. The "
        "source tables and columns below are examples; use yours.",
        "",
        "```sql",
        "CREATE SCHEMA portfolio;",
        "",
    ]
    for table in tables:
        lines += _view_example(table.name)
        lines.append("")
    lines += [
        "-- The dashboard's database user reads the views (PostgreSQL checks the view owner's",
        "-- rights on the source tables) and creates the app's own tables in the same schema.",
        "GRANT USAGE, CREATE ON SCHEMA portfolio TO dashboard;",
        "GRANT SELECT ON ALL TABLES IN SCHEMA portfolio TO dashboard;",
        "```",
        "",
        f"The app keeps a few tables of its own next to the views ({app_tables}: the data "
        "version, fitted models and segment runs), which is why its user may create tables in "
        "the schema. The app's queries run against the views, so index the source columns "
        "used as keys and dates, or use materialized views for large sources.",
        "",
        "**2. Give the app the URL.** Make `portfolio` the default schema with the `options` "
        "parameter (`-csearch_path=portfolio`, URL-encoded), then either set an environment "
        "variable:",
        "",
        "```sh",
        f"export {ENV_VAR}='postgresql+psycopg://dashboard:PASSWORD@warehouse.example.com:5432/"
        "analytics?options=-csearch_path%3Dportfolio'",
        "```",
        "",
        "or put it in `.streamlit/secrets.toml` (never commit that file; "
        "`.streamlit/secrets.toml.example` shows the shape):",
        "",
        "```toml",
        f"[connections.{SECRETS_CONNECTION}]",
        'url = "postgresql+psycopg://dashboard:PASSWORD@warehouse.example.com:5432/analytics'
        '?options=-csearch_path%3Dportfolio"',
        "```",
        "",
        f"The URL is taken from `--db` (command line only), then `{ENV_VAR}`, then "
        "`secrets.toml`, then the built-in DuckDB file `data/portfolio.duckdb`.",
        "",
        "**3. Check it:**",
        "",
        "```sh",
        "python -m dashboard check",
        "```",
        "",
        "lists every missing table or column, wrong type, null or duplicate key, reference "
        "that does not resolve and value out of range, with counts and an example, and exits "
        "0 when the contract is met (1 when not, 2 when the database cannot be reached). "
        "All counting happens in the database. See [cli.md](cli.md) for the other commands.",
        "",
    ]
    return "\n".join(lines)


__all__ = ["CliError", "build_parser", "main", "render_contract_doc"]

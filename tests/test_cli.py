"""The command line through ``main([...])``: output, messages and exit codes."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from dashboard import cli
from dashboard.cli import main, render_contract_doc
from dashboard.storage.engine import PROJECT_ROOT

DATA = Path(__file__).resolve().parent / "data" / "import"
HEADER = "customer_id,name,region,acquisition_channel,acquired_at,acquisition_cost\n"


@pytest.fixture
def db(tmp_path) -> str:
    return f"duckdb:///{tmp_path / 'store.duckdb'}"


def test_help_via_python_dash_m():
    done = subprocess.run(
        [sys.executable, "-m", "dashboard", "--help"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    for command in ("demo", "import", "check", "contract-doc"):
        assert command in done.stdout


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().err


def test_usage_error_exits_2(capsys):
    assert main(["demo", "--customers", "many"]) == 2
    assert "'many' is not a whole number" in capsys.readouterr().err


def test_import_then_reimport(db, capsys):
    assert main(["import", "--db", db, "customers", str(DATA / "customers_good.csv")]) == 0
    out = capsys.readouterr().out
    assert "3 added" in out

    assert main(["import", "--db", db, "customers", str(DATA / "customers_good.csv")]) == 0
    out = capsys.readouterr().out
    assert "0 added" in out and "3 already in the store with identical values" in out
    assert "Nothing changed" in out


def test_rejected_import_lists_problems_on_stderr_and_writes_nothing(db, capsys):
    path = DATA / "customers_bad_types.csv"
    assert main(["import", "--db", db, "customers", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err
    assert err.startswith("error: nothing was imported into customers")
    assert "the header is row 1" in err
    assert f"{path}, row 3, column acquired_at: '15/02/2024' is not a date" in err
    assert "Traceback" not in err

    assert main(["check", "--db", db]) == 1  # the store is still empty: no tables at all
    assert "customers: table or view is missing" in capsys.readouterr().out


def test_long_problem_lists_are_capped(db, tmp_path, capsys):
    path = tmp_path / "many.csv"
    rows = "".join(f"{i},Name,North,referral,not-a-date,1\n" for i in range(1, 61))
    path.write_text(HEADER + rows, encoding="utf-8")

    assert main(["import", "--db", db, "customers", str(path)]) == 1
    err = capsys.readouterr().err
    assert "has 60 problem(s)" in err
    assert err.count("column acquired_at") == cli.MAX_ISSUES_SHOWN
    assert "... and 10 more problem(s)." in err


def test_import_unknown_table_exits_2(db, capsys):
    assert main(["import", "--db", db, "clients", str(DATA / "customers_good.csv")]) == 2
    err = capsys.readouterr().err
    assert "'clients' is not a table of the data contract" in err
    assert "customers, orders, service_contacts" in err


def test_import_missing_file_exits_2(db, tmp_path, capsys):
    assert main(["import", "--db", db, "customers", str(tmp_path / "nope.csv")]) == 2
    assert "the file does not exist" in capsys.readouterr().err


def test_bad_url_exits_2(capsys):
    assert main(["check", "--db", "not a url"]) == 2
    assert "is not a database URL" in capsys.readouterr().err


def test_check_good_store(db, capsys):
    main(["import", "--db", db, "customers", str(DATA / "customers_good.csv")])
    main(["import", "--db", db, "orders", str(DATA / "orders_good.csv")])
    capsys.readouterr()

    # Five tables are empty: warnings, but the contract is met.
    assert main(["check", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "customers: 3 rows" in out
    assert "WARNING referrals: has no rows" in out
    assert "The database meets the data contract (0 error(s), 5 warning(s))." in out


def test_check_missing_duckdb_file_exits_2(tmp_path, capsys):
    missing = tmp_path / "nothing.duckdb"
    assert main(["check", "--db", f"duckdb:///{missing}"]) == 2
    assert f"There is no DuckDB file at {missing}" in capsys.readouterr().err
    assert not missing.exists()  # and check did not create one


def test_check_unreachable_database_exits_2(capsys):
    assert main(["check", "--db", "postgresql+psycopg://dash:s3cret@127.0.0.1:9/portfolio"]) == 2
    err = capsys.readouterr().err
    assert "Cannot reach the database at postgresql+psycopg://dash:***@127.0.0.1:9/portfolio" in err
    assert "s3cret" not in err


def test_committed_contract_doc_is_up_to_date():
    committed = (PROJECT_ROOT / "docs" / "data-contract.md").read_text(encoding="utf-8")
    assert committed == render_contract_doc(), (
        "docs/data-contract.md is out of date: run 'python -m dashboard contract-doc'"
    )


def test_contract_doc_covers_every_column():
    from dashboard.storage.schema import CONTRACT_TABLES

    document = render_contract_doc()
    for table in CONTRACT_TABLES.values():
        assert f"## {table.name}" in document
        assert f"CREATE VIEW portfolio.{table.name} AS" in document
        for column in table.columns:
            assert f"| `{column.name}` |" in document
            assert f" AS {column.name}" in document
    assert "[connections.portfolio]" in document and "DASHBOARD_DB_URL" in document


def test_contract_doc_writes_and_checks(tmp_path, capsys):
    target = tmp_path / "contract.md"
    assert main(["contract-doc", "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render_contract_doc()
    assert main(["contract-doc", "--output", str(target), "--check"]) == 0

    target.write_text("stale", encoding="utf-8")
    assert main(["contract-doc", "--output", str(target), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err


def fake_demo_module(fail: bool = False) -> types.ModuleType:
    module = types.ModuleType("dashboard.services.demo")

    class DemoError(ValueError):
        pass

    def build_demo(engine, n_customers=20_000, seed=42, *, replace=False, progress=None):
        if fail:
            raise DemoError("The store already holds data. Pass replace=True to delete it.")
        progress(0.5, "half")
        progress(1.0, "done")
        return {"customers": n_customers, "orders": 3 * n_customers}

    def build_complete_demo(
        engine, n_customers, *, seed=42, replace=False, models=True, progress=None
    ):
        return build_demo(engine, n_customers, seed, replace=replace, progress=progress)

    module.DemoError = DemoError
    module.build_demo = build_demo
    module.build_complete_demo = build_complete_demo
    return module


def test_demo_prints_progress_and_counts(db, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "dashboard.services.demo", fake_demo_module())
    assert main(["demo", "--customers", "1000", "--seed", "7", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "1,000 customers (seed 7)" in out
    assert "[ 50%] half" in out and "[100%] done" in out
    assert "orders" in out and "3,000" in out


def test_demo_refusal_exits_1_with_the_cli_flag_named(db, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "dashboard.services.demo", fake_demo_module(fail=True))
    assert main(["demo", "--customers", "1000", "--db", db]) == 1
    err = capsys.readouterr().err
    assert "already holds data" in err and "--replace" in err


def test_demo_builds_a_store_that_meets_the_contract(db, capsys):
    pytest.importorskip("dashboard.services.demo")
    assert main(["demo", "--customers", "1000", "--db", db]) == 0
    assert main(["check", "--db", db]) == 0, capsys.readouterr().out


def test_demo_builds_the_complete_store_by_default(db, capsys):
    from sqlalchemy import select

    from dashboard.domain.periods import DEFAULT_PRESET, preset_period
    from dashboard.services.demo import COMPLETE_MARKER
    from dashboard.storage import clv_store, segment_store
    from dashboard.storage.audit_facts import customer_month_sets
    from dashboard.storage.customer_queries import customer_summary_periods
    from dashboard.storage.engine import make_engine
    from dashboard.storage.markers import read_marker
    from dashboard.storage.queries import data_bounds, data_version
    from dashboard.storage.value_curve_queries import LATEST_RATINGS

    assert main(["demo", "--customers", "1000", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "then fitting lifetime value and segmenting it" in out
    assert "Lifetime-value fit: run" in out and "Segments: run" in out
    store = make_engine(db)
    assert clv_store.latest_run(store) is not None
    assert segment_store.latest_run(store) is not None
    assert read_marker(store, COMPLETE_MARKER) is not None
    # The first visitor's period is prepared for the data as it now is (services.first_view).
    assert "Preparing the pages' default period" in out
    bounds = data_bounds(store)
    start, end = preset_period(DEFAULT_PRESET, bounds.last_order, bounds.first_order)
    periods = customer_summary_periods.c
    with store.connect() as conn:
        stored = conn.execute(
            select(periods.data_version, periods.period_start, periods.period_end)
        )
        assert stored.all() == [(data_version(store), start, end)]
        ratings = LATEST_RATINGS.marker.c
        stored = conn.execute(select(ratings.data_version, ratings.as_of))
        assert stored.all() == [(data_version(store), end)]
        audit_sets = conn.execute(
            select(customer_month_sets.c.data_version, customer_month_sets.c.as_of)
        )
        assert audit_sets.all() == [(data_version(store), end)]
    store.dispose()


def test_demo_no_models_builds_the_tables_only(db, capsys):
    from dashboard.services.demo import COMPLETE_MARKER
    from dashboard.storage import clv_store, segment_store
    from dashboard.storage.engine import contract_row_counts, make_engine
    from dashboard.storage.markers import read_marker

    assert main(["demo", "--customers", "1000", "--no-models", "--db", db]) == 0
    assert "--no-models" in capsys.readouterr().out
    store = make_engine(db)
    assert contract_row_counts(store)["customers"] == 1000
    assert clv_store.latest_run(store) is None
    assert segment_store.latest_run(store) is None
    assert read_marker(store, COMPLETE_MARKER) is None  # the app's next start completes it
    store.dispose()


def test_unexpected_error_is_one_line_without_traceback(db, monkeypatch, capsys):
    def boom(args):
        raise RuntimeError("kaput")

    monkeypatch.setattr(cli, "cmd_check", boom)
    monkeypatch.delenv("DASHBOARD_DEBUG", raising=False)
    assert main(["check", "--db", db]) == 1
    err = capsys.readouterr().err
    assert "unexpected RuntimeError: kaput" in err and "Traceback" not in err

"""One transactions export -> customers and orders (issue 12), on DuckDB and PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dashboard.cli import main
from dashboard.services.transactions import ColumnMap, ImportRejected, import_transactions
from dashboard.storage.engine import make_engine
from dashboard.storage.schema import customers, orders

DATA = Path(__file__).resolve().parents[1] / "data" / "transactions"
LINES = ColumnMap(
    customer="Customer",
    date="Purchased",
    revenue="Amount",
    cost="Cost",
    order="Order No",
    channel="Shop",
)


def test_lines_of_one_order_are_summed_text_keys_and_timestamps_kept(store_url):
    engine = make_engine(store_url)
    result = import_transactions(engine, DATA / "lines.csv", LINES, delimiter=";", fit=False)
    assert result.ignored_columns == ("Note",)
    assert (result.customers.inserted, result.orders.inserted) == (3, 5)
    with engine.connect() as conn:
        got = {r.order_id: r for r in conn.execute(select(orders))}
        people = {r.customer_id: r for r in conn.execute(select(customers))}
    # A1: two lines, 10.50 + 5.50, costs 4 + 2; the -05:00 timestamp keeps its own date.
    assert got["A1"].revenue == pytest.approx(16.0) and got["A1"].cost == pytest.approx(6.0)
    assert got["A1"].customer_id == "00042" and got["A1"].ordered_at == date(2024, 1, 31)
    assert got["A2"].ordered_at == date(2024, 2, 1)
    assert set(people) == {"00042", "0015g00000XyZabAAB", "3f2c9a1e-7b1d-4c55-9e2a-0d6b7f1e2a11"}
    assert people["00042"].acquired_at == date(2024, 1, 31)  # first purchase
    assert people["00042"].acquisition_channel == "Online"
    assert people["00042"].region == "unknown"

    again = import_transactions(engine, DATA / "lines.csv", LINES, delimiter=";", fit=False)
    assert not again.changed
    assert (again.customers.skipped_identical, again.orders.skipped_identical) == (3, 5)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(orders)).scalar_one() == 5
    engine.dispose()


def test_a_bad_line_writes_nothing_and_names_file_row_column(tmp_path):
    engine = make_engine(f"duckdb:///{tmp_path / 's.duckdb'}")
    columns = ColumnMap(customer="customer", date="date", revenue="revenue")
    with pytest.raises(ImportRejected) as caught:
        import_transactions(engine, DATA / "bad.csv", columns, date_format="%d/%m/%Y", fit=False)
    shown = [str(i) for i in caught.value.issues]
    assert any("row 3, column revenue: 'abc' is not a number" in s for s in shown), shown
    assert any(
        "row 4, column date: '31/02/2024' does not match the date format" in s for s in shown
    )
    from dashboard.storage.engine import existing_tables

    assert "orders" not in existing_tables(engine)  # nothing written, not even the tables
    engine.dispose()


def test_command_line_with_day_first_dates_fits_and_segments(tmp_path, capsys):
    url = f"duckdb:///{tmp_path / 'cli.duckdb'}"
    code = main(
        [
            "import-transactions",
            str(DATA / "ddmmyyyy.csv"),
            "--customer", "customer", "--date", "date", "--revenue", "revenue",
            "--date-format", "%d/%m/%Y", "--margin", "0.25", "--no-models", "--db", url,
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "customers: 2 added" in out and "orders: 3 added" in out
    assert "Preparing the pages' default period" in out  # as after any other write
    engine = make_engine(url)
    with engine.connect() as conn:
        cost = conn.execute(select(func.sum(orders.c.cost))).scalar_one()
        first = conn.execute(
            select(customers.c.acquired_at).where(customers.c.customer_id == "00042")
        ).scalar_one()
    assert cost == pytest.approx(35 * 0.75)
    assert first == date(2024, 1, 31)
    engine.dispose()


def test_cdnow_headerless_whitespace_file_by_column_number(store_url, capsys):
    url = store_url  # DuckDB and PostgreSQL: text ids through the fit and the segmentation
    path = Path(__file__).resolve().parents[1] / "data" / "cdnow" / "CDNOW_sample.txt"
    code = main(
        [
            "import-transactions", str(path), "--no-header", "--delimiter", "whitespace",
            "--customer", "1", "--date", "3", "--revenue", "5", "--date-format", "%Y%m%d",
            "--margin", "0.3", "--db", url,
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    # 2,357 customers (Fader, Hardie & Lee 2005); 6,696 purchase days (same-day lines merged).
    assert "customers: 2,357 added" in out and "orders: 6,696 added" in out
    assert "Ignored columns (not named by an option): 2, 4." in out
    assert "Lifetime-value fit: run 1." in out and "Segments: run 1." in out
    engine = make_engine(url)
    with engine.connect() as conn:
        ids = conn.execute(select(customers.c.customer_id).order_by("customer_id").limit(2)).all()
    assert [i[0] for i in ids] == ["00004", "00018"]  # leading zeros kept
    engine.dispose()

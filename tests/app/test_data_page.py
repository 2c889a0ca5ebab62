"""Pages on a store with orders only (issue 12): they say which table is missing; the Data page."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.services.importing import ImportRejected, import_upload
from dashboard.services.transactions import ColumnMap, import_transactions
from dashboard.storage.engine import make_engine

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60
LINES = ROOT / "tests" / "data" / "transactions" / "lines.csv"


@pytest.fixture(scope="module")
def orders_only_url(tmp_path_factory) -> str:
    url = f"duckdb:///{tmp_path_factory.mktemp('orders_only') / 's.duckdb'}"
    engine = make_engine(url)
    columns = ColumnMap(
        customer="Customer", date="Purchased", revenue="Amount", cost="Cost", order="Order No"
    )
    import_transactions(engine, LINES, columns, delimiter=";", fit=False)
    engine.dispose()
    return url


def run_page(name: str, url: str, monkeypatch) -> AppTest:
    monkeypatch.setenv("DASHBOARD_DB_URL", url)
    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize(
    ("page", "table"), [("service.py", "service_contacts"), ("loyalty.py", "surveys")]
)
def test_page_names_the_missing_table_not_the_filters(orders_only_url, monkeypatch, page, table):
    at = run_page(page, orders_only_url, monkeypatch)
    shown = " ".join(i.value for i in at.info)
    assert f"This store has no `{table}` data" in shown
    assert f"docs/data-contract.md#{table}" in shown
    assert "Widen" not in shown and "widen" not in shown


def test_overview_lists_what_the_store_supports(orders_only_url, monkeypatch):
    at = run_page("overview.py", orders_only_url, monkeypatch)
    text = " ".join(m.value for m in at.markdown)
    assert "**Customer value**" in text.split("unlock")[0]
    assert "**Service** would show" in text and "`service_contacts`" in text


def test_data_page_shows_tables_and_the_upload(orders_only_url, monkeypatch):
    at = run_page("data.py", orders_only_url, monkeypatch)
    frame = at.dataframe[0].value
    rows = dict(zip(frame["table"], frame["rows"], strict=True))
    assert rows["customers"] == 3 and rows["orders"] == 5 and rows["surveys"] == 0
    assert at.selectbox(key="data_upload_table").options[0] == "customers"


def test_upload_uses_the_import_rules_all_or_nothing(tmp_path):
    engine = make_engine(f"duckdb:///{tmp_path / 'u.duckdb'}")
    good = b"customer_id,name,region,acquisition_channel,acquired_at,acquisition_cost\n"
    good += b"00042,Ann,North,web,2024-01-31T10:00:00+01:00,5\n"
    result = import_upload(engine, "customers", good, "upload.csv")
    assert result.inserted == 1
    bad = b"order_id,customer_id,ordered_at,revenue,cost\nA,00042,2024-02-01,10,1\nB,99,x,10,1\n"
    with pytest.raises(ImportRejected) as caught:
        import_upload(engine, "orders", bad, "orders.csv")
    shown = [str(i) for i in caught.value.issues]
    assert any(
        s.startswith("orders.csv, row 3, column customer_id: 99 is not a known") for s in shown
    )
    assert any(s.startswith("orders.csv, row 3, column ordered_at") for s in shown)
    from sqlalchemy import func, select

    from dashboard.storage.schema import orders

    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(orders)).scalar_one() == 0
    engine.dispose()


@pytest.fixture(scope="module")
def cdnow_url(tmp_path_factory) -> str:
    """CDNOW's sample through import-transactions: ids such as 00004 (text), fitted, segmented."""
    url = f"duckdb:///{tmp_path_factory.mktemp('cdnow') / 's.duckdb'}"
    engine = make_engine(url)
    result = import_transactions(
        engine,
        ROOT / "tests" / "data" / "cdnow" / "CDNOW_sample.txt",
        ColumnMap(customer="1", date="3", revenue="5"),
        margin=0.3,
        date_format="%Y%m%d",
        delimiter="whitespace",
        header=False,
    )
    assert result.fit_run is not None and result.segment_run is not None
    engine.dispose()
    return url


@pytest.mark.parametrize("page", sorted(p.name for p in (ROOT / "pages").glob("*.py")))
def test_every_page_runs_on_text_identifiers(cdnow_url, monkeypatch, page):
    at = run_page(page, cdnow_url, monkeypatch)
    assert not at.error, [e.value for e in at.error]


def test_segment_drill_down_keeps_text_ids_as_written(cdnow_url, monkeypatch):
    at = run_page("segments.py", cdnow_url, monkeypatch)
    picked = at.selectbox(key="segment_customer").value
    assert isinstance(picked, str) and len(picked) == 5  # as written: 19339, 00004, ...

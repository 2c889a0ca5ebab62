"""The optional subscriptions table: checked and imported like the others, never required."""

from __future__ import annotations

import pytest

from dashboard.storage import queries
from dashboard.storage.check import ERROR, INFO, check_store
from dashboard.storage.engine import contract_row_counts, make_engine
from dashboard.storage.importer import ImportRejected, import_csv
from tests.audit_fixtures import load_audit

HEADER = "subscription_id,customer_id,plan,started_at,ended_at,monthly_value\n"


@pytest.fixture
def engine(store_url):
    engine = make_engine(store_url)
    load_audit(engine)
    yield engine
    engine.dispose()


def test_a_store_without_the_table_meets_the_contract(engine):
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE subscriptions")
    assert queries.missing_contract_tables(engine) == []
    assert contract_row_counts(engine)["subscriptions"] == 0
    findings = [f for f in check_store(engine).findings if f.table == "subscriptions"]
    assert [(f.severity, f.check) for f in findings] == [(INFO, "optional_table")]


def test_check_counts_an_end_before_the_start(engine):
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE subscriptions SET ended_at = DATE '2024-01-01' WHERE subscription_id = 1"
        )
    findings = [f for f in check_store(engine).findings if f.table == "subscriptions"]
    assert [(f.severity, f.check, f.count) for f in findings] == [(ERROR, "before_other", 1)]


def test_import_adds_rows_and_rejects_an_end_before_the_start(engine, tmp_path):
    good = tmp_path / "subscriptions.csv"
    good.write_text(HEADER + "6,1,premium,2024-09-01,,80\n", encoding="utf-8")
    assert import_csv(engine, "subscriptions", good).inserted == 1
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "7,2,basic,2024-05-01,2024-04-30,15\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as rejected:
        import_csv(engine, "subscriptions", bad)
    (issue,) = rejected.value.issues
    assert (issue.row, issue.column) == (2, "ended_at")
    assert "before started_at" in issue.reason
    assert contract_row_counts(engine)["subscriptions"] == 6  # five, plus the good one

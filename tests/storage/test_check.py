"""The contract check: a good store, and each kind of breach, counted in the database.

Runs against DuckDB in ``tmp_path`` and, when ``DASHBOARD_TEST_PG_URL`` is set, against
PostgreSQL in a throw-away schema that is dropped afterwards.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy import Date, Float, Integer, Numeric, String, text

from dashboard.storage.check import (
    ERROR,
    CheckReport,
    Finding,
    check_store,
    family_from_type_name,
    type_family,
)
from dashboard.storage.engine import StoreError, bulk_insert, create_schema, make_engine
from dashboard.storage.schema import CONTRACT_TABLES


def good_rows() -> dict[str, pd.DataFrame]:
    """A tiny store that meets the contract: two customers and one row of everything else."""
    day = date(2025, 3, 1)
    return {
        "customers": pd.DataFrame(
            {
                "customer_id": [1, 2],
                "name": ["Ann", "Bob"],
                "region": ["North", "South"],
                "acquisition_channel": ["referral", "paid search"],
                "acquired_at": [date(2024, 1, 1), date(2024, 2, 1)],
                "acquisition_cost": [100.0, 0.0],
            }
        ),
        "orders": pd.DataFrame(
            {
                "order_id": [10, 11],
                "customer_id": [1, 2],
                "ordered_at": [day, day],
                "revenue": [50.0, 20.0],
                "cost": [30.0, 25.0],
            }
        ),
        "service_contacts": pd.DataFrame(
            {
                "contact_id": [100],
                "customer_id": [1],
                "agent_id": ["a1"],
                "opened_at": [day],
                "channel": ["chat"],
                "handle_seconds": [300],
                "first_contact_resolved": [True],
                "cost": [4.5],
            }
        ),
        "surveys": pd.DataFrame(
            {
                "survey_id": [200, 201],
                "customer_id": [1, 2],
                "answered_at": [day, day],
                "csat": pd.array([5, None], dtype="Int64"),
                "nps": pd.array([9, 3], dtype="Int64"),
                "contact_id": pd.array([100, None], dtype="Int64"),
            }
        ),
        "referrals": pd.DataFrame(
            {
                "referral_id": [300],
                "referrer_id": [1],
                "referred_customer_id": [2],
                "referred_at": [day],
            }
        ),
        "value_ratings": pd.DataFrame(
            {
                "customer_id": [1, 1],
                "rated_at": [day, day],
                "attribute": ["price", "speed"],
                "importance": [8, 6],
                "performance": [7, 9],
            }
        ),
        "opportunities": pd.DataFrame(
            {
                "opportunity_id": [400, 401],
                "customer_id": pd.array([1, None], dtype="Int64"),
                "opened_at": [day, day],
                "closed_at": [day, None],
                "outcome": ["lost", "open"],
                "amount": [1000.0, 500.0],
                "loss_reason": ["price", None],
            }
        ),
    }


@pytest.fixture
def engine(store_url):
    engine = make_engine(store_url)
    create_schema(engine)
    with engine.begin() as conn:
        for name, frame in good_rows().items():
            bulk_insert(conn, CONTRACT_TABLES[name], frame)
    yield engine
    engine.dispose()


def run(engine, sql: str | list[str]) -> None:
    with engine.begin() as conn:
        for statement in [sql] if isinstance(sql, str) else sql:
            conn.execute(text(statement))


def only(report: CheckReport, check: str) -> Finding:
    found = [f for f in report.findings if f.check == check]
    assert len(found) == 1, report.findings
    return found[0]


def test_good_store_meets_the_contract(engine):
    report = check_store(engine)

    assert report.ok, report.findings
    assert report.findings == ()
    assert report.row_counts["customers"] == 2 and report.row_counts["value_ratings"] == 2
    assert report.verdict() == "The database meets the data contract (0 error(s), 0 warning(s))."


def test_missing_table(engine):
    run(engine, "DROP TABLE referrals")
    report = check_store(engine)

    finding = only(report, "missing_table")
    assert (finding.severity, finding.where) == (ERROR, "referrals")
    assert not report.ok
    assert "does NOT meet" in report.verdict()


def test_missing_column_and_wrong_type(engine):
    run(
        engine,
        [
            "DROP TABLE orders",
            "CREATE TABLE orders (order_id BIGINT, customer_id VARCHAR(20), "
            "ordered_at TIMESTAMP, revenue DOUBLE PRECISION)",
            "INSERT INTO orders VALUES (10, '1', TIMESTAMP '2025-03-01 10:00:00', 50)",
        ],
    )
    report = check_store(engine)

    wrong = {f.column: f for f in report.findings if f.check == "wrong_type"}
    assert set(wrong) == {"order_id", "ordered_at"}  # identifiers are text
    assert "expected text" in wrong["order_id"].message
    assert "CAST(order_id AS varchar)" in wrong["order_id"].message
    assert "CAST(... AS date)" in wrong["ordered_at"].message
    missing = only(report, "missing_column")
    assert missing.where == "orders.cost"
    assert not report.ok


def test_orphan_references(engine):
    run(
        engine,
        [
            "INSERT INTO orders VALUES (12, 77, DATE '2025-03-02', 5, 1)",
            "INSERT INTO orders VALUES (13, 78, DATE '2025-03-02', 5, 1)",
            "INSERT INTO surveys VALUES (202, 1, DATE '2025-03-02', 4, 8, 999)",
        ],
    )
    report = check_store(engine)

    orphans = {f.where: f for f in report.findings if f.check == "orphan"}
    assert set(orphans) == {"orders.customer_id", "surveys.contact_id"}
    assert orphans["orders.customer_id"].count == 2
    assert orphans["orders.customer_id"].example == "77"
    assert "customers.customer_id that does not exist" in orphans["orders.customer_id"].message
    assert orphans["surveys.contact_id"].count == 1


def test_out_of_range_and_not_allowed(engine):
    run(
        engine,
        [
            "INSERT INTO orders VALUES (12, 1, DATE '2025-03-02', -3.5, 1)",
            "INSERT INTO value_ratings VALUES (2, DATE '2025-03-02', 'price', 11, 0)",
            "INSERT INTO service_contacts VALUES (101, 1, 'a1', DATE '2025-03-02', 'Fax', 5, "
            "false, 1)",
        ],
    )
    report = check_store(engine)

    by_where = {(f.where, f.check): f for f in report.findings}
    below = by_where[("orders.revenue", "below_min")]
    assert (below.count, below.example) == (1, "-3.5")
    assert "below the minimum 0 (currency units)" in below.message
    assert by_where[("value_ratings.importance", "above_max")].example == "11"
    assert by_where[("value_ratings.performance", "below_min")].count == 1
    not_allowed = by_where[("service_contacts.channel", "not_allowed")]
    assert not_allowed.count == 1 and "'Fax' (1)" in not_allowed.message
    assert len(report.errors) == 4


def test_views_with_duplicate_and_null_keys(engine):
    run(
        engine,
        [
            "ALTER TABLE customers RENAME TO crm_accounts",
            "CREATE VIEW customers AS SELECT * FROM crm_accounts "
            "UNION ALL SELECT * FROM crm_accounts WHERE customer_id = '2' "
            "UNION ALL SELECT NULL, 'Nobody', 'North', 'x', DATE '2024-01-01', 0",
        ],
    )
    report = check_store(engine)

    duplicate = only(report, "duplicate_key")
    assert (duplicate.where, duplicate.count, duplicate.example) == (
        "customers.customer_id",
        1,
        "customer_id=2",
    )
    null_key = only(report, "null_key")
    assert (null_key.where, null_key.count) == ("customers.customer_id", 1)


def test_empty_table_is_a_warning(engine):
    run(engine, "DELETE FROM referrals")
    report = check_store(engine)
    finding = only(report, "empty_table")
    assert finding.severity == "warning" and report.ok


def test_unreachable_database_names_the_url_without_its_password():
    engine = make_engine("postgresql+psycopg://dash:s3cret@127.0.0.1:9/portfolio")
    with pytest.raises(StoreError) as caught:
        check_store(engine)
    message = str(caught.value)
    assert "Cannot reach the database at postgresql+psycopg://dash:***@127.0.0.1:9/portfolio" in (
        message
    )
    assert "s3cret" not in message


def test_finding_reads_as_one_line():
    finding = Finding(ERROR, "orders", "customer_id", "orphan", "2 row(s) refer to ...", 2, "77")
    assert str(finding) == "ERROR   orders.customer_id: 2 row(s) refer to ... (e.g. 77)"


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("BIGINT", "integer"),
        ("integer", "integer"),
        ("DECIMAL(18,0)", "integer"),
        ("numeric", "float"),
        ("DECIMAL(12,2)", "float"),
        ("double precision", "float"),
        ("FLOAT", "float"),
        ("character varying", "text"),
        ("VARCHAR", "text"),
        ("date", "date"),
        ("timestamp without time zone", "timestamp"),
        ("BOOLEAN", "boolean"),
        ("INTERVAL", "unknown"),
    ],
)
def test_family_from_type_name(name, family):
    assert family_from_type_name(name) == family


def test_type_family_of_sqlalchemy_types():
    assert type_family(Float()) == "float"  # not a Numeric subclass in SQLAlchemy 2.1
    assert type_family(Numeric(18, 0)) == "integer"
    assert type_family(Numeric(12, 2)) == "float"
    assert type_family(Integer()) == "integer"
    assert type_family(String(10)) == "text"
    assert type_family(Date()) == "date"

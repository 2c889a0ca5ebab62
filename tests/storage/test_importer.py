"""CSV import: every validation case, idempotent re-import, all-or-nothing writes.

Runs against DuckDB in ``tmp_path`` and, when ``DASHBOARD_TEST_PG_URL`` is set, against
PostgreSQL in a throw-away schema that is dropped afterwards.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import BigInteger, Column, MetaData, Table, func, select, text

from dashboard.storage import importer
from dashboard.storage.engine import (
    StoreError,
    existing_tables,
    make_engine,
    read_data_version,
)
from dashboard.storage.importer import (
    ImportIssue,
    ImportRejected,
    UnknownTableError,
    import_csv,
    parse_frame,
    read_csv_bytes,
    validate_frame,
)
from dashboard.storage.schema import CONTRACT_TABLES, customers, orders, value_ratings

DATA = Path(__file__).resolve().parents[1] / "data" / "import"


@pytest.fixture
def engine(store_url):
    engine = make_engine(store_url)
    yield engine
    engine.dispose()


@pytest.fixture
def store_with_customers(engine):
    import_csv(engine, "customers", DATA / "customers_good.csv")
    return engine


def count(engine, table: Table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def rejected(engine, table: str, path: Path, **kwargs) -> list[ImportIssue]:
    with pytest.raises(ImportRejected) as caught:
        import_csv(engine, table, path, **kwargs)
    return list(caught.value.issues)


def find(issues: list[ImportIssue], row: int | None, column: str | None) -> ImportIssue:
    matches = [i for i in issues if i.row == row and i.column == column]
    assert matches, f"no issue at row {row}, column {column} in {issues}"
    return matches[0]


# ------------------------------------------------------------------------------------------
# Writing, re-importing


def test_good_file_is_imported_and_creates_the_schema(engine):
    result = import_csv(engine, "customers", DATA / "customers_good.csv")

    assert (result.inserted, result.skipped_identical, result.replaced) == (3, 0, 0)
    assert set(CONTRACT_TABLES) <= existing_tables(engine)
    assert count(engine, customers) == 3
    assert result.data_version == read_data_version(engine)
    with engine.connect() as conn:
        row = conn.execute(select(customers).where(customers.c.customer_id == "2")).one()
    assert row.name == "Bakery Bros, Ltd"  # quoted comma
    assert row.acquired_at == date(2024, 2, 1)
    assert row.acquisition_cost == 80.0


def test_reimporting_the_same_file_adds_nothing(store_with_customers):
    engine = store_with_customers
    import_csv(engine, "orders", DATA / "orders_good.csv")
    version = read_data_version(engine)

    again = import_csv(engine, "orders", DATA / "orders_good.csv")

    # 1234567.89 comes back from DuckDB's single-precision FLOAT as 1234567.875: still equal.
    assert (again.inserted, again.skipped_identical, again.replaced) == (0, 4, 0)
    assert not again.changed and again.data_version is None
    assert read_data_version(engine) == version
    assert count(engine, orders) == 4


def test_reimport_with_a_composite_key(store_with_customers):
    engine = store_with_customers
    import_csv(engine, "value_ratings", DATA / "value_ratings_good.csv")
    again = import_csv(engine, "value_ratings", DATA / "value_ratings_good.csv")
    assert again.skipped_identical == 4
    assert count(engine, value_ratings) == 4


def test_same_key_with_other_values_is_an_error_naming_the_key(store_with_customers):
    issues = rejected(store_with_customers, "customers", DATA / "customers_changed.csv")

    (issue,) = issues
    assert (issue.row, issue.column) == (2, "customer_id")
    assert "customer_id=1 is already in the store with different values" in issue.reason
    assert "name: store 'Ann Archer', file 'Ann Archer-Smith'" in issue.reason
    assert "--update" in issue.reason


def test_update_replaces_the_stored_row(store_with_customers):
    engine = store_with_customers
    before = read_data_version(engine)
    result = import_csv(engine, "customers", DATA / "customers_changed.csv", update=True)

    assert (result.inserted, result.replaced) == (0, 1)
    assert count(engine, customers) == 3
    with engine.connect() as conn:
        name = conn.execute(
            select(customers.c.name).where(customers.c.customer_id == "1")
        ).scalar_one()
    assert name == "Ann Archer-Smith"
    assert read_data_version(engine) != before


def test_a_failed_write_leaves_the_store_unchanged(store_with_customers, monkeypatch):
    """Update deletes, then inserts: if the insert fails, the delete is rolled back too."""
    engine = store_with_customers

    def broken_insert(*args, **kwargs):
        raise importer.SQLAlchemyError("disk full")

    monkeypatch.setattr(importer, "bulk_insert", broken_insert)
    with pytest.raises(StoreError, match="nothing was imported: disk full"):
        import_csv(engine, "customers", DATA / "customers_changed.csv", update=True)
    with engine.connect() as conn:
        name = conn.execute(
            select(customers.c.name).where(customers.c.customer_id == "1")
        ).scalar_one()
    assert name == "Ann Archer"


def test_importing_into_a_view_is_refused(store_with_customers):
    engine = store_with_customers
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE orders"))
        conn.execute(
            text(
                "CREATE VIEW orders AS SELECT customer_id AS order_id, customer_id, "
                "acquired_at AS ordered_at, acquisition_cost AS revenue, "
                "acquisition_cost AS cost FROM customers"
            )
        )
    with pytest.raises(StoreError, match="orders is a view"):
        import_csv(engine, "orders", DATA / "orders_good.csv")


# ------------------------------------------------------------------------------------------
# Validation: each case names file, row, column and reason, and writes nothing


def test_wrong_types_bad_dates_nulls_and_ranges(engine):
    path = DATA / "customers_bad_types.csv"
    issues = rejected(engine, "customers", path)

    assert all(issue.file == str(path) for issue in issues)
    assert not [i for i in issues if i.row == 2]  # 'abc' is a valid (text) identifier
    assert (
        "'15/02/2024' is not a date in the form YYYY-MM-DD" in find(issues, 3, "acquired_at").reason
    )
    assert "'2024-02-30' is not a valid calendar date" in find(issues, 4, "acquired_at").reason
    assert "no thousands separators" in find(issues, 4, "acquisition_cost").reason
    assert "empty, but this column is required" in find(issues, 5, "name").reason
    assert (
        "-5 is below the minimum 0 (currency units)" in find(issues, 5, "acquisition_cost").reason
    )
    assert len(issues) == 5
    assert existing_tables(engine) == set()  # not even the schema was left behind


def test_issue_reads_as_file_row_column_reason():
    issue = ImportIssue("orders.csv", 3, "customer_id", "'abc' is not a whole number")
    assert str(issue) == "orders.csv, row 3, column customer_id: 'abc' is not a whole number"
    assert str(ImportIssue("x.csv", None, None, "the file is empty")) == "x.csv: the file is empty"


def test_missing_required_column(store_with_customers):
    issues = rejected(store_with_customers, "orders", DATA / "orders_missing_column.csv")
    issue = find(issues, 1, "ordered_at")
    assert "required column is missing from the header" in issue.reason
    assert count(store_with_customers, orders) == 0


def test_unknown_extra_column_is_an_error(store_with_customers):
    issues = rejected(store_with_customers, "orders", DATA / "orders_extra_column.csv")
    assert "orders has no such column" in find(issues, 1, "coupon").reason
    assert count(store_with_customers, orders) == 0


def test_misspelt_column_gets_a_suggestion():
    frame = pd.DataFrame(
        {
            "order_id": ["1"],
            "customerid": ["1"],
            "ordered_at": ["2024-01-01"],
            "revenue": ["1"],
            "cost": ["1"],
        }
    )
    issues = validate_frame("orders", frame, {"customers.customer_id": {1}})
    assert "did you mean 'customer_id'?" in find(issues, 1, "customerid").reason
    assert find(issues, 1, "customer_id")  # and the required one is reported missing


def test_unknown_customer(store_with_customers):
    path = DATA / "orders_unknown_customer.csv"
    issues = rejected(store_with_customers, "orders", path)

    (issue,) = issues
    assert (issue.file, issue.row, issue.column) == (str(path), 3, "customer_id")
    assert "no customers.customer_id = 99 in the store" in issue.reason
    assert count(store_with_customers, orders) == 0  # row 2 was fine, but nothing is written


def test_unknown_customer_in_an_empty_store(engine):
    issues = rejected(engine, "orders", DATA / "orders_good.csv")
    assert [i.row for i in issues] == [2, 3, 4, 5]
    assert existing_tables(engine) == set()


def test_references_resolve_against_the_rows_of_the_same_file():
    """A table that refers to itself: a key defined further down the file counts."""
    people = Table(
        "people",
        MetaData(),
        Column("person_id", BigInteger, primary_key=True, info={"min": 1}),
        Column("mentor_id", BigInteger, info={"references": "people.person_id"}),
    )
    frame = pd.DataFrame({"person_id": ["1", "2", "3"], "mentor_id": ["3", "", "7"]})

    issues = validate_frame(people, frame, {"people.person_id": {7}})
    assert issues == []
    issues = validate_frame(people, frame, {})
    assert [(i.row, i.column) for i in issues] == [(4, "mentor_id")]
    assert "no people.person_id = 7 in the store or this file" in issues[0].reason


def test_duplicate_keys_within_the_file(store_with_customers):
    issues = rejected(store_with_customers, "orders", DATA / "orders_duplicate_keys.csv")
    (issue,) = issues
    assert (issue.row, issue.column) == (4, "order_id")
    assert "duplicate key order_id=30: already on row 2" in issue.reason


def test_allowed_values_ranges_and_booleans(store_with_customers):
    issues = rejected(store_with_customers, "service_contacts", DATA / "service_contacts_rules.csv")

    assert "did you mean 'phone'? Values are case-sensitive" in find(issues, 2, "channel").reason
    assert "'fax' is not one of: phone, email, chat" in find(issues, 3, "channel").reason
    assert "90000 is above the maximum 86400 (seconds)" in find(issues, 3, "handle_seconds").reason
    assert "'maybe' is not a boolean" in find(issues, 3, "first_contact_resolved").reason
    assert len(issues) == 4


def test_boolean_spellings(store_with_customers):
    import_csv(store_with_customers, "service_contacts", DATA / "service_contacts_good.csv")
    from dashboard.storage.schema import service_contacts

    with store_with_customers.connect() as conn:
        resolved = (
            conn.execute(
                select(service_contacts.c.first_contact_resolved).order_by(
                    service_contacts.c.contact_id
                )
            )
            .scalars()
            .all()
        )
    assert resolved == [True, False, True, False, True, False]


def test_nulls_in_required_columns_and_optional_columns_left_out(store_with_customers):
    issues = rejected(store_with_customers, "surveys", DATA / "surveys_nullable.csv")

    # Rows 2-3 are fine: csat/nps may be empty and contact_id (nullable) is not in the header.
    assert {i.row for i in issues} == {4}
    assert (
        "the value is empty, but this column is required" in find(issues, 4, "customer_id").reason
    )
    assert "6 is above the maximum 5 (1-5 scale)" in find(issues, 4, "csat").reason
    assert "11 is above the maximum 10 (0-10 scale)" in find(issues, 4, "nps").reason


def test_empty_file(engine):
    (issue,) = rejected(engine, "customers", DATA / "customers_empty.csv")
    assert issue.row is None
    assert "the file is empty" in issue.reason
    assert "customer_id,name,region" in issue.reason  # says what the header should be


def test_header_only_file(engine):
    (issue,) = rejected(engine, "customers", DATA / "customers_header_only.csv")
    assert "header but no data rows" in issue.reason
    assert existing_tables(engine) == set()


def test_non_utf8_file(engine):
    (issue,) = rejected(engine, "customers", DATA / "customers_latin1.csv")
    assert issue.row == 2
    assert "not UTF-8" in issue.reason
    assert "byte offset 76" in issue.reason  # the 0xFC of "Müller"
    assert "0xFC" in issue.reason and "Windows-1252" in issue.reason


def test_utf8_with_bom_and_crlf_is_fine(engine):
    import_csv(engine, "customers", DATA / "customers_bom_crlf.csv")
    with engine.connect() as conn:
        assert conn.execute(select(customers.c.name)).scalar_one() == "Zoë Ünal"


def test_rows_with_the_wrong_number_of_values(engine):
    issues = rejected(engine, "customers", DATA / "customers_ragged.csv")
    # Row 3 ends in a trailing comma, which is tolerated.
    (issue,) = issues
    assert issue.row == 2
    assert "has 7 values but the header has 6 columns" in issue.reason


def test_semicolon_separated_file_gets_a_hint(engine):
    issues = rejected(engine, "customers", DATA / "customers_semicolon.csv")
    assert any("separated by ';'" in issue.reason for issue in issues)


def test_unknown_table_lists_the_valid_ones(engine):
    with pytest.raises(UnknownTableError) as caught:
        import_csv(engine, "custmers", DATA / "customers_good.csv")
    message = str(caught.value)
    assert "Did you mean 'customers'?" in message
    assert "customers, orders, service_contacts, surveys, referrals" in message


# ------------------------------------------------------------------------------------------
# The pure functions the app can use


def test_parse_frame_converts_to_contract_types():
    content = read_csv_bytes((DATA / "orders_good.csv").read_bytes(), "orders.csv")
    parsed = parse_frame("orders", content.frame, file="orders.csv")

    assert parsed.issues == ()
    assert parsed.values["order_id"].tolist() == ["10", "11", "12", "13"]
    assert parsed.values["ordered_at"].iloc[0] == date(2024, 2, 1)
    assert parsed.values["revenue"].iloc[1] == pytest.approx(99.9)


def test_validate_frame_accepts_typed_cells_and_counts_rows_from_two():
    frame = pd.DataFrame(
        {
            "order_id": [1, 2],
            "customer_id": [5, 6],
            "ordered_at": [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02 13:00")],
            "revenue": [10.0, float("nan")],
            "cost": [1.5, 2],
        }
    )
    issues = validate_frame(orders, frame, {"customers.customer_id": {"5", "6"}}, file="upload")

    # The timestamp is reduced to its date; integer ids are kept as their digits.
    assert [(i.file, i.row, i.column) for i in issues] == [("upload", 3, "revenue")]
    assert "empty, but this column is required" in issues[0].reason
    parsed = parse_frame(orders, frame)
    assert parsed.values["customer_id"].tolist() == ["5", "6"]
    assert parsed.values["ordered_at"].tolist() == [date(2024, 1, 1), date(2024, 1, 2)]


def test_validate_frame_tells_identical_from_conflicting_stored_rows():
    frame = pd.DataFrame(
        {
            "order_id": ["1", "2"],
            "customer_id": ["5", "5"],
            "ordered_at": ["2024-01-01"] * 2,
            "revenue": ["10", "10"],
            "cost": ["1", "1"],
        }
    )
    stored = {
        ("1",): ("1", "5", date(2024, 1, 1), 10.0, 1.0),
        ("2",): ("2", "5", date(2024, 1, 1), 12.0, 1.0),
    }
    known = {"customers.customer_id": {"5"}}

    issues = validate_frame("orders", frame, known, existing_rows=stored)
    assert [(i.row, i.column) for i in issues] == [(3, "order_id")]
    assert "revenue: store '12.0', file '10.0'" in issues[0].reason
    assert validate_frame("orders", frame, known, existing_rows=stored, update=True) == []


def test_integer_column_rules():
    size = 4
    frame = pd.DataFrame(
        {
            "contact_id": [str(i) for i in range(size)],
            "customer_id": ["1"] * size,
            "agent_id": ["a"] * size,
            "opened_at": ["2024-01-01"] * size,
            "channel": ["phone"] * size,
            "handle_seconds": ["7.0", "-1", "1 000", "99999999999999999999"],
            "first_contact_resolved": ["true"] * size,
            "cost": ["1"] * size,
        }
    )
    issues = validate_frame("service_contacts", frame, {"customers.customer_id": {"1"}})
    reasons = {i.row: i.reason for i in issues if i.column == "handle_seconds"}
    assert 2 not in reasons  # "7.0" is the whole number 7
    assert "-1 is below the minimum 0" in reasons[3]
    assert "without thousands separators" in reasons[4]
    assert "too large" in reasons[5]


def test_text_longer_than_the_column_allows():
    frame = pd.DataFrame(
        {
            "customer_id": ["1"],
            "name": ["x" * 201],
            "region": ["r"],
            "acquisition_channel": ["c"],
            "acquired_at": ["2024-01-01"],
            "acquisition_cost": ["1"],
        }
    )
    (issue,) = validate_frame("customers", frame)
    assert issue.column == "name"
    assert "201 characters long; at most 200" in issue.reason


def test_update_with_a_composite_key(store_with_customers, tmp_path):
    engine = store_with_customers
    import_csv(engine, "value_ratings", DATA / "value_ratings_good.csv")
    changed = tmp_path / "ratings.csv"
    changed.write_text(
        "customer_id,rated_at,attribute,importance,performance\n"
        "1,2024-06-01,price,8,6\n"  # identical: skipped
        "1,2024-07-01,price,8,9\n"  # performance 7 -> 9: replaced
        "2,2024-07-01,price,5,5\n",  # new
        encoding="utf-8",
    )
    issues = rejected(engine, "value_ratings", changed)
    assert "customer_id=1, rated_at=2024-07-01, attribute=price" in issues[0].reason

    result = import_csv(engine, "value_ratings", changed, update=True)
    assert (result.inserted, result.replaced, result.skipped_identical) == (1, 1, 1)
    assert count(engine, value_ratings) == 5
    with engine.connect() as conn:
        performance = conn.execute(
            select(value_ratings.c.performance).where(
                value_ratings.c.customer_id == "1", value_ratings.c.rated_at == date(2024, 7, 1)
            )
        ).scalar_one()
    assert performance == 9


# ------------------------------------------------------------------------------------------
# Text identifiers, timestamps and date formats (issue 12)


def test_text_keys_timestamps_and_a_date_format_on_each_backend(engine, tmp_path):
    people = tmp_path / "customers.csv"
    people.write_text(
        "customer_id,name,region,acquisition_channel,acquired_at,acquisition_cost\n"
        "00042,Ann,North,web,2024-01-31T23:30:00-05:00,1\n"
        "0015g00000XyZabAAB,Bob,South,web,2024-02-01 08:15,2\n"
        "3f2c9a1e-7b1d-4c55-9e2a-0d6b7f1e2a11,Cy,South,web,2024-02-02T00:30:00Z,3\n",
        encoding="utf-8",
    )
    import_csv(engine, "customers", people)
    sales = tmp_path / "orders.csv"
    sales.write_text(
        "order_id,customer_id,ordered_at,revenue,cost\nA-1,00042,31/01/2024,10,1\n",
        encoding="utf-8",
    )
    assert import_csv(engine, "orders", sales, date_format="%d/%m/%Y").inserted == 1
    with engine.connect() as conn:
        stored = dict(conn.execute(select(customers.c.customer_id, customers.c.acquired_at)).all())
        order = conn.execute(select(orders)).one()
    # The date as written, in the value's own time zone (not converted to UTC).
    assert stored == {
        "00042": date(2024, 1, 31),
        "0015g00000XyZabAAB": date(2024, 2, 1),
        "3f2c9a1e-7b1d-4c55-9e2a-0d6b7f1e2a11": date(2024, 2, 2),
    }
    assert (order.order_id, order.customer_id, order.ordered_at) == (
        "A-1",
        "00042",
        date(2024, 1, 31),
    )
    # "42" is another customer than "00042": the reference does not resolve.
    other = tmp_path / "other.csv"
    other.write_text("order_id,customer_id,ordered_at,revenue,cost\nA-2,42,2024-02-01,1,0\n")
    issues = rejected(engine, "orders", other)
    assert "42 is not a known customer_id of customers" in find(issues, 2, "customer_id").reason


def test_date_format_and_timestamp_messages():
    frame = pd.DataFrame(
        {
            "order_id": ["1", "2", "3"],
            "customer_id": ["5"] * 3,
            "ordered_at": ["20240131", "2024-01-31T25:00", "31/01/2024"],
            "revenue": ["1"] * 3,
            "cost": ["0"] * 3,
        }
    )
    known = {"customers.customer_id": {"5"}}
    reasons = {i.row: i.reason for i in validate_frame("orders", frame, known)}
    assert "--date-format %Y%m%d" in reasons[2]
    assert "not a valid calendar date or time" in reasons[3]
    assert "--date-format %d/%m/%Y" in reasons[4]
    day_first = validate_frame("orders", frame, known, date_format="%d/%m/%Y")
    assert [i.row for i in day_first] == [2, 3]
    assert "does not match the date format %d/%m/%Y (e.g. 31/01/2024)" in day_first[0].reason

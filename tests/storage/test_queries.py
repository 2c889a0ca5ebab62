"""Queries against the tiny hand-built portfolio (tests/fixtures.py), on DuckDB and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd
import pytest

from dashboard.scope import Scope
from dashboard.storage import queries
from dashboard.storage.schema import CONTRACT
from tests.fixtures import PERIOD

PERIOD_FILTERS = Scope(*PERIOD)


def totals(engine, scope=PERIOD_FILTERS) -> dict[str, dict]:
    frame = queries.period_totals(engine, scope)
    return {row["period"]: row for row in frame.to_dict("records")}


def test_period_totals_current_period(tiny_engine):
    current = totals(tiny_engine)["current"]
    # Orders 2, 3, 5, 6 fall in April-June 2024.
    assert current["orders"] == 4
    assert current["revenue"] == pytest.approx(100 + 300 + 50 + 400)
    assert current["order_cost"] == pytest.approx(50 + 150 + 60 + 200)
    # Customers 1-3 were acquired by 30 June; only Cara (3) in the period.
    assert current["customers"] == 3
    assert current["new_customers"] == 1
    # An order in the 365 days to 30 June: customers 1, 2 and 3 (Dan orders in July).
    assert current["active_customers"] == 3
    # Contacts 1-3; costs 10 + 5 + 15; two resolved first time; 600 + 300 + 900 seconds.
    assert (current["contacts"], current["service_cost"]) == (3, pytest.approx(30.0))
    assert current["fcr_contacts"] == 2
    assert current["handle_seconds"] == 1800
    # Surveys 1-4: CSAT 5, 2, 4 (survey 4 has none) -> 2 of 3 in the top two boxes.
    assert (current["csat_answers"], current["csat_top2"], current["csat_sum"]) == (3, 2, 11)
    # NPS 10, 3, 8, 9 -> promoters 10 and 9, detractor 3, passive 8.
    assert (current["nps_answers"], current["promoters"], current["detractors"]) == (4, 2, 1)
    assert current["referrals"] == 1


def test_period_totals_of_both_periods_in_one_statement(tiny_engine):
    # One statement: on a warehouse each costs about a second (docs/performance.md).
    sent = statements_of(tiny_engine, lambda: queries.period_totals(tiny_engine, PERIOD_FILTERS))
    assert len(sent) == 1


def test_period_totals_previous_period_has_same_length(tiny_engine):
    previous = totals(tiny_engine)["previous"]
    assert previous["start"] == date(2024, 1, 1) and previous["end"] == date(2024, 3, 31)
    assert previous["orders"] == 2
    assert previous["revenue"] == pytest.approx(280.0)
    assert previous["customers"] == 2 and previous["active_customers"] == 2
    assert previous["contacts"] == 1 and previous["service_cost"] == pytest.approx(3.0)
    assert (previous["nps_answers"], previous["detractors"]) == (1, 1)


def test_region_and_channel_filters_scope_every_table(tiny_engine):
    north = totals(tiny_engine, replace(PERIOD_FILTERS, regions=("North",)))["current"]
    assert north["revenue"] == pytest.approx(100 + 300 + 50)
    assert north["customers"] == 2
    assert north["contacts"] == 3
    assert north["nps_answers"] == 3
    search = totals(tiny_engine, replace(PERIOD_FILTERS, channels=("search",)))["current"]
    assert search["revenue"] == pytest.approx(100 + 300 + 400)
    assert search["contacts"] == 1


def test_row_level_access_cannot_be_widened(tiny_engine):
    only_south = replace(PERIOD_FILTERS, allowed_regions=("South",))
    assert totals(tiny_engine, only_south)["current"]["revenue"] == pytest.approx(400.0)
    # Asking for North while allowed only South shows nothing, not North.
    asked_north = replace(only_south, regions=("North",))
    assert totals(tiny_engine, asked_north)["current"]["revenue"] == 0


def test_filter_with_no_rows_returns_zeros(tiny_engine):
    nowhere = totals(tiny_engine, replace(PERIOD_FILTERS, regions=("Atlantis",)))["current"]
    assert nowhere["orders"] == 0 and nowhere["revenue"] == 0 and nowhere["customers"] == 0


def test_monthly_activity(tiny_engine):
    monthly = queries.monthly_activity(tiny_engine, PERIOD_FILTERS).set_index("month")
    april, may, june = (pd.Timestamp(f"2024-0{m}-01") for m in (4, 5, 6))
    assert monthly.loc[april, "revenue"] == pytest.approx(100.0)
    assert monthly.loc[april, "service_cost"] == pytest.approx(10.0)
    assert monthly.loc[may, "revenue"] == 0 and monthly.loc[may, "contacts"] == 2
    assert monthly.loc[june, "gross_margin"] == pytest.approx(150 - 10 + 200)


def test_data_bounds(tiny_engine):
    bounds = queries.data_bounds(tiny_engine)
    assert (bounds.first_order, bounds.last_order) == (date(2024, 1, 10), date(2024, 7, 15))
    assert bounds.regions == ("North", "South")
    assert bounds.channels == ("partner", "referral", "search")
    assert bounds.customers == 4 and not bounds.is_empty


def statements_of(engine, call) -> list[str]:
    """The SQL statements ``call()`` sends to ``engine``."""
    from sqlalchemy import event

    sent = []

    def record(conn, cursor, statement, *args):
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return sent


def test_data_bounds_in_one_statement_also_within_regions_and_when_empty(tiny_engine):
    # One statement: on a warehouse each costs about a second (docs/performance.md).
    sent = statements_of(tiny_engine, lambda: queries.data_bounds(tiny_engine, ("South",)))
    assert len(sent) == 1
    south = queries.data_bounds(tiny_engine, ("South",))
    assert (south.regions, south.channels, south.customers) == (
        ("South",),
        ("partner", "search"),
        2,
    )
    assert south.last_order == date(2024, 7, 15)  # the store's dates, whoever asks
    nobody = queries.data_bounds(tiny_engine, ("West",))
    assert (nobody.regions, nobody.customers, nobody.is_empty) == ((), 0, True)
    with tiny_engine.begin() as conn:
        for table in reversed(CONTRACT.sorted_tables):
            conn.execute(table.delete())
    empty = queries.data_bounds(tiny_engine)
    assert (empty.first_order, empty.last_order, empty.customers) == (None, None, 0)


def test_tables_with_rows_in_one_statement(tiny_engine):
    from dashboard.storage import presence
    from dashboard.storage.engine import existing_tables

    sent = statements_of(tiny_engine, lambda: presence.tables_with_rows(tiny_engine))
    listing = statements_of(tiny_engine, lambda: existing_tables(tiny_engine))
    assert len(sent) - len(listing) == 1  # the table listing, then one statement
    assert presence.tables_with_rows(tiny_engine) >= {"customers", "orders", "surveys"}
    with tiny_engine.begin() as conn:
        conn.execute(CONTRACT.tables["surveys"].delete())
    assert "surveys" not in presence.tables_with_rows(tiny_engine)


def test_data_version_changes_on_write(tiny_engine):
    from dashboard.storage.engine import bump_data_version

    before = queries.data_version(tiny_engine)
    bump_data_version(tiny_engine)
    assert queries.data_version(tiny_engine) != before


def test_missing_tables_are_listed(tmp_path):
    from dashboard.storage.engine import make_engine

    engine = make_engine(f"duckdb:///{tmp_path / 'empty.duckdb'}")
    assert queries.missing_contract_tables(engine)[:2] == ["customers", "orders"]

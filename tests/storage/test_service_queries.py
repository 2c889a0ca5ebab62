"""Service queries against hand-computed values, on DuckDB and PostgreSQL.

The store is ``tests/service_fixtures.py`` (its docstring lists what each customer is for);
the tiny portfolio of ``tests/fixtures.py`` checks the period totals.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy import column, create_engine, literal, select, table
from sqlalchemy.dialects import postgresql, sqlite

from dashboard.scope import Scope
from dashboard.storage.engine import make_engine
from dashboard.storage.service_queries import (
    add_days,
    agent_activity,
    agent_follow_up,
    contact_outcomes,
    contact_totals,
    monthly_contacts,
    retention_cells,
)
from tests.fixtures import PERIOD
from tests.service_fixtures import WINDOW, load_service_store

D = date
TINY_PERIOD = Scope(*PERIOD)
STORE_PERIOD = Scope(*WINDOW)  # 2024-03-01 – 2024-03-30; previous 2024-01-31 – 2024-02-29


@pytest.fixture
def service_engine(store_url):
    engine = make_engine(store_url)
    load_service_store(engine)
    yield engine
    engine.dispose()


# --- add_days on every dialect ------------------------------------------------------------------


def test_add_days_renders_per_dialect():
    contacts = table("c", column("opened_at"))
    expression = add_days(contacts.c.opened_at, 90)
    assert "CAST((c.opened_at) + (90) AS DATE)" in str(
        select(expression).compile(dialect=postgresql.dialect())
    )
    assert "date(c.opened_at, '-90 days')" in str(
        select(add_days(contacts.c.opened_at, -90)).compile(dialect=sqlite.dialect())
    )
    with pytest.raises(TypeError):
        add_days(contacts.c.opened_at, "90; drop table orders")


def test_add_days_runs_on_sqlite_across_a_leap_day():
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        # 2024-02-28 + 2 days = 2024-03-01 (2024 has a 29 February).
        value = conn.execute(select(add_days(literal("2024-02-28"), 2))).scalar_one()
    assert value == D(2024, 3, 1)


def test_add_days_runs_on_each_backend(service_engine):
    orders_table = table("orders", column("ordered_at"), column("order_id"))
    statement = select(
        add_days(orders_table.c.ordered_at, 90), add_days(orders_table.c.ordered_at, -90)
    ).where(orders_table.c.order_id == "3")  # ordered 2024-03-05
    with service_engine.connect() as conn:
        after, before = conn.execute(statement).one()
    assert (after, before) == (D(2024, 6, 3), D(2023, 12, 6))


# --- Period totals ------------------------------------------------------------------------------


def test_contact_totals_on_the_tiny_portfolio(tiny_engine):
    totals = contact_totals(tiny_engine, TINY_PERIOD, D(2024, 4, 16)).set_index("period")
    current = totals.loc["current"]
    # Contacts 1-3 (Apr-Jun): agents A1, A2 on 3 distinct days; customers 1 and 2.
    assert (
        current["contacts"],
        current["agents"],
        current["contact_days"],
        current["contacted_customers"],
    ) == (3, 2, 3, 2)
    assert current["service_cost"] == pytest.approx(30.0)  # 10 + 5 + 15
    assert current["service_cost_sq"] == pytest.approx(350.0)  # 100 + 25 + 225
    assert current["handle_seconds"] == pytest.approx(1800.0)  # 600 + 300 + 900
    assert current["handle_seconds_sq"] == pytest.approx(1_260_000.0)  # 360k + 90k + 810k
    assert current["fcr_contacts"] == 2  # contacts 1 and 3
    assert current["contacts_followed_up"] == 1  # only contact 1 (04-05) is on or before 04-16
    # Surveys 1-3 follow contacts 1-3: CSAT 5, 2, 4; NPS 10, 3, 8. Survey 4 has no contact.
    assert (current["csat_answers"], current["csat_top2"], current["csat_sum"]) == (3, 2, 11)
    assert (current["nps_answers"], current["promoters"], current["detractors"]) == (3, 1, 1)
    assert current["active_customers"] == 3  # customers 1, 2, 3 ordered in the year to 06-30
    previous = totals.loc["previous"]
    assert (previous["contacts"], previous["handle_seconds"]) == (1, 120.0)  # contact 4
    assert previous["nps_answers"] == 0  # survey 5 (March) is a relationship survey


def test_contact_totals_on_the_service_store(service_engine):
    totals = contact_totals(service_engine, STORE_PERIOD, D(2024, 3, 15)).set_index("period")
    current = totals.loc["current"]
    # Contacts 1-5 in March; contacts 6 and 7 (December) are outside.
    assert (current["contacts"], current["agents"], current["contact_days"]) == (5, 2, 5)
    assert current["contacted_customers"] == 4  # customers 1, 4, 6, 7
    assert current["service_cost"] == pytest.approx(37.0)  # 10 + 5 + 15 + 3 + 4
    assert current["handle_seconds"] == pytest.approx(2160.0)  # 600+300+900+120+240
    assert current["fcr_contacts"] == 3  # contacts 1, 4, 5
    assert current["contacts_followed_up"] == 3  # 03-05, 03-10, 03-12 are on or before 03-15
    # CSAT after contact: 5 and 1 (survey 3 has no CSAT, survey 4 no contact).
    assert (current["csat_answers"], current["csat_top2"], current["csat_sum"]) == (2, 1, 6)
    # NPS after contact: 10 (promoter), 0 (detractor), 7 (passive) -> NPS 0.
    assert (current["nps_answers"], current["promoters"], current["detractors"]) == (3, 1, 1)
    # Active: an order 2023-04-01 – 2024-03-30: customers 1-5 (7 last ordered in 2022, 6 never).
    assert current["active_customers"] == 5
    assert totals.loc["previous", "contacts"] == 0


def test_contact_totals_honour_the_region_filter(service_engine):
    north = Scope(*WINDOW, regions=("North",))
    current = (
        contact_totals(service_engine, north, D(2024, 3, 15)).set_index("period").loc["current"]
    )
    assert current["contacts"] == 4  # contact 5 belongs to customer 7 (South)
    assert current["nps_answers"] == 2  # survey 3 followed contact 5


def test_monthly_contacts_start_on_a_whole_month(tiny_engine):
    monthly = monthly_contacts(tiny_engine, TINY_PERIOD)
    # Previous period starts 2024-01-01: months with contacts are February, April and May.
    assert [m.strftime("%Y-%m") for m in monthly["month"]] == ["2024-02", "2024-04", "2024-05"]
    may = monthly.iloc[2]
    assert (may["contacts"], may["handle_seconds"], may["fcr_contacts"]) == (2, 1200.0, 1)
    assert (may["nps_answers"], may["promoters"], may["detractors"]) == (2, 0, 1)  # 3 and 8


# --- Agents -------------------------------------------------------------------------------------


def test_agent_activity(service_engine):
    agents = agent_activity(service_engine, STORE_PERIOD).set_index("agent_id")
    a1, a2 = agents.loc["A1"], agents.loc["A2"]
    # A1: contacts 1, 2, 4 (600 + 300 + 120 s; cost 10 + 5 + 3); resolved 1 and 4.
    assert (a1["contacts"], a1["handle_seconds"], a1["service_cost"]) == (3, 1020.0, 18.0)
    assert (a1["fcr_contacts"], a1["active_days"]) == (2, 3)
    assert (a1["nps_answers"], a1["promoters"], a1["detractors"]) == (1, 1, 0)  # 10
    assert (a1["csat_answers"], a1["csat_top2"]) == (1, 1)  # 5
    # A2: contacts 3 and 5 (900 + 240 s); NPS 0 and 7; CSAT 1.
    assert (a2["contacts"], a2["handle_seconds"], a2["fcr_contacts"]) == (2, 1140.0, 1)
    assert (a2["nps_answers"], a2["promoters"], a2["detractors"]) == (2, 0, 1)
    assert (a2["csat_answers"], a2["csat_top2"]) == (1, 0)


def test_agent_follow_up(service_engine):
    agents = agent_follow_up(service_engine, STORE_PERIOD, *WINDOW, 90).set_index("agent_id")
    # A1: contact 1 -> order 06-03 (70), contact 2 -> order 06-03 (70), contact 4 -> nothing.
    assert tuple(agents.loc["A1"]) == (3, 2, 140.0)
    # A2: contact 3 -> order 03-11 (40), contact 5 -> nothing.
    assert tuple(agents.loc["A2"]) == (2, 1, 40.0)


# --- Per-contact outcomes -----------------------------------------------------------------------


def test_contact_outcomes_follow_up_boundaries(service_engine):
    outcomes = contact_outcomes(service_engine, STORE_PERIOD, *WINDOW, 90, 100).set_index(
        "contact_id"
    )
    assert list(outcomes.index) == ["1", "3", "4", "2", "5"]  # by contact day
    first = outcomes.loc["1"]
    # Same-day order (03-05) neither before nor after; 06-03 = 03-05 + 90 days counts.
    assert (first["orders_after"], first["revenue_after"]) == (1, 70.0)
    assert (first["prior_orders"], first["last_order_before"].date()) == (2, D(2024, 2, 10))
    assert first["prior_contacts"] == 0 and bool(first["resolved"]) is True
    second = outcomes.loc["2"]  # 03-20: the 03-05 order is now before; contact 1 is 15 days before
    assert (second["orders_after"], second["prior_orders"], second["prior_contacts"]) == (1, 3, 1)
    dev = outcomes.loc["3"]
    # 03-10 - 90 days = 2023-12-11: contact 7 that day counts, contact 6 (12-01) does not.
    assert (dev["orders_after"], dev["revenue_after"], dev["prior_contacts"]) == (1, 40.0, 1)
    no_orders = outcomes.loc["4"]
    assert (no_orders["orders_after"], no_orders["prior_orders"]) == (0, 0)
    assert pd.isna(no_orders["last_order_before"])
    assert outcomes.loc["5", "handle_seconds"] == 240 and outcomes.loc["5", "channel"] == "chat"


def test_contact_outcomes_cap_keeps_the_most_recent(service_engine):
    outcomes = contact_outcomes(service_engine, STORE_PERIOD, *WINDOW, 90, 2)
    assert list(outcomes["contact_id"]) == ["2", "5"]  # 03-20 and 03-25


# --- Retention cells ----------------------------------------------------------------------------


def _cells(frame):
    return {
        (row.window, row.recency_band, row.frequency_band, row.contacted): (
            row.customers,
            row.retained,
            row.revenue_after,
            row.revenue_after_sq,
            row.contacts,
        )
        for row in frame.itertuples(index=False)
    }


def test_retention_cells_one_window(service_engine):
    cells = _cells(retention_cells(service_engine, STORE_PERIOD, (WINDOW[0],), WINDOW[1], 90))
    assert cells == {
        # Customers 2 and 5: reference 03-15, follow-up to 06-13 (customer 2's 06-14 is out).
        (0, 1, 1, False): (2, 0, 0.0, 0.0, 0),
        # Customer 1: first contact 03-05, order 06-03 (70); two contacts in the window.
        (0, 1, 2, True): (1, 1, 70.0, 4900.0, 2),
        # Customer 3: 4 orders before, order 04-01 (25).
        (0, 1, 3, False): (1, 1, 25.0, 625.0, 0),
        # Customer 4: last order 2023-10-01 (152 days before 03-01), order 03-11 (40).
        (0, 2, 1, True): (1, 1, 40.0, 1600.0, 1),
        # Customer 7: last order 2022-12-01, nothing after. Customer 6 has no band.
        (0, 4, 1, True): (1, 0, 0.0, 0.0, 1),
    }


def test_retention_cells_two_windows_band_at_each_start(service_engine):
    cells = _cells(
        retention_cells(
            service_engine, STORE_PERIOD, (D(2024, 3, 1), D(2024, 3, 16)), WINDOW[1], 90
        )
    )
    # Window 0 (03-01 – 03-15, middle 03-08): customer 7 has no contact there yet.
    assert cells[(0, 4, 1, False)] == (1, 0, 0.0, 0.0, 0)
    assert cells[(0, 1, 2, True)] == (1, 1, 70.0, 4900.0, 1)
    # Window 1 (03-16 – 03-30, middle 03-23): customer 2's order 06-14 is within 03-23 + 90.
    assert cells[(1, 1, 1, False)] == (2, 1, 60.0, 3600.0, 0)
    # Customer 4 ordered 03-11: at 03-16 it has 2 orders, the last 5 days before.
    assert cells[(1, 1, 2, False)] == (1, 0, 0.0, 0.0, 0)
    # Customer 1 now has 3 orders (2-3 band), contacted 03-20 -> order 06-03.
    assert cells[(1, 1, 2, True)] == (1, 1, 70.0, 4900.0, 1)
    assert cells[(1, 4, 1, True)] == (1, 0, 0.0, 0.0, 1)


def test_retention_cells_honour_the_region_filter(service_engine):
    north = Scope(*WINDOW, regions=("North",))
    cells = _cells(retention_cells(service_engine, north, (WINDOW[0],), WINDOW[1], 90))
    assert set(cells) == {(0, 1, 1, False), (0, 1, 2, True), (0, 2, 1, True)}

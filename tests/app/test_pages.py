"""Every page runs under Streamlit's AppTest without an exception, on the tiny store."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(p.name for p in (ROOT / "pages").glob("*.py"))
TIMEOUT = 60


def run_page(name: str, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=TIMEOUT)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def test_router_runs_the_overview(tiny_url):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.title[0].value == "Portfolio overview"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_its_own(tiny_url, page):
    at = run_page(page)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def test_overview_shows_hand_computed_figures(tiny_url):
    at = run_page("overview.py", {"period": "Custom", "from": "2024-04-01", "to": "2024-06-30"})
    assert not at.exception
    figures = {m.label: (m.value, m.delta) for m in at.metric}
    assert figures["Revenue"][0] == "850"
    assert figures["Gross margin"][0] == "390"  # 850 - 460
    assert figures["NPS"][0] == "+25"  # (2 promoters - 1 detractor) / 4 answers
    assert figures["CSAT"][0] == "66.7%"  # 2 of 3 answers are 4 or 5
    assert figures["Cost per contact"][0] == "10"  # 30 / 3
    assert figures["Customers"] == ("3", "+50.0%")  # 3 against 2
    assert figures["NPS"][1] == "+125 pts"  # +25 against -100


def test_filter_with_no_rows_says_so(tiny_url):
    at = run_page("overview.py", {"region": "Atlantis"})
    assert not at.exception
    # An unknown region in a link is dropped by the widget; a period without data is not.
    at = run_page(
        "overview.py",
        {"period": "Custom", "from": "2024-01-10", "to": "2024-01-10", "channel": "partner"},
    )
    assert not at.exception
    assert any("No customers, orders" in i.value for i in at.info)


def test_unreachable_store_is_a_plain_message(monkeypatch):
    monkeypatch.setenv("DASHBOARD_DB_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    at = run_page("overview.py")
    assert not at.exception
    assert "The database cannot be read" in at.error[0].value


def test_store_missing_tables_lists_them(tmp_path, monkeypatch):
    monkeypatch.setenv("DASHBOARD_DB_URL", f"duckdb:///{tmp_path / 'empty.duckdb'}")
    at = run_page("overview.py")
    assert not at.exception
    assert "lacks these tables" in at.error[0].value
    assert "customers" in at.error[0].value


def test_malformed_url_is_a_plain_message(monkeypatch):
    monkeypatch.setenv("DASHBOARD_DB_URL", "not a url")
    at = run_page("overview.py")
    assert not at.exception
    assert "is not a database URL" in at.error[0].value


def test_presentation_mode_from_a_link_and_back(tiny_url):
    at = run_page("overview.py", {"present": "true"})
    assert not at.exception
    assert at.toggle(key="present").value is True
    exit_button = next(b for b in at.button if b.label == "Exit presentation mode")
    at = exit_button.click().run()
    assert at.toggle(key="present").value is False
    assert not [b for b in at.button if b.label == "Exit presentation mode"]


# A period and channel for which the tiny portfolio has nothing: Dan (partner) arrives in July.
NOTHING = {"period": "Custom", "from": "2024-01-10", "to": "2024-01-11", "channel": "partner"}


@pytest.mark.parametrize("page", PAGES)
def test_every_page_says_so_when_filters_leave_no_rows(tiny_url, page):
    at = run_page(page, NOTHING)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.info or at.warning, "an empty result must be said plainly"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_explains_an_unreachable_store(monkeypatch, page):
    monkeypatch.setenv("DASHBOARD_DB_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    at = run_page(page)
    assert not at.exception
    assert "The database cannot be read" in at.error[0].value


def test_an_open_page_shows_rows_written_by_another_program(tiny_url, monkeypatch):
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    monkeypatch.setenv("DASHBOARD_REFRESH_SECONDS", "1")
    at = run_page("overview.py")

    def customers_in_sidebar() -> str:
        return " ".join(c.value for c in at.sidebar.caption)

    assert "4 customers" in customers_in_sidebar()
    with create_engine(tiny_url, poolclass=NullPool).begin() as conn:  # an ETL, not the app
        conn.execute(
            text(
                "INSERT INTO customers (customer_id, name, region, acquisition_channel, "
                "acquired_at, acquisition_cost) VALUES (5, 'Eve', 'North', 'search', "
                "DATE '2024-08-01', 60)"
            )
        )
    time.sleep(1.1)  # the next read of the data version
    at.run()
    assert not at.exception
    assert "5 customers" in customers_in_sidebar()


@pytest.fixture(scope="module")
def tiny_pg_url():
    """The tiny portfolio in a throw-away PostgreSQL schema (skipped without PostgreSQL)."""
    from dashboard.storage.engine import make_engine
    from tests.conftest import throwaway_pg_schema
    from tests.fixtures import load_tiny

    with throwaway_pg_schema("pages") as url:
        load_tiny(make_engine(url))
        yield url


@pytest.mark.postgres
@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_postgresql(tiny_pg_url, page, monkeypatch):
    monkeypatch.setenv("DASHBOARD_DB_URL", tiny_pg_url)
    at = run_page(page)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("4 customers" in c.value and "PostgreSQL" in c.value for c in at.sidebar.caption)

"""The Service page under AppTest: hand-computed figures on the tiny store, the empty filter
result, a broken store, and every section on a small demo portfolio."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.services.demo import build_demo
from dashboard.storage.engine import make_engine

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "service.py")
TIMEOUT = 60
TINY_PERIOD = {"period": "Custom", "from": "2024-04-01", "to": "2024-06-30"}


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory):
    url = f"duckdb:///{tmp_path_factory.mktemp('service_demo') / 'demo.duckdb'}"
    engine = make_engine(url)
    build_demo(engine, n_customers=1_000, seed=3, replace=True)
    engine.dispose()
    return url


def run_page(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def texts(elements) -> str:
    return "\n".join(e.value for e in elements)


def test_tiny_store_figures_by_hand(tiny_url):
    at = run_page(TINY_PERIOD)
    assert not at.exception, at.exception
    assert not at.error
    figures = {m.label: (m.value, m.delta) for m in at.metric}
    # Contacts 1-3 in April-June: 600 + 300 + 900 s, cost 10 + 5 + 15, agents A1 and A2 on
    # 3 days, 3 active customers; previous period: contact 4 (120 s, cost 3).
    assert figures["Average handle time"] == ("10m 00s", "+400.0%")  # 600 s against 120 s
    assert figures["Contacts per agent per day"][0] == "0.50"  # 3 / (2 × 3)
    assert figures["Cost per contact"][0] == "10"  # 30 / 3
    assert figures["Contacts per active customer"][0] == "1"  # 3 / 3
    assert figures["First-contact resolution"] == ("66.7%", "-33.3 pts")  # 2/3 against 1/1
    assert figures["CSAT after contact"][0] == "66.7%"  # 5, 2, 4: two of three are 4-5
    # 10, 3, 8; no survey before: no delta, said in grey rather than left blank
    assert figures["NPS after contact"] == ("+0", "no previous value")
    # Follow-up window 17 Jan – 16 Apr 2024 (data end 15 Jul - 90 days). Only the window
    # 19 Mar – 16 Apr has a contacted customer with a band: customer 1 (contact 04-05,
    # order 06-20: 300) against customer 2 (reference 04-02, order 06-30: 50).
    assert figures["Retention after contact"][0] == "100.0%"
    # Both retained: a zero difference reads "no difference", not a green "+0.0 pts".
    assert figures["Retention after contact"][1].startswith("no difference (")
    # 300 - 50 = 250, shown like the whole-unit value beside it (not "+250.00").
    assert figures["Revenue in the 90 days after contact"] == ("300", "+250 (+250 to +250)")
    assert figures["Revenue retained per contact"][0] == "250"  # 250 × 1 customer / 1 contact
    captions = texts(at.caption)
    assert "contacts opened 17 Jan 2024 – 16 Apr 2024" in captions
    assert "2 of its 3 contacts have less than 90 days of follow-up and are excluded" in captions
    # AHT and cost per contact rose beyond noise, FCR and NPS did not move: neither lens.
    assert "neither scorecard being pushed" in texts(at.markdown)
    assert "average handle time worsened" in texts(at.markdown)
    infos = texts(at.info)
    assert "Fewer than 200 contacts" in infos  # no driver analysis on 2 contacts
    assert "Fewer than two agents have 30 or more contacts" in infos
    assert "Too few agents" in texts(at.markdown)


def test_empty_filter_result_says_so(tiny_url):
    # Customer 4 (partner) has no contact at all.
    at = run_page({**TINY_PERIOD, "channel": "partner"})
    assert not at.exception
    assert "No service contacts match these filters" in texts(at.info)
    assert not at.metric


def test_unreachable_store_is_a_plain_message(monkeypatch):
    monkeypatch.setenv("DASHBOARD_DB_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    at = run_page()
    assert not at.exception
    assert "The database cannot be read" in at.error[0].value


def test_every_section_on_a_demo_portfolio(demo_url, monkeypatch):
    monkeypatch.setenv("DASHBOARD_DB_URL", demo_url)
    at = run_page({"period": "Last 12 months"})
    assert not at.exception, at.exception
    assert not at.error
    markdown = texts(at.markdown)
    # The demo plants FCR -> retention and nothing for handle time.
    assert "First-contact resolution moves retention and revenue" in markdown
    assert "5 more minutes of handle time has no measurable effect" in markdown
    assert "**Run as a value driver.**" in markdown
    assert "Ranking 8 agents by speed and by first-contact resolution" in markdown
    assert len(at.get("plotly_chart")) == 3  # effects, ranks, monthly trend
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 8

    at.radio(key="service_value_measure").set_value("retention").run()
    assert not at.exception
    assert "Ranking 8 agents by speed and by contacts followed by an order" in texts(at.markdown)

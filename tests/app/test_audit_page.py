"""The Customer-base audit page under AppTest: the five lenses, with and without subscriptions."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.storage.engine import make_engine
from tests.audit_fixtures import load_audit

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "audit.py")
Q3 = {"period": "Custom", "from": "2024-07-01", "to": "2024-09-30"}


@pytest.fixture
def audit_url(tmp_path, monkeypatch) -> str:
    url = f"duckdb:///{tmp_path / 'audit.duckdb'}"
    engine = make_engine(url)
    load_audit(engine)
    engine.dispose()
    monkeypatch.setenv("DASHBOARD_DB_URL", url)
    return url


def run(query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def test_lenses_and_subscriptions_show_hand_computed_figures(audit_url):
    at = run(Q3)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    figures = {m.label: m.value for m in at.metric}
    assert figures["Customers"] == "3"  # Alice, Dan, Eve bought in Q3
    assert figures["One-time buyers"] == "66.7%"  # Dan and Eve
    assert figures["Top 10% of customers"] == "51.3%"  # Alice's 200 of 390
    assert figures["Lost customers"] == "2"  # Bob and Cara
    assert figures["Reactivated customers"] == "1"  # Eve
    assert figures["New customers"] == "1"  # Dan
    assert figures["Revenue from customers won in the last 12 months"] == "100.0%"
    assert figures["Active subscribers"] == "3"  # subscriptions 2, 4 and 5
    assert figures["Monthly recurring revenue"] == "50"  # 10 + 30 + 10
    headers = [h.value for h in at.header]
    assert headers[:5] == [
        "1 · One period",
        "2 · Period to period",
        "3 · One cohort over time",
        "4 · Cohorts compared",
        "5 · The whole base",
    ]
    assert not [i for i in at.info if "subscriptions" in i.value]
    # Two "plus" subscriptions, one lost at its first renewal: too little to fit the sBG.
    (warning,) = [w.value for w in at.warning if "No retention model" in w.value]
    assert "**plus**" in warning and "basic" not in warning


def test_store_without_subscriptions_says_which_table(tiny_url):
    at = run({"period": "Custom", "from": "2024-04-01", "to": "2024-06-30"})
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    figures = {m.label: m.value for m in at.metric}
    assert figures["Customers"] == "3"
    message = next(i.value for i in at.info if "subscriptions" in i.value)
    assert "has no subscriptions" in message and "docs/data-contract.md" in message
    assert "Active subscribers" not in figures

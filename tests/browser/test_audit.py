"""The Customer-base audit in headless Chromium, on the focused portfolio with subscriptions.

A tall viewport (1440 x 6000: Streamlit scrolls inside its main block) shows every section at
once; the screenshot goes to tests/browser/screenshots/audit-q3-2024.png for a person to look at.
"""

from __future__ import annotations

import pytest

from dashboard.storage.engine import make_engine
from tests.audit_fixtures import load_audit
from tests.browser.conftest import PAGE_TIMEOUT_MS, SCREENSHOTS, serve_app
from tests.browser.test_smoke import assert_no_errors, expect, wait_for_app

pytestmark = pytest.mark.browser


@pytest.fixture
def audit_server(tmp_path):
    engine = make_engine(f"duckdb:///{tmp_path / 'audit.duckdb'}")
    load_audit(engine)
    engine.dispose()
    yield from serve_app(f"duckdb:///{tmp_path / 'audit.duckdb'}", tmp_path)


def test_audit_page_shows_every_lens_and_the_subscriptions(chromium, audit_server):
    context = chromium.new_context(viewport={"width": 1440, "height": 6000}, base_url=audit_server)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto("/audit?period=Custom&from=2024-07-01&to=2024-09-30")
        wait_for_app(page)
        assert_no_errors(page, errors)
        main = page.get_by_test_id("stMain")
        expect(main.locator("h1").first).to_have_text("Customer-base audit")
        for heading in (
            "1 · One period",
            "2 · Period to period",
            "3 · One cohort over time",
            "4 · Cohorts compared",
            "5 · The whole base",
            "Subscriptions: retention and value",
        ):
            expect(main.get_by_role("heading", name=heading)).to_be_visible()
        customers = page.get_by_test_id("stMetric").filter(has_text="Active subscribers")
        expect(customers.get_by_test_id("stMetricValue")).to_have_text("3")
        charts = page.locator(".js-plotly-plot")
        expect(charts.nth(15)).to_be_attached()  # 18 charts in all
        # The waterfall drew its steps, named on its axis.
        steps = page.locator(".js-plotly-plot .xtick text").filter(has_text="Lost customers")
        expect(steps.first).to_be_attached()
        page.wait_for_timeout(1000)  # let Plotly finish drawing before the screenshot
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "audit-q3-2024.png"), full_page=True)
    finally:
        context.close()

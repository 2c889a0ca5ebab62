"""The what-if on customer equity in headless Chromium (issue 13): a link with the levers in
its query string opens the scenario, the waterfall and the intervals are drawn, and moving a
lever keeps it in the address. Screenshot: tests/browser/screenshots/what_if.png."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import PAGE_TIMEOUT_MS, SCREENSHOTS, find_chromium, serve_app

if find_chromium() is None:
    pytest.skip("Chromium is not installed: browser tests skipped", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
expect = playwright_api.expect
expect.set_options(timeout=30_000)

pytestmark = pytest.mark.browser

LINK = "/customer_value?period=Custom&from=2022-01-01&to=2023-12-31&cv_wi_spend=10"


@pytest.fixture(scope="module")
def fitted_server(tmp_path_factory):
    from dashboard.services import lifetime_value
    from dashboard.storage.engine import bulk_insert, create_schema, make_engine
    from dashboard.storage.schema import customers, orders
    from tests.services.test_lifetime_value import PORTFOLIO

    folder = tmp_path_factory.mktemp("what-if-browser")
    url = f"duckdb:///{folder / 'store.duckdb'}"
    engine = make_engine(url)
    create_schema(engine)
    bulk_insert(engine, customers, PORTFOLIO["customers"])
    bulk_insert(engine, orders, PORTFOLIO["orders"])
    lifetime_value.fit_and_save(engine)
    engine.dispose()
    yield from serve_app(url, folder)


def test_what_if_from_a_link(chromium, fitted_server):
    context = chromium.new_context(viewport={"width": 1440, "height": 6000}, base_url=fitted_server)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(LINK)
        main = page
        expect(
            main.get_by_text("What if…? Customer equity under other assumptions")
        ).to_be_visible()
        scenario = main.locator(
            '[data-testid="stMetric"]', has_text="Customer equity in the scenario"
        )
        expect(scenario).to_contain_text("90%:")
        expect(
            main.locator('[data-testid="stMetric"]', has_text="Customer equity")
        ).not_to_have_count(0)
        # The waterfall: one bar per lever, labelled on its axis.
        chart = main.locator(".js-plotly-plot", has_text="lever by lever")
        expect(chart).to_contain_text("Spend per order +10%")
        expect(chart).to_contain_text("Scenario")
        expect(main.get_by_text("Pareto/NBD").first).to_be_visible()
        # The lever read from the link shows on its slider.
        expect(
            main.locator('[data-testid="stSlider"]', has_text="Spend per order")
        ).to_contain_text("+10%")
        assert "cv_wi_spend=10" in page.url
        expect(main.locator('[data-testid="stException"]')).to_have_count(0)
        page.wait_for_timeout(1500)  # let the charts finish drawing before the screenshot
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "what_if.png"), full_page=True)
        assert re.search(r"cv_wi_spend=10", page.url)
        assert errors == []
    finally:
        context.close()

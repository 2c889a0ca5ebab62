"""The Data page in headless Chromium: the tables, then a CSV upload, good and bad (issue 12)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import PAGE_TIMEOUT_MS, SCREENSHOTS, find_chromium

if find_chromium() is None:
    pytest.skip(
        "Chromium is not installed (apt-get install chromium): browser tests skipped",
        allow_module_level=True,
    )
playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed: pip install -e '.[test]'"
)
expect = playwright_api.expect
expect.set_options(timeout=20_000)

pytestmark = pytest.mark.browser

HEADER = "customer_id,name,region,acquisition_channel,acquired_at,acquisition_cost\n"


def _upload(page, tmp_path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    uploader = page.locator('[data-testid="stFileUploader"]')
    uploader.locator('input[type="file"]').set_input_files(str(path))
    expect(uploader.get_by_text(name)).to_be_visible()
    # The upload reruns the script: wait until it is done, so the click is not lost in it.
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0)
    page.wait_for_timeout(1000)
    button = page.get_by_role("button", name="Validate and load")
    expect(button).to_be_visible()
    button.click()


def test_upload_on_the_data_page(chromium, fresh_server, tmp_path):
    context = chromium.new_context(viewport={"width": 1440, "height": 2400})
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.goto(f"{fresh_server}/data")
    expect(page.get_by_role("heading", name="Data", exact=True)).to_be_visible()
    expect(page.get_by_text("Contract check")).to_be_visible()

    _upload(
        page,
        tmp_path,
        "bad.csv",
        HEADER + "00042,Ann,North,web,31/01/2024,5\n",
    )
    expect(page.get_by_text("Nothing was loaded into customers")).to_be_visible()
    expect(page.get_by_text("bad.csv, row 2, column acquired_at")).to_be_visible()

    _upload(page, tmp_path, "good.csv", HEADER + "00042,Ann,North,web,2024-01-31T09:00:00Z,5\n")
    expect(page.get_by_text("Loaded good.csv into customers: 1 row(s), 1 added")).to_be_visible()
    # The page ran again after the load, so the sidebar counts the new customer (tiny: 4).
    expect(page.get_by_text("5 customers")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "data_upload.png"), full_page=True)
    context.close()

"""The Story page in headless Chromium: previous/next move through the screens, the link keeps
the position and the sequence, and a copied link reopens the same screen."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import find_chromium
from tests.browser.test_smoke import assert_no_errors, open_page, save_full_page, wait_for_app

if find_chromium() is None:
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
expect.set_options(timeout=20_000)

pytestmark = pytest.mark.browser

PERIOD = "period=Custom&from=2024-04-01&to=2024-06-30"


def test_story_next_previous_and_the_link_keeps_the_position(app_page, js_errors):
    page = app_page
    open_page(page, f"/story?{PERIOD}")
    assert_no_errors(page, js_errors)
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text("Screen 1 of 7")).to_be_visible()
    expect(main.locator(".gtitle").first).to_contain_text("Revenue")  # the finding is the title
    main.get_by_role("button", name="Next", exact=True).click()
    wait_for_app(page)
    expect(main.get_by_text("Screen 2 of 7")).to_be_visible()
    expect(main.locator(".gtitle").first).to_contain_text("most profitable 20% of customers")
    expect(page).to_have_url(re.compile(r"screen=2"))
    main.get_by_role("button", name="Next", exact=True).click()
    wait_for_app(page)
    main.get_by_role("button", name="Previous", exact=True).click()
    wait_for_app(page)
    expect(main.get_by_text("Screen 2 of 7")).to_be_visible()
    save_full_page(page, "story")
    link = page.url

    # The copied link, opened in a new tab, shows the same screen.
    other = page.context.new_page()
    try:
        open_page(other, link)
        expect(other.get_by_test_id("stMain").get_by_text("Screen 2 of 7")).to_be_visible()
    finally:
        other.close()

    # A chosen sequence in the link: two screens, the second shown.
    open_page(page, f"/story?{PERIOD}&screens=Acquisition+payback&screens=Whale+curve&screen=2")
    expect(main.get_by_text(re.compile(r"Screen 2 of 2: Whale curve"))).to_be_visible()
    assert_no_errors(page, js_errors)


def test_story_downloads_are_real_files(app_page, js_errors, tmp_path):
    """The PowerPoint and the PNG made on click (in the server) open as what they claim."""
    from pptx import Presentation

    page = app_page
    open_page(page, f"/story?{PERIOD}&screen=2")
    main = page.get_by_test_id("stMain")
    with page.expect_download() as download:
        main.get_by_role("button", name="PowerPoint (.pptx)").first.click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.name.startswith("story_2024-04-01_2024-06-30_")
    deck = Presentation(str(path))
    assert len(deck.slides) > 7
    with page.expect_download() as download:
        main.get_by_role("button", name="Whale curve (PNG)").click()
    image = tmp_path / "whale.png"
    download.value.save_as(image)
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert_no_errors(page, js_errors)

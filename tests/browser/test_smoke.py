"""What a person sees: every page opened by its URL in headless Chromium, on the tiny store.

The pages are discovered from ``app.py`` (``st.Page("pages/x.py", title=...)``); Streamlit serves
``pages/x.py`` at ``/x`` and the default page at ``/``. Each page must finish its script run
without an exception or an error box and show its title; the overview must show its eight
figures and its chart; a link with filters in its query string must reopen that view.

A full-page screenshot of each page is saved to ``tests/browser/screenshots/`` (git-ignored)
for a person to look at.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser.conftest import PAGE_TIMEOUT_MS, ROOT, SCREENSHOTS, find_chromium

if find_chromium() is None:
    pytest.skip(
        "Chromium is not installed (apt-get install chromium): browser tests skipped",
        allow_module_level=True,
    )
playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed: pip install -e '.[test]'"
)
expect = playwright_api.expect
# Assertions retry up to this long (Playwright's default is 5 s): on a busy 2-core machine a
# first render can take longer, and a passing check returns as soon as it holds.
expect.set_options(timeout=20_000)

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class AppPage:
    """A page declared in app.py: its script, navigation title, URL path and heading."""

    script: str
    nav_title: str
    url_path: str  # "" for the default page
    heading: str

    @property
    def name(self) -> str:
        return Path(self.script).stem


def _first_string_arg(call: ast.Call) -> str | None:
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return None


def _keyword(call: ast.Call, name: str):
    for keyword in call.keywords:
        if keyword.arg == name and isinstance(keyword.value, ast.Constant):
            return keyword.value.value
    return None


def _page_heading(script: Path) -> str | None:
    """The title the page passes to ``page_setup(title, ...)`` (shown as its h1)."""
    for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", None) == "page_setup"
            and _first_string_arg(node)
        ):
            return _first_string_arg(node)
    return None


def declared_pages() -> list[AppPage]:
    """The pages ``app.py`` hands to ``st.navigation``, in its order."""
    pages = []  # (line, column, page): ast.walk does not visit in source order
    for node in ast.walk(ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "Page"
            and _first_string_arg(node)
        ):
            script = _first_string_arg(node)
            nav_title = _keyword(node, "title") or Path(script).stem
            url_path = (
                ""
                if _keyword(node, "default")
                else (_keyword(node, "url_path") or Path(script).stem)
            )
            heading = _page_heading(ROOT / script) or nav_title
            pages.append(
                (node.lineno, node.col_offset, AppPage(script, nav_title, url_path, heading))
            )
    return [page for *_, page in sorted(pages, key=lambda item: item[:2])]


PAGES = declared_pages()
OVERVIEW = next(page for page in PAGES if page.url_path == "")

#: True once the script run is over and has been for a moment: the app is connected, no rerun
#: is in progress (Streamlit sets ``data-test-script-state`` on the app root), no "Running"
#: status widget shows, no skeleton placeholder is left (the front end loads the code of
#: several elements, such as Plotly charts and date inputs, only when a page first needs it;
#: the script can be done seconds before they render) and the run has put something on the
#: page (before the first run starts the state is "notRunning" too). The quiet interval
#: absorbs the rerun that URL-bound widgets may trigger right after the first run.
_APP_IDLE_JS = """
(quietMs) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const idle = app !== null
    && app.dataset.testConnectionState === 'CONNECTED'
    && app.dataset.testScriptState === 'notRunning'
    && document.querySelector('[data-testid="stStatusWidget"]') === null
    && document.querySelector('[data-testid="stSkeleton"]') === null
    && document.querySelector('[data-testid="stMain"] [data-testid="stElementContainer"]') !== null;
  if (!idle) { window.__appIdleSince = undefined; return false; }
  window.__appIdleSince = window.__appIdleSince ?? performance.now();
  return performance.now() - window.__appIdleSince >= quietMs;
}
"""

_APP_STATE_JS = """
() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const text = (id) => document.querySelector(`[data-testid="${id}"]`)?.innerText ?? null;
  return {connection: app?.dataset.testConnectionState ?? null,
          script: app?.dataset.testScriptState ?? null,
          statusWidget: text('stStatusWidget'),
          main: (text('stMain') ?? '').slice(0, 500)};
}
"""


def wait_for_app(page, quiet_ms: int = 400) -> None:
    """Wait until the Streamlit script run has finished and the page has settled."""
    page.wait_for_selector('[data-testid="stApp"]')
    try:
        page.wait_for_function(_APP_IDLE_JS, arg=quiet_ms, polling=100)
    except playwright_api.TimeoutError:
        pytest.fail(f"{page.url} did not finish its script run: {page.evaluate(_APP_STATE_JS)}")


def open_page(page, path: str) -> None:
    page.goto(path)
    wait_for_app(page)


def assert_no_errors(page, js_errors: list[str]) -> None:
    main = page.get_by_test_id("stApp")
    exceptions = main.get_by_test_id("stException")
    assert exceptions.count() == 0, f"exception on {page.url}: {exceptions.all_inner_texts()}"
    error_boxes = main.get_by_test_id("stAlertContentError")
    assert error_boxes.count() == 0, f"error box on {page.url}: {error_boxes.all_inner_texts()}"
    assert not js_errors, f"uncaught JavaScript errors on {page.url}: {js_errors}"


def save_full_page(page, name: str) -> Path:
    """Screenshot the whole page. Streamlit scrolls inside its main block, not the document,
    so the viewport is made as tall as the content first."""
    size = page.viewport_size
    content_height = page.evaluate(
        """() => Math.max(document.documentElement.scrollHeight,
             ...['stMain', 'stSidebarContent'].map(
                id => document.querySelector(`[data-testid="${id}"]`)?.scrollHeight ?? 0))"""
    )
    if content_height > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": content_height + 40})
        page.wait_for_timeout(500)  # let Plotly and the layout follow the new size
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, animations="disabled")
    page.set_viewport_size(size)
    return path


def test_app_declares_pages():
    assert len(PAGES) >= 2, "no st.Page(...) found in app.py"
    assert len({page.url_path for page in PAGES}) == len(PAGES), "two pages share a URL path"


def test_sidebar_links_are_the_declared_url_paths(app_page, app_server):
    """Checks the rule the other tests rely on: pages/x.py is served at /x, the default at /."""
    open_page(app_page, "/")
    links = app_page.get_by_test_id("stSidebarNavLink")
    expect(links).to_have_count(len(PAGES))
    hrefs = [link.get_attribute("href") for link in links.all()]
    assert hrefs == [f"{app_server}/{page.url_path}" for page in PAGES]


@pytest.mark.parametrize("declared", PAGES, ids=[page.name for page in PAGES])
def test_page_opens_by_its_url(app_page, js_errors, declared):
    page = app_page
    open_page(page, f"/{declared.url_path}")
    # An unknown path falls back to the main page with a "Page not found" dialog.
    assert page.get_by_test_id("stDialog").count() == 0, page.get_by_test_id(
        "stDialog"
    ).all_inner_texts()
    heading = page.get_by_test_id("stMain").locator("h1").first
    expect(heading).to_be_visible()
    expect(heading).to_have_text(declared.heading)
    assert_no_errors(page, js_errors)
    if declared is OVERVIEW:
        expect(page.get_by_test_id("stMetric")).to_have_count(8)
        chart = page.locator(".js-plotly-plot")
        expect(chart.first).to_be_visible()
        expect(chart.first.locator("g.trace").first).to_be_attached()
    save_full_page(page, declared.name)


def test_link_with_filters_reopens_the_view(app_page, js_errors):
    page = app_page
    query = "period=Custom&from=2024-04-01&to=2024-06-30&region=North"
    open_page(page, f"/?{query}")
    assert_no_errors(page, js_errors)
    sidebar = page.get_by_test_id("stSidebar")

    expect(sidebar.get_by_role("combobox", name="Period")).to_have_value("Custom")
    dates = sidebar.get_by_test_id("stDateInput").locator("input")
    expect(dates).to_have_count(2)
    assert [field.input_value() for field in dates.all()] == ["2024-04-01", "2024-06-30"]
    region = sidebar.get_by_test_id("stMultiSelect").filter(has_text="Region")
    expect(region.locator("[data-tag]")).to_have_text(["North"])

    # Orders 2, 3 and 5 of customers 1 and 2 (North) in April-June 2024: 100 + 300 + 50.
    revenue = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text("Revenue", exact=True)
    )
    expect(revenue.get_by_test_id("stMetricValue")).to_have_text("450")
    expect(page).to_have_url(re.compile(r"region=North"))
    save_full_page(page, "overview-north-q2-2024")


def test_first_visit_by_a_page_url_gets_the_router(chromium, fresh_server, js_errors):
    """On a fresh server, /service opened first must run under app.py's navigation, not
    Streamlit's legacy pages/-folder menu (file names such as "app", narrow layout)."""
    context = chromium.new_context(viewport={"width": 1400, "height": 900}, base_url=fresh_server)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    try:
        open_page(page, "/service")
        links = page.get_by_test_id("stSidebarNavLink")
        expect(links.first).to_be_visible()
        names = [text.strip() for text in links.all_inner_texts()]
        assert "Overview" in " ".join(names) and not any(n == "app" for n in names), names
        expect(page.locator("h1").first).to_contain_text("Service")
        assert_no_errors(page, js_errors)
    finally:
        context.close()

"""Sign-in with a real OpenID Connect provider and a real browser: who sees what.

``oidc-provider-mock`` runs an OpenID Connect provider on localhost; the app runs with
``[auth]`` pointing at it and ``[access]`` listing a regional manager of North. In headless
Chromium the manager signs in through the provider's own form, and every page, download and
link must hold only North: the Overview's figures equal the view computed for North alone, the
downloads list only North's customers, and links naming South show none of it. An unlisted
user sees the "no access" page only. The server's log names who signed in and with which role,
and holds no secret or token; Streamlit's XSRF protection stays on.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from datetime import date
from pathlib import Path

import pytest

from dashboard import formatting
from dashboard.scope import Scope
from dashboard.services.views import overview
from dashboard.storage.engine import make_engine
from tests.browser.conftest import PAGE_TIMEOUT_MS, find_chromium, free_port, serve_app
from tests.fixtures import load_tiny

if find_chromium() is None:
    pytest.skip("Chromium is not installed: browser tests skipped", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
oidc_mock = pytest.importorskip("oidc_provider_mock", reason="pip install oidc-provider-mock")
expect = playwright_api.expect
expect.set_options(timeout=20_000)

pytestmark = pytest.mark.browser

NORTH = "north.manager@example.com"
STRANGER = "stranger@example.com"
CLIENT_SECRET = "client-" + secrets.token_hex(8)
COOKIE_SECRET = "cookie-" + secrets.token_hex(16)
QUARTER = "period=Custom&from=2024-04-01&to=2024-06-30"
START, END = date(2024, 4, 1), date(2024, 6, 30)
PAGE_PATHS = ["", "segments", "customer_value", "value_curves", "loyalty", "service"]
#: South's customers and the region's name: none may reach a North manager.
SOUTH = ("South", "Cara", "Dan")


@pytest.fixture(scope="module")
def provider():
    users = [
        oidc_mock.User(sub="north", claims={"email": NORTH, "email_verified": True}),
        oidc_mock.User(sub="stranger", claims={"email": STRANGER, "email_verified": True}),
    ]
    with oidc_mock.run_server_in_thread(user_claims=users) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def signed_app(provider, tmp_path_factory):
    """(base URL, server log, North's Overview figures) of the app with sign-in configured."""
    from dashboard.services import segmentation
    from tests.app.test_customer_value_page import store_fit_in

    folder = tmp_path_factory.mktemp("signed-app")
    store_url = f"duckdb:///{folder / 'tiny.duckdb'}"
    engine = make_engine(store_url)
    load_tiny(engine)
    store_fit_in(engine)
    segmentation.run_and_save(engine, n_segments=2)
    north = overview.view(engine, Scope(START, END, allowed_regions=("North",)))
    figures = [formatting.format_value(k.value, k.kind) for k in north.kpis]
    engine.dispose()  # the server opens the file next (one DuckDB process at a time)

    port = free_port()
    secrets_file = folder / "secrets.toml"
    secrets_file.write_text(
        f"""
[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "{COOKIE_SECRET}"
client_id = "portfolio-dashboard"
client_secret = "{CLIENT_SECRET}"
server_metadata_url = "{provider}/.well-known/openid-configuration"

[access]
admins = ["analyst@example.com"]
[access.regions]
"{NORTH}" = ["North"]
""",
        encoding="utf-8",
    )
    server = serve_app(store_url, folder, port, ("--secrets.files", str(secrets_file)))
    base_url = next(server)
    yield base_url, folder / "streamlit.log", figures
    server.close()


@pytest.fixture
def browser_page(chromium, signed_app):
    """A tab in a fresh browser profile (no sign-in cookie yet)."""
    context = chromium.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def settle(page) -> None:
    from tests.browser.test_smoke import wait_for_app

    wait_for_app(page)


def main_text(page) -> str:
    return page.get_by_test_id("stApp").inner_text()


def sign_in(page, base_url: str, sub: str) -> None:
    page.goto(base_url + "/")
    button = page.get_by_role("button", name="Sign in")
    expect(button).to_be_visible()
    button.click()
    # The provider's own authorization form: one button per predefined user.
    page.get_by_role("button", name=sub, exact=True).click()
    page.wait_for_url(re.compile(re.escape(base_url) + r"/?(\?.*)?$"))
    settle(page)


def test_before_sign_in_nothing_of_the_data_is_shown(browser_page, signed_app):
    base_url, _, _ = signed_app
    for path in PAGE_PATHS:
        browser_page.goto(f"{base_url}/{path}?{QUARTER}")
        expect(browser_page.get_by_role("button", name="Sign in")).to_be_visible()
        settle(browser_page)
        text = main_text(browser_page)
        for leak in ("North", "South", "Alice", "2024", "customers"):
            assert leak not in text, f"{leak} before sign-in on /{path}"
        assert browser_page.get_by_test_id("stMetric").count() == 0


def test_a_regional_manager_sees_only_their_regions(browser_page, signed_app):
    base_url, log, north_figures = signed_app
    page = browser_page
    sign_in(page, base_url, "north")
    expect(page.get_by_text(f"Signed in as {NORTH}")).to_be_visible()
    cookies = {c["name"] for c in page.context.cookies()}
    assert "_streamlit_xsrf" in cookies  # XSRF protection is on

    # Figures equal the Overview computed for North alone.
    page.goto(f"{base_url}/?{QUARTER}")
    settle(page)
    values = page.get_by_test_id("stMetricValue").all_inner_texts()
    assert values == north_figures
    assert "Your portfolio is the customers of North" in main_text(page)

    for path in PAGE_PATHS:
        page.goto(f"{base_url}/{path}?{QUARTER}")
        settle(page)
        text = main_text(page)
        for leak in SOUTH:
            assert leak not in text, f"{leak} on /{path}"
        assert "Recompute segments" not in text and "Refit the model" not in text

    # Downloads hold North's customers only.
    page.goto(f"{base_url}/segments?{QUARTER}")
    settle(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download these customers (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8"))))
    assert rows and {r["Region"] for r in rows} == {"North"}
    page.goto(f"{base_url}/customer_value")
    settle(page)
    with page.expect_download() as download:
        page.get_by_role("button", name=re.compile(r"^Download all")).click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8"))))
    assert rows and {r["region"] for r in rows} == {"North"}

    # Links naming South show none of it.
    for query in ("region=South", "region=South&region=North", "region=Atlantis"):
        page.goto(f"{base_url}/?{QUARTER}&{query}")
        settle(page)
        text = main_text(page)
        for leak in SOUTH:
            assert leak not in text, f"{leak} with ?{query}"
        assert page.get_by_test_id("stMetricValue").all_inner_texts() == north_figures
    assert "eyJ" not in page.content()  # no identity or access token (a JWT) in the page

    # Sign out: Streamlit ends the session at the provider too (RP-initiated logout); the
    # provider asks to confirm, then sends the browser back to the app's sign-in page.
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="End session").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()

    server_log = log.read_text(encoding="utf-8", errors="replace")
    assert f"sign-in user={NORTH} role=regional regions=North" in server_log
    assert f"sign-out user={NORTH}" in server_log
    for secret in (CLIENT_SECRET, COOKIE_SECRET, "eyJ"):
        assert secret not in server_log


def test_an_unlisted_user_sees_nothing(browser_page, signed_app):
    base_url, log, _ = signed_app
    page = browser_page
    sign_in(page, base_url, "stranger")
    expect(page.get_by_text("You have no access to this dashboard")).to_be_visible()
    for path in PAGE_PATHS:
        page.goto(f"{base_url}/{path}?{QUARTER}&region=North")
        settle(page)
        text = main_text(page)
        assert "You have no access" in text
        for leak in ("North", "South", "Alice", "Cara", "2024"):
            assert leak not in text, f"{leak} on /{path}"
        assert page.get_by_test_id("stMetric").count() == 0
    assert f"sign-in user={STRANGER} role=none" in log.read_text(encoding="utf-8")


def test_without_auth_the_app_is_open_and_says_so(app_page):
    app_page.goto("/")
    settle(app_page)
    sidebar = app_page.get_by_test_id("stSidebar").inner_text()
    assert "anyone who can reach this address sees all data" in sidebar

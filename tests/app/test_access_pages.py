"""Sign-in and row-level access under AppTest: every page for each role, with a patched user.

The store is the tiny portfolio with a stored lifetime-value fit and a saved segmentation:
Alice and Bob live in North, Cara and Dan in South. A regional manager of North must see
exactly what an administrator sees with the region filter set to North, and nothing of South
(no name, no figure, not the region's name), whatever the link asks for.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.app import auth
from dashboard.storage import clv_store, segment_store
from dashboard.storage.engine import make_engine
from tests.app.test_customer_value_page import store_fit_in
from tests.app.test_pages import PAGES

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 90
QUARTER = {"period": "Custom", "from": "2024-04-01", "to": "2024-06-30"}

CLIENT_SECRET = "client-secret-never-shown"
COOKIE_SECRET = "cookie-secret-never-shown"
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": COOKIE_SECRET,
    "client_id": "portfolio-dashboard",
    "client_secret": CLIENT_SECRET,
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
ACCESS = {
    "executives": ["ceo@example.com"],
    "admins": ["analyst@example.com"],
    "regions": {"north.manager@example.com": ["North"]},
}
USERS = {
    "admin": "analyst@example.com",
    "executive": "ceo@example.com",
    "north": "north.manager@example.com",
}
#: What must never reach a North manager's page: South's customers and the region itself.
SOUTH = ("South", "Cara", "Dan")
WRITE_BUTTONS = {
    "Compute segments",
    "Recompute segments",
    "Save names",
    "Fit lifetime-value model",
    "Refit the model now",
}


@pytest.fixture
def full_url(tiny_url):
    """The tiny store with a stored fit and a saved two-segment run."""
    from dashboard.services import segmentation

    engine = make_engine(tiny_url)
    store_fit_in(engine)
    segmentation.run_and_save(engine, n_segments=2)
    assert clv_store.latest_run(engine) is not None
    assert segment_store.latest_run(engine) is not None
    engine.dispose()
    return tiny_url


@pytest.fixture
def access_log() -> Iterator[list[str]]:
    """Messages of the ``dashboard.access`` logger during the test."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collect()
    auth.LOG.addHandler(handler)
    yield messages
    auth.LOG.removeHandler(handler)


def run_as(
    page: str,
    email: str | None,
    query: dict[str, str | list[str]] | None = None,
    *,
    configured: bool = True,
) -> AppTest:
    """Run ``page`` (a file of pages/, or app.py) as the user ``email`` (None: signed out)."""
    path = ROOT / page if page == "app.py" else ROOT / "pages" / page
    at = AppTest.from_file(str(path), default_timeout=TIMEOUT)
    if configured:
        at.secrets["auth"] = AUTH
        at.secrets["access"] = ACCESS
        at.user = {"is_logged_in": False} if email is None else {"is_logged_in": True}
        if email is not None:
            at.user["email"] = email
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def _walk(node) -> Iterator:
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)


def page_text(at: AppTest) -> str:
    """Everything the page sent, as text: every element's message, tables' bytes included."""
    return "\n".join(str(getattr(node, "proto", "")) for node in _walk(at._tree))


def buttons(at: AppTest) -> set[str]:
    return {b.label for b in at.button}


def figures(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric if not m.label.startswith("Holdout error")}


def tables(at: AppTest) -> list:
    return [d.value.reset_index(drop=True) for d in at.dataframe]


# --- Signed out, unlisted, provider down ---------------------------------------------------------


@pytest.mark.parametrize("page", ["app.py", *PAGES])
def test_signed_out_sees_the_sign_in_page_only(full_url, page, monkeypatch):
    monkeypatch.setattr(auth, "provider_problem", lambda url: None)
    at = run_as(page, None)
    assert not at.exception, at.exception
    assert buttons(at) == {"Sign in"}
    assert not at.metric and not at.dataframe and not at.sidebar.multiselect
    text = page_text(at)
    for leak in ("North", "South", "Alice", "2024", "customers ·", "Filters"):
        assert leak not in text, leak


def test_provider_down_is_a_clear_page(full_url):
    at = run_as("overview.py", None)
    assert not at.exception
    assert "Sign-in is unavailable right now" in at.error[0].value
    assert "127.0.0.1:9 cannot be reached" in at.error[0].value
    assert buttons(at) == {"Try again"}
    assert not at.metric and "North" not in page_text(at)


@pytest.mark.parametrize("page", ["app.py", *PAGES])
def test_unlisted_user_gets_the_no_access_page(full_url, page, access_log):
    at = run_as(page, "stranger@example.com")
    assert not at.exception
    assert "You have no access to this dashboard" in at.warning[0].value
    assert buttons(at) == {"Sign out"}
    assert not at.metric and not at.dataframe and not at.sidebar.multiselect
    text = page_text(at)
    for leak in ("North", "South", "Alice", "2024"):
        assert leak not in text, leak
    assert "sign-in user=stranger@example.com role=none regions=" in access_log


def test_a_broken_access_table_lets_nobody_in(full_url):
    at = AppTest.from_file(str(ROOT / "pages" / "overview.py"), default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH
    at.secrets["access"] = {"admin": ["analyst@example.com"]}
    at.user = {"is_logged_in": True, "email": "analyst@example.com"}
    at.run()
    assert not at.exception
    assert "access configuration cannot be read" in at.error[0].value
    assert not at.metric


# --- Every page for each role --------------------------------------------------------------------


@pytest.mark.parametrize("role", list(USERS))
@pytest.mark.parametrize("page", PAGES)
def test_every_page_for_each_role(full_url, page, role, access_log):
    at = run_as(page, USERS[role], QUARTER)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    sidebar = "\n".join(m.value for m in at.sidebar.markdown)
    assert f"Signed in as **{USERS[role]}**" in sidebar
    assert "Sign out" in {b.label for b in at.sidebar.button}
    region_filter = next(w for w in at.sidebar.multiselect if w.label == "Region")
    shown = buttons(at)
    text = page_text(at)
    if role == "north":
        assert region_filter.options == ["North"]
        assert not shown & WRITE_BUTTONS, shown & WRITE_BUTTONS
        assert any("**Your portfolio** is the customers of North" in c.value for c in at.caption)
        for leak in SOUTH:
            assert leak not in text, f"{leak} on {page}"
        assert f"sign-in user={USERS[role]} role=regional regions=North" in access_log
    else:
        assert region_filter.options == ["North", "South"]
        assert not any("Your portfolio" in c.value for c in at.caption)
    if role != "admin":
        assert not shown & WRITE_BUTTONS, shown & WRITE_BUTTONS
    for secret in (CLIENT_SECRET, COOKIE_SECRET):
        assert secret not in text
        assert not any(secret in message for message in access_log)


@pytest.mark.parametrize("page", PAGES)
def test_north_sees_what_an_admin_sees_filtered_to_north(full_url, page):
    """Every figure and table of the North manager equals the administrator's with the region
    filter on North: portfolio-wide figures are computed within the allowed regions."""
    north = run_as(page, USERS["north"], QUARTER)
    admin = run_as(page, USERS["admin"], {**QUARTER, "region": "North"})
    assert figures(north) == figures(admin)
    north_tables, admin_tables = tables(north), tables(admin)
    assert len(north_tables) == len(admin_tables)
    for mine, theirs in zip(north_tables, admin_tables, strict=True):
        assert mine.equals(theirs), (mine, theirs)


@pytest.mark.parametrize("page", PAGES)
def test_a_link_naming_another_region_shows_none_of_it(full_url, page):
    at = run_as(page, USERS["north"], {**QUARTER, "region": ["South", "North"]})
    assert not at.exception
    region_filter = next(w for w in at.sidebar.multiselect if w.label == "Region")
    assert "South" not in region_filter.value
    text = page_text(at)
    for leak in SOUTH:
        assert leak not in text, f"{leak} on {page}"
    only_south = run_as(page, USERS["north"], {**QUARTER, "region": "South"})
    for leak in SOUTH:
        assert leak not in page_text(only_south), f"{leak} on {page}"


def test_admin_sees_the_write_actions(full_url):
    at = run_as("segments.py", USERS["admin"], QUARTER)
    assert {"Recompute segments", "Save names"} <= buttons(at)
    at = run_as("customer_value.py", USERS["admin"], QUARTER)
    assert "Refit the model now" in buttons(at)
    executive = run_as("customer_value.py", USERS["executive"], QUARTER)
    assert "Only an administrator can fit" in page_text(executive)


def test_every_table_with_a_region_holds_only_allowed_regions(full_url):
    for page in ("segments.py", "customer_value.py"):
        for basis in ("to_date", "in_period"):
            at = run_as(page, USERS["north"], {**QUARTER, "cv_basis": basis})
            regional = [d.value for d in at.dataframe if "region" in d.value.columns]
            assert regional or page == "segments.py"
            for frame in regional:
                assert set(frame["region"]) <= {"North"}, frame


# --- Writes are checked on the server --------------------------------------------------------


def _write_script():
    """A page that calls a write action directly, as a forged button press would."""
    from dashboard.app.context import page_setup, run_action
    from dashboard.services import segmentation

    ctx = page_setup("Forged")
    run_action(ctx, segmentation.rename_segments, 1, {1: "Renamed by a regional manager"})
    import streamlit as st

    st.success("written")


@pytest.mark.parametrize(("role", "allowed"), [("north", False), ("executive", False)])
def test_a_write_by_a_non_admin_is_refused_on_the_server(full_url, role, allowed, access_log):
    at = AppTest.from_function(_write_script, default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH
    at.secrets["access"] = ACCESS
    at.user = {"is_logged_in": True, "email": USERS[role]}
    at.run()
    assert not at.exception
    assert "Only an administrator can change the store" in at.error[0].value
    assert not at.success
    names = segment_store.given_names(make_engine(full_url), 1)
    assert "Renamed by a regional manager" not in names.values()
    assert any(m.startswith("write refused action=") and USERS[role] in m for m in access_log)


def test_an_admin_write_is_logged(full_url, access_log):
    at = AppTest.from_function(_write_script, default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH
    at.secrets["access"] = ACCESS
    at.user = {"is_logged_in": True, "email": USERS["admin"]}
    at.run()
    assert not at.exception and at.success
    assert segment_store.given_names(make_engine(full_url), 1)[1] == "Renamed by a regional manager"
    written = [m for m in access_log if m.startswith("write action=")]
    assert written == [
        "write action=dashboard.services.segmentation.rename_segments "
        "user=analyst@example.com role=admin 1 {1: 'Renamed by a regional manager'}"
    ]


# --- Open mode -----------------------------------------------------------------------------------


def test_without_auth_the_app_is_open_and_says_so(full_url):
    at = run_as("overview.py", None, QUARTER, configured=False)
    assert not at.exception
    assert any(
        "anyone who can reach this address sees all data" in w.value for w in at.sidebar.warning
    )
    region_filter = next(w for w in at.sidebar.multiselect if w.label == "Region")
    assert region_filter.options == ["North", "South"]


def test_a_manager_of_a_region_without_customers_is_told_so(full_url):
    at = AppTest.from_file(str(ROOT / "pages" / "overview.py"), default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH
    at.secrets["access"] = {**ACCESS, "regions": {"west.lead@example.com": ["West"]}}
    at.user = {"is_logged_in": True, "email": "west.lead@example.com"}
    at.run()
    assert not at.exception
    assert "None of the store's customers is in your regions (West)" in at.info[0].value
    assert not at.metric
    assert "no orders yet" not in page_text(at)

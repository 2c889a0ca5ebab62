"""App glue: the one module that holds Streamlit caches, the store connection and the filters.

Every page starts with ``ctx = page_setup(...)``: it opens (and on first run builds) the store,
renders the global filters in the sidebar and returns the page's context, whose
:class:`~dashboard.scope.Scope` every read takes. Pages then call
``view = load(views.<page>.view, ctx, <page settings>)``, cached by (store URL, data version,
scope, settings), and lay the result out; write actions go through :func:`run_action`.
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from dashboard.access import OPEN_ACCESS, Access
from dashboard.app import auth, first_run
from dashboard.domain.periods import DEFAULT_PRESET, PRESETS, preset_period
from dashboard.errors import first_line
from dashboard.scope import Scope
from dashboard.storage import queries
from dashboard.storage.engine import (
    StoreBusy,
    StoreError,
    StoreLocation,
    make_engine,
    resolve_url,
    store_session,
    waiting_at_most,
)

#: The package whose functions :func:`load` calls (one module per page).
VIEW_PACKAGE = "dashboard.services.views"

#: What the spinner says for a view whose module has no ``COMPUTING`` text for it.
DEFAULT_COMPUTING = "Computing the page"

#: Size of the demo portfolio built on first run of the embedded store (override with
#: DASHBOARD_DEMO_CUSTOMERS).
DEFAULT_DEMO_CUSTOMERS = first_run.DEFAULT_DEMO_CUSTOMERS

#: How often the data version is read again and open pages look for new data (seconds);
#: DASHBOARD_REFRESH_SECONDS overrides it. New data shows within about twice this.
DEFAULT_REFRESH_SECONDS = 10.0

#: How long a page's set-up waits for a store another process is writing before it shows
#: the data it already has (seconds). Views wait the full lock wait (docs/store.md).
VERSION_LOCK_WAIT_SECONDS = 2.0


def refresh_seconds() -> float:
    """The interval at which pages look for new data (DASHBOARD_REFRESH_SECONDS, default 10)."""
    try:
        return max(1.0, float(os.environ.get("DASHBOARD_REFRESH_SECONDS", "")))
    except ValueError:
        return DEFAULT_REFRESH_SECONDS


@dataclass(frozen=True)
class PageContext:
    """What a page needs to load data: where the store is, its version, the filters, and who
    is asking (``access``: role and allowed regions, already in ``scope``)."""

    url: str
    version: str
    scope: Scope
    bounds: queries.DataBounds
    access: Access = OPEN_ACCESS


@st.cache_resource(max_entries=4, show_spinner=False)
def _engine(url: str):
    return make_engine(url)


@st.cache_data(ttl=600, max_entries=16, show_spinner=False)
def _cached_data_version(url: str, time_bucket: int) -> str:
    del time_bucket  # part of the key only: each interval reads the version once
    engine = _engine(url)
    with waiting_at_most(VERSION_LOCK_WAIT_SECONDS), store_session(engine):
        return queries.data_version(engine)


def _data_version(url: str) -> str:
    """The store's data version, read again at most every :func:`refresh_seconds`."""
    return _cached_data_version(url, int(time.time() // refresh_seconds()))


@st.cache_data(ttl=3600, max_entries=32, show_spinner=False)
def _bounds(
    url: str, version: str, allowed_regions: tuple[str, ...] | None = None
) -> queries.DataBounds:
    return queries.data_bounds(_engine(url), allowed_regions)


# Bounded: an entry can be a per-customer frame (about 20 MB at 100k customers), so the cache
# holds at most a few hundred filter combinations, and none older than an hour.
@st.cache_data(ttl=3600, max_entries=256, show_spinner=False)
def _cached_call(
    target: str, url: str, version: str, scope: Scope, args: tuple, kwargs: tuple
) -> Any:
    if not target.startswith(VIEW_PACKAGE + "."):
        raise ValueError(f"load() only calls view functions of {VIEW_PACKAGE}, not {target}")
    module_name, _, function_name = target.rpartition(".")
    function = getattr(importlib.import_module(module_name), function_name)
    engine = _engine(url)
    with store_session(engine):  # one opening of an embedded file for all the view's queries
        return function(engine, scope, *args, **dict(kwargs))


def load(view: Callable[..., Any], ctx: PageContext, *args: Any, **kwargs: Any) -> Any:
    """The page's view result: ``view(engine, ctx.scope, *args, **kwargs)`` through the cache.

    ``view`` is a module-level function of :mod:`dashboard.services.views`; the cache key is
    (store URL, data version, scope, arguments), so arguments must be hashable. Stops the page
    with a plain message when the store cannot be read.

    While the view runs, a spinner says what is computed and for which period and filters
    (:func:`computing_text`), with the elapsed time. Streamlit shows a spinner only after
    0.5 s (``streamlit.elements.spinner.DELAY_SECS``), so a cache hit, which returns in a few
    milliseconds, shows nothing.
    """
    target = f"{view.__module__}.{view.__name__}"
    try:
        with st.spinner(computing_text(view, ctx.scope), show_time=True):
            return _cached_call(
                target, ctx.url, ctx.version, ctx.scope, args, tuple(sorted(kwargs.items()))
            )
    except (SQLAlchemyError, StoreError) as exc:
        _stop_with_store_error(StoreLocation(ctx.url, "current"), exc)


def on_demand(
    view: Callable[..., Any], ctx: PageContext, *args: Any, render: Callable[[Any], bytes]
) -> Callable[[], bytes]:
    """A download's data, made only when its button is clicked: ``render(view(engine,
    ctx.scope, *args))``.

    For a file too big to build with every page view (e.g. half a million loss makers at 1M
    customers): Streamlit calls the returned function on a thread of its own when the user
    clicks, so nothing is read before. Not cached (a file is asked for once). The view runs in
    one store session, as :func:`load` runs it; a store that cannot be read gives a file that
    says so (a download cannot show a message).
    """

    def make() -> bytes:
        engine = _engine(ctx.url)
        try:
            with store_session(engine):
                return render(view(engine, ctx.scope, *args))
        except (SQLAlchemyError, StoreError) as exc:
            return f"The data could not be read: {first_line(exc)}".encode()

    return make


def computing_text(view: Callable[..., Any], scope: Scope) -> str:
    """What the page waits for while ``view`` runs: its module's ``COMPUTING[<function name>]``
    (:data:`DEFAULT_COMPUTING` when it has none), then the period and filters of ``scope``."""
    texts = getattr(importlib.import_module(view.__module__), "COMPUTING", {})
    return f"{texts.get(view.__name__, DEFAULT_COMPUTING)} for {scope.describe()}…"


def run_action(ctx: PageContext, action: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a write use case (``action(engine, *args, **kwargs)``, e.g. a model fit) on the
    page's store, then forget cached results so every page shows what it wrote.

    Only for a user who may write: checked here, on the server, from the session's identity
    (:func:`dashboard.app.auth.require_write` raises ``AccessDenied``), and logged."""
    what = f"{action.__module__}.{action.__name__}"
    try:
        access = auth.require_write(what)
    except auth.AccessDenied:
        st.error("**Only an administrator can change the store.**", icon=":material/lock:")
        st.stop()
    result = action(_engine(ctx.url), *args, **kwargs)
    auth.log_write(access, what, auth.describe_arguments(args, kwargs))
    clear_caches()
    return result


def clear_caches() -> None:
    """Forget cached data (after an explicit write such as a model fit)."""
    _missing_tables.clear()
    _cached_data_version.clear()
    _bounds.clear()
    _cached_call.clear()


def _stop_with_store_error(location: StoreLocation, exc: Exception) -> None:
    detail = first_line(exc, limit=600)
    if isinstance(exc, StoreBusy):
        st.warning(
            f"**The store is being updated.** {detail}\n\nThis page tries again by itself "
            f"every {refresh_seconds():.0f} s.",
            icon=":material/hourglass_top:",
        )
        _watch_data_version(location.url, None)
        st.stop()
    if "lock" in detail.lower():
        detail += (
            "\n\nThe embedded database file is open for writing in another process (a second "
            "app or a `python -m dashboard` command). DuckDB allows one writer per file: stop "
            "the other process, or use PostgreSQL for several writers (docs/store.md)."
        )
    st.error(
        f"**The database cannot be read.** URL: `{location.display_url}` "
        f"(from {location.source}).\n\n{detail}\n\n"
        "Check that the database is running and reachable, and that `DASHBOARD_DB_URL` or "
        "`[connections.portfolio] url` in `.streamlit/secrets.toml` is right. "
        "`python -m dashboard check` tells what the store lacks.",
        icon=":material/error:",
    )
    st.stop()


@st.cache_data(ttl=30, max_entries=8, show_spinner=False)
def _missing_tables(url: str) -> list[str]:
    """Contract tables the store lacks.

    Cached briefly, so a rerun does not inspect the schema every time; tables created
    meanwhile are seen within 30 s.
    """
    engine = _engine(url)
    with waiting_at_most(VERSION_LOCK_WAIT_SECONDS), store_session(engine):
        return queries.missing_contract_tables(engine)


def open_store() -> tuple[StoreLocation, str]:
    """Resolve and open the store; on the embedded default, build or complete the demo first.

    The first run (demo build, lifetime-value fit, segmentation) runs in a background thread
    of the server, shared by every visitor (:mod:`dashboard.app.first_run`); this page shows
    its progress until it is done. A store the user configured is never built or completed.
    Stops the page with a plain message when the store cannot be reached or lacks tables.
    Returns the location and the current data version.
    """
    try:
        location = resolve_url()
        engine = _engine(location.url)
        if location.is_default:
            first_run.ensure_complete(engine, location, on_change=clear_caches)
        missing = _missing_tables(location.url)
    except (SQLAlchemyError, StoreError, OSError) as exc:
        _stop_with_store_error(locals().get("location") or StoreLocation("?", "unknown"), exc)
    if missing:
        st.error(
            f"**The store at `{location.display_url}` lacks these tables or views:** "
            f"{', '.join(missing)}.\n\nCreate them as described in `docs/data-contract.md`, "
            "or build the demo portfolio with `python -m dashboard demo --db URL`. "
            "`python -m dashboard check --db URL` lists everything that is missing.",
            icon=":material/table_view:",
        )
        st.stop()
    try:
        version = _data_version(location.url)
    except StoreBusy as exc:
        # Another process writes the store: keep showing what this visitor already sees.
        version = st.session_state.get(_SEEN_VERSION)
        if version is None:
            _stop_with_store_error(location, exc)
        st.sidebar.info(
            f"The store is being updated ({exc.holder or 'another process'}); the pages "
            "show the data as it was and refresh by themselves when the update is done.",
            icon=":material/hourglass_top:",
        )
    except SQLAlchemyError as exc:
        _stop_with_store_error(location, exc)
    st.session_state[_SEEN_VERSION] = version
    return location, version


#: Session key of the data version this visitor's pages were last drawn with.
_SEEN_VERSION = "_dashboard_data_version"


def _watch_data_version(url: str, shown_version: str | None) -> None:
    """Rerun the page when the store's data version differs from the one it shows.

    A fragment that runs every :func:`refresh_seconds` reads the (cached) data version, so an
    open page shows data written meanwhile by the command line, another app process or an
    outside program (``queries.data_version``) without a reload.
    """

    @st.fragment(run_every=refresh_seconds())
    def watch() -> None:
        try:
            current = _data_version(url)
        except (StoreError, SQLAlchemyError):
            return  # still busy or unreachable: look again next time
        if current != shown_version:
            st.session_state[_SEEN_VERSION] = current
            st.rerun(scope="app")

    with st.sidebar:
        watch()


@st.cache_data(ttl=3600, max_entries=8, show_spinner=False)
def _segment_options(url: str, version: str) -> tuple[int | None, tuple[tuple[int, str], ...]]:
    """Latest saved segment run and its (segment, label) pairs (no run: None, ())."""
    from dashboard.storage.segment_store import latest_segment_options

    try:
        return latest_segment_options(_engine(url))
    except SQLAlchemyError:
        return None, ()  # a read-only warehouse without the app's tables: no segment filter


def _sidebar_filters(
    bounds: queries.DataBounds,
    url: str | None = None,
    version: str | None = None,
    allowed_regions: tuple[str, ...] | None = None,
) -> Scope:
    """The global filters, bound to the URL so that a link keeps the view.

    The segment filter appears once segments have been saved (Segments page or
    ``python -m dashboard segment``); it refers to the latest run.
    """
    sidebar = st.sidebar
    sidebar.header("Filters")
    preset = sidebar.selectbox(
        "Period",
        PRESETS,
        index=PRESETS.index(DEFAULT_PRESET),
        key="period",
        bind="query-params",
        persist_state="session",
        help="Periods end on the latest order date in the store "
        f"({bounds.last_order:%d %b %Y}), not today.",
    )
    first, last = bounds.first_order, bounds.last_order
    if preset == "Custom":
        default_start, _ = preset_period(DEFAULT_PRESET, last, first)
        start = sidebar.date_input(
            "From",
            value=default_start,
            min_value=first,
            max_value=last,
            key="from",
            bind="query-params",
            persist_state="session",
        )
        end = sidebar.date_input(
            "To",
            value=last,
            min_value=first,
            max_value=last,
            key="to",
            bind="query-params",
            persist_state="session",
        )
        if end < start:
            sidebar.warning("'To' is before 'From': showing the single day 'From'.")
            end = start
    else:
        start, end = preset_period(preset, last, first)
    regions = sidebar.multiselect(
        "Region",
        bounds.regions,
        key="region",
        bind="query-params",
        persist_state="session",
        placeholder="All regions",
    )
    channels = sidebar.multiselect(
        "Acquisition channel",
        bounds.channels,
        key="channel",
        bind="query-params",
        persist_state="session",
        placeholder="All channels",
    )
    run_id, segment_choices = _segment_options(url, version) if url else (None, ())
    segments: list[int] = []
    if run_id is not None and segment_choices:
        segment_labels = dict(segment_choices)
        segments = sidebar.multiselect(
            "Segment",
            list(segment_labels),
            format_func=segment_labels.get,
            key="segment",
            bind="query-params",
            persist_state="session",
            placeholder="All segments",
            help="Segments of the latest saved segmentation (Segments page). Every page "
            "shows only the customers of the chosen segments.",
        )
    return Scope(
        start=start,
        end=end,
        regions=tuple(regions),
        channels=tuple(channels),
        segments=tuple(int(s) for s in segments),
        segment_run_id=run_id,
        allowed_regions=allowed_regions,
    )


def _route_through_app() -> None:
    """Make a page opened by its URL on a fresh server run under ``app.py``'s navigation.

    Streamlit starts in its legacy ``pages/``-folder mode until ``st.navigation`` has run once
    in the process: the first visitor of ``/service`` would get the page without ``app.py``
    (file-name menu, narrow layout). Leaving that mode and rerunning hands the same URL to
    the router. (Streamlit internals: ``PagesManager.uses_pages_directory``; covered by the
    browser test that opens every page first on a fresh server.)
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - a Streamlit without the legacy mode
        return
    if PagesManager.uses_pages_directory and st.runtime.exists():
        PagesManager.uses_pages_directory = False
        st.rerun()


def page_setup(title: str, intro: str | None = None) -> PageContext:
    """Common start of every page: title, store, global filters, scope caption."""
    _route_through_app()
    access = auth.gate()  # before anything of the data: a closed page stops here
    st.title(title)
    if intro:
        st.caption(intro)
    location, version = open_store()
    bounds = _bounds(location.url, version, access.allowed_regions)
    if bounds.is_empty and access.allowed_regions is not None:
        st.info(
            "None of the store's customers is in your regions "
            f"({', '.join(access.allowed_regions) or 'none'}), so there is nothing to show. "
            "If that is wrong, ask an administrator to check your regions in `[access.regions]`."
        )
        st.stop()
    if bounds.is_empty:
        st.info(
            "The store has no orders yet, so there is nothing to show. Load data with "
            "`python -m dashboard import` or build the demo with `python -m dashboard demo`."
        )
        st.stop()
    scope = _sidebar_filters(bounds, location.url, version, access.allowed_regions)
    st.sidebar.caption(
        f"Data {bounds.first_order:%d %b %Y} – {bounds.last_order:%d %b %Y} · "
        f"{bounds.customers:,} customers · {location.short_name}",
        help=f"Store: {location.display_url} (from {location.source})",
    )
    segment_names = dict(_segment_options(location.url, version)[1])
    st.caption(f"**Showing** {scope.describe(segment_names)}")
    if note := auth.portfolio_note(access):
        st.caption(note)
    _presentation_mode()
    _watch_data_version(location.url, version)
    auth.account_sidebar(access)
    return PageContext(location.url, version, scope, bounds, access)


#: Presentation mode: no sidebar or toolbar, larger figures; for a meeting-room screen.
_PRESENTATION_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stHeader"], [data-testid="stToolbar"] { display: none; }
[data-testid="stMainBlockContainer"] { padding-top: 1.5rem; max-width: 100%; }
[data-testid="stMetricValue"] { font-size: 2.6rem; }
h1 { font-size: 2.6rem; }
</style>
"""


def _exit_presentation() -> None:
    st.session_state["present"] = False


def _presentation_mode() -> None:
    """A sidebar switch (kept in the link as ``?present=true``) that clears the screen."""
    present = st.sidebar.toggle(
        "Presentation mode",
        key="present",
        bind="query-params",
        persist_state="session",
        help="Hides the sidebar and toolbar and enlarges figures for a meeting room. "
        "A link copied in this mode opens in it.",
    )
    if present:
        st.html(_PRESENTATION_CSS)
        st.button(
            "Exit presentation mode",
            on_click=_exit_presentation,
            type="tertiary",
            icon=":material/close_fullscreen:",
        )


# --- What the store holds (issue 12): cheap, cached by data version ---


@st.cache_data(ttl=3600, max_entries=16, show_spinner=False)
def _cached_coverage(url: str, version: str):
    from dashboard.services.views import data as data_view

    return data_view.coverage(_engine(url))


def store_coverage(ctx: PageContext):
    """Which contract tables hold rows in the whole store (``views.data.Coverage``)."""
    return _cached_coverage(ctx.url, ctx.version)


def explain_missing(ctx: PageContext, page: str) -> bool:
    """Show, and return True, when a table the page needs is empty in the whole store.

    A page calls it before its "widen the filters" notice, which then only shows when the
    filters are the cause.
    """
    from dashboard.services.views import data as data_view

    missing = store_coverage(ctx).missing_for(page)
    if not missing:
        return False
    st.info(data_view.missing_message(page, missing), icon=":material/database_off:")
    return True

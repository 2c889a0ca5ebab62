"""Sign-in and access, the Streamlit side: the gate, the account box, the write check, the log.

With ``[auth]`` in ``.streamlit/secrets.toml`` (Streamlit's own OpenID Connect sign-in,
``st.login``), :func:`gate` shows nothing of the data before sign-in: a visitor who is not
signed in gets the sign-in page, one who is signed in but not listed in ``[access]`` gets the
"no access" page, and a sign-in service that cannot be reached gets a page saying so. Without
``[auth]`` the app is open and :func:`account_sidebar` says so. The policy itself (who sees
which regions) is pure: :mod:`dashboard.access`.

The log (logger ``dashboard.access``, on the server's standard error) records each session's
sign-in with its role, each write action and each refused one: who, when, what; never a token,
a cookie or a secret.
"""

from __future__ import annotations

import logging
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

import streamlit as st

from dashboard import access as policy
from dashboard.access import Access, AccessConfigError

#: Seconds the sign-in page waits for the identity provider's metadata before saying it is down.
PROVIDER_TIMEOUT = 4

LOG = logging.getLogger("dashboard.access")
if not LOG.handlers:  # Streamlit configures only its own loggers; ours goes to standard error
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    LOG.addHandler(_handler)
    LOG.setLevel(logging.INFO)
    LOG.propagate = False


class AccessDenied(PermissionError):
    """A write action asked for by a user who may not write (checked again on the server)."""


def _secrets_section(name: str) -> Mapping[str, Any] | None:
    try:
        section = st.secrets.get(name)
    except (FileNotFoundError, OSError):  # no secrets file at all: open mode
        return None
    return section if isinstance(section, Mapping) else None


def auth_configured() -> bool:
    """Whether ``[auth]`` is configured (then sign-in is required)."""
    return bool(_secrets_section("auth"))


def _providers() -> list[tuple[str | None, str | None]]:
    """(provider name for ``st.login``, its ``server_metadata_url``) of each configured provider.

    ``[auth]`` with ``client_id`` is the default provider; ``[auth.<name>]`` tables are named ones.
    """
    section = _secrets_section("auth") or {}
    if "client_id" in section or "server_metadata_url" in section:
        return [(None, section.get("server_metadata_url"))]
    return [
        (name, value.get("server_metadata_url"))
        for name, value in section.items()
        if isinstance(value, Mapping) and "client_id" in value
    ]


def _claims() -> dict[str, Any]:
    """The signed-in user's identity claims (without tokens)."""
    claims = dict(st.user.to_dict())
    claims.pop("tokens", None)
    return claims


def current_access() -> Access | None:
    """The user's access; None when sign-in is configured and nobody is signed in.

    Read from ``st.user`` and the secrets on every call, never from the URL or the session, so
    nothing a browser sends can widen it. Raises :class:`AccessConfigError` when ``[access]``
    cannot be read.
    """
    if not auth_configured():
        return policy.OPEN_ACCESS
    if not st.user.get("is_logged_in"):
        return None
    return policy.parse_policy(_secrets_section("access")).resolve(_claims())


@st.cache_data(ttl=15, max_entries=8, show_spinner=False)
def provider_problem(metadata_url: str | None) -> str | None:
    """Why the identity provider cannot be used now (None when its metadata answers).

    Cached for 15 s, so the sign-in page does not ask the provider on every rerun.
    """
    if not metadata_url:
        return "`server_metadata_url` is missing from `[auth]` in `.streamlit/secrets.toml`"
    host = urllib.parse.urlsplit(metadata_url).netloc or metadata_url
    try:
        with urllib.request.urlopen(metadata_url, timeout=PROVIDER_TIMEOUT) as response:
            if response.status != 200:
                return f"the sign-in service at {host} answered with HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"the sign-in service at {host} answered with HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"the sign-in service at {host} cannot be reached ({reason})"
    return None


def _leave_legacy_pages_mode() -> None:
    """Keep Streamlit from listing ``pages/`` in the sidebar on a closed page (see
    ``dashboard.app.context._route_through_app``)."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - a Streamlit without the legacy mode
        return
    PagesManager.uses_pages_directory = False


def gate() -> Access:
    """The user's access, or a closed page and ``st.stop()``.

    Closed pages show the app's name and what to do, nothing of the data: the sign-in page
    (not signed in), the sign-in service's outage, the "no access" page (signed in, not
    listed) and a broken ``[access]`` table (nobody gets in until it is fixed).
    """
    try:
        access = current_access()
    except AccessConfigError as exc:
        LOG.error("access configuration refused: %s", exc)
        _closed_page()
        st.error(
            f"**The access configuration cannot be read:** {exc}. Nobody can see the "
            "dashboard until an administrator fixes `[access]` in `.streamlit/secrets.toml` "
            "(docs/deploy.md).",
            icon=":material/lock:",
        )
        _sign_out_button()
        st.stop()
    if access is None:
        _sign_in_page()
        st.stop()
    _log_session(access)
    if not access.may_read:
        _closed_page()
        st.warning(
            f"**You have no access to this dashboard** (signed in as "
            f"{access.email or 'a user without an e-mail address'}). Ask an administrator "
            "to give you access.",
            icon=":material/lock:",
        )
        _sign_out_button()
        st.stop()
    return access


def _closed_page() -> None:
    _leave_legacy_pages_mode()
    st.title("Customer portfolio")


def _sign_in_page() -> None:
    _closed_page()
    providers = _providers()
    problems = [provider_problem(url) for _, url in providers]
    if not providers or all(problems):
        detail = "; ".join(p for p in problems if p) or "no provider is configured in `[auth]`"
        LOG.warning("sign-in unavailable: %s", detail)
        st.error(
            f"**Sign-in is unavailable right now:** {detail}. The dashboard stays closed "
            "until the sign-in service answers. Try again in a minute; if it persists, tell "
            "your administrator.",
            icon=":material/cloud_off:",
        )
        if st.button("Try again", icon=":material/refresh:"):
            provider_problem.clear()
            st.rerun()
        return
    st.markdown("Sign in with your company account to see the dashboard.")
    for (name, _), problem in zip(providers, problems, strict=True):
        label = "Sign in" if name is None else f"Sign in with {name}"
        if problem:
            st.caption(f"{label}: unavailable, {problem}.")
            continue
        st.button(
            label,
            type="primary",
            icon=":material/login:",
            on_click=st.login,
            args=() if name is None else (name,),
            key=f"sign_in_{name or 'default'}",
        )


def _sign_out() -> None:
    LOG.info("sign-out user=%s", st.user.get("email"))
    st.logout()


def _sign_out_button(where: Any = st) -> None:
    where.button("Sign out", icon=":material/logout:", on_click=_sign_out, key="sign_out")


def _log_session(access: Access) -> None:
    """Log the user and role once per session (a new tab is a new session)."""
    seen = (access.email, access.role, access.allowed_regions)
    if st.session_state.get("_access_logged") == seen:
        return
    st.session_state["_access_logged"] = seen
    if access.role == policy.OPEN:
        LOG.info("session open-access (no [auth] configured)")
        return
    LOG.info(
        "sign-in user=%s role=%s regions=%s",
        access.email,
        access.role,
        "all" if access.allowed_regions is None else ",".join(access.allowed_regions),
    )


def account_sidebar(access: Access) -> None:
    """Who is signed in, their role and a sign-out button; in open mode, a plain warning."""
    if access.role == policy.OPEN:
        st.sidebar.warning(
            "**Open access:** anyone who can reach this address sees all data. Configure "
            "sign-in (`[auth]` and `[access]` in `.streamlit/secrets.toml`, docs/deploy.md) "
            "before serving it beyond this machine.",
            icon=":material/lock_open:",
        )
        return
    with st.sidebar.container(border=True):
        st.markdown(f"Signed in as **{access.email}**")
        st.caption(f"Role: {access.describe()}")
        _sign_out_button()


def portfolio_note(access: Access) -> str | None:
    """What "the portfolio" means for a user who sees only some regions (None otherwise)."""
    if not access.is_restricted:
        return None
    regions = ", ".join(access.allowed_regions or ())
    return (
        f"**Your portfolio** is the customers of {regions}: every total, share, rank, curve "
        "and comparison on this page is computed within these regions only; other regions "
        "are not counted. Segment definitions are shared by everyone."
    )


def require_write(what: str) -> Access:
    """The current user's access if they may write; otherwise log and raise AccessDenied.

    Called on the server by :func:`dashboard.app.context.run_action` before every write, from
    the identity of the session (not from anything the page passed), so a hidden button
    pressed through a forged message is still refused.
    """
    try:
        access = current_access()
    except AccessConfigError:
        access = None
    if access is None or not access.may_write:
        LOG.warning(
            "write refused action=%s user=%s role=%s",
            what,
            None if access is None else access.email,
            None if access is None else access.role,
        )
        raise AccessDenied(f"{what}: only an administrator may change the store")
    return access


def log_write(access: Access, what: str, detail: str = "") -> None:
    """Record a write action done: who, what, on what (timestamp from the logger)."""
    LOG.info(
        "write action=%s user=%s role=%s%s",
        what,
        access.email or "(open access)",
        access.role,
        f" {detail}" if detail else "",
    )


def describe_arguments(args: tuple, kwargs: Mapping[str, Any], limit: int = 300) -> str:
    """The arguments of a write action for the log (callables such as progress bars left out)."""
    parts = [repr(a) for a in args if not callable(a)]
    parts += [f"{k}={v!r}" for k, v in kwargs.items() if not callable(v)]
    text = " ".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"

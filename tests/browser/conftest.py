"""A real Streamlit server on the tiny store, and headless Chromium driven by Playwright.

The server is started once per test session (``streamlit run app.py`` in a subprocess, pointed
at a DuckDB file loaded with ``tests.fixtures.load_tiny`` through ``DASHBOARD_DB_URL``, so the
embedded demo is never built) and is always stopped at the end. Chromium is Debian's
``/usr/bin/chromium``: Playwright's own browser download is not needed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboard.storage.engine import make_engine
from tests.fixtures import load_tiny

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"

#: Seconds the server may take to answer its health check.
SERVER_START_TIMEOUT = 60
#: Milliseconds a page may take to finish its script run.
PAGE_TIMEOUT_MS = 30_000

#: Flags for Chromium running as root in a container without GPU, and without the browser
#: phoning home (updates, sync, QUIC probes) while it is tested.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]


def find_chromium() -> str | None:
    """Debian's Chromium, or whatever ``chromium`` is on the PATH; None when there is none."""
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, limit: int = 4000) -> str:
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    return text[-limit:] or "(empty)"


def _wait_until_healthy(process: subprocess.Popen, base_url: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"streamlit exited with code {process.returncode} before answering "
                f"{base_url}/_stcore/health. Its output:\n{_tail(log)}"
            )
        try:
            with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise RuntimeError(
        f"streamlit did not answer {base_url}/_stcore/health within {SERVER_START_TIMEOUT} s. "
        f"Its output:\n{_tail(log)}"
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def tiny_store_url(tmp_path_factory) -> str:
    """A DuckDB file holding the hand-built tiny portfolio."""
    path = tmp_path_factory.mktemp("browser-store") / "tiny.duckdb"
    engine = make_engine(f"duckdb:///{path}")
    load_tiny(engine)
    engine.dispose()  # release DuckDB's file lock: the server process opens the file next
    return f"duckdb:///{path}"


@pytest.fixture(scope="session")
def app_server(tiny_store_url, tmp_path_factory) -> Iterator[str]:
    """Base URL of ``streamlit run app.py`` serving the tiny store; stopped after the session."""
    yield from serve_app(tiny_store_url, tmp_path_factory.mktemp("browser-server"))


@pytest.fixture
def fresh_server(tmp_path) -> Iterator[str]:
    """A server no browser has visited yet (Streamlit keeps process-wide routing state).

    It gets a store file of its own: DuckDB lets one process at a time open a file, and the
    session's server holds the shared one.
    """
    engine = make_engine(f"duckdb:///{tmp_path / 'fresh.duckdb'}")
    load_tiny(engine)
    engine.dispose()
    yield from serve_app(f"duckdb:///{tmp_path / 'fresh.duckdb'}", tmp_path)


def serve_app(
    store_url: str, folder: Path, port: int | None = None, extra_args: tuple[str, ...] = ()
) -> Iterator[str]:
    """Run ``streamlit run app.py`` on ``port`` (default: a free one) until the generator is
    closed; ``extra_args`` are more command-line options (e.g. ``--secrets.files``)."""
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = folder / "streamlit.log"
    env = {**os.environ, "DASHBOARD_DB_URL": store_url}
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        # Other people edit the sources while the tests run: a file change must not put a
        # "source changed" prompt on the page under test (and watching costs CPU).
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        *extra_args,
    ]
    with log.open("wb") as output:
        # Output goes to a file, not a pipe: a pipe nobody reads blocks the server when full.
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_healthy(process, base_url, log)
        yield base_url
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def chromium():
    """Headless Chromium; skips every browser test with the reason when it cannot start."""
    executable = find_chromium()
    if executable is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as exc:
        pytest.skip(f"Playwright is not installed ({exc}): pip install -e '.[test]'")
    playwright = sync_playwright().start()
    try:
        try:
            browser = playwright.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_ARGS
            )
        except Error as exc:
            pytest.skip(f"Playwright cannot launch {executable}: {str(exc).splitlines()[0]}")
        yield browser
        browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def js_errors() -> list[str]:
    """Uncaught JavaScript exceptions of the test's tab (filled by ``app_page``)."""
    return []


@pytest.fixture(scope="session")
def browser_context(chromium, app_server):
    """One browser profile for the session, at a desktop size.

    Its HTTP cache keeps the app's JavaScript between tests, which saves seconds per page on a
    small machine. Tests stay independent: every tab opens its own Streamlit session, and the
    filters come from the URL, not from cookies.
    """
    context = chromium.new_context(viewport={"width": 1400, "height": 900}, base_url=app_server)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def app_page(browser_context, js_errors):
    """A new tab of the app (a new Streamlit session); closed after the test."""
    page = browser_context.new_page()
    page.on("pageerror", lambda error: js_errors.append(str(error)))
    yield page
    page.close()

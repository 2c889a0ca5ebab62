"""Many users: N browser sessions at once, each going through every page, against a real server.

Usage::

    python bench/bench_sessions.py --db duckdb:////work/bench-stores/load100k.duckdb \\
                                   --db postgresql+psycopg://root@127.0.0.1/load100k \\
                                   [--sessions 20] [--page-timeout 180]

For each ``--db`` (one after the other, so the stores are compared side by side in one run):

1. ``streamlit run app.py`` is started headless on a free port with ``DASHBOARD_DB_URL`` set to
   the store (file watcher off, as in tests/browser), its caches empty;
2. one headless Chromium opens ``--sessions`` browser contexts at once (asyncio Playwright);
   each opens ``/`` (the default page), reads the navigation from the sidebar (checked against
   the ``st.Page`` list of app.py) and clicks through every other page in the sidebar's order,
   one Streamlit session per context, as a person would;
3. a page is finished when the script run is over and has stayed over for ``--quiet-ms``: app
   connected, script state "notRunning", no status widget, no spinner, no skeleton, no stale
   element, the URL is the page's and its title (the ``page_setup`` heading) is shown. Its time
   runs from the click (for the first page: from the start of navigation, so it includes loading
   the front end) to the moment that state was first reached;
4. per page it collects Streamlit exception boxes (``stException``), error boxes
   (``stAlertContentError``), console errors, uncaught JavaScript errors and HTTP failures
   (status >= 400 or a failed request); the server's stdout and stderr are scanned for
   tracebacks afterwards;
5. while the sessions run it samples the server process's RSS and, on PostgreSQL, the
   connections open on the store's database (``pg_stat_activity``, the sampler's own excluded),
   and reports the peaks. DuckDB's connections live inside the server process and cannot be
   counted from outside: the pool configuration is stated instead, as ``make_engine`` builds it
   for that URL (the app's engine comes from the same function).

It prints, per store: sessions, pages opened, errors, median / p95 / max page time, wall time,
peak RSS and connections, and the pool; then the times per page, then every error. Exits 1 when
any page had an error. The server's logs are kept in ``--log-dir`` (a temporary folder by
default, printed). Figures go in docs/performance.md ("Many users").
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
#: As in tests/browser/conftest.py: root in a container without GPU, no phoning home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]
SERVER_START_TIMEOUT = 60
SAMPLE_EVERY = 0.25  # seconds between RSS / connection samples

#: Resolves to the moment (performance.now()) the page became idle, once it has stayed idle for
#: ``quietMs``; false before. See the module docstring, point 3, for what "idle" means.
_PAGE_DONE_JS = """
({quietMs, path, heading}) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const h1 = document.querySelector('[data-testid="stMain"] h1');
  const here = location.pathname.replace(/\\/+$/, '') === path.replace(/\\/+$/, '');
  const idle = app !== null
    && app.dataset.testConnectionState === 'CONNECTED'
    && app.dataset.testScriptState === 'notRunning'
    && document.querySelector('[data-testid="stStatusWidget"]') === null
    && document.querySelector('[data-testid="stSpinner"]') === null
    && document.querySelector('[data-testid="stSkeleton"]') === null
    && document.querySelector('[data-stale="true"]') === null
    && document.querySelector('[data-testid="stMain"] [data-testid="stElementContainer"]') !== null
    && here
    && (heading === null || (h1 !== null && h1.innerText.trim().startsWith(heading)));
  if (!idle) { window.__benchIdleSince = undefined; return false; }
  window.__benchIdleSince = window.__benchIdleSince ?? performance.now();
  return performance.now() - window.__benchIdleSince >= quietMs ? window.__benchIdleSince : false;
}
"""

_PAGE_STATE_JS = """
() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return {path: location.pathname,
          connection: app?.dataset.testConnectionState ?? null,
          script: app?.dataset.testScriptState ?? null,
          statusWidget: document.querySelector('[data-testid="stStatusWidget"]') !== null,
          spinners: document.querySelectorAll('[data-testid="stSpinner"]').length,
          stale: document.querySelectorAll('[data-stale="true"]').length,
          h1: document.querySelector('[data-testid="stMain"] h1')?.innerText ?? null};
}
"""


# --------------------------------------------------------------------------- pages of app.py


@dataclass(frozen=True)
class DeclaredPage:
    title: str  # navigation title
    path: str  # URL path, "/" for the default page
    heading: str | None  # first argument of page_setup(...) in the page's script


def _string_arg(call: ast.Call) -> str | None:
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return None


def _keyword(call: ast.Call, name: str):
    for keyword in call.keywords:
        if keyword.arg == name and isinstance(keyword.value, ast.Constant):
            return keyword.value.value
    return None


def _heading(script: Path) -> str | None:
    if not script.is_file():
        return None
    for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", None) == "page_setup"
            and _string_arg(node)
        ):
            return _string_arg(node)
    return None


def declared_pages() -> list[DeclaredPage]:
    """The ``st.Page(...)`` calls of app.py, in source order (as tests/browser reads them)."""
    found = []
    for node in ast.walk(ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "Page"
            and _string_arg(node)
        ):
            script = _string_arg(node)
            path = (
                "/"
                if _keyword(node, "default")
                else "/" + (_keyword(node, "url_path") or Path(script).stem)
            )
            page = DeclaredPage(
                _keyword(node, "title") or Path(script).stem, path, _heading(ROOT / script)
            )
            found.append((node.lineno, node.col_offset, page))
    return [page for *_, page in sorted(found, key=lambda item: item[:2])]


# --------------------------------------------------------------------------- the server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_option(option: str) -> tuple[str, str]:
    """``server.websocketPingInterval=120`` as ``--server.websocketPingInterval 120``."""
    name, sep, value = option.partition("=")
    if not sep or not name:
        raise SystemExit(
            f"--option takes NAME=VALUE (e.g. server.websocketPingInterval=120), got {option!r}"
        )
    return f"--{name}", value


def start_server(
    url: str, log_dir: Path, options: list[str] = ()
) -> tuple[subprocess.Popen, str, Path, Path]:
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    out_path, err_path = log_dir / "streamlit.stdout", log_dir / "streamlit.stderr"
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
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        *(part for option in options for part in _server_option(option)),
    ]
    env = {**os.environ, "DASHBOARD_DB_URL": url}
    with out_path.open("wb") as out, err_path.open("wb") as err:
        # Files, not pipes: a pipe nobody reads blocks the server when it is full.
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=err)
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"streamlit exited with code {process.returncode}: "
                f"{err_path.read_text(errors='replace')[-3000:]}"
            )
        try:
            with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return process, base_url, out_path, err_path
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    stop_server(process)
    raise RuntimeError(f"streamlit did not answer {base_url}/_stcore/health in time")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def tracebacks(*logs: Path) -> list[str]:
    """The last line (the exception) of every Python traceback in the server's output."""
    found = []
    for log in logs:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
        for start, line in enumerate(lines):
            if not line.startswith("Traceback (most recent call last)"):
                continue
            end = start + 1
            while end < len(lines) and (
                lines[end].startswith((" ", "\t")) or not lines[end].strip()
            ):
                end += 1
            found.append(lines[end][:300] if end < len(lines) else "(truncated traceback)")
    return found


# --------------------------------------------------------------------------- pool and sampler


def describe_pool(url: str) -> str:
    """The pool ``make_engine`` builds for ``url`` (no connection is opened)."""
    from dashboard.storage.engine import make_engine

    engine = make_engine(url)
    try:
        pool = engine.pool
        name = type(pool).__name__
        if hasattr(pool, "_max_overflow") and hasattr(pool, "size"):
            size, overflow = pool.size(), pool._max_overflow
            timeout = getattr(pool, "_timeout", None)
            bound = "unbounded" if overflow < 0 else f"at most {size + overflow} connections"
            return (
                f"{name}(pool_size={size}, max_overflow={overflow}, timeout={timeout:g} s): "
                f"{bound} per server process"
            )
        if name == "NullPool":
            return "NullPool: a new connection per checkout, closed on return, none kept"
        return name
    finally:
        engine.dispose()


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Sampler(threading.Thread):
    """Samples the server's RSS and, on PostgreSQL, the connections on the store's database."""

    def __init__(self, pid: int, url: str) -> None:
        super().__init__(daemon=True)
        self.pid, self.url = pid, url
        self.stop_event = threading.Event()
        self.peak_rss = 0.0
        self.peak_connections: int | None = None
        self.peak_active: int | None = None
        self.samples = 0
        self.loads: list[float] = []  # 1-minute load average of the machine, per sample
        self.error: str | None = None

    def _pg_connection(self):
        from sqlalchemy.engine import make_url

        parsed = make_url(self.url)
        if parsed.get_backend_name() != "postgresql":
            return None
        import psycopg

        conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        return psycopg.connect(conninfo, autocommit=True)

    def run(self) -> None:
        try:
            conn = self._pg_connection()
        except Exception as exc:  # noqa: BLE001 - reported, the run goes on without it
            self.error, conn = f"cannot count connections: {exc}", None
        if conn is not None:
            self.peak_connections = self.peak_active = 0
        try:
            while not self.stop_event.is_set():
                rss = _rss_mb(self.pid)
                if rss is not None:
                    self.peak_rss = max(self.peak_rss, rss)
                if conn is not None:
                    total, active = conn.execute(
                        "select count(*), count(*) filter (where state = 'active') "
                        "from pg_stat_activity "
                        "where datname = current_database() and pid <> pg_backend_pid()"
                    ).fetchone()
                    self.peak_connections = max(self.peak_connections, total)
                    self.peak_active = max(self.peak_active, active)
                self.loads.append(os.getloadavg()[0])
                self.samples += 1
                self.stop_event.wait(SAMPLE_EVERY)
        finally:
            if conn is not None:
                conn.close()


# --------------------------------------------------------------------------- browser sessions


@dataclass
class PageVisit:
    session: int
    title: str
    path: str
    seconds: float | None
    errors: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)  # failures of requests to other hosts


async def _page_errors(page) -> list[str]:
    errors = []
    for text in await page.locator('[data-testid="stException"]').all_inner_texts():
        errors.append("exception box: " + " ".join(text.split())[:300])
    for text in await page.locator('[data-testid="stAlertContentError"]').all_inner_texts():
        errors.append("error box: " + " ".join(text.split())[:300])
    return errors


async def _wait_done(page, path: str, heading: str | None, quiet_ms: int, timeout_ms: int):
    """performance.now() at which the page became idle; None (and the state) on timeout."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    try:
        handle = await page.wait_for_function(
            _PAGE_DONE_JS,
            arg={"quietMs": quiet_ms, "path": path, "heading": heading},
            polling=100,
            timeout=timeout_ms,
        )
        return await handle.json_value(), None
    except PlaywrightTimeout:
        return None, await page.evaluate(_PAGE_STATE_JS)


async def run_session(browser, base_url: str, index: int, args, declared) -> list[PageVisit]:
    headings = {page.path: page.heading for page in declared}
    titles = {page.path: page.title for page in declared}
    visits: list[PageVisit] = []
    pending: list[str] = []  # browser events since the last page was recorded
    outside: list[str] = []  # the same, for requests to other hosts
    context = await browser.new_context(viewport={"width": 1400, "height": 900}, base_url=base_url)
    page = await context.new_page()
    recording = True

    def note(kind: str, text: str, where: str = "") -> None:
        if not recording:
            return
        line = f"{kind}: {' '.join(str(text).split())[:300]}"
        # This machine is offline: a request to another host (Google's font server, for the
        # Material icon of the browser tab) fails here; it is reported apart, not as an error.
        (outside if where and not where.startswith(base_url) else pending).append(line)

    def on_console(message) -> None:
        if message.type == "error":
            note("console error", message.text, (message.location or {}).get("url", ""))

    def on_response(response) -> None:
        if response.status >= 400:
            text = f"{response.status} {response.request.method} {response.url}"
            note("HTTP", text, response.url)

    def on_request_failed(request) -> None:
        text = f"failed {request.method} {request.url}: {request.failure}"
        note("HTTP", text, request.url)

    page.on("console", on_console)
    page.on("pageerror", lambda error: note("JavaScript error", error))
    page.on("response", on_response)
    page.on("requestfailed", on_request_failed)

    async def record(title: str, path: str, started: float | None) -> None:
        done, state = await _wait_done(
            page, path, headings.get(path), args.quiet_ms, int(args.page_timeout * 1000)
        )
        visit = PageVisit(index, title, path, None)
        if done is None:
            visit.errors.append(f"not finished after {args.page_timeout:g} s: {state}")
        else:
            visit.seconds = (done - (started or 0.0)) / 1000
        visit.errors += await _page_errors(page)
        visit.errors += pending
        visit.external += outside
        pending.clear()
        outside.clear()
        visits.append(visit)

    try:
        try:
            await page.goto("/", timeout=int(args.page_timeout * 1000))
        except Exception as exc:  # noqa: BLE001 - recorded as the page's error
            pending.append(f"cannot open /: {exc}")
        # First page: timed from the start of navigation (performance.now() == 0).
        await record(titles.get("/", "/"), "/", 0.0)

        links = page.locator('[data-testid="stSidebarNavLink"]')
        nav = []
        for link in await links.all():
            href = await link.get_attribute("href") or ""
            nav.append("/" + href.removeprefix(base_url).strip("/"))
        declared_paths = [p.path for p in declared]
        if nav != declared_paths:
            visits[-1].errors.append(f"sidebar links {nav} are not app.py's {declared_paths}")

        for position, path in enumerate(nav):
            if path == "/":
                continue
            started = await page.evaluate(
                "() => { window.__benchIdleSince = undefined; return performance.now(); }"
            )
            try:
                await links.nth(position).click(timeout=int(args.page_timeout * 1000))
            except Exception as exc:  # noqa: BLE001 - recorded as the page's error
                pending.append(f"cannot click the sidebar link: {exc}")
            # The link's text starts with its icon's ligature name: app.py's title is used.
            await record(titles.get(path, path), path, started)
    finally:
        recording = False
        await context.close()
    failed = sum(bool(visit.errors) for visit in visits)
    print(f"  session {index}: {len(visits)} pages, {failed} with errors", flush=True)
    return visits


async def run_sessions(base_url: str, args, declared) -> tuple[list[PageVisit], float]:
    from playwright.async_api import async_playwright

    executable = CHROMIUM
    if args.browser_nice:
        # The browsers stand in for people's own machines: at a lower priority they do not take
        # the server's cores on a small machine (docs/performance.md, "Many users").
        wrapper = Path(tempfile.mkdtemp(prefix="bench-chromium-")) / "chromium"
        wrapper.write_text(f'#!/bin/sh\nexec nice -n {int(args.browser_nice)} {CHROMIUM} "$@"\n')
        wrapper.chmod(0o755)
        executable = str(wrapper)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            started = time.perf_counter()
            results = await asyncio.gather(
                *(run_session(browser, base_url, i, args, declared) for i in range(args.sessions)),
                return_exceptions=True,
            )
            wall = time.perf_counter() - started
        finally:
            await browser.close()
    visits = []
    for index, result in enumerate(results):
        if isinstance(result, BaseException):
            visits.append(PageVisit(index, "(session)", "", None, [f"session failed: {result!r}"]))
        else:
            visits.extend(result)
    return visits, wall


# --------------------------------------------------------------------------- one store


@dataclass
class StoreRun:
    url: str
    pool: str
    sessions: int
    visits: list[PageVisit]
    wall: float
    peak_rss_mb: float
    peak_connections: int | None
    peak_active: int | None
    server_tracebacks: list[str]
    log_dir: str
    load_average: tuple[float, float]  # machine's 1-minute load average: mean, max over the run
    sampler_error: str | None = None

    @property
    def times(self) -> list[float]:
        return [visit.seconds for visit in self.visits if visit.seconds is not None]

    @property
    def errors(self) -> list[str]:
        found = [f"{v.title} (session {v.session}): {e}" for v in self.visits for e in v.errors]
        found += [f"server traceback: {line}" for line in self.server_tracebacks]
        return found


def _store_name(url: str) -> str:
    from dashboard.storage.engine import StoreLocation

    return StoreLocation(url, "argument").short_name


def bench_store(url: str, args, declared, log_root: Path) -> StoreRun:
    log_dir = log_root / re.sub(r"[^A-Za-z0-9]+", "_", _store_name(url)).strip("_")
    log_dir.mkdir(parents=True, exist_ok=True)
    pool = describe_pool(url)
    process, base_url, out_path, err_path = start_server(url, log_dir, args.option)
    sampler = Sampler(process.pid, url)
    sampler.start()
    try:
        visits, wall = asyncio.run(run_sessions(base_url, args, declared))
    finally:
        sampler.stop_event.set()
        sampler.join(timeout=5)
        stop_server(process)
    return StoreRun(
        url=url,
        pool=pool,
        sessions=args.sessions,
        visits=visits,
        wall=wall,
        peak_rss_mb=sampler.peak_rss,
        peak_connections=sampler.peak_connections,
        peak_active=sampler.peak_active,
        server_tracebacks=tracebacks(out_path, err_path),
        log_dir=str(log_dir),
        load_average=(
            statistics.mean(sampler.loads) if sampler.loads else float("nan"),
            max(sampler.loads, default=float("nan")),
        ),
        sampler_error=sampler.error,
    )


# --------------------------------------------------------------------------- report


def _p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def _fmt(value: float | None) -> str:
    return "—" if value is None or value != value else f"{value:.1f}"


def report(runs: list[StoreRun], declared) -> None:
    print()
    print(
        "| Store | sessions | pages opened | errors | median page s | p95 page s | max page s "
        "| wall s | peak RSS MB | peak DB connections (active) | load avg mean / max |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for run in runs:
        times = run.times
        connections = (
            "not visible (embedded)"
            if run.peak_connections is None
            else f"{run.peak_connections} ({run.peak_active})"
        )
        print(
            f"| {_store_name(run.url)} | {run.sessions} | {len(times)} | {len(run.errors)} "
            f"| {_fmt(statistics.median(times) if times else None)} | {_fmt(_p95(times))} "
            f"| {_fmt(max(times) if times else None)} | {run.wall:.1f} "
            f"| {run.peak_rss_mb:.0f} | {connections} "
            f"| {run.load_average[0]:.1f} / {run.load_average[1]:.1f} |"
        )
    print()
    print("Pool (make_engine, as built for each URL now):")
    for run in runs:
        print(f"  {_store_name(run.url)}: {run.pool}")
    print()
    titles = [page.title for page in declared]
    header = " | ".join(f"{_store_name(run.url)} median / max s" for run in runs)
    print(f"| Page | {header} |")
    print("| --- |" + " ---: |" * len(runs))
    for title in titles:
        cells = []
        for run in runs:
            values = [v.seconds for v in run.visits if v.title == title and v.seconds is not None]
            cells.append(
                f"{_fmt(statistics.median(values))} / {_fmt(max(values))}" if values else "—"
            )
        first = " (first page, incl. front-end load)" if title == declared[0].title else ""
        print(f"| {title}{first} | " + " | ".join(cells) + " |")
    for run in runs:
        errors = run.errors
        print()
        print(f"{_store_name(run.url)}: {len(errors)} errors; server logs in {run.log_dir}")
        if run.sampler_error:
            print(f"  (sampler: {run.sampler_error})")
        for text, count in Counter(errors).most_common(40):
            print(f"  {count:>3} × {text}")
        external = Counter(text for visit in run.visits for text in visit.external)
        if external:
            print("  not counted, requests to other hosts that failed (this machine is offline):")
            for text, count in external.most_common(10):
                print(f"  {count:>3} × {text}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--db", action="append", required=True, metavar="URL", help="store URL (repeatable)"
    )
    parser.add_argument("--sessions", type=int, default=20, help="browser sessions at once")
    parser.add_argument(
        "--page-timeout", type=float, default=180, help="seconds a page may take to finish"
    )
    parser.add_argument(
        "--quiet-ms", type=int, default=400, help="ms a page must stay idle to count as finished"
    )
    parser.add_argument("--log-dir", type=Path, help="where the server logs go")
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a Streamlit config option for the server (repeatable), e.g. "
        "server.websocketPingInterval=120",
    )
    parser.add_argument(
        "--browser-nice",
        type=int,
        default=0,
        metavar="N",
        help="run Chromium at nice N (e.g. 15) so that it does not take the server's CPU",
    )
    parser.add_argument("--json", type=Path, help="also write every page visit to this file")
    args = parser.parse_args(argv)

    declared = declared_pages()
    if not declared:
        parser.error("no st.Page(...) found in app.py")
    log_root = args.log_dir or Path(tempfile.mkdtemp(prefix="bench-sessions-"))
    print(
        f"{args.sessions} sessions at once, {len(declared)} pages each "
        f"({', '.join(p.title for p in declared)}); logs in {log_root}",
        flush=True,
    )
    runs = []
    for url in args.db:
        print(f"{_store_name(url)}: {describe_pool(url)} ...", flush=True)
        run = bench_store(url, args, declared, log_root)
        print(f"  {len(run.times)} pages in {run.wall:.1f} s, {len(run.errors)} errors", flush=True)
        runs.append(run)
        if len(args.db) > 1:
            report([run], declared)  # each store's figures as soon as they are known
        if args.json:
            args.json.write_text(
                json.dumps([asdict(run) for run in runs], indent=1, default=str),
                encoding="utf-8",
            )
    report(runs, declared)
    return 1 if any(run.errors for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())

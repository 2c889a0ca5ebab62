"""The first run of the embedded default store, in a background thread of the server process.

The demo build, the lifetime-value fit and the segmentation
(:func:`dashboard.services.demo.complete_first_run`) run in one thread per store, started by
the first visitor and held by a process-wide :func:`st.cache_resource` registry, so closing
the tab does not stop them. Every visitor arriving meanwhile sees the same progress bar (the
page polls the job every half second), then the page. A failure is shown as a plain message
with a button that starts the build again; the traceback goes to the server log only.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import streamlit as st
from sqlalchemy import Engine

from dashboard.errors import first_line
from dashboard.services import demo, first_view
from dashboard.storage.engine import StoreLocation

log = logging.getLogger(__name__)

#: Size of the demo portfolio built on first run of the embedded store (override with
#: DASHBOARD_DEMO_CUSTOMERS).
DEFAULT_DEMO_CUSTOMERS = 20_000

#: Seconds between two looks at the job while a page shows its progress.
POLL_SECONDS = 0.5


def _what(job: FirstRunJob, location: StoreLocation) -> str:
    """What the job does, in words (for the notice and the error)."""
    if job.step == "build":
        return (
            f"building a demo portfolio of {job.n_customers:,} customers in "
            f"`{location.display_url}`, then fitting the lifetime-value model and the segments"
        )
    return (
        f"completing the demo store `{location.display_url}`: storing the lifetime-value fit "
        "and the segments that an interrupted first run did not store"
    )


def demo_customers() -> int:
    """Customers of the first-run demo (``DASHBOARD_DEMO_CUSTOMERS``, default 20,000)."""
    return int(os.environ.get("DASHBOARD_DEMO_CUSTOMERS", DEFAULT_DEMO_CUSTOMERS))


@dataclass
class FirstRunJob:
    """One first-run build of one store: its thread, progress and outcome (thread-safe)."""

    url: str
    step: str  # "build" or "finish" (demo.first_run_step)
    n_customers: int
    fraction: float = 0.0
    message: str = "Starting…"
    error: str | None = None
    done: bool = False
    thread: threading.Thread | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def start(self, engine: Engine, on_done: Callable[[], None] | None = None) -> None:
        """Run the step in a daemon thread (a server shut down mid-way is completed later)."""
        self.thread = threading.Thread(
            target=self._run, args=(engine, on_done), name="first-run-build", daemon=True
        )
        self.thread.start()

    def report(self, fraction: float, message: str) -> None:
        with self._lock:
            self.fraction, self.message = float(fraction), message

    def snapshot(self) -> tuple[float, str, str | None, bool]:
        """(fraction, message, error, done), read together."""
        with self._lock:
            return self.fraction, self.message, self.error, self.done

    def join(self, timeout: float | None = None) -> None:
        if self.thread is not None:
            self.thread.join(timeout)

    def _run(self, engine: Engine, on_done: Callable[[], None] | None) -> None:
        error = None
        try:
            if demo.complete_first_run(engine, self.n_customers, progress=self.report):
                self.report(0.99, "Preparing the pages' default period")
                first_view.prepare_default_period(engine)
                self.report(1.0, "Ready")
        except Exception as exc:  # shown on the page as one message; traceback in the log
            log.exception("First-run build of %s failed", StoreLocation(self.url, "").display_url)
            error = f"{type(exc).__name__}: {first_line(exc)}"
        with self._lock:
            self.error, self.done = error, True
        if on_done is not None:
            try:
                on_done()
            except Exception:  # pragma: no cover - forgetting caches must not hide the outcome
                log.exception("Clearing caches after the first-run build failed")


class FirstRuns:
    """The process's first-run jobs, one per store URL (at most one running per store)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, FirstRunJob] = {}

    def job(self, url: str) -> FirstRunJob | None:
        with self._lock:
            return self._jobs.get(url)

    def start_or_get(
        self,
        url: str,
        engine: Engine,
        n_customers: int,
        on_done: Callable[[], None] | None = None,
    ) -> FirstRunJob | None:
        """The running (or failed) job of ``url``; else start one if the store needs it.

        Whether it is needed is read afresh from the store (not from a cache), so a store
        completed a moment ago is never built twice. None: the store is complete.
        """
        with self._lock:
            job = self._jobs.get(url)
            if job is not None and (not job.done or job.error):
                return job
            step = demo.first_run_step(engine)
            if step is None:
                return None
            job = FirstRunJob(url, step, n_customers)
            self._jobs[url] = job
            job.start(engine, on_done)
            return job

    def forget_failed(self, url: str) -> None:
        """Drop a failed job, so that the next visit starts the build again."""
        with self._lock:
            job = self._jobs.get(url)
            if job is not None and job.done and job.error:
                del self._jobs[url]


@st.cache_resource(show_spinner=False)
def registry() -> FirstRuns:
    """The one registry of first-run jobs of this server process."""
    return FirstRuns()


@st.cache_data(ttl=30, max_entries=8, show_spinner=False)
def _pending_step(url: str, _engine: Engine) -> str | None:
    """:func:`demo.first_run_step`, cached briefly: a complete store costs no read per rerun."""
    return demo.first_run_step(_engine)


def ensure_complete(engine: Engine, location: StoreLocation, on_change: Callable[[], None]) -> None:
    """Return once the default store is complete; meanwhile show the shared build's progress.

    Starts the build when no job runs and the store needs one. ``on_change`` (forget cached
    data) is called when the store was built or completed. A failed build stops the page with
    a plain message and a button to try again.
    """
    if _pending_step(location.url, engine) is None:
        return
    runs = registry()

    def done() -> None:
        _pending_step.clear()
        on_change()

    job = runs.start_or_get(location.url, engine, demo_customers(), on_done=done)
    if job is None:  # completed meanwhile (cached step was stale)
        done()
        return
    _show_progress_until_done(job, location)
    _, _, error, _ = job.snapshot()
    if error:
        _stop_with_build_error(job, location, runs)
    done()
    st.toast(
        f"Demo portfolio of {job.n_customers:,} customers built, fitted and segmented."
        if job.step == "build"
        else "Demo store completed: lifetime value fitted and customers segmented.",
        icon=":material/check_circle:",
    )


def _show_progress_until_done(job: FirstRunJob, location: StoreLocation) -> None:
    fraction, message, _, done = job.snapshot()
    if done:
        return
    notice = st.empty()
    with notice.container():
        st.info(
            f"First run: {_what(job, location)}. This takes under a minute and happens "
            "once. It runs on the server: closing this tab does not stop it, and everyone "
            "who opens the dashboard meanwhile sees this bar.",
            icon=":material/construction:",
        )
        bar = st.progress(fraction, text=message)
    while not done:
        time.sleep(POLL_SECONDS)
        fraction, message, _, done = job.snapshot()
        bar.progress(min(max(fraction, 0.0), 1.0), text=message)
    notice.empty()


def _stop_with_build_error(job: FirstRunJob, location: StoreLocation, runs: FirstRuns) -> None:
    _, message, error, _ = job.snapshot()
    st.error(
        f"**The first-run build of the demo store failed** while {_what(job, location)}."
        f"\n\nLast step: {message}\n\nError: {error}\n\n"
        "Nothing half-built is shown as complete: the next try builds or completes the store. "
        "Try again with the button below, or restart the app, or stop the app and run "
        "`python -m dashboard demo --replace` (the server log has the details).",
        icon=":material/error:",
    )
    st.button(
        "Try the build again",
        icon=":material/refresh:",
        on_click=runs.forget_failed,
        args=(location.url,),
    )
    st.stop()

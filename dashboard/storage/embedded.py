"""Sharing the embedded DuckDB file between the app and the command line.

DuckDB lets one process at a time open a database file for writing, and a process that has it
open blocks every other process, readers included ("Could not set lock on file"). So a process
must not keep the file open while it is idle: the dashboard serves for weeks, and
``python -m dashboard import`` must get in while it does. The mechanism, chosen by measurement
(docs/store.md, "Refresh while the app serves"):

* **Short-lived connections.** The engine of a DuckDB file has no pool (``NullPool``): every
  ``engine.connect()`` opens the file and closing the connection closes it. Opening costs about
  0.1 s (measured at 20k and 1M customers), so a unit of work that makes several connections
  (a page's view, a page's set-up) holds the file for its duration with :func:`store_session`:
  the first connection inside it keeps a second, anchoring handle open until the session ends,
  and every further connection of the process reuses the open database (DuckDB caches one
  instance per file and process; about 2 ms).
* **Waiting instead of failing.** A connection refused because another process holds the file
  is retried with back-off for up to :data:`DEFAULT_LOCK_WAIT_SECONDS` (``DASHBOARD_LOCK_WAIT``
  overrides it); then :class:`StoreBusy` says which process holds it.
* **Waiters go first.** While a process waits, it leaves a file ``<database>.wait-<pid>`` next
  to the database. A thread of another process that holds no connection to the file does not
  open a new one while such a waiter (older than its own wait, if it waits too) exists, for at
  most :data:`DEFER_SECONDS`: work already under way finishes, the file closes, the waiter gets
  it. Without this, an app serving many sessions whose work overlaps could keep the file open
  for minutes on end.

The gate is process-wide state on purpose: DuckDB's instance cache, which it mirrors, is.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path

from dashboard.errors import StoreError

log = logging.getLogger(__name__)

#: How long a connection waits for another process to release the file (seconds).
DEFAULT_LOCK_WAIT_SECONDS = 30.0
LOCK_WAIT_ENV = "DASHBOARD_LOCK_WAIT"

#: How long a new connection defers to another process that waits for the file (seconds).
DEFER_SECONDS = 10.0

#: A waiter file older than this is left over from a crashed process and ignored.
STALE_WAITER_SECONDS = 600.0

_lock_wait_override: ContextVar[float | None] = ContextVar("lock_wait_override", default=None)


class StoreBusy(StoreError):
    """Another process holds the embedded database file for longer than we may wait."""

    def __init__(self, message: str, holder: str | None = None) -> None:
        super().__init__(message)
        self.holder = holder


def lock_wait_seconds() -> float:
    """The wait of the current context: :func:`waiting_at_most`, else the environment."""
    override = _lock_wait_override.get()
    if override is not None:
        return override
    raw = os.environ.get(LOCK_WAIT_ENV, "").strip()
    try:
        return max(0.0, float(raw)) if raw else DEFAULT_LOCK_WAIT_SECONDS
    except ValueError:
        log.warning("%s=%r is not a number of seconds; waiting %.0f s", LOCK_WAIT_ENV, raw,
                    DEFAULT_LOCK_WAIT_SECONDS)  # fmt: skip
        return DEFAULT_LOCK_WAIT_SECONDS


@contextlib.contextmanager
def waiting_at_most(seconds: float) -> Iterator[None]:
    """Connections opened in this block wait at most ``seconds`` for a busy file."""
    token = _lock_wait_override.set(seconds)
    try:
        yield
    finally:
        _lock_wait_override.reset(token)


def is_lock_error(exc: BaseException) -> bool:
    """True for DuckDB's refusal to open a file another process holds."""
    return "could not set lock" in str(exc).lower()


def holder_of(exc: BaseException) -> str | None:
    """The process named in DuckDB's lock error, e.g. "PID 123 (streamlit run app.py)"."""
    match = re.search(r"PID (\d+)", str(exc))
    if not match:
        return None
    pid = int(match.group(1))
    return f"PID {pid} ({_command_of(pid)})" if _command_of(pid) else f"PID {pid}"


def _command_of(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    words = [w.decode(errors="replace") for w in raw.split(b"\0") if w]
    # "python3.11 -m dashboard import orders x.csv" reads better without the interpreter path.
    if words and Path(words[0]).name.startswith("python"):
        words[0] = "python"
    if len(words) > 1 and Path(words[1]).name in ("streamlit", "pytest"):
        words = [Path(words[1]).name, *words[2:]]
    text = " ".join(words)
    return text[:80] + ("…" if len(text) > 80 else "")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class FileGate:
    """Connection discipline for one DuckDB file in this process (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._wait_file = Path(f"{path}.wait-{os.getpid()}")
        self._wait_started: float | None = None
        self._mutex = threading.Lock()
        self._waiting_threads = 0

    # -- per-thread bookkeeping -------------------------------------------------------------
    def _open_count(self) -> int:
        return getattr(self._local, "open", 0)

    def opened(self) -> None:
        self._local.open = self._open_count() + 1

    def closed(self) -> None:
        self._local.open = max(0, self._open_count() - 1)

    # -- waiters ----------------------------------------------------------------------------
    def _foreign_waiters(self) -> list[float]:
        """Start times of other live processes waiting for this file."""
        starts = []
        now = time.time()
        for candidate in self.path.parent.glob(f"{self.path.name}.wait-*"):
            try:
                pid = int(candidate.name.rsplit("-", 1)[1])
                started = float(candidate.read_text(encoding="utf-8").split(" ", 1)[0])
            except (ValueError, IndexError, OSError):
                continue
            if pid == os.getpid() or now - started > STALE_WAITER_SECONDS or not _alive(pid):
                continue
            starts.append(started)
        return starts

    def _defer_to_waiters(self) -> None:
        """Before opening the file anew, let an older waiting process have it first."""
        if self._open_count() > 0:
            return  # this thread holds the file already: another handle does not extend that
        deadline = time.monotonic() + DEFER_SECONDS
        while time.monotonic() < deadline:
            waiters = self._foreign_waiters()
            mine = self._wait_started
            if not waiters or (mine is not None and min(waiters) > mine):
                return
            time.sleep(0.05)

    def _start_waiting(self) -> None:
        with self._mutex:
            self._waiting_threads += 1
            if self._wait_started is None:
                self._wait_started = time.time()
                try:
                    self._wait_file.write_text(
                        f"{self._wait_started} {_command_of(os.getpid()) or ''}", encoding="utf-8"
                    )
                except OSError:  # a read-only folder: waiting still works, only not first
                    pass

    def _stop_waiting(self) -> None:
        with self._mutex:
            self._waiting_threads -= 1
            if self._waiting_threads == 0:
                self._wait_started = None
                self._wait_file.unlink(missing_ok=True)

    # -- connecting -------------------------------------------------------------------------
    def connect(self, open_connection: Callable[[], object], on_wait: Callable[[str], None]):
        """Open a DBAPI connection, deferring to waiters and waiting out another holder."""
        self._defer_to_waiters()
        wait = lock_wait_seconds()
        deadline = time.monotonic() + wait
        delay = 0.05
        waiting = False
        try:
            while True:
                try:
                    return open_connection()
                except Exception as exc:  # duckdb.IOException; the driver is imported lazily
                    if not is_lock_error(exc):
                        raise
                    holder = holder_of(exc)
                    if time.monotonic() + delay > deadline:
                        raise StoreBusy(
                            f"The database file {self.path} is in use by another process "
                            f"({holder or 'unknown'}) and was not released within {wait:.0f} s. "
                            "Wait for it to finish and try again; DuckDB lets one process "
                            "open the file at a time (docs/store.md).",
                            holder,
                        ) from exc
                    if not waiting:
                        waiting = True
                        self._start_waiting()
                        on_wait(
                            f"Waiting for {holder or 'another process'} to release "
                            f"{self.path.name} (at most {wait:.0f} s)…"
                        )
                    time.sleep(delay)
                    delay = min(delay * 1.5, 0.5)
        finally:
            if waiting:
                self._stop_waiting()

    # -- sessions ---------------------------------------------------------------------------
    def session_depth(self) -> int:
        return getattr(self._local, "session", 0)

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """Keep the file open for this thread until the block ends (opened on first use)."""
        self._local.session = self.session_depth() + 1
        try:
            yield
        finally:
            self._local.session -= 1
            anchor = getattr(self._local, "anchor", None)
            if self._local.session == 0 and anchor is not None:
                self._local.anchor = None
                anchor.close()
                self.closed()

    def anchor_if_needed(self, open_anchor: Callable[[], object]) -> None:
        """Inside a session, hold a second handle after its first connection."""
        if self.session_depth() and getattr(self._local, "anchor", None) is None:
            self._local.anchor = open_anchor()
            self.opened()


_gates: dict[Path, FileGate] = {}
_gates_mutex = threading.Lock()


def gate_for(path: str | Path) -> FileGate:
    """The one gate of this process for the database file at ``path``."""
    resolved = Path(path).resolve()
    with _gates_mutex:
        if resolved not in _gates:
            _gates[resolved] = FileGate(resolved)
        return _gates[resolved]

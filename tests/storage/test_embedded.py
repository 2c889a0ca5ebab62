"""The embedded file shared between processes: waiting, naming the holder, letting writers in."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from dashboard.storage import embedded
from dashboard.storage.engine import (
    StoreBusy,
    StoreError,
    bump_data_version,
    make_engine,
    read_data_version,
    store_session,
)
from tests.fixtures import load_tiny

ROOT = Path(__file__).resolve().parents[2]

#: A process that opens the DuckDB file for writing, says so, and keeps it for argv[2] s.
HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("open", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


@pytest.fixture
def store(tmp_path) -> tuple[str, Path]:
    path = tmp_path / "store.duckdb"
    load_tiny(make_engine(f"duckdb:///{path}"))
    return f"duckdb:///{path}", path


def _hold(path: Path, seconds: float) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "open"
    return process


def _other_process_can_open(path: Path) -> bool:
    probe = "import sys, duckdb; duckdb.connect(sys.argv[1]).close()"
    return (
        subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True).returncode
        == 0
    )


def test_an_idle_engine_does_not_hold_the_file(store):
    url, path = store
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from customers")).scalar_one() == 4
    assert _other_process_can_open(path)


def test_a_session_holds_the_file_until_it_ends_and_connects_once(store):
    url, path = store
    engine = make_engine(url)
    gate = embedded.gate_for(path)
    with store_session(engine):
        for _ in range(3):
            with engine.connect() as conn:
                conn.execute(text("select 1"))
        assert gate._open_count() == 1  # the anchor; every connection reused the open file
        assert not _other_process_can_open(path)
    assert gate._open_count() == 0
    assert _other_process_can_open(path)


def test_a_write_waits_for_another_process_and_says_who(store):
    url, path = store
    messages: list[str] = []
    engine = make_engine(url, on_lock_wait=messages.append)
    holder = _hold(path, 2.0)
    started = time.monotonic()
    version = bump_data_version(engine)
    waited = time.monotonic() - started
    holder.wait()
    assert waited >= 1.0
    assert read_data_version(engine) == version
    assert len(messages) == 1
    assert f"PID {holder.pid}" in messages[0] and "store.duckdb" in messages[0]


def test_a_holder_that_outlasts_the_wait_gives_a_clear_error(store, monkeypatch):
    url, path = store
    monkeypatch.setenv("DASHBOARD_LOCK_WAIT", "1")
    holder = _hold(path, 6.0)
    try:
        with pytest.raises(StoreBusy) as raised:
            with make_engine(url).connect():
                pass
    finally:
        holder.kill()
        holder.wait()
    assert isinstance(raised.value, StoreError)
    message = str(raised.value)
    assert str(path) in message and f"PID {holder.pid}" in message and "within 1 s" in message


def test_the_command_line_waits_while_the_file_is_held(store):
    url, path = store
    holder = _hold(path, 12.0)  # longer than the command's start-up on a busy machine
    result = subprocess.run(
        [sys.executable, "-m", "dashboard", "check", "--db", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    holder.wait()
    assert result.returncode == 0, result.stderr
    assert f"Waiting for PID {holder.pid}" in result.stderr


def test_a_new_connection_lets_an_older_waiter_go_first(store):
    url, path = store
    engine = make_engine(url)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    waiter_file = Path(f"{path.resolve()}.wait-{sleeper.pid}")
    try:
        waiter_file.write_text(f"{time.time()} python -m dashboard import", encoding="utf-8")
        threading.Timer(1.0, waiter_file.unlink).start()
        started = time.monotonic()
        with engine.connect():
            pass
        assert time.monotonic() - started >= 0.9  # deferred until the waiter was done
    finally:
        sleeper.kill()
        sleeper.wait()
        waiter_file.unlink(missing_ok=True)


def test_a_thread_that_holds_the_file_does_not_defer(store):
    url, path = store
    engine = make_engine(url)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    waiter_file = Path(f"{path.resolve()}.wait-{sleeper.pid}")
    try:
        with engine.connect():
            waiter_file.write_text(f"{time.time()} waiter", encoding="utf-8")
            started = time.monotonic()
            with engine.connect():  # nested: deferring would only keep the waiter out longer
                pass
            assert time.monotonic() - started < 5  # deferring would take DEFER_SECONDS (10 s)
    finally:
        sleeper.kill()
        sleeper.wait()
        waiter_file.unlink(missing_ok=True)


def test_waiter_files_of_dead_processes_are_ignored(store):
    url, path = store
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    waiter_file = Path(f"{path.resolve()}.wait-{dead.pid}")
    waiter_file.write_text(f"{time.time()} crashed", encoding="utf-8")
    try:
        started = time.monotonic()
        with make_engine(url).connect():
            pass
        assert time.monotonic() - started < 5  # deferring would take DEFER_SECONDS (10 s)
    finally:
        waiter_file.unlink(missing_ok=True)

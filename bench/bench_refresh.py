"""Refresh while the app serves: how long a writer waits for the embedded file, what it costs pages.

Usage::

    python bench/bench_refresh.py --db duckdb:////tmp/bench100k.duckdb [--sessions 4]
                                  [--writes 5] [--modes pool,short,short+defer]

Starts an "app" process whose ``--sessions`` threads run the pages' views back to back, as
visitors clicking through the dashboard do (a random page, then 0-0.3 s of think time), and
meanwhile runs ``--writes`` writer processes one after the other, each of which opens the store
and bumps its data version (what every ``python -m dashboard`` write does last). For each
connection mode of the app it prints the writers' wait for the file, the page times and how
soon the app saw each new version:

* ``pool``: the engine as it was before (SQLAlchemy's QueuePool keeps connections, so the file,
  open while the app runs);
* ``short``: no pool, the file held only while a view runs (``store_session``), writers retry;
* ``short+defer``: as ``short``, and the app opens no new connection while a writer waits
  (``dashboard.storage.embedded``), which is what the app does now.

A writer gives up after ``DASHBOARD_LOCK_WAIT`` seconds (default 30). Figures go in
docs/store.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODES = ("pool", "short", "short+defer")


def _app_engine(url: str, mode: str):
    from sqlalchemy import create_engine

    from dashboard.storage import embedded
    from dashboard.storage.engine import make_engine

    if mode == "pool":
        return create_engine(url, pool_pre_ping=True)
    if mode == "short":
        embedded.DEFER_SECONDS = 0.0
    return make_engine(url)


def run_app(url: str, mode: str, sessions: int, seconds: float) -> None:
    """The app's side: ``sessions`` threads running views; prints JSON stats on stdout."""
    from dashboard.scope import Scope
    from dashboard.services.views import loyalty, overview, service, value_curves
    from dashboard.storage import queries
    from dashboard.storage.engine import store_session

    engine = _app_engine(url, mode)
    bounds = queries.data_bounds(engine)
    scope = Scope(start=date(bounds.last_order.year, 1, 1), end=bounds.last_order)
    views = [
        overview.view,
        lambda engine, scope: value_curves.view(engine, scope, "region"),
        loyalty.view,
        lambda engine, scope: service.view(engine, scope, bounds.first_order, bounds.last_order),
    ]
    page_times: list[float] = []
    errors: list[str] = []
    versions: list[tuple[float, str]] = []
    stop = time.monotonic() + seconds
    rng = random.Random(7)

    def visitor() -> None:
        while time.monotonic() < stop:
            view = rng.choice(views)
            started = time.perf_counter()
            try:
                with store_session(engine):
                    view(engine, scope)
            except Exception as exc:  # noqa: BLE001 - counted and reported
                errors.append(f"{type(exc).__name__}: {str(exc)[:120]}")
            page_times.append(time.perf_counter() - started)
            time.sleep(rng.uniform(0, 0.3))

    def version_watch() -> None:
        seen = None
        while time.monotonic() < stop:
            try:
                with store_session(engine):
                    current = queries.data_version(engine)
            except Exception:  # noqa: BLE001 - busy: look again
                current = seen
            if current != seen:
                versions.append((time.time(), current))
                seen = current
            time.sleep(1.0)

    threads = [threading.Thread(target=visitor) for _ in range(sessions)]
    threads.append(threading.Thread(target=version_watch))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"page_times": page_times, "errors": errors, "versions": versions}))


def run_writer(url: str) -> None:
    """One writer: open the store (waiting as the CLI does) and bump the data version."""
    from dashboard.storage.engine import StoreError, bump_data_version, make_engine

    engine = make_engine(url, on_lock_wait=lambda message: None)
    started = time.perf_counter()
    try:
        version = bump_data_version(engine)
        print(json.dumps({"wait": time.perf_counter() - started, "version": version,
                          "done_at": time.time()}))  # fmt: skip
    except StoreError as exc:
        print(json.dumps({"wait": time.perf_counter() - started, "error": str(exc)[:160]}))


def _spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, __file__, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def measure(url: str, mode: str, sessions: int, writes: int) -> dict:
    lock_wait = float(os.environ.get("DASHBOARD_LOCK_WAIT", "30"))
    seconds = 8 + writes * (lock_wait + 4)
    app = _spawn("--role", "app", "--db", url, "--mode", mode, "--sessions", str(sessions),
                 "--seconds", str(seconds))  # fmt: skip
    time.sleep(6)  # imports and the first views
    results = []
    for _ in range(writes):
        writer = _spawn("--role", "writer", "--db", url)
        out, _ = writer.communicate()
        results.append(json.loads(out))
        time.sleep(2)
    out, _ = app.communicate()
    app_stats = json.loads(out)
    seen = {version: at for at, version in app_stats["versions"]}
    lags = []
    for result in results:
        if "version" in result:
            shown = [at for version, at in seen.items() if version.startswith(result["version"])]
            lags.append(shown[0] - result["done_at"] if shown else float("nan"))
    return {"mode": mode, "writers": results, "lags": lags, **app_stats}


def report(stats: dict) -> str:
    waits = [w["wait"] for w in stats["writers"] if "error" not in w]
    failed = sum("error" in w for w in stats["writers"])
    pages = sorted(stats["page_times"])
    p95 = pages[int(0.95 * (len(pages) - 1))] if pages else float("nan")

    def fmt(values):
        return f"{statistics.median(values):.2f} / {max(values):.2f}" if values else "-"

    return (
        f"| {stats['mode']} | {len(stats['writers']) - failed}/{len(stats['writers'])} | "
        f"{fmt(waits)} | {fmt(stats['lags'])} | {len(pages)} | "
        f"{statistics.median(pages):.2f} / {p95:.2f} | {len(stats['errors'])} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--role", choices=("bench", "app", "writer"), default="bench")
    parser.add_argument("--mode", choices=MODES, default="short+defer")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--writes", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    if args.role == "app":
        run_app(args.db, args.mode, args.sessions, args.seconds)
        return
    if args.role == "writer":
        run_writer(args.db)
        return
    print(f"store {args.db}, {args.sessions} app sessions, {args.writes} writers per mode, "
          f"writer gives up after {os.environ.get('DASHBOARD_LOCK_WAIT', '30')} s")  # fmt: skip
    print("| app connections | writes done | writer wait, median / max (s) | new version seen "
          "by the app after, median / max (s) | views run | view time, median / p95 (s) | "
          "view errors |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for mode in args.modes.split(","):
        stats = measure(args.db, mode, args.sessions, args.writes)
        print(report(stats), flush=True)
        for error in sorted(set(stats["errors"]))[:3]:
            print(f"  view error: {error}")
        for writer in stats["writers"]:
            if "error" in writer:
                print(f"  writer error: {writer['error']}")
                break


if __name__ == "__main__":
    main()

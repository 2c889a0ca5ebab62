"""Page speed: cold and warm run time of every page on a demo store of N customers.

Usage::

    python bench/bench_pages.py --customers 100000 [--db duckdb:////tmp/bench100k.duckdb]
                                [--fit] [--segment]

Builds the demo store once (reused when the file already holds N customers), optionally fits
the lifetime-value model and saves a segmentation (so the pages show everything), then for each
page: *cold* = Streamlit caches cleared, first run; *warm* = a rerun with the same filters
(what a user gets when they come back to a page or change a widget that hits the cache). Times
are the server-side script run measured with Streamlit's AppTest, best of ``--repeat`` runs.
Streamlit's bare-mode warnings go to stderr (``2>/dev/null`` hides them).
Budget: warm < 0.5 s, cold < 3 s at 100k customers. Figures go in
docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def prepare_store(url: str, customers: int, fit: bool, segment: bool) -> None:
    from dashboard.services.demo import build_demo
    from dashboard.storage import queries
    from dashboard.storage.engine import make_engine

    engine = make_engine(url)
    if (
        queries.missing_contract_tables(engine)
        or queries.data_bounds(engine).customers != customers
    ):
        started = time.perf_counter()
        build_demo(engine, n_customers=customers, replace=True)
        print(f"built demo of {customers:,} customers in {time.perf_counter() - started:.1f} s")
    if fit:
        from dashboard.services import lifetime_value

        started = time.perf_counter()
        lifetime_value.fit_and_save(engine)
        print(f"fitted lifetime-value model in {time.perf_counter() - started:.1f} s")
    if segment:
        from dashboard.services import segmentation

        started = time.perf_counter()
        segmentation.run_and_save(engine)
        print(f"saved segmentation in {time.perf_counter() - started:.1f} s")
    engine.dispose()


def time_page(page: str, repeat: int) -> tuple[float, float, str]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    cold, warm = [], []
    problem = ""
    for _ in range(repeat):
        st.cache_data.clear()
        st.cache_resource.clear()
        at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=120)
        started = time.perf_counter()
        at.run()
        cold.append(time.perf_counter() - started)
        started = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - started)
        if at.exception:
            problem = f"exception: {at.exception[0].message}"
        elif at.error:
            problem = f"error: {at.error[0].value[:80]}"
    return min(cold), min(warm), problem


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--db", default=None, help="store URL (default: a file in /tmp)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--fit", action="store_true", help="fit and store the CLV model first")
    parser.add_argument("--segment", action="store_true", help="save a segmentation first")
    parser.add_argument("--pages", nargs="*", help="page files to time (default: all)")
    args = parser.parse_args()
    url = args.db or f"duckdb:////tmp/bench_pages_{args.customers}.duckdb"
    prepare_store(url, args.customers, args.fit, args.segment)
    os.environ["DASHBOARD_DB_URL"] = url
    pages = args.pages or sorted(p.name for p in (ROOT / "pages").glob("*.py"))
    print(f"\nstore: {url}  customers: {args.customers:,}  best of {args.repeat}")
    print(f"{'page':<22}{'cold (s)':>10}{'warm (s)':>10}  budget   note")
    for page in pages:
        cold, warm, problem = time_page(page, args.repeat)
        verdict = "ok" if cold < 3 and warm < 0.5 else "OVER"
        print(f"{page:<22}{cold:>10.2f}{warm:>10.2f}  {verdict:<8} {problem}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

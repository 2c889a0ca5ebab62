"""Page speed: cold, warm and filter-change run time of every page, and peak memory, per store.

Usage::

    python bench/bench_pages.py --customers 100000 [--db URL [URL ...]] [--fit] [--segment]
                                [--repeat 2] [--pages customer_value.py ...] [--json out.json]

Builds the demo store once (reused when it already holds N customers), optionally fits the
lifetime-value model and saves a segmentation (so the pages show everything), then for each
page, with Streamlit's AppTest:

- *cold*: every Streamlit cache cleared, first run of the page;
- *warm*: best of two reruns with the same filters (a user coming back to a page, or changing a
  widget whose data is cached);
- *filter change*: a rerun after choosing one region in the sidebar, in the warm process.

Times are the server-side script run, best of ``--repeat`` rounds. With several ``--db`` each
store runs in its own child process, one after the other, and the table compares them side by
side; *peak MB* is that process's peak resident memory (``ru_maxrss``) after all its pages,
the app process's peak for that store. Streamlit's bare-mode warnings go to stderr
(``2>/dev/null`` hides them). Budgets: docs/performance.md. Figures go there too.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
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


def _problem(at) -> str:
    if at.exception:
        return f"exception: {at.exception[0].message}"
    if at.error:
        return f"error: {at.error[0].value[:80]}"
    return ""


def time_page(page: str, repeat: int) -> dict[str, object]:
    """Cold, warm (best of two reruns) and filter-change seconds of one page, best of rounds."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    cold, warm, changed = [], [], []
    problem = ""
    for _ in range(repeat):
        st.cache_data.clear()
        st.cache_resource.clear()
        at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=600)
        started = time.perf_counter()
        at.run()
        cold.append(time.perf_counter() - started)
        for _ in range(2):
            started = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - started)
        problem = problem or _problem(at)
        region = at.multiselect(key="region")
        region.select(region.options[0])
        started = time.perf_counter()
        at.run()
        changed.append(time.perf_counter() - started)
        problem = problem or _problem(at)
    return {
        "page": page,
        "cold": min(cold),
        "warm": min(warm),
        "filter_change": min(changed),
        "problem": problem,
    }


def run_store(url: str, pages: list[str], repeat: int) -> dict[str, object]:
    """Time every page on one store (in this process) and report this process's peak memory."""
    os.environ["DASHBOARD_DB_URL"] = url
    results = [time_page(page, repeat) for page in pages]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes
    return {"url": url, "pages": results, "peak_mb": peak_mb, "load": os.getloadavg()}


def _short(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def print_table(stores: list[dict[str, object]]) -> None:
    names = [_short(s["url"]) for s in stores]
    header = f"{'page':<18}" + "".join(
        f"{name[:14] + ' ' + what:>22}" for name in names for what in ("cold", "warm", "filter")
    )
    print(header)
    for index, page in enumerate(stores[0]["pages"]):
        row = f"{page['page'].removesuffix('.py'):<18}"
        for store in stores:
            cell = store["pages"][index]
            row += "".join(f"{cell[key]:>22.2f}" for key in ("cold", "warm", "filter_change"))
        print(row)
        for store in stores:
            if store["pages"][index]["problem"]:
                print(f"   {_short(store['url'])}: {store['pages'][index]['problem']}")
    for store in stores:
        load = ", ".join(f"{x:.1f}" for x in store["load"])
        print(f"{_short(store['url'])}: peak {store['peak_mb']:,.0f} MB, load average {load}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument(
        "--db", nargs="*", default=None, help="store URL(s) (default: a file in /tmp)"
    )
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--fit", action="store_true", help="fit and store the CLV model first")
    parser.add_argument("--segment", action="store_true", help="save a segmentation first")
    parser.add_argument("--pages", nargs="*", help="page files to time (default: all)")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    urls = args.db or [f"duckdb:////tmp/bench_pages_{args.customers}.duckdb"]
    pages = args.pages or sorted(p.name for p in (ROOT / "pages").glob("*.py"))
    if args.child:  # one store, in this process: results as JSON on the last line of stdout
        print(json.dumps(run_store(urls[0], pages, args.repeat)))
        return 0
    for url in urls:
        prepare_store(url, args.customers, args.fit, args.segment)
    stores = []
    for url in urls:
        command = [sys.executable, __file__, "--child", "--db", url, "--repeat", str(args.repeat)]
        command += ["--pages", *pages]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        stores.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"\ncustomers: {args.customers:,}  best of {args.repeat}  seconds")
    print_table(stores)
    if args.json:
        Path(args.json).write_text(json.dumps(stores, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

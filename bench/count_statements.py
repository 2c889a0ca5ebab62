"""SQL statements per page: how many each page sends to the contract store and the app store.

Usage::

    python bench/count_statements.py --db URL [--pages overview.py ...] [--show]

Each page runs under Streamlit's AppTest in this process: *cold* (every Streamlit cache
cleared, a new session), *warm* (a rerun with the same filters) and *filter change* (one
region chosen). A SQLAlchemy ``before_cursor_execute`` listener on every engine counts the
statements, per store (the URL's backend: ``hive`` for Spark, ``duckdb`` for the embedded app
store). On Spark's Thrift server each statement costs 0.2-1 s whatever it reads, so the count is
what a page's set-up costs there (docs/performance.md). ``--show`` lists the cold run's
statements, the repeated ones first.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _shape(statement: str) -> str:
    """The statement without literals and extra spaces, cut to 150 characters."""
    text = re.sub(r"'[^']*'", "'…'", " ".join(statement.split()))
    return text[:150]


def count_page(page: str, show: bool) -> dict[str, Counter]:
    import streamlit as st
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from streamlit.testing.v1 import AppTest

    seen: list[tuple[str, str]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((conn.engine.url.get_backend_name(), statement))

    event.listen(Engine, "before_cursor_execute", record)
    counts: dict[str, Counter] = {}
    try:
        st.cache_data.clear()
        st.cache_resource.clear()
        at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=900)
        for step in ("cold", "warm", "filter"):
            seen.clear()
            if step == "filter":
                region = at.multiselect(key="region")
                region.select(region.options[0])
            at.run()
            problem = at.exception[0].message if at.exception else ""
            if problem:
                print(f"  {page} {step}: exception {problem[:200]}")
            counts[step] = Counter(backend for backend, _ in seen)
            if show and step == "cold":
                shapes = Counter((b, _shape(s)) for b, s in seen)
                for (backend, shape), n in shapes.most_common():
                    print(f"  {n:>3} x {backend}: {shape}")
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="store URL")
    parser.add_argument("--pages", nargs="*", help="page files (default: all)")
    parser.add_argument("--show", action="store_true", help="list the cold run's statements")
    args = parser.parse_args()
    os.environ["DASHBOARD_DB_URL"] = args.db
    pages = args.pages or sorted(p.name for p in (ROOT / "pages").glob("*.py"))
    print(f"{'page':<16} {'cold':>20} {'warm':>20} {'filter change':>20}   (contract + app)")
    totals: Counter = Counter()
    contract = args.db.split(":", 1)[0].split("+", 1)[0]
    for page in pages:
        if args.show:
            print(page)
        counts = count_page(page, args.show)
        cells = []
        for step in ("cold", "warm", "filter"):
            main_store = counts[step].get(contract, 0)
            other = sum(counts[step].values()) - main_store
            totals[step] += main_store
            cells.append(f"{main_store:>12} + {other:<5}")
        print(f"{page.removesuffix('.py'):<16} " + " ".join(f"{c:>20}" for c in cells))
    steps = ("cold", "warm", "filter")
    print(f"{'all pages':<16} " + " ".join(f"{totals[s]:>12}{'':8}" for s in steps))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

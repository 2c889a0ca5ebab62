"""Benchmark: segment a million customers (features included), time and peak memory.

Usage::

    python bench/bench_segments.py [--sizes 100000 1000000] [--dir DIR] [--repeat 2]

For each size, a demo store is built once (``build_demo``, seed 42) into ``DIR`` (default
/tmp/bench_segments) if it is not there yet. Then, in a fresh process per measurement (so the
peak memory is the segmentation's own, not the build's):

- *features*: the one aggregate query that reads every customer's facts at the as-of date
  and at the previous quarter's end (``segmentation.feature_frames``);
- *total*: ``segmentation.run_and_save`` end to end: features, fit (number of segments
  chosen over 2-10), assignment of every customer at both dates, profiles, names, and the
  write of the run (assignments, snapshot, profiles) in one transaction;
- *peak RSS*: the process's peak resident memory (``resource.getrusage``, ru_maxrss),
  DuckDB's memory included (it runs in-process).

The budget (issue 4): 1,000,000 customers in under 20 s with a peak under 4 GB on the
project's 2-core machine. Results and the machine: docs/segments.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(url: str) -> dict[str, float]:
    """Run one segmentation on ``url`` in this process and return its figures."""
    sys.path.insert(0, str(ROOT))
    from dashboard.scope import Scope
    from dashboard.services import segmentation
    from dashboard.storage import queries, segment_store
    from dashboard.storage.engine import make_engine

    engine = make_engine(url)
    bounds = queries.data_bounds(engine)
    as_of = bounds.last_order
    previous = segment_store.previous_period_end(as_of)
    started = time.perf_counter()
    frames = segmentation.feature_frames(engine, Scope(start=as_of, end=as_of), (previous, as_of))
    features_seconds = time.perf_counter() - started
    del frames
    steps: list[tuple[float, str]] = []
    started = time.perf_counter()
    run = segmentation.run_and_save(
        engine, progress=lambda f, m: steps.append((time.perf_counter() - started, m))
    )
    total = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "customers": run.quality["customers"],
        "features_seconds": round(features_seconds, 2),
        "total_seconds": round(total, 2),
        "fit_and_assign_seconds": round(steps[-2][0] - steps[-3][0], 2),
        "save_seconds": round(steps[-1][0] - steps[-2][0], 2),
        "peak_rss_gb": round(peak_kib / 1024 / 1024, 2),
        "n_segments": run.n_segments,
        "silhouette": round(run.silhouette or float("nan"), 3),
    }


def ensure_demo(path: Path, n_customers: int) -> str:
    url = f"duckdb:///{path}"
    if not path.exists():
        sys.path.insert(0, str(ROOT))
        from dashboard.services.demo import build_demo
        from dashboard.storage.engine import make_engine

        print(f"Building a demo store of {n_customers:,} customers in {path}…", flush=True)
        engine = make_engine(url)
        build_demo(engine, n_customers=n_customers, replace=True)
        engine.dispose()
    return url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bench_segments"))
    parser.add_argument(
        "--repeat",
        type=int,
        default=2,
        help="measurements per size (each in a fresh process); the best and the worst are reported",
    )
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    args.dir.mkdir(parents=True, exist_ok=True)
    print(
        f"Machine: {platform.platform()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        "| customers | features (s) | fit + assign (s) | save (s) | total (s) | peak RSS (GB) "
        "| segments | silhouette |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in args.sizes:
        url = ensure_demo(args.dir / f"demo_{size}.duckdb", size)
        results = []
        for _ in range(args.repeat):
            out = subprocess.run(
                [sys.executable, __file__, "--measure", url],
                check=True,
                capture_output=True,
                text=True,
                cwd=ROOT,
            )
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        for r in sorted(results, key=lambda r: r["total_seconds"]):
            print(
                f"| {r['customers']:,} | {r['features_seconds']} | "
                f"{r['fit_and_assign_seconds']} | {r['save_seconds']} | "
                f"**{r['total_seconds']}** | **{r['peak_rss_gb']}** | {r['n_segments']} | "
                f"{r['silhouette']} |",
                flush=True,
            )
    print(f"Load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

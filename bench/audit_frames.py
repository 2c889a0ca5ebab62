"""Prove a rewrite of the audit queries leaves every figure unchanged, and time the queries.

Usage::

    python bench/audit_frames.py dump --db URL OUT.pkl      # every field of the audit views
    python bench/audit_frames.py compare BEFORE.pkl AFTER.pkl
    python bench/audit_frames.py queries --db URL            # each cohort query, aggregated
                                                             # against stored facts

``dump`` runs the four audit views (one period, period to period, cohorts by quarter and by
month, subscriptions) for the default period, all regions and the first region, and pickles
every field; run it with the code before (a worktree of the old commit on ``PYTHONPATH``) and
after. ``compare`` checks frames with ``assert_frame_equal(rtol=1e-9)`` and the other fields
by ``repr`` and prints the largest relative difference in a number. ``queries`` times each
query aggregated and from the stored facts in one process (best of two), whose ratio is what
the stored facts buy. Figures: docs/performance.md, "Customer-base audit (issue 14)".
"""

from __future__ import annotations

import argparse
import dataclasses
import pickle
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _scopes(engine):
    from dashboard.domain.periods import DEFAULT_PRESET, preset_period
    from dashboard.scope import Scope
    from dashboard.storage import queries

    bounds = queries.data_bounds(engine)
    start, end = preset_period(DEFAULT_PRESET, bounds.last_order, bounds.first_order)
    region = sorted(bounds.regions)[0]
    return {"all": Scope(start=start, end=end), region: Scope(start, end, regions=(region,))}


def dump(url: str, out: str) -> None:
    from dashboard.services.views import audit
    from dashboard.storage.engine import make_engine

    engine = make_engine(url)
    calls = {
        "one_period": audit.one_period,
        "period_to_period": audit.period_to_period,
        "cohorts_quarter": lambda e, s: audit.cohorts(e, s, "quarter"),
        "cohorts_month": lambda e, s: audit.cohorts(e, s, "month"),
        "subscriptions": audit.subscriptions,
    }
    fields = {}
    for label, scope in _scopes(engine).items():
        for name, call in calls.items():
            started = time.perf_counter()
            view = call(engine, scope)
            print(f"{label:8} {name:18} {time.perf_counter() - started:6.2f} s", flush=True)
            for field in dataclasses.fields(view):
                fields[(label, name, field.name)] = getattr(view, field.name)
    Path(out).write_bytes(pickle.dumps(fields))


def compare(before: str, after: str) -> int:
    import pandas as pd

    old, new = (pickle.loads(Path(p).read_bytes()) for p in (before, after))
    if old.keys() != new.keys():
        print("fields differ:", set(old) ^ set(new))
        return 1
    differ, worst = 0, 0.0
    for key, x in old.items():
        y = new[key]
        if isinstance(x, pd.DataFrame):
            try:
                pd.testing.assert_frame_equal(
                    x.reset_index(drop=True), y.reset_index(drop=True), check_dtype=False, rtol=1e-9
                )
            except AssertionError as exc:
                differ += 1
                print("DIFF", key, str(exc)[:300])
            numbers = x.select_dtypes("number").columns
            if len(numbers) and x.shape == y.shape:
                a, b = x[numbers].astype(float), y[numbers].astype(float)
                gap = ((a - b).abs() / b.abs().clip(lower=1e-300)).max().max()
                worst = max(worst, 0.0 if gap != gap else float(gap))
        elif repr(x) != repr(y):
            differ += 1
            print("DIFF", key, repr(x)[:300], repr(y)[:300])
    frames = sum(isinstance(v, pd.DataFrame) for v in old.values())
    print(f"{len(old)} fields ({frames} frames), {differ} differ; largest relative difference")
    print(f"in a number of a frame: {worst:.2e}")
    return 1 if differ else 0


def time_queries(url: str) -> None:
    from dashboard.storage import audit_queries as q
    from dashboard.storage import queries
    from dashboard.storage.engine import make_engine

    engine = make_engine(url)
    scopes = _scopes(engine)
    started = time.perf_counter()
    q.stored_facts(engine, scopes["all"])
    print(f"store_facts (fill, or find them stored) {time.perf_counter() - started:.2f} s")
    started = time.perf_counter()
    queries.data_version(engine)
    print(f"data_version {time.perf_counter() - started:.2f} s")
    for label, scope in scopes.items():
        for name, query in (
            ("activity month", lambda s, st: q.cohort_activity(engine, s, "month", stored=st)),
            ("activity quarter", lambda s, st: q.cohort_activity(engine, s, "quarter", stored=st)),
            ("second quarter", lambda s, st: q.second_purchase(engine, s, "quarter", stored=st)),
            ("flows", lambda s, st: q.customer_flows(engine, s, stored=st)),
        ):
            spent = []
            for stored in (False, True, False, True):
                started = time.perf_counter()
                query(scope, stored)
                spent.append(time.perf_counter() - started)
            print(
                f"{label:5} {name:17} aggregated {min(spent[0::2]):6.2f}  "
                f"stored {min(spent[1::2]):6.2f}",
                flush=True,
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    dumping = commands.add_parser("dump")
    dumping.add_argument("--db", required=True)
    dumping.add_argument("out")
    comparing = commands.add_parser("compare")
    comparing.add_argument("before")
    comparing.add_argument("after")
    timing = commands.add_parser("queries")
    timing.add_argument("--db", required=True)
    args = parser.parse_args()
    if args.command == "dump":
        dump(args.db, args.out)
    elif args.command == "queries":
        time_queries(args.db)
    else:
        return compare(args.before, args.after)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

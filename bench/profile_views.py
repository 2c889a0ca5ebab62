"""Where a view's time goes: seconds in each storage query and in the rest, per view.

Usage::

    python bench/profile_views.py --db URL [--views customer_value loyalty service ...]
                                  [--region North]

Wraps every public function of the ``dashboard.storage`` query modules with a timer, runs each
view once in the default scope (last 3 months; ``--region`` narrows it), and prints the time
of each query (and of ``read_frame``, the transfer into pandas) against the view's total.
Caches play no part: views are called directly, each inside ``store_session`` as the app's
``load`` calls them (an embedded file is opened once per view, not per query).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODULES = (
    "sql",
    "queries",
    "customer_queries",
    "customer_facts",
    "loyalty_queries",
    "service_queries",
    "value_queries",
    "value_curve_queries",
    "segment_store",
    "clv_store",
)
SPENT: dict[str, float] = defaultdict(float)


def _timed(name, function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            SPENT[name] += time.perf_counter() - started

    return wrapper


def instrument() -> None:
    import inspect

    for short in MODULES:
        try:
            module = importlib.import_module(f"dashboard.storage.{short}")
        except ImportError:
            continue
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ != module.__name__ or name.startswith("_"):
                continue
            wrapped = _timed(f"{short}.{name}", function)
            for other in list(sys.modules.values()):
                if (
                    getattr(other, "__name__", "").startswith("dashboard")
                    and getattr(other, name, None) is function
                ):
                    setattr(other, name, wrapped)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument(
        "--views",
        nargs="*",
        default=["customer_value", "loyalty", "service", "value_curves", "segments", "overview"],
    )
    parser.add_argument("--region", default=None)
    args = parser.parse_args()
    from dashboard.domain.periods import DEFAULT_PRESET, preset_period
    from dashboard.scope import Scope
    from dashboard.services import views  # noqa: F401
    from dashboard.storage import queries
    from dashboard.storage.engine import make_engine, store_session
    from dashboard.storage.segment_store import latest_segment_options

    for name in args.views:
        importlib.import_module(f"dashboard.services.views.{name}")
    instrument()
    engine = make_engine(args.db)
    bounds = queries.data_bounds(engine)
    start, end = preset_period(DEFAULT_PRESET, bounds.last_order, bounds.first_order)
    run_id, _ = latest_segment_options(engine)
    scope = Scope(
        start=start, end=end, regions=(args.region,) if args.region else (), segment_run_id=run_id
    )
    extra = {
        "customer_value": (bounds.regions, bounds.channels),
        "service": (bounds.first_order, bounds.last_order),
        "value_curves": ("segment" if run_id else "region",),
    }
    for name in args.views:
        module = importlib.import_module(f"dashboard.services.views.{name}")
        SPENT.clear()
        started = time.perf_counter()
        with store_session(engine):  # as the app's load() runs a view: one file opening
            module.view(engine, scope, *extra.get(name, ()))
        total = time.perf_counter() - started
        print(f"\n{name}: {total:.2f} s")
        for query, seconds in sorted(SPENT.items(), key=lambda kv: -kv[1]):
            if seconds >= 0.02:
                print(f"  {query:<45}{seconds:>7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Prove a rewrite left the views' figures unchanged: snapshot view results, compare snapshots.

Usage::

    python bench/view_snapshot.py save --db URL --out before.pkl [--views customer_value ...]
    python bench/view_snapshot.py compare before.pkl after.pkl [--rtol 1e-9]

``save`` runs each view (with the code on ``PYTHONPATH``: run it once from the old code's
tree, once from the new) in the default period (last 3 months), for every region and for the
first region alone, and pickles every field of every result as plain values (dataclasses as
dicts, frames as frames). Customer value's full loss-maker lists (``ProfitView.losing`` before,
:func:`~dashboard.services.views.customer_value.loss_makers` after) are saved under
``losing_all``, the list the page shows under ``losing_shown``, and likewise Loyalty's action
list (``action_all``, ``action_list``, ``action_customers``), so both layouts compare.
``compare`` walks two snapshots and prints every difference: a frame's columns, dtypes kind,
length and values (numbers to ``--rtol``), a field present in only one. Exit status 1 when
anything differs.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import math
import pickle
from pathlib import Path

import numpy as np
import pandas as pd

VIEWS = ("customer_value", "loyalty", "segments", "overview")
#: Rows of the loss makers and of the loyalty action list the page shows.
SHOWN = 100
ACTION_SHOWN = 1_000


def plain(value):
    """A result as dicts, lists, frames and scalars (dataclasses and properties unfolded)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for name, attribute in vars(type(value)).items():
            if isinstance(attribute, property):
                out[name] = plain(getattr(value, name))
        return out
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, pd.Series):
        return value.to_frame()
    return value


def _customer_value(module, engine, scope, bounds):
    result = plain(module.view(engine, scope, bounds.regions, bounds.channels))
    for basis, profit in (result.get("profit") or {}).items():
        losing = profit.pop("losing", None)
        if hasattr(module, "loss_makers"):
            profit["losing_all"] = module.loss_makers(engine, scope, basis)
            profit["losing_shown"] = profit.pop("worst_losses")
        else:
            profit["losing_all"] = losing
            profit["losing_shown"] = None if losing is None else losing.head(SHOWN)
    from dashboard.domain.clv import scenario

    result["what_if"] = plain(module.what_if(engine, scope, scenario.Scenario()))
    return result


def _loyalty(module, engine, scope):
    result = plain(module.view(engine, scope))
    shown = result.get("action_list")
    if hasattr(module, "action_list"):
        result["action_all"] = module.action_list(engine, scope)
        result["action_customers"] = int(result.get("action_customers") or 0)
    elif shown is not None:
        result["action_all"] = shown
        result["action_customers"] = len(shown)
        result["action_list"] = shown.head(ACTION_SHOWN)
    return result


def save(args) -> int:
    from dashboard.domain.periods import DEFAULT_PRESET, preset_period
    from dashboard.scope import Scope
    from dashboard.storage import queries
    from dashboard.storage.engine import make_engine, store_session
    from dashboard.storage.segment_store import latest_segment_options

    engine = make_engine(args.db)
    bounds = queries.data_bounds(engine)
    start, end = preset_period(DEFAULT_PRESET, bounds.last_order, bounds.first_order)
    run_id, _ = latest_segment_options(engine)
    snapshot = {}
    for regions in ((), bounds.regions[:1]):
        scope = Scope(start=start, end=end, regions=regions, segment_run_id=run_id)
        for name in args.views:
            module = importlib.import_module(f"dashboard.services.views.{name}")
            with store_session(engine):
                if name == "customer_value":
                    result = _customer_value(module, engine, scope, bounds)
                elif name == "loyalty":
                    result = _loyalty(module, engine, scope)
                else:
                    result = plain(module.view(engine, scope))
            snapshot[f"{name}[{','.join(regions) or 'all'}]"] = result
            print(f"saved {name} {regions or 'all regions'}")
    Path(args.out).write_bytes(pickle.dumps(snapshot))
    return 0


def _close(a, b, rtol: float) -> bool:
    if isinstance(a, float | np.floating) or isinstance(b, float | np.floating):
        if a is None or b is None:
            return a is b
        a, b = float(a), float(b)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=rtol, abs_tol=1e-9)
    return a == b


def _frames(path: str, a: pd.DataFrame, b: pd.DataFrame, rtol: float, out: list[str]) -> None:
    if list(a.columns) != list(b.columns):
        out.append(f"{path}: columns {list(a.columns)} != {list(b.columns)}")
        return
    if len(a) != len(b):
        out.append(f"{path}: {len(a)} rows != {len(b)} rows")
        return
    for column in a.columns:
        x, y = a[column], b[column]
        if x.dtype.kind != y.dtype.kind:
            out.append(f"{path}.{column}: dtype {x.dtype} != {y.dtype}")
        if x.dtype.kind in "fiu" and y.dtype.kind in "fiu":
            xs, ys = (
                x.to_numpy(dtype=float, na_value=np.nan),
                y.to_numpy(dtype=float, na_value=np.nan),
            )
            ok = np.isclose(xs, ys, rtol=rtol, atol=1e-9, equal_nan=True)
        else:
            ok = np.array(
                [
                    (pd.isna(p) and pd.isna(q)) if pd.isna(p) or pd.isna(q) else p == q
                    for p, q in zip(x.astype(object), y.astype(object), strict=True)
                ],
                dtype=bool,
            )
        if not ok.all():
            first = int(np.argmin(ok))
            out.append(
                f"{path}.{column}: {int((~ok).sum())} values differ, first at row {first}: "
                f"{x.iloc[first]!r} != {y.iloc[first]!r}"
            )
    if list(a.index) != list(b.index):
        out.append(f"{path}: index differs")


def diff(path: str, a, b, rtol: float, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                out.append(f"{path}.{key}: only in {'after' if key not in a else 'before'}")
            else:
                diff(f"{path}.{key}", a[key], b[key], rtol, out)
    elif isinstance(a, pd.DataFrame) and isinstance(b, pd.DataFrame):
        _frames(path, a, b, rtol, out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} items != {len(b)}")
        for index, (x, y) in enumerate(zip(a, b, strict=False)):
            diff(f"{path}[{index}]", x, y, rtol, out)
    elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not np.allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, equal_nan=True):
            out.append(f"{path}: arrays differ")
    elif type(a) is not type(b) and not (
        isinstance(a, int | float | np.number) and isinstance(b, int | float | np.number)
    ):
        out.append(f"{path}: {type(a).__name__} {a!r:.80} != {type(b).__name__} {b!r:.80}")
    elif not _close(a, b, rtol):
        out.append(f"{path}: {a!r:.80} != {b!r:.80}")


def compare(args) -> int:
    before = pickle.loads(Path(args.before).read_bytes())
    after = pickle.loads(Path(args.after).read_bytes())
    out: list[str] = []
    diff("", before, after, args.rtol, out)
    for line in out:
        print(line)
    print(f"{len(out)} differences (relative tolerance {args.rtol:g})")
    return 1 if out else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    saving = sub.add_parser("save")
    saving.add_argument("--db", required=True)
    saving.add_argument("--out", required=True)
    saving.add_argument("--views", nargs="*", default=list(VIEWS))
    comparing = sub.add_parser("compare")
    comparing.add_argument("before")
    comparing.add_argument("after")
    comparing.add_argument("--rtol", type=float, default=1e-9)
    args = parser.parse_args()
    return save(args) if args.command == "save" else compare(args)


if __name__ == "__main__":
    raise SystemExit(main())

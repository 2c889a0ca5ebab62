"""Use case: segment every customer and store the run; rename a segment.

Reads each customer's facts aggregated in the database
(:func:`dashboard.storage.segment_store.customer_facts`), turns them into features
(:func:`dashboard.domain.segment_features.customer_features`), fits the segmentation pipeline
(:func:`dashboard.domain.segments.segment_customers`, scikit-learn) and stores the assignments,
profiles and names (:func:`dashboard.storage.segment_store.save_run`). Pages only read stored
runs, so importing this module (and scikit-learn) happens on an explicit action only.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import Engine

from dashboard.domain import segments as model
from dashboard.domain.segment_features import SegmentationError, customer_features
from dashboard.domain.segment_playbook import generated_names
from dashboard.scope import Scope
from dashboard.storage import queries, segment_store
from dashboard.storage.engine import Progress, bump_data_version


def feature_frame(
    engine: Engine, scope: Scope, as_of: date, with_lifetime_value: bool = True
) -> pd.DataFrame:
    """Segmentation features of every customer in scope acquired by ``as_of``.

    One aggregate query (:func:`customer_facts`) plus, when the value engine has run, the
    latest lifetime values. See :func:`dashboard.domain.segments.customer_features`.
    """
    return feature_frames(engine, scope, (as_of,), with_lifetime_value)[as_of]


def feature_frames(
    engine: Engine, scope: Scope, dates: tuple[date, ...], with_lifetime_value: bool = True
) -> dict[date, pd.DataFrame]:
    """Segmentation features at each of ``dates`` (one aggregate query for all of them).

    Lifetime values (latest value-engine run) are attached at the latest date only: the run
    predicts from its own calibration date, not from earlier period ends.
    """
    facts = segment_store.customer_facts(engine, scope, dates)
    latest_day = max(facts)
    lifetime = None
    if with_lifetime_value:
        values = segment_store.latest_lifetime_values(engine, scope)
        if not values.empty:
            lifetime = values.set_index("customer_id")["lifetime_value"]
    return {
        day: customer_features(frame, day, lifetime if day == latest_day else None)
        for day, frame in facts.items()
    }


def run_and_save(
    engine: Engine,
    *,
    n_segments: int | None = None,
    as_of: date | None = None,
    migration_months: int = segment_store.MIGRATION_MONTHS,
    random_state: int = 0,
    renumber: bool = False,
    progress: Progress | None = None,
) -> segment_store.SegmentRun:
    """Segment every customer, save the run, bump the data version; return the saved run.

    Parameters
    ----------
    n_segments:
        Fixed number of segments, or None to choose it over 2-10 by the silhouette.
    as_of:
        Date the features are computed at; default the latest order date in the store.
    migration_months:
        Customers are also assigned at the period end this many months earlier, with the same
        fitted pipeline, so the page can show how they moved.
    random_state:
        Seed of every random choice (same data and settings, same segments).
    renumber:
        Number the segments afresh by value (1 = most valuable) instead of continuing the
        previous run's numbers and given names.
    progress:
        Optional callback ``(fraction 0-1, message)``.
    """
    report = progress or (lambda fraction, message: None)
    segment_store.ensure_segment_tables(engine)
    bounds = queries.data_bounds(engine)
    if bounds.last_order is None:
        raise SegmentationError("the store has no orders, so there is nothing to segment")
    as_of = as_of or bounds.last_order
    everyone = Scope(start=as_of, end=as_of)
    previous_end = segment_store.previous_period_end(as_of, migration_months)
    dates = (as_of,)
    if bounds.first_order is not None and previous_end >= bounds.first_order:
        dates = (previous_end, as_of)
    report(
        0.05, "Computing customer features at " + " and ".join(f"{d:%d %b %Y}" for d in dates) + "…"
    )
    frames = feature_frames(engine, everyone, dates)
    features = frames.pop(as_of)
    earlier = {day: frame for day, frame in frames.items() if not frame.empty}
    previous_run = segment_store.latest_run(engine)
    previous = None
    if previous_run is not None and not renumber:
        previous = segment_store.assignments(engine, previous_run.run_id)
    report(0.45, "Fitting the segmentation and assigning customers…")
    result = model.segment_customers(
        features,
        as_of,
        n_segments=n_segments,
        previous=previous,
        earlier=earlier,
        random_state=random_state,
    )
    names = generated_names(result.profiles, result.value_measure)
    given: dict[int, str] = {}
    if previous_run is not None and not renumber:
        earlier_given = segment_store.given_names(engine, previous_run.run_id)
        given = {
            new: earlier_given[old] for new, old in result.inherited.items() if old in earlier_given
        }
        names.update(given)
    report(0.8, "Saving the segments…")
    run = segment_store.save_run(engine, result, names, given, previous_run)
    bump_data_version(engine)
    report(1.0, f"Done: {run.n_segments} segments of {len(result.assignments):,} customers.")
    return run


def rename_segments(engine: Engine, run_id: int, names: dict[int, str]) -> None:
    """Give segments of a run new names (segment -> name; blank names are refused), then bump
    the data version once so that every page shows them."""
    for segment, name in names.items():
        segment_store.rename_segment(engine, run_id, segment, name)
    bump_data_version(engine)

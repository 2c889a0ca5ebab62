"""Segments page: the latest saved segment run, what each segment is worth and what to do.

:func:`view` reads the latest run (nothing is recomputed on a page view) and everything the
page shows for it in a scope; the drill-downs :func:`members` (the customers of one segment)
and :func:`customer` (one customer's history and segment path) are separate views, so that
choosing a segment or a customer reads only what it needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Engine

from dashboard.domain import segment_playbook as playbook
from dashboard.domain import value
from dashboard.scope import Scope
from dashboard.storage import segment_store
from dashboard.storage.segment_store import SegmentRun

#: What each function of this module computes, shown while it runs on a cache miss
#: (``dashboard.app.context.load`` adds the period and filters).
COMPUTING = {
    "view": "Computing what each segment of the latest run is worth and how customers moved",
    "members": "Listing the customers of the segment",
    "customer": "Reading the customer's history and segment path",
}

#: Columns of :attr:`SegmentMembers.members` and their readable headers (table and CSV).
MEMBER_COLUMNS = {
    "customer_id": "Customer",
    "name": "Name",
    "region": "Region",
    "acquisition_channel": "Channel",
    "acquired_at": "Acquired",
    "last_order": "Last order",
    "orders": "Orders to date",
    "revenue": "Revenue to date",
    "gross_margin": "Gross margin to date",
    "service_cost": "Service cost to date",
    "acquisition_cost": "Acquisition cost",
    "profit_to_date": "Profit to date",
    "revenue_period": "Revenue in period",
    "contacts": "Contacts to date",
    "latest_csat": "Latest CSAT",
    "latest_nps": "Latest NPS answer",
    "referrals_made": "Referrals",
}


@dataclass(frozen=True)
class SegmentsView:
    """What the Segments page shows for the latest saved run in a scope.

    Attributes
    ----------
    run:
        The latest saved run; None when segmentation has never run on the store (every other
        attribute is then empty).
    labels:
        The run's ``segment``, ``name`` and ``label`` ("2 · Big spenders at risk").
    summary:
        Per segment in scope: customers, revenue, gross margin, service cost, acquisition cost,
        ``profit`` (:func:`dashboard.domain.value.profit`, in the period), 12-month
        contribution, active customers and lifetime value (currency units).
    worth:
        ``summary`` of the segments with customers in scope, labelled, with every share
        (:func:`dashboard.domain.segment_playbook.segment_worth`); empty when no customer of
        the run is in scope (the attributes below are then empty too).
    concentration:
        The sentence on the segment holding the most value for its size (None when none does).
    profiles:
        The run's stored profiles (segment 0 = all customers; not filtered). Empty for a scope
        restricted to some regions: the profiles are means over every region's customers.
    plan:
        The playbook: one treatment per segment with its rule and value at stake in scope.
    transitions:
        Customers per (segment at the previous period end, segment now), in scope.
    stayed:
        Percent of customers present at both dates who stayed in their segment.
    migration:
        The labelled transition table, percent of each earlier segment (rows sum to 100).
    """

    run: SegmentRun | None = None
    labels: pd.DataFrame = field(default_factory=pd.DataFrame)
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    worth: pd.DataFrame = field(default_factory=pd.DataFrame)
    concentration: str | None = None
    profiles: pd.DataFrame = field(default_factory=pd.DataFrame)
    plan: pd.DataFrame = field(default_factory=pd.DataFrame)
    transitions: pd.DataFrame = field(default_factory=pd.DataFrame)
    stayed: float | None = None
    migration: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def label_of(self) -> dict[int, str]:
        """Segment number -> label."""
        if self.labels.empty:
            return {}
        return dict(zip(self.labels["segment"], self.labels["label"], strict=True))

    @property
    def names(self) -> dict[int, str]:
        """Segment number -> name in force (for the rename form)."""
        if self.labels.empty:
            return {}
        return dict(zip(self.labels["segment"], self.labels["name"], strict=True))

    @property
    def has_value_engine(self) -> bool:
        """Whether lifetime values are known for the segments in scope."""
        return not self.worth.empty and bool(self.worth["lifetime_value"].notna().any())

    @property
    def has_migration(self) -> bool:
        """Whether the run has an earlier period end with customers to compare with."""
        return (
            self.run is not None
            and self.run.previous_as_of is not None
            and not self.transitions.empty
        )


def view(engine: Engine, scope: Scope) -> SegmentsView:
    """The latest saved run and what each of its segments is worth in ``scope``."""
    run = segment_store.latest_run(engine)
    if run is None:
        return SegmentsView()
    labels = segment_store.segment_labels(engine, run.run_id)
    summary = segment_store.segment_summary(engine, scope, run.run_id)
    summary.insert(summary.columns.get_loc("acquisition_cost") + 1, "profit", value.profit(summary))
    worth = playbook.segment_worth(summary, labels)
    if worth.empty:
        return SegmentsView(run=run, labels=labels, summary=summary, worth=worth)
    profiles = segment_store.run_profiles(engine, run.run_id)
    transitions = segment_store.segment_transitions(engine, scope, run.run_id)
    has_transitions = not transitions.empty and run.previous_as_of is not None
    return SegmentsView(
        run=run,
        labels=labels,
        summary=summary,
        worth=worth,
        concentration=playbook.concentration_note(worth),
        profiles=profiles if scope.allowed_regions is None else pd.DataFrame(),
        plan=playbook.playbook_table(profiles, run.value_measure, summary, labels),
        transitions=transitions,
        stayed=playbook.stayed_share(transitions) if has_transitions else None,
        migration=(
            playbook.migration_table(transitions, labels) if has_transitions else pd.DataFrame()
        ),
    )


@dataclass(frozen=True)
class SegmentMembers:
    """The customers of one segment in scope.

    Attributes
    ----------
    members:
        One row per customer, columns :data:`MEMBER_COLUMNS` (money in currency units, to the
        period's end; ``profit_to_date`` by :func:`dashboard.domain.value.profit`), most
        profitable first.
    choices:
        (customer id, "id · name") of the 500 most profitable, for the customer picker.
    """

    members: pd.DataFrame
    choices: tuple[tuple[str, str], ...] = ()


def members(engine: Engine, scope: Scope, run_id: int, segment: int) -> SegmentMembers:
    """The customers of ``segment`` (of run ``run_id``) in ``scope``, most profitable first."""
    frame = segment_store.segment_members(engine, scope, run_id, segment)
    frame["profit_to_date"] = value.profit(frame)
    frame = (
        frame[list(MEMBER_COLUMNS)]
        .sort_values(["profit_to_date", "customer_id"], ascending=[False, True])
        .reset_index(drop=True)
    )
    return SegmentMembers(members=frame, choices=tuple(playbook.member_choices(frame)))


@dataclass(frozen=True)
class CustomerDrill:
    """One customer of a segment.

    Attributes
    ----------
    history:
        Everything the customer did up to the period's end, newest first
        (:func:`dashboard.storage.segment_store.customer_history`).
    path:
        The customer's segment at the run's earlier period end and at its as-of date
        (``as_of``, ``segment``, oldest first).

    Both are empty when the customer is out of the scope (row-level access applies).
    """

    history: pd.DataFrame
    path: pd.DataFrame


def customer(engine: Engine, scope: Scope, run_id: int, customer_id: str) -> CustomerDrill:
    """History and segment path of ``customer_id`` in run ``run_id``, within ``scope``."""
    return CustomerDrill(
        history=segment_store.customer_history(engine, scope, customer_id),
        path=segment_store.customer_segment_path(engine, scope, run_id, customer_id),
    )

"""The Segments view on the tiny portfolio (DuckDB, and PostgreSQL when configured).

Segments are set by hand after a saved run, as on the page test
(tests/app/test_segments_page.py): Alice (1) and Cara (3) in segment 1, Bob (2) and Dan (4) in
segment 2, so the figures below are the hand-computed ones of tests/storage/test_segment_store.py.
"""

from __future__ import annotations

import pickle
from dataclasses import replace
from datetime import date

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dashboard.domain import segment_playbook as playbook
from dashboard.scope import Scope
from dashboard.services import segmentation
from dashboard.services.views import segments
from dashboard.storage import segment_store
from dashboard.storage.engine import bulk_insert
from dashboard.storage.schema import segment_assignments
from tests.fixtures import PERIOD

AS_OF = date(2024, 7, 15)
QUARTER = Scope(start=PERIOD[0], end=PERIOD[1])


@pytest.fixture
def segmented(tiny_engine):
    run = segmentation.run_and_save(tiny_engine, n_segments=2)
    with tiny_engine.begin() as conn:
        conn.execute(segment_assignments.delete())
        bulk_insert(
            conn,
            segment_assignments,
            pd.DataFrame({"run_id": 1, "customer_id": [1, 2, 3, 4], "segment": [1, 2, 1, 2]}),
        )
    segmentation.rename_segments(tiny_engine, run.run_id, {1: "Stars", 2: "Strugglers"})
    return tiny_engine


def test_without_a_run_the_view_is_empty(tiny_engine):
    view = segments.view(tiny_engine, QUARTER)
    assert view.run is None
    assert view.worth.empty and view.labels.empty
    assert view.label_of == {} and not view.has_migration


def test_worth_by_hand(segmented):
    view = segments.view(segmented, QUARTER)
    assert view.run.run_id == 1 and view.run.as_of == AS_OF
    assert view.label_of == {1: "1 · Stars", 2: "2 · Strugglers"}
    assert view.names == {1: "Stars", 2: "Strugglers"}
    worth = view.worth.set_index("label")
    stars, strugglers = worth.loc["1 · Stars"], worth.loc["2 · Strugglers"]
    assert stars["customers"] == 2  # Alice and Cara; Dan was acquired after 30 Jun
    assert stars["revenue"] == 800.0  # 100 + 300 + 400 in Apr-Jun
    assert stars["profit"] == 270.0  # 400 - 10 - 120 (Cara's CAC)
    assert strugglers["profit"] == -30.0  # -10 - 20 - 0 (Bob was acquired in March)
    assert stars["customers_share"] == pytest.approx(200 / 3)
    assert stars["profit_share"] == pytest.approx(100 * 270 / 240)
    assert not view.has_value_engine  # no value-engine run in the tiny store
    assert view.concentration == playbook.concentration_note(view.worth)
    assert "**1 · Stars** holds" in view.concentration


def test_playbook_and_migration_match_the_domain_functions(segmented):
    view = segments.view(segmented, QUARTER)
    run = view.run
    profiles = segment_store.run_profiles(segmented, run.run_id)
    transitions = segment_store.segment_transitions(segmented, QUARTER, run.run_id)
    assert_frame_equal(view.profiles, profiles)
    assert_frame_equal(
        view.plan, playbook.playbook_table(profiles, run.value_measure, view.summary, view.labels)
    )
    # Value at stake: the 12-month contribution (no value engine). Stars: margins
    # 80 + 50 + 150 + 200 - contact costs 10 + 3 = 467.
    assert view.plan.set_index("segment").loc[1, "value_at_stake"] == 467.0
    assert view.has_migration
    assert_frame_equal(view.transitions, transitions)
    assert transitions["customers"].sum() == 4  # Cara and Dan are new (from segment 0)
    assert view.stayed == playbook.stayed_share(transitions)
    assert_frame_equal(view.migration, playbook.migration_table(transitions, view.labels))


def test_a_scope_without_customers_keeps_the_run_and_labels(segmented):
    view = segments.view(segmented, replace(QUARTER, regions=("Atlantis",)))
    assert view.run is not None and view.label_of
    assert view.worth.empty and view.plan.empty and view.migration.empty
    assert view.concentration is None


def test_members_most_profitable_first(segmented):
    drill = segments.members(segmented, QUARTER, 1, 1)
    members = drill.members
    assert list(members.columns) == list(segments.MEMBER_COLUMNS)
    # Alice: 280 - 10 - 100 = 170; Cara: 200 - 3 - 120 = 77.
    assert members["customer_id"].tolist() == ["1", "3"]
    assert members["profit_to_date"].tolist() == [170.0, 77.0]
    assert members.set_index("customer_id").loc["1", "revenue_period"] == 400.0
    assert drill.choices == (("1", "1 · Alice"), ("3", "3 · Cara"))


def test_customer_history_and_path(segmented):
    alice = segments.customer(segmented, QUARTER, 1, 1)
    assert alice.history["event"].value_counts().to_dict() == {
        "order": 3,
        "referral": 2,
        "survey": 2,
        "service contact": 1,
    }
    assert alice.path["as_of"].tolist() == [date(2024, 4, 15), AS_OF]
    assert alice.path["segment"].iloc[-1] == 1
    hidden = segments.customer(segmented, replace(QUARTER, allowed_regions=("South",)), 1, 1)
    assert hidden.history.empty and hidden.path.empty  # Alice is in the North


def test_view_results_are_picklable_for_the_cache(segmented):
    for result in (
        segments.view(segmented, QUARTER),
        segments.members(segmented, QUARTER, 1, 1),
        segments.customer(segmented, QUARTER, 1, 1),
    ):
        assert type(pickle.loads(pickle.dumps(result))) is type(result)

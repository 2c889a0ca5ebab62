"""Segment store on the tiny portfolio (DuckDB, and PostgreSQL when configured).

Tiny portfolio (tests/fixtures.py), as of 2024-07-15 (the last order):

- Alice (1): orders 200 (cost 120) on 10 Jan, 100 (50) on 2 Apr, 300 (150) on 20 Jun;
  a contact of 10 on 5 Apr (resolved); two referrals; CSAT 5 / NPS 10 last.
- Bob (2): orders 80 (60) on 5 Mar, 50 (60) on 30 Jun; contacts 5 (unresolved) and 15.
- Cara (3): order 400 (200) on 1 Jun; contact 3 on 1 Feb (before she was acquired).
- Dan (4): acquired 15 Jul with an order 100 (70) that day.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd
import pytest

from dashboard.scope import Scope
from dashboard.services import segmentation
from dashboard.storage import segment_store as store
from dashboard.storage.engine import bulk_insert
from dashboard.storage.schema import segment_assignments
from tests.fixtures import PERIOD

AS_OF = date(2024, 7, 15)
QUARTER = Scope(start=PERIOD[0], end=PERIOD[1])


def test_previous_period_end_is_a_quarter_before():
    assert store.previous_period_end(date(2026, 9, 30)) == date(2026, 6, 30)
    assert store.previous_period_end(date(2024, 7, 15)) == date(2024, 4, 15)
    assert store.previous_period_end(date(2024, 5, 31)) == date(2024, 2, 29)


def test_customer_facts_at_two_dates(tiny_engine):
    facts = store.customer_facts(
        tiny_engine, Scope(start=AS_OF, end=AS_OF), (date(2024, 4, 15), AS_OF)
    )
    now = facts[AS_OF].set_index("customer_id")
    assert list(now.index) == ["1", "2", "3", "4"]
    assert now.loc["1", "orders"] == 3
    assert now.loc["1", "revenue"] == 600.0
    assert now.loc["1", "gross_margin"] == 280.0  # 80 + 50 + 150
    assert now.loc["1", "margin_12m"] == 280.0  # all within the 365 days
    assert now.loc["2", "gross_margin"] == 10.0  # 20 - 10
    assert now.loc["2", "contacts"] == 2 and now.loc["2", "fcr_contacts"] == 1
    assert now.loc["2", "service_cost"] == 20.0
    assert now.loc["1", "referrals_made"] == 2
    assert now.loc["1", "latest_csat"] == 5 and now.loc["1", "latest_nps"] == 10
    assert now.loc["2", "latest_csat"] == 4  # answered 4 May, after the 2 of 2 May
    assert pd.isna(now.loc["3", "latest_csat"]) and now.loc["3", "latest_nps"] == 9
    earlier = facts[date(2024, 4, 15)].set_index("customer_id")
    assert list(earlier.index) == ["1", "2"]  # Cara and Dan were not customers yet
    assert earlier.loc["1", "orders"] == 2 and earlier.loc["1", "revenue"] == 300.0
    assert earlier.loc["1", "latest_csat"] == 5  # 6 Apr answer
    assert earlier.loc["1", "referrals_made"] == 1
    assert pd.isna(earlier.loc["2", "latest_csat"])  # Bob answered in May


def test_facts_honour_row_level_access(tiny_engine):
    south = Scope(start=AS_OF, end=AS_OF, allowed_regions=("South",))
    facts = store.customer_facts(tiny_engine, south, (AS_OF,))[AS_OF]
    assert sorted(facts["customer_id"]) == ["3", "4"]


def test_no_run_yet(tiny_engine):
    assert store.latest_run(tiny_engine) is None
    assert store.latest_segment_options(tiny_engine) == (None, ())


def test_run_and_save_then_read_back(tiny_engine):
    messages = []
    run = segmentation.run_and_save(
        tiny_engine, n_segments=2, progress=lambda f, m: messages.append((f, m))
    )
    assert messages[-1][0] == 1.0
    assert run.run_id == 1 and run.as_of == AS_OF and run.n_segments == 2
    assert run.previous_as_of == date(2024, 4, 15)
    again = store.latest_run(tiny_engine)
    assert again == run
    labels = store.segment_labels(tiny_engine, run.run_id)
    assert labels["segment"].tolist() == [1, 2]
    assert labels["label"].iloc[0].startswith("1 · ")
    run_id, options = store.latest_segment_options(tiny_engine)
    assert run_id == 1 and [s for s, _ in options] == [1, 2]
    profiles = store.run_profiles(tiny_engine, run.run_id)
    everyone = profiles[profiles["segment"] == 0].set_index("feature")
    assert everyone.loc["gross_margin", "customers"] == 4
    # Mean gross margin to date: (280 + 10 + 200 + 30) / 4 = 130.
    assert everyone.loc["gross_margin", "mean"] == pytest.approx(130.0)
    transitions = store.segment_transitions(tiny_engine, QUARTER, run.run_id)
    # Alice and Bob existed on 15 Apr; Cara and Dan are new (from segment 0).
    assert transitions["customers"].sum() == 4
    assert transitions.loc[transitions["from_segment"] == 0, "customers"].sum() == 2


def test_segment_summary_by_hand(tiny_engine):
    run = segmentation.run_and_save(tiny_engine, n_segments=2)
    # Put every customer in segment 1 except Bob (2), so the figures are known by hand.
    with tiny_engine.begin() as conn:
        conn.execute(segment_assignments.delete())
        bulk_insert(
            conn,
            segment_assignments,
            pd.DataFrame({"run_id": 1, "customer_id": [1, 2, 3, 4], "segment": [1, 2, 1, 1]}),
        )
    summary = store.segment_summary(tiny_engine, QUARTER, run.run_id).set_index("segment")
    one, two = summary.loc[1], summary.loc[2]
    assert one["customers"] == 2  # Alice and Cara; Dan was acquired after 30 Jun
    assert one["revenue"] == 800.0  # 100 + 300 + 400 in Apr-Jun
    assert one["gross_margin"] == 400.0  # 50 + 150 + 200
    assert one["service_cost"] == 10.0  # Alice's 5 Apr contact; Cara's was in Feb
    assert one["acquisition_cost"] == 120.0  # Cara, acquired 1 Jun
    assert "profit" not in summary  # the components; the view adds profit (value.profit)
    assert one["contribution_12m"] == 467.0  # margins 80+50+150+200 - costs 10+3
    assert one["active_customers"] == 2
    assert two["revenue"] == 50.0 and two["gross_margin"] == -10.0
    assert two["service_cost"] == 20.0 and two["acquisition_cost"] == 0.0  # acquired in March
    assert pd.isna(one["lifetime_value"])  # no value engine run
    only_two = replace(QUARTER, segments=(2,), segment_run_id=run.run_id)
    assert store.segment_summary(tiny_engine, only_two, run.run_id)["segment"].tolist() == [2]


def test_rerun_keeps_numbers_and_given_names(tiny_engine):
    first = segmentation.run_and_save(tiny_engine, n_segments=2)
    store.rename_segment(tiny_engine, first.run_id, 2, "  Our  problem children ")
    second = segmentation.run_and_save(tiny_engine, n_segments=2)
    assert second.run_id == 2
    assert second.quality["inherited"] == {"1": 1, "2": 2}
    names = store.segment_labels(tiny_engine, second.run_id).set_index("segment")["name"]
    assert names[2] == "Our problem children"
    first_assignments = store.assignments(tiny_engine, first.run_id)
    pd.testing.assert_series_equal(store.assignments(tiny_engine, second.run_id), first_assignments)
    fresh = segmentation.run_and_save(tiny_engine, n_segments=2, renumber=True)
    assert fresh.quality["inherited"] == {}
    assert "Our problem children" not in set(store.segment_labels(tiny_engine, 3)["name"])


def test_blank_name_is_refused(tiny_engine):
    run = segmentation.run_and_save(tiny_engine, n_segments=2)
    with pytest.raises(ValueError, match="blank"):
        store.rename_segment(tiny_engine, run.run_id, 1, "   ")


def test_members_history_and_path(tiny_engine):
    run = segmentation.run_and_save(tiny_engine, n_segments=2)
    segment_of_alice = int(store.assignments(tiny_engine, run.run_id)["1"])
    members = store.segment_members(tiny_engine, QUARTER, run.run_id, segment_of_alice)
    alice = members.set_index("customer_id").loc["1"]
    # Profit to date (280 - 10 - 100) is the view's: tests/services/views/test_segments.py.
    assert (alice["gross_margin"], alice["service_cost"], alice["acquisition_cost"]) == (
        280.0,
        10.0,
        100.0,
    )
    assert alice["revenue_period"] == 400.0
    assert list(members.columns) == list(store.MEMBER_FACTS)
    history = store.customer_history(tiny_engine, QUARTER, 1)
    assert history["event"].value_counts().to_dict() == {
        "order": 3,
        "referral": 2,
        "survey": 2,
        "service contact": 1,
    }
    assert history["date"].iloc[0] == date(2024, 6, 20)  # newest first
    assert history.loc[history["event"] == "order", "amount"].sum() == 600.0
    hidden = replace(QUARTER, allowed_regions=("South",))
    assert store.customer_history(tiny_engine, hidden, 1).empty  # Alice is in the North
    path = store.customer_segment_path(tiny_engine, QUARTER, run.run_id, 1)
    assert path["as_of"].tolist() == [date(2024, 4, 15), AS_OF]
    dan = store.customer_segment_path(tiny_engine, QUARTER, run.run_id, 4)
    assert dan["as_of"].tolist() == [AS_OF]


def test_a_customer_outside_the_allowed_regions_has_no_path_or_history(tiny_engine):
    run = segmentation.run_and_save(tiny_engine, n_segments=2)
    south_only = replace(QUARTER, allowed_regions=("South",))  # Alice (1) is in the North
    assert store.customer_segment_path(tiny_engine, south_only, run.run_id, 1).empty
    assert store.customer_history(tiny_engine, south_only, 1).empty
    cara = store.customer_segment_path(tiny_engine, south_only, run.run_id, 3)
    assert cara["as_of"].tolist() == [AS_OF]  # Cara is in the South, acquired 1 Jun


def test_store_without_orders_is_a_clear_error(tiny_engine):
    from dashboard.domain.segments import SegmentationError
    from dashboard.storage.schema import orders

    with tiny_engine.begin() as conn:
        conn.execute(orders.delete())
    with pytest.raises(SegmentationError, match="no orders"):
        segmentation.run_and_save(tiny_engine)


def test_cli_segment_command(tmp_path, capsys):
    from dashboard.cli import main
    from dashboard.storage.engine import make_engine
    from tests.fixtures import load_tiny

    url = f"duckdb:///{tmp_path / 'cli.duckdb'}"
    engine = make_engine(url)
    load_tiny(engine)
    engine.dispose()
    assert main(["segment", "--db", url, "--k", "2"]) == 0
    out = capsys.readouterr().out
    assert "Saved segment run 1: 2 segments (fixed by --k" in out
    assert "1 · " in out and "2 · " in out
    assert main(["segment", "--db", url, "--k", "1"]) == 2  # 2 to 10 only
    assert main(["segment", "--db", url, "--renumber"]) == 0
    assert store.latest_run(make_engine(url)).run_id == 2

"""Value-curve and win/loss queries on the tiny portfolio (tests/fixtures.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dashboard.scope import Scope
from dashboard.storage import value_curve_queries as q
from tests.fixtures import PERIOD


def test_ratings_by_region(tiny_engine):
    frame = q.value_curve_ratings(tiny_engine, Scope(*PERIOD), "region")
    rows = frame.set_index(["group", "attribute"])
    # North: Alice rated price 8/6 and quality 9/9; South: Cara rated price 4/7.
    assert rows.loc[("North", "price"), "importance"] == 8
    assert rows.loc[("North", "quality"), "performance"] == 9
    assert rows.loc[("South", "price"), "performance"] == 7
    # Alice's gross margin in the 365 days to 30 June: 80 + 50 + 150 = 280.
    assert rows.loc[("North", "price"), "group_margin_12m"] == pytest.approx(280.0)
    assert rows.loc[("South", "price"), "group_margin_12m"] == pytest.approx(200.0)
    assert rows.loc[("North", "price"), "group_raters"] == 1


def test_ratings_after_period_end_are_ignored(tiny_engine):
    early = Scope(PERIOD[0], PERIOD[0].replace(month=5, day=31))
    frame = q.value_curve_ratings(tiny_engine, early, "region")
    assert set(frame["group"]) == {"North"}  # Cara rated on 5 June


def test_win_loss_by_region(tiny_engine):
    frame = q.win_loss(tiny_engine, Scope(*PERIOD), "region")
    # In April-June: opportunity 2 (prospect, lost in May) and 3 (Cara, open since June).
    assert sorted(zip(frame["group"], frame["outcome"], strict=True)) == [
        ("Prospects", "lost"),
        ("South", "open"),
    ]
    north_only = q.win_loss(tiny_engine, replace(Scope(*PERIOD), regions=("North",)), "region")
    assert north_only.empty


def test_segments_need_a_saved_run(tiny_engine):
    assert q.available_groupings(tiny_engine) == ("region", "acquisition_channel")
    with pytest.raises(ValueError, match="segmentation"):
        q.value_curve_ratings(tiny_engine, Scope(*PERIOD), "segment")


def test_ratings_and_win_loss_by_saved_segment(tiny_engine):
    from datetime import date, datetime

    from dashboard.storage.schema import segment_assignments, segment_names, segment_runs

    with tiny_engine.begin() as conn:
        conn.execute(
            segment_runs.insert().values(
                run_id=1,
                created_at=datetime(2024, 7, 1),
                as_of=date(2024, 6, 30),
                n_segments=2,
                settings="{}",
                quality="{}",
            )
        )
        conn.execute(
            segment_assignments.insert(),
            [{"run_id": 1, "customer_id": c, "segment": s} for c, s in ((1, 1), (2, 2), (3, 2))],
        )
        conn.execute(segment_names.insert().values(run_id=1, segment=1, name="Loyalists"))
    assert q.available_groupings(tiny_engine)[0] == "segment"
    frame = q.value_curve_ratings(tiny_engine, Scope(*PERIOD), "segment")
    # Segment 2 has no saved name: it is called "Segment 2".
    assert set(frame["group"]) == {"Loyalists", "Segment 2"}
    only_loyalists = replace(Scope(*PERIOD), segments=(1,), segment_run_id=1)
    frame = q.value_curve_ratings(tiny_engine, only_loyalists, "segment")
    assert set(frame["group"]) == {"Loyalists"}
    deals = q.win_loss(tiny_engine, Scope(*PERIOD), "segment")
    assert sorted(deals["group"]) == ["Prospects", "Segment 2"]

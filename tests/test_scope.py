"""The global filters: periods, row-level access, the caption."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from dashboard.domain.periods import preset_period
from dashboard.scope import Scope


def test_previous_period_has_the_same_number_of_days():
    quarter = Scope(date(2024, 4, 1), date(2024, 6, 30))
    previous = quarter.previous_period()
    assert (previous.start, previous.end) == (date(2024, 1, 1), date(2024, 3, 31))
    assert previous.days == quarter.days == 91


def test_whole_months_compare_with_the_months_before():
    quarter = Scope(date(2026, 7, 1), date(2026, 9, 30))  # 92 days
    previous = quarter.previous_period()
    assert (previous.start, previous.end) == (date(2026, 4, 1), date(2026, 6, 30))  # 91 days
    january = Scope(date(2026, 1, 1), date(2026, 1, 31)).previous_period()
    assert (january.start, january.end) == (date(2025, 12, 1), date(2025, 12, 31))
    rolling = Scope(date(2026, 7, 16), date(2026, 9, 30)).previous_period()
    assert rolling.days == 77 and rolling.end == date(2026, 7, 15)


def test_end_before_start_is_refused():
    with pytest.raises(ValueError, match="before its start"):
        Scope(date(2024, 2, 1), date(2024, 1, 1))


def test_row_level_access_intersects_the_choice():
    base = Scope(date(2024, 1, 1), date(2024, 1, 31))
    assert base.effective_regions() is None
    assert replace(base, regions=("N",)).effective_regions() == ("N",)
    limited = replace(base, allowed_regions=("S", "E"))
    assert limited.effective_regions() == ("S", "E")
    assert replace(limited, regions=("N", "S")).effective_regions() == ("S",)
    assert replace(limited, regions=("N",)).effective_regions() == ()


def test_describe_names_segments():
    view = Scope(
        date(2024, 4, 1), date(2024, 6, 30), regions=("North",), segments=(1, 3), segment_run_id=7
    )
    assert view.describe({1: "Loyalists"}) == (
        "01 Apr 2024 – 30 Jun 2024 · regions: North · channels: all · segments: Loyalists, 3"
    )


@pytest.mark.parametrize(
    ("preset", "start"),
    [
        ("Last month", date(2026, 9, 1)),
        ("Last 3 months", date(2026, 7, 1)),
        ("Last 12 months", date(2025, 10, 1)),
        ("Year to date", date(2026, 1, 1)),
        ("All history", date(2023, 10, 1)),
    ],
)
def test_presets_end_on_the_anchor(preset, start):
    assert preset_period(preset, date(2026, 9, 30), date(2023, 10, 1)) == (start, date(2026, 9, 30))


def test_presets_never_start_before_the_data():
    assert preset_period("Last 12 months", date(2024, 3, 31), date(2024, 1, 10))[0] == date(
        2024, 1, 10
    )
    with pytest.raises(ValueError):
        preset_period("Custom", date(2024, 3, 31), date(2024, 1, 10))

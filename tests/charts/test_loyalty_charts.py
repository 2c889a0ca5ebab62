"""Loyalty charts, tested on what they draw (fig.data, fig.layout)."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd

from dashboard.charts.loyalty import (
    LOYALTY_AXIS,
    QUADRANT_COLOURS,
    SATISFACTION_AXIS,
    build_nps_trend,
    build_quadrant_density,
    build_quadrant_scatter,
    build_repeat_purchase_trend,
)
from dashboard.domain import loyalty
from dashboard.domain.loyalty import LOST, LOYAL_ADVOCATES, NO_SURVEY, SATISFIED_BUT_LEAVING


def customers() -> pd.DataFrame:
    """Four answered customers (two satisfied leavers, an advocate, a lost) and one without."""
    return pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4, 5],
            "name": ["A", "B", "C", "D", "E"],
            "loyalty_index": [80.0, 10.0, 12.0, 20.0, 60.0],
            "satisfaction": [100.0, 90.0, 75.0, 25.0, np.nan],
            "quadrant": [
                LOYAL_ADVOCATES,
                SATISFIED_BUT_LEAVING,
                SATISFIED_BUT_LEAVING,
                LOST,
                NO_SURVEY,
            ],
            "revenue_last_12m": [100.0, 50.0, 20.0, 0.0, 10.0],
            "revenue_period": [10.0, 0.0, 0.0, 0.0, 5.0],
            "latest_csat": pd.array([5, None, 4, 2, None], dtype="Float64"),
            "latest_nps": pd.array([10, 9, None, None, None], dtype="Float64"),
            "clv": [np.nan] * 5,
        }
    )


def _annotation_texts(fig) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def test_density_counts_cells_draws_cuts_and_names_quadrants():
    frame = customers()
    grid = loyalty.density_grid(frame)
    summary = loyalty.quadrant_summary(frame)
    fig = build_quadrant_density(grid, summary, loyal_cut=50, satisfied_cut=70, title="T")
    (heatmap,) = fig.data
    assert heatmap.type == "heatmap"
    z = np.asarray(heatmap.z, dtype=float)
    assert z.shape == (10, 20)  # satisfaction rows × loyalty columns
    assert np.nansum(z) == 4  # E has no answer
    # Empty cells are blank (NaN), not a pale zero; A sits in loyalty 80-85, satisfaction 90-100.
    assert np.isnan(z).sum() == 200 - 4
    assert z[9, 16] == 1 and list(heatmap.x)[16] == 82.5 and list(heatmap.y)[9] == 95
    lines = {(s.x0, s.x1, s.y0, s.y1) for s in fig.layout.shapes}
    assert (50, 50, 0, 102) in lines and (0, 100, 70, 70) in lines
    texts = _annotation_texts(fig)
    # Shares are of the 4 answered customers: 2 satisfied leavers = 50%.
    assert "<b>Satisfied but leaving</b>: 2 (50%)" in texts
    assert "<b>Loyal but unhappy</b>: 0 (0%)" in texts
    assert fig.layout.xaxis.title.text == LOYALTY_AXIS
    assert fig.layout.yaxis.title.text == SATISFACTION_AXIS
    assert fig.layout.title.text == "T"


def test_scatter_has_one_mark_per_answered_customer_coloured_by_quadrant():
    frame = customers()
    points = loyalty.scatter_points(frame, random_state=0)
    fig = build_quadrant_scatter(
        points, loyalty.quadrant_summary(frame), loyal_cut=50, satisfied_cut=70, title="T"
    )
    by_name = {trace.name: trace for trace in fig.data}
    assert list(by_name) == list(loyalty.QUADRANTS)
    assert sum(len(t.x) for t in fig.data) == 4
    leaving = by_name[SATISFIED_BUT_LEAVING]
    assert list(leaving.x) == [10.0, 12.0]
    assert leaving.marker.color == QUADRANT_COLOURS[SATISFIED_BUT_LEAVING]
    # Drawn a little above the real score, which the hover shows.
    shown = list(leaving.y)
    assert 90 <= shown[0] < 92 and 75 <= shown[1] < 77
    assert [float(v) for v in leaving.customdata[:, 1]] == [90.0, 75.0]
    assert len(by_name["Loyal but unhappy"].x) == 0


def trend() -> pd.DataFrame:
    return loyalty.monthly_trends(
        pd.DataFrame(
            {
                "month": [pd.Timestamp("2026-01-01"), pd.Timestamp("2026-03-01")],
                "nps_answers": [4, 2],
                "promoters": [2, 0],
                "detractors": [1, 1],
            }
        ),
        pd.DataFrame({"month": [pd.Timestamp("2026-01-01")], "buyers": [10], "repeat_buyers": [7]}),
        date(2026, 1, 1),
        date(2026, 3, 31),
    )


def test_nps_trend_line_over_answer_counts_with_the_period_shaded():
    fig = build_nps_trend(trend(), title="NPS", period_start=date(2026, 3, 1))
    line, bars = fig.data
    assert line.name == "NPS" and bars.name == "NPS answers"
    assert list(line.y)[0] == 25.0 and math.isnan(list(line.y)[1])  # no answers in February
    assert list(line.y)[2] == -50.0  # (0 - 1) / 2
    assert list(bars.y) == [4, 0, 2]
    assert fig.layout.yaxis.title.text == "NPS (−100 to +100)"
    assert fig.layout.yaxis2.title.text == "NPS answers"
    shaded = [s for s in fig.layout.shapes if s.type == "rect"]
    assert shaded and pd.Timestamp(shaded[0].x0) == pd.Timestamp("2026-02-14")
    no_shade = build_nps_trend(trend(), title="NPS", period_start=date(2026, 1, 1))
    assert not [s for s in no_shade.layout.shapes if s.type == "rect"]


def test_repeat_purchase_trend_in_percent_of_buyers():
    fig = build_repeat_purchase_trend(trend(), title="Repeat")
    line, bars = fig.data
    assert list(line.y)[0] == 70.0 and math.isnan(list(line.y)[1])
    assert list(bars.y) == [10, 0, 0]
    assert fig.layout.yaxis.title.text == "Repeat-purchase rate (% of buyers)"
    # Headroom above 100% so a marker at 100 is not cut; ticks still end at 100.
    assert tuple(fig.layout.yaxis.range) == (0, 105)
    assert max(fig.layout.yaxis.tickvals) == 100


def test_trend_of_an_empty_scope_still_draws():
    nothing = trend().iloc[0:0]
    empty = loyalty.monthly_trends(nothing, nothing, date(2026, 1, 1), date(2026, 1, 31))
    fig = build_repeat_purchase_trend(empty, title="Repeat", period_start=date(2026, 1, 1))
    assert list(fig.data[1].y) == [0]

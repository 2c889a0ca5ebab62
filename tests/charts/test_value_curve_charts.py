"""Value-curve charts: traces, panels and scales."""

from __future__ import annotations

from dashboard.charts import value_curves as charts
from dashboard.domain import value_curves as vc
from tests.domain.test_value_curves import deals, ratings


def test_value_curves_one_panel_per_group_two_lines_each():
    fig = charts.build_value_curves(vc.value_curves(ratings()), title="t")
    assert len(fig.data) == 4  # 2 groups × (importance, performance)
    assert [a.text for a in fig.layout.annotations] == ["A", "B"]
    importance_a = fig.data[0]
    assert list(importance_a.x) == ["price", "service"] and list(importance_a.y) == [8.0, 3.0]
    assert fig.data[0].line.dash == "dash" and fig.data[1].line.dash == "solid"
    assert "dashed: expects" in fig.layout.title.text


def test_gap_heatmap_is_symmetric_around_zero():
    fig = charts.build_gap_heatmap(vc.value_curves(ratings()), title="t")
    heat = fig.data[0]
    assert heat.zmid == 0 and heat.zmin == -heat.zmax == -4.5
    assert list(heat.y) == ["A", "B"] and list(heat.x) == ["price", "service"]


def test_win_rate_in_percent_and_loss_shares():
    rates = vc.win_rate_by(deals(), ["month", "group"])
    fig = charts.build_win_rate_trend(rates, title="t")
    north = next(t for t in fig.data if t.name == "North")
    assert list(north.y) == [75.0, 0.0]
    # 100% stays inside the plot; the legend is under it, clear of the title.
    assert fig.layout.yaxis.range[1] > 100 and fig.layout.legend.y < 0
    bars = charts.build_loss_reasons(vc.loss_reasons(deals()), title="t").data[0]
    assert list(bars.y) == ["not recorded", "price"] and list(bars.x) == [25.0, 75.0]


def test_gap_heatmap_leaves_unrated_cells_blank():
    partial = vc.value_curves(ratings().drop(index=3))  # B did not rate service
    heat = charts.build_gap_heatmap(partial, title="t").data[0]
    assert heat.text[1][1] == "" and heat.text[0][0] == "+2.0"

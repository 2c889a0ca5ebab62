"""What-if on customer equity: hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.domain.clv.scenario import (
    DROPOUT_CHANGES,
    ChannelAcquisition,
    EquityBase,
    Scenario,
    dropout_column,
    run_scenario,
)

# Today's equity 1,000 with draws 900..1,100 (90 % interval 910..1,090); discounted revenue
# 4,000 (a 25 % margin); at dropout -25 % equity 1,200 on revenue 4,800. Customers in scope
# earned 500 so far and cost 300 to win.
DRAWS = np.linspace(900.0, 1100.0, 201)
BASE = EquityBase(
    equity=1000.0,
    equity_draws=DRAWS,
    margin_value_at_dropout={c: 1000.0 for c in DROPOUT_CHANGES} | {-0.25: 1200.0},
    revenue_at_dropout={c: 4000.0 for c in DROPOUT_CHANGES} | {-0.25: 4800.0},
    margin_to_date=500.0,
    acquisition_cost=300.0,
    new_customer_value={"direct": 60.0, "social": 10.0},
)


def test_no_change_is_today():
    result = run_scenario(BASE, Scenario())
    assert result.equity == pytest.approx(1000.0)
    assert (result.equity_low, result.equity_high) == pytest.approx((910.0, 1090.0))
    assert (result.equity_today_low, result.equity_today_high) == pytest.approx((910.0, 1090.0))
    assert [amount for _, amount in result.steps[1:]] == [0.0] * 5
    # LTV / CAC = (500 + 1,000) / 300 = 5; interval (500 + 910) / 300 .. (500 + 1,090) / 300.
    assert result.ltv_to_cac == pytest.approx(5.0) == result.ltv_to_cac_today
    assert (result.ltv_to_cac_low, result.ltv_to_cac_high) == pytest.approx((4.7, 5.3))
    assert Scenario().is_today


def test_spend_ten_percent_scales_equity_and_its_interval_by_1_1():
    result = run_scenario(BASE, Scenario(spend_change=0.1))
    assert result.equity == pytest.approx(1100.0)
    assert (result.equity_low, result.equity_high) == pytest.approx((1001.0, 1199.0))
    assert dict(result.steps)["Spend per order +10%"] == pytest.approx(100.0)


def test_levers_compound_in_order():
    # Dropout -25 %: 1,200. Purchase rate +10 %: 1,320. Spend +10 %: 1,452.
    # Margin +2 pp: (1,200 + 0.02 * 4,800) * 1.1 * 1.1 = 1,568.16.
    result = run_scenario(
        BASE,
        Scenario(dropout_change=-0.25, purchase_rate_change=0.1, spend_change=0.1,
                 margin_change=0.02),
    )  # fmt: skip
    amounts = [amount for _, amount in result.steps]
    assert amounts == pytest.approx([1000.0, 200.0, 120.0, 132.0, 116.16, 0.0])
    assert result.equity == pytest.approx(1568.16) == pytest.approx(sum(amounts))


def test_acquisition_adds_net_value_and_moves_ltv_to_cac():
    # 100 direct customers at 20 each: + 100 * 60 - 2,000 = +4,000.
    scenario = Scenario(acquisition=(ChannelAcquisition("direct", 100, 20.0),
                                     ChannelAcquisition("social", 0, 99.0)))  # fmt: skip
    result = run_scenario(BASE, scenario)
    assert result.equity == pytest.approx(5000.0)
    assert result.new_customers == 100 and result.acquisition_spend == pytest.approx(2000.0)
    # LTV / CAC = (500 + 1,000 + 6,000) / (300 + 2,000).
    assert result.ltv_to_cac == pytest.approx(7500 / 2300)
    # Draws: (1,000 + 6,000) * draw / 1,000 - 2,000 -> 5th percentile 7,000 * 0.91 - 2,000.
    assert result.equity_low == pytest.approx(7000 * 0.91 - 2000)


def test_free_customers_have_no_ltv_to_cac():
    free = EquityBase(**{**BASE.__dict__, "acquisition_cost": 0.0})
    result = run_scenario(free, Scenario())
    assert result.ltv_to_cac is None and result.ltv_to_cac_low is None


def test_bad_levers_say_what_is_allowed():
    with pytest.raises(ValueError, match="not stored"):
        Scenario(dropout_change=0.3)
    with pytest.raises(ValueError, match="above -100%"):
        Scenario(spend_change=-1.5)
    with pytest.raises(ValueError, match="no value per customer"):
        run_scenario(BASE, Scenario(acquisition=(ChannelAcquisition("tv", 5, 1.0),)))


def test_dropout_columns():
    assert dropout_column(0.0) == "discounted_revenue"
    assert dropout_column(-0.25) == "revenue_dropout_m25"
    assert dropout_column(0.1) == "revenue_dropout_p10"

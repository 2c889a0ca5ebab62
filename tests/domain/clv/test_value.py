"""customer_lifetime_value against hand-worked cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dashboard.domain.clv import (
    WEEKS_PER_MONTH,
    BetaGeoModel,
    GammaGammaModel,
    customer_lifetime_value,
    monthly_discount_rate,
)

# E[X(t)] of a new customer is 2 (1 - ln(1 + t) / t) with these (see test_models_beta_geo).
BGNBD = BetaGeoModel.from_params({"r": 1.0, "alpha": 1.0, "a": 2.0, "b": 1.0})
# Population mean spend p v / (q - 1) = 2 * 4 / 2 = 4.
GAMMA_GAMMA = GammaGammaModel.from_params({"p": 2.0, "q": 3.0, "v": 4.0})


def test_one_order_customer_by_hand():
    # A customer with one order (x = 0, t_x = 0) at T = 0 is alive and expects, with the
    # time unit a month, E[X(1)] = 2 (1 - ln 2) = 0.613706 and E[X(2)] = 2 - ln 3 =
    # 0.901388 repeat purchases, each worth 4. With a monthly rate of 10 %:
    #   CLV(2 months) = 4 (0.613706 / 1.1 + (0.901388 - 0.613706) / 1.1^2) = 3.182672
    annual = 1.1**12 - 1
    first, second = 2 * (1 - math.log(2)), 2 - math.log(3)
    by_hand = 4 * (first / 1.1 + (second - first) / 1.1**2)
    clv = customer_lifetime_value(
        BGNBD,
        GAMMA_GAMMA,
        0,
        0.0,
        0.0,
        0.0,
        horizon_months=2,
        annual_discount_rate=annual,
        time_unit_per_month=1.0,
    )
    assert float(clv) == pytest.approx(by_hand, rel=1e-12)
    assert by_hand == pytest.approx(3.182672, abs=1e-6)
    # margin scales it; zero horizon gives nothing.
    half = customer_lifetime_value(
        BGNBD, GAMMA_GAMMA, 0, 0.0, 0.0, 0.0, horizon_months=2, margin=0.5,
        annual_discount_rate=annual, time_unit_per_month=1.0,
    )  # fmt: skip
    assert float(half) == pytest.approx(by_hand / 2, rel=1e-12)
    assert float(customer_lifetime_value(BGNBD, GAMMA_GAMMA, 0, 0.0, 0.0, 0.0,
                                         horizon_months=0)) == 0.0  # fmt: skip


def test_monthly_rate_and_month_length():
    # (1 + 10 %)^(1/12) - 1 = 0.7974 % a month; a month is 365.25 / 12 / 7 weeks.
    assert monthly_discount_rate(0.10) == pytest.approx(0.00797414, abs=1e-8)
    assert WEEKS_PER_MONTH == pytest.approx(4.348214, abs=1e-6)


def test_repeat_buyer_matches_the_definition_step_by_step():
    x, t_x, T = np.array([3, 1, 0]), np.array([20.0, 2.0, 0.0]), np.array([30.0] * 3)
    zbar = np.array([12.0, 30.0, 0.0])
    clv = customer_lifetime_value(
        BGNBD, GAMMA_GAMMA, x, t_x, T, zbar, horizon_months=12, margin=0.3
    )
    rate = monthly_discount_rate(0.10)
    for i in range(3):
        cumulative = [
            float(BGNBD.expected_purchases(m * WEEKS_PER_MONTH, x[i], t_x[i], T[i]))
            for m in range(13)
        ]
        spend = float(GAMMA_GAMMA.expected_spend(x[i], zbar[i]))
        by_hand = sum(
            (cumulative[m] - cumulative[m - 1]) * spend * 0.3 / (1 + rate) ** m
            for m in range(1, 13)
        )
        assert clv[i] == pytest.approx(by_hand, rel=1e-12)


def test_bad_settings_are_refused():
    args = (BGNBD, GAMMA_GAMMA, [1], [1.0], [2.0], [5.0])
    with pytest.raises(ValueError, match="fraction"):
        customer_lifetime_value(*args, margin=30)
    with pytest.raises(ValueError, match="whole number"):
        customer_lifetime_value(*args, horizon_months=1.5)
    with pytest.raises(ValueError, match="annual_discount_rate"):
        customer_lifetime_value(*args, annual_discount_rate=-1.0)
    with pytest.raises(ValueError, match="time_unit_per_month"):
        customer_lifetime_value(*args, time_unit_per_month=0.0)


def test_the_time_unit_does_not_change_lifetime_value():
    # BG/NBD is invariant to the time unit (alpha scales, r, a, b do not), and one calendar
    # month (30.4375 days = 4.348 weeks) serves every unit, so weeks and days agree.
    rng = np.random.default_rng(3)
    n = 5_000
    rate = rng.gamma(0.5, 1 / 30.0, n)  # per day
    dropout = rng.beta(1.0, 3.0, n)
    T_days = rng.integers(60, 400, n).astype(float)
    if_alive = rng.poisson(rate * T_days)
    frequency = np.minimum(if_alive, rng.geometric(dropout))
    share = np.zeros(n)
    buyers = frequency > 0
    share[buyers] = rng.beta(frequency[buyers], if_alive[buyers] - frequency[buyers] + 1)
    recency_days = np.floor(share * T_days)
    spend = np.where(frequency > 0, rng.gamma(5.0, 8.0, n), 0.0)
    weekly = BetaGeoModel().fit(frequency, recency_days / 7, T_days / 7)
    daily = BetaGeoModel().fit(frequency, recency_days, T_days)
    assert daily.params_["alpha"] == pytest.approx(7 * weekly.params_["alpha"], rel=1e-5)
    spend_model = GammaGammaModel().fit(frequency, spend)
    in_weeks = customer_lifetime_value(
        weekly, spend_model, frequency, recency_days / 7, T_days / 7, spend
    )
    in_days = customer_lifetime_value(
        daily, spend_model, frequency, recency_days, T_days, spend, time_unit_per_month=30.4375
    )
    np.testing.assert_allclose(in_days, in_weeks, rtol=1e-4)

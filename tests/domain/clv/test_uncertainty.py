"""Lifetime value at parameter draws: per-customer intervals, compressed scope totals, the
dropout what-if model."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.domain.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    customer_lifetime_value,
    parameter_draws,
    uncertainty,
)
from tests.domain.clv.test_intervals import BGNBD, PARETO, simulate_pareto


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(7)
    x, t_x, T = simulate_pareto(rng, 3000)
    spend = np.where(x > 0, rng.gamma(6.0, 8.0, x.shape[0]), 0.0)
    purchase = ParetoNBDModel().fit(x, t_x, T)
    repeat = x > 0
    gamma_gamma = GammaGammaModel().fit(x[repeat], spend[repeat])
    purchase_draws = parameter_draws(purchase, x, t_x, T, n_draws=80, random_state=1)
    spend_draws = parameter_draws(gamma_gamma, x[repeat], spend[repeat], n_draws=80, random_state=2)
    margin = rng.uniform(0.1, 0.5, x.shape[0])
    return purchase, gamma_gamma, purchase_draws, spend_draws, (x, t_x, T, spend), margin


def test_value_draws_match_the_lifetime_value_at_the_fit_and_at_a_draw(fitted):
    purchase, gamma_gamma, purchase_draws, spend_draws, (x, t_x, T, spend), _ = fitted
    drawn = uncertainty.value_draws(purchase_draws, spend_draws, x, t_x, T, spend)
    exact = customer_lifetime_value(purchase, gamma_gamma, x, t_x, T, spend)
    np.testing.assert_allclose(drawn.revenue_point, exact, rtol=1e-12)
    third = [m[3] for m in (purchase_draws.models(), spend_draws.models())]
    at_draw = customer_lifetime_value(*third, x, t_x, T, spend)
    # T rounded to whole weeks at the draws, applied as a ratio: within 1e-3.
    np.testing.assert_allclose(drawn.revenue[:, 3], at_draw, rtol=1e-3)
    np.testing.assert_allclose(drawn.alive[:, 3], third[0].probability_alive(x, t_x, T))


def test_scope_totals_from_loadings_match_the_exact_draws(fitted):
    _, _, purchase_draws, spend_draws, (x, t_x, T, spend), margin = fitted
    result = uncertainty.lifetime_value_uncertainty(
        purchase_draws, spend_draws, x, t_x, T, spend, margin, sample=1000
    )
    drawn = uncertainty.value_draws(purchase_draws, spend_draws, x, t_x, T, spend)
    values = drawn.revenue * margin[:, None]
    point = drawn.revenue_point * margin
    assert (result.clv_low <= point + 1e-9).all() and (point - 1e-9 <= result.clv_high).all()
    np.testing.assert_allclose(result.clv_low, np.quantile(values, 0.05, axis=1))
    for scope in (np.arange(3000) % 3 == 0, x > 2, np.ones(3000, dtype=bool)):
        exact = values[scope].sum(axis=0)
        compressed = uncertainty.scope_total_draws(
            point[scope].sum(), result.clv_loadings[scope].sum(axis=0), result.clv_basis
        )
        np.testing.assert_allclose(compressed, exact, rtol=1e-3)
        alive = uncertainty.scope_total_draws(
            drawn.alive_point[scope].sum(), result.alive_loadings[scope].sum(axis=0),
            result.alive_basis,
        )  # fmt: skip
        np.testing.assert_allclose(alive, drawn.alive[scope].sum(axis=0), rtol=1e-3)
    assert result.clv_captured > 0.999


@pytest.mark.parametrize("factor", [0.5, 1.0, 1.25])
def test_dropout_scaled_new_customer_is_the_model_with_scaled_dropout(factor):
    t = np.array([0.0, 4.0, 52.0, 156.0])
    zero = np.zeros(())
    pareto = ParetoNBDModel.from_params(PARETO)
    # mu x f ~ Gamma(s, beta / f).
    scaled = ParetoNBDModel.from_params({**PARETO, "beta": PARETO["beta"] / factor})
    np.testing.assert_allclose(
        uncertainty.DropoutScaled(pareto, factor)._alive_expectation(t, zero, zero),
        scaled.expected_purchases_new(t),
        rtol=1e-10,
    )
    bgnbd = BetaGeoModel.from_params(BGNBD)
    # p's mean a / (a + b) x f: b' = (a + b) / f - a.
    b_scaled = (BGNBD["a"] + BGNBD["b"]) / factor - BGNBD["a"]
    np.testing.assert_allclose(
        uncertainty.DropoutScaled(bgnbd, factor)._alive_expectation(t, zero, zero),
        BetaGeoModel.from_params({**BGNBD, "b": b_scaled}).expected_purchases_new(t),
        rtol=1e-10,
    )


def test_less_dropout_means_more_purchases():
    model = ParetoNBDModel.from_params(PARETO)
    x, T = np.array([0.0, 3.0]), np.array([30.0, 30.0])
    kwargs = {"horizon_months": 36, "annual_discount_rate": 0.1}
    less = uncertainty.discounted_purchases(uncertainty.DropoutScaled(model, 0.5), x, T, **kwargs)
    fitted = uncertainty.discounted_purchases(model, x, T, **kwargs)
    assert (less > fitted).all()
    with pytest.raises(ValueError, match="> 0"):
        uncertainty.DropoutScaled(model, 0.0)

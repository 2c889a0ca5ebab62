"""Parameter draws and intervals: shapes, reproducibility and coverage on simulated data."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.domain.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    customer_lifetime_value,
)
from dashboard.domain.clv.intervals import interval, parameter_draws

PARETO = {"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7}
BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
SPEND = {"p": 6.25, "q": 3.74, "v": 15.44}
SIMULATIONS = 40
CUSTOMERS = 2_000


def _ages(rng, n):
    return rng.integers(200, 280, n) / 7  # first purchases over 12 weeks, observed to week 40


def simulate_pareto(rng, n):
    rate = rng.gamma(PARETO["r"], 1 / PARETO["alpha"], n)
    lifetime = rng.exponential(1 / rng.gamma(PARETO["s"], 1 / PARETO["beta"], n))
    T = _ages(rng, n)
    alive_for = np.minimum(lifetime, T)
    x = rng.poisson(rate * alive_for)
    t_x = np.zeros(n)
    t_x[x > 0] = alive_for[x > 0] * rng.beta(x[x > 0], 1.0)
    return x.astype(float), t_x, T


def simulate_bgnbd(rng, n):
    rate = rng.gamma(BGNBD["r"], 1 / BGNBD["alpha"], n)
    dropout = rng.beta(BGNBD["a"], BGNBD["b"], n)
    T = _ages(rng, n)
    if_alive = rng.poisson(rate * T)
    x = np.minimum(if_alive, rng.geometric(dropout))
    t_x = np.zeros(n)
    t_x[x > 0] = T[x > 0] * rng.beta(x[x > 0], if_alive[x > 0] - x[x > 0] + 1)
    return x.astype(float), t_x, T


def simulate_spend(rng, n):
    x = rng.integers(1, 8, n).astype(float)
    nu = rng.gamma(SPEND["q"], 1 / SPEND["v"], n)
    return x, rng.gamma(SPEND["p"] * x, 1 / (x * nu))


def _coverage(model_class, simulate, truth, seed):
    rng = np.random.default_rng(seed)
    covered = []
    for k in range(SIMULATIONS):
        data = simulate(rng, CUSTOMERS)
        model = model_class().fit(*data)
        draws = parameter_draws(model, *data, n_draws=400, random_state=seed + k)
        bounds = interval(lambda m: np.array(list(m.params_.values())), draws, level=0.9)
        truth_values = np.array(list(truth.values()))
        covered.append((bounds.low <= truth_values) & (truth_values <= bounds.high))
    return np.array(covered)


@pytest.mark.parametrize(
    ("model_class", "simulate", "truth"),
    [
        (ParetoNBDModel, simulate_pareto, PARETO),
        (BetaGeoModel, simulate_bgnbd, BGNBD),
        (GammaGammaModel, simulate_spend, SPEND),
    ],
)
def test_ninety_percent_intervals_cover_the_true_parameters(model_class, simulate, truth):
    # 40 simulated portfolios of 2,000 customers with known parameters: each parameter's 90 %
    # interval should hold the truth in about 90 % of them (36 of 40; binomial sd ~ 2).
    covered = _coverage(model_class, simulate, truth, seed=20261202)
    share = covered.mean()
    assert 0.80 <= share <= 0.97, (share, covered.mean(axis=0))
    assert (covered.mean(axis=0) >= 0.7).all(), covered.mean(axis=0)


def test_draws_are_reproducible_and_centred_on_the_fit():
    rng = np.random.default_rng(5)
    data = simulate_pareto(rng, 5_000)
    model = ParetoNBDModel().fit(*data)
    first = parameter_draws(model, *data, n_draws=2_000, random_state=1)
    second = parameter_draws(model, *data, n_draws=2_000, random_state=1)
    assert first.draws.equals(second.draws)
    assert list(first.draws.columns) == ["r", "alpha", "s", "beta"]
    log_mean = np.log(first.draws).mean()
    log_sd = np.sqrt(np.diag(first.log_covariance))
    for (name, value), sd in zip(model.params_.items(), log_sd, strict=True):
        # The mean of 2,000 draws is within 4 of its standard errors of the fit.
        assert log_mean[name] == pytest.approx(np.log(value), abs=4 * sd / np.sqrt(2_000))
        # The draws' spread agrees with the fit's standard errors.
        assert first.standard_errors[name] == pytest.approx(model.standard_errors_[name], 0.02)


def test_interval_of_lifetime_value_and_totals():
    rng = np.random.default_rng(9)
    x, t_x, T = simulate_bgnbd(rng, 3_000)
    spend = np.where(x > 0, rng.gamma(20.0, 1.5, x.shape[0]), 0.0)
    purchases = BetaGeoModel().fit(x, t_x, T)
    value_model = GammaGammaModel().fit(x, spend)
    purchase_draws = parameter_draws(purchases, x, t_x, T, n_draws=200, random_state=2)
    spend_draws = parameter_draws(value_model, x, spend, n_draws=200, random_state=3)

    def clv(p, s):
        return customer_lifetime_value(p, s, x, t_x, T, spend, horizon_months=12)

    per_customer = interval(clv, purchase_draws, spend_draws)
    assert per_customer.point.shape == x.shape
    assert np.all(per_customer.low <= per_customer.high)
    np.testing.assert_allclose(per_customer.point, clv(purchases, value_model))
    inside = (per_customer.low <= per_customer.point) & (per_customer.point <= per_customer.high)
    assert inside.mean() > 0.95
    equity = interval(lambda p, s: clv(p, s).sum(), purchase_draws, spend_draws)
    assert equity.point.shape == () and equity.low < equity.point < equity.high
    alive = interval(lambda p: p.probability_alive(x, t_x, T).sum(), purchase_draws)
    assert alive.low < alive.point < alive.high < x.shape[0]


def test_errors():
    with pytest.raises(ValueError, match="not fitted"):
        parameter_draws(ParetoNBDModel(), [1, 0], [1, 0], [2, 2])
    data = simulate_bgnbd(np.random.default_rng(1), 1_000)
    model = BetaGeoModel().fit(*data)
    with pytest.raises(ValueError, match="3 data columns"):
        parameter_draws(model, *data[:2])
    draws = parameter_draws(model, *data, n_draws=5)
    with pytest.raises(ValueError, match="level"):
        interval(lambda m: 1.0, draws, level=1.5)
    with pytest.raises(ValueError, match="as many draws"):
        interval(lambda m, n: 1.0, draws, parameter_draws(model, *data, n_draws=6))

"""Pareto/NBD formulas against hand-worked cases, numerical integration and the extremes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize, special, stats
from sklearn.base import clone

from dashboard.domain.clv import (
    GammaGammaModel,
    ModelIdentificationError,
    NotFittedError,
    ParetoNBDModel,
    customer_lifetime_value,
)
from dashboard.domain.clv.models.basic import _distinct_rows
from dashboard.domain.clv.models.pareto_nbd import (
    _COARSE_RULE,
    _FINE_RULE,
    _log_tail_exact,
    _log_tail_integral,
)

UNIT = {"r": 1.0, "alpha": 1.0, "s": 1.0, "beta": 1.0}


def _individual_likelihood_integrated(params, x, t_x, T):
    """The Pareto/NBD likelihood from its assumptions, integrated numerically over lambda, mu.

    Given lambda and mu: lambda^x e^-(lambda+mu) T (alive at T) plus
    lambda^x mu / (lambda + mu) (e^-(lambda+mu) t_x - e^-(lambda+mu) T) (died in (t_x, T]).
    """
    r, alpha, s, beta = (params[k] for k in ("r", "alpha", "s", "beta"))

    def integrand(mu, lam):
        total = lam + mu
        alive = math.exp(-total * T)
        died = mu / total * (math.exp(-total * t_x) - math.exp(-total * T))
        density = stats.gamma.pdf(lam, r, scale=1 / alpha) * stats.gamma.pdf(mu, s, scale=1 / beta)
        return lam**x * (alive + died) * density

    value, _ = integrate.dblquad(integrand, 0, np.inf, 0, np.inf, epsabs=1e-12, epsrel=1e-8)
    return value


# --------------------------------------------------------------------------------------
# Likelihood
# --------------------------------------------------------------------------------------


def test_log_likelihood_by_hand():
    # r = alpha = s = beta = 1 (FHL 2005 note 009: L = C (A + s I)):
    #   x = 1, t_x = 1, T = 2: C = G(2)/G(1) = 1, A = 3^-2 3^-1 = 1/27,
    #   I = int_1^2 (1 + tau)^-4 d tau = (2^-3 - 3^-3) / 3 = 19/648, L = 24/648 + 19/648.
    #   x = 0, T = 2: A = 3^-1 3^-1 = 1/9, I = int_0^2 (1 + tau)^-3 = (1 - 1/9) / 2 = 4/9.
    model = ParetoNBDModel.from_params(UNIT)
    assert model.log_likelihood([1], [1], [2]) == pytest.approx(math.log(43 / 648), rel=1e-12)
    assert model.log_likelihood([0], [0], [2]) == pytest.approx(math.log(5 / 9), rel=1e-12)
    assert model.log_likelihood([1, 0], [1, 0], [2, 2], weights=[2, 3]) == pytest.approx(
        2 * math.log(43 / 648) + 3 * math.log(5 / 9), rel=1e-12
    )
    # Last purchase at the very end: I = 0 and L = C A = 1/27.
    assert model.log_likelihood([1], [2], [2]) == pytest.approx(math.log(1 / 27), rel=1e-12)


@pytest.mark.parametrize(
    "params",
    [
        {"r": 0.7, "alpha": 6.0, "s": 0.9, "beta": 2.0},  # alpha > beta
        {"r": 0.7, "alpha": 2.0, "s": 0.9, "beta": 6.0},  # alpha < beta
        {"r": 1.3, "alpha": 3.0, "s": 1.4, "beta": 3.0},  # alpha == beta
    ],
)
def test_log_likelihood_matches_the_model_integrated_numerically(params):
    model = ParetoNBDModel.from_params(params)
    x, t_x, T = 3, 4.0, 6.0
    numeric = _individual_likelihood_integrated(params, x, t_x, T)
    assert model.log_likelihood([x], [t_x], [T]) == pytest.approx(math.log(numeric), rel=1e-6)


def _tail_by_quad(r, alpha, s, beta, x, u):
    """ln int_u^inf (alpha + tau)^-(r+x) (beta + tau)^-(s+1) d tau, by adaptive quadrature."""
    p, q = r + x, s + 1
    scale = -p * math.log(alpha + u) - q * math.log(beta + u)

    def integrand(v):  # tau = u + e^v - 1, so the tail is spread over v in (0, inf)
        if v > 700:
            return 0.0
        tau = u + math.expm1(v)
        return math.exp(-p * math.log(alpha + tau) - q * math.log(beta + tau) - scale + v)

    value, _ = integrate.quad(integrand, 0, np.inf, epsabs=0, epsrel=1e-12, limit=400)
    return scale + math.log(value)


@pytest.mark.parametrize(
    ("r", "alpha", "s", "beta", "x", "u"),
    [
        (0.55, 1.0, 0.6, 100.0, 50, 0.0),  # alpha < beta, heavy buyer
        (0.55, 1.0, 0.6, 100.0, 300, 1.0),
        (0.1, 0.01, 0.1, 1000.0, 5, 0.0),  # alpha << beta
        (5.0, 1000.0, 5.0, 0.01, 0, 0.0),  # alpha >> beta
        (0.2, 1e-3, 0.3, 1e4, 50, 0.0),
        (0.55, 10.6, 0.61, 11.7, 300, 0.0),
    ],
)
def test_closed_form_tail_agrees_with_adaptive_quadrature(r, alpha, s, beta, x, u):
    exact = _log_tail_exact(r, alpha, s, beta, np.array([float(x)]), np.array([u]))[0]
    assert exact == pytest.approx(_tail_by_quad(r, alpha, s, beta, x, u), abs=1e-9)


def test_fitting_quadrature_agrees_with_the_closed_form():
    # The fit's quadrature against the hypergeometric closed form, over purchase counts up to
    # 300, ages up to 1,000 and alpha / beta from 1/100 to 100 (both branches).
    worst_fine = worst_coarse = 0.0
    u = np.array([0.0, 1 / 7, 1.0, 10.0, 38.86, 78.0, 1000.0])
    for r, alpha, s, beta in [
        (0.55, 10.6, 0.61, 11.7),
        (0.55, 100.0, 0.6, 1.0),
        (0.55, 1.0, 0.6, 100.0),
        (0.3, 2.0, 2.5, 2.0),
        (0.1, 30.0, 3.0, 1.0),
        (3.0, 1.0, 0.1, 30.0),
        (0.5, 10.0, 0.5, 300.0),
    ]:
        for x in [0, 1, 2, 5, 20, 50, 300]:
            xs = np.full(u.shape, float(x))
            exact = _log_tail_exact(r, alpha, s, beta, xs, u)
            fine = _log_tail_integral(r, alpha, s, beta, xs, u, rule=_FINE_RULE)[0]
            coarse = _log_tail_integral(r, alpha, s, beta, xs, u, rule=_COARSE_RULE)[0]
            worst_fine = max(worst_fine, float(np.max(np.abs(fine - exact))))
            worst_coarse = max(worst_coarse, float(np.max(np.abs(coarse - exact))))
    assert worst_fine < 1e-8
    assert worst_coarse < 5e-6


def test_analytic_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    T = rng.uniform(20, 40, 300).round(1)
    x = rng.poisson(2.0, 300).astype(float)
    t_x = np.where(x > 0, (T * rng.uniform(0.2, 1.0, 300)).round(1), 0.0)
    (x, t_x, T), w, _ = _distinct_rows([x, t_x, T], np.ones(300))
    objective, _ = ParetoNBDModel()._objective(x, t_x, T, w)
    for params in ([0.55, 10.6, 0.6, 11.7], [0.3, 3.0, 2.0, 1.0], [2.0, 20.0, 0.2, 40.0]):
        log_params = np.log(params)
        numeric = optimize.approx_fprime(log_params, lambda v: objective(v)[0], 1e-7)
        np.testing.assert_allclose(objective(log_params)[1], numeric, rtol=1e-4, atol=1e-7)


# --------------------------------------------------------------------------------------
# Predictions
# --------------------------------------------------------------------------------------


def test_probability_alive_by_hand():
    # Unit parameters, x = 1, t_x = 1, T = 2: A / (A + s I) = (1/27) / (43/648) = 24/43;
    # x = 0, T = 2: (1/9) / (5/9) = 1/5; bought at the very end: 1.
    model = ParetoNBDModel.from_params(UNIT)
    alive = model.probability_alive([1, 0, 1], [1, 0, 2], [2, 2, 2])
    np.testing.assert_allclose(alive, [24 / 43, 1 / 5, 1.0], rtol=1e-12)


def test_expected_purchases_by_hand():
    # E[X(t) | x, t_x, T] = P(alive) (r + x) / (alpha + T) (beta + T) / (s - 1)
    #                       (1 - ((beta + T) / (beta + T + t))^(s - 1)).
    # s = 1 (the limit): x = 1, T = 2, t = 3: 24/43 * 2/3 * 3 ln 2.
    model = ParetoNBDModel.from_params(UNIT)
    expected = model.expected_purchases(3.0, 1, 1, 2)
    assert expected == pytest.approx(24 / 43 * 2 * math.log(2), rel=1e-12)
    # s = 2, beta = 1, r = alpha = 1, x = 0, T = 0 (a new customer): E[X(t)] =
    # r beta / (alpha (s - 1)) (1 - beta / (beta + t)) = t / (1 + t); at t = 3: 3/4.
    new = ParetoNBDModel.from_params({"r": 1.0, "alpha": 1.0, "s": 2.0, "beta": 1.0})
    assert new.expected_purchases_new(3.0) == pytest.approx(0.75, rel=1e-12)
    assert new.expected_purchases(3.0, 0, 0, 0) == pytest.approx(0.75, rel=1e-12)


def test_expected_purchases_new_is_rate_times_expected_time_alive():
    # E[X(t)] = E[lambda] E[min(lifetime, t)] = r / alpha int_0^t (beta / (beta + u))^s du.
    params = {"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7}
    model = ParetoNBDModel.from_params(params)
    for t in (1.0, 39.0, 520.0):
        alive_time, _ = integrate.quad(lambda u: (11.7 / (11.7 + u)) ** 0.61, 0, t)
        assert model.expected_purchases_new(t) == pytest.approx(0.55 / 10.6 * alive_time, 1e-10)
    assert model.probability_alive_new(39.0) == pytest.approx((11.7 / 50.7) ** 0.61, rel=1e-12)


def test_predictions_broadcast_and_are_monotone():
    model = ParetoNBDModel.from_params({"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7})
    horizons = np.array([0.0, 13.0, 39.0, 104.0])
    expected = model.expected_purchases(horizons, 2, 30.43, 38.86)
    assert expected.shape == (4,) and expected[0] == 0.0
    assert np.all(np.diff(expected) > 0)
    # Longer silence since the last purchase, lower P(alive).
    alive = model.probability_alive(3, [38.0, 30.0, 10.0, 1.0], 38.86)
    assert np.all(np.diff(alive) < 0)


# --------------------------------------------------------------------------------------
# Extremes: heavy buyers, very long ages, alpha close to, below and above beta
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7},  # alpha < beta
        {"r": 0.55, "alpha": 11.7, "s": 0.61, "beta": 10.6},  # alpha > beta
        {"r": 0.55, "alpha": 11.7, "s": 0.61, "beta": 11.7},  # alpha == beta
        {"r": 0.2, "alpha": 1e-3, "s": 0.3, "beta": 1e4},
        {"r": 5.0, "alpha": 1e4, "s": 5.0, "beta": 1e-2},
        {"r": 0.55, "alpha": 10.6, "s": 1.0, "beta": 11.7},  # s = 1, the limit
    ],
)
def test_extreme_histories_stay_finite(params):
    model = ParetoNBDModel.from_params(params)
    x = np.array([300, 300, 300, 0, 1, 150])
    t_x = np.array([1.0, 99.0, 1e5 - 1, 0.0, 1e5 - 1, 5e4])
    T = np.array([100.0, 100.0, 1e5, 1e5, 1e5, 1e5])
    alive = model.probability_alive(x, t_x, T)
    assert np.all(np.isfinite(alive)) and np.all((alive >= 0) & (alive <= 1))
    expected = model.expected_purchases(520.0, x, t_x, T)
    assert np.all(np.isfinite(expected)) and np.all(expected >= 0)
    assert np.isfinite(model.log_likelihood(x, t_x, T))
    # 300 purchases, the last 99 weeks ago out of 100, against the last one a week ago.
    assert alive[0] < 1e-10 and alive[0] < alive[1]


def test_alpha_equal_to_beta_is_continuous():
    x, t_x, T = np.array([0, 2, 300]), np.array([0.0, 20.0, 30.0]), np.array([40.0, 40.0, 40.0])
    values = []
    for beta in (11.7 * (1 - 1e-9), 11.7, 11.7 * (1 + 1e-9)):
        model = ParetoNBDModel.from_params({"r": 0.55, "alpha": 11.7, "s": 0.61, "beta": beta})
        values.append(
            np.concatenate(
                [
                    model.probability_alive(x, t_x, T),
                    model.expected_purchases(39.0, x, t_x, T),
                    [model.log_likelihood(x, t_x, T)],
                ]
            )
        )
    np.testing.assert_allclose(values[0], values[1], rtol=1e-7)
    np.testing.assert_allclose(values[2], values[1], rtol=1e-7)


# --------------------------------------------------------------------------------------
# Fitting and the estimator contract
# --------------------------------------------------------------------------------------


def _simulate(n, params, seed):
    rng = np.random.default_rng(seed)
    rate = rng.gamma(params["r"], 1 / params["alpha"], n)
    lifetime = rng.exponential(1 / rng.gamma(params["s"], 1 / params["beta"], n))
    T = rng.integers(200, 280, n) / 7
    alive_for = np.minimum(lifetime, T)
    x = rng.poisson(rate * alive_for)
    t_x = np.zeros(n)
    t_x[x > 0] = alive_for[x > 0] * rng.beta(x[x > 0], 1.0)
    return x.astype(float), np.minimum(np.floor(t_x * 7) / 7, T), T


def test_fit_recovers_simulated_parameters_and_weights_are_counts():
    truth = {"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7}
    x, t_x, T = _simulate(20_000, truth, seed=11)
    model = ParetoNBDModel().fit(x, t_x, T)
    for name, value in truth.items():
        assert model.params_[name] == pytest.approx(value, rel=0.35), name
        # Within 3 standard errors of the truth.
        assert abs(model.params_[name] - value) < 3 * model.standard_errors_[name], name
    assert model.n_customers_ == 20_000
    (xd, txd, Td), w, _ = _distinct_rows([x, t_x, T], np.ones(x.shape[0]))
    weighted = ParetoNBDModel().fit(xd, txd, Td, weights=w)
    for name, value in model.params_.items():
        assert weighted.params_[name] == pytest.approx(value, rel=1e-6)
    assert weighted.log_likelihood_ == pytest.approx(model.log_likelihood_, abs=1e-6)


def test_estimator_contract_and_errors():
    model = ParetoNBDModel(penalizer=0.1)
    assert clone(model).get_params() == {"penalizer": 0.1, "tol": 1e-8, "max_iter": 1000}
    with pytest.raises(NotFittedError):
        model.probability_alive(1, 1, 2)
    with pytest.raises(ValueError, match="lacks"):
        ParetoNBDModel.from_params({"r": 1.0})
    with pytest.raises(ValueError, match="positive"):
        ParetoNBDModel.from_params({**UNIT, "s": 0.0})
    with pytest.raises(ModelIdentificationError, match="repeat purchase"):
        ParetoNBDModel().fit([0, 0, 0], [0, 0, 0], [5, 6, 7])
    with pytest.raises(ModelIdentificationError, match="recency > T"):
        ParetoNBDModel().fit([1, 2], [5, 1], [4, 6])
    with pytest.raises(ValueError, match="t must be"):
        ParetoNBDModel.from_params(UNIT).expected_purchases(-1.0, 1, 1, 2)


def test_lifetime_value_accepts_the_pareto_model():
    # customer_lifetime_value only needs the purchase model's P(alive) and E[X(t) | alive]:
    # with Pareto/NBD it is the discounted sum of the monthly increments of E[X(t)].
    purchases = ParetoNBDModel.from_params({"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7})
    spend = GammaGammaModel.from_params({"p": 6.25, "q": 3.74, "v": 15.44})
    x, t_x, T, z = np.array([0, 2, 7]), np.array([0, 30.43, 35.0]), np.full(3, 38.86), [0, 30, 40]
    clv = customer_lifetime_value(purchases, spend, x, t_x, T, z, horizon_months=12, margin=0.3)
    week = 365.25 / 12 / 7
    cumulative = np.array([purchases.expected_purchases(m * week, x, t_x, T) for m in range(13)])
    discount = (1.1 ** (1 / 12)) ** -np.arange(1, 13)
    by_hand = (np.diff(cumulative, axis=0) * discount[:, None]).sum(axis=0)
    by_hand *= spend.expected_spend(x, z) * 0.3
    np.testing.assert_allclose(clv, by_hand, rtol=1e-12)


def test_closed_form_falls_back_to_quadrature_where_hyp2f1_fails():
    # scipy's hyp2f1(1, b; c; z) returns nan for some heavy buyers with z very close to 1
    # (alpha >> beta + t_x); those pairs are taken from the fine quadrature instead.
    assert np.isnan(special.hyp2f1(1.0, 300.5, 302.2, 0.999999))
    params = {"r": 0.5, "alpha": 1e6, "s": 1.2, "beta": 1.0}
    model = ParetoNBDModel.from_params(params)
    ll = model.log_likelihood([300], [0.0], [1.0])
    assert np.isfinite(ll)
    assert np.all(np.isfinite(model.probability_alive([300, 300], [0.0, 0.5], [1.0, 1.0])))

"""BG/NBD formulas against hand-worked cases, and the data checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from dashboard.domain.clv import BetaGeoModel, ModelConvergenceError, ModelIdentificationError

UNIT = {"r": 1.0, "alpha": 1.0, "a": 1.0, "b": 1.0}
# a = 2 keeps (a - 1) away from 0 and makes the hypergeometric terms elementary.
EASY = {"r": 1.0, "alpha": 1.0, "a": 2.0, "b": 1.0}


# --------------------------------------------------------------------------------------
# BG/NBD: likelihood
# --------------------------------------------------------------------------------------


def test_log_likelihood_by_hand():
    # r = alpha = a = b = 1, customer x = 1, t_x = 1, T = 2 (FHL 2005a eq. 6):
    #   A1 = G(r + x) alpha^r / G(r)              = G(2) / G(1)          = 1
    #   A2 = G(a + b) G(b + x) / (G(b) G(a+b+x))  = G(2) G(2) / G(3)     = 1/2
    #   A3 = (1 / (alpha + T))^(r + x)            = (1/3)^2              = 1/9
    #   A4 = a / (b + x - 1) (1 / (alpha + t_x))^(r + x) = 1/1 (1/2)^2   = 1/4
    #   L  = 1 * 1/2 * (1/9 + 1/4) = 13/72
    # and x = 0, T = 2: L = A1 A2 A3 = 1 * 1 * (1/3)^1 = 1/3.
    model = BetaGeoModel.from_params(UNIT)
    assert model.log_likelihood([1], [1], [2]) == pytest.approx(math.log(13 / 72), rel=1e-12)
    assert model.log_likelihood([0], [0], [2]) == pytest.approx(math.log(1 / 3), rel=1e-12)
    assert model.log_likelihood([1, 0], [1, 0], [2, 2], weights=[2, 3]) == pytest.approx(
        2 * math.log(13 / 72) + 3 * math.log(1 / 3), rel=1e-12
    )


def test_log_likelihood_matches_the_model_integrated_numerically():
    # The paper's closed form against the individual-level likelihood
    #   (1-p)^x lambda^x e^(-lambda T) + p (1-p)^(x-1) lambda^x e^(-lambda t_x)
    # averaged over p ~ Beta(a, b) (Beta functions) and then integrated numerically over
    # lambda ~ Gamma(r, alpha).
    params = {"r": 0.7, "alpha": 2.0, "a": 0.8, "b": 2.5}
    r, alpha, a, b = params.values()
    x, t_x, T = 3, 4.0, 6.0
    still_alive = special.beta(a, b + x) / special.beta(a, b)  # E[(1-p)^x]
    dropped_out = special.beta(a + 1, b + x - 1) / special.beta(a, b)  # E[p (1-p)^(x-1)]

    def individual(lam: float) -> float:
        timing = still_alive * math.exp(-lam * T) + dropped_out * math.exp(-lam * t_x)
        return lam**x * timing * stats.gamma.pdf(lam, r, scale=1 / alpha)

    numeric, _ = integrate.quad(individual, 0, np.inf, epsabs=1e-14, epsrel=1e-11)
    model = BetaGeoModel.from_params(params)
    assert model.log_likelihood([x], [t_x], [T]) == pytest.approx(math.log(numeric), rel=1e-9)


# --------------------------------------------------------------------------------------
# BG/NBD: predictions
# --------------------------------------------------------------------------------------


def test_probability_alive_by_hand():
    # P(alive) = 1 / (1 + a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)); with all parameters 1,
    # x = 1, t_x = 1, T = 2: 1 / (1 + 1 * (3/2)^2) = 1 / 3.25 = 4/13.
    # A customer without repeat purchases has not had a chance to drop out: P(alive) = 1.
    model = BetaGeoModel.from_params(UNIT)
    alive = model.probability_alive([1, 0, 0], [1, 0, 0], [2, 2, 50])
    np.testing.assert_allclose(alive, [4 / 13, 1, 1], rtol=1e-12)


def test_probability_alive_is_stable_for_extreme_histories():
    # (alpha + T)/(alpha + t_x) to the power r + x = 500 overflows a naive float formula.
    model = BetaGeoModel.from_params({"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.4})
    alive = model.probability_alive([500, 500], [1.0, 100.0], [100.0, 100.0])
    assert alive[0] == 0.0 or alive[0] < 1e-300
    assert alive[1] == pytest.approx(1 / (1 + 0.8 / 501.4), rel=1e-12)


def test_expected_purchases_of_a_new_customer_by_hand():
    # r = 1, alpha = 1, a = 2, b = 1: given (lambda, p), E[X(t)] = (1 - e^(-lambda p t)) / p;
    # lambda ~ Exp(1) gives E[e^(-lambda p t)] = 1/(1 + p t), so E[X(t) | p] = t / (1 + p t),
    # and with p ~ Beta(2, 1) (density 2p): E[X(1)] = int_0^1 2p / (1 + p) dp = 2 (1 - ln 2).
    # Closed form (FHL eq. 7): (a+b-1)/(a-1) [1 - (1/2) 2F1(1, 1; 2; 1/2)], 2F1 = 2 ln 2.
    model = BetaGeoModel.from_params(EASY)
    assert float(model.expected_purchases_new(1.0)) == pytest.approx(2 * (1 - math.log(2)))
    # E[X(t)] = 2 (1 - ln(1 + t) / t) for any t; E[X(0)] = 0.
    t = np.array([0.0, 0.5, 2.0, 10.0])
    expected = np.where(t > 0, 2 * (1 - np.log1p(t) / np.where(t > 0, t, 1)), 0.0)
    np.testing.assert_allclose(model.expected_purchases_new(t), expected, rtol=1e-12)


def test_conditional_expected_purchases_by_hand():
    # r = 1, alpha = 1, a = 2, b = 1; customer x = 1, t_x = 1, T = 2; next t = 1.
    # P(alive) = 1 / (1 + 2/1 (3/2)^2) = 1 / 5.5 = 2/11.
    # If alive: lambda ~ Gamma(2, 3), p ~ Beta(2, 2), so
    #   E[X(1) | alive] = int_0^1 6p(1-p) (1/p) (1 - (3 / (3 + p))^2) dp
    #                   = 3 - 54 int_3^4 (4 - u) / u^2 du = 3 - 54 (1/3 - ln 4/3)
    #                   = 54 ln(4/3) - 15 = 0.5348319...
    # E[X(1) | x, t_x, T] = 2/11 * 0.5348319 = 0.0972422...
    model = BetaGeoModel.from_params(EASY)
    expected = 2 / 11 * (54 * math.log(4 / 3) - 15)
    assert float(model.expected_purchases(1.0, 1, 1, 2)) == pytest.approx(expected, rel=1e-12)
    # Zero horizon, zero purchases; arrays broadcast.
    result = model.expected_purchases([0.0, 1.0], [1, 1], [1, 1], [2, 2])
    np.testing.assert_allclose(result, [0.0, expected], rtol=1e-12, atol=1e-15)


def test_expected_purchases_agree_with_numerical_integration_for_a_below_1():
    # CDNOW has a < 1, where the closed form's (a - 1) turns negative.
    params = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    x, t_x, T, t = 4, 30.0, 38.0, 52.0
    model = BetaGeoModel.from_params(params)
    r, alpha, a, b = params.values()

    def alive_part(p: float) -> float:
        growth = 1 - ((alpha + T) / (alpha + T + p * t)) ** (r + x)
        return stats.beta.pdf(p, a, b + x) * growth / p

    alive_expectation, _ = integrate.quad(alive_part, 0, 1, epsabs=1e-13, epsrel=1e-11)
    alive = float(model.probability_alive(x, t_x, T))
    assert float(model.expected_purchases(t, x, t_x, T)) == pytest.approx(
        alive * alive_expectation, rel=1e-8
    )


@pytest.mark.parametrize(
    "params",
    [
        {"r": 0.2423, "alpha": 4.3732, "a": 0.8006, "b": 2.4438},  # a < 1, weeks
        {"r": 0.2423, "alpha": 30.6, "a": 0.8006, "b": 2.4438},  # the same in days
        {"r": 2.0, "alpha": 10.0, "a": 3.0, "b": 5.0},  # r - a whole: scipy's inf case
    ],
)
def test_expected_purchases_stay_finite_for_heavy_buyers(params):
    # The paper's closed form (as in lifetimes) gives inf/nan from x ~ 100-200 up with a
    # short T and a long horizon; the transformed form must not, and must still agree with
    # E[(1/p)(1 - (1 + p t / (alpha + T))^-(r + x))] over p ~ Beta(a, b + x).
    model = BetaGeoModel.from_params(params)
    r, alpha, a, b = params.values()
    for x, T, t in [(115, 70.4, 156.4), (500, 10.0, 160.0), (2000, 600.0, 1100.0)]:

        def alive_part(p: float, x=x, T=T, t=t) -> float:
            growth = -np.expm1(-(r + x) * np.log1p(p * t / (alpha + T)))
            return stats.beta.pdf(p, a, b + x) * growth / p

        reference, _ = integrate.quad(alive_part, 0, 1, epsabs=0, epsrel=1e-11, limit=200)
        alive = float(model.probability_alive(x, T, T))
        value = float(model.expected_purchases(t, x, T, T))
        assert np.isfinite(value)
        assert value == pytest.approx(alive * reference, rel=1e-7)


def test_expected_purchases_are_continuous_at_a_equal_1():
    # The closed form has (a - 1) in a denominator; the limit a -> 1 is finite.
    near = [
        BetaGeoModel.from_params({"r": 0.5, "alpha": 3.0, "a": a, "b": 2.0})
        for a in (1 - 1e-3, 1.0, 1 + 1e-3)
    ]
    values = [float(m.expected_purchases(10.0, 2, 5.0, 8.0)) for m in near]
    assert np.isfinite(values).all()
    assert values[1] == pytest.approx((values[0] + values[2]) / 2, rel=1e-4)
    new = [float(m.expected_purchases_new(10.0)) for m in near]
    assert new[1] == pytest.approx((new[0] + new[2]) / 2, rel=1e-4)


def test_predictions_keep_the_input_shape():
    model = BetaGeoModel.from_params(EASY)
    x = np.array([[0, 1], [2, 3]])
    t_x = np.array([[0.0, 1.0], [2.0, 3.0]])
    T = np.full((2, 2), 4.0)
    assert model.probability_alive(x, t_x, T).shape == (2, 2)
    assert model.expected_purchases(5.0, x, t_x, T).shape == (2, 2)
    assert model.expected_purchases_new([1.0, 2.0, 3.0]).shape == (3,)


def test_fit_recovers_simulated_parameters():
    # 20,000 simulated customers (see bench/bench_clv.py for the process).
    rng = np.random.default_rng(7)
    n = 20_000
    r, alpha, a, b = 0.5, 5.0, 1.5, 4.0
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    T = rng.uniform(20, 60, n)
    n_alive = rng.poisson(lam * T)
    x = np.minimum(n_alive, rng.geometric(p))
    share = np.zeros(n)
    share[x > 0] = rng.beta(x[x > 0], n_alive[x > 0] - x[x > 0] + 1)
    model = BetaGeoModel().fit(x, share * T, T)
    fitted = model.params_
    assert fitted["r"] == pytest.approx(r, rel=0.1)
    assert fitted["alpha"] == pytest.approx(alpha, rel=0.15)
    assert fitted["a"] == pytest.approx(a, rel=0.3)
    assert fitted["b"] == pytest.approx(b, rel=0.35)
    # The maximum beats the true parameters on the data it was fitted to.
    truth = BetaGeoModel.from_params({"r": r, "alpha": alpha, "a": a, "b": b})
    assert model.log_likelihood_ >= truth.log_likelihood(x, share * T, T)


# --------------------------------------------------------------------------------------
# BG/NBD: data that cannot identify the model
# --------------------------------------------------------------------------------------

GOOD = ([0, 1, 2, 0, 3], [0.0, 2.0, 5.0, 0.0, 6.0], [10.0, 8.0, 9.0, 7.0, 10.0])


@pytest.mark.parametrize(
    ("frequency", "recency", "T", "message"),
    [
        ([2], [3.0], [5.0], "many customers"),
        ([0, 0, 0], [0.0, 0.0, 0.0], [5.0, 6.0, 7.0], "no customer made a repeat purchase"),
        ([1, 1, 1], [2.0, 2.0, 2.0], [5.0, 5.0, 5.0], "same \\(frequency, recency, T\\)"),
        ([1, -1, 2], [2.0, 0.0, 3.0], [5.0, 5.0, 5.0], "negative"),
        ([1, np.nan, 2], [2.0, 0.0, 3.0], [5.0, 5.0, 5.0], "missing"),
        ([1, 0, 2], [2.0, 0.0, 6.0], [5.0, 5.0, 5.0], "recency > T"),
        ([1.5, 0, 2], [2.0, 0.0, 3.0], [5.0, 5.0, 5.0], "whole numbers"),
        ([1, 0, 2], [2.0, 1.0, 3.0], [5.0, 5.0, 5.0], "frequency 0 but recency > 0"),
        ([1, 0, 2], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], "every T is 0"),
    ],
)
def test_fit_refuses_data_that_cannot_identify_the_model(frequency, recency, T, message):
    with pytest.raises(ModelIdentificationError, match=message):
        BetaGeoModel().fit(frequency, recency, T)


def test_fit_refuses_degenerate_limits_and_a_penalizer_rescues_it():
    # Every repeat buyer still buying at a steady rate to the end: nothing suggests dropout,
    # so the fit drives a (dropout) to 0.
    frequency = [1, 2, 3, 4, 0, 0]
    recency = [10.0, 20.0, 30.0, 40.0, 0.0, 0.0]
    T = [10.0, 20.0, 30.0, 40.0, 5.0, 10.0]
    with pytest.raises(ModelIdentificationError, match="ran off to 0 or infinity"):
        BetaGeoModel().fit(frequency, recency, T)
    model = BetaGeoModel(penalizer=0.01).fit(frequency, recency, T)
    assert all(0 < v < 1e6 for v in model.params_.values())


def test_fit_reports_non_convergence():
    with pytest.raises(ModelConvergenceError, match="did not converge"):
        BetaGeoModel(max_iter=1).fit(*GOOD)


def test_weights_must_be_counts():
    with pytest.raises(ModelIdentificationError, match="negative"):
        BetaGeoModel().fit(*GOOD, weights=[1, 1, -1, 1, 1])
    with pytest.raises(ModelIdentificationError, match="shape"):
        BetaGeoModel().fit(*GOOD, weights=[1, 1])


def test_zero_weights_drop_rows():
    frequency, recency, T = GOOD
    weighted = BetaGeoModel(penalizer=0.01).fit(
        frequency + [7], recency + [3.0], T + [4.0], weights=[1, 1, 1, 1, 1, 0]
    )
    plain = BetaGeoModel(penalizer=0.01).fit(frequency, recency, T)
    assert weighted.params_ == pytest.approx(plain.params_, rel=1e-6)


def test_predictions_validate_histories():
    model = BetaGeoModel.from_params(EASY)
    with pytest.raises(ModelIdentificationError, match="recency > T"):
        model.probability_alive([1], [5.0], [2.0])
    with pytest.raises(ValueError, match="t must be"):
        model.expected_purchases(-1.0, [1], [1.0], [2.0])


def test_settings_follow_scikit_learn():
    model = BetaGeoModel(penalizer=0.1, tol=1e-6)
    assert model.get_params() == {"penalizer": 0.1, "tol": 1e-6, "max_iter": 1000}
    assert model.fit(*GOOD) is model
    assert set(model.params_) == {"r", "alpha", "a", "b"}

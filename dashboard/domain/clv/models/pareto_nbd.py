"""Pareto/NBD model of repeat purchasing, fitted by maximum likelihood on numpy/scipy.

References
----------
- Schmittlein, D. C., Morrison, D. G. and Colombo, R. (1987). Counting Your Customers: Who
  Are They and What Will They Do Next? Management Science 33(1), 1-24.
- Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). A Note on Implementing the
  Pareto/NBD Model in MATLAB. http://brucehardie.com/notes/008/ (the likelihood, P(alive),
  the conditional expectation and the CDNOW estimates).
- Fader, P. S. and Hardie, B. G. S. (2005). A Note on Deriving the Pareto/NBD Model and
  Related Expressions. http://brucehardie.com/notes/009/ (the integral form used here).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import digamma, expit, gammaln, hyp2f1
from sklearn.base import BaseEstimator

from dashboard.domain.clv.models.basic import (
    _AT_BOUND,
    FloatArray,
    ModelIdentificationError,
    NotFittedError,
    _as_float_array,
    _check_history,
    _check_weights,
    _codes,
    _distinct_rows,
    _exact_sum,
    _minimize,
    _polish,
    _wsum,
)

__all__ = ["ParetoNBDModel"]

_NAMES = ("r", "alpha", "s", "beta")


def _double_exponential_rule(step: float, half_width: float) -> tuple[FloatArray, FloatArray]:
    """Tanh-sinh nodes on (0, 1) as ln(y), and ln(weight).

    Double-exponential quadrature converges to rounding for integrands analytic inside the
    interval, whatever their integrable singularities or boundary layers at the ends, which
    is where the Pareto/NBD integrand has them.
    """
    j = np.arange(-half_width, half_width + step / 2, step)
    g = 0.5 * np.pi * np.sinh(j)
    # d y / d j = (pi / 4) cosh(j) sech(g) ** 2, in logs for the far nodes.
    ln_sech2 = -2 * (np.abs(g) + np.log1p(np.exp(-2 * np.abs(g))) - np.log(2))
    ln_weight = np.log(step * np.pi / 4) + np.log(np.cosh(j)) + ln_sech2
    # Nodes next to y = 0, where the integrand is at its smallest, with weights below
    # 1e-13 of the whole add nothing.
    keep = (j > 0) | (ln_weight > -30.0)
    return np.log(expit(2 * g))[keep], ln_weight[keep]


# The fit runs on the coarse rule (ln F within ~1e-6 at worst for alpha / beta within
# 1e-2..1e2) and is checked against the closed form at its optimum; where they differ by more
# than _RULE_TOLERANCE it is refined on the fine rule (~1e-9 there). Errors of 1e-6 in ln F
# move the optimum by about as much, relatively: far below the standard errors.
_COARSE_RULE = _double_exponential_rule(1 / 6, 3.0)
_FINE_RULE = _double_exponential_rule(1 / 10, 3.2)
_RULE_TOLERANCE = 1e-6


class ParetoNBDModel(BaseEstimator):
    """Pareto/NBD model of repeat purchasing (Schmittlein, Morrison & Colombo 1987).

    While alive, a customer buys at Poisson rate ``lambda`` per time unit and has an
    exponentially distributed lifetime with rate ``mu`` (dropout can happen at any time,
    unlike BG/NBD where it follows a purchase). Across customers
    ``lambda ~ Gamma(shape r, rate alpha)`` and ``mu ~ Gamma(shape s, rate beta)``,
    independently.

    Parameters
    ----------
    penalizer : float, default 0
        L2 penalty on the log-parameters, as in :class:`BetaGeoModel`.
    tol : float, default 1e-8
        Gradient tolerance on the mean log-likelihood per customer.
    max_iter : int, default 1000
        Maximum L-BFGS-B iterations per start.

    Attributes
    ----------
    params_ : dict
        ``{"r", "alpha", "s", "beta"}``; ``alpha`` and ``beta`` are in the time unit of the
        data (r / alpha is the mean purchase rate, s / beta the mean dropout rate per unit).
    log_likelihood_ : float
        Total log-likelihood of the fitting data (FHL 2005 note eq. 3 summed with weights),
        evaluated with the hypergeometric closed form.
    standard_errors_ : dict
        Asymptotic standard errors of ``params_`` (delta method from the log-parameters).
    n_customers_ : float
    n_distinct_rows_ : int
    n_iter_ : int
    """

    def __init__(self, penalizer: float = 0.0, tol: float = 1e-8, max_iter: int = 1000) -> None:
        self.penalizer = penalizer
        self.tol = tol
        self.max_iter = max_iter

    @classmethod
    def from_params(cls, params: Mapping[str, float], **settings: Any) -> ParetoNBDModel:
        """A model with given parameters ``{"r", "alpha", "s", "beta"}`` (e.g. a stored fit)."""
        model = cls(**settings)
        missing = set(_NAMES) - set(params)
        if missing:
            raise ValueError(f"params lacks {sorted(missing)}")
        values = {name: float(params[name]) for name in _NAMES}
        if not all(np.isfinite(v) and v > 0 for v in values.values()):
            raise ValueError(f"Pareto/NBD parameters must be positive and finite, got {values}")
        model.params_ = values
        model.log_likelihood_ = float("nan")
        model.standard_errors_ = dict.fromkeys(values, float("nan"))
        return model

    def _params(self) -> tuple[float, float, float, float]:
        params = getattr(self, "params_", None)
        if params is None:
            raise NotFittedError(
                "this ParetoNBDModel has no parameters: call fit() or ParetoNBDModel.from_params()"
            )
        return params["r"], params["alpha"], params["s"], params["beta"]

    # ---- fitting ----------------------------------------------------------------------

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> ParetoNBDModel:
        """Fit by maximum likelihood.

        Parameters
        ----------
        frequency, recency, T : array_like
            Repeat purchases, time from first to last purchase, time from first purchase to
            the end of observation (one time unit for both), as for :class:`BetaGeoModel`.
        weights : array_like of float, optional
            Number of customers each row stands for.

        Returns
        -------
        self
        """
        x = _as_float_array(frequency, "frequency").ravel()
        t_x = _as_float_array(recency, "recency").ravel()
        big_t = _as_float_array(T, "T").ravel()
        _check_history(x, t_x, big_t)
        w = _check_weights(weights, x.shape[0])
        keep = w > 0
        if not keep.all():
            x, t_x, big_t, w = x[keep], t_x[keep], big_t[keep], w[keep]
        _check_identifiable(x, t_x, big_t, w)
        (x, t_x, big_t), w, _ = _distinct_rows([x, t_x, big_t], w)

        objective, start = self._objective(x, t_x, big_t, w, _COARSE_RULE)
        starts = [start, start + np.log([0.5, 1.0, 2.0, 4.0]), np.zeros(4)]
        result = _minimize(objective, starts, self.tol, self.max_iter, _NAMES)
        n_iter = result.nit
        if not _rule_is_exact(np.exp(result.x), x, t_x, big_t):
            # Extreme parameters: refine on the fine rule from the coarse optimum.
            objective, _ = self._objective(x, t_x, big_t, w, _FINE_RULE)
            result = _minimize(objective, [result.x], self.tol, self.max_iter, _NAMES)
            n_iter += result.nit
        log_params, self.standard_errors_ = _polish(objective, result.x, w.sum(), _NAMES)
        self.params_ = dict(zip(_NAMES, (float(v) for v in np.exp(log_params)), strict=True))
        self.log_likelihood_ = _exact_sum(w * self._log_likelihood_rows(x, t_x, big_t))
        self.n_customers_ = float(w.sum())
        self.n_distinct_rows_ = int(x.shape[0])
        self.n_iter_ = int(n_iter)
        return self

    def _objective(
        self,
        x: FloatArray,
        t_x: FloatArray,
        T: FloatArray,
        w: FloatArray,
        rule: tuple[FloatArray, FloatArray] = _FINE_RULE,
    ) -> tuple[Callable[[FloatArray], tuple[float, FloatArray]], FloatArray]:
        """Mean negative log-likelihood and its gradient in the log-parameters.

        Per customer ``L = C (A + s I)`` with ``C = G(r + x) alpha^r beta^s / G(r)``,
        ``A = (alpha + T)^-(r + x) (beta + T)^-s`` and
        ``I = int_{t_x}^T (alpha + tau)^-(r + x) (beta + tau)^-(s + 1) d tau`` (Fader & Hardie
        2005, note 009). ``I = F(t_x) - F(T)`` with ``F(u)`` the integral from u to infinity,
        computed once per distinct (x, u) by double-exponential quadrature in log space; its
        gradient is the quadrature of the integrand's gradient on the same nodes.
        """
        total = w.sum()
        penalizer = float(self.penalizer)
        n = x.shape[0]
        # F is needed at (x, t_x) and (x, T): one set of distinct pairs for both.
        (pair_x, pair_u), _, pair_of = _distinct_rows(
            [np.concatenate([x, x]), np.concatenate([t_x, T])], np.ones(2 * n)
        )
        n_pairs = pair_x.shape[0]
        ix, x_values = _codes(x)
        wx = np.bincount(ix, weights=w, minlength=x_values.shape[0])
        pair_ix = np.searchsorted(x_values[np.argsort(x_values)], pair_x)
        pair_ix = np.argsort(x_values)[pair_ix]  # each pair's index into x_values
        # Terms in T only are summed per distinct T (a few hundred values at most).
        it, t_values = _codes(T)
        w_by_t = np.bincount(it, weights=w, minlength=t_values.shape[0])
        wx_by_t = np.bincount(it, weights=w * x, minlength=t_values.shape[0])
        # Rows with t_x < T have the integral term; where t_x == T (last purchase at the very
        # end) I = 0 and L = C A.
        open_ = t_x < T
        w_o, x_o, it_o = w[open_], x[open_], it[open_]
        pair_tx, pair_t = pair_of[:n][open_], pair_of[n:][open_]

        def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
            r, alpha, s, beta = np.exp(log_params)
            ln_f, grad_f = _log_tail_integral(
                r,
                alpha,
                s,
                beta,
                pair_x,
                pair_u,
                gradient=True,
                x_codes=(pair_ix, x_values),
                rule=rule,
            )
            ln_alpha_t = np.log(alpha + t_values)
            ln_beta_t = np.log(beta + t_values)
            # ln L = ln C + ln A + softplus(ln(s I) - ln A), summed with weights.
            ln_c = _wsum(wx, gammaln(r + x_values) - gammaln(r)) + total * (
                r * np.log(alpha) + s * np.log(beta)
            )
            sum_ln_a = -_wsum(r * w_by_t + wx_by_t, ln_alpha_t) - s * _wsum(w_by_t, ln_beta_t)
            ln_f_tx = ln_f[pair_tx]
            # rho = F(T) / F(t_x) < 1, I = F(t_x) (1 - rho).
            ln_rho = np.minimum(ln_f[pair_t] - ln_f_tx, -1e-300)
            one_minus_rho = -np.expm1(ln_rho)
            ln_a = -(r + x_o) * ln_alpha_t[it_o] - s * ln_beta_t[it_o]
            gap = np.log(s) + ln_f_tx + np.log(one_minus_rho) - ln_a
            e = np.exp(-np.abs(gap))
            softplus = np.maximum(gap, 0.0) + np.log1p(e)
            share = np.maximum(e, gap > 0) / (1.0 + e)  # s I / (A + s I)
            ll = ln_c + sum_ln_a + _wsum(w_o, softplus)

            # d ln L = d ln C + d ln A + share (d ln(s I) - d ln A).
            ws = w_o * share
            ws_by_t = np.bincount(it_o, weights=ws, minlength=t_values.shape[0])
            wsx_by_t = np.bincount(it_o, weights=ws * x_o, minlength=t_values.shape[0])
            inv_alpha_t = 1.0 / (alpha + t_values)
            inv_beta_t = 1.0 / (beta + t_values)
            keep_by_t = w_by_t - ws_by_t
            keepx_by_t = wx_by_t - wsx_by_t
            # d ln I = (d ln F(t_x) - rho d ln F(T)) / (1 - rho): collect the row weights
            # on the pairs, then one product with the pairs' gradients.
            lever = ws / one_minus_rho
            on_pairs = np.bincount(pair_tx, weights=lever, minlength=n_pairs) - np.bincount(
                pair_t, weights=lever * (1.0 - one_minus_rho), minlength=n_pairs
            )
            d_ln_i = on_pairs @ grad_f
            ws_total = ws.sum()
            g_r = (
                _wsum(wx, digamma(r + x_values) - digamma(r))
                + total * np.log(alpha)
                - _wsum(keep_by_t, ln_alpha_t)
                + d_ln_i[0]
            )
            g_alpha = total * r / alpha - _wsum(r * keep_by_t + keepx_by_t, inv_alpha_t) + d_ln_i[1]
            g_s = total * np.log(beta) - _wsum(keep_by_t, ln_beta_t) + ws_total / s + d_ln_i[2]
            g_beta = total * s / beta - s * _wsum(keep_by_t, inv_beta_t) + d_ln_i[3]
            theta = np.array([r, alpha, s, beta])
            grad = np.array([g_r, g_alpha, g_s, g_beta]) * theta
            value = -ll / total + penalizer * _wsum(log_params, log_params)
            gradient = -grad / total + 2.0 * penalizer * log_params
            if not (np.isfinite(value) and np.isfinite(gradient).all()):
                return np.inf, np.zeros(4)
            return float(value), gradient

        # Start: r = s = 1, alpha matching the observed purchase rate, beta the mean age
        # (a mean lifetime as long as the customers have been observed).
        rate = max(_wsum(w, x), 1.0) / max(_wsum(w, T), 1e-12)
        mean_age = max(_wsum(w, T) / total, 1e-6)
        start = np.log(np.array([1.0, 1.0 / rate, 1.0, mean_age]))
        return objective, np.clip(start, -_AT_BOUND + 1, _AT_BOUND - 1)

    def _log_likelihood_rows(self, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
        r, alpha, s, beta = self._params()
        ln_c = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        ln_a = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        ln_si = np.log(s) + _log_integral(r, alpha, s, beta, x, t_x, T)
        return ln_c + np.logaddexp(ln_a, ln_si)

    def log_likelihood(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> float:
        """Total log-likelihood of the data at the model's parameters (closed form)."""
        x = _as_float_array(frequency, "frequency").ravel()
        t_x = _as_float_array(recency, "recency").ravel()
        big_t = _as_float_array(T, "T").ravel()
        _check_history(x, t_x, big_t)
        w = _check_weights(weights, x.shape[0])
        return _exact_sum(w * self._log_likelihood_rows(x, t_x, big_t))

    # ---- predictions ------------------------------------------------------------------

    def _history(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        x, t_x, big_t = np.broadcast_arrays(
            _as_float_array(frequency, "frequency"),
            _as_float_array(recency, "recency"),
            _as_float_array(T, "T"),
        )
        _check_history(x, t_x, big_t)
        return x, t_x, big_t

    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """Probability that each customer is still alive at the end of observation.

        ``P(alive | x, t_x, T) = A / (A + s I)`` in the notation of ``_objective``, i.e.
        FHL 2005 (note 008) eq. 4, ``1 / (1 + s / (r + s + x) (alpha + T)^(r + x)
        (beta + T)^s A0)``, computed as a logistic of log terms so it never overflows.

        Returns
        -------
        ndarray of float in (0, 1]
        """
        x, t_x, big_t = self._history(frequency, recency, T)
        r, alpha, s, beta = self._params()
        shape = x.shape
        x, t_x, big_t = x.ravel(), t_x.ravel(), big_t.ravel()
        ln_a = -(r + x) * np.log(alpha + big_t) - s * np.log(beta + big_t)
        ln_si = np.log(s) + _log_integral(r, alpha, s, beta, x, t_x, big_t)
        return expit(ln_a - ln_si).reshape(shape)

    def _alive_expectation(self, t: FloatArray, x: FloatArray, T: FloatArray) -> FloatArray:
        """E[X(t) | alive at T, x]: expected purchases in (T, T + t] of an alive customer.

        ``(r + x) / (alpha + T) * (beta + T) / (s - 1) * (1 - ((beta + T) /
        (beta + T + t)) ** (s - 1))`` (FHL 2005 note 008 eq. 5 without P(alive)): the mean
        rate given x purchases in T times the expected remaining lifetime within t. Computed
        with expm1/log1p; at s = 1 it is the limit ``(beta + T) ln(1 + t / (beta + T))``.
        """
        r, alpha, s, beta = self._params()
        horizon = t / (beta + T)
        log_growth = np.log1p(horizon)
        lifetime = (beta + T) * _expm1_ratio(-(s - 1.0), log_growth)
        return np.maximum((r + x) / (alpha + T) * lifetime, 0.0)

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """Expected repeat purchases in the next ``t`` time units, given each history.

        ``E[X(t) | x, t_x, T] = P(alive) * E[X(t) | alive, x, T]`` (FHL 2005 note 008 eq. 5).

        Parameters
        ----------
        t : float or array_like
            Horizon after the end of observation, in the model's time unit (>= 0).
        frequency, recency, T : array_like
            History in the model's time unit; broadcast with ``t``.
        """
        x, t_x, big_t = self._history(frequency, recency, T)
        horizon = _horizon(t)
        alive = self.probability_alive(x, t_x, big_t)
        return alive * self._alive_expectation(horizon, x, big_t)

    def expected_purchases_new(self, t: ArrayLike) -> FloatArray:
        """Expected repeat purchases of a new customer in the ``t`` time units after the first.

        ``E[X(t)] = r beta / (alpha (s - 1)) (1 - (beta / (beta + t)) ** (s - 1))``
        (Schmittlein et al. 1987; FHL 2005 note 008 eq. 2).
        """
        horizon = _horizon(t)
        zero = np.zeros(())
        return self._alive_expectation(horizon, zero, zero)

    def probability_alive_new(self, t: ArrayLike) -> FloatArray:
        """Probability that a new customer is still alive ``t`` time units after the first purchase.

        ``P(tau > t) = (beta / (beta + t)) ** s`` (the lifetime is exponential with a gamma
        rate): the expected share of a cohort still alive, unconditional on purchases.
        """
        horizon = _horizon(t)
        _, _, s, beta = self._params()
        return np.exp(-s * np.log1p(horizon / beta))


# --------------------------------------------------------------------------------------
# The integral I = F(t_x) - F(T), F(u) = int_u^inf (alpha + tau)^-(r+x) (beta + tau)^-(s+1)
# --------------------------------------------------------------------------------------


def _expm1_ratio(c: float, log_growth: FloatArray) -> FloatArray:
    """``(exp(c * L) - 1) / c`` for L >= 0, with the limit L at c = 0 (c = 1 - s here)."""
    if abs(c) < 1e-10:
        return log_growth * (1.0 + 0.5 * c * log_growth)
    return np.expm1(c * log_growth) / c


def _branch(alpha: float, beta: float) -> tuple[float, bool]:
    """The larger of alpha and beta, and whether it is alpha: the variable t = (m+u)/(m+tau)."""
    return (alpha, True) if alpha >= beta else (beta, False)


def _log_tail_integral(
    r: float,
    alpha: float,
    s: float,
    beta: float,
    x: FloatArray,
    u: FloatArray,
    *,
    gradient: bool = False,
    x_codes: tuple[NDArray[np.intp], FloatArray] | None = None,
    rule: tuple[FloatArray, FloatArray] = _FINE_RULE,
) -> tuple[FloatArray, FloatArray | None]:
    """ln F(u) by quadrature, and optionally d ln F / d(r, alpha, s, beta), shape (n, 4).

    With m = max(alpha, beta) and tau = (m + u) / t - m, F(u) = (m + u)^-(k) times
    ``int_0^1 t^(k-1) (1 - z t)^-e dt`` where k = r + s + x, z = |alpha - beta| / (m + u) in
    [0, 1) and e the exponent of the smaller of alpha, beta: the integrand is bounded by
    its ends. The sum over nodes is a log-sum-exp, so nothing overflows for x in the
    hundreds; the gradient is the softmax-weighted mean of the integrand's log-gradient.
    """
    m, alpha_is_m = _branch(alpha, beta)
    p = r + x
    q = s + 1.0
    k = p + q - 1.0
    ln_mu = np.log(m + u)
    # y = t^k absorbs the factor t^(k - 1), steep near t = 1 for heavy buyers:
    # the integral is (1 / k) int_0^1 (1 - z t)^-e dy. t at the nodes depends on x only.
    if x_codes is None:
        codes, x_values = _codes(np.asarray(x, dtype=np.float64))
    else:
        codes, x_values = x_codes
    ln_y, ln_w = rule
    ln_t_x = ln_y[None, :] / (r + s + x_values)[:, None]
    ln_t = ln_t_x[codes]
    t = np.exp(ln_t_x)[codes]
    # 1 - z t = (1 - t) + t (small + u) / (m + u), with no cancellation.
    closeness = ((beta if alpha_is_m else alpha) + u) / (m + u)
    one_minus_zt = -np.expm1(ln_t_x)[codes] + t * closeness[:, None]
    ln_1mzt = np.log(one_minus_zt)
    e = q if alpha_is_m else p[:, None]
    ln_terms = ln_w[None, :] - e * ln_1mzt
    top = ln_terms.max(axis=1)
    weights = np.exp(ln_terms - top[:, None])
    norm = weights.sum(axis=1)
    ln_f = -k * ln_mu - np.log(k) + top + np.log(norm)
    if not gradient:
        return ln_f, None
    weights /= norm[:, None]
    # ln(m + tau) = ln(m + u) - ln t; ln(small + tau) = that + ln(1 - z t).
    mean_ln_t = np.einsum("ij,ij->i", weights, ln_t)
    mean_ln_1mzt = np.einsum("ij,ij->i", weights, ln_1mzt)
    ln_m_tau = ln_mu - mean_ln_t
    ln_small_tau = ln_m_tau + mean_ln_1mzt
    # 1 / (m + tau) = t / (m + u); 1 / (small + tau) = t / ((m + u)(1 - z t)).
    inv_m_tau = np.einsum("ij,ij->i", weights, t) / (m + u)
    inv_small_tau = np.einsum("ij,ij->i", weights, t / one_minus_zt) / (m + u)
    if alpha_is_m:
        ln_alpha_tau, ln_beta_tau = ln_m_tau, ln_small_tau
        inv_alpha, inv_beta = inv_m_tau, inv_small_tau
    else:
        ln_alpha_tau, ln_beta_tau = ln_small_tau, ln_m_tau
        inv_alpha, inv_beta = inv_small_tau, inv_m_tau
    grad = np.stack([-ln_alpha_tau, -p * inv_alpha, -ln_beta_tau, -q * inv_beta], axis=1)
    return ln_f, grad


def _log_tail_exact(
    r: float, alpha: float, s: float, beta: float, x: FloatArray, u: FloatArray
) -> FloatArray:
    """ln F(u) from the Gauss hypergeometric closed form, in log space.

    ``F(u) = (m + u)^-k / k * 2F1(k, e; k + 1; z)`` (the form of FHL 2005 note 008, A0),
    turned by Euler's transformation into ``(1 - z)^(1 - e) 2F1(1, k + 1 - e; k + 1; z)``,
    whose series has positive terms and a bounded sum for alpha >= beta, and stays finite
    (no ``(1 - z)^-(r + x)`` factor inside the 2F1) for alpha < beta.
    """
    m, alpha_is_m = _branch(alpha, beta)
    small = beta if alpha_is_m else alpha
    k = r + s + x
    e = s + 1.0 if alpha_is_m else r + x
    z = (m - small) / (m + u)
    ln_1mz = np.log(small + u) - np.log(m + u)
    hyp = hyp2f1(1.0, k + 1.0 - e, k + 1.0, z)
    return -k * np.log(m + u) - np.log(k) + (1.0 - e) * ln_1mz + np.log(hyp)


def _log_integral(
    r: float,
    alpha: float,
    s: float,
    beta: float,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,
) -> FloatArray:
    """ln I = ln(F(t_x) - F(T)), -inf where t_x == T; hyp2f1 once per distinct (x, u)."""
    n = x.shape[0]
    if n == 0:
        return np.zeros(0)
    (pair_x, pair_u), _, pair_of = _distinct_rows(
        [np.ascontiguousarray(np.concatenate([x, x])), np.concatenate([t_x, T])], np.ones(2 * n)
    )
    ln_f = _log_tail_exact(r, alpha, s, beta, pair_x, pair_u)
    bad = ~np.isfinite(ln_f)
    if bad.any():  # hyp2f1 gave up (extreme arguments): the quadrature is exact there too
        ln_f[bad] = _log_tail_integral(r, alpha, s, beta, pair_x[bad], pair_u[bad])[0]
    ln_tx, ln_t = ln_f[pair_of[:n]], ln_f[pair_of[n:]]
    ln_ratio = np.where(t_x < T, np.minimum(ln_t - ln_tx, -1e-300), -1.0)
    return np.where(t_x < T, ln_tx + _log1m_exp(ln_ratio), -np.inf)


def _log1m_exp(d: FloatArray) -> FloatArray:
    """ln(1 - e^d) for d < 0, accurate near 0 and near -inf (Maechler 2012)."""
    return np.where(d > -0.693, np.log(-np.expm1(d)), np.log1p(-np.exp(d)))


def _rule_is_exact(theta: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray) -> bool:
    """Whether the coarse quadrature matches the closed form at ``theta`` on these data."""
    r, alpha, s, beta = (float(v) for v in theta)
    n = x.shape[0]
    (pair_x, pair_u), _, _ = _distinct_rows(
        [np.concatenate([x, x]), np.concatenate([t_x, T])], np.ones(2 * n)
    )
    exact = _log_tail_exact(r, alpha, s, beta, pair_x, pair_u)
    coarse = _log_tail_integral(r, alpha, s, beta, pair_x, pair_u, rule=_COARSE_RULE)[0]
    finite = np.isfinite(exact)
    return bool(np.all(np.abs(coarse[finite] - exact[finite]) <= _RULE_TOLERANCE))


def _check_identifiable(x: FloatArray, t_x: FloatArray, T: FloatArray, w: FloatArray) -> None:
    n_customers = w.sum()
    if n_customers < 2:
        raise ModelIdentificationError(
            f"Pareto/NBD needs many customers, got {n_customers:g}: a purchase rate and a "
            "dropout rate cannot be told apart from one history"
        )
    if not (x > 0).any():
        raise ModelIdentificationError(
            "no customer made a repeat purchase (all frequency == 0): the purchase and dropout "
            "processes are not identified. Use a longer calibration period or check the summary."
        )
    if not (T > 0).any():
        raise ModelIdentificationError("every T is 0: no customer was observed for any time")
    if (x == x[0]).all() and (t_x == t_x[0]).all() and (T == T[0]).all():
        raise ModelIdentificationError(
            "every customer has the same (frequency, recency, T): with no variation the "
            "heterogeneity in purchase and dropout rates is not identified"
        )


def _horizon(t: ArrayLike) -> FloatArray:
    horizon = _as_float_array(t, "t")
    if not np.isfinite(horizon).all() or (horizon < 0).any():
        raise ValueError("t must be finite and >= 0 (time units after the end of observation)")
    return horizon

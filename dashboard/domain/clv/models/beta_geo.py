"""BG/NBD model of repeat purchasing, fitted by maximum likelihood on numpy/scipy.

References
----------
- Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005a). "Counting Your Customers" the Easy
  Way: An Alternative to the Pareto/NBD Model. Marketing Science 24(2), 275-284.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
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

__all__ = ["BetaGeoModel"]


class BetaGeoModel(BaseEstimator):
    """BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005a).

    While alive, a customer buys at Poisson rate ``lambda`` per time unit; after every repeat
    purchase they drop out for good with probability ``p``. Across customers
    ``lambda ~ Gamma(shape r, rate alpha)`` and ``p ~ Beta(a, b)``.

    Parameters
    ----------
    penalizer : float, default 0
        Weight of an L2 penalty on the log-parameters, added to the mean negative
        log-likelihood per customer: ``penalizer * sum(log(theta) ** 2)``. It shrinks every
        parameter towards 1 and keeps small or odd data sets from running off to degenerate
        limits. Unlike ``lifetimes`` (penalty on ``theta ** 2``), it also stops parameters
        collapsing to 0. With ``penalizer > 0``, ``log_likelihood_`` is still the
        unpenalised log-likelihood.
    tol : float, default 1e-8
        Convergence tolerance on the gradient of the mean log-likelihood per customer with
        respect to the log-parameters.
    max_iter : int, default 1000
        Maximum L-BFGS-B iterations per start.

    Attributes
    ----------
    params_ : dict
        ``{"r", "alpha", "a", "b"}``. ``r`` and ``alpha`` are the shape and rate of the
        purchase-rate distribution; ``alpha`` is in the time unit of the data (so r / alpha
        is the mean purchase rate per time unit). ``a``, ``b`` are unitless.
    log_likelihood_ : float
        Total log-likelihood of the fitting data (sum over customers, weighted), as in the
        paper (no constant dropped or added).
    standard_errors_ : dict
        Asymptotic standard errors of ``params_`` (inverse Hessian of the log-likelihood,
        delta method from the log-parameters); nan if the Hessian is not positive definite.
        With ``penalizer > 0`` they are those of the penalised estimate.
    n_customers_ : float
        Number of customers fitted (sum of weights).
    n_distinct_rows_ : int
        Distinct (frequency, recency, T) rows the likelihood was evaluated on.
    n_iter_ : int
        Optimiser iterations.
    """

    def __init__(self, penalizer: float = 0.0, tol: float = 1e-8, max_iter: int = 1000) -> None:
        self.penalizer = penalizer
        self.tol = tol
        self.max_iter = max_iter

    @classmethod
    def from_params(cls, params: Mapping[str, float], **settings: Any) -> BetaGeoModel:
        """A model with given parameters ``{"r", "alpha", "a", "b"}`` (e.g. a stored fit)."""
        model = cls(**settings)
        missing = {"r", "alpha", "a", "b"} - set(params)
        if missing:
            raise ValueError(f"params lacks {sorted(missing)}")
        values = {name: float(params[name]) for name in ("r", "alpha", "a", "b")}
        if not all(np.isfinite(v) and v > 0 for v in values.values()):
            raise ValueError(f"BG/NBD parameters must be positive and finite, got {values}")
        model.params_ = values
        model.log_likelihood_ = float("nan")
        model.standard_errors_ = dict.fromkeys(values, float("nan"))
        return model

    # ---- fitting ----------------------------------------------------------------------

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> BetaGeoModel:
        """Fit by maximum likelihood.

        Parameters
        ----------
        frequency : array_like of int
            Repeat purchases ``x`` per customer in the calibration period.
        recency : array_like of float
            Time of the last purchase minus the first, ``t_x`` (time unit of the data).
        T : array_like of float
            Observation end minus the first purchase (same time unit).
        weights : array_like of float, optional
            Number of customers each row stands for, so the fit can run on distinct
            (frequency, recency, T) rows. Default: one customer per row.

        Returns
        -------
        self

        Raises
        ------
        ModelIdentificationError
            Unusable data (see the class docs) or parameters running off to a boundary.
        ModelConvergenceError
            The optimiser did not converge.
        """
        x = _as_float_array(frequency, "frequency").ravel()
        t_x = _as_float_array(recency, "recency").ravel()
        big_t = _as_float_array(T, "T").ravel()
        _check_history(x, t_x, big_t)
        w = _check_weights(weights, x.shape[0])
        keep = w > 0
        if not keep.all():
            x, t_x, big_t, w = x[keep], t_x[keep], big_t[keep], w[keep]
        self._check_identifiable(x, t_x, big_t, w)
        (x, t_x, big_t), w, _ = _distinct_rows([x, t_x, big_t], w)

        objective, start = self._objective(x, t_x, big_t, w)
        starts = [start, start + np.log([0.5, 1.0, 2.0, 4.0]), np.zeros(4)]
        names = ["r", "alpha", "a", "b"]
        result = _minimize(objective, starts, self.tol, self.max_iter, names)
        log_params, self.standard_errors_ = _polish(objective, result.x, w.sum(), names)
        r, alpha, a, b = np.exp(log_params)
        self.params_ = {"r": float(r), "alpha": float(alpha), "a": float(a), "b": float(b)}
        self.log_likelihood_ = _exact_sum(w * self._log_likelihood_rows(x, t_x, big_t))
        self.n_customers_ = float(w.sum())
        self.n_distinct_rows_ = int(x.shape[0])
        self.n_iter_ = int(result.nit)
        return self

    @staticmethod
    def _check_identifiable(x: FloatArray, t_x: FloatArray, T: FloatArray, w: FloatArray) -> None:
        n_customers = w.sum()
        if n_customers < 2:
            raise ModelIdentificationError(
                f"BG/NBD needs many customers, got {n_customers:g}: a purchase rate and a "
                "dropout probability cannot be told apart from one history"
            )
        if not (x > 0).any():
            raise ModelIdentificationError(
                "no customer made a repeat purchase (all frequency == 0): the dropout process "
                "is not identified. Use a longer calibration period or check the summary."
            )
        if not (T > 0).any():
            raise ModelIdentificationError("every T is 0: no customer was observed for any time")
        if (x == x[0]).all() and (t_x == t_x[0]).all() and (T == T[0]).all():
            raise ModelIdentificationError(
                "every customer has the same (frequency, recency, T): with no variation the "
                "heterogeneity in purchase rate and dropout is not identified"
            )

    def _objective(
        self, x: FloatArray, t_x: FloatArray, T: FloatArray, w: FloatArray
    ) -> tuple[Callable[[FloatArray], tuple[float, FloatArray]], FloatArray]:
        """Mean negative log-likelihood and its gradient in the log-parameters."""
        total = w.sum()
        penalizer = float(self.penalizer)

        # Customers without repeat purchases contribute r ln alpha - r ln(alpha + T):
        # aggregate them by T alone.
        zero = x == 0
        t0_codes, t0_values = _codes(T[zero])
        w0 = np.bincount(t0_codes, weights=w[zero], minlength=t0_values.shape[0])
        w0_total = w0.sum()

        rep = ~zero
        xr, wr, tr, txr = x[rep], w[rep], T[rep], t_x[rep]
        ix, x_values = _codes(xr)
        # Sums of weights per distinct x: the x-only terms are weighted sums over them.
        wx = np.bincount(ix, weights=wr, minlength=x_values.shape[0])
        w_total_rep = wr.sum()
        wr_x = wr * xr

        def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
            r, alpha, a, b = np.exp(log_params)
            # Terms that depend on x only (gammaln, digamma) over the few distinct x.
            ln_a1 = gammaln(r + x_values) - gammaln(r) + r * np.log(alpha)
            ln_a2 = gammaln(a + b) + gammaln(b + x_values) - gammaln(b) - gammaln(a + b + x_values)
            d_a1_r = digamma(r + x_values) - digamma(r) + np.log(alpha)
            d_a2_a = digamma(a + b) - digamma(a + b + x_values)
            d_a2_b = d_a2_a + digamma(b + x_values) - digamma(b)

            # Repeat buyers: ln(A3 + A4) = ln A3 + softplus(d), d = ln A4 - ln A3, computed
            # as max(d, 0) + log1p(exp(-|d|)) so neither term over- or underflows.
            # (Plain ufuncs and einsum, not np.dot: BLAS threads cost more than they save.)
            ln_alpha_t = np.log(alpha + tr)
            ln_alpha_tx = np.log(alpha + txr)
            gap = ln_alpha_t - ln_alpha_tx  # >= 0 since t_x <= T
            b_x1 = b + xr - 1
            d = np.log(a) - np.log(b_x1) + (r + xr) * gap
            e = np.exp(-np.abs(d))
            share4 = np.maximum(e, d > 0) / (1.0 + e)  # A4 / (A3 + A4)
            softplus = np.maximum(d, 0.0) + np.log1p(e)

            ll = (
                _wsum(wx, ln_a1 + ln_a2)
                - r * _wsum(wr, ln_alpha_t)
                - _wsum(wr_x, ln_alpha_t)
                + _wsum(wr, softplus)
            )
            # d ln(A3 + A4) / d theta = share3 * d ln A3 + share4 * d ln A4
            inv_t = 1.0 / (alpha + tr)
            inv_tx = 1.0 / (alpha + txr)
            g_r = _wsum(wx, d_a1_r) - _wsum(wr, ln_alpha_t) + _wsum(wr, share4 * gap)
            alpha_terms = inv_t + share4 * (inv_tx - inv_t)
            g_alpha = w_total_rep * r / alpha - r * _wsum(wr, alpha_terms)
            g_alpha -= _wsum(wr_x, alpha_terms)
            g_a = _wsum(wx, d_a2_a) + _wsum(wr, share4) / a
            g_b = _wsum(wx, d_a2_b) - _wsum(wr, share4 / b_x1)

            # Customers without repeat purchases.
            ln_ratio0 = np.log(alpha) - np.log(alpha + t0_values)
            ll += r * _wsum(w0, ln_ratio0)
            g_r += _wsum(w0, ln_ratio0)
            g_alpha += r * (w0_total / alpha - _wsum(w0, 1.0 / (alpha + t0_values)))

            theta = np.array([r, alpha, a, b])
            grad = np.array([g_r, g_alpha, g_a, g_b]) * theta  # chain rule to log-params
            value = -ll / total + penalizer * _wsum(log_params, log_params)
            gradient = -grad / total + 2.0 * penalizer * log_params
            if not np.isfinite(value):
                return np.inf, np.zeros(4)
            return float(value), gradient

        # Start: r = 1 and alpha matching the observed purchase rate; a, b giving a mean
        # dropout probability of 1/3.
        rate = max(_wsum(w, x), 1.0) / max(_wsum(w, T), 1e-12)
        start = np.log(np.array([1.0, 1.0 / rate, 1.0, 2.0]))
        return objective, np.clip(start, -_AT_BOUND + 1, _AT_BOUND - 1)

    def _log_likelihood_rows(self, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
        r, alpha, a, b = self._params()
        ln_a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        ln_a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
        ln_a3 = -(r + x) * np.log(alpha + T)
        with np.errstate(divide="ignore", invalid="ignore"):
            ln_a4 = np.log(a) - np.log(b + x - 1) - (r + x) * np.log(alpha + t_x)
        ln_a34 = np.where(x > 0, np.logaddexp(ln_a3, np.where(x > 0, ln_a4, -np.inf)), ln_a3)
        return ln_a1 + ln_a2 + ln_a34

    def log_likelihood(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> float:
        """Total log-likelihood of the data at the model's parameters (paper's formula)."""
        x = _as_float_array(frequency, "frequency").ravel()
        t_x = _as_float_array(recency, "recency").ravel()
        big_t = _as_float_array(T, "T").ravel()
        _check_history(x, t_x, big_t)
        w = _check_weights(weights, x.shape[0])
        return _exact_sum(w * self._log_likelihood_rows(x, t_x, big_t))

    # ---- predictions ------------------------------------------------------------------

    def _params(self) -> tuple[float, float, float, float]:
        params = getattr(self, "params_", None)
        if params is None:
            raise NotFittedError(
                "this BetaGeoModel has no parameters: call fit() or BetaGeoModel.from_params()"
            )
        return params["r"], params["alpha"], params["a"], params["b"]

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

    def _log_odds_dead(self, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
        """ln[P(dead) / P(alive)] given the history; -inf when x == 0."""
        r, alpha, a, b = self._params()
        with np.errstate(divide="ignore", invalid="ignore"):
            log_odds = (
                np.log(a) - np.log(b + x - 1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
            )
        return np.where(x > 0, log_odds, -np.inf)

    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """Probability that each customer is still alive at the end of observation.

        ``P(alive | x, t_x, T) = 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) /
        (alpha + t_x)) ** (r + x))`` (FHL 2005a eq. 11, computed in log space).

        Parameters
        ----------
        frequency, recency, T : array_like
            Repeat purchases, recency and age, in the model's time unit; broadcast together.

        Returns
        -------
        ndarray of float in (0, 1]
        """
        x, t_x, big_t = self._history(frequency, recency, T)
        return expit(-self._log_odds_dead(x, t_x, big_t))

    def _alive_expectation(self, t: FloatArray, x: FloatArray, T: FloatArray) -> FloatArray:
        """E[X(t) | alive at T, x]: expected purchases in (T, T + t] of an alive customer.

        FHL 2005a eq. 10 without its P(alive) factor is
        ``C / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) *
        2F1(r + x, b + x; C; t / (alpha + T + t)))`` with ``C = a + b + x - 1``.
        Two Pfaff transformations, 2F1(A, B; C; z) = (1 - z) ** -A 2F1(A, C - B; C;
        z / (z - 1)), first on A = r + x and then on a - 1, turn it into

        ``C / (a - 1) * (1 - (1 + c) ** (1 - a) * 2F1(a - 1, a + b - 1 - r; C; c / (1 + c)))``

        with ``c = t / (alpha + T)``. The first two parameters no longer grow with x and the
        large third one makes the series converge fast, so scipy's hyp2f1 stays finite and
        accurate for histories (hundreds of purchases, long horizons) where the paper's
        form returns inf or nan. Evaluated once per distinct (t, x, T).
        """
        r, alpha, a, b = self._params()
        shape = np.broadcast_shapes(t.shape, x.shape, T.shape)
        t_b, x_b, big_t_b = (np.broadcast_to(v, shape).ravel() for v in (t, x, T))
        # hyp2f1 is the costly part: evaluate it once per distinct (t, x, T).
        (t_u, x_u, big_t_u), _, row = _distinct_rows(
            [np.ascontiguousarray(v) for v in (t_b, x_b, big_t_b)], np.ones(t_b.shape[0])
        )
        c = t_u / (alpha + big_t_u)

        def value(r_: float, a_: float) -> FloatArray:
            big_c = a_ + b + x_u - 1
            hyp = hyp2f1(a_ - 1, a_ + b - 1 - r_, big_c, c / (1 + c))
            return big_c / (a_ - 1) * (1 - (1 + c) ** (1 - a_) * hyp)

        # Removable singularities, stepped over by averaging the two sides: a = 1 (the
        # 1 / (a - 1)), and r - a a whole number, where c - a - b of the 2F1 is a whole
        # number and scipy's hyp2f1 can return inf (only hand-picked parameters hit this).
        a_values = (1 - 1e-4, 1 + 1e-4) if abs(a - 1) < 1e-6 else (a,)
        nudge = 1e-6 * max(r, 1.0)
        whole = abs((r - a) - round(r - a)) < 1e-6
        r_values = (r - nudge, r + nudge) if whole else (r,)
        with np.errstate(over="ignore", invalid="ignore"):
            expectation = np.mean([value(r_, a_) for r_ in r_values for a_ in a_values], axis=0)
        # max(): 1 - (...) can round to -0.0 or -1e-17 at t = 0.
        return np.maximum(expectation[row], 0.0).reshape(shape)

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """Expected repeat purchases in the next ``t`` time units, given each history.

        ``E[X(t) | x, t_x, T]`` (FHL 2005a eq. 10): P(alive) times the expected purchases
        of an alive customer with that history.

        Parameters
        ----------
        t : float or array_like
            Horizon after the end of observation, in the model's time unit (>= 0).
        frequency, recency, T : array_like
            Repeat purchases, recency and age (time unit of the model); broadcast with ``t``.

        Returns
        -------
        ndarray of float
            Expected number of repeat purchases in (T, T + t].
        """
        x, t_x, big_t = self._history(frequency, recency, T)
        horizon = _horizon(t)
        alive = self.probability_alive(x, t_x, big_t)
        return alive * self._alive_expectation(horizon, x, big_t)

    def expected_purchases_new(self, t: ArrayLike) -> FloatArray:
        """Expected repeat purchases of a new customer in the ``t`` time units after the first.

        ``E[X(t)] = (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r *
        2F1(r, b; a + b - 1; t / (alpha + t)))`` (FHL 2005a eq. 7; evaluated in the
        transformed form described in ``_alive_expectation``, with x = 0 and T = 0).

        Parameters
        ----------
        t : float or array_like
            Time since the first purchase, in the model's time unit (>= 0).

        Returns
        -------
        ndarray of float (a 0-d array for scalar ``t``)
        """
        horizon = _horizon(t)
        zero = np.zeros(1)
        return self._alive_expectation(horizon, zero.reshape(()), zero.reshape(()))


def _horizon(t: ArrayLike) -> FloatArray:
    horizon = _as_float_array(t, "t")
    if not np.isfinite(horizon).all() or (horizon < 0).any():
        raise ValueError("t must be finite and >= 0 (time units after the end of observation)")
    return horizon

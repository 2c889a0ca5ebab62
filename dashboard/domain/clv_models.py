"""BG/NBD and Gamma-Gamma models, fitted by maximum likelihood on numpy/scipy.

Both models fit on log-parameters with L-BFGS-B and analytic gradients, over the distinct
data rows weighted by their counts, so that a million customers fit in well under a second.

References
----------
- Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005a). "Counting Your Customers" the Easy
  Way: An Alternative to the Pareto/NBD Model. Marketing Science 24(2), 275-284.
- Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005b). RFM and CLV: Using Iso-Value Curves
  for Customer Base Analysis. Journal of Marketing Research 42(4), 415-430.
- Fader, P. S. and Hardie, B. G. S. (2013). The Gamma-Gamma Model of Monetary Value.
  http://brucehardie.com/notes/025/
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import digamma, expit, gammaln, hyp2f1
from sklearn.base import BaseEstimator

__all__ = [
    "BetaGeoModel",
    "GammaGammaModel",
    "ModelConvergenceError",
    "ModelIdentificationError",
    "NotFittedError",
]

FloatArray = NDArray[np.float64]

# Log-parameters live in [log 1e-6, log 1e6]; a fit that ends on this box has run off to a
# degenerate limit (no heterogeneity in purchase rate or dropout, no dropout at all...) that
# the data cannot pin down. In days, weeks or months no real parameter comes near it (alpha =
# 1e6 days would be one purchase per 2,700 years for r = 1).
_LOG_BOUND = float(np.log(1e6))
_AT_BOUND = _LOG_BOUND - 0.5


class ModelIdentificationError(ValueError):
    """The data cannot identify the model: the fit would be meaningless.

    Raised before fitting for unusable inputs (negative, missing or inconsistent values, no
    repeat buyers, a single customer, no variation) and after fitting when a parameter runs
    off to zero or infinity.
    """


class ModelConvergenceError(ModelIdentificationError):
    """The optimiser stopped without reaching a maximum of the likelihood.

    A subclass of :class:`ModelIdentificationError`, so one ``except`` catches every
    "cannot fit this data" case.
    """


class NotFittedError(ValueError, AttributeError):
    """A prediction was asked of a model that has neither been fitted nor given parameters."""


# --------------------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------------------


def _as_float_array(values: ArrayLike, name: str) -> FloatArray:
    if isinstance(values, pd.Series | pd.Index):
        values = values.to_numpy(dtype=np.float64, na_value=np.nan)
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ModelIdentificationError(f"{name} must be numeric") from exc
    return array


def _check_finite_non_negative(array: FloatArray, name: str) -> None:
    if not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).sum())
        raise ModelIdentificationError(
            f"{name} has {bad} missing or infinite values: drop or fill those customers first"
        )
    if (array < 0).any():
        raise ModelIdentificationError(
            f"{name} has {int((array < 0).sum())} negative values: it is a count or a "
            "duration, check how the summary was built"
        )


def _check_counts(frequency: FloatArray) -> None:
    _check_finite_non_negative(frequency, "frequency")
    if (frequency != np.round(frequency)).any():
        raise ModelIdentificationError(
            "frequency must hold whole numbers of repeat purchases, got fractions"
        )


def _check_history(frequency: FloatArray, recency: FloatArray, T: FloatArray) -> None:
    """Validate a (frequency, recency, T) history for scoring or fitting."""
    if not (frequency.shape == recency.shape == T.shape):
        raise ModelIdentificationError(
            "frequency, recency and T must have the same shape, got "
            f"{frequency.shape}, {recency.shape}, {T.shape}"
        )
    _check_counts(frequency)
    _check_finite_non_negative(recency, "recency")
    _check_finite_non_negative(T, "T")
    # Unit conversions can leave recency a rounding error above T; allow that much.
    too_recent = recency > T * (1 + 1e-9) + 1e-9
    if too_recent.any():
        raise ModelIdentificationError(
            f"recency > T for {int(too_recent.sum())} customers: the last purchase cannot be "
            "after the end of the observation period; check observation_period_end"
        )
    stray = (frequency == 0) & (recency > 0)
    if stray.any():
        raise ModelIdentificationError(
            f"{int(stray.sum())} customers have frequency 0 but recency > 0: recency is the "
            "time from first to last purchase, so it must be 0 without repeat purchases"
        )


def _check_weights(weights: ArrayLike | None, n: int) -> FloatArray:
    if weights is None:
        return np.ones(n)
    w = _as_float_array(weights, "weights")
    if w.shape != (n,):
        raise ModelIdentificationError(f"weights must have shape ({n},), got {w.shape}")
    _check_finite_non_negative(w, "weights")
    return w


def _distinct_rows(
    columns: Sequence[FloatArray], weights: FloatArray
) -> tuple[list[FloatArray], FloatArray, NDArray[np.intp]]:
    """Distinct rows of ``columns``, the summed weight of each, and each row's distinct row.

    Hash-based (``pandas.factorize`` per column), no sort: linear in the number of rows.
    """
    n = columns[0].shape[0]
    factorized = [pd.factorize(column) for column in columns]
    sizes = [max(len(uniques), 1) for _, uniques in factorized]
    if math.prod(sizes) <= max(4 * n, 1 << 22):
        # Few combinations (the usual case: daily data, a few hundred distinct values per
        # column): a dense table of all combinations beats hashing the combined key.
        key = np.zeros(n, dtype=np.int64)
        for (codes, _), size in zip(factorized, sizes, strict=True):
            key = key * size + codes
        seen = np.bincount(key, minlength=math.prod(sizes))
        combos = np.flatnonzero(seen)
        table = np.full(seen.shape[0], -1, dtype=np.int64)
        table[combos] = np.arange(combos.shape[0])
        row = table[key]
        counts = np.bincount(row, weights=weights, minlength=combos.shape[0])
        distinct = []
        remainder = combos
        for (_, uniques), size in zip(factorized[::-1], sizes[::-1], strict=True):
            distinct.append(np.asarray(uniques, dtype=np.float64)[remainder % size])
            remainder = remainder // size
        return distinct[::-1], counts, row
    key = np.zeros(n, dtype=np.int64)
    n_keys = 1
    for codes, uniques in factorized:
        # Re-factorize the combined key at every step so it never overflows int64.
        key, key_uniques = pd.factorize(key * len(uniques) + codes)
        n_keys = len(key_uniques)
    counts = np.bincount(key, weights=weights, minlength=n_keys)
    first = np.full(n_keys, -1, dtype=np.int64)
    # Position of one representative row per key (the last one written wins, any will do).
    first[key] = np.arange(n)
    return [column[first] for column in columns], counts, key


def _wsum(weights: FloatArray, values: FloatArray) -> float:
    """``sum(weights * values)`` without BLAS (whose threads only slow down a 1-D dot)."""
    return float(np.einsum("i,i->", weights, values))


def _exact_sum(values: FloatArray) -> float:
    """Correctly rounded sum (``math.fsum``), so reported log-likelihoods compare exactly."""
    return math.fsum(values.tolist())


def _codes(values: FloatArray) -> tuple[NDArray[np.intp], FloatArray]:
    codes, uniques = pd.factorize(values)
    return codes, np.asarray(uniques, dtype=np.float64)


def _minimize(
    objective: Callable[[FloatArray], tuple[float, FloatArray]],
    starts: Sequence[FloatArray],
    tol: float,
    max_iter: int,
    names: Sequence[str],
) -> Any:
    """L-BFGS-B from each start until one converges; raise if none does."""
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(names)
    best = None
    for start in starts:
        result = minimize(
            objective,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": max_iter, "ftol": tol * 1e-3, "gtol": tol},
        )
        if _converged(result, tol):
            best = result  # a later start is only a fallback: stop at the first optimum
            break
        if np.isfinite(result.fun) and (best is None or result.fun < best.fun):
            best = result
    if best is None:
        raise ModelConvergenceError(
            "the likelihood could not be evaluated at any starting point: check the data "
            "for extreme values"
        )
    at_bound = [name for name, value in zip(names, best.x, strict=True) if abs(value) > _AT_BOUND]
    if at_bound:
        values = ", ".join(f"{n} = {np.exp(v):.3g}" for n, v in zip(names, best.x, strict=True))
        raise ModelIdentificationError(
            f"parameter(s) {', '.join(at_bound)} ran off to 0 or infinity ({values}): the data "
            "cannot identify the model (too few customers, customers too alike, or no sign "
            "of the heterogeneity or dropout the model describes). Use more customers or a "
            "longer period, or set penalizer > 0 (e.g. 0.01) to shrink towards moderate values."
        )
    if not _converged(best, tol):
        raise ModelConvergenceError(
            f"the optimiser did not converge ({best.message}; largest gradient "
            f"{np.max(np.abs(best.jac)):.2g} after {best.nit} iterations). Raise max_iter, "
            "loosen tol, or set penalizer > 0."
        )
    return best


def _polish(
    objective: Callable[[FloatArray], tuple[float, FloatArray]],
    log_params: FloatArray,
    n_customers: float,
    names: Sequence[str],
) -> tuple[FloatArray, dict[str, float]]:
    """One Newton step from the L-BFGS-B optimum, and standard errors.

    The Hessian comes from forward differences of the analytic gradient (one evaluation
    per parameter). The step is kept only if it improves the objective: it takes the optimum to
    rounding precision, where L-BFGS-B's stopping rule may leave ~1e-12 relative on the
    table. Standard errors are the delta-method ones of the natural parameters,
    sqrt(diag(theta Cov(log theta) theta)), Cov = inverse Hessian of the total negative
    log-likelihood; nan when the Hessian is not positive definite.
    """
    k = log_params.shape[0]
    step = 1e-6
    value, gradient = objective(log_params)
    hessian = np.empty((k, k))
    for i in range(k):
        shift = np.zeros(k)
        shift[i] = step
        hessian[:, i] = (objective(log_params + shift)[1] - gradient) / step
    hessian = 0.5 * (hessian + hessian.T)
    try:
        newton = log_params - np.linalg.solve(hessian, gradient)
        if np.all(np.abs(newton) < _LOG_BOUND) and objective(newton)[0] < value:
            log_params = newton
    except np.linalg.LinAlgError:
        pass
    errors = {name: float("nan") for name in names}
    try:
        np.linalg.cholesky(hessian)
        covariance = np.linalg.inv(hessian * n_customers)
        theta = np.exp(log_params)
        variance = theta**2 * np.diag(covariance)
        errors = {name: float(np.sqrt(v)) for name, v in zip(names, variance, strict=True)}
    except np.linalg.LinAlgError:
        pass
    return log_params, errors


def _converged(result: Any, tol: float) -> bool:
    # L-BFGS-B can stop with an "abnormal" line search at the optimum when the gradient
    # is as small as rounding allows; accept that when the gradient is small anyway.
    small_gradient = bool(np.max(np.abs(result.jac)) < max(1e3 * tol, 1e-5))
    return bool(np.isfinite(result.fun)) and (result.success or small_gradient)


# --------------------------------------------------------------------------------------
# BG/NBD
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# Gamma-Gamma
# --------------------------------------------------------------------------------------


class GammaGammaModel(BaseEstimator):
    """Gamma-Gamma model of spend per purchase (Fader, Hardie & Lee 2005b; Fader & Hardie 2013).

    Each purchase of a customer has value ``z ~ Gamma(shape p, rate nu)``; across customers
    ``nu ~ Gamma(shape q, rate v)``. The mean spend of a customer, ``p / nu``, is assumed
    independent of their purchase frequency (check it: the correlation between
    ``frequency`` and ``monetary_value`` over repeat buyers should be near 0).

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
        ``{"p", "q", "v"}``; ``v`` (the paper's gamma) is in currency units.
    log_likelihood_ : float
        Total log-likelihood of the observed mean spends ``zbar`` of the repeat buyers:
        the sum of ``ln f(zbar | x)`` with f the density of the mean of x purchases
        (Fader & Hardie 2013, eq. 4). On CDNOW this is the published -4055.9.
    standard_errors_ : dict
        Asymptotic standard errors of ``params_``, as in :class:`BetaGeoModel`.
    n_customers_ : float
        Repeat buyers fitted (sum of weights); customers with frequency 0 are skipped.
    n_distinct_rows_ : int
    n_iter_ : int
    """

    def __init__(self, penalizer: float = 0.0, tol: float = 1e-8, max_iter: int = 1000) -> None:
        self.penalizer = penalizer
        self.tol = tol
        self.max_iter = max_iter

    @classmethod
    def from_params(cls, params: Mapping[str, float], **settings: Any) -> GammaGammaModel:
        """A model with given parameters ``{"p", "q", "v"}`` (e.g. a stored fit)."""
        model = cls(**settings)
        missing = {"p", "q", "v"} - set(params)
        if missing:
            raise ValueError(f"params lacks {sorted(missing)}")
        values = {name: float(params[name]) for name in ("p", "q", "v")}
        if not all(np.isfinite(v) and v > 0 for v in values.values()):
            raise ValueError(f"Gamma-Gamma parameters must be positive and finite, got {values}")
        model.params_ = values
        model.log_likelihood_ = float("nan")
        model.standard_errors_ = dict.fromkeys(values, float("nan"))
        return model

    def _params(self) -> tuple[float, float, float]:
        params = getattr(self, "params_", None)
        if params is None:
            raise NotFittedError(
                "this GammaGammaModel has no parameters: call fit() or "
                "GammaGammaModel.from_params()"
            )
        return params["p"], params["q"], params["v"]

    @staticmethod
    def _spend_data(
        frequency: ArrayLike, monetary_value: ArrayLike, *, positive: bool = True
    ) -> tuple[FloatArray, FloatArray]:
        """Validated (x, zbar); repeat buyers need zbar > 0 (``positive``) or >= 0."""
        x, m = np.broadcast_arrays(
            _as_float_array(frequency, "frequency"),
            _as_float_array(monetary_value, "monetary_value"),
        )
        _check_counts(x)
        if not np.isfinite(m).all():
            raise ModelIdentificationError(
                "monetary_value has missing or infinite values: drop or fill those customers"
            )
        non_positive = (x > 0) & ((m <= 0) if positive else (m < 0))
        if non_positive.any():
            if not positive:
                raise ModelIdentificationError(
                    f"{int(non_positive.sum())} repeat buyers have monetary_value < 0: "
                    "expected spend needs the mean value of repeat purchases, >= 0"
                )
            raise ModelIdentificationError(
                f"{int(non_positive.sum())} repeat buyers have monetary_value <= 0: the "
                "Gamma-Gamma model needs positive spend; drop them (e.g. free or fully "
                "refunded orders) before fitting"
            )
        return x, m

    def fit(
        self,
        frequency: ArrayLike,
        monetary_value: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> GammaGammaModel:
        """Fit by maximum likelihood on the repeat buyers.

        Parameters
        ----------
        frequency : array_like of int
            Repeat purchases ``x`` per customer; rows with ``x == 0`` are skipped (their
            monetary value says nothing about repeat spend).
        monetary_value : array_like of float
            Mean value of the repeat purchases ``zbar`` (currency), > 0 where ``x > 0``.
        weights : array_like of float, optional
            Number of customers each row stands for.

        Returns
        -------
        self
        """
        x, m = self._spend_data(frequency, monetary_value)
        x, m = x.ravel(), m.ravel()
        w = _check_weights(weights, x.shape[0])
        keep = (x > 0) & (w > 0)
        x, m, w = x[keep], m[keep], w[keep]
        if w.sum() < 2:
            raise ModelIdentificationError(
                f"Gamma-Gamma needs at least two repeat buyers (frequency > 0), got {w.sum():g}"
            )
        if (m == m[0]).all():
            raise ModelIdentificationError(
                "every repeat buyer has the same monetary_value: with no variation the spread "
                "of spend between customers is not identified"
            )
        (x, m), w, _ = _distinct_rows([x, m], w)
        objective, start = self._objective(x, m, w)
        starts = [start, start + np.log([0.5, 2.0, 2.0]), np.zeros(3)]
        names = ["p", "q", "v"]
        result = _minimize(objective, starts, self.tol, self.max_iter, names)
        log_params, self.standard_errors_ = _polish(objective, result.x, w.sum(), names)
        p, q, v = np.exp(log_params)
        self.params_ = {"p": float(p), "q": float(q), "v": float(v)}
        self.log_likelihood_ = _exact_sum(w * self._log_likelihood_rows(x, m))
        self.n_customers_ = float(w.sum())
        self.n_distinct_rows_ = int(x.shape[0])
        self.n_iter_ = int(result.nit)
        return self

    def _objective(
        self, x: FloatArray, m: FloatArray, w: FloatArray
    ) -> tuple[Callable[[FloatArray], tuple[float, FloatArray]], FloatArray]:
        total = w.sum()
        penalizer = float(self.penalizer)
        ix, x_values = _codes(x)
        wx = np.bincount(ix, weights=w, minlength=x_values.shape[0])
        ln_m = np.log(m)
        xm = x * m
        wx_x = w * x
        # Data-only sums, computed once.
        sum_x_ln_xm = _wsum(w, x * (ln_m + np.log(x)))
        sum_ln_m = _wsum(w, ln_m)

        def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
            p, q, v = np.exp(log_params)
            px = p * x_values
            ln_v_xm = np.log(v + xm)
            sum_w_ln = _wsum(w, ln_v_xm)
            sum_wx_ln = _wsum(wx_x, ln_v_xm)
            ll = (
                _wsum(wx, gammaln(px + q) - gammaln(px))
                - total * gammaln(q)
                + total * q * np.log(v)
                + p * sum_x_ln_xm
                - sum_ln_m
                - p * sum_wx_ln
                - q * sum_w_ln
            )
            psi_pxq = digamma(px + q)
            inv_v_xm = 1.0 / (v + xm)
            g_p = _wsum(wx * x_values, psi_pxq - digamma(px)) + sum_x_ln_xm - sum_wx_ln
            g_q = _wsum(wx, psi_pxq) - total * digamma(q) + total * np.log(v) - sum_w_ln
            g_v = total * q / v - p * _wsum(wx_x, inv_v_xm) - q * _wsum(w, inv_v_xm)
            grad = np.array([g_p, g_q, g_v]) * np.array([p, q, v])
            value = -ll / total + penalizer * _wsum(log_params, log_params)
            if not np.isfinite(value):
                return np.inf, np.zeros(3)
            return float(value), -grad / total + 2.0 * penalizer * log_params

        # Start from the method of moments on the customer means (q from their spread).
        mean_m = _wsum(w, m) / total
        var_m = max(_wsum(w, (m - mean_m) ** 2) / total, 1e-12 * mean_m**2)
        q0 = float(np.clip(2.0 + mean_m**2 / var_m, 2.5, 50.0))
        p0 = 2.0
        v0 = mean_m * (q0 - 1.0) / p0
        return objective, np.log(np.array([p0, q0, v0]))

    def _log_likelihood_rows(self, x: FloatArray, m: FloatArray) -> FloatArray:
        p, q, v = self._params()
        px = p * x
        return (
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * np.log(v)
            + (px - 1) * np.log(m)
            + px * np.log(x)
            - (px + q) * np.log(v + x * m)
        )

    def log_likelihood(
        self, frequency: ArrayLike, monetary_value: ArrayLike, weights: ArrayLike | None = None
    ) -> float:
        """Total log-likelihood of the repeat buyers' mean spend at the model's parameters."""
        x, m = self._spend_data(frequency, monetary_value)
        x, m = x.ravel(), m.ravel()
        w = _check_weights(weights, x.shape[0])
        keep = x > 0
        return _exact_sum(w[keep] * self._log_likelihood_rows(x[keep], m[keep]))

    def expected_spend(self, frequency: ArrayLike, monetary_value: ArrayLike) -> FloatArray:
        """Expected value of each customer's future purchases, given their past spend.

        ``E[Z | x, zbar] = p (v + x zbar) / (p x + q - 1)``: a weighted mean of the
        population mean ``p v / (q - 1)`` and the customer's own ``zbar`` (Fader & Hardie
        2013, eq. 5). Customers with ``frequency == 0`` get the population mean.

        Parameters
        ----------
        frequency : array_like of int
            Repeat purchases ``x``.
        monetary_value : array_like of float
            Mean value of the repeat purchases (currency, >= 0; ignored where ``x == 0``).
            Unlike in ``fit``, 0 is accepted (e.g. a repeat buyer of free items only).

        Returns
        -------
        ndarray of float
            Currency per purchase. ``inf`` where ``p x + q <= 1`` (the mean spend does not
            exist, which happens for new customers when ``q <= 1``).
        """
        p, q, v = self._params()
        x, m = self._spend_data(frequency, monetary_value, positive=False)
        own = np.where(x > 0, m, 0.0)
        denominator = p * x + q - 1
        with np.errstate(divide="ignore", invalid="ignore"):
            spend = p * (v + x * own) / denominator
        return np.where(denominator > 0, spend, np.inf)

"""Shared code of the lifetime-value models: errors, input checks and the optimiser.

Both models fit on log-parameters with L-BFGS-B and analytic gradients, over the distinct
data rows weighted by their counts, so that a million customers fit in well under a second.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize

__all__ = [
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

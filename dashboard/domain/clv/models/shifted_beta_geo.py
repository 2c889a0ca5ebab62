"""Shifted-beta-geometric (sBG) model of retention in a contractual setting.

Each customer renews at the end of every period with probability ``1 - theta`` until the first
non-renewal; ``theta`` varies across customers as ``Beta(alpha, beta)``. So the chance that a
customer is lost at the end of period ``t`` and that a customer is still active after ``t``
periods are (Fader & Hardie 2007, eqs. 3 and 4)::

    P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta),   t = 1, 2, ...
    S(t)     = B(alpha, beta + t) / B(alpha, beta),           S(0) = 1

and the retention rate rises with tenure, ``r(t) = (beta + t - 1) / (alpha + beta + t - 1)``:
the customers who remain are the ones who churn less (heterogeneity, not loyalty growing).

References
----------
- Fader, P. S. and Hardie, B. G. S. (2007). How to Project Customer Retention. Journal of
  Interactive Marketing 21(1), 76-90.
- Fader, P. S. and Hardie, B. G. S. (2010). Customer-Base Valuation in a Contractual Setting:
  The Perils of Ignoring Heterogeneity. Marketing Science 29(1), 85-93 (DERL, eq. 6).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import minimize
from scipy.special import betaln, hyp2f1
from sklearn.base import BaseEstimator

from dashboard.domain.clv.models.basic import (
    FloatArray,
    ModelConvergenceError,
    ModelIdentificationError,
    NotFittedError,
)

__all__ = ["ShiftedBetaGeoModel"]

# Parameters live in [1e-4, 1e4] on the log scale: beyond, the data carry no information
# (alpha, beta -> infinity is a homogeneous churn rate).
_LOG_BOUND = float(np.log(1e4))


class ShiftedBetaGeoModel(BaseEstimator):
    """Shifted-beta-geometric model of contract renewals (Fader & Hardie 2007).

    Parameters
    ----------
    tol : float, default 1e-10
        Gradient tolerance of the optimiser on the log-likelihood per customer.

    Attributes
    ----------
    params_ : dict
        ``{"alpha", "beta"}`` of the beta distribution of the per-period churn probability.
    log_likelihood_ : float
        Log-likelihood of the data at ``params_`` (natural log, whole counts).
    n_customers_ : float
        Customers fitted (the initial cohort, or churned plus still active).
    n_periods_ : int
        Longest tenure observed (periods).
    """

    def __init__(self, tol: float = 1e-10) -> None:
        self.tol = tol

    @classmethod
    def from_params(cls, params: Mapping[str, float]) -> ShiftedBetaGeoModel:
        """A model with given ``{"alpha", "beta"}`` (no data needed)."""
        model = cls()
        alpha, beta = float(params["alpha"]), float(params["beta"])
        if not (alpha > 0 and beta > 0):
            raise ModelIdentificationError(f"alpha and beta must be > 0, got {alpha}, {beta}")
        model.params_ = {"alpha": alpha, "beta": beta}
        return model

    # ----------------------------------------------------------------------------------
    # Fitting
    # ----------------------------------------------------------------------------------

    def fit(self, active: ArrayLike) -> ShiftedBetaGeoModel:
        """Fit on one cohort's numbers still active at the start of each period.

        ``active[0]`` is the cohort's size, ``active[t]`` the customers still active after
        ``t`` renewal occasions (non-increasing). Returns the fitted model.
        """
        counts = np.asarray(active, dtype=np.float64)
        if counts.ndim != 1 or len(counts) < 3:
            raise ModelIdentificationError(
                "active must list the cohort size and at least two later periods"
            )
        if not np.isfinite(counts).all() or (counts < 0).any():
            raise ModelIdentificationError("active must hold non-negative counts")
        if (np.diff(counts) > 0).any():
            raise ModelIdentificationError(
                "active must not increase: a cohort only loses customers"
            )
        churned = -np.diff(counts)  # lost at the end of period 1, 2, ...
        censored = np.zeros_like(churned)
        censored[-1] = counts[-1]
        return self.fit_counts(churned, censored)

    def fit_counts(self, churned: ArrayLike, censored: ArrayLike) -> ShiftedBetaGeoModel:
        """Fit on tenures of several cohorts (right-censored).

        Parameters
        ----------
        churned : array_like, shape (n,)
            ``churned[t - 1]``: customers lost at the end of period ``t`` (tenure ``t``).
        censored : array_like, shape (n,)
            ``censored[t - 1]``: customers still active after ``t`` periods, not observed
            further (tenure at least ``t``). Customers observed for no full period are
            uninformative and left out.
        """
        lost = np.asarray(churned, dtype=np.float64)
        alive = np.asarray(censored, dtype=np.float64)
        if lost.shape != alive.shape or lost.ndim != 1 or len(lost) == 0:
            raise ModelIdentificationError("churned and censored must be 1-d of the same length")
        if not (np.isfinite(lost).all() and np.isfinite(alive).all()):
            raise ModelIdentificationError("churned and censored must be finite counts")
        if (lost < 0).any() or (alive < 0).any():
            raise ModelIdentificationError("churned and censored must be non-negative")
        if lost.sum() <= 0:
            raise ModelIdentificationError(
                "no customer has churned yet: the churn rate cannot be estimated"
            )
        if (lost > 0).sum() < 2 and alive.sum() <= 0:
            raise ModelIdentificationError(
                "every customer churned at the same tenure: heterogeneity cannot be estimated"
            )
        periods = np.arange(1, len(lost) + 1, dtype=np.float64)
        total = lost.sum() + alive.sum()

        def negative_ll(log_params: FloatArray) -> float:
            alpha, beta = np.exp(log_params)
            return -_log_likelihood(alpha, beta, periods, lost, alive) / total

        best = None
        for start in ((0.0, 0.0), (-1.0, 1.0), (1.0, 2.0)):
            result = minimize(
                negative_ll,
                np.array(start),
                method="L-BFGS-B",
                bounds=[(-_LOG_BOUND, _LOG_BOUND)] * 2,
                options={"gtol": self.tol, "ftol": 1e-15, "maxiter": 2000},
            )
            if best is None or result.fun < best.fun:
                best = result
        if not np.isfinite(best.fun):
            raise ModelConvergenceError(f"the sBG fit did not converge: {best.message}")
        if (np.abs(best.x) > _LOG_BOUND - 0.5).any():
            raise ModelIdentificationError(
                "the sBG fit ran off to a limit (churn the same for everyone, or none): the "
                "data cannot pin alpha and beta down"
            )
        alpha, beta = (float(v) for v in np.exp(best.x))
        self.params_ = {"alpha": alpha, "beta": beta}
        self.log_likelihood_ = float(_log_likelihood(alpha, beta, periods, lost, alive))
        self.n_customers_ = float(total)
        self.n_periods_ = len(lost)
        return self

    # ----------------------------------------------------------------------------------
    # Prediction
    # ----------------------------------------------------------------------------------

    def _params(self) -> tuple[float, float]:
        params = getattr(self, "params_", None)
        if params is None:
            raise NotFittedError("ShiftedBetaGeoModel is not fitted: call fit() first")
        return params["alpha"], params["beta"]

    def survival(self, periods: ArrayLike) -> FloatArray:
        """S(t): share of a new cohort still active after ``t`` periods (S(0) = 1)."""
        alpha, beta = self._params()
        t = np.asarray(periods, dtype=np.float64)
        return np.exp(betaln(alpha, beta + t) - betaln(alpha, beta))

    def churn_probability(self, periods: ArrayLike) -> FloatArray:
        """P(T = t): share of a new cohort lost at the end of period ``t`` (t >= 1)."""
        alpha, beta = self._params()
        t = np.asarray(periods, dtype=np.float64)
        return np.exp(betaln(alpha + 1, beta + t - 1) - betaln(alpha, beta))

    def retention_rate(self, periods: ArrayLike) -> FloatArray:
        """r(t) = S(t) / S(t - 1): share of those active in period ``t`` who renew (t >= 1)."""
        alpha, beta = self._params()
        t = np.asarray(periods, dtype=np.float64)
        return (beta + t - 1) / (alpha + beta + t - 1)

    def conditional_survival(self, tenure: ArrayLike, ahead: ArrayLike) -> FloatArray:
        """P(still active ``ahead`` periods from now | active after ``tenure`` periods)."""
        alpha, beta = self._params()
        n = np.asarray(tenure, dtype=np.float64)
        k = np.asarray(ahead, dtype=np.float64)
        return np.exp(betaln(alpha, beta + n + k) - betaln(alpha, beta + n))

    def expected_remaining_lifetime(
        self,
        renewals: ArrayLike,
        discount_rate: float = 0.0,
        *,
        horizon: int | None = None,
        max_periods: int = 100_000,
    ) -> FloatArray:
        """Discounted expected residual lifetime (DERL), in periods (payments to come).

        For a customer who has made ``renewals`` renewals (so paid ``n = renewals + 1``
        periods) and is about to decide on the next one (Fader & Hardie 2010, eq. 6)::

            DERL = sum_{t >= n} S(t) / S(n - 1) / (1 + d)^(t - n)
                 = (beta + n - 1) / (alpha + beta + n - 1)
                   * 2F1(1, beta + n; alpha + beta + n; 1 / (1 + d))

        so the next payment is not discounted and each later one by a further period.
        ``discount_rate`` is per period (for months, ``(1 + annual) ** (1 / 12) - 1``). With
        ``discount_rate = 0`` the sum diverges when ``alpha <= 1`` (a heavy tail of
        customers who almost never churn); it is then cut at ``max_periods``. ``horizon``
        counts only the next ``horizon`` payments (the first ``horizon`` terms of the sum).
        """
        alpha, beta = self._params()
        made = np.asarray(renewals, dtype=np.float64)
        if (made < 0).any():
            raise ValueError("renewals must be >= 0")
        if discount_rate < 0:
            raise ValueError("discount_rate must be >= 0")
        n = made + 1
        first = (beta + n - 1) / (alpha + beta + n - 1)
        if discount_rate > 0 and horizon is None:
            x = 1.0 / (1.0 + discount_rate)
            value = first * hyp2f1(1.0, beta + n, alpha + beta + n, x)
            if np.isfinite(value).all():
                return np.asarray(value, dtype=np.float64)
        # Direct sum (no discount, or a 2F1 scipy cannot give): S(t)/S(n-1) term by term.
        x = 1.0 / (1.0 + discount_rate)
        out = np.empty_like(n)
        for i, n_i in np.ndenumerate(n):
            t = np.arange(n_i, n_i + (max_periods if horizon is None else horizon))
            terms = np.exp(betaln(alpha, beta + t) - betaln(alpha, beta + n_i - 1))
            out[i] = float(np.sum(terms * x ** (t - n_i)))
        return out


def _log_likelihood(
    alpha: float, beta: float, periods: FloatArray, lost: FloatArray, alive: FloatArray
) -> float:
    base = betaln(alpha, beta)
    log_churn = betaln(alpha + 1, beta + periods - 1) - base
    log_survive = betaln(alpha, beta + periods) - base
    return float(np.sum(lost * log_churn) + np.sum(alive * log_survive))

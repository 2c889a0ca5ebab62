"""Gamma-Gamma model of spend per purchase, fitted by maximum likelihood on numpy/scipy.

References
----------
- Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005b). RFM and CLV: Using Iso-Value Curves
  for Customer Base Analysis. Journal of Marketing Research 42(4), 415-430.
- Fader, P. S. and Hardie, B. G. S. (2013). The Gamma-Gamma Model of Monetary Value.
  http://brucehardie.com/notes/025/
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, gammaln
from sklearn.base import BaseEstimator

from dashboard.domain.clv.models.basic import (
    FloatArray,
    ModelIdentificationError,
    NotFittedError,
    _as_float_array,
    _check_counts,
    _check_weights,
    _codes,
    _distinct_rows,
    _exact_sum,
    _minimize,
    _polish,
    _wsum,
)

__all__ = ["GammaGammaModel"]


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

"""Parameter uncertainty of the fitted value models, and intervals for what they predict.

A maximum-likelihood fit is asymptotically normal on the log-parameter scale (where the
optimiser works), with covariance the inverse of the Hessian of the total negative
log-likelihood at the optimum. :func:`parameter_draws` draws parameter sets from that
distribution for a fitted :class:`BetaGeoModel`, :class:`ParetoNBDModel` or
:class:`GammaGammaModel`; :func:`interval` evaluates any vectorised quantity (lifetime value
per customer, customer equity, expected customers alive, LTV/CAC) at every draw and returns
the point estimate with its equal-tailed interval.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from dashboard.domain.clv.models import BetaGeoModel, GammaGammaModel, ParetoNBDModel
from dashboard.domain.clv.models.basic import (
    _as_float_array,
    _check_weights,
    _distinct_rows,
)

__all__ = ["Interval", "ParameterDraws", "interval", "parameter_draws"]

_NAMES: dict[type, tuple[str, ...]] = {
    BetaGeoModel: ("r", "alpha", "a", "b"),
    ParetoNBDModel: ("r", "alpha", "s", "beta"),
    GammaGammaModel: ("p", "q", "v"),
}


@dataclass(frozen=True)
class ParameterDraws:
    """Parameter sets drawn from a fit's asymptotic distribution.

    Attributes
    ----------
    model_class : type
        The model the draws are for (``from_params`` rebuilds one per draw).
    estimate : dict
        The fitted parameters (the centre of the distribution).
    log_covariance : ndarray, shape (k, k)
        Covariance of the log-parameters: inverse Hessian of the total negative
        log-likelihood with respect to them, at the optimum.
    draws : DataFrame, shape (n_draws, k)
        One parameter set a row, natural scale, columns the parameter names.
    """

    model_class: type
    estimate: dict[str, float]
    log_covariance: NDArray[np.float64]
    draws: pd.DataFrame

    def estimate_model(self) -> Any:
        """The model at the fitted parameters."""
        return self.model_class.from_params(self.estimate)

    def models(self) -> list[Any]:
        """One model per draw, in order."""
        return [self.model_class.from_params(row) for row in self.draws.to_dict("records")]

    @property
    def standard_errors(self) -> dict[str, float]:
        """Delta-method standard errors of the natural parameters."""
        theta = np.array([self.estimate[name] for name in self.draws.columns])
        errors = theta * np.sqrt(np.diag(self.log_covariance))
        return dict(zip(self.draws.columns, (float(e) for e in errors), strict=True))


@dataclass(frozen=True)
class Interval:
    """A quantity at the fitted parameters and its equal-tailed interval over the draws.

    ``point``, ``low`` and ``high`` have the quantity's shape (one value per customer, or a
    0-d array for a total); ``level`` is the interval's probability (0.9 for 90 %).
    """

    point: NDArray[np.float64]
    low: NDArray[np.float64]
    high: NDArray[np.float64]
    level: float


def _log_hessian(model: Any, data: Sequence[ArrayLike], weights: ArrayLike | None) -> NDArray:
    """Hessian of the total negative log-likelihood in the log-parameters, at the fit."""
    names = _NAMES[type(model)]
    if getattr(model, "params_", None) is None:
        raise ValueError(f"{type(model).__name__} is not fitted: fit it before drawing")
    columns = [_as_float_array(column, "data").ravel() for column in data]
    w = _check_weights(weights, columns[0].shape[0])
    if isinstance(model, GammaGammaModel):
        frequency, _ = columns
        keep = (frequency > 0) & (w > 0)
    else:
        keep = w > 0
    columns = [np.ascontiguousarray(column[keep]) for column in columns]
    distinct, w, _ = _distinct_rows(columns, w[keep])
    objective, _ = model._objective(*distinct, w)
    log_params = np.log([model.params_[name] for name in names])
    k = len(names)
    step = 1e-5
    hessian = np.empty((k, k))
    for i in range(k):
        shift = np.zeros(k)
        shift[i] = step
        hessian[:, i] = (objective(log_params + shift)[1] - objective(log_params - shift)[1]) / (
            2 * step
        )
    # The objective is the mean per customer: scale to the total.
    return 0.5 * (hessian + hessian.T) * w.sum()


def parameter_draws(
    model: BetaGeoModel | ParetoNBDModel | GammaGammaModel,
    *data: ArrayLike,
    weights: ArrayLike | None = None,
    n_draws: int = 500,
    random_state: int | np.random.Generator | None = None,
) -> ParameterDraws:
    """Draw parameter sets from a fitted model's asymptotic (normal, log-scale) distribution.

    Parameters
    ----------
    model : BetaGeoModel, ParetoNBDModel or GammaGammaModel
        Fitted on ``data``.
    *data : array_like
        What the model was fitted on: ``frequency, recency, T`` for the purchase models,
        ``frequency, monetary_value`` for Gamma-Gamma.
    weights : array_like, optional
        As given to ``fit``.
    n_draws : int, default 500
        Parameter sets to draw.
    random_state : int or numpy Generator, optional
        Seed for reproducible draws.

    Returns
    -------
    ParameterDraws

    Raises
    ------
    ValueError
        The model is not fitted, or its Hessian is not positive definite (the likelihood is
        flat in some direction: the data cannot say how uncertain the fit is).
    """
    if type(model) not in _NAMES:
        raise TypeError(f"no parameter draws for {type(model).__name__}")
    names = _NAMES[type(model)]
    expected = 2 if isinstance(model, GammaGammaModel) else 3
    if len(data) != expected:
        raise ValueError(f"{type(model).__name__} takes {expected} data columns, got {len(data)}")
    if n_draws < 1:
        raise ValueError(f"n_draws must be >= 1, got {n_draws}")
    hessian = _log_hessian(model, data, weights)
    try:
        np.linalg.cholesky(hessian)
    except np.linalg.LinAlgError as exc:
        raise ValueError(
            "the Hessian of the log-likelihood is not positive definite at the fit: the data "
            "do not pin the parameters down, so no interval can be given"
        ) from exc
    covariance = np.linalg.inv(hessian)
    covariance = 0.5 * (covariance + covariance.T)
    centre = np.log([model.params_[name] for name in names])
    rng = np.random.default_rng(random_state)
    log_draws = rng.multivariate_normal(centre, covariance, size=n_draws, method="cholesky")
    return ParameterDraws(
        model_class=type(model),
        estimate={name: float(model.params_[name]) for name in names},
        log_covariance=covariance,
        draws=pd.DataFrame(np.exp(log_draws), columns=list(names)),
    )


def interval(
    quantity: Callable[..., ArrayLike],
    *draws: ParameterDraws,
    level: float = 0.9,
) -> Interval:
    """A vectorised quantity at the fit and its equal-tailed ``level`` interval over draws.

    Parameters
    ----------
    quantity : callable
        ``quantity(*models) -> array``, called with one model per ``ParameterDraws`` given,
        e.g. ``lambda purchases, spend: customer_lifetime_value(purchases, spend, ...)``.
        Any shape (per customer, or a scalar total such as customer equity).
    *draws : ParameterDraws
        One per model the quantity needs, each with the same number of draws (the models'
        draws are paired by position; the purchase and spend likelihoods are separate, so
        drawing them independently is right).
    level : float, default 0.9
        Probability of the interval: quantiles (1 - level) / 2 and (1 + level) / 2.

    Returns
    -------
    Interval
        Memory is ``n_draws`` times the quantity's size: for a million customers use a
        few hundred draws, or reduce to totals inside ``quantity``.
    """
    if not draws:
        raise ValueError("interval needs at least one ParameterDraws")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    n_draws = {len(d.draws) for d in draws}
    if len(n_draws) != 1:
        raise ValueError(f"every ParameterDraws must have as many draws, got {sorted(n_draws)}")
    point = np.asarray(quantity(*(d.estimate_model() for d in draws)), dtype=np.float64)
    values = np.stack(
        [
            np.asarray(quantity(*models), dtype=np.float64)
            for models in zip(*(d.models() for d in draws), strict=True)
        ]
    )
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return Interval(point=point, low=low, high=high, level=float(level))

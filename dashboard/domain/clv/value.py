"""Discounted customer lifetime value from a BG/NBD and a Gamma-Gamma model."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dashboard.domain.clv.data import DAYS_PER_MONTH
from dashboard.domain.clv.models import BetaGeoModel, GammaGammaModel
from dashboard.domain.clv.models.basic import _distinct_rows

__all__ = ["WEEKS_PER_MONTH", "customer_lifetime_value", "monthly_discount_rate"]

#: Weeks in a mean Gregorian month, 365.25 / 12 / 7 = 4.348: the same calendar as
#: ``rfm_summary(time_unit="M")``. (52 / 12 = 4.333 would make a year 364 days.)
WEEKS_PER_MONTH: float = DAYS_PER_MONTH / 7


def monthly_discount_rate(annual_discount_rate: float) -> float:
    """Monthly rate equivalent to an annual one: ``(1 + annual) ** (1 / 12) - 1``."""
    if not np.isfinite(annual_discount_rate) or annual_discount_rate <= -1:
        raise ValueError(f"annual_discount_rate must be > -1, got {annual_discount_rate}")
    return float((1.0 + annual_discount_rate) ** (1.0 / 12.0) - 1.0)


def customer_lifetime_value(
    bgnbd: BetaGeoModel,
    gamma_gamma: GammaGammaModel,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    *,
    horizon_months: int = 36,
    margin: float = 1.0,
    annual_discount_rate: float = 0.10,
    time_unit_per_month: float = WEEKS_PER_MONTH,
) -> NDArray[np.float64]:
    """Discounted expected margin of each customer over the coming months.

    ``CLV = sum_{m=1..H} (E[X(m)] - E[X(m-1)]) * E[spend] * margin / (1 + d) ** m``, where
    ``E[X(m)]`` is the BG/NBD expected number of repeat purchases in the ``m`` months after
    the end of observation given the customer's history, ``E[spend]`` the Gamma-Gamma
    expected value per purchase given their past spend, and ``d`` the monthly rate
    equivalent to ``annual_discount_rate``. Each month's purchases are discounted at the
    month's end.

    Parameters
    ----------
    bgnbd : BetaGeoModel
        Fitted (or ``from_params``) purchase model.
    gamma_gamma : GammaGammaModel
        Fitted spend model.
    frequency, recency, T : array_like
        History in the BG/NBD model's time unit (as given to its ``fit``).
    monetary_value : array_like
        Mean value of the repeat purchases (currency), 0 or anything where frequency is 0.
    horizon_months : int, default 36
        Number of monthly steps.
    margin : float, default 1.0
        Gross-margin fraction applied to spend (0.3 for 30 %); 1.0 gives discounted revenue.
    annual_discount_rate : float, default 0.10
        Yearly discount rate; the monthly rate is ``(1 + rate) ** (1 / 12) - 1``.
    time_unit_per_month : float, default ``WEEKS_PER_MONTH`` (4.348)
        Model time units in one month: 4.348 for weeks, 30.4375 for days, 1 for months
        (the calendar of :func:`rfm_summary`).

    Returns
    -------
    ndarray of float
        Lifetime value per customer in currency (margin), same shape as the inputs
        broadcast together.
    """
    if isinstance(horizon_months, bool) or int(horizon_months) != horizon_months:
        raise ValueError(f"horizon_months must be a whole number, got {horizon_months}")
    horizon_months = int(horizon_months)
    if horizon_months < 0:
        raise ValueError(f"horizon_months must be >= 0, got {horizon_months}")
    if not np.isfinite(margin) or margin > 1:
        raise ValueError(f"margin is a gross-margin fraction <= 1 (0.3 for 30 %), got {margin}")
    if not np.isfinite(time_unit_per_month) or time_unit_per_month <= 0:
        raise ValueError(f"time_unit_per_month must be > 0, got {time_unit_per_month}")
    monthly_rate = monthly_discount_rate(annual_discount_rate)

    x, t_x, big_t = bgnbd._history(frequency, recency, T)
    spend = gamma_gamma.expected_spend(x, monetary_value)
    alive = bgnbd.probability_alive(x, t_x, big_t)

    # Discounted purchases of an alive customer depend on (x, T) only: evaluate the
    # hypergeometric terms once per distinct pair, at every month end.
    flat_x = np.ascontiguousarray(x.ravel())
    flat_t = np.ascontiguousarray(big_t.ravel())
    (x_u, t_u), _, row = _distinct_rows([flat_x, flat_t], np.ones(flat_x.shape[0]))
    months = np.arange(horizon_months + 1, dtype=np.float64)
    cumulative = bgnbd._alive_expectation(
        months[None, :] * time_unit_per_month, x_u[:, None], t_u[:, None]
    )
    discount = (1.0 + monthly_rate) ** -months[1:]
    discounted_purchases = np.diff(cumulative, axis=1) @ discount

    with np.errstate(invalid="ignore"):
        value = alive.ravel() * discounted_purchases[row] * spend.ravel() * margin
    return value.reshape(x.shape)

"""Lifetime value at every parameter draw, compressed so any scope's totals can be drawn later.

:func:`value_draws` evaluates each customer's discounted expected revenue and P(alive) at
every draw of the purchase and spend models' parameters (:func:`parameter_draws`). Per
customer, the 5th and 95th percentiles over the draws give the 90 % interval of their
lifetime value. A *scope's* total (customer equity, expected customers alive of a region, a
channel, a segment chosen after the fit) is not the sum of its customers' interval ends:
it needs the draws of the total, ``sum_i value[i, d]`` for every draw ``d``.

Storing the whole ``customers x draws`` matrix would cost 100 numbers a customer. The
deviations from the point estimate, ``value[i, d] - point[i]``, vary with only the seven
parameters, so they are close to a matrix of low rank: :func:`draw_basis` finds ``k``
orthonormal draw patterns (rows of ``basis``, from the SVD of a sample of customers) and
:func:`loadings` each customer's ``k`` coordinates on them. A scope's total at draw ``d`` is
then ``sum(point) + sum(loadings) @ basis[:, d]`` (:func:`scope_total_draws`): the sums are
plain SQL ``SUM`` over any set of customers. ``docs/decisions.md`` gives the measurements.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dashboard.domain.clv.intervals import ParameterDraws
from dashboard.domain.clv.models.basic import _distinct_rows
from dashboard.domain.clv.value import WEEKS_PER_MONTH, monthly_discount_rate

__all__ = [
    "DropoutScaled",
    "ValueDraws",
    "discounted_purchases",
    "draw_basis",
    "loadings",
    "scope_total_draws",
    "total_interval",
    "value_draws",
]

#: Customers per block when evaluating draws (memory: block x draws x 8 bytes per matrix).
BLOCK = 50_000


def discounted_purchases(
    model: object,
    frequency: ArrayLike,
    T: ArrayLike,
    *,
    horizon_months: int,
    annual_discount_rate: float,
    time_unit_per_month: float = WEEKS_PER_MONTH,
) -> NDArray[np.float64]:
    """Discounted expected purchases of an *alive* customer over the horizon, per customer.

    ``sum_{m=1..H} (E[X(m) | alive] - E[X(m-1) | alive]) / (1 + d) ** m``; multiply by
    P(alive), the expected spend and the margin to get the lifetime value
    (:func:`~dashboard.domain.clv.customer_lifetime_value` does exactly that). Evaluated once
    per distinct (x, T).
    """
    x = np.ascontiguousarray(np.asarray(frequency, dtype=np.float64).ravel())
    big_t = np.ascontiguousarray(np.asarray(T, dtype=np.float64).ravel())
    (x_u, t_u), _, row = _distinct_rows([x, big_t], np.ones(x.shape[0]))
    months = np.arange(horizon_months + 1, dtype=np.float64)
    cumulative = model._alive_expectation(
        months[None, :] * time_unit_per_month, x_u[:, None], t_u[:, None]
    )
    discount = (1.0 + monthly_discount_rate(annual_discount_rate)) ** -months[1:]
    return (np.diff(cumulative, axis=1) @ discount)[row]


@dataclass(frozen=True)
class ValueDraws:
    """Per-customer lifetime value and P(alive) at the fit and at every parameter draw.

    ``revenue`` and ``alive`` have shape (customers, draws); ``revenue_point`` and
    ``alive_point`` shape (customers,). Revenue is discounted expected revenue (multiply by
    the customer's margin share for lifetime value).
    """

    revenue_point: NDArray[np.float64]
    revenue: NDArray[np.float64]
    alive_point: NDArray[np.float64]
    alive: NDArray[np.float64]


def value_draws(
    purchase: ParameterDraws,
    spend: ParameterDraws,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    *,
    horizon_months: int = 36,
    annual_discount_rate: float = 0.10,
    time_unit_per_month: float = WEEKS_PER_MONTH,
    grid_step: float = 1.0,
) -> ValueDraws:
    """Discounted expected revenue and P(alive) of every customer at every parameter draw.

    The purchase and spend draws are paired by position (their likelihoods are separate, so
    independent draws are right). The costly term, the discounted purchases of an alive
    customer, depends on (x, T): at the draws it is evaluated on T rounded to ``grid_step``
    time units and applied as a ratio to the exact value at the fit (it is smooth in T), which
    cuts the number of hypergeometric evaluations by 3-5x; P(alive) and the expected spend are
    evaluated exactly at every draw.
    """
    if len(purchase.draws) != len(spend.draws):
        raise ValueError("purchase and spend draws must have as many draws")
    x = np.asarray(frequency, dtype=np.float64).ravel()
    t_x = np.asarray(recency, dtype=np.float64).ravel()
    big_t = np.asarray(T, dtype=np.float64).ravel()
    z = np.asarray(monetary_value, dtype=np.float64).ravel()
    settings = {
        "horizon_months": horizon_months,
        "annual_discount_rate": annual_discount_rate,
        "time_unit_per_month": time_unit_per_month,
    }
    purchase_fit, spend_fit = purchase.estimate_model(), spend.estimate_model()
    grid_t = np.maximum(np.round(big_t / grid_step) * grid_step, 0.0)
    exact = discounted_purchases(purchase_fit, x, big_t, **settings)
    on_grid = discounted_purchases(purchase_fit, x, grid_t, **settings)
    with np.errstate(divide="ignore", invalid="ignore"):
        correction = np.where(on_grid > 0, exact / on_grid, 1.0)
    alive_point = purchase_fit.probability_alive(x, t_x, big_t)
    revenue_point = alive_point * exact * spend_fit.expected_spend(x, z)
    n_draws = len(purchase.draws)
    revenue = np.empty((x.shape[0], n_draws))
    alive = np.empty((x.shape[0], n_draws))
    for d, (purchase_model, spend_model) in enumerate(
        zip(purchase.models(), spend.models(), strict=True)
    ):
        alive[:, d] = purchase_model.probability_alive(x, t_x, big_t)
        purchases = discounted_purchases(purchase_model, x, grid_t, **settings) * correction
        revenue[:, d] = alive[:, d] * purchases * spend_model.expected_spend(x, z)
    return ValueDraws(revenue_point, revenue, alive_point, alive)


def draw_basis(
    deviations: NDArray[np.float64], rank: int, *, sample: int = 20_000, random_state: int = 0
) -> tuple[NDArray[np.float64], float]:
    """``rank`` orthonormal draw patterns (shape (rank, draws)) spanning the deviations best.

    From the SVD of a random sample of rows of ``deviations`` (customers x draws). Also
    returns the share of the sample's sum of squares the patterns capture.
    """
    rng = np.random.default_rng(random_state)
    rows = deviations
    if deviations.shape[0] > sample:
        rows = deviations[rng.choice(deviations.shape[0], sample, replace=False)]
    _, singular, vt = np.linalg.svd(rows, full_matrices=False)
    rank = min(rank, vt.shape[0])
    total = float(np.sum(singular**2))
    captured = float(np.sum(singular[:rank] ** 2) / total) if total > 0 else 1.0
    return vt[:rank], captured


def loadings(deviations: NDArray[np.float64], basis: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each row's coordinates on the orthonormal ``basis``: shape (rows, rank)."""
    return deviations @ basis.T


def scope_total_draws(
    point_total: float, loading_sums: ArrayLike, basis: ArrayLike
) -> NDArray[np.float64]:
    """A scope's total at every draw from the sums of its customers' points and loadings."""
    return point_total + np.asarray(loading_sums, dtype=np.float64) @ np.asarray(
        basis, dtype=np.float64
    )


def total_interval(draws: ArrayLike, level: float = 0.9) -> tuple[float, float]:
    """Equal-tailed ``level`` interval of a total from its draws."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    low, high = np.quantile(np.asarray(draws, dtype=np.float64), [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


class DropoutScaled:
    """A fitted purchase model whose customers, from now on, leave ``factor`` times as fast.

    Wraps a :class:`ParetoNBDModel` or :class:`BetaGeoModel` and changes only the future:
    P(alive) given the history stays the fitted one, the expected purchases of an alive
    customer use the scaled dropout.

    - Pareto/NBD: an alive customer's dropout rate given their history is
      Gamma(s, beta + T); scaling it by ``factor`` is the same as dividing beta + T by
      ``factor`` in the expected-purchases formula (exact).
    - BG/NBD: the dropout probability after a purchase is Beta(a, b) across customers; its
      mean a / (a + b) is scaled by ``factor`` with b' = (a + b) / factor - a, and an alive
      customer's is then Beta(a, b' + x) given their x purchases, as in the model (the
      population mean exactly, each customer's approximately; factors below (a + b) / a).
    """

    def __init__(self, model: object, factor: float) -> None:
        if not (np.isfinite(factor) and factor > 0):
            raise ValueError(f"the dropout factor must be > 0, got {factor}")
        self.model = model
        self.factor = float(factor)

    def _alive_expectation(self, t: NDArray, x: NDArray, T: NDArray) -> NDArray:
        params = self.model.params_
        if "s" in params:  # Pareto/NBD
            r, alpha, s, beta = (params[k] for k in ("r", "alpha", "s", "beta"))
            scale = (beta + T) / self.factor
            from dashboard.domain.clv.models.pareto_nbd import _expm1_ratio

            lifetime = scale * _expm1_ratio(-(s - 1.0), np.log1p(t / scale))
            return np.maximum((r + x) / (alpha + T) * lifetime, 0.0)
        r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
        shifted = (a + b) / self.factor - a
        if shifted <= 0:
            raise ValueError(
                f"dropout x{self.factor:g} is beyond what BG/NBD can express with "
                f"a = {a:.3g}, b = {b:.3g} (at most x{(a + b) / a:.2f})"
            )
        model = type(self.model).from_params({"r": r, "alpha": alpha, "a": a, "b": shifted})
        return model._alive_expectation(t, x, T)


def blocks(n: int, size: int = BLOCK) -> Iterator[slice]:
    """Slices of at most ``size`` rows covering ``range(n)``."""
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


@dataclass(frozen=True)
class ValueUncertainty:
    """What a fit stores about the uncertainty of its lifetime values and P(alive).

    Per customer: ``clv_low``/``clv_high`` (the ``level`` interval of their lifetime value,
    currency), ``clv_loadings`` (customers x ``clv_rank``) and ``alive_loadings``
    (customers x ``alive_rank``). Per fit: ``clv_basis`` and ``alive_basis`` (rank x draws)
    and the share of the deviations' sum of squares each captures on the sample.
    """

    level: float
    clv_low: NDArray[np.float64]
    clv_high: NDArray[np.float64]
    clv_loadings: NDArray[np.float64]
    alive_loadings: NDArray[np.float64]
    clv_basis: NDArray[np.float64]
    alive_basis: NDArray[np.float64]
    clv_captured: float
    alive_captured: float


def lifetime_value_uncertainty(
    purchase: ParameterDraws,
    spend: ParameterDraws,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    margin_share: ArrayLike,
    *,
    horizon_months: int = 36,
    annual_discount_rate: float = 0.10,
    time_unit_per_month: float = WEEKS_PER_MONTH,
    level: float = 0.9,
    clv_rank: int = 8,
    alive_rank: int = 6,
    sample: int = 20_000,
    random_state: int = 0,
) -> ValueUncertainty:
    """Per-customer intervals and the compressed draws of lifetime value and P(alive).

    Two passes, so memory stays at a block of customers whatever their number: the draw
    patterns come from a random sample of ``sample`` customers, then every block of
    customers is evaluated at every draw for its interval ends and loadings.
    """
    columns = [np.asarray(c, dtype=np.float64).ravel() for c in (frequency, recency, T)]
    z = np.asarray(monetary_value, dtype=np.float64).ravel()
    margin = np.asarray(margin_share, dtype=np.float64).ravel()
    n = columns[0].shape[0]
    settings = {
        "horizon_months": horizon_months,
        "annual_discount_rate": annual_discount_rate,
        "time_unit_per_month": time_unit_per_month,
    }
    rng = np.random.default_rng(random_state)
    picked = np.sort(rng.choice(n, sample, replace=False)) if n > sample else np.arange(n)
    drawn = value_draws(purchase, spend, *(c[picked] for c in columns), z[picked], **settings)
    clv_basis, clv_captured = draw_basis(
        (drawn.revenue - drawn.revenue_point[:, None]) * margin[picked, None], clv_rank
    )
    alive_basis, alive_captured = draw_basis(drawn.alive - drawn.alive_point[:, None], alive_rank)
    low, high = np.empty(n), np.empty(n)
    clv_loadings = np.empty((n, clv_basis.shape[0]))
    alive_loadings = np.empty((n, alive_basis.shape[0]))
    quantiles = [(1 - level) / 2, (1 + level) / 2]
    for rows in blocks(n):
        drawn = value_draws(purchase, spend, *(c[rows] for c in columns), z[rows], **settings)
        values = drawn.revenue * margin[rows, None]
        low[rows], high[rows] = np.quantile(values, quantiles, axis=1)
        clv_loadings[rows] = loadings(
            values - (drawn.revenue_point * margin[rows])[:, None], clv_basis
        )
        alive_loadings[rows] = loadings(drawn.alive - drawn.alive_point[:, None], alive_basis)
    return ValueUncertainty(
        level=float(level),
        clv_low=low,
        clv_high=high,
        clv_loadings=clv_loadings,
        alive_loadings=alive_loadings,
        clv_basis=clv_basis,
        alive_basis=alive_basis,
        clv_captured=clv_captured,
        alive_captured=alive_captured,
    )

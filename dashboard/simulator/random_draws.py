"""Sampling helpers shared by the simulation: categorical draws and Latin hypercube sampling.

Every helper draws from the generator it is given, in a fixed order; callers draw in the order
of :func:`dashboard.simulator.portfolio.simulate_chunk`, so a seed always gives the same data.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import special


def categorical(
    rng: np.random.Generator, probabilities: np.ndarray, *, stratified: bool = False
) -> np.ndarray:
    """One draw per row of ``probabilities`` (rows sum to 1)."""
    cumulative = np.cumsum(probabilities, axis=1)
    cumulative[:, -1] = 1.0
    n = len(probabilities)
    u = stratified_uniform(rng, n) if stratified else rng.random(n)
    return (u[:, None] > cumulative).sum(axis=1)


def stratified_uniform(rng: np.random.Generator, n: int) -> np.ndarray:
    """Uniforms with exactly one draw in each of ``n`` equal strata, in random order.

    Customer-level traits are drawn through their quantile functions from these (Latin
    hypercube sampling): marginals stay exact, and even 1,000 customers cover the tails, so
    portfolio totals (and the whale curve) vary far less between seeds.
    """
    return (rng.permutation(n) + rng.random(n)) / n


def quantile(inverse_cdf: Callable[[np.ndarray], np.ndarray], u: np.ndarray) -> np.ndarray:
    """``inverse_cdf(u)`` interpolated on a grid in logit(u): exact scipy inverses are slow."""
    grid = np.linspace(-14.0, 14.0, 4001)
    return np.interp(special.logit(u), grid, inverse_cdf(special.expit(grid)))


def stratified_choice(rng: np.random.Generator, n: int, shares: np.ndarray) -> np.ndarray:
    """Category codes in the given shares (to the nearest customer), in random order."""
    cumulative = np.cumsum(shares / shares.sum())
    return np.searchsorted(cumulative, stratified_uniform(rng, n), side="right").clip(
        0, len(shares) - 1
    )

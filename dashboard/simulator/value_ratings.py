"""Value ratings: importance and performance per attribute, from each needs group's profile.

A customer's own taste is stable between ratings and answers add noise each time, so
clustering the importance answers recovers the latent needs groups.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from dashboard.simulator.customers import CustomerTraits
from dashboard.simulator.parameters import (
    ATTRIBUTES,
    NEEDS_GROUP_PROFILES,
    DemoParameters,
    to_dates,
)


def simulate_value_ratings(
    rng: np.random.Generator,
    p: DemoParameters,
    start: date,
    horizon: int,
    customer_id: np.ndarray,
    people: CustomerTraits,
) -> pd.DataFrame:
    """The ``value_ratings`` table: importance and performance per attribute, from the needs
    group's profile plus noise; about a third of the raters rate twice.
    """
    acquisition_day, group, satisfaction = people.acquisition_day, people.group, people.satisfaction
    n = len(customer_id)
    first_possible = acquisition_day + 14
    raters = np.flatnonzero((rng.random(n) < p.rating_share) & (first_possible < horizon))
    first = first_possible[raters] + np.floor(
        rng.random(raters.size) * (horizon - first_possible[raters])
    ).astype(np.int64)
    # A second rating 4-12 months after the first, or before it when the history ends first.
    gap = rng.integers(120, 366, raters.size)
    second = np.where(first + gap < horizon, first + gap, first - gap)
    twice = (rng.random(raters.size) < p.second_rating_share) & (second >= first_possible[raters])
    who = np.concatenate([raters, raters[twice]])
    day = np.concatenate([first, second[twice]])
    n_att = len(ATTRIBUTES)
    importance_mean = np.array([g.importance for g in NEEDS_GROUP_PROFILES])
    performance_mean = np.array([g.performance for g in NEEDS_GROUP_PROFILES])
    # A customer's own taste is stable between ratings; answers add noise each time.
    taste = np.zeros((n, n_att))
    taste[raters] = rng.normal(0, 0.6, (raters.size, n_att))
    g = group[who]
    importance = importance_mean[g] + taste[who] + rng.normal(0, 0.9, (who.size, n_att))
    performance = (
        performance_mean[g] + 0.5 * satisfaction[who, None] + rng.normal(0, 1.0, (who.size, n_att))
    )
    order = np.lexsort((who, day))
    who, day = who[order], day[order]
    return pd.DataFrame(
        {
            "customer_id": np.repeat(customer_id[who], n_att),
            "rated_at": to_dates(start, np.repeat(day, n_att)),
            "attribute": np.tile(np.array(ATTRIBUTES), who.size),
            "importance": np.clip(np.rint(importance[order]), 1, 10).astype(np.int32).ravel(),
            "performance": np.clip(np.rint(performance[order]), 1, 10).astype(np.int32).ravel(),
        }
    )

"""Referrals: referral customers matched to loyal referrers, and referrals that did not convert.

Repeat buyers refer with weight orders x e^(0.7 x latent satisfaction); a referral customer's
referrer was acquired before it and still buying then. A referral customer for whom no earlier
customer exists becomes a direct acquisition.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pandas as pd

from dashboard.simulator.customers import DIRECT, REFERRAL, CustomerTraits
from dashboard.simulator.parameters import DemoParameters, to_dates


def simulate_referrals(
    rng: np.random.Generator,
    p: DemoParameters,
    last_id: int,
    start: date,
    customer_id: np.ndarray,
    people: CustomerTraits,
    active_until: np.ndarray,
    order_customer: np.ndarray,
) -> tuple[pd.DataFrame, CustomerTraits]:
    """The ``referrals`` table, and the customers with their final acquisition channels.

    Referral ids run from ``last_id + 1`` in date order. Referral customers for whom no
    earlier customer exists are returned re-labelled as direct acquisitions.
    """
    n = len(customer_id)
    acquisition_day, satisfaction = people.acquisition_day, people.satisfaction
    channel = people.channel.copy()
    # Referrals: referral customers are matched to loyal customers active at the time.
    n_orders_by_customer = np.bincount(order_customer, minlength=n)
    referred_idx = np.flatnonzero(channel == REFERRAL)
    referrer_idx, referred_day, unmatched = _match_referrers(
        rng, acquisition_day, active_until, n_orders_by_customer, satisfaction, referred_idx
    )
    channel[referred_idx[unmatched]] = DIRECT
    referred_idx = referred_idx[~unmatched]
    referrals = _referrals(
        rng,
        p,
        last_id,
        customer_id,
        acquisition_day,
        active_until,
        n_orders_by_customer,
        satisfaction,
        referred_idx,
        referrer_idx,
        referred_day,
        start,
    )
    return referrals, dataclasses.replace(people, channel=channel)


def _loyalty_weight(n_orders: np.ndarray, satisfaction: np.ndarray) -> np.ndarray:
    # Repeat buyers who are satisfied refer the most.
    weight = np.where(n_orders >= 2, n_orders * np.exp(0.7 * satisfaction), 0.0)
    if weight.sum() <= 0:
        weight = np.ones_like(weight, dtype=float)
    return weight / weight.sum()


def _match_referrers(
    rng: np.random.Generator,
    acquisition_day: np.ndarray,
    active_until: np.ndarray,
    n_orders: np.ndarray,
    satisfaction: np.ndarray,
    referred_idx: np.ndarray,
    tries: int = 8,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pick a referrer for each referred customer: loyal, acquired earlier, still active.

    Returns the referrer index, the referral day and a mask of referred customers for whom no
    earlier customer exists (they are re-labelled as direct acquisitions).
    """
    m = referred_idx.size
    referrer = np.full(m, -1, dtype=np.int64)
    day = acquisition_day[referred_idx]
    if m:
        candidates = rng.choice(
            len(acquisition_day), size=(m, tries), p=_loyalty_weight(n_orders, satisfaction)
        )
        valid = (acquisition_day[candidates] < day[:, None]) & (
            active_until[candidates] >= day[:, None] - 30
        )
        has = valid.any(axis=1)
        referrer[has] = candidates[has, valid[has].argmax(axis=1)]
        # Fallback: any customer acquired before (acquisition days are sorted).
        earlier = np.searchsorted(acquisition_day, day, side="left")
        fallback = ~has & (earlier > 0)
        referrer[fallback] = np.floor(rng.random(fallback.sum()) * earlier[fallback]).astype(
            np.int64
        )
    unmatched = referrer < 0
    lag = rng.integers(0, 31, m)
    referral_day = np.maximum(day - lag, acquisition_day[np.maximum(referrer, 0)])
    return referrer[~unmatched], referral_day[~unmatched], unmatched


def _referrals(
    rng: np.random.Generator,
    p: DemoParameters,
    last_id: int,
    customer_id: np.ndarray,
    acquisition_day: np.ndarray,
    active_until: np.ndarray,
    n_orders: np.ndarray,
    satisfaction: np.ndarray,
    referred_idx: np.ndarray,
    referrer_idx: np.ndarray,
    referred_day: np.ndarray,
    start: date,
) -> pd.DataFrame:
    """Converted referrals plus referrals that did not convert, by loyal customers."""
    n_unconverted = rng.poisson(p.unconverted_referrals_per_conversion * max(referred_idx.size, 1))
    by = rng.choice(len(customer_id), size=n_unconverted, p=_loyalty_weight(n_orders, satisfaction))
    span = active_until[by] - acquisition_day[by] + 1
    day = acquisition_day[by] + np.floor(rng.random(by.size) * span).astype(np.int64)
    referrer = np.concatenate([referrer_idx, by])
    days = np.concatenate([referred_day, day])
    referred = pd.array(
        np.concatenate([customer_id[referred_idx], np.zeros(by.size, dtype=np.int64)]),
        dtype="Int64",
    )
    referred[referred_idx.size :] = pd.NA
    order = np.lexsort((referrer, days))
    return pd.DataFrame(
        {
            "referral_id": last_id + 1 + np.arange(referrer.size, dtype=np.int64),
            "referrer_id": customer_id[referrer[order]],
            "referred_customer_id": referred[order],
            "referred_at": to_dates(start, days[order]),
        }
    )

"""Subscriptions: a subscription line of business whose subscribers churn by a shifted-beta-
geometric process (Fader & Hardie 2007), with plan-specific parameters.

A share of the customers (:attr:`SubscriptionProfile` shares, ``subscriber_share`` in all)
take one subscription, a few days to a few weeks after their acquisition. Each subscriber
draws a churn probability ``theta ~ Beta(alpha, beta)`` of its plan and renews every month
with probability ``1 - theta``: the number of months paid is geometric, so across subscribers
the plan's retention follows the sBG curve, rising with tenure. The subscription ends that
many calendar months after its start (same day of the month, clipped to the month's end);
one still running at the history's end has no end date.

The draws come from a random stream of their own (``SUBSCRIPTION_STREAM``), so adding this
line of business left every other table of every seed as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

import numpy as np
import pandas as pd

#: Stream id of the subscription draws (the chunks use 1, the agents 0).
SUBSCRIPTION_STREAM = 2

#: Share of customers who also hold a subscription.
SUBSCRIBER_SHARE = 0.15

#: Days from acquisition to the subscription's start: uniform 0 .. this.
START_LAG_DAYS = 45


@dataclass(frozen=True)
class SubscriptionProfile:
    """A plan: how many subscribers take it, what it costs a month, how they churn.

    Attributes
    ----------
    share:
        Share of subscribers on this plan.
    monthly_value:
        Recurring revenue per month (currency units).
    alpha, beta:
        Beta distribution of the monthly churn probability (sBG); mean ``alpha / (alpha +
        beta)``.
    """

    share: float
    monthly_value: float
    alpha: float
    beta: float


PLAN_PROFILES = MappingProxyType(
    {
        "basic": SubscriptionProfile(share=0.50, monthly_value=15.0, alpha=0.9, beta=6.0),
        "plus": SubscriptionProfile(share=0.35, monthly_value=35.0, alpha=1.1, beta=12.0),
        "premium": SubscriptionProfile(share=0.15, monthly_value=80.0, alpha=0.7, beta=10.0),
    }
)
PLANS = tuple(PLAN_PROFILES)


def add_months(days: np.ndarray, months: np.ndarray) -> np.ndarray:
    """``days`` (datetime64[D]) plus whole calendar ``months``, day clipped to the month end."""
    month = days.astype("datetime64[M]")
    day_of_month = (days - month.astype("datetime64[D]")).astype(np.int64)
    target = month + months.astype(np.int64)
    month_length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(
        np.int64
    )
    return target.astype("datetime64[D]") + np.minimum(day_of_month, month_length - 1)


def simulate_subscriptions(
    rng: np.random.Generator,
    last_id: int,
    start: date,
    end: date,
    customer_id: np.ndarray,
    acquisition_day: np.ndarray,
) -> pd.DataFrame:
    """The ``subscriptions`` table of one chunk of customers.

    Parameters
    ----------
    rng:
        The chunk's subscription stream.
    last_id:
        Last subscription id used by earlier chunks.
    start, end:
        First and last day of the history.
    customer_id, acquisition_day:
        The chunk's customers and their acquisition days (0 = ``start``).
    """
    n = len(customer_id)
    subscriber = rng.random(n) < SUBSCRIBER_SHARE
    lag = rng.integers(0, START_LAG_DAYS + 1, size=n)
    start_day = acquisition_day + lag
    horizon = (end - start).days
    chosen = np.flatnonzero(subscriber & (start_day <= horizon))
    shares = np.array([PLAN_PROFILES[p].share for p in PLANS])
    plan = rng.choice(len(PLANS), size=len(chosen), p=shares / shares.sum())
    alpha = np.array([PLAN_PROFILES[p].alpha for p in PLANS])[plan]
    beta = np.array([PLAN_PROFILES[p].beta for p in PLANS])[plan]
    theta = rng.beta(alpha, beta)
    months_paid = rng.geometric(np.clip(theta, 1e-9, 1.0))  # 1, 2, ...: renewals + 1
    started = np.datetime64(start, "D") + start_day[chosen].astype("timedelta64[D]")
    ended = add_months(started, months_paid)
    ended_at = pd.Series(ended.astype("datetime64[us]"))
    ended_at[ended > np.datetime64(end, "D")] = pd.NaT
    monthly_value = np.array([PLAN_PROFILES[p].monthly_value for p in PLANS])[plan]
    return pd.DataFrame(
        {
            "subscription_id": last_id + 1 + np.arange(len(chosen), dtype=np.int64),
            "customer_id": customer_id[chosen].astype(np.int64),
            "plan": np.array(PLANS, dtype=object)[plan],
            "started_at": started.astype("datetime64[us]"),
            "ended_at": ended_at.to_numpy(),
            "monthly_value": monthly_value.astype(np.float64),
        }
    )

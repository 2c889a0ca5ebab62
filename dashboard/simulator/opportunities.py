"""Opportunities: deals with existing customers and with prospects, won, lost or still open.

Win rates differ by needs group and region and drift over the history; loss reasons follow
the group.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from scipy import special

from dashboard.simulator.customers import CustomerTraits
from dashboard.simulator.parameters import (
    DAYS_PER_YEAR,
    HISTORY_YEARS,
    LOSS_REASONS,
    NEEDS_GROUP_PROFILES,
    REGION_PROFILES,
    DemoParameters,
    to_dates,
)
from dashboard.simulator.random_draws import categorical


def simulate_opportunities(
    rng: np.random.Generator,
    p: DemoParameters,
    last_id: int,
    start: date,
    horizon: int,
    customer_id: np.ndarray,
    people: CustomerTraits,
    active_until: np.ndarray,
) -> pd.DataFrame:
    """The ``opportunities`` table, ids from ``last_id + 1`` in order of opening.

    Deals with existing customers (while active) and with prospects, won, lost or open.
    """
    n = len(customer_id)
    acquisition_day, group, region = people.acquisition_day, people.group, people.region
    mean_list_value = people.mean_list_value
    span = active_until - acquisition_day + 1
    k = rng.poisson(p.opportunities_per_customer_year * span / DAYS_PER_YEAR)
    who = np.repeat(np.arange(n), k)
    existing_day = acquisition_day[who] + np.floor(rng.random(who.size) * span[who]).astype(int)
    existing_amount = mean_list_value[who] * 6 * np.exp(rng.normal(-0.18, 0.6, who.size))

    n_prospects = rng.poisson(p.prospects_per_customer * n)
    prospect_group = rng.choice(
        len(NEEDS_GROUP_PROFILES), size=n_prospects, p=[g.share for g in NEEDS_GROUP_PROFILES]
    )
    prospect_day = np.floor(rng.random(n_prospects) * horizon).astype(np.int64)
    prospect_amount = 500.0 * np.exp(rng.normal(0, 0.8, n_prospects))

    region_shift = np.array([r[3] for r in REGION_PROFILES.values()])
    opened = np.concatenate([existing_day, prospect_day])
    grp = np.concatenate([group[who], prospect_group])
    amount = np.round(np.concatenate([existing_amount, prospect_amount]), 2)
    shift = np.concatenate([region_shift[region[who]], np.full(n_prospects, -0.5)])
    win_shift = np.array([g.win_shift for g in NEEDS_GROUP_PROFILES])[grp]
    drift = np.array([g.win_drift_per_year for g in NEEDS_GROUP_PROFILES])[grp]
    years_from_middle = opened / DAYS_PER_YEAR - HISTORY_YEARS / 2
    win_probability = special.expit(0.1 + win_shift + shift + drift * years_from_middle)
    cycle = np.maximum(
        1, np.rint(p.opportunity_cycle_days * np.exp(rng.normal(0, 0.6, opened.size)))
    ).astype(np.int64)
    closed = opened + cycle
    is_open = closed >= horizon
    won = ~is_open & (rng.random(opened.size) < win_probability)
    lost = ~is_open & ~won
    reasons = np.array([g.loss_reasons for g in NEEDS_GROUP_PROFILES])
    reason = categorical(rng, reasons[grp])

    outcome = np.where(is_open, "open", np.where(won, "won", "lost"))
    loss_reason = np.where(lost, np.array(LOSS_REASONS, dtype=object)[reason], None)
    customer = pd.array(
        np.concatenate([customer_id[who], np.zeros(n_prospects, dtype=np.int64)]), dtype="Int64"
    )
    customer[who.size :] = pd.NA
    closed_at = to_dates(start, closed)
    closed_at[is_open] = np.datetime64("NaT")
    order = np.argsort(opened, kind="stable")
    return pd.DataFrame(
        {
            "opportunity_id": last_id + 1 + np.arange(opened.size, dtype=np.int64),
            "customer_id": customer[order],
            "opened_at": to_dates(start, opened[order]),
            "closed_at": closed_at[order],
            "outcome": pd.array(outcome[order], dtype="str"),
            "amount": amount[order],
            "loss_reason": pd.array(loss_reason[order], dtype="str"),
        }
    )

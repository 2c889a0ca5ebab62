"""Service: the agents and the ``service_contacts`` table.

Agents differ in first-contact resolution and speed (:func:`make_agents`); when and whether a
contact was resolved comes from the histories (:mod:`dashboard.simulator.purchases`), and
:func:`simulate_contacts` adds the channel, handle time and cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from dashboard.simulator.customers import CustomerTraits
from dashboard.simulator.parameters import (
    AGENT_STREAM,
    CONTACT_CHANNEL_PROFILES,
    CONTACT_CHANNELS,
    NEEDS_GROUP_PROFILES,
    DemoSpec,
    to_dates,
)
from dashboard.simulator.purchases import Histories
from dashboard.simulator.random_draws import categorical


def make_agents(spec: DemoSpec) -> pd.DataFrame:
    """The service agents, shared by all chunks.

    Agents differ in first-contact resolution and speed, and the fastest quarter resolve less
    than the median agent: ranking agents by handle time and by value disagree.

    Returns
    -------
    DataFrame with ``agent_id`` ("A001", ...), ``fcr_rate`` (probability of resolving a
    contact at first contact) and ``speed_factor`` (multiplier on handle time; < 1 = fast).
    """
    p = spec.params
    rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(AGENT_STREAM,)))
    n = spec.n_agents
    speed = np.exp(rng.normal(0.0, p.agent_speed_sigma, n))
    a = p.agent_fcr_mean * p.agent_fcr_concentration
    fcr = np.sort(rng.beta(a, p.agent_fcr_concentration - a, n))
    # Fastest quarter of agents take FCR rates from the lower half (shuffled), the others the
    # rest at random: speed and value rank agents differently, yet handle time stays nearly
    # uncorrelated with resolution at the contact level.
    by_speed = np.argsort(speed)
    n_fast = max(1, n // 4)
    lower = rng.permutation(n // 2)[:n_fast]
    rest = rng.permutation(np.setdiff1d(np.arange(n), lower))
    fcr_rate = np.empty(n)
    fcr_rate[by_speed[:n_fast]] = fcr[lower]
    fcr_rate[by_speed[n_fast:]] = fcr[rest]
    width = max(3, len(str(n)))
    return pd.DataFrame(
        {
            "agent_id": [f"A{i:0{width}d}" for i in range(1, n + 1)],
            "fcr_rate": fcr_rate,
            "speed_factor": speed,
        }
    )


@dataclass(frozen=True)
class ServiceContacts:
    """The ``service_contacts`` table, and what the surveys need to know of each contact.

    The arrays are per contact in simulation order (as in
    :class:`~dashboard.simulator.purchases.Histories`), not in the table's order.

    Attributes
    ----------
    frame:
        The ``service_contacts`` table, ids in date order.
    customer, day, contact_id, resolved:
        Customer index in the chunk, day, contact id and first-contact resolution.
    handle_seconds, median_seconds:
        Handle time, and the median handle time of the contact's channel and agent.
    """

    frame: pd.DataFrame
    customer: np.ndarray
    day: np.ndarray
    contact_id: np.ndarray
    resolved: np.ndarray
    handle_seconds: np.ndarray
    median_seconds: np.ndarray


def simulate_contacts(
    rng: np.random.Generator,
    last_id: int,
    start: date,
    customer_id: np.ndarray,
    people: CustomerTraits,
    hist: Histories,
    agents: pd.DataFrame,
) -> ServiceContacts:
    """Channel, handle time and cost of each contact; ids from ``last_id + 1`` in date order."""
    cc = hist.contact_customer
    n_contacts = len(cc)
    contact_day = np.floor(hist.contact_time).astype(np.int64)
    mix = np.array([g.contact_channel_mix for g in NEEDS_GROUP_PROFILES])
    contact_channel = categorical(rng, mix[people.group[cc]])
    channel_table = np.array(list(CONTACT_CHANNEL_PROFILES.values()))
    speed = agents["speed_factor"].to_numpy()[hist.contact_agent]
    median_seconds = channel_table[contact_channel, 0] * speed
    handle_seconds = np.clip(
        np.rint(median_seconds * np.exp(rng.normal(0, channel_table[contact_channel, 1]))),
        20,
        86_400,
    ).astype(np.int64)
    contact_cost = np.round(
        channel_table[contact_channel, 2] + channel_table[contact_channel, 3] * handle_seconds / 60,
        2,
    )
    contact_sort = np.lexsort((cc, contact_day))
    contact_id_sorted = last_id + 1 + np.arange(n_contacts, dtype=np.int64)
    contact_id = np.empty(n_contacts, dtype=np.int64)
    contact_id[contact_sort] = contact_id_sorted
    contact_channel_names = np.array(CONTACT_CHANNELS)
    frame = pd.DataFrame(
        {
            "contact_id": contact_id_sorted,
            "customer_id": customer_id[cc[contact_sort]],
            "agent_id": agents["agent_id"].to_numpy()[hist.contact_agent[contact_sort]],
            "opened_at": to_dates(start, contact_day[contact_sort]),
            "channel": contact_channel_names[contact_channel[contact_sort]],
            "handle_seconds": handle_seconds[contact_sort].astype(np.int32),
            "first_contact_resolved": hist.contact_resolved[contact_sort],
            "cost": contact_cost[contact_sort],
        }
    )
    return ServiceContacts(
        frame=frame,
        customer=cc,
        day=contact_day,
        contact_id=contact_id,
        resolved=hist.contact_resolved,
        handle_seconds=handle_seconds,
        median_seconds=median_seconds,
    )

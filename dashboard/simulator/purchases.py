"""Purchases: the BG/NBD-like order and dropout histories, and the ``orders`` table.

:func:`simulate_histories` runs each customer's competing order and service-contact processes
until dropout or the end of the history (the contacts feed :mod:`dashboard.simulator.service`);
:func:`simulate_orders` gives the orders their values, discounts and cost to serve.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from dashboard.simulator.customers import CustomerTraits
from dashboard.simulator.parameters import (
    NEEDS_GROUP_PROFILES,
    REGION_PROFILES,
    DemoParameters,
    to_dates,
)


@dataclass
class Histories:
    """Every order and service contact of a chunk's customers, in simulation order.

    Customers are indices into the chunk (0 to n - 1) and times are fractional days from the
    history's first day; ``dropout_time`` is per customer (``inf`` if still active at the end).
    """

    order_customer: np.ndarray
    order_time: np.ndarray
    contact_customer: np.ndarray
    contact_time: np.ndarray
    contact_agent: np.ndarray
    contact_resolved: np.ndarray
    dropout_time: np.ndarray


def simulate_histories(
    rng: np.random.Generator,
    acquisition_day: np.ndarray,
    orders_per_day: np.ndarray,
    contacts_per_day: np.ndarray,
    dropout: np.ndarray,
    agents: pd.DataFrame,
    horizon: int,
    params: DemoParameters,
) -> Histories:
    """Orders and service contacts of every customer until dropout or the end of the history.

    Orders and contacts are competing Poisson processes while the customer is active; after
    each order the customer drops out with its current dropout probability (BG/NBD), and each
    contact changes that probability depending on whether it was resolved. All customers
    advance one event per loop iteration, so the loop runs as many times as the busiest
    customer has events, each iteration vectorised over the customers still active.
    """
    n = len(acquisition_day)
    dropout = dropout.copy()
    agent_fcr = agents["fcr_rate"].to_numpy()
    n_agents = len(agent_fcr)
    time = acquisition_day.astype(float)
    pending_order = np.full(n, np.inf)
    dropout_time = np.full(n, np.inf)
    order_customer = [np.arange(n)]
    order_time = [time.copy()]
    contact_customer: list[np.ndarray] = []
    contact_time: list[np.ndarray] = []
    contact_agent: list[np.ndarray] = []
    contact_resolved: list[np.ndarray] = []

    # The first order is on the acquisition date; dropout may follow it (one-time buyers).
    leaves = rng.random(n) < dropout
    dropout_time[leaves] = time[leaves]
    active = np.flatnonzero(~leaves)
    total_rate = orders_per_day + contacts_per_day
    while active.size:
        candidate = time[active] + rng.exponential(1.0, active.size) / total_rate[active]
        pending = pending_order[active]
        followup = pending < candidate
        event_time = np.where(followup, pending, candidate)
        inside = event_time < horizon
        active, event_time, followup = active[inside], event_time[inside], followup[inside]
        if not active.size:
            break
        time[active] = event_time
        pending_order[active[followup]] = np.inf
        is_order = followup | (
            rng.random(active.size) * total_rate[active] < orders_per_day[active]
        )

        buyers, bought_at = active[is_order], event_time[is_order]
        order_customer.append(buyers)
        order_time.append(bought_at)
        leaving = rng.random(buyers.size) < dropout[buyers]
        dropout_time[buyers[leaving]] = bought_at[leaving]

        callers, called_at = active[~is_order], event_time[~is_order]
        agent = rng.integers(0, n_agents, callers.size)
        resolved = rng.random(callers.size) < agent_fcr[agent]
        contact_customer.append(callers)
        contact_time.append(called_at)
        contact_agent.append(agent)
        contact_resolved.append(resolved)
        unresolved = callers[~resolved]
        churned = rng.random(unresolved.size) < params.unresolved_churn
        dropout_time[unresolved[churned]] = called_at[~resolved][churned]
        dropout[unresolved] = np.minimum(
            0.95,
            dropout[unresolved] * params.unresolved_dropout_multiplier
            + params.unresolved_dropout_add,
        )
        helped = callers[resolved]
        dropout[helped] *= params.resolved_dropout_multiplier
        gets_followup = (rng.random(helped.size) < params.resolved_followup_order) & np.isinf(
            pending_order[helped]
        )
        pending_order[helped[gets_followup]] = called_at[resolved][gets_followup] + rng.uniform(
            1.0, 30.0, gets_followup.sum()
        )
        active = active[np.isinf(dropout_time[active])]

    def joined(parts: list[np.ndarray], dtype: str) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.empty(0, dtype=dtype)

    return Histories(
        order_customer=joined(order_customer, "int64"),
        order_time=joined(order_time, "float64"),
        contact_customer=joined(contact_customer, "int64"),
        contact_time=joined(contact_time, "float64"),
        contact_agent=joined(contact_agent, "int64"),
        contact_resolved=joined(contact_resolved, "bool"),
        dropout_time=dropout_time,
    )


def simulate_orders(
    rng: np.random.Generator,
    p: DemoParameters,
    last_id: int,
    start: date,
    customer_id: np.ndarray,
    people: CustomerTraits,
    hist: Histories,
) -> pd.DataFrame:
    """The ``orders`` table, ids from ``last_id + 1`` in date order.

    List value around the customer's mean; discount cuts revenue, not cost; cost to serve adds
    a fixed fee, express delivery and international shipping.
    """
    region_table = np.array(list(REGION_PROFILES.values()))
    oc = hist.order_customer
    n_orders = len(oc)
    shape = p.order_value_order_shape
    list_value = rng.gamma(shape, people.mean_list_value[oc] / shape)
    order_discount = np.clip(people.discount[oc] * rng.uniform(0.5, 1.5, n_orders), 0.0, 0.8)
    revenue = np.round(np.maximum(list_value * (1 - order_discount), 0.01), 2)
    fulfilment = (
        p.fulfilment_fee
        + p.fulfilment_share * list_value
        + np.array([g.express_fee for g in NEEDS_GROUP_PROFILES])[people.group[oc]]
        + region_table[people.region[oc], 2]
    )
    order_cost = np.round(list_value * people.cogs_ratio[oc] + fulfilment, 2)
    order_day = np.floor(hist.order_time).astype(np.int64)
    order_sort = np.lexsort((oc, order_day))
    return pd.DataFrame(
        {
            "order_id": last_id + 1 + np.arange(n_orders, dtype=np.int64),
            "customer_id": customer_id[oc[order_sort]],
            "ordered_at": to_dates(start, order_day[order_sort]),
            "revenue": revenue[order_sort],
            "cost": order_cost[order_sort],
        }
    )

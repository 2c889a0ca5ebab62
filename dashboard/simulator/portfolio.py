"""The chunks of the portfolio: one random stream per chunk, the tables simulated in turn.

:func:`simulate_chunk` draws everything about one block of customers from its own stream, in
a fixed order (customers, histories, orders, contacts, surveys, referrals, acquisition cost,
value ratings, opportunities; subscriptions from a stream of their own): the order of the
steps is the order of the random draws, so reordering them changes the data of every seed.
:func:`iter_demo_chunks` chains the chunks with unique ids; :func:`generate_demo`
concatenates them in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from dashboard.simulator.customers import customers_frame, draw_customers, truth_frame
from dashboard.simulator.opportunities import simulate_opportunities
from dashboard.simulator.parameters import (
    CHUNK_STREAM,
    DAYS_PER_YEAR,
    DEFAULT_END_DATE,
    TABLES,
    DemoParameters,
    DemoSpec,
)
from dashboard.simulator.purchases import simulate_histories, simulate_orders
from dashboard.simulator.referrals import simulate_referrals
from dashboard.simulator.service import make_agents, simulate_contacts
from dashboard.simulator.subscriptions import SUBSCRIPTION_STREAM, simulate_subscriptions
from dashboard.simulator.surveys import simulate_surveys
from dashboard.simulator.value_ratings import simulate_value_ratings


@dataclass(frozen=True)
class DemoChunk:
    """One chunk of the simulated portfolio.

    Attributes
    ----------
    index:
        Chunk number, from 0.
    frames:
        One DataFrame per contract table (keys of :data:`TABLES`), with the contract's columns.
    truth:
        The latent truth per customer, never written to the store: needs group, latent
        satisfaction (standard normal), purchase rate (orders per year), initial dropout
        probability, mean order list value (currency units), service propensity (contacts per
        year), whether a deal hunter and the mean discount (share of list price), and the date
        the customer dropped out (NaT if still active at the end).
    """

    index: int
    frames: dict[str, pd.DataFrame]
    truth: pd.DataFrame


@dataclass(frozen=True)
class IdCursor:
    """The last id used in each table, so that ids stay unique across chunks."""

    customers: int = 0
    orders: int = 0
    service_contacts: int = 0
    surveys: int = 0
    referrals: int = 0
    opportunities: int = 0
    subscriptions: int = 0

    def advanced(self, frames: dict[str, pd.DataFrame]) -> IdCursor:
        """The cursor after ``frames`` took their ids."""
        return IdCursor(
            customers=self.customers + len(frames["customers"]),
            orders=self.orders + len(frames["orders"]),
            service_contacts=self.service_contacts + len(frames["service_contacts"]),
            surveys=self.surveys + len(frames["surveys"]),
            referrals=self.referrals + len(frames["referrals"]),
            opportunities=self.opportunities + len(frames["opportunities"]),
            subscriptions=self.subscriptions + len(frames["subscriptions"]),
        )


def simulate_chunk(
    spec: DemoSpec,
    chunk_index: int,
    agents: pd.DataFrame,
    cursor: IdCursor = IdCursor(),  # noqa: B008 - frozen, never mutated
) -> DemoChunk:
    """Simulate one chunk of customers with everything they did.

    Parameters
    ----------
    spec:
        What to simulate.
    chunk_index:
        Which chunk (0-based); its size is ``spec.chunk_sizes()[chunk_index]`` and its random
        stream is seeded from ``(spec.seed, chunk_index)``.
    agents:
        The service agents (:func:`~dashboard.simulator.service.make_agents`).
    cursor:
        Last ids used by earlier chunks; this chunk's ids follow them.

    Returns
    -------
    DemoChunk
        The contract tables' rows for these customers, and their latent truth.
    """
    p = spec.params
    n = spec.chunk_sizes()[chunk_index]
    horizon = spec.horizon_days
    start = spec.start_date
    rng = np.random.default_rng(
        np.random.SeedSequence(spec.seed, spawn_key=(CHUNK_STREAM, chunk_index))
    )
    # The steps draw from ``rng`` in this order; keep it, or every seed's data change.
    people = draw_customers(rng, spec, n)
    hist = simulate_histories(
        rng,
        people.acquisition_day,
        people.orders_per_year / DAYS_PER_YEAR,
        people.contacts_per_year / DAYS_PER_YEAR,
        people.dropout,
        agents,
        horizon,
        p,
    )
    # Last day on which the customer was still a customer (the end of the history if active).
    active_until = np.minimum(hist.dropout_time, horizon - 1).astype(np.int64)
    customer_id = cursor.customers + 1 + np.arange(n, dtype=np.int64)

    orders = simulate_orders(rng, p, cursor.orders, start, customer_id, people, hist)
    contacts = simulate_contacts(
        rng, cursor.service_contacts, start, customer_id, people, hist, agents
    )
    surveys = simulate_surveys(
        rng, p, cursor.surveys, start, horizon, customer_id, people, hist.dropout_time, contacts
    )
    referrals, people = simulate_referrals(
        rng, p, cursor.referrals, start, customer_id, people, active_until, hist.order_customer
    )
    customers = customers_frame(rng, p, start, customer_id, people)
    value_ratings = simulate_value_ratings(rng, p, start, horizon, customer_id, people)
    opportunities = simulate_opportunities(
        rng, p, cursor.opportunities, start, horizon, customer_id, people, active_until
    )
    # Subscriptions draw from their own stream: the tables above stay as they were.
    subscription_rng = np.random.default_rng(
        np.random.SeedSequence(spec.seed, spawn_key=(SUBSCRIPTION_STREAM, chunk_index))
    )
    subscriptions = simulate_subscriptions(
        subscription_rng,
        cursor.subscriptions,
        start,
        spec.end_date,
        customer_id,
        people.acquisition_day,
    )
    frames = {
        "customers": customers,
        "orders": orders,
        "service_contacts": contacts.frame,
        "surveys": surveys,
        "referrals": referrals,
        "value_ratings": value_ratings,
        "opportunities": opportunities,
        "subscriptions": subscriptions,
    }
    truth = truth_frame(start, customer_id, people, hist.dropout_time)
    return DemoChunk(index=chunk_index, frames=frames, truth=truth)


def iter_demo_chunks(spec: DemoSpec) -> Iterator[DemoChunk]:
    """Simulate the portfolio chunk by chunk (bounded memory); ids are unique across chunks."""
    agents = make_agents(spec)
    cursor = IdCursor()
    for index in range(spec.n_chunks):
        chunk = simulate_chunk(spec, index, agents, cursor)
        cursor = cursor.advanced(chunk.frames)
        yield chunk


def generate_demo(
    n_customers: int = 20_000,
    seed: int = 42,
    *,
    end_date: date = DEFAULT_END_DATE,
    params: DemoParameters | None = None,
    with_truth: bool = False,
) -> dict[str, pd.DataFrame]:
    """The whole portfolio in memory (for tests, notebooks and small sizes).

    Returns one DataFrame per contract table, plus ``"truth"`` (the latent truth per
    customer, see :class:`DemoChunk`) when ``with_truth`` is set.
    """
    spec = DemoSpec(n_customers, seed, end_date, params or DemoParameters())
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
    truths = []
    for chunk in iter_demo_chunks(spec):
        for name in TABLES:
            parts[name].append(chunk.frames[name])
        truths.append(chunk.truth)
    frames = {name: pd.concat(parts[name], ignore_index=True) for name in TABLES}
    if with_truth:
        frames["truth"] = pd.concat(truths, ignore_index=True)
    return frames

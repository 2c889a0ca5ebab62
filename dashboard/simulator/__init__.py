"""A simulated customer portfolio for the demo store: pure, deterministic by seed, chunked.

The simulation plants the effects the dashboard's pages are built to find (see
``docs/demo-data.md`` for the full list and the figures they produce):

- purchase behaviour follows a BG/NBD-like process: each customer buys at a gamma-distributed
  rate (orders per year) and, after each order, silently drops out with a beta-distributed
  probability; order values follow a gamma-gamma-like model (a gamma-distributed mean per
  customer, gamma-distributed orders around it);
- a minority of customers earns most of the profit while others destroy it (discounts, cost to
  serve, heavy use of costly service, acquisition cost never earned back);
- acquisition channels differ in acquisition cost and in customer quality; referral customers
  are referred by loyal customers (``referrals.referred_customer_id``);
- latent satisfaction is only loosely tied to retention (Gaussian copula with the dropout
  probability), so satisfied customers leave and dissatisfied ones stay;
- an unresolved service contact makes the customer likelier to drop out, a resolved one less
  likely and sometimes triggers a follow-up order; handle time has no effect on retention;
  agents differ in first-contact resolution and speed, and the fastest are not the best;
- latent needs-based groups differ in what they value (``value_ratings``), in how well they are
  served, and in behaviour (spend, frequency, service use, discounts), so clustering finds them;
- opportunities (existing customers and prospects) whose win rates differ by group and region
  and drift over time;
- a subscription line of business: a share of customers subscribe to a plan and churn by a
  shifted-beta-geometric process with plan-specific parameters.

Nothing here touches a database: :func:`iter_demo_chunks` yields one :class:`DemoChunk` of
DataFrames per block of :data:`CHUNK_SIZE` customers, with exactly the contract's columns, and
``dashboard.services.demo.build_demo`` writes them. Every chunk draws from its own random
stream, seeded from ``(seed, chunk index)`` with :class:`numpy.random.SeedSequence`, so the
data depend only on the seed, the number of customers and the end date.

The modules, by what they simulate:

- :mod:`~dashboard.simulator.parameters`: sizes, dates, profiles, :class:`DemoParameters`,
  :class:`DemoSpec` and validation;
- :mod:`~dashboard.simulator.random_draws`: the shared sampling helpers;
- :mod:`~dashboard.simulator.customers`: acquisition, latent traits, names, the latent truth;
- :mod:`~dashboard.simulator.purchases`: order and dropout histories, the orders;
- :mod:`~dashboard.simulator.service`: the agents and the service contacts;
- :mod:`~dashboard.simulator.surveys`, :mod:`~dashboard.simulator.referrals`,
  :mod:`~dashboard.simulator.value_ratings`, :mod:`~dashboard.simulator.opportunities`,
  :mod:`~dashboard.simulator.subscriptions`;
- :mod:`~dashboard.simulator.portfolio`: one chunk from its stream, in draw order, and the
  chunks in turn.

``CHUNK_SIZE`` is read where :class:`DemoSpec` is defined: to change it (tests), patch
``dashboard.simulator.parameters.CHUNK_SIZE``, not the name re-exported here.
"""

from __future__ import annotations

from dashboard.simulator.parameters import (
    ATTRIBUTES,
    CHANNEL_PROFILES,
    CHANNELS,
    CHUNK_SIZE,
    CONTACT_CHANNEL_PROFILES,
    CONTACT_CHANNELS,
    DEFAULT_END_DATE,
    HISTORY_YEARS,
    LOSS_REASONS,
    MAX_CUSTOMERS,
    MIN_CUSTOMERS,
    NEEDS_GROUP_PROFILES,
    NEEDS_GROUPS,
    REGION_PROFILES,
    REGIONS,
    TABLES,
    ChannelProfile,
    DemoError,
    DemoParameters,
    DemoSpec,
    NeedsGroupProfile,
    validate_n_customers,
)
from dashboard.simulator.portfolio import (
    DemoChunk,
    IdCursor,
    generate_demo,
    iter_demo_chunks,
    simulate_chunk,
)
from dashboard.simulator.service import make_agents

__all__ = [
    "ATTRIBUTES",
    "CHANNELS",
    "CHANNEL_PROFILES",
    "CHUNK_SIZE",
    "CONTACT_CHANNELS",
    "CONTACT_CHANNEL_PROFILES",
    "DEFAULT_END_DATE",
    "HISTORY_YEARS",
    "LOSS_REASONS",
    "MAX_CUSTOMERS",
    "MIN_CUSTOMERS",
    "NEEDS_GROUPS",
    "NEEDS_GROUP_PROFILES",
    "REGIONS",
    "REGION_PROFILES",
    "TABLES",
    "ChannelProfile",
    "DemoChunk",
    "DemoError",
    "DemoParameters",
    "DemoSpec",
    "IdCursor",
    "NeedsGroupProfile",
    "generate_demo",
    "iter_demo_chunks",
    "make_agents",
    "simulate_chunk",
    "validate_n_customers",
]

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
  and drift over time.

Nothing here touches a database: :func:`iter_demo_chunks` yields one :class:`DemoChunk` of
DataFrames per block of :data:`CHUNK_SIZE` customers, with exactly the contract's columns, and
``dashboard.storage.demo.build_demo`` writes them. Every chunk draws from its own random
stream, seeded from ``(seed, chunk index)`` with :class:`numpy.random.SeedSequence`, so the
data depend only on the seed, the number of customers and the end date.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType

import numpy as np
import pandas as pd
from scipy import special, stats

MIN_CUSTOMERS = 1_000
MAX_CUSTOMERS = 1_000_000
#: Customers simulated (and written) per chunk: bounds memory for a million customers.
CHUNK_SIZE = 50_000
DEFAULT_END_DATE = date(2026, 9, 30)
#: Length of the simulated history: acquisitions and orders in the three years to the end date.
HISTORY_YEARS = 3

REGIONS = ("North", "South", "East", "West", "International")
CHANNELS = ("paid search", "social media", "referral", "partner", "direct")
NEEDS_GROUPS = (
    "price seekers",
    "quality seekers",
    "personal-service seekers",
    "convenience seekers",
)
ATTRIBUTES = ("price", "quality", "speed", "personal service", "product range")
CONTACT_CHANNELS = ("phone", "email", "chat")
LOSS_REASONS = ("price", "quality", "speed", "service", "competitor")
TABLES = (
    "customers",
    "orders",
    "service_contacts",
    "surveys",
    "referrals",
    "value_ratings",
    "opportunities",
)

_DAYS_PER_YEAR = 365.25
# Stream ids for SeedSequence spawn keys: agents are global, chunks are independent.
_AGENT_STREAM = 0
_CHUNK_STREAM = 1


class DemoError(ValueError):
    """The demo portfolio cannot be built as asked; the message says why and what to do."""


@dataclass(frozen=True)
class ChannelProfile:
    """An acquisition channel: what a customer costs to win and how good a customer it brings.

    Attributes
    ----------
    share:
        Share of acquisitions through the channel (before the needs-group tilt).
    acquisition_cost:
        Mean acquisition cost per customer, currency units.
    rate_multiplier, spend_multiplier:
        Multipliers on the purchase rate (orders per year) and on the mean order value.
    dropout_shift:
        Shift of the dropout probability on the logit scale (positive = less loyal).
    """

    name: str
    share: float
    acquisition_cost: float
    rate_multiplier: float
    spend_multiplier: float
    dropout_shift: float


@dataclass(frozen=True)
class NeedsGroupProfile:
    """A latent needs-based group: what it values, what it gets and how it behaves.

    Attributes
    ----------
    importance, performance:
        Mean importance and mean delivered performance per attribute of :data:`ATTRIBUTES`,
        1-10 scale. Importance above performance means the group is under-served.
    rate_multiplier, spend_multiplier:
        Multipliers on the purchase rate and on the mean order value.
    discount:
        Mean discount off list price, share (0-1), for customers who are not deal hunters.
    deal_hunter_share:
        Share of the group who are deal hunters (deep discounts, frequent orders).
    cogs_ratio:
        Cost of goods as a share of list value.
    express_fee:
        Extra fulfilment cost per order (express delivery), currency units.
    contacts_per_year:
        Mean service contacts per year of an average customer of the group while active.
    contact_channel_mix:
        Probabilities of phone, email and chat for a contact.
    dropout_shift:
        Shift of the dropout probability on the logit scale (positive = less loyal).
    channel_tilt:
        Multipliers on the channel shares (order of :data:`CHANNELS`).
    win_shift, win_drift_per_year:
        Opportunity win rate: logit shift, and its change per year of the history.
    loss_reasons:
        Probabilities of the loss reasons (order of :data:`LOSS_REASONS`) when an
        opportunity is lost.
    """

    name: str
    share: float
    importance: tuple[float, ...]
    performance: tuple[float, ...]
    rate_multiplier: float
    spend_multiplier: float
    discount: float
    deal_hunter_share: float
    cogs_ratio: float
    express_fee: float
    contacts_per_year: float
    contact_channel_mix: tuple[float, float, float]
    dropout_shift: float
    channel_tilt: tuple[float, ...]
    win_shift: float
    win_drift_per_year: float
    loss_reasons: tuple[float, ...]


CHANNEL_PROFILES: tuple[ChannelProfile, ...] = (
    ChannelProfile("paid search", 0.30, 80.0, 1.00, 1.00, 0.25),
    ChannelProfile("social media", 0.20, 55.0, 0.80, 0.85, 0.70),
    ChannelProfile("referral", 0.14, 45.0, 1.20, 1.10, -0.55),
    ChannelProfile("partner", 0.12, 150.0, 1.10, 1.30, -0.10),
    ChannelProfile("direct", 0.24, 20.0, 1.10, 1.00, -0.25),
)

#                             price quality speed personal range
NEEDS_GROUP_PROFILES: tuple[NeedsGroupProfile, ...] = (
    NeedsGroupProfile(
        "price seekers",
        0.35,
        importance=(9.0, 5.5, 5.5, 3.0, 6.0),
        performance=(6.0, 7.0, 6.5, 7.5, 7.0),  # personal service lavished on them
        rate_multiplier=1.00,
        spend_multiplier=0.65,
        discount=0.08,
        deal_hunter_share=0.45,
        cogs_ratio=0.55,
        express_fee=0.0,
        contacts_per_year=1.5,
        contact_channel_mix=(0.20, 0.45, 0.35),
        dropout_shift=0.45,
        channel_tilt=(1.3, 1.4, 0.7, 0.7, 0.9),
        win_shift=-0.45,
        win_drift_per_year=-0.50,
        loss_reasons=(0.60, 0.05, 0.05, 0.05, 0.25),
    ),
    NeedsGroupProfile(
        "quality seekers",
        0.25,
        importance=(4.5, 9.0, 6.0, 6.0, 7.5),
        performance=(5.0, 8.5, 6.5, 7.0, 7.5),
        rate_multiplier=0.80,
        spend_multiplier=1.60,
        discount=0.02,
        deal_hunter_share=0.02,
        cogs_ratio=0.50,
        express_fee=0.0,
        contacts_per_year=1.5,
        contact_channel_mix=(0.40, 0.40, 0.20),
        dropout_shift=-0.30,
        channel_tilt=(0.9, 0.7, 1.3, 1.4, 1.0),
        win_shift=0.30,
        win_drift_per_year=0.35,
        loss_reasons=(0.15, 0.45, 0.05, 0.10, 0.25),
    ),
    NeedsGroupProfile(
        "personal-service seekers",
        0.20,
        importance=(5.0, 7.0, 5.0, 9.0, 5.5),
        performance=(5.5, 6.5, 5.0, 5.5, 5.5),  # under-served where it matters most
        rate_multiplier=0.75,
        spend_multiplier=1.25,
        discount=0.05,
        deal_hunter_share=0.05,
        cogs_ratio=0.52,
        express_fee=0.0,
        contacts_per_year=8.0,
        contact_channel_mix=(0.75, 0.15, 0.10),
        dropout_shift=-0.15,
        channel_tilt=(0.8, 0.8, 1.3, 1.3, 1.0),
        win_shift=0.35,
        win_drift_per_year=-0.10,
        loss_reasons=(0.10, 0.10, 0.05, 0.55, 0.20),
    ),
    NeedsGroupProfile(
        "convenience seekers",
        0.20,
        importance=(5.5, 6.0, 9.0, 4.0, 6.5),
        performance=(6.0, 6.5, 4.5, 6.5, 6.0),  # speed badly under-delivered
        rate_multiplier=1.50,
        spend_multiplier=0.85,
        discount=0.06,
        deal_hunter_share=0.10,
        cogs_ratio=0.52,
        express_fee=4.0,
        contacts_per_year=1.2,
        contact_channel_mix=(0.15, 0.25, 0.60),
        dropout_shift=0.0,
        channel_tilt=(1.1, 1.1, 0.9, 0.8, 1.1),
        win_shift=0.0,
        win_drift_per_year=0.15,
        loss_reasons=(0.10, 0.05, 0.60, 0.05, 0.20),
    ),
)

#: Regional effects: share of customers, acquisition-cost multiplier, extra fulfilment cost per
#: order (currency units) and win-rate logit shift.
REGION_PROFILES: Mapping[str, tuple[float, float, float, float]] = MappingProxyType(
    {
        "North": (0.26, 1.00, 0.0, 0.30),
        "South": (0.22, 0.95, 0.0, 0.00),
        "East": (0.20, 1.00, 0.0, -0.10),
        "West": (0.18, 1.05, 0.0, 0.10),
        "International": (0.14, 1.25, 7.0, -0.80),
    }
)

#: Service channel: median handle time (seconds), spread (log-sd), fixed cost per contact and
#: cost per minute handled (currency units).
CONTACT_CHANNEL_PROFILES: Mapping[str, tuple[float, float, float, float]] = MappingProxyType(
    {
        "phone": (420.0, 0.55, 3.0, 1.50),
        "email": (360.0, 0.60, 2.0, 1.00),
        "chat": (540.0, 0.50, 2.0, 0.80),
    }
)


@dataclass(frozen=True)
class DemoParameters:
    """The knobs of the simulation, with the units they are in. Defaults are the demo's.

    Attributes
    ----------
    purchase_rate_shape, purchase_rate_mean:
        Gamma distribution of the purchase rate, orders per year (shape, mean), before the
        group and channel multipliers; capped at ``purchase_rate_cap``.
    dropout_a, dropout_b:
        Beta distribution of the probability of dropping out after each order.
    satisfaction_retention_rho:
        Correlation of latent satisfaction with the (normal score of the) retention propensity.
    acquisition_cost_sigma:
        Log-sd of a customer's acquisition cost around its channel's (and region's) mean.
    order_value_mean, order_value_customer_shape, order_value_order_shape:
        Gamma-gamma-like order value: a customer's mean list value is gamma with this mean
        (currency units) and shape; each order is gamma around it with the order shape.
    discount_concentration:
        A customer's discount off list price is beta with its mean (the group's, or
        ``deal_hunter_discount`` for deal hunters) and this concentration.
    deal_hunter_discount, deal_hunter_rate_multiplier, deal_hunter_dropout_shift:
        Deal hunters' mean discount (share of list), multiplier on their purchase rate and
        shift of their dropout probability on the logit scale.
    fulfilment_fee, fulfilment_share:
        Cost to serve each order: a fixed fee (currency units) plus a share of list value.
    heavy_service_sigma:
        Log-sd of the customer's service propensity (mean 1): some customers use service a lot.
    unresolved_churn, unresolved_dropout_multiplier, unresolved_dropout_add:
        After an unresolved contact: probability of dropping out at once, and the new dropout
        probability ``p * multiplier + add``.
    resolved_dropout_multiplier, resolved_followup_order:
        After a resolved contact: dropout probability multiplier and probability of a
        follow-up order within 1-30 days.
    agents_per_customer, min_agents:
        Service agents: one per ``1 / agents_per_customer`` customers, at least ``min_agents``.
    agent_fcr_mean, agent_fcr_concentration, agent_speed_sigma:
        Agents' first-contact resolution rate (beta: mean, concentration) and speed (log-sd
        of the multiplier on handle time).
    post_contact_survey_rate, relationship_surveys_per_year, lapsed_response_factor:
        Survey answers: share of contacts followed by an answer, relationship answers per
        customer-year, and response factor for customers who stopped buying.
    rating_share, second_rating_share:
        Share of customers with value ratings, and share of those rating twice.
    opportunities_per_customer_year, prospects_per_customer, opportunity_cycle_days:
        Opportunities with existing customers per active customer-year, prospect opportunities
        per customer, and median days from open to close.
    unconverted_referrals_per_conversion:
        Referrals that did not convert per referral that did.
    """

    purchase_rate_shape: float = 2.5
    purchase_rate_mean: float = 7.0
    purchase_rate_cap: float = 40.0
    dropout_a: float = 1.2
    dropout_b: float = 7.0
    satisfaction_retention_rho: float = 0.7
    discount_concentration: float = 12.0
    deal_hunter_discount: float = 0.55
    deal_hunter_rate_multiplier: float = 3.5
    deal_hunter_dropout_shift: float = -0.5
    acquisition_cost_sigma: float = 1.0
    order_value_mean: float = 85.0
    order_value_customer_shape: float = 5.0
    order_value_order_shape: float = 5.0
    fulfilment_fee: float = 4.0
    fulfilment_share: float = 0.03
    heavy_service_sigma: float = 1.3
    unresolved_churn: float = 0.45
    unresolved_dropout_multiplier: float = 1.5
    unresolved_dropout_add: float = 0.05
    resolved_dropout_multiplier: float = 0.8
    resolved_followup_order: float = 0.25
    agents_per_customer: float = 1 / 2000
    min_agents: int = 8
    agent_fcr_mean: float = 0.72
    agent_fcr_concentration: float = 40.0
    agent_speed_sigma: float = 0.25
    post_contact_survey_rate: float = 0.30
    relationship_surveys_per_year: float = 0.25
    lapsed_response_factor: float = 0.4
    rating_share: float = 0.30
    second_rating_share: float = 0.35
    opportunities_per_customer_year: float = 0.30
    prospects_per_customer: float = 0.15
    opportunity_cycle_days: float = 40.0
    unconverted_referrals_per_conversion: float = 1.5


@dataclass(frozen=True)
class DemoSpec:
    """What to simulate: size, seed, history and parameters.

    Parameters
    ----------
    n_customers:
        Number of customers, :data:`MIN_CUSTOMERS` to :data:`MAX_CUSTOMERS`.
    seed:
        Seed of the random streams; same spec, same data.
    end_date:
        Last day of the history; acquisitions and orders run over the three years to it.
    params:
        Simulation parameters.
    """

    n_customers: int = 20_000
    seed: int = 42
    end_date: date = DEFAULT_END_DATE
    params: DemoParameters = field(default_factory=DemoParameters)

    def __post_init__(self) -> None:
        validate_n_customers(self.n_customers)
        if not isinstance(self.seed, (int, np.integer)) or isinstance(self.seed, bool):
            raise DemoError(f"seed must be a non-negative integer, got {self.seed!r}.")
        if self.seed < 0:
            raise DemoError(f"seed must be a non-negative integer, got {self.seed}.")
        if not isinstance(self.end_date, date):
            raise DemoError(f"end_date must be a date, got {self.end_date!r}.")

    @property
    def start_date(self) -> date:
        """First day of the history: the day after the same date three years before the end."""
        end = self.end_date
        try:
            anchor = end.replace(year=end.year - HISTORY_YEARS)
        except ValueError:  # 29 February
            anchor = end.replace(year=end.year - HISTORY_YEARS, day=28)
        return anchor + timedelta(days=1)

    @property
    def horizon_days(self) -> int:
        """Number of days in the history, both ends included."""
        return (self.end_date - self.start_date).days + 1

    @property
    def n_chunks(self) -> int:
        """Number of chunks of at most :data:`CHUNK_SIZE` customers."""
        return -(-self.n_customers // CHUNK_SIZE)

    @property
    def n_agents(self) -> int:
        """Number of service agents."""
        return max(
            self.params.min_agents, round(self.n_customers * self.params.agents_per_customer)
        )

    def chunk_sizes(self) -> list[int]:
        """Customers in each chunk, in order."""
        full, rest = divmod(self.n_customers, CHUNK_SIZE)
        return [CHUNK_SIZE] * full + ([rest] if rest else [])


def validate_n_customers(n_customers: object) -> int:
    """Check the portfolio size, raising :class:`DemoError` with a clear message if wrong."""
    if isinstance(n_customers, bool) or not isinstance(n_customers, (int, np.integer)):
        raise DemoError(
            f"n_customers must be a whole number between {MIN_CUSTOMERS:,} and "
            f"{MAX_CUSTOMERS:,}, got {n_customers!r}."
        )
    if not MIN_CUSTOMERS <= n_customers <= MAX_CUSTOMERS:
        raise DemoError(
            f"n_customers must be between {MIN_CUSTOMERS:,} and {MAX_CUSTOMERS:,} "
            f"(got {n_customers:,}): smaller portfolios make the statistics meaningless, "
            "larger ones take too long to build in the app."
        )
    return int(n_customers)


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

    def advanced(self, frames: dict[str, pd.DataFrame]) -> IdCursor:
        """The cursor after ``frames`` took their ids."""
        return IdCursor(
            customers=self.customers + len(frames["customers"]),
            orders=self.orders + len(frames["orders"]),
            service_contacts=self.service_contacts + len(frames["service_contacts"]),
            surveys=self.surveys + len(frames["surveys"]),
            referrals=self.referrals + len(frames["referrals"]),
            opportunities=self.opportunities + len(frames["opportunities"]),
        )


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
    rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(_AGENT_STREAM,)))
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


def _acquisition_day_weights(spec: DemoSpec) -> np.ndarray:
    # Acquisitions grow over the period and peak before the year-end season.
    days = np.arange(spec.horizon_days)
    when = np.datetime64(spec.start_date, "D") + days
    day_of_year = (when - when.astype("datetime64[Y]")).astype(int)
    weight = (1.0 + 0.6 * days / spec.horizon_days) * (
        1.0 + 0.2 * np.cos(2 * np.pi * (day_of_year - 320) / 365.25)
    )
    return weight / weight.sum()


def _categorical(
    rng: np.random.Generator, probabilities: np.ndarray, *, stratified: bool = False
) -> np.ndarray:
    """One draw per row of ``probabilities`` (rows sum to 1)."""
    cumulative = np.cumsum(probabilities, axis=1)
    cumulative[:, -1] = 1.0
    n = len(probabilities)
    u = _stratified_uniform(rng, n) if stratified else rng.random(n)
    return (u[:, None] > cumulative).sum(axis=1)


def _stratified_uniform(rng: np.random.Generator, n: int) -> np.ndarray:
    """Uniforms with exactly one draw in each of ``n`` equal strata, in random order.

    Customer-level traits are drawn through their quantile functions from these (Latin
    hypercube sampling): marginals stay exact, and even 1,000 customers cover the tails, so
    portfolio totals (and the whale curve) vary far less between seeds.
    """
    return (rng.permutation(n) + rng.random(n)) / n


def _quantile(inverse_cdf: Callable[[np.ndarray], np.ndarray], u: np.ndarray) -> np.ndarray:
    """``inverse_cdf(u)`` interpolated on a grid in logit(u): exact scipy inverses are slow."""
    grid = np.linspace(-14.0, 14.0, 4001)
    return np.interp(special.logit(u), grid, inverse_cdf(special.expit(grid)))


def _stratified_choice(rng: np.random.Generator, n: int, shares: np.ndarray) -> np.ndarray:
    """Category codes in the given shares (to the nearest customer), in random order."""
    cumulative = np.cumsum(shares / shares.sum())
    return np.searchsorted(cumulative, _stratified_uniform(rng, n), side="right").clip(
        0, len(shares) - 1
    )


def _to_dates(start: date, days: np.ndarray) -> np.ndarray:
    return (np.datetime64(start, "D") + days.astype("int64")).astype("datetime64[us]")


def _scores(latent: np.ndarray, cumulative_shares: tuple[float, ...], low: int) -> np.ndarray:
    """Map a standard-normal latent to an ordinal scale with the given cumulative shares."""
    cuts = stats.norm.ppf(np.asarray(cumulative_shares))
    return low + np.searchsorted(cuts, latent)


# Target cumulative answer shares for a neutral latent (standard normal).
_CSAT_CUMULATIVE = (0.04, 0.11, 0.29, 0.71)  # 1..5: CSAT (top-two-box) about 71 %
_NPS_CUMULATIVE = (0.02, 0.03, 0.04, 0.06, 0.08, 0.12, 0.18, 0.30, 0.55, 0.80)  # NPS about +27


def _names(customer_ids: np.ndarray) -> np.ndarray:
    """Company-ish display names, a pure function of the customer id."""
    first = np.array(
        "Alder Birch Cedar Copper Crown Delta Elm Falcon Granite Harbor Hazel Iron Juniper "
        "Kestrel Lark Linden Maple Meadow North Oak Orchard Pine Quarry Raven River Rowan "
        "Sable Silver Sparrow Stone Summit Thistle Tide Vale Willow Wren".split()
    )
    second = np.array(
        "Bakery Builders Cycles Dental Design Electrics Engineering Farms Foods Garden Health "
        "Hotels Interiors Labs Logistics Media Motors Optics Outdoor Pharmacy Print Retail "
        "Studio Supplies Systems Textiles Tools Trading Travel Works".split()
    )
    suffix = np.array(["Ltd", "& Co", "Group", "GmbH", "Inc", "Partners", "LLC", "SA"])
    h = (customer_ids.astype(np.uint64) * np.uint64(2654435761)) % np.uint64(2**32)
    h = h.astype(np.int64)
    names = pd.Series(first[h % len(first)], dtype=object)
    names = names + " " + second[(h // len(first)) % len(second)]
    names = names + " " + suffix[(h // (len(first) * len(second))) % len(suffix)]
    return names.to_numpy()


@dataclass
class _Histories:
    order_customer: np.ndarray
    order_time: np.ndarray
    contact_customer: np.ndarray
    contact_time: np.ndarray
    contact_agent: np.ndarray
    contact_resolved: np.ndarray
    dropout_time: np.ndarray


def _simulate_histories(
    rng: np.random.Generator,
    acquisition_day: np.ndarray,
    orders_per_day: np.ndarray,
    contacts_per_day: np.ndarray,
    dropout: np.ndarray,
    agents: pd.DataFrame,
    horizon: int,
    params: DemoParameters,
) -> _Histories:
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

    return _Histories(
        order_customer=joined(order_customer, "int64"),
        order_time=joined(order_time, "float64"),
        contact_customer=joined(contact_customer, "int64"),
        contact_time=joined(contact_time, "float64"),
        contact_agent=joined(contact_agent, "int64"),
        contact_resolved=joined(contact_resolved, "bool"),
        dropout_time=dropout_time,
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
        The service agents (:func:`make_agents`).
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
        np.random.SeedSequence(spec.seed, spawn_key=(_CHUNK_STREAM, chunk_index))
    )
    groups = NEEDS_GROUP_PROFILES
    channels = CHANNEL_PROFILES
    region_names = list(REGION_PROFILES)
    region_table = np.array(list(REGION_PROFILES.values()))

    # --- who the customers are -------------------------------------------------------------
    # Sorted acquisition days, so customer ids follow acquisition order within the chunk.
    acquisition_day = np.sort(rng.choice(horizon, size=n, p=_acquisition_day_weights(spec)))
    group = _stratified_choice(rng, n, np.array([g.share for g in groups]))
    channel_weights = np.array(
        [[c.share * g.channel_tilt[k] for k, c in enumerate(channels)] for g in groups]
    )
    channel_weights /= channel_weights.sum(axis=1, keepdims=True)
    channel = _categorical(rng, channel_weights[group], stratified=True)
    referral = CHANNELS.index("referral")
    direct = CHANNELS.index("direct")
    # Nobody can be referred before there are customers to refer them.
    channel[(channel == referral) & (acquisition_day < 45)] = direct
    region = rng.choice(len(region_names), size=n, p=region_table[:, 0] / region_table[:, 0].sum())

    g_rate = np.array([g.rate_multiplier for g in groups])[group]
    g_spend = np.array([g.spend_multiplier for g in groups])[group]
    g_dropout = np.array([g.dropout_shift for g in groups])[group]
    c_rate = np.array([c.rate_multiplier for c in channels])[channel]
    c_spend = np.array([c.spend_multiplier for c in channels])[channel]
    c_dropout = np.array([c.dropout_shift for c in channels])[channel]

    # --- loyalty and satisfaction ----------------------------------------------------------
    # Gaussian copula: the dropout probability keeps its beta marginal, and latent
    # satisfaction correlates only moderately with staying (satisfied leavers exist).
    retention_score = special.ndtri(_stratified_uniform(rng, n))  # high = loyal
    base_dropout = _quantile(
        lambda q: special.betaincinv(p.dropout_a, p.dropout_b, q), special.ndtr(-retention_score)
    )
    dropout = special.expit(special.logit(base_dropout) + g_dropout + c_dropout)
    dropout = np.clip(dropout, 1e-4, 0.95)
    rho = p.satisfaction_retention_rho
    satisfaction = rho * retention_score + np.sqrt(1 - rho**2) * rng.standard_normal(n)

    orders_per_year = np.minimum(
        _quantile(
            lambda q: special.gammaincinv(p.purchase_rate_shape, q), _stratified_uniform(rng, n)
        )
        * (p.purchase_rate_mean / p.purchase_rate_shape)
        * g_rate
        * c_rate,
        p.purchase_rate_cap,
    )
    mean_list_value = (
        p.order_value_mean
        * _quantile(
            lambda q: special.gammaincinv(p.order_value_customer_shape, q),
            _stratified_uniform(rng, n),
        )
        / p.order_value_customer_shape
        * g_spend
        * c_spend
    )
    s = p.heavy_service_sigma
    service_propensity = np.exp(-s * s / 2 + s * special.ndtri(_stratified_uniform(rng, n)))
    contacts_per_year = (
        np.array([g.contacts_per_year for g in groups])[group]
        * service_propensity
        * np.sqrt(orders_per_year / p.purchase_rate_mean)
    )
    # Deal hunters: a minority (mostly price seekers) on deep discounts who buy often and stay
    # for the deals; their orders lose money, so some of the busiest customers destroy profit.
    deal_hunter = (
        _stratified_uniform(rng, n) < np.array([g.deal_hunter_share for g in groups])[group]
    )
    discount_mean = np.where(
        deal_hunter, p.deal_hunter_discount, np.array([g.discount for g in groups])[group]
    )
    k = p.discount_concentration
    discount = rng.beta(k * discount_mean, k * (1 - discount_mean))
    orders_per_year = np.minimum(
        np.where(deal_hunter, orders_per_year * p.deal_hunter_rate_multiplier, orders_per_year),
        p.purchase_rate_cap,
    )
    dropout = np.where(
        deal_hunter,
        special.expit(special.logit(dropout) + p.deal_hunter_dropout_shift),
        dropout,
    )
    cogs_ratio = np.clip(
        np.array([g.cogs_ratio for g in groups])[group] + rng.normal(0, 0.04, n), 0.3, 0.9
    )

    # --- what they did ---------------------------------------------------------------------
    hist = _simulate_histories(
        rng,
        acquisition_day,
        orders_per_year / _DAYS_PER_YEAR,
        contacts_per_year / _DAYS_PER_YEAR,
        dropout,
        agents,
        horizon,
        p,
    )
    # Last day on which the customer was still a customer (the end of the history if active).
    active_until = np.minimum(hist.dropout_time, horizon - 1).astype(np.int64)

    customer_id = cursor.customers + 1 + np.arange(n, dtype=np.int64)

    # Orders: list value around the customer's mean; discount cuts revenue, not cost; cost to
    # serve adds a fixed fee, express delivery and international shipping.
    oc = hist.order_customer
    n_orders = len(oc)
    shape = p.order_value_order_shape
    list_value = rng.gamma(shape, mean_list_value[oc] / shape)
    order_discount = np.clip(discount[oc] * rng.uniform(0.5, 1.5, n_orders), 0.0, 0.8)
    revenue = np.round(np.maximum(list_value * (1 - order_discount), 0.01), 2)
    fulfilment = (
        p.fulfilment_fee
        + p.fulfilment_share * list_value
        + np.array([g.express_fee for g in groups])[group[oc]]
        + region_table[region[oc], 2]
    )
    order_cost = np.round(list_value * cogs_ratio[oc] + fulfilment, 2)
    order_day = np.floor(hist.order_time).astype(np.int64)
    order_sort = np.lexsort((oc, order_day))
    orders = pd.DataFrame(
        {
            "order_id": cursor.orders + 1 + np.arange(n_orders, dtype=np.int64),
            "customer_id": customer_id[oc[order_sort]],
            "ordered_at": _to_dates(start, order_day[order_sort]),
            "revenue": revenue[order_sort],
            "cost": order_cost[order_sort],
        }
    )

    # Service contacts.
    cc = hist.contact_customer
    n_contacts = len(cc)
    contact_day = np.floor(hist.contact_time).astype(np.int64)
    mix = np.array([g.contact_channel_mix for g in groups])
    contact_channel = _categorical(rng, mix[group[cc]])
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
    contact_id_sorted = cursor.service_contacts + 1 + np.arange(n_contacts, dtype=np.int64)
    contact_id = np.empty(n_contacts, dtype=np.int64)
    contact_id[contact_sort] = contact_id_sorted
    contact_channel_names = np.array(CONTACT_CHANNELS)
    service_contacts = pd.DataFrame(
        {
            "contact_id": contact_id_sorted,
            "customer_id": customer_id[cc[contact_sort]],
            "agent_id": agents["agent_id"].to_numpy()[hist.contact_agent[contact_sort]],
            "opened_at": _to_dates(start, contact_day[contact_sort]),
            "channel": contact_channel_names[contact_channel[contact_sort]],
            "handle_seconds": handle_seconds[contact_sort].astype(np.int32),
            "first_contact_resolved": hist.contact_resolved[contact_sort],
            "cost": contact_cost[contact_sort],
        }
    )

    surveys = _surveys(
        rng,
        p,
        cursor,
        start,
        horizon,
        customer_id,
        acquisition_day,
        hist.dropout_time,
        satisfaction,
        cc,
        contact_day,
        contact_id,
        hist.contact_resolved,
        handle_seconds,
        median_seconds,
    )

    # Referrals: referral customers are matched to loyal customers active at the time.
    n_orders_by_customer = np.bincount(oc, minlength=n)
    referred_idx = np.flatnonzero(channel == referral)
    referrer_idx, referred_day, unmatched = _match_referrers(
        rng, acquisition_day, active_until, n_orders_by_customer, satisfaction, referred_idx
    )
    channel[referred_idx[unmatched]] = direct
    referred_idx = referred_idx[~unmatched]
    referrals = _referrals(
        rng,
        p,
        cursor,
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

    # Acquisition cost: channel cost, regional multiplier, customer-level noise.
    cac_mean = np.array([c.acquisition_cost for c in channels])[channel] * region_table[region, 1]
    sigma = p.acquisition_cost_sigma
    acquisition_cost = np.round(
        cac_mean * np.exp(-sigma * sigma / 2 + sigma * special.ndtri(_stratified_uniform(rng, n))),
        2,
    )
    customers = pd.DataFrame(
        {
            "customer_id": customer_id,
            "name": _names(customer_id),
            "region": np.array(region_names)[region],
            "acquisition_channel": np.array(CHANNELS)[channel],
            "acquired_at": _to_dates(start, acquisition_day),
            "acquisition_cost": acquisition_cost,
        }
    )
    customers["name"] = customers["name"].astype("str")

    value_ratings = _value_ratings(
        rng, p, start, horizon, customer_id, acquisition_day, group, satisfaction
    )
    opportunities = _opportunities(
        rng,
        p,
        cursor,
        start,
        horizon,
        n,
        customer_id,
        acquisition_day,
        active_until,
        group,
        region,
        mean_list_value,
    )

    dropped = np.isfinite(hist.dropout_time)
    dropout_day = np.where(dropped, np.floor(np.nan_to_num(hist.dropout_time)), 0).astype(int)
    truth = pd.DataFrame(
        {
            "customer_id": customer_id,
            "needs_group": pd.Categorical.from_codes(group, categories=list(NEEDS_GROUPS)),
            "satisfaction": satisfaction,
            "orders_per_year": orders_per_year,
            "dropout_probability": dropout,
            "mean_order_value": mean_list_value,
            "contacts_per_year": contacts_per_year,
            "deal_hunter": deal_hunter,
            "discount": discount,
            "dropped_out_at": np.where(
                dropped, _to_dates(start, dropout_day), np.datetime64("NaT")
            ).astype("datetime64[us]"),
        }
    )
    frames = {
        "customers": customers,
        "orders": orders,
        "service_contacts": service_contacts,
        "surveys": surveys,
        "referrals": referrals,
        "value_ratings": value_ratings,
        "opportunities": opportunities,
    }
    return DemoChunk(index=chunk_index, frames=frames, truth=truth)


def _surveys(
    rng: np.random.Generator,
    p: DemoParameters,
    cursor: IdCursor,
    start: date,
    horizon: int,
    customer_id: np.ndarray,
    acquisition_day: np.ndarray,
    dropout_time: np.ndarray,
    satisfaction: np.ndarray,
    contact_customer: np.ndarray,
    contact_day: np.ndarray,
    contact_id: np.ndarray,
    contact_resolved: np.ndarray,
    handle_seconds: np.ndarray,
    median_seconds: np.ndarray,
) -> pd.DataFrame:
    """Relationship surveys (from latent satisfaction) and post-contact surveys (from FCR)."""
    # Relationship answers: Poisson over the customer's tenure from 14 days after acquisition;
    # customers who stopped buying answer less often.
    first_day = acquisition_day + 14
    tenure_years = np.maximum(horizon - first_day, 0) / _DAYS_PER_YEAR
    k = rng.poisson(p.relationship_surveys_per_year * tenure_years)
    who = np.repeat(np.arange(len(customer_id)), k)
    day = first_day[who] + np.floor(rng.random(who.size) * (horizon - first_day[who])).astype(int)
    lapsed = day > dropout_time[who]
    keep = ~lapsed | (rng.random(who.size) < p.lapsed_response_factor)
    who, day = who[keep], day[keep]
    latent = 0.85 * satisfaction[who] + 0.53 * rng.standard_normal(who.size)
    relationship = (who, day, latent, np.full(who.size, -1, dtype=np.int64))

    # Post-contact answers: resolution dominates; handle time nudges scores only slightly.
    asked = np.flatnonzero(rng.random(contact_customer.size) < p.post_contact_survey_rate)
    answer_day = contact_day[asked] + rng.integers(0, 8, asked.size)
    asked, answer_day = asked[answer_day < horizon], answer_day[answer_day < horizon]
    resolved = contact_resolved[asked]
    latent_contact = (
        0.3 * satisfaction[contact_customer[asked]]
        + np.where(resolved, 0.5, -1.0)
        - 0.08 * np.log2(handle_seconds[asked] / median_seconds[asked])
        + 0.8 * rng.standard_normal(asked.size)
    )
    post_contact = (contact_customer[asked], answer_day, latent_contact, contact_id[asked])

    who, day, latent, about = (
        np.concatenate(x) for x in zip(relationship, post_contact, strict=True)
    )
    # Half the answers carry both scores, the rest only CSAT or only NPS.
    mode = rng.choice(3, size=who.size, p=[0.5, 0.3, 0.2])
    nps_latent = 0.8 * latent + 0.6 * rng.standard_normal(who.size)
    csat = pd.array(_scores(latent, _CSAT_CUMULATIVE, 1), dtype="Int64")
    nps = pd.array(_scores(nps_latent, _NPS_CUMULATIVE, 0), dtype="Int64")
    csat[mode == 2] = pd.NA
    nps[mode == 1] = pd.NA
    contact = pd.array(about, dtype="Int64")
    contact[about < 0] = pd.NA
    order = np.lexsort((who, day))
    return pd.DataFrame(
        {
            "survey_id": cursor.surveys + 1 + np.arange(who.size, dtype=np.int64),
            "customer_id": customer_id[who[order]],
            "answered_at": _to_dates(start, day[order]),
            "csat": csat[order],
            "nps": nps[order],
            "contact_id": contact[order],
        }
    )


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
    cursor: IdCursor,
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
            "referral_id": cursor.referrals + 1 + np.arange(referrer.size, dtype=np.int64),
            "referrer_id": customer_id[referrer[order]],
            "referred_customer_id": referred[order],
            "referred_at": _to_dates(start, days[order]),
        }
    )


def _value_ratings(
    rng: np.random.Generator,
    p: DemoParameters,
    start: date,
    horizon: int,
    customer_id: np.ndarray,
    acquisition_day: np.ndarray,
    group: np.ndarray,
    satisfaction: np.ndarray,
) -> pd.DataFrame:
    """Importance and performance per attribute, from the needs group's profile plus noise."""
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
            "rated_at": _to_dates(start, np.repeat(day, n_att)),
            "attribute": np.tile(np.array(ATTRIBUTES), who.size),
            "importance": np.clip(np.rint(importance[order]), 1, 10).astype(np.int32).ravel(),
            "performance": np.clip(np.rint(performance[order]), 1, 10).astype(np.int32).ravel(),
        }
    )


def _opportunities(
    rng: np.random.Generator,
    p: DemoParameters,
    cursor: IdCursor,
    start: date,
    horizon: int,
    n: int,
    customer_id: np.ndarray,
    acquisition_day: np.ndarray,
    active_until: np.ndarray,
    group: np.ndarray,
    region: np.ndarray,
    mean_list_value: np.ndarray,
) -> pd.DataFrame:
    """Deals with existing customers (while active) and with prospects, won, lost or open."""
    span = active_until - acquisition_day + 1
    k = rng.poisson(p.opportunities_per_customer_year * span / _DAYS_PER_YEAR)
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
    years_from_middle = opened / _DAYS_PER_YEAR - HISTORY_YEARS / 2
    win_probability = special.expit(0.1 + win_shift + shift + drift * years_from_middle)
    cycle = np.maximum(
        1, np.rint(p.opportunity_cycle_days * np.exp(rng.normal(0, 0.6, opened.size)))
    ).astype(np.int64)
    closed = opened + cycle
    is_open = closed >= horizon
    won = ~is_open & (rng.random(opened.size) < win_probability)
    lost = ~is_open & ~won
    reasons = np.array([g.loss_reasons for g in NEEDS_GROUP_PROFILES])
    reason = _categorical(rng, reasons[grp])

    outcome = np.where(is_open, "open", np.where(won, "won", "lost"))
    loss_reason = np.where(lost, np.array(LOSS_REASONS, dtype=object)[reason], None)
    customer = pd.array(
        np.concatenate([customer_id[who], np.zeros(n_prospects, dtype=np.int64)]), dtype="Int64"
    )
    customer[who.size :] = pd.NA
    closed_at = _to_dates(start, closed)
    closed_at[is_open] = np.datetime64("NaT")
    order = np.argsort(opened, kind="stable")
    return pd.DataFrame(
        {
            "opportunity_id": cursor.opportunities + 1 + np.arange(opened.size, dtype=np.int64),
            "customer_id": customer[order],
            "opened_at": _to_dates(start, opened[order]),
            "closed_at": closed_at[order],
            "outcome": pd.array(outcome[order], dtype="str"),
            "amount": amount[order],
            "loss_reason": pd.array(loss_reason[order], dtype="str"),
        }
    )


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

"""What the simulation is told: sizes, the history's dates, the profiles and every parameter.

The profiles (:data:`CHANNEL_PROFILES`, :data:`NEEDS_GROUP_PROFILES`, :data:`REGION_PROFILES`,
:data:`CONTACT_CHANNEL_PROFILES`) and :class:`DemoParameters` are the knobs, each documented
with its unit; :class:`DemoSpec` is one run (size, seed, end date, parameters).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType

import numpy as np

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
    "subscriptions",
)

DAYS_PER_YEAR = 365.25
# Stream ids for SeedSequence spawn keys: agents are global, chunks are independent.
AGENT_STREAM = 0
CHUNK_STREAM = 1


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


def to_dates(start: date, days: np.ndarray) -> np.ndarray:
    """Dates of day numbers counted from ``start`` (day 0), as ``datetime64[us]``."""
    return (np.datetime64(start, "D") + days.astype("int64")).astype("datetime64[us]")

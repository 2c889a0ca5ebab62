"""The customers: who they are (acquisition, region, needs group), their latent traits, names.

:func:`draw_customers` draws every customer-level trait at the start of a chunk; the
``customers`` table itself is written by :func:`customers_frame` once the referrals are known
(referral customers without an earlier customer to refer them become direct acquisitions), and
:func:`truth_frame` keeps the latent truth for checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from scipy import special

from dashboard.simulator.parameters import (
    CHANNEL_PROFILES,
    CHANNELS,
    NEEDS_GROUP_PROFILES,
    NEEDS_GROUPS,
    REGION_PROFILES,
    DemoParameters,
    DemoSpec,
    to_dates,
)
from dashboard.simulator.random_draws import (
    categorical,
    quantile,
    stratified_choice,
    stratified_uniform,
)

REFERRAL = CHANNELS.index("referral")
DIRECT = CHANNELS.index("direct")


@dataclass(frozen=True)
class CustomerTraits:
    """The customers of a chunk, one array element per customer, in customer-id order.

    Attributes
    ----------
    acquisition_day:
        Day of acquisition (and of the first order), from 0 = the history's first day; sorted.
    group, channel, region:
        Codes of the needs group (:data:`NEEDS_GROUPS`), acquisition channel (:data:`CHANNELS`)
        and region (keys of :data:`REGION_PROFILES`). The channel is final only after
        :func:`~dashboard.simulator.referrals.simulate_referrals`, which returns the customers
        with unmatched referral customers re-labelled as direct acquisitions.
    satisfaction:
        Latent satisfaction, standard normal.
    dropout:
        Initial probability of dropping out after each order.
    orders_per_year, mean_list_value, contacts_per_year:
        Purchase rate, mean order list value (currency units) and service propensity.
    deal_hunter, discount, cogs_ratio:
        Whether a deal hunter, mean discount (share of list) and cost of goods (share of list).
    """

    acquisition_day: np.ndarray
    group: np.ndarray
    channel: np.ndarray
    region: np.ndarray
    satisfaction: np.ndarray
    dropout: np.ndarray
    orders_per_year: np.ndarray
    mean_list_value: np.ndarray
    contacts_per_year: np.ndarray
    deal_hunter: np.ndarray
    discount: np.ndarray
    cogs_ratio: np.ndarray


def _acquisition_day_weights(spec: DemoSpec) -> np.ndarray:
    # Acquisitions grow over the period and peak before the year-end season.
    days = np.arange(spec.horizon_days)
    when = np.datetime64(spec.start_date, "D") + days
    day_of_year = (when - when.astype("datetime64[Y]")).astype(int)
    weight = (1.0 + 0.6 * days / spec.horizon_days) * (
        1.0 + 0.2 * np.cos(2 * np.pi * (day_of_year - 320) / 365.25)
    )
    return weight / weight.sum()


def draw_customers(rng: np.random.Generator, spec: DemoSpec, n: int) -> CustomerTraits:
    """Draw ``n`` customers: acquisition first, then loyalty, satisfaction and behaviour."""
    acquisition_day, group, channel, region = _draw_acquisition(rng, spec, n)
    return _draw_behaviour(rng, spec.params, n, acquisition_day, group, channel, region)


def _draw_acquisition(
    rng: np.random.Generator, spec: DemoSpec, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """When, as what needs group, through which channel and where each customer was won."""
    horizon = spec.horizon_days
    groups = NEEDS_GROUP_PROFILES
    channels = CHANNEL_PROFILES
    region_names = list(REGION_PROFILES)
    region_table = np.array(list(REGION_PROFILES.values()))

    # Sorted acquisition days, so customer ids follow acquisition order within the chunk.
    acquisition_day = np.sort(rng.choice(horizon, size=n, p=_acquisition_day_weights(spec)))
    group = stratified_choice(rng, n, np.array([g.share for g in groups]))
    channel_weights = np.array(
        [[c.share * g.channel_tilt[k] for k, c in enumerate(channels)] for g in groups]
    )
    channel_weights /= channel_weights.sum(axis=1, keepdims=True)
    channel = categorical(rng, channel_weights[group], stratified=True)
    # Nobody can be referred before there are customers to refer them.
    channel[(channel == REFERRAL) & (acquisition_day < 45)] = DIRECT
    region = rng.choice(len(region_names), size=n, p=region_table[:, 0] / region_table[:, 0].sum())
    return acquisition_day, group, channel, region


def _draw_behaviour(
    rng: np.random.Generator,
    p: DemoParameters,
    n: int,
    acquisition_day: np.ndarray,
    group: np.ndarray,
    channel: np.ndarray,
    region: np.ndarray,
) -> CustomerTraits:
    """Loyalty, satisfaction, purchase rate, spend, service use and discounts."""
    groups = NEEDS_GROUP_PROFILES
    channels = CHANNEL_PROFILES
    g_rate = np.array([g.rate_multiplier for g in groups])[group]
    g_spend = np.array([g.spend_multiplier for g in groups])[group]
    g_dropout = np.array([g.dropout_shift for g in groups])[group]
    c_rate = np.array([c.rate_multiplier for c in channels])[channel]
    c_spend = np.array([c.spend_multiplier for c in channels])[channel]
    c_dropout = np.array([c.dropout_shift for c in channels])[channel]

    # Gaussian copula: the dropout probability keeps its beta marginal, and latent
    # satisfaction correlates only moderately with staying (satisfied leavers exist).
    retention_score = special.ndtri(stratified_uniform(rng, n))  # high = loyal
    base_dropout = quantile(
        lambda q: special.betaincinv(p.dropout_a, p.dropout_b, q), special.ndtr(-retention_score)
    )
    dropout = special.expit(special.logit(base_dropout) + g_dropout + c_dropout)
    dropout = np.clip(dropout, 1e-4, 0.95)
    rho = p.satisfaction_retention_rho
    satisfaction = rho * retention_score + np.sqrt(1 - rho**2) * rng.standard_normal(n)

    orders_per_year = np.minimum(
        quantile(
            lambda q: special.gammaincinv(p.purchase_rate_shape, q), stratified_uniform(rng, n)
        )
        * (p.purchase_rate_mean / p.purchase_rate_shape)
        * g_rate
        * c_rate,
        p.purchase_rate_cap,
    )
    mean_list_value = (
        p.order_value_mean
        * quantile(
            lambda q: special.gammaincinv(p.order_value_customer_shape, q),
            stratified_uniform(rng, n),
        )
        / p.order_value_customer_shape
        * g_spend
        * c_spend
    )
    s = p.heavy_service_sigma
    service_propensity = np.exp(-s * s / 2 + s * special.ndtri(stratified_uniform(rng, n)))
    contacts_per_year = (
        np.array([g.contacts_per_year for g in groups])[group]
        * service_propensity
        * np.sqrt(orders_per_year / p.purchase_rate_mean)
    )
    # Deal hunters: a minority (mostly price seekers) on deep discounts who buy often and stay
    # for the deals; their orders lose money, so some of the busiest customers destroy profit.
    deal_hunter = (
        stratified_uniform(rng, n) < np.array([g.deal_hunter_share for g in groups])[group]
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
    return CustomerTraits(
        acquisition_day=acquisition_day,
        group=group,
        channel=channel,
        region=region,
        satisfaction=satisfaction,
        dropout=dropout,
        orders_per_year=orders_per_year,
        mean_list_value=mean_list_value,
        contacts_per_year=contacts_per_year,
        deal_hunter=deal_hunter,
        discount=discount,
        cogs_ratio=cogs_ratio,
    )


def customers_frame(
    rng: np.random.Generator,
    p: DemoParameters,
    start: date,
    customer_id: np.ndarray,
    people: CustomerTraits,
) -> pd.DataFrame:
    """The ``customers`` table, once the referrals have settled the acquisition channels.

    Acquisition cost: channel cost, regional multiplier, customer-level noise.
    """
    n = len(customer_id)
    region_names = list(REGION_PROFILES)
    region_table = np.array(list(REGION_PROFILES.values()))
    channel, region = people.channel, people.region
    cac_mean = (
        np.array([c.acquisition_cost for c in CHANNEL_PROFILES])[channel] * region_table[region, 1]
    )
    sigma = p.acquisition_cost_sigma
    acquisition_cost = np.round(
        cac_mean * np.exp(-sigma * sigma / 2 + sigma * special.ndtri(stratified_uniform(rng, n))),
        2,
    )
    customers = pd.DataFrame(
        {
            "customer_id": customer_id,
            "name": _names(customer_id),
            "region": np.array(region_names)[region],
            "acquisition_channel": np.array(CHANNELS)[channel],
            "acquired_at": to_dates(start, people.acquisition_day),
            "acquisition_cost": acquisition_cost,
        }
    )
    customers["name"] = customers["name"].astype("str")
    return customers


def truth_frame(
    start: date, customer_id: np.ndarray, people: CustomerTraits, dropout_time: np.ndarray
) -> pd.DataFrame:
    """The latent truth per customer (see :class:`~dashboard.simulator.portfolio.DemoChunk`)."""
    dropped = np.isfinite(dropout_time)
    dropout_day = np.where(dropped, np.floor(np.nan_to_num(dropout_time)), 0).astype(int)
    return pd.DataFrame(
        {
            "customer_id": customer_id,
            "needs_group": pd.Categorical.from_codes(people.group, categories=list(NEEDS_GROUPS)),
            "satisfaction": people.satisfaction,
            "orders_per_year": people.orders_per_year,
            "dropout_probability": people.dropout,
            "mean_order_value": people.mean_list_value,
            "contacts_per_year": people.contacts_per_year,
            "deal_hunter": people.deal_hunter,
            "discount": people.discount,
            "dropped_out_at": np.where(
                dropped, to_dates(start, dropout_day), np.datetime64("NaT")
            ).astype("datetime64[us]"),
        }
    )


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

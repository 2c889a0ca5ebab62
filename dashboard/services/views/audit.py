"""Customer-base audit page: the five lenses of Fader, Hardie & Ross (2022) and retention and
value of subscription customers. One view function per section, so each section computes
(and says what it computes) on its own and is cached on its own."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import pandas as pd
from sqlalchemy import Engine

from dashboard.domain import audit
from dashboard.scope import Scope
from dashboard.storage import audit_queries as queries
from dashboard.storage import clv_store
from dashboard.storage.schema import subscriptions as subscriptions_table

#: What each function of this module computes, shown while it runs on a cache miss
#: (``dashboard.app.context.load`` adds the period and filters).
COMPUTING = {
    "one_period": "Lens 1: ranking the period's customers by revenue and binning their orders "
    "and spend",
    "period_to_period": "Lens 2: sorting customers into retained, lost, new and reactivated",
    "cohorts": "Lenses 3 to 5: lining up every acquisition cohort by age and calendar month",
    "subscriptions": "Fitting the shifted-beta-geometric retention model per plan and valuing "
    "subscribers",
}


#: Headers of the active-subscriber download.
SUBSCRIBER_HEADERS = {
    "subscription_id": "subscription_id",
    "customer_id": "customer_id",
    "plan": "plan",
    "started_at": "started_at",
    "monthly_value": "monthly_value",
    "renewals": "renewals_made",
    "p_active_12m": "p_still_subscribed_12m",
    "derl": "derl_months",
    "monthly_margin": "monthly_margin",
    "lifetime_value": "lifetime_value",
}


@dataclass(frozen=True)
class OnePeriodView:
    """Lens 1. ``snapshot`` (:class:`~dashboard.domain.audit.PeriodSnapshot`; 0 customers
    means no buyer in the period), ``curve`` (concentration curve), ``orders`` and ``spend``
    (distributions, :func:`~dashboard.domain.audit.orders_distribution`,
    :func:`~dashboard.domain.audit.spend_distribution`)."""

    snapshot: audit.PeriodSnapshot
    curve: pd.DataFrame
    orders: pd.DataFrame
    spend: pd.DataFrame


def one_period(engine: Engine, scope: Scope) -> OnePeriodView:
    """The period's buyers: how many, how concentrated their revenue, how many orders and
    how much spend per customer."""
    summary = queries.period_summary(engine, scope)
    concentration = queries.revenue_concentration(engine, scope)
    snapshot = audit.period_snapshot(summary, concentration)
    if snapshot.customers == 0:
        empty = pd.DataFrame()
        return OnePeriodView(snapshot, empty, empty, empty)
    return OnePeriodView(
        snapshot=snapshot,
        curve=audit.concentration_curve(concentration),
        orders=audit.orders_distribution(
            queries.orders_per_customer(engine, scope), queries.ORDERS_CAP
        ),
        spend=audit.spend_distribution(
            queries.spend_per_customer(engine, scope), queries.SPEND_BINS
        ),
    )


@dataclass(frozen=True)
class PeriodToPeriodView:
    """Lens 2: ``previous`` (the period compared with), ``flows``
    (:func:`~dashboard.domain.audit.flow_table`), ``bridge``
    (:func:`~dashboard.domain.audit.revenue_bridge`)."""

    previous: Scope
    flows: pd.DataFrame
    bridge: pd.DataFrame


def period_to_period(engine: Engine, scope: Scope) -> PeriodToPeriodView:
    """Customers and revenue flowing from the previous period to this one."""
    flows = queries.customer_flows(engine, scope)
    return PeriodToPeriodView(
        previous=scope.previous_period(),
        flows=audit.flow_table(flows),
        bridge=audit.revenue_bridge(flows),
    )


@dataclass(frozen=True)
class CohortsView:
    """Lenses 3 to 5, as of the period's end.

    ``grain``: "month" or "quarter"; ``grid``: :func:`~dashboard.domain.audit.cohort_grid`
    at that grain; ``early``: :func:`~dashboard.domain.audit.second_purchase_table`;
    ``second_purchase``: the binned days to second purchase per cohort (for one cohort's
    distribution); ``layers``: C3 (:func:`~dashboard.domain.audit.cohort_layers`),
    ``recent_by_month``: :func:`~dashboard.domain.audit.recent_share_by_month`; ``recent``:
    revenue of the 365 days to the end and of the customers won in them (one row).
    """

    grain: str
    as_of: date
    grid: pd.DataFrame
    early: pd.DataFrame
    second_purchase: pd.DataFrame
    layers: pd.DataFrame
    recent_by_month: pd.DataFrame
    recent: pd.DataFrame

    @property
    def is_empty(self) -> bool:
        return self.grid.empty


def cohorts(engine: Engine, scope: Scope, grain: str = "quarter") -> CohortsView:
    """Every acquisition cohort up to the period's end, by age and over calendar time."""
    audit.year_months(grain)  # a bad grain fails here, before any query
    stored = queries.stored_facts(engine, scope) or False  # False: aggregate the orders
    monthly_sizes = queries.cohort_sizes(engine, scope, "month")
    monthly = audit.cohort_grid(
        queries.cohort_activity(engine, scope, "month", stored=stored),
        monthly_sizes,
        "month",
        scope.end,
    )
    sizes = monthly_sizes if grain == "month" else queries.cohort_sizes(engine, scope, grain)
    if grain == "month":
        grid = monthly
    else:
        grid = audit.cohort_grid(
            queries.cohort_activity(engine, scope, grain, stored=stored), sizes, grain, scope.end
        )
    buckets = queries.second_purchase(engine, scope, grain, stored=stored)
    empty = monthly.empty
    return CohortsView(
        grain=grain,
        as_of=scope.end,
        grid=grid,
        early=audit.second_purchase_table(buckets, sizes, grain, scope.end),
        second_purchase=buckets,
        layers=pd.DataFrame() if empty else audit.cohort_layers(monthly, "quarter"),
        recent_by_month=pd.DataFrame() if empty else audit.recent_share_by_month(monthly),
        recent=queries.recent_customer_revenue(engine, scope),
    )


@dataclass(frozen=True)
class SubscriptionView:
    """The subscription section.

    ``state``: "absent" (no ``subscriptions`` table), "empty" (no rows at all), "none in
    scope" (rows, none started by the end in these filters) or "rows"; ``contract``: the
    table's columns and meanings (for the first two). With rows: ``settings``, ``fits``
    (per plan), ``plans`` (:func:`~dashboard.domain.audit.plan_summary`), ``observed``
    (retention per plan) and ``by_cohort`` (per plan and start quarter), ``projected``
    (sBG S(t) per plan), ``subscribers`` (every active subscriber with its projection and
    value, most valuable first), ``purchase_equity`` (one row or none).
    """

    state: str
    as_of: date
    contract: pd.DataFrame | None = None
    settings: audit.SubscriptionSettings | None = None
    fits: dict[str, audit.PlanFit] | None = None
    plans: pd.DataFrame | None = None
    observed: pd.DataFrame | None = None
    by_cohort: pd.DataFrame | None = None
    projected: pd.DataFrame | None = None
    subscribers: pd.DataFrame | None = None
    purchase_equity: pd.DataFrame | None = None

    @property
    def equity(self) -> float:
        """Subscription customer equity: the sum of the active subscribers' lifetime value."""
        if self.subscribers is None:
            return 0.0
        return float(self.subscribers["lifetime_value"].sum())


def _contract_columns() -> pd.DataFrame:
    rows = [
        (column.name, str(column.type).lower(), column.nullable, column.comment)
        for column in subscriptions_table.columns
    ]
    return pd.DataFrame(rows, columns=["column", "type", "nullable", "meaning"])


def subscriptions(
    engine: Engine,
    scope: Scope,
    settings: audit.SubscriptionSettings = audit.DEFAULT_SUBSCRIPTION_SETTINGS,
) -> SubscriptionView:
    """Retention by plan and start cohort, the sBG fit per plan, and each active
    subscriber's projected retention and lifetime value, as of the period's end.

    With a stored lifetime-value fit, the discount rate and horizon are the fit's, so the
    subscription equity and the purchase-model equity beside it are valued alike; only the
    margin share comes from ``settings``."""
    state = queries.has_subscriptions(engine)
    if state != "rows":
        return SubscriptionView(state=state, as_of=scope.end, contract=_contract_columns())
    tenures = queries.subscription_tenures(engine, scope, "quarter")
    if tenures.empty:
        return SubscriptionView(state="none in scope", as_of=scope.end)
    run = clv_store.latest_run(engine)
    if run is not None:  # value subscribers as the purchase model values buyers, side by side
        settings = replace(
            settings,
            annual_discount_rate=run.annual_discount_rate,
            horizon_months=run.horizon_months,
        )
    fits = audit.fit_plans(tenures)
    values = audit.subscriber_values(queries.active_subscriptions(engine, scope), fits, settings)
    values = values.sort_values(
        ["lifetime_value", "subscription_id"], ascending=[False, True]
    ).reset_index(drop=True)
    by_cohort = audit.retention_curves(tenures, ("plan", "cohort"))
    by_cohort["cohort_label"] = [audit.period_label(c, "quarter") for c in by_cohort["cohort"]]
    return SubscriptionView(
        state="rows",
        as_of=scope.end,
        settings=settings,
        fits=fits,
        plans=audit.plan_summary(values, fits),
        observed=audit.retention_curves(tenures, ("plan",)),
        by_cohort=by_cohort,
        projected=audit.projected_retention(fits),
        subscribers=values,
        purchase_equity=queries.purchase_equity(engine, scope),
    )

"""Per-customer facts, aggregated in the database: the input of value, segments and loyalty.

One row per customer in scope (acquired on or before the period's end), with what the customer
did up to the end of the period and within it. Everything is summed per customer in SQL, so only
one row per customer reaches pandas.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from sqlalchemy import Engine, Integer, Select, case, cast, func, select

from dashboard.scope import Scope
from dashboard.storage.schema import customers, orders, referrals, service_contacts, surveys
from dashboard.storage.sql import between, customer_scope, read_frame

#: Columns of :func:`customer_summary` and their meaning (units: money in currency units).
SUMMARY_COLUMNS = {
    "customer_id": "customer identifier",
    "name": "display name",
    "region": "region",
    "acquisition_channel": "acquisition channel",
    "acquired_at": "acquisition date",
    "acquisition_cost": "cost to win the customer",
    "orders": "orders up to the period's end",
    "order_days": "distinct days with an order up to the period's end",
    "first_order": "date of the first order",
    "last_order": "date of the latest order up to the period's end",
    "revenue": "revenue up to the period's end",
    "gross_margin": "revenue - cost up to the period's end",
    "orders_period": "orders in the period",
    "revenue_period": "revenue in the period",
    "gross_margin_period": "gross margin in the period",
    "revenue_last_12m": "revenue in the 365 days to the period's end",
    "revenue_prior_12m": "revenue in the 365 days before those",
    "contacts": "service contacts up to the period's end",
    "service_cost": "service cost up to the period's end",
    "fcr_contacts": "contacts resolved at first contact, up to the period's end",
    "handle_seconds": "total handle time up to the period's end, seconds",
    "contacts_period": "service contacts in the period",
    "service_cost_period": "service cost in the period",
    "referrals_made": "referrals made up to the period's end",
    "latest_csat": "latest CSAT answer (1-5) up to the period's end",
    "latest_nps": "latest NPS answer (0-10) up to the period's end",
}


def customer_summary(engine: Engine, scope: Scope) -> pd.DataFrame:
    """One row per customer in scope with lifetime-to-date and in-period aggregates.

    Lifetime-to-date figures cover everything up to ``scope.end``; ``*_period`` figures cover
    ``scope.start`` to ``scope.end``. Customers without orders, contacts or surveys have
    zeros (and nulls for dates and survey answers). See ``SUMMARY_COLUMNS``.
    """
    end, start = scope.end, scope.start
    last_12m_start = end - timedelta(days=364)
    prior_12m_start = last_12m_start - timedelta(days=365)
    in_period = between(orders.c.ordered_at, start, end)
    order_facts = (
        select(
            orders.c.customer_id,
            func.count().label("orders"),
            func.count(orders.c.ordered_at.distinct()).label("order_days"),
            func.min(orders.c.ordered_at).label("first_order"),
            func.max(orders.c.ordered_at).label("last_order"),
            func.sum(orders.c.revenue).label("revenue"),
            func.sum(orders.c.revenue - orders.c.cost).label("gross_margin"),
            func.count(case((in_period, 1))).label("orders_period"),
            func.sum(case((in_period, orders.c.revenue), else_=0.0)).label("revenue_period"),
            func.sum(case((in_period, orders.c.revenue - orders.c.cost), else_=0.0)).label(
                "gross_margin_period"
            ),
            func.sum(
                case((orders.c.ordered_at >= last_12m_start, orders.c.revenue), else_=0.0)
            ).label("revenue_last_12m"),
            func.sum(
                case(
                    (
                        between(
                            orders.c.ordered_at, prior_12m_start, last_12m_start - timedelta(days=1)
                        ),
                        orders.c.revenue,
                    ),
                    else_=0.0,
                )
            ).label("revenue_prior_12m"),
        )
        .where(orders.c.ordered_at <= end, customer_scope(scope, orders.c.customer_id))
        .group_by(orders.c.customer_id)
        .cte("order_facts")
    )
    contact_in_period = between(service_contacts.c.opened_at, start, end)
    contact_facts = (
        select(
            service_contacts.c.customer_id,
            func.count().label("contacts"),
            func.sum(service_contacts.c.cost).label("service_cost"),
            func.sum(cast(service_contacts.c.first_contact_resolved, Integer)).label(
                "fcr_contacts"
            ),
            func.sum(service_contacts.c.handle_seconds).label("handle_seconds"),
            func.count(case((contact_in_period, 1))).label("contacts_period"),
            func.sum(case((contact_in_period, service_contacts.c.cost), else_=0.0)).label(
                "service_cost_period"
            ),
        )
        .where(
            service_contacts.c.opened_at <= end,
            customer_scope(scope, service_contacts.c.customer_id),
        )
        .group_by(service_contacts.c.customer_id)
        .cte("contact_facts")
    )
    referral_facts = (
        select(referrals.c.referrer_id.label("customer_id"), func.count().label("referrals_made"))
        .where(referrals.c.referred_at <= end, customer_scope(scope, referrals.c.referrer_id))
        .group_by(referrals.c.referrer_id)
        .cte("referral_facts")
    )
    latest_survey = _latest_answers(scope)
    columns = [
        customers.c.customer_id,
        customers.c.name,
        customers.c.region,
        customers.c.acquisition_channel,
        customers.c.acquired_at,
        customers.c.acquisition_cost,
    ]
    zero_filled = [
        (
            order_facts,
            [
                "orders",
                "order_days",
                "revenue",
                "gross_margin",
                "orders_period",
                "revenue_period",
                "gross_margin_period",
                "revenue_last_12m",
                "revenue_prior_12m",
            ],
        ),
        (
            contact_facts,
            [
                "contacts",
                "service_cost",
                "fcr_contacts",
                "handle_seconds",
                "contacts_period",
                "service_cost_period",
            ],
        ),
        (referral_facts, ["referrals_made"]),
    ]
    for cte, names in zero_filled:
        columns += [func.coalesce(cte.c[name], 0).label(name) for name in names]
    columns += [
        order_facts.c.first_order,
        order_facts.c.last_order,
        latest_survey.c.latest_csat,
        latest_survey.c.latest_nps,
    ]
    statement = (
        select(*columns)
        .select_from(
            customers.outerjoin(order_facts, order_facts.c.customer_id == customers.c.customer_id)
            .outerjoin(contact_facts, contact_facts.c.customer_id == customers.c.customer_id)
            .outerjoin(referral_facts, referral_facts.c.customer_id == customers.c.customer_id)
            .outerjoin(latest_survey, latest_survey.c.customer_id == customers.c.customer_id)
        )
        .where(customers.c.acquired_at <= end, customer_scope(scope))
        .order_by(customers.c.customer_id)
    )
    frame = read_frame(engine, statement)
    frame = frame[list(SUMMARY_COLUMNS)]
    for column in ("acquired_at", "first_order", "last_order"):
        frame[column] = pd.to_datetime(frame[column])
    for column in ("latest_csat", "latest_nps"):
        frame[column] = pd.to_numeric(frame[column]).astype("Float64")
    return frame


def latest_answer(score: str, scope: Scope, as_of: date, name: str) -> Select:
    """Each customer's latest non-null answer of ``score`` (csat or nps) up to ``as_of``:
    columns ``customer_id``, ``answer``. The ranking subquery is called ``ranked_<name>``."""
    ranked = (
        select(
            surveys.c.customer_id,
            surveys.c[score].label("answer"),
            func.row_number()
            .over(
                partition_by=surveys.c.customer_id,
                order_by=(surveys.c.answered_at.desc(), surveys.c.survey_id.desc()),
            )
            .label("rank"),
        )
        .where(
            surveys.c[score].is_not(None),
            surveys.c.answered_at <= as_of,
            customer_scope(scope, surveys.c.customer_id),
        )
        .subquery(f"ranked_{name}")
    )
    return select(ranked.c.customer_id, ranked.c.answer).where(ranked.c.rank == 1)


def _latest_answers(scope: Scope):
    """Latest non-null CSAT and latest non-null NPS per customer up to the period's end."""
    csat, nps = (
        latest_answer(score, scope, scope.end, score).subquery(f"latest_{score}")
        for score in ("csat", "nps")
    )
    return (
        select(
            customers.c.customer_id,
            csat.c.answer.label("latest_csat"),
            nps.c.answer.label("latest_nps"),
        )
        .select_from(
            customers.outerjoin(csat, csat.c.customer_id == customers.c.customer_id).outerjoin(
                nps, nps.c.customer_id == customers.c.customer_id
            )
        )
        .where((csat.c.customer_id.is_not(None)) | (nps.c.customer_id.is_not(None)))
        .cte("latest_survey")
    )

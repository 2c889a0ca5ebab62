"""A tiny hand-built portfolio; the tests work out every expected figure from it by hand.

Period under test: 2024-04-01 – 2024-06-30 (91 days); previous: 2024-01-01 – 2024-03-31
(91 days: 2024 is a leap year).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import Engine

from dashboard.storage.engine import bulk_insert, bump_data_version, create_schema
from dashboard.storage.schema import APP, CONTRACT, CONTRACT_TABLES, LOAD_ORDER

D = date

TINY = {
    "customers": pd.DataFrame(
        [
            (1, "Alice", "North", "search", D(2024, 1, 10), 100.0),
            (2, "Bob", "North", "referral", D(2024, 3, 5), 20.0),
            (3, "Cara", "South", "search", D(2024, 6, 1), 120.0),
            (4, "Dan", "South", "partner", D(2024, 7, 15), 50.0),
        ],
        columns=[
            "customer_id",
            "name",
            "region",
            "acquisition_channel",
            "acquired_at",
            "acquisition_cost",
        ],
    ),
    "orders": pd.DataFrame(
        [
            (1, 1, D(2024, 1, 10), 200.0, 120.0),
            (2, 1, D(2024, 4, 2), 100.0, 50.0),
            (3, 1, D(2024, 6, 20), 300.0, 150.0),
            (4, 2, D(2024, 3, 5), 80.0, 60.0),
            (5, 2, D(2024, 6, 30), 50.0, 60.0),
            (6, 3, D(2024, 6, 1), 400.0, 200.0),
            (7, 4, D(2024, 7, 15), 100.0, 70.0),
        ],
        columns=["order_id", "customer_id", "ordered_at", "revenue", "cost"],
    ),
    "service_contacts": pd.DataFrame(
        [
            (1, 1, "A1", D(2024, 4, 5), "phone", 600, True, 10.0),
            (2, 2, "A1", D(2024, 5, 1), "email", 300, False, 5.0),
            (3, 2, "A2", D(2024, 5, 3), "phone", 900, True, 15.0),
            (4, 3, "A2", D(2024, 2, 1), "chat", 120, True, 3.0),
        ],
        columns=[
            "contact_id",
            "customer_id",
            "agent_id",
            "opened_at",
            "channel",
            "handle_seconds",
            "first_contact_resolved",
            "cost",
        ],
    ),
    "surveys": pd.DataFrame(
        {
            "survey_id": [1, 2, 3, 4, 5],
            "customer_id": [1, 2, 2, 3, 1],
            "answered_at": [
                D(2024, 4, 6),
                D(2024, 5, 2),
                D(2024, 5, 4),
                D(2024, 6, 10),
                D(2024, 3, 1),
            ],
            "csat": pd.array([5, 2, 4, None, 3], dtype="Int64"),
            "nps": pd.array([10, 3, 8, 9, 6], dtype="Int64"),
            "contact_id": pd.array([1, 2, 3, None, None], dtype="Int64"),
        }
    ),
    "referrals": pd.DataFrame(
        {
            "referral_id": [1, 2],
            "referrer_id": [1, 1],
            "referred_customer_id": pd.array([2, None], dtype="Int64"),
            "referred_at": [D(2024, 3, 5), D(2024, 5, 10)],
        }
    ),
    "value_ratings": pd.DataFrame(
        [
            (1, D(2024, 5, 1), "price", 8, 6),
            (1, D(2024, 5, 1), "quality", 9, 9),
            (3, D(2024, 6, 5), "price", 4, 7),
        ],
        columns=["customer_id", "rated_at", "attribute", "importance", "performance"],
    ),
    "opportunities": pd.DataFrame(
        {
            "opportunity_id": [1, 2, 3],
            "customer_id": pd.array([1, None, 3], dtype="Int64"),
            "opened_at": [D(2024, 2, 1), D(2024, 4, 1), D(2024, 6, 1)],
            "closed_at": [D(2024, 3, 1), D(2024, 5, 1), None],
            "outcome": ["won", "lost", "open"],
            "amount": [500.0, 300.0, 200.0],
            "loss_reason": [None, "price", None],
        }
    ),
    # The optional subscription line: the tiny store has none (tests/audit_fixtures.py has).
    "subscriptions": pd.DataFrame(
        {
            "subscription_id": pd.array([], dtype="int64"),
            "customer_id": pd.array([], dtype="int64"),
            "plan": pd.array([], dtype=object),
            "started_at": pd.array([], dtype="datetime64[us]"),
            "ended_at": pd.array([], dtype="datetime64[us]"),
            "monthly_value": pd.array([], dtype="float64"),
        }
    ),
}

PERIOD = (D(2024, 4, 1), D(2024, 6, 30))


def reset_store(engine: Engine) -> None:
    """Drop every contract and app table (test databases only)."""
    APP.drop_all(engine, checkfirst=True)
    CONTRACT.drop_all(engine, checkfirst=True)


def load_tiny(engine: Engine) -> Engine:
    """Create the schema in ``engine`` and load the tiny portfolio."""
    reset_store(engine)
    create_schema(engine)
    with engine.begin() as conn:
        for name in LOAD_ORDER:
            bulk_insert(conn, CONTRACT_TABLES[name], TINY[name])
    bump_data_version(engine)
    return engine

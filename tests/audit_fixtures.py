"""A focused portfolio for the customer-base audit: the tiny portfolio's customers and orders,
plus Eve (lapsed, then back), a few orders in Q3 2024, and five subscriptions.

Period under test: Q3 2024 (2024-07-01 – 2024-09-30); previous: Q2 2024. Hand-worked figures
are in tests/storage/test_audit_queries.py and tests/domain/test_audit.py.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import Engine

from dashboard.storage.engine import bulk_insert, bump_data_version, create_schema
from dashboard.storage.schema import CONTRACT_TABLES, LOAD_ORDER
from tests.fixtures import TINY, reset_store

D = date

AUDIT = dict(TINY)
AUDIT["customers"] = pd.concat(
    [
        TINY["customers"],
        pd.DataFrame(
            [(5, "Eve", "North", "search", D(2024, 2, 1), 30.0)],
            columns=TINY["customers"].columns,
        ),
    ],
    ignore_index=True,
)
AUDIT["orders"] = pd.concat(
    [
        TINY["orders"],
        pd.DataFrame(
            [
                (8, 1, D(2024, 8, 5), 150.0, 90.0),
                (9, 1, D(2024, 8, 5), 50.0, 20.0),
                (10, 5, D(2024, 2, 1), 70.0, 40.0),
                (11, 5, D(2024, 9, 15), 90.0, 50.0),
            ],
            columns=TINY["orders"].columns,
        ),
    ],
    ignore_index=True,
)
AUDIT["subscriptions"] = pd.DataFrame(
    {
        "subscription_id": [1, 2, 3, 4, 5],
        "customer_id": [1, 2, 3, 5, 4],
        "plan": ["basic", "basic", "plus", "plus", "basic"],
        "started_at": [
            D(2024, 1, 15),
            D(2024, 3, 10),
            D(2024, 6, 20),
            D(2024, 2, 29),
            D(2024, 8, 31),
        ],
        "ended_at": [D(2024, 3, 15), None, D(2024, 7, 5), D(2024, 10, 15), None],
        "monthly_value": [10.0, 10.0, 30.0, 30.0, 10.0],
    }
)
AUDIT["subscriptions"]["started_at"] = pd.to_datetime(AUDIT["subscriptions"]["started_at"])
AUDIT["subscriptions"]["ended_at"] = pd.to_datetime(AUDIT["subscriptions"]["ended_at"])

Q3 = (D(2024, 7, 1), D(2024, 9, 30))


def load_audit(engine: Engine) -> Engine:
    """Create the schema in ``engine`` and load the audit portfolio."""
    reset_store(engine)
    create_schema(engine)
    with engine.begin() as conn:
        for name in LOAD_ORDER:
            bulk_insert(conn, CONTRACT_TABLES[name], AUDIT[name])
    bump_data_version(engine)
    return engine

"""A small hand-built store for the Service page, with follow-up boundaries worked out by hand.

Contact window under test: 2024-03-01 – 2024-03-30 (one comparison window; its middle day is
2024-03-15). Recency thresholds at the window start: 90 days = 2023-12-02, 180 days =
2023-09-03, 365 days = 2023-03-02. Follow-up: 90 days; the last order is on 2024-06-14.

Customers (region) and what each is for:

- 1 North: 2 orders before (2024-01-05, 2024-02-10) → band recency 1, frequency 2. Contacts on
  03-05 (A1, resolved) and 03-20 (A1, not resolved). A same-day order on 03-05 (neither before
  nor after the contact) and an order on 06-03 = 03-05 + 90 days (inside the follow-up).
- 2 North: 1 order (2024-02-20) → band (1, 1), no contact: reference day 03-15; its next order
  on 06-14 = 03-15 + 91 days is outside the follow-up.
- 3 South: 4 orders before → band (1, 3), no contact, orders on 04-01.
- 4 North: 1 order (2023-10-01, 152 days before) → band (2, 1). Contacts on 2023-12-01 and
  2023-12-11 (90 days before its window contact: counted as prior) and 03-10 (A2, not
  resolved), followed by an order on 03-11.
- 5 North: a single order (2024-02-15), no contact, nothing after → band (1, 1).
- 6 North: no order at all; a contact on 03-12 (A1, resolved): no band, left out of the
  comparison.
- 7 South: 1 order on 2022-12-01 → band (4, 1); contact 03-25 (A2, resolved), nothing after.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import Engine

from dashboard.storage.engine import bulk_insert, bump_data_version, create_schema
from dashboard.storage.schema import CONTRACT_TABLES, LOAD_ORDER
from tests.fixtures import TINY, reset_store

D = date
WINDOW = (D(2024, 3, 1), D(2024, 3, 30))

SERVICE_STORE = {
    "customers": pd.DataFrame(
        [
            (1, "Ann", "North", "search", D(2024, 1, 5), 10.0),
            (2, "Ben", "North", "search", D(2024, 2, 20), 10.0),
            (3, "Cat", "South", "partner", D(2023, 12, 20), 10.0),
            (4, "Dev", "North", "search", D(2023, 10, 1), 10.0),
            (5, "Eve", "North", "search", D(2024, 2, 15), 10.0),
            (6, "Fay", "North", "search", D(2024, 3, 1), 10.0),
            (7, "Gus", "South", "partner", D(2022, 12, 1), 10.0),
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
            (1, 1, D(2024, 1, 5), 50.0, 20.0),
            (2, 1, D(2024, 2, 10), 100.0, 40.0),
            (3, 1, D(2024, 3, 5), 30.0, 10.0),
            (4, 1, D(2024, 6, 3), 70.0, 30.0),
            (5, 2, D(2024, 2, 20), 80.0, 30.0),
            (6, 2, D(2024, 6, 14), 60.0, 20.0),
            (7, 3, D(2023, 12, 20), 40.0, 10.0),
            (8, 3, D(2024, 1, 10), 60.0, 20.0),
            (9, 3, D(2024, 2, 1), 20.0, 5.0),
            (10, 3, D(2024, 2, 25), 10.0, 5.0),
            (11, 3, D(2024, 4, 1), 25.0, 10.0),
            (12, 4, D(2023, 10, 1), 90.0, 40.0),
            (13, 4, D(2024, 3, 11), 40.0, 20.0),
            (14, 5, D(2024, 2, 15), 35.0, 15.0),
            (15, 7, D(2022, 12, 1), 45.0, 20.0),
        ],
        columns=["order_id", "customer_id", "ordered_at", "revenue", "cost"],
    ),
    "service_contacts": pd.DataFrame(
        [
            (1, 1, "A1", D(2024, 3, 5), "phone", 600, True, 10.0),
            (2, 1, "A1", D(2024, 3, 20), "email", 300, False, 5.0),
            (3, 4, "A2", D(2024, 3, 10), "phone", 900, False, 15.0),
            (4, 6, "A1", D(2024, 3, 12), "chat", 120, True, 3.0),
            (5, 7, "A2", D(2024, 3, 25), "chat", 240, True, 4.0),
            (6, 4, "A2", D(2023, 12, 1), "phone", 500, True, 8.0),
            (7, 4, "A1", D(2023, 12, 11), "email", 400, True, 6.0),
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
            "survey_id": [1, 2, 3, 4],
            "customer_id": [1, 4, 7, 2],
            "answered_at": [D(2024, 3, 6), D(2024, 3, 11), D(2024, 3, 26), D(2024, 3, 15)],
            "csat": pd.array([5, 1, None, 2], dtype="Int64"),
            "nps": pd.array([10, 0, 7, 3], dtype="Int64"),
            "contact_id": pd.array([1, 3, 5, None], dtype="Int64"),
        }
    ),
}


def load_service_store(engine: Engine) -> Engine:
    """Create the schema in ``engine`` and load the service store (other tables empty)."""
    reset_store(engine)
    create_schema(engine)
    with engine.begin() as conn:
        for name in LOAD_ORDER:
            frame = SERVICE_STORE.get(name, TINY[name].iloc[0:0])
            bulk_insert(conn, CONTRACT_TABLES[name], frame)
    bump_data_version(engine)
    return engine

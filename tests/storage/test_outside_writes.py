"""Rows another program writes into the contract tables change the data version."""

from __future__ import annotations

import time
from datetime import date

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from dashboard.storage import queries

#: PostgreSQL's row counters reach pg_stat_user_tables within about 10 s of a commit.
NOTICE_WITHIN_SECONDS = 20


def _outside(url: str):
    """An engine of "another program": plain SQLAlchemy, none of the app's bookkeeping."""
    if url.startswith("postgresql"):
        return create_engine(url)
    return create_engine(url, poolclass=NullPool)


def _version_changes(engine, before: str) -> bool:
    deadline = time.monotonic() + NOTICE_WITHIN_SECONDS
    while time.monotonic() < deadline:
        if queries.data_version(engine) != before:
            return True
        time.sleep(0.5)
    return False


def test_an_order_inserted_outside_the_app_changes_the_version(tiny_engine, store_url):
    before = queries.data_version(tiny_engine)
    assert queries.data_version(tiny_engine) == before  # stable while nothing changes
    with _outside(store_url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO orders (order_id, customer_id, ordered_at, revenue, cost) "
                "VALUES (:order_id, 1, :day, 75, 30)"
            ),
            {"order_id": 999, "day": date(2024, 12, 30)},
        )
    assert _version_changes(tiny_engine, before)


def test_an_update_outside_the_app_changes_the_version(tiny_engine, store_url):
    if not store_url.startswith("postgresql"):
        pytest.skip("elsewhere the fingerprint is counts and dates; an in-place update of an "
                    "amount is caught on PostgreSQL, by the server's row counters")  # fmt: skip
    before = queries.data_version(tiny_engine)
    with _outside(store_url).begin() as conn:
        conn.execute(text("UPDATE orders SET revenue = revenue + 1 WHERE order_id = '1'"))
    assert _version_changes(tiny_engine, before)


def test_a_store_without_a_stored_version_still_has_one(tiny_engine, store_url):
    with _outside(store_url).begin() as conn:
        conn.execute(text("DELETE FROM dataset_info"))
    before = queries.data_version(tiny_engine)
    assert before.startswith("fp:")
    with _outside(store_url).begin() as conn:
        conn.execute(text("DELETE FROM referrals"))
    assert _version_changes(tiny_engine, before)

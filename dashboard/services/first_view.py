"""After a write: store what the first page view of the new data would otherwise compute.

Pages read every customer's summary of their period from ``customer_summaries``, filled for
each data version on the first read of a period (``customer_queries.store_summaries``); the
value curves read the latest ratings as of the period's end
(``value_curve_queries.store_latest_ratings``) and the audit page its cohort facts as of it
(``audit_facts.store_facts``). All three are stored here right after the commands that change
the data (``demo``, ``import``, ``import-transactions``, ``fit``, ``segment``), for the period
every page opens on (``periods.DEFAULT_PRESET``), so the first visitor after a load does not
wait for them (at a million customers, seconds on the embedded store and tens of seconds on
PostgreSQL). Other periods are still filled on their first read.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from dashboard.domain.periods import DEFAULT_PRESET, preset_period
from dashboard.storage import audit_facts, customer_queries, queries, value_curve_queries
from dashboard.storage.engine import existing_tables


def prepare_default_period(engine: Engine) -> tuple[date, date] | None:
    """Store the default period's customer summaries and the audit facts as of its end; its
    (start, end), or None (no customers or orders yet, or a store that cannot hold them)."""
    if not {"customers", "orders"} <= existing_tables(engine):
        return None
    bounds = queries.data_bounds(engine)
    if bounds.last_order is None:
        return None
    start, end = preset_period(DEFAULT_PRESET, bounds.last_order, bounds.first_order)
    if customer_queries.store_summaries(engine, start, end) is None:
        return None
    value_curve_queries.store_latest_ratings(engine, end)
    audit_facts.store_facts(engine, end)  # the audit's cohort lenses
    return start, end

"""The Data page's view, and what each analysis needs: which tables feed which page.

``coverage`` (cheap: one EXISTS per table, cached by data version in the app) says which
contract tables hold rows in the WHOLE store; pages use ``missing_for(page)`` to tell a store
that lacks a table ("service_contacts is empty: load it") from filters that select nothing
("widen the filters"). ``view`` adds each table's rows, date range, last load and the
warnings and errors of ``check``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine

from dashboard.scope import Scope
from dashboard.storage import presence
from dashboard.storage.check import check_store
from dashboard.storage.schema import LOAD_ORDER

#: The contract tables, in the order to load them (the upload's choices).
TABLE_NAMES: tuple[str, ...] = tuple(LOAD_ORDER)

#: Where each table's columns are described (the generated contract document).
CONTRACT_DOC = "docs/data-contract.md"


@dataclass(frozen=True)
class Analysis:
    """A page (or part of one), the tables it needs, and what it shows with them."""

    page: str
    title: str
    needs: tuple[str, ...]
    shows: str


#: Every analysis of the app, in navigation order.
ANALYSES: tuple[Analysis, ...] = (
    Analysis(
        "customer_value",
        "Customer value",
        ("customers", "orders"),
        "the whale curve (which customers make the profit), lifetime value and who loses money",
    ),
    Analysis(
        "segments",
        "Segments",
        ("customers", "orders"),
        "groups of similar customers, what each is worth and how customers move between them",
    ),
    Analysis(
        "service",
        "Service",
        ("service_contacts",),
        "cost to serve, handle time, first-contact resolution and how agents compare",
    ),
    Analysis(
        "loyalty",
        "Loyalty vs satisfaction",
        ("surveys",),
        "satisfaction (CSAT) and recommendation (NPS) against behavioural loyalty",
    ),
    Analysis(
        "value_curves",
        "Value curves",
        ("value_ratings",),
        "what customers expect against what they get, per attribute",
    ),
    Analysis(
        "referrals",
        "Referrals (Overview, Segments)",
        ("referrals",),
        "who brings in new customers and what the referred customers are worth",
    ),
    Analysis(
        "opportunities",
        "Sales pipeline (Overview)",
        ("opportunities",),
        "won, lost and open deals and why deals are lost",
    ),
    Analysis(
        "audit",
        "Customer-base audit: subscriptions",
        ("subscriptions",),
        "how long subscribers stay, plan by plan, and what the subscriber base is worth",
    ),
)

#: What each table is, in a few words, for the notices.
TABLE_WORDS = {
    "customers": "one row per customer",
    "orders": "one row per order (revenue and cost)",
    "service_contacts": "one row per service contact (phone, e-mail, chat)",
    "surveys": "one row per survey answer (CSAT, NPS)",
    "referrals": "one row per referral a customer made",
    "value_ratings": "importance and performance ratings per attribute",
    "opportunities": "one row per sales opportunity",
    "subscriptions": "one row per subscription (plan, start, end)",
}


#: What each function of this module computes, shown while it runs on a cache miss
#: (``dashboard.app.context.load`` adds the period and filters).
COMPUTING = {"view": "Counting each table's rows, dates and last load, and checking the contract"}


def contract_anchor(table: str) -> str:
    """``docs/data-contract.md#<table>``: the section that lists the table's columns."""
    return f"{CONTRACT_DOC}#{table}"


def how_to_load(table: str) -> str:
    """One sentence: how to load ``table`` (command line or the Data page)."""
    return (
        f"Load a CSV with the columns of `{contract_anchor(table)}` "
        f"(`python -m dashboard import {table} FILE.csv`, or upload it on the Data page)."
    )


@dataclass(frozen=True)
class Coverage:
    """Which contract tables hold rows in the whole store (not under the filters)."""

    with_rows: frozenset[str]

    def empty_tables(self, analysis: Analysis) -> tuple[str, ...]:
        return tuple(t for t in analysis.needs if t not in self.with_rows)

    def missing_for(self, page: str) -> tuple[str, ...]:
        """Tables the page ``page`` needs that are empty (or absent) in the store."""
        analysis = next((a for a in ANALYSES if a.page == page), None)
        return () if analysis is None else self.empty_tables(analysis)

    @property
    def supported(self) -> tuple[Analysis, ...]:
        return tuple(a for a in ANALYSES if not self.empty_tables(a))

    @property
    def unsupported(self) -> tuple[Analysis, ...]:
        return tuple(a for a in ANALYSES if self.empty_tables(a))


def missing_message(page: str, tables: tuple[str, ...]) -> str:
    """The notice of a page whose tables are empty in the whole store (Markdown)."""
    analysis = next(a for a in ANALYSES if a.page == page)
    words = [TABLE_WORDS.get(t, "see the contract") for t in tables]
    names = " and ".join(f"`{t}`" for t in tables)
    verb = "is" if len(tables) == 1 else "are"
    lines = [
        f"**This store has no {names} data** ({'; '.join(words)}): "
        f"the table {verb} empty in the whole store, not only under the filters. With it, "
        f"this page would show {analysis.shows}."
    ]
    lines += [how_to_load(t) for t in tables]
    return "\n\n".join(lines)


def coverage(engine: Engine, scope: Scope | None = None) -> Coverage:
    """The store's coverage; ``scope`` is ignored (emptiness is of the whole store)."""
    return Coverage(presence.tables_with_rows(engine))


@dataclass(frozen=True)
class TableRow:
    """One line of the Data page's table."""

    table: str
    rows: int
    first: date | None
    last: date | None
    loaded_at: datetime | None
    feeds: str
    status: str


@dataclass(frozen=True)
class DataView:
    """The Data page: each table, the analyses the store supports, and the check's findings."""

    tables: tuple[TableRow, ...]
    coverage: Coverage
    findings: tuple[tuple[str, str, str], ...]  # (severity, where, message)
    verdict: str


def _feeds(table: str) -> str:
    return ", ".join(a.title for a in ANALYSES if table in a.needs) or "references only"


def view(engine: Engine, scope: Scope | None = None) -> DataView:
    """Rows, date range and last load per table, and the ``check`` findings (whole store)."""
    stats = presence.table_stats(engine)
    cover = Coverage(frozenset(s.table for s in stats if s.rows))
    rows = tuple(
        TableRow(
            s.table,
            s.rows,
            s.first,
            s.last,
            s.loaded_at,
            _feeds(s.table),
            "no such table" if not s.present else ("empty" if not s.rows else "loaded"),
        )
        for s in stats
    )
    report = check_store(engine)
    order = {name: i for i, name in enumerate(LOAD_ORDER)}
    findings = tuple(
        (f.severity, f.where, f.message + (f" (e.g. {f.example})" if f.example else ""))
        for f in sorted(report.findings, key=lambda f: order.get(f.table, 99))
        if f.severity in ("error", "warning") and f.check != "empty_table"
    )
    return DataView(rows, cover, findings, report.verdict())

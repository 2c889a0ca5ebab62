"""The data contract: every table the app reads, defined once with SQLAlchemy Core.

Each column carries its meaning (``comment``) and machine-readable rules in ``info``:

- ``unit``: unit of the value (currency units, seconds, 1-10 scale, ...);
- ``min`` / ``max``: allowed closed range (inclusive);
- ``allowed``: allowed values for categorical columns;
- ``not_before``: another column of the same row that a value may not precede (a date);
- ``references``: ``"table.column"`` that a value must exist in (a logical foreign key; no
  physical constraint is declared so that users can point the app at views in their warehouse
  and bulk loads stay fast).

``docs/data-contract.md`` is generated from these definitions (``python -m dashboard
contract-doc``) and the ``check`` and ``import`` commands enforce them, so the three never
disagree.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Double,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

#: Tables of the data contract: what a warehouse must provide (as tables or views).
CONTRACT = MetaData()

#: Tables the app itself writes (model runs, segment assignments, dataset version).
APP = MetaData()

MONEY = "currency units"

customers = Table(
    "customers",
    CONTRACT,
    Column(
        "customer_id",
        BigInteger,
        primary_key=True,
        autoincrement=False,
        comment="Unique customer identifier.",
        info={"min": 1},
    ),
    Column("name", String(200), nullable=False, comment="Display name of the customer."),
    Column(
        "region",
        String(100),
        nullable=False,
        comment="Sales region the customer belongs to (also the unit of row-level access).",
    ),
    Column(
        "acquisition_channel",
        String(100),
        nullable=False,
        comment="Channel through which the customer was won (e.g. paid search, referral).",
    ),
    Column(
        "acquired_at",
        Date,
        nullable=False,
        comment="Date the customer was acquired (first contract or first order).",
    ),
    Column(
        "acquisition_cost",
        Double,
        nullable=False,
        comment="What it cost to win this customer (marketing and sales cost attributed).",
        info={"unit": MONEY, "min": 0},
    ),
)

orders = Table(
    "orders",
    CONTRACT,
    Column(
        "order_id",
        BigInteger,
        primary_key=True,
        autoincrement=False,
        comment="Unique order identifier.",
        info={"min": 1},
    ),
    Column(
        "customer_id",
        BigInteger,
        nullable=False,
        index=True,
        comment="Customer who placed the order.",
        info={"references": "customers.customer_id"},
    ),
    Column("ordered_at", Date, nullable=False, index=True, comment="Order date."),
    Column(
        "revenue",
        Double,
        nullable=False,
        comment="Net revenue of the order after discounts, before tax.",
        info={"unit": MONEY, "min": 0},
    ),
    Column(
        "cost",
        Double,
        nullable=False,
        comment="Cost of goods sold and fulfilment for the order. "
        "Gross margin = revenue - cost (may be negative).",
        info={"unit": MONEY, "min": 0},
    ),
)

service_contacts = Table(
    "service_contacts",
    CONTRACT,
    Column(
        "contact_id",
        BigInteger,
        primary_key=True,
        autoincrement=False,
        comment="Unique service contact identifier.",
        info={"min": 1},
    ),
    Column(
        "customer_id",
        BigInteger,
        nullable=False,
        index=True,
        comment="Customer who contacted service.",
        info={"references": "customers.customer_id"},
    ),
    Column("agent_id", String(50), nullable=False, comment="Agent who handled the contact."),
    Column("opened_at", Date, nullable=False, index=True, comment="Date the contact was opened."),
    Column(
        "channel",
        String(50),
        nullable=False,
        comment="Contact channel.",
        info={"allowed": ["phone", "email", "chat"]},
    ),
    Column(
        "handle_seconds",
        Integer,
        nullable=False,
        comment="Handle time: talk, hold and wrap-up.",
        info={"unit": "seconds", "min": 0, "max": 86400},
    ),
    Column(
        "first_contact_resolved",
        Boolean,
        nullable=False,
        comment="True when the issue was resolved in this first contact.",
    ),
    Column(
        "cost",
        Double,
        nullable=False,
        comment="Fully loaded cost of handling the contact.",
        info={"unit": MONEY, "min": 0},
    ),
)

surveys = Table(
    "surveys",
    CONTRACT,
    Column(
        "survey_id",
        BigInteger,
        primary_key=True,
        autoincrement=False,
        comment="Unique survey answer identifier.",
        info={"min": 1},
    ),
    Column(
        "customer_id",
        BigInteger,
        nullable=False,
        index=True,
        comment="Customer who answered.",
        info={"references": "customers.customer_id"},
    ),
    Column("answered_at", Date, nullable=False, comment="Date of the answer."),
    Column(
        "csat",
        Integer,
        nullable=True,
        comment="Satisfaction score, 1 (very dissatisfied) to 5 (very satisfied); null if "
        "not asked.",
        info={"unit": "1-5 scale", "min": 1, "max": 5},
    ),
    Column(
        "nps",
        Integer,
        nullable=True,
        comment="Likelihood to recommend, 0 to 10; null if not asked.",
        info={"unit": "0-10 scale", "min": 0, "max": 10},
    ),
    Column(
        "contact_id",
        BigInteger,
        nullable=True,
        comment="Service contact this survey followed; null for a relationship survey.",
        info={"references": "service_contacts.contact_id"},
    ),
)

referrals = Table(
    "referrals",
    CONTRACT,
    Column(
        "referral_id",
        BigInteger,
        primary_key=True,
        autoincrement=False,
        comment="Unique referral identifier.",
        info={"min": 1},
    ),
    Column(
        "referrer_id",
        BigInteger,
        nullable=False,
        index=True,
        comment="Customer who made the referral.",
        info={"references": "customers.customer_id"},
    ),
    Column(
        "referred_customer_id",
        BigInteger,
        nullable=True,
        comment="Customer won through the referral; null if the referral did not convert.",
        info={"references": "customers.customer_id"},
    ),
    Column("referred_at", Date, nullable=False, comment="Date of the referral."),
)

value_ratings = Table(
    "value_ratings",
    CONTRACT,
    Column(
        "customer_id",
        BigInteger,
        primary_key=True,
        autoincrement=False,
        comment="Customer who rated.",
        info={"references": "customers.customer_id"},
    ),
    Column("rated_at", Date, primary_key=True, comment="Date of the rating."),
    Column(
        "attribute",
        String(100),
        primary_key=True,
        comment="What is rated (price, quality, speed, personal service, range, ...).",
    ),
    Column(
        "importance",
        Integer,
        nullable=False,
        comment="How much the customer values the attribute (what it expects).",
        info={"unit": "1-10 scale", "min": 1, "max": 10},
    ),
    Column(
        "performance",
        Integer,
        nullable=False,
        comment="How well the company delivers the attribute to it (what it gets).",
        info={"unit": "1-10 scale", "min": 1, "max": 10},
    ),
)

opportunities = Table(
    "opportunities",
    CONTRACT,
    Column(
        "opportunity_id",
        BigInteger,
        primary_key=True,
        autoincrement=False,
        comment="Unique opportunity identifier.",
        info={"min": 1},
    ),
    Column(
        "customer_id",
        BigInteger,
        nullable=True,
        comment="Existing customer the opportunity is with; null for a prospect.",
        info={"references": "customers.customer_id"},
    ),
    Column("opened_at", Date, nullable=False, comment="Date the opportunity was opened."),
    Column("closed_at", Date, nullable=True, comment="Date it was won or lost; null while open."),
    Column(
        "outcome",
        String(10),
        nullable=False,
        comment="won, lost or open.",
        info={"allowed": ["won", "lost", "open"]},
    ),
    Column(
        "amount",
        Double,
        nullable=False,
        comment="Expected or closed deal value.",
        info={"unit": MONEY, "min": 0},
    ),
    Column(
        "loss_reason",
        String(200),
        nullable=True,
        comment="Why it was lost (price, quality, speed, service, competitor, ...); "
        "null unless lost.",
    ),
)

subscriptions = Table(
    "subscriptions",
    CONTRACT,
    Column(
        "subscription_id",
        BigInteger,
        primary_key=True,
        autoincrement=False,
        comment="Unique subscription (contract) identifier.",
        info={"min": 1},
    ),
    Column(
        "customer_id",
        BigInteger,
        nullable=False,
        index=True,
        comment="Customer who holds the subscription.",
        info={"references": "customers.customer_id"},
    ),
    Column(
        "plan",
        String(100),
        nullable=False,
        comment="Plan subscribed to (e.g. basic, plus, premium): retention is modelled per plan.",
    ),
    Column("started_at", Date, nullable=False, comment="Date the subscription started."),
    Column(
        "ended_at",
        Date,
        nullable=True,
        comment="Date the subscription ended (cancelled or not renewed); null while active. "
        "Not before started_at.",
        info={"not_before": "started_at"},
    ),
    Column(
        "monthly_value",
        Double,
        nullable=False,
        comment="Recurring revenue per month (an annual plan's price / 12), net of tax.",
        info={"unit": MONEY, "min": 0},
    ),
    comment="**Optional.** Subscriptions (contracts renewed every month) for a subscription "
    "line of business. A store may lack this table or leave it empty: the Customer-base audit "
    "page then says that its subscription section needs it, and everything else works. "
    "Orders of subscription customers, if any, stay in `orders`.",
)

#: Contract tables a store may lack: the pages that read them say what they would show.
OPTIONAL_TABLES = frozenset({"subscriptions"})

#: Dataset version: bumped by every write (demo build, import, model fit) so caches keyed by it
#: are invalidated. A warehouse exposed through views may lack it; the app then falls back to a
#: fingerprint of row counts (see ``queries.data_version``).
dataset_info = Table(
    "dataset_info",
    APP,
    Column("key", String(50), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

CONTRACT_TABLES: dict[str, Table] = dict(CONTRACT.tables)

#: Order in which tables load so that references resolve.
LOAD_ORDER = [
    "customers",
    "orders",
    "service_contacts",
    "surveys",
    "referrals",
    "value_ratings",
    "opportunities",
    "subscriptions",
]


def primary_key_columns(table: Table) -> list[str]:
    """Names of the primary-key columns of ``table``."""
    return [c.name for c in table.primary_key.columns]


# --- Tables the app writes: stored model runs (fit on an explicit action, read by pages) ---

clv_runs = Table(
    "clv_runs",
    APP,
    Column("run_id", Integer, primary_key=True, autoincrement=False),
    Column("fitted_at", DateTime, nullable=False, comment="When the models were fitted."),
    Column(
        "calibration_end",
        Date,
        nullable=False,
        comment="Last day of the data the models were fitted on.",
    ),
    Column(
        "settings",
        Text,
        nullable=False,
        comment="JSON: horizon, margin, discount rate, time unit, holdout length.",
    ),
    Column("params", Text, nullable=False, comment="JSON: BG/NBD and Gamma-Gamma parameters."),
    Column(
        "diagnostics",
        Text,
        nullable=False,
        comment="JSON: log-likelihoods and holdout accuracy figures.",
    ),
    # Issue 13: the purchase model the predictions come from (None: BG/NBD, older fits).
    Column("purchase_model", String(20), comment="bgnbd or pareto_nbd."),
)

customer_clv = Table(
    "customer_clv",
    APP,
    Column("run_id", Integer, primary_key=True, autoincrement=False),
    Column("customer_id", BigInteger, primary_key=True, autoincrement=False),
    Column("frequency", Integer, nullable=False, comment="Repeat purchase days."),
    Column("recency", Double, nullable=False, comment="Weeks from first to last purchase."),
    Column("T", Double, nullable=False, comment="Weeks from first purchase to calibration end."),
    Column(
        "monetary_value",
        Double,
        nullable=False,
        comment="Mean revenue of the repeat purchase days (0 without repeat purchase).",
        info={"unit": MONEY},
    ),
    Column("probability_alive", Double, nullable=False, info={"min": 0, "max": 1}),
    Column(
        "expected_purchases_12m",
        Double,
        nullable=False,
        comment="Expected purchases in the next 12 months.",
    ),
    Column(
        "expected_spend",
        Double,
        nullable=False,
        comment="Gamma-Gamma expected revenue per future purchase.",
        info={"unit": MONEY},
    ),
    Column(
        "margin_share",
        Double,
        nullable=False,
        comment="Gross margin / revenue applied to the expected revenue (fraction).",
        info={"min": -1, "max": 1},
    ),
    Column(
        "clv",
        Double,
        nullable=False,
        comment="Discounted lifetime value over the horizon.",
        info={"unit": MONEY},
    ),
    # Issue 13 (intervals and what-if; nullable: fits stored before it have none).
    Column("clv_low", Double, comment="5th percentile of CLV over parameter draws."),
    Column("clv_high", Double, comment="95th percentile of CLV over parameter draws."),
    Column("discounted_revenue", Double, comment="CLV before margin (discounted revenue)."),
    *[
        Column(f"revenue_dropout_{code}", Double, comment="Discounted revenue, dropout changed.")
        for code in ("m50", "m25", "m10", "p10", "p25", "p50")
    ],
    *[Column(f"clv_u{k}", Double, comment="CLV draw loading.") for k in range(1, 9)],
    *[Column(f"alive_u{k}", Double, comment="P(alive) draw loading.") for k in range(1, 7)],
)

segment_runs = Table(
    "segment_runs",
    APP,
    Column("run_id", Integer, primary_key=True, autoincrement=False),
    Column("created_at", DateTime, nullable=False),
    Column("as_of", Date, nullable=False, comment="Date the customer features were computed at."),
    Column("n_segments", Integer, nullable=False),
    Column("settings", Text, nullable=False, comment="JSON: features, algorithm, seed, k range."),
    Column("quality", Text, nullable=False, comment="JSON: selection criterion per k, chosen k."),
)

segment_assignments = Table(
    "segment_assignments",
    APP,
    Column("run_id", Integer, primary_key=True, autoincrement=False),
    Column("customer_id", BigInteger, primary_key=True, autoincrement=False),
    Column("segment", Integer, nullable=False, comment="Segment number, 1 = most valuable."),
)

segment_names = Table(
    "segment_names",
    APP,
    Column("run_id", Integer, primary_key=True, autoincrement=False),
    Column("segment", Integer, primary_key=True, autoincrement=False),
    Column("name", String(100), nullable=False, comment="Plain-language name (user-editable)."),
)

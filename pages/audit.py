"""Customer-base audit: the five lenses (Fader, Hardie & Ross 2022) and subscription retention."""

from functools import partial

import streamlit as st

from dashboard.app.context import load, page_setup
from dashboard.app.widgets import table_height
from dashboard.charts.audit import (
    build_cohort_heatmap,
    build_cohort_lines,
    build_cohort_retention,
    build_concentration_curve,
    build_distribution,
    build_early_signals,
    build_layer_cake,
    build_recent_share,
    build_retention_curves,
    build_revenue_bridge,
    build_second_purchase,
)
from dashboard.domain import audit
from dashboard.formatting import format_value
from dashboard.services import exports
from dashboard.services.views import audit as audit_view

#: Active subscribers listed on screen (the download holds all).
SUBSCRIBER_ROWS_SHOWN = 1_000

ctx = page_setup(
    "Customer-base audit",
    "The five lenses of Fader, Hardie & Ross's *The Customer-Base Audit*: one period, period "
    "to period, one cohort over time, cohorts compared and the whole base; then retention "
    "and value of subscription customers.",
)
f = ctx.scope
period = f"{f.start:%d %b %Y} – {f.end:%d %b %Y}"
as_of = f"{f.end:%d %b %Y}"


def pct(value: float, digits: int = 1) -> str:
    return "—" if value != value else f"{100 * value:.{digits}f}%"


# --- Lens 1 ------------------------------------------------------------------------------
st.header("1 · One period", divider="gray")
one = load(audit_view.one_period, ctx)
snap = one.snapshot
if snap.customers == 0:
    st.info(
        "No customer in these filters bought in the period, so the audit has nothing to "
        "show. Widen the period or clear the filters in the sidebar.",
        icon=":material/filter_alt_off:",
    )
    st.stop()
cols = [*st.columns(3), *st.columns(3)]
cols[0].metric(
    "Customers",
    f"{snap.customers:,}",
    border=True,
    help=f"Customers in the filters with at least one order from {period}.",
)
cols[1].metric(
    "One-time buyers",
    pct(snap.one_time_share),
    border=True,
    help="Share of the period's customers with exactly one order in the period.",
)
cols[2].metric(
    "Top 10% of customers",
    pct(snap.top_shares[0.1]),
    border=True,
    help="Share of the period's revenue from the 10% of its customers with the highest "
    "revenue in the period (the ceil(10% × customers) highest).",
)
cols[3].metric(
    "Top 20% of customers",
    pct(snap.top_shares[0.2]),
    border=True,
    help="Share of the period's revenue from the 20% of its customers with the highest "
    "revenue in the period.",
)
cols[4].metric(
    "Orders per customer",
    f"{snap.orders_per_customer:.2f}",
    border=True,
    help="Orders in the period / the period's customers.",
)
cols[5].metric(
    "Revenue per customer",
    format_value(snap.revenue_per_customer, "money"),
    border=True,
    help="Revenue in the period / the period's customers (currency units).",
)
left, middle, right = st.columns(3)
left.plotly_chart(
    build_concentration_curve(one.curve, title="Revenue concentration"), width="stretch"
)
middle.plotly_chart(
    build_distribution(one.orders, title="Orders per customer", x_title="Orders in the period"),
    width="stretch",
)
right.plotly_chart(
    build_distribution(
        one.spend,
        title="Revenue per customer",
        x_title="Revenue in the period (currency units)",
        colour="secondary",
    ),
    width="stretch",
)
st.caption(
    f"{period}, customers in the filters who bought in it. Concentration: customers ranked "
    "by revenue, highest first; the dotted diagonal is revenue spread evenly. Revenue bins "
    "are equal widths up to the 99th percentile of revenue per customer, the last bin holds "
    "the 1% above it."
)

# --- Lens 2 ------------------------------------------------------------------------------
st.header("2 · Period to period", divider="gray")
flows_view = load(audit_view.period_to_period, ctx)
previous = flows_view.previous
flows = flows_view.flows.set_index("flow")
cols = st.columns(4)
meanings = {
    "retained": "bought in both the previous period and this one",
    "lost": "bought in the previous period, not in this one",
    "new": "first order ever in this period",
    "reactivated": "bought in this period, not in the previous one, but before it",
}
for col, flow in zip(cols, audit.FLOWS, strict=True):
    revenue = flows.at[flow, "revenue_previous" if flow == "lost" else "revenue_current"]
    col.metric(
        f"{flow.capitalize()} customers",
        f"{int(flows.at[flow, 'customers']):,}",
        delta=f"{format_value(revenue, 'money')} revenue"
        + (" last period" if flow == "lost" else ""),
        delta_color="off",
        delta_arrow="off",
        border=True,
        help=f"Customers who {meanings[flow]} "
        f"(previous: {previous.start:%d %b %Y} – {previous.end:%d %b %Y}). Revenue in "
        "currency units: in this period, for lost customers in the previous one.",
    )
st.plotly_chart(
    build_revenue_bridge(
        flows_view.bridge,
        title=f"From {previous.start:%d %b %Y} – {previous.end:%d %b %Y} revenue to {period}",
    ),
    width="stretch",
)
st.caption(
    "Previous period's revenue, minus what lost customers spent then, plus the retained "
    "customers' change in spend, plus new and reactivated customers' revenue, gives this "
    "period's revenue. Currency units."
)

# --- Lenses 3 and 4 -----------------------------------------------------------------------
st.header("3 · One cohort over time", divider="gray")
grain = (
    st.segmented_control(
        "Cohorts by",
        ["quarter", "month"],
        default="quarter",
        format_func=str.capitalize,
        key="audit_grain",
        bind="query-params",
        help="Acquisition cohorts by calendar quarter or month of acquisition; ages in the "
        "same unit.",
    )
    or "quarter"
)
view = load(audit_view.cohorts, ctx, grain)
unit = "quarters" if grain == "quarter" else "months"
age_title = f"{unit.capitalize()} since acquisition (0 = the acquisition {grain})"
if view.is_empty:
    st.info("No customer in these filters was acquired by the period's end.")
    st.stop()
grid = view.grid
labels = list(dict.fromkeys(grid["cohort_label"]))
# Default: the cohort a year before the period's end, so that a year of history shows.
default_cohort = labels[max(0, len(labels) - (5 if grain == "quarter" else 13))]
chosen = st.selectbox(
    "Cohort",
    labels,
    index=labels.index(default_cohort),
    key="audit_cohort",
    help="Customers acquired in this quarter or month (customers.acquired_at).",
)
mine = grid[grid["cohort_label"] == chosen]
size = int(mine["size"].iloc[0])
early = view.early.set_index("cohort_label").loc[chosen]
cols = st.columns(4)
cols[0].metric(
    "Original members", f"{size:,}", border=True, help="Customers acquired in the cohort."
)
cols[1].metric(
    f"Active after 4 {unit}" if grain == "quarter" else "Active after 12 months",
    pct(
        float(
            mine.loc[
                (mine["age"] == (4 if grain == "quarter" else 12)) & mine["complete"],
                "share_active",
            ].sum()
        )
        if ((mine["age"] == (4 if grain == "quarter" else 12)) & mine["complete"]).any()
        else float("nan")
    ),
    border=True,
    help="Share of the original members with an order in that period since acquisition "
    "(a dash: the cohort is not that old yet).",
)
cols[2].metric(
    "Revenue per member to date",
    format_value(float(mine["revenue_per_member"].sum()), "money"),
    border=True,
    help=f"All revenue of the cohort up to {as_of} / original members (currency units).",
)
cols[3].metric(
    "Second purchase within 90 days",
    pct(float(early["repeat_90"])),
    border=True,
    help="Share of original members whose second purchase day came at most 90 days after "
    "their first (a dash: the cohort's youngest member has not had 90 days yet).",
)
left, middle, right = st.columns(3)
left.plotly_chart(
    build_cohort_lines(
        grid,
        "share_active",
        title="Share still buying",
        y_title="Share of original members",
        percent=True,
        highlight=chosen,
        age_title=age_title,
    ),
    width="stretch",
)
middle.plotly_chart(
    build_cohort_lines(
        grid,
        "cumulative_revenue_per_member",
        title="Cumulative revenue per original member",
        y_title="Currency units",
        highlight=chosen,
        age_title=age_title,
    ),
    width="stretch",
)
right.plotly_chart(
    build_second_purchase(
        audit.second_purchase_distribution(view.second_purchase, int(mine["cohort"].iloc[0]), size),
        title="Time to second purchase",
    ),
    width="stretch",
)
st.caption(
    f"The chosen cohort in bold, the others in grey; ages up to {as_of}, complete {unit} "
    "only. Share still buying: members with an order in that period / original members. "
    "Second purchase: the first order on a later day than the first order."
)

st.header("4 · Cohorts compared", divider="gray")
st.plotly_chart(
    build_cohort_heatmap(grid, title="Share of each cohort buying, by age", age_title=age_title),
    width="stretch",
)
st.subheader("Revenue = cohort size × share active × orders per active customer × spend per order")
sizes = grid.drop_duplicates("cohort")[["cohort_label", "size"]]
a, b = st.columns(2)
a.plotly_chart(
    build_distribution(
        sizes.assign(
            label=sizes["cohort_label"],
            customers=sizes["size"],
            share=sizes["size"] / sizes["size"].sum(),
        ),
        title="Cohort size (customers acquired)",
        x_title="Acquisition cohort",
    ),
    width="stretch",
)
b.plotly_chart(
    build_cohort_lines(
        grid,
        "share_active",
        title="Share active",
        y_title="Share of original members",
        percent=True,
        age_title=age_title,
    ),
    width="stretch",
)
c, d = st.columns(2)
c.plotly_chart(
    build_cohort_lines(
        grid,
        "orders_per_active",
        title="Orders per active customer",
        y_title="Orders",
        age_title=age_title,
    ),
    width="stretch",
)
d.plotly_chart(
    build_cohort_lines(
        grid,
        "revenue_per_order",
        title="Spend per order",
        y_title="Currency units",
        age_title=age_title,
    ),
    width="stretch",
)
table = grid[grid["complete"]].copy()
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    height=table_height(len(table), max_rows=10),
    placeholder="—",
    column_order=[
        "cohort_label",
        "age",
        "size",
        "share_active",
        "orders_per_active",
        "revenue_per_order",
        "revenue",
        "margin_share",
        "gross_margin",
    ],
    column_config={
        "cohort_label": "Cohort",
        "age": st.column_config.NumberColumn(f"Age ({unit})", format="%d"),
        "size": st.column_config.NumberColumn("Size", format="%,d", help="Customers acquired."),
        "share_active": st.column_config.NumberColumn(
            "Share active", format="percent", help="Members with an order at that age / size."
        ),
        "orders_per_active": st.column_config.NumberColumn(
            "Orders per active", format="%.2f", help="Orders at that age / active members."
        ),
        "revenue_per_order": st.column_config.NumberColumn(
            "Spend per order", format="%,.2f", help="Revenue / orders (currency units)."
        ),
        "revenue": st.column_config.NumberColumn(
            "Revenue",
            format="%,.0f",
            help="= size × share active × orders per active × spend per order.",
        ),
        "margin_share": st.column_config.NumberColumn(
            "Margin", format="percent", help="Gross margin / revenue at that age."
        ),
        "gross_margin": st.column_config.NumberColumn(
            "Gross margin", format="%,.0f", help="= revenue × margin (currency units)."
        ),
    },
)
st.plotly_chart(
    build_early_signals(view.early, title="Early signals: second purchase soon after acquisition"),
    width="stretch",
)
st.caption(
    "Lines: one per cohort, from the oldest (light) to the newest (dark); hover for its name. "
    f"Cohorts of customers acquired up to {as_of}, orders up to then, in the filters; complete "
    f"{unit} only. A cohort's early-signal bar is missing when its youngest member has not had "
    "90 (or 180) days yet."
)

# --- Lens 5 ------------------------------------------------------------------------------
st.header("5 · The whole base", divider="gray")
recent = view.recent.iloc[0]
recent_share = recent["revenue_recent"] / recent["revenue"] if recent["revenue"] else float("nan")
st.metric(
    "Revenue from customers won in the last 12 months",
    pct(recent_share),
    delta=f"{int(recent['customers_recent']):,} of {int(recent['customers']):,} buyers",
    delta_color="off",
    delta_arrow="off",
    border=True,
    help=f"Revenue from {recent['window_start']:%d %b %Y} to {as_of} (365 days) of customers "
    "acquired in those days / all revenue in them. High: growth rests on acquisition; low: on "
    "the existing base.",
)
left, right = st.columns(2)
left.plotly_chart(
    build_layer_cake(
        view.layers,
        "revenue",
        title="Revenue by acquisition cohort (C3)",
        y_title="Revenue a month (currency units)",
    ),
    width="stretch",
)
right.plotly_chart(
    build_layer_cake(
        view.layers,
        "active",
        title="Active customers by acquisition cohort",
        y_title="Customers with an order in the month",
    ),
    width="stretch",
)
st.plotly_chart(
    build_recent_share(
        view.recent_by_month,
        title="Share of each month's revenue from customers acquired in the 12 months to it",
    ),
    width="stretch",
)
st.caption(
    f"Calendar months up to {as_of} (the last may be partial), one layer per acquisition "
    "quarter, oldest at the bottom; customers in the filters. In the data's first 12 months "
    "every customer is a recent one, so the share starts at 100%."
)

# --- Subscriptions -------------------------------------------------------------------------
st.header("Subscriptions: retention and value", divider="gray")
subs = load(audit_view.subscriptions, ctx)
if subs.state in ("absent", "empty"):
    what = "has no `subscriptions` table" if subs.state == "absent" else "has no subscriptions"
    st.info(
        f"**The store {what}**, so this section has nothing to show. Add the optional "
        "`subscriptions` table (one row per subscription; see the *subscriptions* section of "
        "`docs/data-contract.md`) to see retention curves by plan and start cohort, the "
        "shifted-beta-geometric projection, and each subscriber's expected remaining "
        "lifetime and value. Import it with `python -m dashboard import subscriptions "
        "FILE.csv`.",
        icon=":material/autorenew:",
    )
    st.dataframe(subs.contract, hide_index=True, width="stretch")
    st.stop()
if subs.state == "none in scope":
    st.info("No subscription in these filters started by the period's end.")
    st.stop()
settings = subs.settings
horizon = (
    f"over the next {settings.horizon_months} months"
    if settings.horizon_months
    else "with no horizon"
)
purchase = subs.purchase_equity
cols = st.columns(4)
cols[0].metric(
    "Active subscribers",
    f"{len(subs.subscribers):,}",
    border=True,
    help=f"Subscriptions in the filters started by {as_of} and not ended by then.",
)
cols[1].metric(
    "Monthly recurring revenue",
    format_value(float(subs.subscribers["monthly_value"].sum()), "money"),
    border=True,
    help="Sum of the active subscriptions' monthly value (currency units a month).",
)
cols[2].metric(
    "Subscription customer equity",
    format_value(subs.equity, "money"),
    border=True,
    help="Sum over active subscribers of monthly value × margin share "
    f"({100 * settings.margin_share:.0f}%) × discounted expected remaining lifetime (sBG "
    f"DERL, {100 * settings.annual_discount_rate:.0f}% a year, {horizon}). Currency units.",
)
cols[3].metric(
    "Purchase-model customer equity",
    "—" if purchase.empty else format_value(float(purchase["equity"].iloc[0]), "money"),
    border=True,
    help="Sum of the stored lifetime-value fit's CLV (BG/NBD and Gamma-Gamma on orders) over "
    "the customers in the filters; see the Customer value page. A dash: no fit stored.",
)
left, right = st.columns(2)
left.plotly_chart(
    build_retention_curves(
        subs.observed, subs.projected, title="Still subscribed, by plan: observed and sBG model"
    ),
    width="stretch",
)
plans = sorted(subs.observed["plan"].unique())
plan = right.selectbox("Plan", plans, key="audit_plan", help="Start cohorts of this plan.")
right.plotly_chart(
    build_cohort_retention(
        subs.by_cohort[subs.by_cohort["plan"] == plan],
        title=f"{plan}: still subscribed, by start quarter",
    ),
    width="stretch",
)
st.dataframe(
    subs.plans,
    hide_index=True,
    width="stretch",
    column_config={
        "plan": "Plan",
        "alpha": st.column_config.NumberColumn(
            "α", format="%.3f", help="sBG: Beta(α, β) of the monthly churn probability."
        ),
        "beta": st.column_config.NumberColumn("β", format="%.3f"),
        "mean_churn": st.column_config.NumberColumn(
            "Mean churn a month",
            format="percent",
            help="α / (α + β): the first month's churn of a new cohort.",
        ),
        "log_likelihood": st.column_config.NumberColumn("Log-likelihood", format="%,.1f"),
        "fitted": st.column_config.NumberColumn(
            "Subscriptions fitted",
            format="%,d",
            help="Churned, or active past at least one renewal.",
        ),
        "active": st.column_config.NumberColumn("Active", format="%,d"),
        "monthly_value": st.column_config.NumberColumn(
            "Monthly value",
            format="%,.0f",
            help="Of the active subscriptions (currency units a month).",
        ),
        "mean_derl": st.column_config.NumberColumn(
            "Mean DERL (months)",
            format="%.1f",
            help="Mean discounted expected remaining lifetime of the active subscribers.",
        ),
        "equity": st.column_config.NumberColumn(
            "Equity",
            format="%,.0f",
            help="Sum of the subscribers' lifetime value (currency units).",
        ),
    },
)
st.caption(
    f"As of {as_of}. Observed: the share of subscriptions still running after each month "
    "since the start, among those observed that long (Kaplan-Meier). Model: the shifted-"
    "beta-geometric S(t) fitted per plan on every start cohort (Fader & Hardie 2007); its "
    "retention rate rises with tenure because the subscribers who stay are those who churn "
    "less."
)
unfitted = {plan: fit.error for plan, fit in subs.fits.items() if fit.model is None}
if unfitted:
    st.warning(
        "No retention model for "
        + "; ".join(f"**{plan}** ({reason})" for plan, reason in unfitted.items())
        + ". Their subscribers have no projection and are left out of the subscription "
        "equity until the plan has more history.",
        icon=":material/warning:",
    )
st.subheader("Active subscribers: projection and value")
shown = subs.subscribers.head(SUBSCRIBER_ROWS_SHOWN)
if len(subs.subscribers) > SUBSCRIBER_ROWS_SHOWN:
    st.caption(
        f"The {SUBSCRIBER_ROWS_SHOWN:,} most valuable of {len(subs.subscribers):,} are listed; "
        "the download holds all."
    )
st.dataframe(
    shown,
    hide_index=True,
    width="stretch",
    height=table_height(len(shown), max_rows=10),
    column_order=[
        "subscription_id",
        "customer_id",
        "plan",
        "started_at",
        "renewals",
        "monthly_value",
        "p_active_12m",
        "derl",
        "lifetime_value",
    ],
    column_config={
        "subscription_id": st.column_config.NumberColumn("Subscription", format="%d"),
        "customer_id": st.column_config.NumberColumn("Customer ID", format="%d"),
        "plan": "Plan",
        "started_at": st.column_config.DateColumn("Started", format="DD MMM YYYY"),
        "renewals": st.column_config.NumberColumn(
            "Renewals", format="%d", help="Whole months since the start."
        ),
        "monthly_value": st.column_config.NumberColumn("Monthly value", format="%,.2f"),
        "p_active_12m": st.column_config.NumberColumn(
            "Still subscribed in 12 months",
            format="percent",
            help="sBG: S(n + 12) / S(n) for n renewals made.",
        ),
        "derl": st.column_config.NumberColumn(
            "DERL (months)",
            format="%.1f",
            help="Discounted expected remaining lifetime: expected future payments, "
            "discounted, the next one not (Fader & Hardie 2010).",
        ),
        "lifetime_value": st.column_config.NumberColumn(
            "Lifetime value",
            format="%,.0f",
            help="Monthly value × margin share × DERL (currency units).",
        ),
    },
)
st.download_button(
    f"Download the {len(subs.subscribers):,} active subscribers (CSV)",
    data=partial(
        exports.csv_bytes, subs.subscribers, audit_view.SUBSCRIBER_HEADERS, float_format="%.4f"
    ),
    file_name=f"subscribers_{f.end:%Y-%m-%d}.csv",
    mime="text/csv",
    icon=":material/download:",
    help=f"As of {as_of}; filters: {f.describe()}.",
)

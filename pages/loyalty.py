"""Loyalty vs satisfaction: what customers do against what they say."""

from functools import partial

import streamlit as st

from dashboard.app.context import explain_missing, load, on_demand, page_setup
from dashboard.app.exports import with_finding
from dashboard.app.widgets import table_height
from dashboard.charts.loyalty import (
    build_nps_trend,
    build_quadrant_density,
    build_quadrant_scatter,
    build_repeat_purchase_trend,
)
from dashboard.domain import findings, loyalty
from dashboard.formatting import format_value
from dashboard.services import exports
from dashboard.services.views import loyalty as loyalty_view

ctx = page_setup(
    "Loyalty vs satisfaction",
    "What customers do (a behavioural loyalty index) against what they say (their latest CSAT "
    "and NPS answers): are satisfied customers staying, and how much revenue sits with "
    "satisfied customers who are leaving?",
)
f = ctx.scope
settings = loyalty.DEFAULT_SETTINGS
view = load(loyalty_view.view, ctx, settings)
if view.customers_in_view == 0:
    st.info(
        "No customers match these filters (customers acquired up to the period's end). "
        "Widen the period or clear the filters in the sidebar.",
        icon=":material/filter_alt_off:",
    )
    st.stop()

run = view.run
uses_p_alive = view.uses_probability_alive
summary = view.summary
risk = view.risk
explains = view.explains
surveyed = explains.customers
as_of = f"{f.end:%d %b %Y}"

st.caption(
    f"Loyalty and satisfaction are as of {as_of} (the period's end): everything each "
    'customer did and answered up to that day. Revenue "last 12 months" covers the 365 '
    f"days to {as_of}. Money in currency units."
)

risk_share = None if risk.share_of_revenue is None else f"{risk.share_of_revenue:.1f}% of revenue"
cols = [*st.columns(2), *st.columns(2)]
cols[0].metric(
    "Revenue at risk",
    format_value(risk.revenue_last_12m, "money"),
    delta=risk_share,
    delta_color="off",
    delta_arrow="off",
    border=True,
    help="Revenue over the last 12 months (365 days to the period's end) of the customers "
    "who say they are satisfied (satisfaction ≥ "
    f"{settings.satisfied_cut:g}) but whose loyalty index is below "
    f"{settings.loyal_cut:g}: what satisfaction surveys do not warn about. Currency "
    "units; the share is of the same revenue of every customer in view.",
)
cols[1].metric(
    "Satisfied but leaving",
    f"{risk.customers:,}",
    delta=(f"{100 * risk.customers / surveyed:.0f}% of surveyed" if surveyed else None),
    delta_color="off",
    delta_arrow="off",
    border=True,
    help="Customers with satisfaction ≥ "
    f"{settings.satisfied_cut:g} and a loyalty index below {settings.loyal_cut:g}.",
)
cols[2].metric(
    "Explained by satisfaction",
    "—" if not explains.is_defined else f"{100 * explains.r_squared:.0f}%",
    delta=None
    if not explains.is_defined
    else f"95% CI {100 * explains.r_squared_low:.0f}–{100 * explains.r_squared_high:.0f}%",
    delta_color="off",
    delta_arrow="off",
    border=True,
    help="R² of a straight line of the loyalty index on the satisfaction score, among "
    "customers with a survey answer: the share of the variation in loyalty that "
    "satisfaction alone accounts for. 95% confidence interval (CI) from Fisher's z.",
)
cols[3].metric(
    "Surveyed customers",
    f"{surveyed:,}",
    delta=f"of {view.customers_in_view:,} in view",
    delta_color="off",
    delta_arrow="off",
    border=True,
    help="Customers with at least one CSAT or NPS answer up to the period's end. Only they "
    "can be placed in a quadrant; the others are counted in the table below.",
)

if surveyed == 0 and explain_missing(ctx, "loyalty"):
    pass
elif surveyed == 0:
    st.info(
        "No customer in view has answered a CSAT or NPS question up to the period's end, "
        "so nobody can be placed against satisfaction. The trends below still show "
        "repeat purchase.",
        icon=":material/info:",
    )
else:
    if explains.is_defined:
        spearman = (
            f"Rank correlation (Spearman) {explains.spearman:.2f}, 95% interval "
            f"{explains.spearman_low:.2f} to {explains.spearman_high:.2f}; each "
            f"satisfaction point goes with {explains.slope:+.2f} loyalty points."
        )
        st.markdown(f"**{view.verdict}** {spearman}")
    else:
        st.markdown(view.verdict)

    st.subheader("Satisfaction against loyalty")
    risk_finding = findings.loyalty_finding(
        risk.customers, risk.revenue_last_12m, risk.share_of_revenue
    )
    cut_note = (
        f"Dashed lines: loyal = index ≥ {settings.loyal_cut:g}; satisfied = "
        f"satisfaction ≥ {settings.satisfied_cut:g} (a single answer of CSAT 4–5 or "
        "NPS 7–10)."
    )
    if view.scatter is not None:
        st.plotly_chart(
            with_finding(
                build_quadrant_scatter(
                    view.scatter,
                    summary,
                    loyal_cut=settings.loyal_cut,
                    satisfied_cut=settings.satisfied_cut,
                    title="",
                ),
                ctx,
                risk_finding,
                "one mark per customer with a survey answer, as of the period's end",
            ),
            width="stretch",
        )
        st.caption(
            f"{cut_note} Marks are nudged up by up to 2 satisfaction points so that "
            "equal answers do not hide each other; hover for the exact values."
        )
    else:
        st.plotly_chart(
            with_finding(
                build_quadrant_density(
                    view.density,
                    summary,
                    loyal_cut=settings.loyal_cut,
                    satisfied_cut=settings.satisfied_cut,
                    title="",
                ),
                ctx,
                risk_finding,
                "customers with a survey answer per cell, as of the period's end",
            ),
            width="stretch",
        )
        st.caption(
            f"{cut_note} With {surveyed:,} customers, each cell counts the customers "
            "with that loyalty (5-point bands) and satisfaction (10-point bands) "
            "instead of drawing one mark each; counts are over all of them."
        )

clv_label = "Expected lifetime value"
clv_help = (
    f"Sum of expected lifetime value per customer: {run.describe_settings()}. Currency units."
    if run
    else "No lifetime-value fit is stored yet: fit it on the Customer value page."
)
st.dataframe(
    summary,
    hide_index=True,
    width="stretch",
    placeholder="—",
    column_order=[
        "quadrant",
        "customers",
        "share",
        "revenue_last_12m",
        "revenue_period",
        *(["clv"] if run else []),
        "mean_loyalty",
        "nps",
        "csat",
    ],
    column_config={
        "quadrant": st.column_config.TextColumn(
            "Quadrant", help=" ".join(f"{k}: {v}" for k, v in loyalty.QUADRANT_MEANINGS.items())
        ),
        "customers": st.column_config.NumberColumn("Customers", format="%,d"),
        "share": st.column_config.NumberColumn(
            "Share", format="%.1f%%", help="Share of all customers in view."
        ),
        "revenue_last_12m": st.column_config.NumberColumn(
            "Revenue, last 12 months",
            format="%,.0f",
            help="Order revenue in the 365 days to the period's end (currency units).",
        ),
        "revenue_period": st.column_config.NumberColumn(
            "Revenue in period",
            format="%,.0f",
            help=f"Order revenue from {f.start:%d %b %Y} to {as_of} (currency units).",
        ),
        "clv": st.column_config.NumberColumn(clv_label, format="%,.0f", help=clv_help),
        "mean_loyalty": st.column_config.NumberColumn(
            "Mean loyalty index", format="%.0f", help="Mean of the loyalty index (0-100)."
        ),
        "nps": st.column_config.NumberColumn(
            "NPS",
            format="%+.0f",
            help="NPS of the customers' latest NPS answers: % promoters (9-10) minus % "
            "detractors (0-6); passives (7-8) count in the base only. −100 to +100.",
        ),
        "csat": st.column_config.NumberColumn(
            "CSAT",
            format="%.0f%%",
            help="Share of the customers' latest CSAT answers that are 4 or 5 (top-two-box).",
        ),
    },
)
st.caption(
    "Share: of all customers in view. NPS and CSAT: over the customers' latest answers "
    "(a dash where the group has none). "
    + (
        "Lifetime value: from the stored fit (hover the column for its date and settings)."
        if run
        else "No lifetime value yet: no lifetime-value fit is stored (fit it on the "
        "Customer value page)."
    )
)

st.subheader("Satisfied but leaving: who to call")
action_list = view.action_list
if action_list.empty:
    st.success("No customer in view is satisfied but leaving.")
else:
    order = "expected lifetime value" if "clv" in action_list else "revenue over the last 12 months"
    st.caption(
        f"{view.action_customers:,} customers who say they are satisfied but whose behaviour "
        f"says they are leaving, most valuable first (by {order})."
    )
    # The columns a caller needs fit 1400 px without scrolling; the CSV has every column
    # (latest CSAT and NPS answers, revenue to date, where "still active" comes from) and
    # every customer, while the screen shows the most valuable (a browser cannot take 100k rows).
    if view.action_customers > len(action_list):
        st.caption(
            f"The {len(action_list):,} most valuable are listed; the download holds all "
            f"{view.action_customers:,}."
        )
    st.dataframe(
        action_list,
        hide_index=True,
        width="stretch",
        height=table_height(len(action_list), max_rows=10),
        placeholder="—",
        column_order=[
            column
            for column in (
                "customer_id",
                "name",
                "region",
                "acquisition_channel",
                "loyalty_index",
                "satisfaction",
                "last_order",
                "revenue_last_12m",
                "clv",
                "score_active",
            )
            if column in action_list
        ],
        column_config={
            "customer_id": st.column_config.TextColumn("Customer ID"),
            "name": "Name",
            "region": "Region",
            "acquisition_channel": "Channel",
            "loyalty_index": st.column_config.NumberColumn(
                "Loyalty", format="%.0f", help="Loyalty index (0-100), from behaviour."
            ),
            "satisfaction": st.column_config.NumberColumn(
                "Satisfaction",
                format="%.0f",
                help="Satisfaction (0-100) from the latest CSAT and NPS answers.",
            ),
            "latest_csat": st.column_config.NumberColumn("Latest CSAT", format="%d"),
            "latest_nps": st.column_config.NumberColumn("Latest NPS answer", format="%d"),
            "last_order": st.column_config.DateColumn("Latest order", format="DD MMM YYYY"),
            "revenue_last_12m": st.column_config.NumberColumn(
                "Revenue 12 mo",
                format="%,.0f",
                help="Order revenue in the 365 days to the period's end (currency units).",
            ),
            "revenue": st.column_config.NumberColumn("Revenue to date", format="%,.0f"),
            "clv": st.column_config.NumberColumn("Lifetime value", format="%,.0f", help=clv_help),
            "score_active": st.column_config.NumberColumn(
                "Still active",
                format="%.2f",
                help="P(alive) from the lifetime-value fit, or recency without one (0-1).",
            ),
            "active_source": "Still active from",
        },
    )
    st.download_button(
        f"Download the {view.action_customers:,} customers (CSV)",
        # Read from the store on click: over 100k customers at 1M.
        data=on_demand(
            loyalty_view.action_list,
            ctx,
            settings,
            render=partial(
                exports.csv_bytes, headers=loyalty.ACTION_LIST_COLUMNS, float_format="%.2f"
            ),
        ),
        file_name=f"satisfied-but-leaving_{f.start:%Y-%m-%d}_{f.end:%Y-%m-%d}.csv",
        mime="text/csv",
        icon=":material/download:",
        help=f"As of {as_of}; filters: {f.describe()}.",
    )

st.subheader("NPS and repeat purchase over time")
trends = view.trends
left, right = st.columns(2)
left.plotly_chart(
    build_nps_trend(trends, title="NPS by month (all answers)", period_start=f.start),
    width="stretch",
)
right.plotly_chart(
    build_repeat_purchase_trend(
        trends, title="Repeat-purchase rate by month", period_start=f.start
    ),
    width="stretch",
)
widened = (
    " (widened to 12 months so that a trend shows; the selected period is shaded)"
    if view.trend_start < f.start
    else ""
)
st.caption(
    f"{view.trend_start:%d %b %Y} – {view.trend_end:%d %b %Y}{widened}. NPS: % promoters "
    "(9-10) minus % detractors (0-6) among all NPS answers of the month, passives in the base; "
    "bars below: answers. Repeat-purchase rate: share of the month's buyers who had ordered before "
    "the month; bars below: buyers. A gap means no answers or no buyers that month."
)

st.subheader("How the loyalty index is computed")
st.markdown(
    "From what customers **do**, not what they say, as of the period's end. Each "
    "component scores 0 to 1; the index is their weighted mean, on 0–100:"
)
st.latex(
    r"\text{Loyalty index} = 100 \times "
    r"\frac{\sum_k w_k\, s_k}{\sum_{k\ \text{defined}} w_k}"
)
# st.table caps each cell at 25rem, so the long "Score" texts wrapped at half the column's
# width; lifting the cap lets them use the whole row.
st.table(
    view.components.style.set_table_styles(
        [
            {"selector": "td, td *", "props": [("max-width", "none")]},
            {"selector": "td.col0", "props": [("white-space", "nowrap")]},
        ]
    ).hide(axis="index")
)
sources = view.sources
if uses_p_alive:
    activity_note = (
        f'"Still active" is P(alive) from the lifetime-value fit of {run.fitted_at:%d %b %Y} '
        f"(data to {run.calibration_end:%d %b %Y}) for {sources['P(alive)']:,} customers, "
        f"and recency for the other {sources['recency']:,}: one-time buyers, whose BG/NBD "
        "P(alive) is always 1, and customers the fit does not cover."
    )
elif run is not None:
    activity_note = (
        f'"Still active" uses recency: the stored lifetime-value fit describes customers as '
        f"of {run.calibration_end:%d %b %Y}, more than {loyalty.FIT_TOLERANCE_DAYS} days from "
        f"this period's end."
    )
else:
    activity_note = (
        '"Still active" uses recency: no lifetime-value fit is stored yet. Once '
        "one is (Customer value page), P(alive) replaces it for repeat buyers."
    )
st.markdown(
    f"{activity_note}\n\n"
    "**Satisfaction** (0–100) is the mean of the customer's latest CSAT answer rescaled "
    "(1 → 0, 5 → 100) and latest NPS answer rescaled (0 → 0, 10 → 100), over the answers it "
    f"gave. **Quadrants**: satisfied = satisfaction ≥ {settings.satisfied_cut:g} (for a single "
    "answer: CSAT 4–5, or NPS 7–10, the passives that Reichheld calls satisfied but "
    f"unenthusiastic); loyal = loyalty index ≥ {settings.loyal_cut:g}. The cuts are fixed, so "
    "a filter does not move them. Details in `docs/loyalty.md`."
)

# --- Export for a meeting (dashboard/app/exports.py) ---
from dashboard.app.exports import page_exports  # noqa: E402

page_exports(ctx, "Loyalty vs satisfaction", "loyalty")

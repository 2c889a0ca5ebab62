"""Overview: the headline figures of the portfolio for the period and filters."""

import streamlit as st

from dashboard.app.context import load, page_setup
from dashboard.app.widgets import kpi_grid
from dashboard.charts.overview import build_monthly_trend
from dashboard.domain import metrics
from dashboard.storage import clv_store, queries

ctx = page_setup(
    "Portfolio overview",
    "The portfolio's headline figures for the period, each against the period just before it "
    "(as many calendar months, or days). Hover over the (?) next to a figure for its "
    "definition.",
)
totals = load(queries.period_totals, ctx, ctx.scope)
if not metrics.period_has_data(totals):
    st.info(
        "No customers, orders, contacts or surveys match these filters. Widen the period "
        "or clear the region, channel and segment filters in the sidebar.",
        icon=":material/filter_alt_off:",
    )
    st.stop()

previous = ctx.scope.previous_period()
st.caption(
    f"Changes compare with {previous.start:%d %b %Y} – {previous.end:%d %b %Y}. "
    "Money in currency units."
)
kpi_grid(metrics.headline_kpis(totals))

alive = load(clv_store.expected_alive, ctx, ctx.scope)
if alive is not None:
    st.caption(
        f"Expected customers still alive: **{alive[0]:,.0f}** (sum of each customer's "
        f"probability of still being active, BG/NBD fit on orders to {alive[1]:%d %b %Y}; "
        "see Customer value). Active customers above count an order in the last 365 days."
    )

monthly = metrics.fill_months(
    load(queries.monthly_activity, ctx, ctx.scope), ctx.scope.start, ctx.scope.end
)
st.plotly_chart(
    build_monthly_trend(monthly, title="Revenue, gross margin and service cost by month"),
    width="stretch",
)
st.caption(
    "Months are calendar months; the first and last may be partial when the period "
    "starts or ends mid-month."
)

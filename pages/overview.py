"""Overview: the headline figures of the portfolio for the period and filters."""

import streamlit as st

from dashboard.app.context import load, page_setup
from dashboard.app.exports import with_finding
from dashboard.app.widgets import kpi_grid
from dashboard.charts.overview import build_monthly_trend
from dashboard.domain import findings
from dashboard.services.views import overview

ctx = page_setup(
    "Portfolio overview",
    "The portfolio's headline figures for the period, each against the period just before it "
    "(as many calendar months, or days). Hover over the (?) next to a figure for its "
    "definition.",
)
view = load(overview.view, ctx)
if not view.has_data:
    st.info(
        "No customers, orders, contacts or surveys match these filters. Widen the period "
        "or clear the region, channel and segment filters in the sidebar.",
        icon=":material/filter_alt_off:",
    )
    st.stop()

st.caption(
    f"Changes compare with {view.previous.start:%d %b %Y} – {view.previous.end:%d %b %Y}. "
    "Money in currency units."
)
kpi_grid(list(view.kpis))

if view.expected_alive is not None:
    st.caption(
        f"Expected customers still alive: **{view.expected_alive:,.0f}**"
        + (
            ""
            if view.alive_interval is None
            else f" (90% interval {view.alive_interval[0]:,.0f} to {view.alive_interval[1]:,.0f},"
            " from the uncertainty of the model's parameters)"
        )
        + " — the sum of each customer's probability of still being active, from the "
        f"lifetime-value fit on orders to {view.alive_fit_end:%d %b %Y}; see Customer value. "
        "Active customers above count an order in the last 365 days."
    )

st.plotly_chart(
    with_finding(
        build_monthly_trend(view.monthly, title=""),
        ctx,
        findings.headline_finding(view.kpis),
        "revenue, gross margin and service cost by month",
    ),
    width="stretch",
)
st.caption(
    "Months are calendar months; the first and last may be partial when the period "
    "starts or ends mid-month."
)

# --- Export for a meeting (dashboard/app/exports.py) ---
from dashboard.app.exports import page_exports  # noqa: E402

page_exports(ctx, "Overview", "overview")

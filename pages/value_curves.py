"""Value curves: what each group expects against what it gets, and win/loss."""

import streamlit as st

from dashboard.app.context import load, page_setup
from dashboard.app.exports import with_finding
from dashboard.app.widgets import table_height
from dashboard.charts.value_curves import (
    build_gap_heatmap,
    build_loss_reasons,
    build_value_curves,
    build_win_rate_trend,
)
from dashboard.domain import findings
from dashboard.domain import value_curves as vc
from dashboard.formatting import format_value
from dashboard.services.views import value_curves

ctx = page_setup(
    "Value curves",
    "What each group of customers expects (importance) against what it gets (performance), "
    "where we under- or over-serve, and how we win and lose deals.",
)
groupings = load(value_curves.groupings, ctx)
grouping = (
    st.segmented_control(
        "Group customers by",
        groupings,
        default=groupings[0],
        key="vc_group",
        format_func=vc.GROUPINGS.get,
        bind="query-params",
        persist_state="session",
        help="Segments appear once a segmentation has been saved (Segments page).",
    )
    or groupings[0]
)
group_label = vc.GROUPINGS[grouping].lower()

view = load(value_curves.view, ctx, grouping)
if not view.has_ratings:
    st.info(
        "No value ratings match these filters (ratings are counted up to the period's "
        "end). Widen the period or clear the filters in the sidebar.",
        icon=":material/filter_alt_off:",
    )
else:
    curves = view.curves
    st.plotly_chart(
        with_finding(
            build_value_curves(curves, title=""),
            ctx,
            findings.value_curve_finding(view.gaps, vc.GROUPINGS[grouping], vc.GAP_THRESHOLD),
            f"value curves by {group_label}",
        ),
        width="stretch",
    )
    st.caption(
        "Each customer's latest rating of each attribute up to the period's end; mean on the "
        "1-10 scale. Dashed: importance (what the group expects). Solid: performance (what it "
        "gets). Hover for the number of raters."
    )

    st.subheader("Where we under- and over-serve")
    st.plotly_chart(
        build_gap_heatmap(curves, title="Gap = importance − performance (points)"),
        width="stretch",
    )
    st.caption(
        f"Red: under-served (expects more than it gets). Blue: over-served (gets "
        f"more than it values: cost without value). A gap of ±{vc.GAP_THRESHOLD:g} "
        "point or more counts."
    )
    gaps = view.gaps
    st.markdown(
        "**Are we serving the right customers?** Gaps ranked by the value of the "
        "customers affected. A negative value at stake means those customers lose money: "
        "over-serving them is cost spent on customers who destroy value."
    )
    if gaps.empty:
        st.success(f"No group is more than {vc.GAP_THRESHOLD:g} point off on any attribute.")
    else:
        st.dataframe(
            gaps[["group", "attribute", "status", "gap", "customers", "value_at_stake"]],
            hide_index=True,
            width="stretch",
            height=table_height(len(gaps), max_rows=12),
            column_config={
                "group": st.column_config.TextColumn(vc.GROUPINGS[grouping]),
                "attribute": "Attribute",
                "status": "Reading",
                "gap": st.column_config.NumberColumn("Gap (pts)", format="%+.1f"),
                "customers": st.column_config.NumberColumn("Raters", format="%d"),
                "value_at_stake": st.column_config.NumberColumn(
                    "Value at stake",
                    format="%,.0f",
                    help="Gross margin in the 365 days to the period's end of all this "
                    "group's raters (customers who rated any attribute), times the share of "
                    "them who rated this attribute (currency units).",
                ),
            },
        )

st.divider()
st.subheader("Win / loss")
if not view.has_deals:
    st.info(
        "No opportunities were closed or opened in this period for these filters.",
        icon=":material/filter_alt_off:",
    )
    st.stop()
summary = view.win_loss
cols = st.columns(4)
cols[0].metric(
    "Win rate",
    format_value(None if summary.win_rate is None else 100 * summary.win_rate, "percent"),
    help="Won / (won + lost) among opportunities closed in the period; open ones are excluded.",
    border=True,
)
won_amount = format_value(summary.won_amount, "money")
lost_amount = format_value(summary.lost_amount, "money")
cols[1].metric(
    "Won", f"{summary.won:,}", help=f"Won in the period: {won_amount} currency units.", border=True
)
cols[2].metric(
    "Lost",
    f"{summary.lost:,}",
    help=f"Lost in the period: {lost_amount} currency units.",
    border=True,
)
cols[3].metric(
    "Still open", f"{summary.open:,}", help="Opened in the period and not yet closed.", border=True
)
if view.prospects_included:
    st.caption("Prospects (opportunities with no customer yet) are included as their own group.")
else:
    st.caption("Prospects are left out: they belong to no region, channel or segment yet.")

left, right = st.columns([3, 2])
left.plotly_chart(
    build_win_rate_trend(view.win_rates, title=f"Win rate by month and {group_label}"),
    width="stretch",
)
reasons = view.loss_reasons
if reasons.empty:
    right.info("No opportunity was lost in this period.")
else:
    right.plotly_chart(
        with_finding(
            build_loss_reasons(reasons, title=""),
            ctx,
            findings.loss_reason_finding(reasons),
            "why we lose",
        ),
        width="stretch",
    )

# --- Export for a meeting (dashboard/app/exports.py) ---
from dashboard.app.exports import page_exports  # noqa: E402

page_exports(ctx, "Value curves", "value-curves", grouping)

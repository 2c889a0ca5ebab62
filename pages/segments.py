"""Segments: which homogeneous groups the portfolio holds, what each is worth, what to do."""

from functools import partial

import streamlit as st

from dashboard.app.context import load, page_setup, run_action
from dashboard.app.exports import with_finding
from dashboard.charts import segments as charts
from dashboard.domain import findings
from dashboard.domain.segment_features import K_RANGE, SegmentationError
from dashboard.domain.segment_playbook import PLAYBOOK_RULES
from dashboard.formatting import format_value
from dashboard.services import exports
from dashboard.services.views import segments

CLI = "python -m dashboard segment --db URL [--k N]"
AUTO = "Automatic (best silhouette)"

ctx = page_setup(
    "Segments",
    "Not all customers are the same: the groups the portfolio holds, what each is worth, how "
    "each differs from the average customer, what to do with each, and how customers move "
    "between them. Hover over the (?) next to a figure for its definition.",
)
view = load(segments.view, ctx)
run = view.run
may_recompute = ctx.access.may_write  # writes are for administrators (checked again in run_action)


def recompute_form(first: bool) -> None:
    """Controls of the explicit recompute action (never run on a page view)."""
    if not may_recompute:
        st.caption(
            "Segments cover every customer and everyone sees the same ones: only an "
            "administrator can compute, recompute or rename them."
        )
        return
    left, middle, right = st.columns([2, 2, 1], vertical_alignment="bottom")
    choice = left.selectbox(
        "Number of segments",
        [AUTO, *range(K_RANGE[0], K_RANGE[1] + 1)],
        key="segment_k",
        help="Automatic tries 2 to 10 segments and keeps the number with the highest mean "
        "simplified silhouette (how much closer each customer is to its own segment's "
        "centre than to the nearest other centre). Choose a number to override it.",
    )
    renumber = middle.checkbox(
        "Number afresh by value",
        value=False,
        disabled=first,
        key="segment_renumber",
        help="By default a new run keeps the previous run's segment numbers and given names "
        "for segments made of mostly the same customers. Tick to number segments "
        "afresh, 1 = most valuable.",
    )
    if right.button(
        "Compute segments" if first else "Recompute segments", type="primary", width="stretch"
    ):
        # Imported on the explicit action only: it loads scikit-learn.
        from dashboard.services import segmentation

        bar = st.progress(0.0, text="Starting…")
        try:
            run_action(
                ctx,
                segmentation.run_and_save,
                n_segments=None if choice == AUTO else int(choice),
                renumber=renumber,
                progress=lambda f, m: bar.progress(min(f, 1.0), text=m),
            )
        except SegmentationError as exc:
            bar.empty()
            st.error(f"The segments could not be computed: {exc}.", icon=":material/error:")
            return
        st.rerun()
    st.caption(f"Or from the command line: `{CLI}`.")


if run is None:
    st.info(
        "**No segments have been computed for this store yet.** Segmenting reads every "
        "customer's recency, frequency, order value, margin, tenure, acquisition cost, latest "
        "satisfaction answers, service contacts and referrals, groups similar customers "
        "together and saves the result, so that everyone sees the same segments. It takes a "
        "few seconds for 100,000 customers and runs only when you ask.",
        icon=":material/category:",
    )
    recompute_form(first=True)
    st.stop()

how = (
    f"chosen automatically by the highest mean simplified silhouette "
    f"({run.silhouette:.2f}) among {K_RANGE[0]}–{K_RANGE[1]}"
    if run.quality.get("chosen_automatically") and run.silhouette is not None
    else "fixed by the user"
)
covered = (
    "your regions' customers"
    if ctx.access.is_restricted
    else f"{run.quality.get('customers', 0):,} customers"
)
st.caption(
    f"**{run.n_segments} segments** of {covered}, computed "
    f"on {run.created_at:%d %b %Y %H:%M} from data up to **{run.as_of:%d %b %Y}**; number "
    f"of segments {how}. Segments are saved: the sidebar's segment filter applies them on "
    "every page."
)
for note in run.quality.get("notes", []):
    st.caption(f"Note: {note}")
if not may_recompute:
    recompute_form(first=False)
else:
    with st.expander("Recompute or rename segments"):
        recompute_form(first=False)
        with st.form("rename_segments"):
            st.markdown(
                "**Rename segments** (everyone sees the new names; a name you give is "
                "kept by the matching segment of the next run)"
            )
            typed = {
                int(s): st.text_input(
                    f"Segment {s}", value=n, max_chars=100, key=f"segment_name_{run.run_id}_{s}"
                )
                for s, n in view.names.items()
            }
            if st.form_submit_button("Save names"):
                from dashboard.services import segmentation

                current = view.names
                changed = {s: n for s, n in typed.items() if n.strip() != current[s]}
                try:
                    run_action(ctx, segmentation.rename_segments, run.run_id, changed)
                except ValueError as exc:
                    st.error(f"{exc}.", icon=":material/error:")
                else:
                    st.rerun()

worth = view.worth
if worth.empty:
    st.info(
        "No customers of the saved segments match these filters. Widen the period or clear "
        "the region, channel and segment filters in the sidebar.",
        icon=":material/search_off:",
    )
    st.stop()

# --- What each segment is worth --------------------------------------------------------------
st.subheader("What each segment is worth")
if view.concentration:
    st.markdown(view.concentration)
st.plotly_chart(
    with_finding(
        charts.build_value_shares(worth, title=""),
        ctx,
        findings.segment_finding(worth),
        "share of customers against share of value, by segment",
    ),
    width="stretch",
)
has_value_engine = view.has_value_engine
st.caption(
    f"Period {ctx.scope.start:%d %b %Y} – {ctx.scope.end:%d %b %Y}. Customers: acquired by "
    "the period's end. Revenue, gross margin and profit: in the period; profit = gross margin − "
    "service cost − acquisition cost of customers acquired in the period (docs/metrics.md). "
    + (
        "Lifetime value: latest value-engine run. "
        if has_value_engine
        else "Lifetime value appears once the value engine has run. "
    )
    + "A share of profit can be negative or above 100% when some segments lose money."
)
money = st.column_config.NumberColumn
worth_columns = [
    "label",
    "customers",
    "customers_share",
    "revenue",
    "gross_margin",
    "service_cost",
    "acquisition_cost",
    "profit",
    "profit_share",
]
if has_value_engine:
    worth_columns.append("lifetime_value")
st.dataframe(
    worth[worth_columns],
    hide_index=True,
    width="stretch",
    column_config={
        "label": st.column_config.TextColumn("Segment"),
        "customers": st.column_config.NumberColumn(
            "Customers", format="localized", help="Customers acquired by the period's end."
        ),
        "customers_share": money("% of customers", format="%.1f%%"),
        "revenue": money(
            "Revenue", format="compact", help="Order revenue in the period, currency units."
        ),
        "gross_margin": money(
            "Gross margin",
            format="compact",
            help="Revenue − order cost in the period, currency units.",
        ),
        "service_cost": money(
            "Service cost",
            format="compact",
            help="Cost of service contacts in the period, currency units.",
        ),
        "acquisition_cost": money(
            "Acquisition cost",
            format="compact",
            help="Acquisition cost of the customers acquired in the period, currency units.",
        ),
        "profit": money(
            "Profit",
            format="compact",
            help="Gross margin − service cost − acquisition cost, in the period, currency units.",
        ),
        "profit_share": money("% of profit", format="%.1f%%"),
        "lifetime_value": money(
            "Lifetime value",
            format="compact",
            help="Sum of predicted lifetime value (latest value-engine "
            "run), currency units; empty until the engine has run.",
        ),
    },
)

# --- How the segments differ ------------------------------------------------------------------
st.subheader("How each segment differs from the average customer")
if view.profiles.empty:
    st.info(
        "The segment profiles are means over every region's customers, so they are shown "
        "only to users who see every region. The segments themselves, their names and "
        "treatments are the same for everyone; every figure above and below counts only your "
        "regions' customers.",
        icon=":material/lock:",
    )
else:
    st.plotly_chart(
        charts.build_profile_heatmap(
            view.profiles,
            view.labels,
            title="Segment profiles: blue above the average, orange below",
        ),
        width="stretch",
    )
    st.caption(
        f"Profiles of all customers at {run.as_of:%d %b %Y} (the run's date; not filtered). Each "
        "cell shows the segment's mean; its colour, how far that is from the average customer in "
        "standard deviations (on a log scale for money and counts). Yearly rates are per year of "
        "tenure (at least 90 days)."
    )
quality_left, quality_right = st.columns([1, 2])
quality_left.metric(
    "Mean silhouette",
    "—" if run.silhouette is None else f"{run.silhouette:.2f}",
    help="Mean simplified silhouette, from −1 to 1: for each customer, (distance to the "
    "nearest other segment's centre − distance to its own centre) ÷ the larger of the "
    "two, averaged over a random sample of 20,000 customers. Near 1: customers sit "
    "clearly inside their segments; near 0: segments touch and customers shade from one "
    "into the next, as is usual in customer bases (segments are then useful slices of a "
    "continuum). Read it against the curve: it is the criterion that chose the number.",
    border=True,
)
quality_left.caption(
    f"Features: {len(run.settings.get('features', []))} · "
    f"algorithm: {run.settings.get('algorithm', '?')} · "
    f"seed {run.settings.get('random_state')}."
)
if run.silhouette_by_k:
    quality_right.plotly_chart(
        charts.build_silhouette_curve(
            run.silhouette_by_k, run.n_segments, title="Silhouette by number of segments"
        ),
        width="stretch",
    )

# --- Playbook ---------------------------------------------------------------------------------
st.subheader("Playbook: one treatment per segment")
plan = view.plan
measure_name = (
    "lifetime value (value engine)"
    if run.value_measure == "lifetime_value"
    else "12-month contribution (gross margin − service cost, 365 days)"
)
rule_text = "\n".join(
    f"{i}. **{name}** when {condition}"
    for i, (name, condition) in enumerate(PLAYBOOK_RULES, start=1)
)
st.dataframe(
    plan[["label", "treatment", "rule", "value_at_stake", "action"]],
    hide_index=True,
    width="stretch",
    column_config={
        "label": st.column_config.TextColumn("Segment"),
        "treatment": st.column_config.TextColumn("Treatment"),
        "rule": st.column_config.NumberColumn("Rule", help="The rule below that applies."),
        "value_at_stake": st.column_config.NumberColumn(
            "Value at stake",
            format="compact",
            help=f"Sum of {measure_name} over the segment's customers in scope, currency "
            "units, up to the period's end.",
        ),
        "action": st.column_config.TextColumn("What it means", width="large"),
    },
)
with st.container(border=True):
    st.markdown(
        f"**The rule** (first match wins). Value = {measure_name} per customer; loyalty = "
        "share of customers active (an order in the last 365 days); cost to serve = service "
        f"cost per customer-year; each compared with all customers at {run.as_of:%d %b %Y}.\n\n"
        + rule_text
    )

# --- Migration --------------------------------------------------------------------------------
st.subheader("Migration between segments")
if not view.has_migration:
    st.info(
        "The run has no earlier period end to compare with (the store's history is "
        "shorter than a quarter).",
        icon=":material/info:",
    )
else:
    before, now = f"{run.previous_as_of:%d %b %Y}", f"{run.as_of:%d %b %Y}"
    st.metric(
        "Stayed in the same segment",
        format_value(view.stayed, "percent"),
        help=f"Share of customers who were customers on {before} and are in the same "
        f"segment on {now}. Both dates use the same fitted model, so a move is a "
        "change in behaviour, not in the model.",
    )
    st.plotly_chart(
        with_finding(
            charts.build_migration_sankey(
                view.transitions,
                view.labels,
                previous_label=before,
                current_label=now,
                title="",
            ),
            ctx,
            findings.migration_finding(view.stayed, before, now),
            f"where customers were on {before} and are on {now}",
        ),
        width="stretch",
    )
    st.caption(
        f"Rows: segment on {before}; columns: segment on {now}; each row sums to 100%. "
        "New customers were acquired after the earlier date."
    )
    matrix = view.migration
    st.dataframe(
        matrix,
        width="stretch",
        column_config={
            c: st.column_config.NumberColumn(c, format="%.1f%%") for c in matrix.columns
        },
    )

# --- Drill-down -------------------------------------------------------------------------------
st.subheader("Customers of a segment")
chosen = st.selectbox(
    "Segment",
    worth["segment"].tolist(),
    key="segment_drill",
    format_func=view.label_of.get,
)
drill = load(segments.members, ctx, run.run_id, chosen)
members = drill.members
st.caption(
    f"{len(members):,} customers in scope, most profitable first; click a column to "
    f"sort. Money in currency units, to {ctx.scope.end:%d %b %Y}."
)
st.dataframe(
    members,
    hide_index=True,
    width="stretch",
    height=320,
    column_config=segments.MEMBER_COLUMNS,
)
st.download_button(
    "Download these customers (CSV)",
    data=partial(exports.csv_bytes, members, segments.MEMBER_COLUMNS),
    on_click="ignore",
    file_name=f"segment_{chosen}_customers_{ctx.scope.end:%Y%m%d}.csv",
    mime="text/csv",
)
choices = drill.choices
if choices:
    customer = st.selectbox(
        "Customer",
        [c for c, _ in choices],
        key="segment_customer",
        format_func=dict(choices).get,
        help="The 500 most profitable customers of the segment; type to search.",
    )
    picked = load(segments.customer, ctx, run.run_id, customer)
    history, path = picked.history, picked.path
    names = view.label_of
    st.caption(
        "Segment: "
        + " → ".join(
            f"{names.get(s, s)} on {d:%d %b %Y}"
            for d, s in zip(path["as_of"], path["segment"], strict=True)
        )
    )
    st.plotly_chart(
        charts.build_customer_history(
            history, title=f"Customer {customer}: orders and service contacts"
        ),
        width="stretch",
    )
    st.dataframe(
        history,
        hide_index=True,
        width="stretch",
        height=240,
        column_config={
            "date": st.column_config.DateColumn("Date"),
            "event": st.column_config.TextColumn("Event"),
            "amount": st.column_config.NumberColumn(
                "Amount", format="%.2f", help="Order revenue or contact cost, currency units."
            ),
            "gross_margin": st.column_config.NumberColumn("Gross margin", format="%.2f"),
            "detail": st.column_config.TextColumn("Detail"),
        },
    )

# --- Export for a meeting (dashboard/app/exports.py) ---
from dashboard.app.exports import page_exports  # noqa: E402

page_exports(ctx, "Segments", "segments")

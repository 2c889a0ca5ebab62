"""Service: the same contacts as a cost center and as a value driver, a verdict, what moves
retention and revenue, and agents ranked two ways."""

import streamlit as st

from dashboard import formatting
from dashboard.app.context import load, page_setup
from dashboard.app.exports import with_finding
from dashboard.charts.service import (
    build_agent_ranks,
    build_driver_effects,
    build_monthly_lenses,
)
from dashboard.domain import service_agents
from dashboard.services.views import service

ctx = page_setup(
    "Service: a cost to cut or a driver of value?",
    "The same service contacts through two scorecards, side by side: what they cost, and what "
    "they are worth in customers who stay and buy. Hover over the (?) next to a figure for its "
    "definition.",
)
view = load(service.view, ctx, ctx.bounds.first_order, ctx.bounds.last_order)
if not view.has_contacts:
    st.info(
        "No service contacts match these filters. Widen the period or clear the region and "
        "channel filters in the sidebar.",
        icon=":material/filter_alt_off:",
    )
    st.stop()

previous = view.previous

# --- The two scorecards, side by side ----------------------------------------------------------
st.subheader("Two scorecards, the same contacts")
st.caption(
    f"Contacts opened in the period; changes compare with {previous.start:%d %b %Y} – "
    f"{previous.end:%d %b %Y}. Money in currency units."
)
cost_column, value_column = st.columns(2, gap="large")
with cost_column:
    st.markdown("#### Cost-center lens")
    st.caption("Cheaper and faster is better.")
    for kpi in view.cost_center_kpis:
        delta = formatting.kpi_delta(kpi)
        st.metric(
            kpi.label,
            formatting.format_value(kpi.value, kpi.kind),
            delta=delta.text,
            delta_color=delta.color,
            delta_arrow=delta.arrow,
            help=kpi.definition,
            border=True,
        )
with value_column:
    st.markdown("#### Value-driver lens")
    st.caption("More customers kept and more revenue is better.")
    for kpi in view.value_driver_kpis:
        delta = formatting.kpi_delta(kpi)
        st.metric(
            kpi.label,
            formatting.format_value(kpi.value, kpi.kind),
            delta=delta.text,
            delta_color=delta.color,
            delta_arrow=delta.arrow,
            help=kpi.definition,
            border=True,
        )
    for figure in view.after_contact_figures:
        st.metric(
            figure.label,
            figure.value,
            delta=figure.delta,
            delta_color=figure.delta_color,
            delta_arrow=figure.delta_arrow,
            delta_description=figure.delta_description,
            help=figure.definition,
            border=True,
        )

st.caption(view.follow_up_note)

# --- Verdict -----------------------------------------------------------------------------------
st.subheader("Which scorecard is the company running?")
verdict = view.verdict
st.markdown(verdict.headline)
st.markdown("**What would change if it ran the other one**")
for sentence in view.scenario_sentences:
    st.markdown(f"- {sentence}")
st.markdown(f"**What the data support:** {view.support}")
with st.expander("The rule behind the verdict, and the evidence"):
    st.markdown(verdict.rule)
    for change in view.verdict_changes:
        st.markdown(f"- {change}")

# --- Driver analysis ---------------------------------------------------------------------------
st.subheader("What moves retention and revenue after a contact")
drivers = view.drivers
if drivers is None:
    st.info(view.driver_note, icon=":material/info:")
else:
    st.markdown(f"**{drivers.summary}**")
    for effect in drivers.effects:
        st.markdown(f"- {effect.sentence}")
    st.plotly_chart(
        with_finding(
            build_driver_effects(view.driver_effects, title=""),
            ctx,
            drivers.summary,
            "effect of each service measure, 95% CI",
        ),
        width="stretch",
    )
    st.caption(view.driver_note)

# --- Agents ------------------------------------------------------------------------------------
st.subheader("Agents ranked two ways")
measure = st.radio(
    "Rank by value using",
    list(service_agents.VALUE_MEASURES),
    format_func=lambda key: service_agents.VALUE_MEASURES[key][0],
    horizontal=True,
    key="service_value_measure",
    help="Speed is always average handle time in the period (shortest first). Value is "
    "first-contact resolution or NPS after contact in the period, or the share of the "
    "agent's contacts followed by an order within 90 days (contacts of the follow-up "
    "window, see above).",
)
ranking = view.rankings[measure]
value_label = ranking.label
if not ranking.comparable:
    st.info(
        f"Fewer than two agents have {service_agents.MIN_AGENT_CONTACTS} or more contacts "
        f"in the period (and a {formatting.lower_first(value_label)}), so there is no ranking "
        "to compare. "
        "Widen the period.",
        icon=":material/info:",
    )
else:
    st.markdown(ranking.sentence)
    st.plotly_chart(
        with_finding(
            build_agent_ranks(
                ranking.ranked,
                value_measure=measure,
                value_label=value_label,
                value_unit=ranking.unit,
                title="",
            ),
            ctx,
            ranking.sentence,
            f"rank by handle time against rank by {formatting.lower_first(value_label)}",
        ),
        width="stretch",
    )
    st.dataframe(
        ranking.table,
        hide_index=True,
        column_config={
            "Cost per contact": st.column_config.NumberColumn(format="%.2f"),
            "FCR (%)": st.column_config.NumberColumn(format="%.1f"),
            "NPS after contact": st.column_config.NumberColumn(format="%+.0f"),
            "Followed by an order (%)": st.column_config.NumberColumn(
                format="%.1f",
                help="Share of the agent's contacts in the follow-up window "
                "followed by an order within 90 days.",
            ),
        },
    )
    st.caption(ranking.note)

# --- Trend -------------------------------------------------------------------------------------
st.plotly_chart(
    build_monthly_lenses(
        view.monthly,
        period_start=ctx.scope.start,
        title="Handle time and first-contact resolution by month",
    ),
    width="stretch",
)
st.caption(
    "Calendar months from the month the previous period starts in to the period's end; "
    "the last month may be partial. Hover for each month's contacts."
)

# --- Export for a meeting (dashboard/app/exports.py) ---
from dashboard.app.exports import page_exports  # noqa: E402

page_exports(ctx, "Service", "service")

"""Service: the same contacts as a cost center and as a value driver, a verdict, what moves
retention and revenue, and agents ranked two ways."""

import streamlit as st

from dashboard import formatting
from dashboard.app.context import load, page_setup
from dashboard.charts.service import (
    build_agent_ranks,
    build_driver_effects,
    build_monthly_lenses,
)
from dashboard.domain import service, service_agents, service_drivers
from dashboard.storage import service_queries

ctx = page_setup(
    "Service: a cost to cut or a driver of value?",
    "The same service contacts through two scorecards, side by side: what they cost, and what "
    "they are worth in customers who stay and buy. Hover over the (?) next to a figure for its "
    "definition.",
)
scope, bounds = ctx.scope, ctx.bounds
window = service.follow_up_window(scope.start, scope.end, bounds.first_order, bounds.last_order)
totals = load(
    service_queries.contact_totals,
    ctx,
    scope,
    service.last_followed_contact_day(bounds.last_order),
)
if not service.has_contacts(totals):
    st.info(
        "No service contacts match these filters. Widen the period or clear the region and "
        "channel filters in the sidebar.",
        icon=":material/filter_alt_off:",
    )
    st.stop()

previous = scope.previous_period()
cells = (
    load(
        service_queries.retention_cells,
        ctx,
        scope,
        service.comparison_window_starts(window),
        window.end,
        window.follow_up_days,
    )
    if window
    else None
)
after_contact = service.retention_comparison(cells) if cells is not None else None

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
    for kpi in service.cost_center_kpis(totals):
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
    for kpi in service.value_driver_kpis(totals):
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
    for figure in service.after_contact_figures(after_contact):
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

st.caption(service.follow_up_note(window, totals, after_contact))

# --- Verdict -----------------------------------------------------------------------------------
st.subheader("Which scorecard is the company running?")
verdict = service.scorecard_verdict(totals)
st.markdown(verdict.headline)
drivers = None
if window:
    driver_start, driver_end = service.driver_window(window, bounds.first_order)
    drivers = load(
        service_queries.driver_analysis,
        ctx,
        scope,
        driver_start,
        driver_end,
        window.follow_up_days,
    )
agents = service_agents.agent_scorecard(
    load(service_queries.agent_activity, ctx, scope),
    load(
        service_queries.agent_follow_up,
        ctx,
        scope,
        window.start,
        window.end,
        window.follow_up_days,
    )
    if window
    else service_agents.empty_follow_up(),
)
scenarios = service_agents.what_would_change(agents, drivers, totals)
st.markdown("**What would change if it ran the other one**")
for sentence in service_agents.scenario_sentences(scenarios, verdict.scorecard):
    st.markdown(f"- {sentence}")
support = service.support_sentence(drivers, after_contact, totals)
st.markdown(f"**What the data support:** {support}")
with st.expander("The rule behind the verdict, and the evidence"):
    st.markdown(verdict.rule)
    for change in verdict.changes:
        st.markdown(f"- {service.describe_change(change)}")

# --- Driver analysis ---------------------------------------------------------------------------
st.subheader("What moves retention and revenue after a contact")
if drivers is None:
    st.info(service_drivers.not_enough_note(window), icon=":material/info:")
else:
    st.markdown(f"**{drivers.summary}**")
    for effect in drivers.effects:
        st.markdown(f"- {effect.sentence}")
    st.plotly_chart(
        build_driver_effects(
            service_drivers.effects_frame(drivers), title="Effect of each service measure, 95% CI"
        ),
        width="stretch",
    )
    st.caption(service_drivers.method_note(drivers, driver_start, driver_end))

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
value_label, value_unit = service_agents.VALUE_MEASURES[measure]
ranked = service_agents.rank_agents(agents, measure)
if len(ranked) < 2:
    st.info(
        f"Fewer than two agents have {service_agents.MIN_AGENT_CONTACTS} or more contacts "
        f"in the period (and a {formatting.lower_first(value_label)}), so there is no ranking "
        "to compare. "
        "Widen the period.",
        icon=":material/info:",
    )
else:
    st.markdown(service_agents.compare_rankings(ranked, value_label).sentence)
    st.plotly_chart(
        build_agent_ranks(
            ranked,
            value_measure=measure,
            value_label=value_label,
            value_unit=value_unit,
            title=f"Rank by handle time against rank by {formatting.lower_first(value_label)}",
        ),
        width="stretch",
    )
    st.dataframe(
        service_agents.agent_table(ranked),
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
    st.caption(service_agents.ranking_note(agents, ranked))

# --- Trend -------------------------------------------------------------------------------------
monthly = load(service_queries.monthly_contacts, ctx, scope)
st.plotly_chart(
    build_monthly_lenses(
        monthly,
        period_start=scope.start,
        title="Handle time and first-contact resolution by month",
    ),
    width="stretch",
)
st.caption(
    "Calendar months from the month the previous period starts in to the period's end; "
    "the last month may be partial. Hover for each month's contacts."
)

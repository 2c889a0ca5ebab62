"""Customer value: profit per customer and the whale curve, lifetime value and customer equity
beside the model's holdout accuracy, and what acquisition is worth (LTV/CAC, payback)."""

import functools

import streamlit as st

from dashboard.app.context import load, on_demand, page_setup, run_action
from dashboard.app.exports import with_finding
from dashboard.charts import value as charts
from dashboard.domain import findings, value
from dashboard.domain.clv import ModelIdentificationError
from dashboard.domain.clv import scenario as scenarios
from dashboard.formatting import format_value, in_percent
from dashboard.services import exports, lifetime_value
from dashboard.services.lifetime_value import StoreError
from dashboard.services.views import customer_value

ctx = page_setup(
    "Customer value",
    "What each customer earns and costs, who destroys value, what the customer base is worth "
    "(predicted lifetime value) and what winning a customer is worth. Hover over (?) for each "
    "definition; money in currency units.",
)
scope = ctx.scope
view = load(customer_value.view, ctx, ctx.bounds.regions, ctx.bounds.channels)
if view.customers_in_view == 0:
    st.info(
        "No customers match these filters (customers acquired up to the period's end). Widen "
        "the period or clear the region and channel filters in the sidebar.",
        icon=":material/filter_alt_off:",
    )
    st.stop()
period = f"{scope.start:%d %b %Y} – {scope.end:%d %b %Y}"
as_of = f"{scope.end:%d %b %Y}"

GROUPINGS = {"region": "Region", "acquisition_channel": "Acquisition channel"}
if view.has_segments:
    GROUPINGS = {"segment_name": "Segment", **GROUPINGS}


def money(amount: float | None) -> str:
    return format_value(amount, "money")


def percent(share: float | None) -> str:
    return format_value(None if share is None else 100 * share, "percent")


# --------------------------------------------------------------------------------------
st.header("The portfolio's profit", divider="gray")
basis = (
    st.segmented_control(
        "Count profit",
        list(value.PROFIT_BASES),
        default="to_date",
        format_func=value.PROFIT_BASES.get,
        key="cv_basis",
        bind="query-params",
        persist_state="session",
        help="To date: everything each customer has brought and cost up to the period's end "
        f"({as_of}), acquisition cost included. In the period: only what happened from "
        f"{scope.start:%d %b %Y} to {as_of}, each cost in the period it was incurred "
        "(acquisition cost only for customers won in the period); customers with no order, "
        "contact or acquisition in the period are left out.",
    )
    or "to_date"
)
basis_label = f"to {as_of}" if basis == "to_date" else f"in {period}"
profit = view.profit[basis]
gaps = view.cost_gaps
if gaps:
    st.warning(
        "Profit leaves out what the store does not record: " + "; ".join(gaps) + ".",
        icon=":material/warning:",
    )

if profit.customers == 0:
    st.info(
        "No customer ordered, contacted service or was acquired in this period. Count profit "
        "to date, or widen the period.",
        icon=":material/filter_alt_off:",
    )
else:
    totals = profit.totals
    whale = profit.whale
    definition = "Profit = gross margin (revenue − order cost) − service cost − acquisition cost"
    cols = st.columns(4)
    cols[0].metric(
        "Total profit",
        money(totals.profit),
        help=f"{definition}, summed over the {totals.customers:,} customers, {basis_label}. "
        f"Gross margin {money(totals.gross_margin)}, service cost {money(totals.service_cost)}, "
        f"acquisition cost {money(totals.acquisition_cost)} (currency units).",
        border=True,
    )
    cols[1].metric(
        "Profit per customer",
        money(totals.profit_per_customer),
        help=f"Total profit / customers, {basis_label} (currency units).",
        border=True,
    )
    cols[2].metric(
        "Customers losing money",
        percent(totals.losing_share),
        help=f"Share of customers whose profit {basis_label} is below zero: "
        f"{totals.losing_customers:,} of {totals.customers:,}. They are listed below.",
        border=True,
    )
    cols[3].metric(
        "Whale-curve peak",
        percent(whale.peak_share),
        help="Profit of the profitable customers alone as a % of total profit: the top of the "
        "whale curve. Above 100% whenever some customers lose money. Undefined when total "
        "profit is not positive.",
        border=True,
    )
    left, right = st.columns([3, 2])
    left.plotly_chart(
        with_finding(
            charts.build_whale_curve(
                whale.points,
                title="",
                peak_share=whale.peak_share,
                peak_customer_share=whale.peak_customer_share,
            ),
            ctx,
            findings.whale_finding(whale.top_20_share, whale.total_profit),
            f"whale curve, profit {basis_label}",
        ),
        width="stretch",
    )
    with right:
        st.markdown(
            f"**Reading the curve ({basis_label}).** The most profitable "
            f"{percent(whale.peak_customer_share)} of customers earn "
            f"{money(whale.peak_profit)}, {percent(whale.peak_share)} of total profit. "
            f"The other {percent(1 - whale.peak_customer_share)} bring it down to "
            f"{money(whale.total_profit)}: the unprofitable tail destroys "
            f"**{money(whale.profit_destroyed)}**."
        )
        st.metric(
            "Most profitable 20% earn",
            percent(whale.top_20_share),
            help="Cumulative profit of the top 20% of customers / total profit, read off the "
            "curve. Kaplan & Narayanan (2001) report 150–300% as typical.",
        )
        st.metric(
            "Least profitable 10% lose",
            percent(whale.bottom_10_loss_share),
            help="What the bottom 10% of customers lose, as a % of total profit (curve at 90% "
            "minus curve at 100%). Kaplan & Narayanan report 50–200% as typical.",
        )
    st.caption(
        f"{whale.customers:,} customers, {basis_label}; curve drawn with at most "
        f"{value.WHALE_CURVE_POINTS} points (peak and end exact)."
    )

    st.subheader("Profit per customer by group")
    grouping = st.segmented_control(
        "Group by",
        list(GROUPINGS),
        default=next(iter(GROUPINGS)),
        format_func=GROUPINGS.get,
        key="cv_profit_group",
        help="Segments come from the latest saved segmentation (Segments page).",
    ) or next(iter(GROUPINGS))
    by_group = profit.by_group[grouping]
    st.plotly_chart(
        charts.build_group_bars(
            by_group,
            group=grouping,
            measure="profit_per_customer",
            title=f"Profit per customer by {GROUPINGS[grouping].lower()}",
            axis_title="Profit per customer (currency)",
        ),
        width="stretch",
    )
    # The table goes under the chart, full width: beside it, its columns were clipped at
    # 1400 px.
    st.dataframe(
        in_percent(by_group, ["profit_share", "losing_share"]),
        hide_index=True,
        width="stretch",
        column_order=[
            grouping,
            "customers",
            "profit_per_customer",
            "profit",
            "profit_share",
            "gross_margin",
            "service_cost",
            "acquisition_cost",
            "losing_share",
        ],
        column_config={
            grouping: GROUPINGS[grouping],
            "customers": st.column_config.NumberColumn("Customers", format="%,d"),
            "profit_per_customer": st.column_config.NumberColumn(
                "Profit / customer", format="%,.0f", help=f"{definition}, per customer."
            ),
            "profit": st.column_config.NumberColumn("Profit", format="%,.0f"),
            "profit_share": st.column_config.NumberColumn(
                "Share of profit",
                format="%.1f%%",
                help="Group profit / total profit (blank when total profit is not positive).",
            ),
            "gross_margin": st.column_config.NumberColumn("Gross margin", format="%,.0f"),
            "service_cost": st.column_config.NumberColumn("Service cost", format="%,.0f"),
            "acquisition_cost": st.column_config.NumberColumn("Acquisition cost", format="%,.0f"),
            "losing_share": st.column_config.NumberColumn(
                "Losing money",
                format="%.1f%%",
                help="Share of the group's customers with profit below zero.",
            ),
        },
    )
    st.caption(
        f"Profit {basis_label}, currency units. A group with no customer in scope is listed empty."
    )

    worst = profit.worst_losses
    st.subheader(f"Who loses money: {totals.losing_customers:,} customers")
    if worst.empty:
        st.success(f"No customer has a negative profit {basis_label}.")
    else:
        st.dataframe(
            worst,
            hide_index=True,
            width="stretch",
            column_config={
                "customer_id": st.column_config.TextColumn("Customer"),
                "name": "Name",
                # Region is left to the download: with it the table was clipped at 1400 px,
                # and channel and acquisition date explain a loss better.
                "region": None,
                "acquisition_channel": "Channel",
                "acquired_at": st.column_config.DateColumn("Acquired", format="YYYY-MM-DD"),
                "segment": None,
                "segment_name": "Segment",
                "gross_margin": st.column_config.NumberColumn("Gross margin", format="%,.0f"),
                "service_cost": st.column_config.NumberColumn("Service cost", format="%,.0f"),
                "acquisition_cost": st.column_config.NumberColumn(
                    "Acquisition cost", format="%,.0f"
                ),
                "profit": st.column_config.NumberColumn("Profit", format="%,.0f"),
            },
        )
        st.download_button(
            f"Download all {totals.losing_customers:,} (CSV)",
            # Read from the store on click: half a million rows at 1M customers.
            data=on_demand(customer_value.loss_makers, ctx, basis, render=exports.csv_bytes),
            file_name=f"customers-losing-money-{basis}-{scope.end:%Y-%m-%d}.csv",
            mime="text/csv",
            icon=":material/download:",
            on_click="ignore",
        )
        st.caption(
            f"The {len(worst):,} biggest losses {basis_label} are shown, worst first; the "
            "download holds all of them, with their region, with the filters applied."
        )

# --------------------------------------------------------------------------------------
st.header("Lifetime value and customer equity", divider="gray")
run = view.run


def fit_button(label: str, *, primary: bool, model: str = "auto") -> None:
    """The explicit action that fits and stores the model (never on a page view); admins only."""
    if not ctx.access.may_write:
        st.caption("Only an administrator can fit the lifetime-value model.")
        return
    if not st.button(
        label,
        type="primary" if primary else "secondary",
        key="cv_fit",
        icon=":material/model_training:",
    ):
        return
    bar = st.progress(0.0, text="Starting the fit…")
    with st.spinner("Fitting the lifetime-value model on every customer…"):
        try:
            run_action(
                ctx,
                lifetime_value.fit_and_save,
                progress=lambda fraction, message: bar.progress(fraction, text=message),
                model=model,
            )
        except (ModelIdentificationError, StoreError) as exc:
            bar.empty()
            st.error(f"**The model could not be fitted.** {exc}", icon=":material/error:")
            return
    st.rerun()


fit_command = lifetime_value.fit_command(ctx.url)
if run is None:
    st.info(
        "**No lifetime-value model has been fitted on this store yet.** Fitting learns each "
        "customer's purchase rate and chance of having left (BG/NBD) and their spend per "
        "purchase (Gamma-Gamma) from the order history, checks the predictions on the last "
        "26 weeks, and stores a lifetime value per customer. It takes seconds to a minute "
        "and happens only when asked, here or on the command line.",
        icon=":material/insights:",
    )
    fit_button("Fit lifetime-value model", primary=True)
    if ctx.access.may_write:
        st.code(fit_command, language="bash")
else:
    equity = view.equity
    clv_note = run.describe_settings()
    st.caption(
        f"**Predictions as of {run.calibration_end:%d %b %Y}** (the fit's data end), for "
        f"customers in scope acquired by {as_of}. {clv_note}."
    )
    # The holdout check and the fit's diagnostics count every customer of every region: a user
    # who sees only some regions gets the model's parameters, not those portfolio-wide figures.
    whole_portfolio = not ctx.access.is_restricted
    holdout = run.holdout if whole_portfolio else None
    intervals = view.intervals
    model_label = customer_value.MODEL_LABELS.get(run.purchase_model, run.purchase_model)

    def between(bounds) -> str | None:
        """The 90% interval under a figure (None for a fit stored without intervals)."""
        if bounds is None:
            return None
        return f"90%: {money(bounds.low)} to {money(bounds.high)}"

    interval_note = (
        "No interval: this fit was stored before intervals; refit to get them."
        if intervals is None
        else f"{intervals.method}."
    )
    cols = st.columns(4)
    cols[0].metric(
        "Customer equity",
        money(equity.equity),
        delta=between(None if intervals is None else intervals.equity),
        delta_color="off",
        delta_arrow="off",
        help="Sum of the predicted lifetime value (CLV) of the customers in scope. CLV = "
        f"expected purchases per month ({model_label}) × expected revenue per purchase "
        f"(Gamma-Gamma) × gross margin %, discounted. {clv_note}. Currency units. "
        f"{interval_note}",
        border=True,
    )
    cols[1].metric(
        "Mean CLV per customer",
        money(equity.mean_clv),
        help=f"Customer equity / {equity.customers:,} customers with a prediction. {clv_note}.",
        border=True,
    )
    cols[2].metric(
        "Expected customers alive",
        f"{equity.expected_alive:,.0f}",
        delta=None
        if intervals is None
        else f"90%: {intervals.expected_alive.low:,.0f} to {intervals.expected_alive.high:,.0f}",
        delta_color="off",
        delta_arrow="off",
        help=f"{interval_note} Sum over customers of the model's probability that they have "
        f"not left for good, as of {run.calibration_end:%d %b %Y}. Compare: "
        f"{equity.active_customers:,} active customers (an order in the 12 months to that date).",
        border=True,
    )
    if not whole_portfolio:
        cols[3].metric(
            "Holdout error",
            "—",
            help="The holdout check counts the customers of every region: it is shown to "
            "users who see every region.",
            border=True,
        )
    elif holdout is None:
        cols[3].metric(
            "Holdout error", "—", help=f"No holdout check: {run.holdout_error}.", border=True
        )
    else:
        cols[3].metric(
            "Holdout error, repeat purchases",
            f"{holdout['total_error_pct']:+.1f}%",
            help=f"{run.describe_holdout()} Error = (predicted − actual) / actual. "
            f"By number of past purchases the mean absolute error is "
            f"{holdout['by_frequency_mape']:.1f}%.",
            border=True,
        )

    if whole_portfolio:
        st.caption(f"**Holdout check (whole portfolio):** {run.describe_holdout()}")
    equity_grouping = st.segmented_control(
        "Split equity by",
        list(GROUPINGS),
        default=next(iter(GROUPINGS)),
        format_func=GROUPINGS.get,
        key="cv_equity_group",
    ) or next(iter(GROUPINGS))
    split = view.equity_by_group[equity_grouping]
    left, right = st.columns(2)
    left.plotly_chart(
        with_finding(
            charts.build_group_bars(
                split,
                group=equity_grouping,
                measure="equity",
                title="",
                axis_title="Customer equity (currency)",
            ),
            ctx,
            findings.equity_finding(split, equity_grouping, GROUPINGS[equity_grouping]),
            f"customer equity by {GROUPINGS[equity_grouping].lower()}",
        ),
        width="stretch",
    )
    left.caption(f"Sum of CLV per group; {clv_note}.")
    if not whole_portfolio:
        right.info(
            "**The model's holdout check** counts the customers of every region, so it is "
            "shown only to users who see every region.",
            icon=":material/lock:",
        )
    elif holdout is None:
        right.info(
            f"**No holdout check for this fit:** {run.holdout_error}. Treat the "
            "predictions with care.",
            icon=":material/help:",
        )
    else:
        right.plotly_chart(
            charts.build_holdout_by_frequency(
                view.holdout_by_frequency,
                title=f"Holdout check: {holdout['weeks']} weeks predicted vs actual",
            ),
            width="stretch",
        )
        right.caption(
            f"Mean repeat purchases per customer in the {holdout['weeks']} weeks to "
            f"{run.calibration_end:%d %b %Y}, by repeat purchases before them, for the "
            f"{holdout['customers']:,} customers who had bought by "
            f"{run.holdout_fit_end:%d %b %Y}. "
            "The model making these predictions never saw the holdout weeks."
        )
        st.plotly_chart(
            charts.build_holdout_tracking(
                view.holdout_tracking,
                holdout_start=run.holdout_start,
                title="Holdout check over time: repeat purchases per week, predicted vs actual",
            ),
            width="stretch",
        )
        st.caption(
            "Whole portfolio (not filtered): repeat purchases per week of the customers who "
            f"had bought by {run.holdout_fit_end:%d %b %Y}, against the model's prediction. "
            "Left "
            "of the shaded band: the weeks the check's model was fitted on; in the band: the "
            "holdout it had not seen (a last, partial week is left out)."
        )
    # ---- Issue 13: both purchase models side by side, the choice and its miss ----------
    st.subheader("Purchase model: BG/NBD beside Pareto/NBD")
    comparison = view.model_comparison
    choice = run.diagnostics.get("model_choice") or {}
    if comparison is None or comparison.empty or not choice.get("models"):
        st.caption(
            f"Predictions from {model_label}. This fit was stored before the two purchase "
            "models were compared: refit to compare them on the holdout."
        )
    else:
        st.markdown(
            f"**Predictions from {model_label}.** {choice.get('reason', '')}. Rule: the model "
            "with the lower per-customer holdout error (MAE) wins unless the two are within 1% "
            "of each other, then the higher log-likelihood; overridable below."
        )
        st.dataframe(
            comparison.assign(chosen=comparison["chosen"].map({True: "✓ chosen", False: ""})),
            hide_index=True,
            width="stretch",
            column_order=[
                column
                for column in (
                    "label",
                    "chosen",
                    "parameters",
                    "log_likelihood",
                    "holdout_mae",
                    "holdout_predicted",
                    "holdout_actual",
                    "holdout_error_pct",
                )
                if column in comparison.columns
            ],
            column_config={
                "label": "Model",
                "chosen": "",
                "parameters": st.column_config.TextColumn(
                    "Parameters (all data)", help="Fitted on every customer to the fit date; "
                    "alpha and beta in weeks."
                ),
                "log_likelihood": st.column_config.NumberColumn(
                    "Log-likelihood", format="%,.1f",
                    help="Of the holdout check's fit (data before the holdout weeks); higher is "
                    "better, both models have four parameters.",
                ),
                "holdout_mae": st.column_config.NumberColumn(
                    "Holdout MAE", format="%.4f",
                    help="Mean over customers of |predicted − actual| repeat purchases in the "
                    "holdout weeks (purchases per customer). Lower is better.",
                ),
                "holdout_predicted": st.column_config.NumberColumn(
                    "Predicted", format="%,.0f", help="Repeat purchases predicted for the "
                    "holdout weeks."
                ),
                "holdout_actual": st.column_config.NumberColumn(
                    "Actual", format="%,.0f", help="Repeat purchases customers made in them."
                ),
                "holdout_error_pct": st.column_config.NumberColumn(
                    "Total error", format="%+.1f%%",
                    help="(predicted − actual) / actual repeat purchases in the holdout weeks.",
                ),
            },
        )  # fmt: skip
        chosen_row = comparison.loc[comparison["chosen"]]
        if whole_portfolio and not chosen_row.empty and "holdout_error_pct" in comparison:
            row = chosen_row.iloc[0]
            miss = row["holdout_predicted"] - row["holdout_actual"]
            if row["holdout_error_pct"] is not None and abs(row["holdout_error_pct"]) >= 1:
                st.warning(
                    f"**{model_label} misses the holdout total by {abs(miss):,.0f} repeat "
                    f"purchases ({row['holdout_error_pct']:+.1f}%):** it predicted "
                    f"{row['holdout_predicted']:,.0f} where customers made "
                    f"{row['holdout_actual']:,.0f}. It "
                    + ("over" if miss > 0 else "under")
                    + "states future purchases by about as much; read lifetime values with that "
                    "in mind.",
                    icon=":material/rule:",
                )
            else:
                st.caption(
                    f"{model_label} predicted the holdout total within 1% "
                    f"({row['holdout_error_pct']:+.1f}%)."
                )
        if view.model_tracking is not None and run.holdout_start is not None:
            st.plotly_chart(
                charts.build_model_tracking(
                    view.model_tracking,
                    models=customer_value.MODEL_LABELS,
                    chosen=run.purchase_model,
                    holdout_start=run.holdout_start,
                    title="Repeat purchases per week: actual against both models",
                ),
                width="stretch",
            )
            st.caption(
                "Whole portfolio: both models fitted on the weeks left of the shaded band, "
                "predicting the weeks in it (a last, partial week is left out)."
            )
    chosen_model = "auto"
    if ctx.access.may_write:
        chosen_model = (
            st.segmented_control(
                "Purchase model for the next fit",
                ["auto", "bgnbd", "pareto_nbd"],
                default="auto",
                format_func={
                    "auto": "Chosen by the holdout",
                    "bgnbd": "BG/NBD",
                    "pareto_nbd": "Pareto/NBD",
                }.get,
                key="cv_model",
                help="Both models are always fitted and compared; this chooses whose "
                "predictions are stored. Applies when you refit (below).",
            )
            or "auto"
        )

    with st.expander("Model parameters" + (" and refit" if ctx.access.may_write else "")):
        bgnbd, spend = run.params["bgnbd"], run.params["gamma_gamma"]
        parameters = (
            f"- **BG/NBD** (purchases, weeks): r = {bgnbd['r']:.3f}, α = {bgnbd['alpha']:.3f}, "
            f"a = {bgnbd['a']:.3f}, b = {bgnbd['b']:.3f}\n"
            + (
                ""
                if "pareto_nbd" not in run.params
                else "- **Pareto/NBD** (purchases, weeks): "
                + ", ".join(f"{k} = {v:.3f}" for k, v in run.params["pareto_nbd"].items())
                + "\n"
            )
            + f"- Predictions from **{model_label}**\n"
            f"- **Gamma-Gamma** (revenue per purchase day): p = {spend['p']:.3f}, "
            f"q = {spend['q']:.3f}, v = {spend['v']:.2f}"
        )
        if not whole_portfolio:
            st.markdown(
                f"Fit {run.run_id} of {run.fitted_at:%d %b %Y %H:%M}, with orders to "
                f"{run.calibration_end:%d %b %Y}, on every region's customers (its counts are "
                f"shown to users who see every region).\n\n{parameters}"
            )
        else:
            st.markdown(
                f"Fit {run.run_id} of {run.fitted_at:%d %b %Y %H:%M}, on "
                f"{run.diagnostics['customers']:,} customers "
                f"({run.diagnostics['repeat_buyers']:,} repeat buyers) with orders to "
                f"{run.calibration_end:%d %b %Y}.\n\n{parameters}; mean expected revenue per "
                f"purchase {money(run.diagnostics['mean_spend'])}\n"
                "- Correlation of purchase frequency with spend per purchase among repeat "
                f"buyers: {run.diagnostics['spend_frequency_correlation']:+.2f} (Gamma-Gamma "
                "assumes near 0)\n"
                f"- Portfolio gross margin %: "
                f"{percent(run.settings['portfolio_margin_share'])}"
            )
        fit_button("Refit the model now", primary=False, model=chosen_model)
        if ctx.access.may_write:
            st.caption(f"Or on the command line: `{fit_command}`")

# --------------------------------------------------------------------------------------
# Issue 13: what-if on customer equity (levers kept in the URL, result exportable)
if run is not None:
    st.header("What if…? Customer equity under other assumptions", divider="gray")
    today = load(customer_value.what_if, ctx, scenarios.Scenario())
    if today.error:
        st.info(f"**No what-if for this fit:** {today.error}.", icon=":material/help:")
    else:
        st.caption(
            "Move the levers to see customer equity and LTV / CAC of the customers in scope "
            "if, from now on, customers behaved differently or more were won. Each lever "
            "applies on top of the ones before it (the waterfall's order). The levers are kept "
            "in the link: share it to show the same scenario."
        )
        cols = st.columns(4)
        dropout = cols[0].select_slider(
            "Dropout rate",
            options=[round(100 * c) for c in scenarios.DROPOUT_CHANGES],
            value=0,
            format_func=lambda pct: f"{pct:+d}%",
            key="cv_wi_dropout",
            bind="query-params",
            help="How much faster (+) or slower (−) alive customers leave from now on. "
            "Recomputed with the purchase model for these steps at fit time.",
        )
        rate = cols[1].slider(
            "Purchase rate", -50, 100, 0, 5, format="%+d%%", key="cv_wi_rate",
            bind="query-params",
            help="Alive customers buy this much more (or less) often from now on.",
        )  # fmt: skip
        spend_change = cols[2].slider(
            "Spend per order", -50, 100, 0, 5, format="%+d%%", key="cv_wi_spend",
            bind="query-params", help="Change in the expected revenue of each future order.",
        )  # fmt: skip
        margin_pp = cols[3].slider(
            "Margin", -10.0, 10.0, 0.0, 0.5, format="%+.1f pp", key="cv_wi_margin",
            bind="query-params",
            help="Percentage points added to each customer's gross margin % on future orders.",
        )  # fmt: skip
        st.markdown("**Acquisition by channel** — extra customers won, at a cost per customer")
        channel_cols = st.columns(max(len(today.channels), 1))
        acquisition = []
        for col, row in zip(channel_cols, today.channels.itertuples(), strict=False):
            slug = "".join(ch if ch.isalnum() else "_" for ch in row.acquisition_channel)
            extra = col.number_input(
                f"{row.acquisition_channel}: extra customers", min_value=0, value=0, step=100,
                key=f"cv_wi_n_{slug}", bind="query-params",
                help=f"New customers won through {row.acquisition_channel}; each is taken to be "
                f"worth the channel's mean LTV ({money(row.value_per_customer)}) under the "
                "levers above.",
            )  # fmt: skip
            cac = col.number_input(
                f"{row.acquisition_channel}: CAC", min_value=0.0,
                value=float(round(row.mean_cac, 2)), step=5.0, key=f"cv_wi_cac_{slug}",
                bind="query-params",
                help=f"Cost to win one; default the channel's mean CAC ({money(row.mean_cac)}).",
            )  # fmt: skip
            if extra:  # only channels with extra customers: no levers = today's cached result
                acquisition.append(
                    scenarios.ChannelAcquisition(row.acquisition_channel, float(extra), float(cac))
                )
        scenario = scenarios.Scenario(
            dropout_change=dropout / 100,
            purchase_rate_change=rate / 100,
            spend_change=spend_change / 100,
            margin_change=margin_pp / 100,
            acquisition=tuple(acquisition),
        )
        what_if = load(customer_value.what_if, ctx, scenario)
        if what_if.error:
            st.error(f"**The scenario cannot be computed:** {what_if.error}.")
        else:
            result = what_if.result
            cols = st.columns(3)
            cols[0].metric(
                "Customer equity today",
                money(result.equity_today),
                delta=f"90%: {money(result.equity_today_low)} to "
                f"{money(result.equity_today_high)}",
                delta_color="off", delta_arrow="off", border=True,
                help="Sum of CLV of the customers in scope (as above). " + intervals.method + ".",
            )  # fmt: skip
            cols[1].metric(
                "Customer equity in the scenario",
                money(result.equity),
                delta=f"90%: {money(result.equity_low)} to {money(result.equity_high)}",
                delta_color="off", delta_arrow="off", border=True,
                help="Today's equity under the levers, plus what the extra customers are worth "
                "(channel mean LTV under the levers) minus what they cost. The interval carries "
                "today's relative uncertainty; the levers are taken as given.",
            )  # fmt: skip
            ratio = (
                "—" if result.ltv_to_cac is None
                else f"{result.ltv_to_cac:.2f}× (today {result.ltv_to_cac_today:.2f}×)"
            )  # fmt: skip
            cols[2].metric(
                "LTV / CAC in the scenario",
                ratio,
                delta=None if result.ltv_to_cac_low is None
                else f"90%: {result.ltv_to_cac_low:.2f}× to {result.ltv_to_cac_high:.2f}×",
                delta_color="off", delta_arrow="off", border=True,
                help="(Gross margin earned to date + equity, with the extra customers' value) / "
                "(acquisition cost of the customers in scope + the extra customers'). Blank when "
                "they cost nothing to win.",
            )  # fmt: skip
            st.plotly_chart(
                charts.build_equity_waterfall(
                    result.steps,
                    scenario_label="Scenario",
                    title="From today's customer equity to the scenario's, lever by lever",
                ),
                width="stretch",
            )
            st.download_button(
                "Download the scenario (CSV)",
                data=functools.partial(exports.csv_bytes, what_if.export_frame()),
                file_name=f"equity-what-if-{run.calibration_end:%Y-%m-%d}.csv",
                mime="text/csv",
                icon=":material/download:",
                on_click="ignore",
                key="cv_wi_download",
            )
            st.caption(
                f"Customers in scope acquired by {as_of}; {clv_note}. Dropout changes are "
                "computed with the purchase model at fit time, so only the steps shown are "
                "offered."
            )

# --------------------------------------------------------------------------------------
st.header("What acquisition is worth", divider="gray")
has_values = view.equity is not None
st.caption(
    f"Customers in scope acquired up to {as_of}, with what they brought and cost up to that "
    f'date. "Won in the period" counts acquisitions from {scope.start:%d %b %Y}.'
    + (
        ""
        if not has_values
        else " LTV = gross margin earned since acquisition + predicted CLV "
        f"({run.horizon_months} months, {100 * run.annual_discount_rate:.0f}% a year)."
    )
)

payback_by = {
    "channel": ("acquisition_channel", "Acquisition channel"),
    "cohort": ("acquisition_quarter", "Acquisition quarter"),
}
curves = view.payback_curves
tables = view.acquisition_tables
curve_key = (
    st.segmented_control(
        "Acquisition cost and payback by",
        list(payback_by),
        default="channel",
        format_func=lambda key: payback_by[key][1],
        key="cv_payback_by",
        bind="query-params",
        persist_state="session",
    )
    or "channel"
)
column, label = payback_by[curve_key]
ltv_columns = [] if not has_values else ["mean_ltv", "ltv_to_cac", "ltv_to_cac_interval"]
st.dataframe(
    in_percent(tables[curve_key], ["paid_back_share"]),
    hide_index=True,
    width="stretch",
    height=min(35 * (len(tables[curve_key]) + 1) + 3, 560),
    column_order=[
        column,
        "customers",
        "mean_cac",
        *ltv_columns,
        "payback",
        "paid_back_share",
        "won_in_period",
        "acquisition_spend_in_period",
    ],
    column_config={
        column: label,
        "customers": st.column_config.NumberColumn(
            "Customers", format="%,d", help=f"Customers acquired up to {as_of}."
        ),
        "mean_cac": st.column_config.NumberColumn(
            "Mean CAC",
            format="%,.0f",
            help="Mean acquisition cost per customer (customers.acquisition_cost), currency.",
        ),
        "mean_ltv": st.column_config.NumberColumn(
            "Mean LTV",
            format="%,.0f",
            help="Gross margin earned since acquisition (to the period's end) + predicted CLV, "
            "mean over the customers with a prediction; currency units.",
        ),
        "ltv_to_cac": st.column_config.NumberColumn(
            "LTV / CAC",
            format="%.1f×",
            help="Mean LTV / mean CAC of the customers with a prediction. 3× is a common rule "
            "of thumb, not a law. Blank when they cost nothing to win.",
        ),
        "ltv_to_cac_interval": st.column_config.TextColumn(
            "LTV / CAC, 90%",
            help="90% interval of LTV / CAC from the parameters' uncertainty (draws of the "
            "model parameters; the margin already earned and the CAC are known).",
        ),
        "payback": st.column_config.TextColumn(
            "Payback",
            width="small",
            help="First month since acquisition (0 = month of acquisition) at which "
            "cumulative gross margin − service cost per customer reaches the mean CAC, from the "
            'curve below; "not yet" when it has not within the months observed.',
        ),
        "paid_back_share": st.column_config.NumberColumn(
            "Paid back to date",
            format="%.1f%%",
            help=f"Share of customers whose gross margin − service cost up to {as_of} covers "
            "their own acquisition cost.",
        ),
        "won_in_period": st.column_config.NumberColumn(
            "Won in period", format="%,d", help=f"Customers acquired in {period}."
        ),
        "acquisition_spend_in_period": st.column_config.NumberColumn(
            "Acquisition spend in period",
            format="%,.0f",
            help=f"Sum of acquisition cost of customers acquired in {period}; currency.",
        ),
    },
)
if curve_key == "cohort" and has_values:
    st.caption(
        "LTV counts the margin earned so far, so older cohorts have had longer to earn it: "
        "compare cohorts on the payback curves below (same months since acquisition)."
    )
if curves[curve_key].empty:
    st.info(
        f"Too few customers to draw payback curves (at least {value.MIN_CURVE_CUSTOMERS} per "
        f"{label.lower()} who have lived through a whole calendar month by {as_of}).",
        icon=":material/filter_alt_off:",
    )
else:
    st.plotly_chart(
        with_finding(
            charts.build_payback_curves(
                curves[curve_key], title="", chronological=curve_key == "cohort"
            ),
            ctx,
            findings.payback_finding(tables[curve_key], column),
            f"payback by {label.lower()}: cumulative net margin per customer − CAC",
        ),
        width="stretch",
    )
    st.caption(
        "Net margin = gross margin − service cost, per customer, cumulated by calendar month "
        "since acquisition; a line crosses zero where the group has earned back its mean "
        f"acquisition cost. Right-censoring: each month is averaged over the customers who "
        f"have lived through it by {as_of}, so recent cohorts count only in the early months, "
        f"and a line stops where fewer than {value.MIN_CURVE_CUSTOMERS} customers remain. "
        "Currency units."
    )

st.subheader("Keep or win?")
if not has_values:
    st.info(
        "Comparing the value of keeping a customer with winning a new one needs the "
        "lifetime-value model: fit it above.",
        icon=":material/insights:",
    )
else:
    choice = view.keep_versus_win
    cols = st.columns(3)
    cols[0].metric(
        "Worth spending to keep an active customer",
        money(choice.keep_value),
        help="Mean predicted CLV of the customers in scope who are active (an order in the 12 "
        f"months to {run.calibration_end:%d %b %Y}): the margin lost if one leaves now, so the "
        f"most worth spending to keep one ({choice.active_customers:,} active). {clv_note}.",
        border=True,
    )
    cols[1].metric(
        "Worth spending to win a new customer",
        money(choice.new_customer_ltv),
        help=f"Mean LTV (gross margin since acquisition + CLV) of the {choice.new_customers:,} "
        f"customers won in {period}: the most worth spending to win one.",
        border=True,
    )
    cols[2].metric(
        "Spent to win one (mean CAC)",
        money(choice.new_customer_cac),
        help=f"Mean acquisition cost of the customers won in {period}. Net value of winning "
        f"one: {money(choice.new_customer_net)}.",
        border=True,
    )
    if choice.new_customers == 0:
        st.caption(f"No customer was won in {period}: choose a longer period to compare.")
    elif choice.keep_to_win_ratio is None:
        st.markdown(
            f"New customers won in the period do not earn back what they cost over the "
            f"horizon (net {money(choice.new_customer_net)} each), while an active customer "
            f"is worth {money(choice.keep_value)}: keeping customers pays, winning these does "
            "not."
        )
    else:
        st.markdown(
            f"**Keeping one active customer is worth as much as winning "
            f"{choice.keep_to_win_ratio:.1f} new ones** (each new one nets "
            f"{money(choice.new_customer_net)} after its {money(choice.new_customer_cac)} "
            f"acquisition cost). A retention action that saves one customer in ten is worth up "
            f"to {money(0.1 * choice.keep_value)} per customer it targets."
        )

# --- Export for a meeting (dashboard/app/exports.py) ---
from dashboard.app.exports import page_exports  # noqa: E402

page_exports(ctx, "Customer value", "customer-value")

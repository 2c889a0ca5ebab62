"""Customer value page: profit and the whale curve, lifetime value and customer equity beside
the stored fit's holdout check, and what acquisition is worth (LTV/CAC, payback)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine

from dashboard.domain import value
from dashboard.domain.clv import scenario as scenarios
from dashboard.domain.clv import uncertainty
from dashboard.scope import Scope
from dashboard.storage import clv_store, portfolio_queries, queries, value_queries

#: What each function of this module computes, shown while it runs on a cache miss
#: (``dashboard.app.context.load`` adds the period and filters).
COMPUTING = {
    "view": "Computing profit per customer, the whale curve, lifetime value, customer equity "
    "and payback",
    "what_if": "Computing the what-if on customer equity",
    "loss_makers": "Listing every customer who loses money",
}

#: Groupings of the acquisition table and payback curves: key -> grouping column.
PAYBACK_GROUPINGS = {"channel": "acquisition_channel", "cohort": "acquisition_quarter"}


#: Loss makers the page lists (worst first); the download holds all (:func:`loss_makers`).
LOSS_MAKERS_SHOWN = 100


@dataclass(frozen=True)
class ProfitView:
    """Profit figures of one basis (``to_date`` or ``in_period``).

    ``customers`` counts the customers counted on this basis (0: nobody ordered, contacted
    service or was acquired in the period); the other fields are then None.
    ``by_group`` maps each grouping column to :func:`~dashboard.domain.value.profit_by_group`;
    ``worst_losses`` holds the :data:`LOSS_MAKERS_SHOWN` biggest loss makers, worst first
    (``totals.losing_customers`` counts them all; :func:`loss_makers` lists them all).
    """

    customers: int
    totals: value.ProfitTotals | None = None
    whale: value.WhaleCurve | None = None
    by_group: dict[str, pd.DataFrame] | None = None
    worst_losses: pd.DataFrame | None = None


@dataclass(frozen=True)
class CustomerValueView:
    """Everything the Customer value page shows that depends on the filters.

    Attributes
    ----------
    customers_in_view:
        Customers in scope (acquired up to the period's end); 0 means "nothing to show".
    has_segments:
        Whether a segmentation is saved (the ``segment_name`` grouping exists).
    cost_gaps:
        :func:`~dashboard.domain.value.cost_data_gaps`.
    profit:
        One :class:`ProfitView` per basis of :data:`~dashboard.domain.value.PROFIT_BASES`.
    run:
        The stored lifetime-value fit the predictions come from (None: no fit stored; the
        lifetime-value fields are then None): its date, settings line
        (:meth:`~dashboard.storage.clv_store.ClvRun.describe_settings`), parameters,
        diagnostics and holdout sentence
        (:meth:`~dashboard.storage.clv_store.ClvRun.describe_holdout`).
    run_id:
        ``run.run_id`` (None without a fit).
    holdout_by_frequency, holdout_tracking:
        The fit's holdout check by past repeat purchases and week by week (complete weeks
        only): :meth:`~dashboard.storage.clv_store.ClvRun.holdout_by_frequency` and
        :meth:`~dashboard.storage.clv_store.ClvRun.holdout_tracking`. None without a fit,
        and for a scope restricted to some regions (the check counts every region's
        customers); empty without a holdout check.
    equity, equity_by_group, keep_versus_win:
        :func:`~dashboard.domain.value.customer_equity`, ``equity_by_group`` per grouping
        column, :func:`~dashboard.domain.value.keep_versus_win`.
    payback_curves, acquisition_tables:
        Per key of :data:`PAYBACK_GROUPINGS`: :func:`~dashboard.domain.value.payback_curves`
        and :func:`~dashboard.domain.value.acquisition_economics` with their payback months.
    """

    customers_in_view: int
    has_segments: bool = False
    cost_gaps: tuple[str, ...] = ()
    profit: dict[str, ProfitView] | None = None
    run: clv_store.ClvRun | None = None
    holdout_by_frequency: pd.DataFrame | None = None
    holdout_tracking: pd.DataFrame | None = None
    equity: value.Equity | None = None
    equity_by_group: dict[str, pd.DataFrame] | None = None
    keep_versus_win: value.KeepVersusWin | None = None
    payback_curves: dict[str, pd.DataFrame] | None = None
    acquisition_tables: dict[str, pd.DataFrame] | None = None
    # Issue 13: both purchase models side by side and the intervals (None: no fit, or a fit
    # stored before them). See the block at the end of this module.
    model_comparison: pd.DataFrame | None = None
    model_tracking: pd.DataFrame | None = None
    intervals: ValueIntervals | None = None

    @property
    def run_id(self) -> int | None:
        return None if self.run is None else self.run.run_id


def known_groups(
    engine: Engine,
    scope: Scope,
    regions: tuple[str, ...] | None = None,
    channels: tuple[str, ...] | None = None,
) -> dict[str, tuple]:
    """Every group of each grouping column, listed even when no customer in scope is in it.

    Segments of the latest saved segmentation; the scope's regions (after access) or every
    region; the scope's channels or every channel. ``regions``/``channels`` are the store's
    (the page passes its ``ctx.bounds``); None reads them from the store.
    """
    if regions is None or channels is None:
        bounds = queries.data_bounds(engine)
        regions = bounds.regions if regions is None else regions
        channels = bounds.channels if channels is None else channels
    return {
        "segment_name": tuple(value_queries.segment_list(engine)["segment_name"]),
        "region": tuple(scope.effective_regions() or regions),
        "acquisition_channel": tuple(scope.channels or channels),
    }


def _profit_view(
    engine: Engine, scope: Scope, basis: str, segment_run: int | None, groups: dict[str, tuple]
) -> ProfitView:
    sums = portfolio_queries.profit_sums(engine, scope, basis, segment_run)
    totals = value.profit_totals(sums)
    if totals.customers == 0:
        return ProfitView(customers=0)
    return ProfitView(
        customers=totals.customers,
        totals=totals,
        whale=value.whale_curve(portfolio_queries.profits(engine, scope, basis)),
        by_group={
            by: value.profit_by_group(sums, by, groups=known)
            for by, known in groups.items()
            if by in sums.columns
        },
        worst_losses=portfolio_queries.loss_makers(
            engine, scope, basis, segment_run, limit=LOSS_MAKERS_SHOWN
        ),
    )


def view(
    engine: Engine,
    scope: Scope,
    regions: tuple[str, ...] | None = None,
    channels: tuple[str, ...] | None = None,
) -> CustomerValueView:
    """Profit, whale curve, lifetime value, equity and acquisition economics in scope.

    Parameters
    ----------
    engine, scope:
        The store and the page's scope. Profit "to date" covers everything up to
        ``scope.end``; "in period" from ``scope.start`` to ``scope.end``.
    regions, channels:
        Every region and acquisition channel of the store (the page passes ``ctx.bounds``'s;
        None reads them from the store): groups without a customer in scope are listed empty
        (:func:`known_groups`). Segments apply only when a segmentation is saved.

    Both profit bases are computed at once, so switching between them is a cache hit. The
    database sums the stored customer summaries per group of customers
    (:mod:`dashboard.storage.portfolio_queries`): no per-customer frame reaches pandas.
    """
    segment_run = portfolio_queries.segmented_run(engine, scope)
    run = clv_store.latest_run(engine)
    sums = portfolio_queries.value_sums(
        engine, scope, None if run is None else run.run_id, segment_run
    )
    customers_in_view = int(sums["customers"].sum())
    if customers_in_view == 0:
        return CustomerValueView(customers_in_view=0)
    groups = known_groups(engine, scope, regions, channels)
    profit = {
        basis: _profit_view(engine, scope, basis, segment_run, groups)
        for basis in value.PROFIT_BASES
    }
    facts = value_queries.payback_facts(engine, scope)
    cohorts = value_queries.acquisition_cohorts(engine, scope)
    curves = {
        key: value.payback_curves(facts, cohorts, by=key, as_of=scope.end)
        for key in PAYBACK_GROUPINGS
    }
    tables = {
        key: value.acquisition_economics(
            sums,
            column,
            with_values=run is not None,
            payback=value.payback_months(curves[key]),
        )
        for key, column in PAYBACK_GROUPINGS.items()
    }
    # The stored holdout check counts every region's customers: not for a restricted scope.
    whole = run is not None and scope.allowed_regions is None
    return CustomerValueView(
        customers_in_view=customers_in_view,
        has_segments=segment_run is not None,
        cost_gaps=tuple(value.cost_data_gaps(sums)),
        profit=profit,
        run=run,
        holdout_by_frequency=run.holdout_by_frequency() if whole else None,
        holdout_tracking=run.holdout_tracking(complete_weeks_only=True) if whole else None,
        equity=None if run is None else value.customer_equity(sums),
        equity_by_group=None
        if run is None
        else {
            by: value.equity_by_group(sums, by, groups=known)
            for by, known in groups.items()
            if by in sums.columns
        },
        keep_versus_win=None if run is None else value.keep_versus_win(sums),
        payback_curves=curves,
        acquisition_tables=tables,
        **_model_and_intervals(engine, scope, run, whole, tables),
    )


def loss_makers(engine: Engine, scope: Scope, basis: str) -> pd.DataFrame:
    """Every customer in scope whose profit on ``basis`` is below zero, worst first: the
    download of the page's loss-maker list (read when it is asked for, not with the page).

    Columns: the identity columns, ``segment`` and ``segment_name`` when a segmentation
    applies, ``gross_margin``, ``service_cost``, ``acquisition_cost``, ``profit``.
    """
    segment_run = portfolio_queries.segmented_run(engine, scope)
    return portfolio_queries.loss_makers(engine, scope, basis, segment_run)


# --------------------------------------------------------------------------------------
# Issue 13: both purchase models side by side, 90 % intervals, the what-if on equity
# --------------------------------------------------------------------------------------

MODEL_LABELS = {"bgnbd": "BG/NBD", "pareto_nbd": "Pareto/NBD"}
INTERVAL_METHOD = (
    "90% intervals from 100 draws of the models' parameters from the asymptotic normal "
    "distribution of their maximum-likelihood estimates (log scale; covariance = inverse "
    "Hessian): the uncertainty of the parameters, not of what customers will do"
)


@dataclass(frozen=True)
class FigureInterval:
    """A figure and its interval (same unit as the figure)."""

    point: float
    low: float
    high: float


@dataclass(frozen=True)
class ValueIntervals:
    """90 % intervals of the scope's figures, from the stored draws (see ``INTERVAL_METHOD``).

    ``by_channel``: ``acquisition_channel``, ``equity``, ``equity_low``, ``equity_high``,
    ``ltv_to_cac``, ``ltv_to_cac_low``, ``ltv_to_cac_high`` (NaN when free to win).
    """

    level: float
    method: str
    equity: FigureInterval
    expected_alive: FigureInterval
    ltv_to_cac: FigureInterval | None
    by_channel: pd.DataFrame


def _interval(point: float, draws) -> FigureInterval:
    low, high = uncertainty.total_interval(draws)
    return FigureInterval(float(point), low, high)


def _scope_draws(sums: pd.DataFrame, run: clv_store.ClvRun):
    """Equity and expected-alive draws of the rows of ``sums`` (totals of every column)."""
    basis = run.params["draw_basis"]
    equity = uncertainty.scope_total_draws(
        float(sums["clv"].sum()), sums[list(clv_store.CLV_LOADINGS)].sum().to_numpy(), basis["clv"]
    )
    alive = uncertainty.scope_total_draws(
        float(sums["probability_alive"].sum()),
        sums[list(clv_store.ALIVE_LOADINGS)].sum().to_numpy(),
        basis["alive"],
    )
    return equity, alive


def _ltv_to_cac(sums: pd.DataFrame, equity_draws) -> FigureInterval | None:
    cost = float(sums["acquisition_cost"].sum())
    if cost <= 0:
        return None
    margin = float(sums["margin_to_date"].sum())
    return _interval((margin + float(sums["clv"].sum())) / cost, (margin + equity_draws) / cost)


def value_intervals(sums: pd.DataFrame, run: clv_store.ClvRun) -> ValueIntervals:
    """Intervals of equity, expected alive and LTV/CAC from :func:`clv_store.draw_sums`."""
    equity, alive = _scope_draws(sums, run)
    rows = []
    for _, group in sums.groupby("acquisition_channel", sort=True):
        group_equity, _ = _scope_draws(group, run)
        ratio = _ltv_to_cac(group, group_equity)
        bounds = _interval(float(group["clv"].sum()), group_equity)
        rows.append(
            {
                "acquisition_channel": group["acquisition_channel"].iloc[0],
                "equity": bounds.point,
                "equity_low": bounds.low,
                "equity_high": bounds.high,
                "ltv_to_cac": None if ratio is None else ratio.point,
                "ltv_to_cac_low": None if ratio is None else ratio.low,
                "ltv_to_cac_high": None if ratio is None else ratio.high,
            }
        )
    return ValueIntervals(
        level=float(run.params["draw_basis"]["level"]),
        method=INTERVAL_METHOD,
        equity=_interval(float(sums["clv"].sum()), equity),
        expected_alive=_interval(float(sums["probability_alive"].sum()), alive),
        ltv_to_cac=_ltv_to_cac(sums, equity),
        by_channel=pd.DataFrame(rows),
    )


def model_tracking(run: clv_store.ClvRun) -> pd.DataFrame | None:
    """Repeat purchases per week, actual and each model's, over calibration and holdout.

    Columns ``week_end``, ``period``, ``actual`` and one per model key (purchases in the
    week); a last, partial week is left out. None for a run without the comparison.
    """
    models = (run.diagnostics.get("model_choice") or {}).get("models") or {}
    frame = None
    for name, check in models.items():
        tracking = pd.DataFrame(check["holdout"]["tracking"])
        tracking["week_end"] = pd.to_datetime(tracking["week_end"])
        weekly = tracking[["actual", "predicted"]].diff().fillna(tracking[["actual", "predicted"]])
        if frame is None:
            frame = tracking[["week_end", "period"]].assign(actual=weekly["actual"])
        frame[name] = weekly["predicted"].to_numpy()
    if frame is None:
        return None
    if len(frame) > 1 and (frame["week_end"].iloc[-1] - frame["week_end"].iloc[-2]).days < 7:
        frame = frame.iloc[:-1]
    return frame.reset_index(drop=True)


def _model_and_intervals(engine: Engine, scope: Scope, run, whole: bool, tables: dict) -> dict:
    """The comparison, the weekly tracking of both models, the intervals; adds the LTV/CAC
    interval (text ``ltv_to_cac_interval``) to the by-channel acquisition table in place."""
    if run is None:
        return {}
    from dashboard.services.lifetime_value import model_comparison

    sums = clv_store.draw_sums(engine, scope, run, scope.end)
    comparison = model_comparison(run)
    if not whole:  # the holdout figures count every region's customers
        comparison = comparison.drop(
            columns=["holdout_predicted", "holdout_actual", "holdout_error_pct", "holdout_mae"]
        )
    intervals = None if sums is None or sums.empty else value_intervals(sums, run)
    table = tables.get("channel")
    if intervals is not None and table is not None and not intervals.by_channel.empty:
        bounds = intervals.by_channel.set_index("acquisition_channel")
        text = {
            channel: (
                "—"
                if pd.isna(row["ltv_to_cac_low"])
                else f"{row['ltv_to_cac_low']:.2f}× to {row['ltv_to_cac_high']:.2f}×"
            )
            for channel, row in bounds.iterrows()
        }
        tables["channel"] = table.assign(
            ltv_to_cac_interval=table["acquisition_channel"].map(text).fillna("—")
        )
    return {
        "model_comparison": comparison,
        "model_tracking": model_tracking(run) if whole else None,
        "intervals": intervals,
    }


@dataclass(frozen=True)
class WhatIfView:
    """The what-if on customer equity in scope (None fields: no fit with intervals).

    ``channels``: ``acquisition_channel``, ``customers``, ``mean_cac`` and
    ``value_per_customer`` (mean LTV: gross margin to date + CLV, what a new customer of the
    channel is taken to be worth). ``result`` is
    :func:`~dashboard.domain.clv.scenario.run_scenario` of ``scenario``.
    """

    scenario: scenarios.Scenario
    channels: pd.DataFrame | None = None
    base: scenarios.EquityBase | None = None
    result: scenarios.ScenarioResult | None = None
    error: str | None = None

    def export_frame(self) -> pd.DataFrame:
        """The scenario and its result as one table (for CSV and other exporters)."""
        levers = [
            ("Dropout rate change", self.scenario.dropout_change),
            ("Purchase rate change", self.scenario.purchase_rate_change),
            ("Spend per order change", self.scenario.spend_change),
            ("Margin change (fraction)", self.scenario.margin_change),
        ]
        levers += [
            (f"{item.channel}: extra customers at CAC {item.cac:.2f}", item.extra_customers)
            for item in self.scenario.acquisition
        ]
        rows = [{"figure": name, "scenario": amount} for name, amount in levers]
        if self.result is not None:
            rows += self.result.as_rows()
            rows += [{"figure": f"Step: {label}", "scenario": amount}
                     for label, amount in self.result.steps]  # fmt: skip
        return pd.DataFrame(rows)


def what_if(engine: Engine, scope: Scope, scenario: scenarios.Scenario) -> WhatIfView:
    """Customer equity and LTV/CAC in scope under ``scenario``, with intervals."""
    run = clv_store.latest_run(engine)
    if run is None:
        return WhatIfView(scenario, error="no lifetime-value model has been fitted")
    sums = clv_store.draw_sums(engine, scope, run, scope.end)
    if sums is None or sums.empty:
        return WhatIfView(
            scenario, error="the stored fit has no intervals: refit the model to use the what-if"
        )
    equity_draws, _ = _scope_draws(sums, run)
    total = sums.sum(numeric_only=True)
    channels = pd.DataFrame(
        {
            "acquisition_channel": sums["acquisition_channel"],
            "customers": sums["customers"].astype("int64"),
            "mean_cac": sums["acquisition_cost"] / sums["customers"],
            "value_per_customer": (sums["margin_to_date"] + sums["clv"]) / sums["customers"],
        }
    )
    base = scenarios.EquityBase(
        equity=float(total["clv"]),
        equity_draws=equity_draws,
        margin_value_at_dropout={
            change: float(total[f"margin_value_{scenarios.dropout_column(change)}"])
            for change in scenarios.DROPOUT_CHANGES
        },
        revenue_at_dropout={
            change: float(total[scenarios.dropout_column(change)])
            for change in scenarios.DROPOUT_CHANGES
        },
        margin_to_date=float(total["margin_to_date"]),
        acquisition_cost=float(total["acquisition_cost"]),
        new_customer_value=dict(
            zip(channels["acquisition_channel"], channels["value_per_customer"], strict=True)
        ),
    )
    try:
        result = scenarios.run_scenario(base, scenario)
    except ValueError as exc:
        return WhatIfView(scenario, channels, base, error=str(exc))
    return WhatIfView(scenario, channels, base, result)

"""The customer-base audit (Fader, Hardie & Ross, *The Customer-Base Audit*, 2022): the five
lenses over the aggregates of :mod:`dashboard.storage.audit_queries`, and retention and value
of subscription customers with the shifted-beta-geometric model.

Pure functions over small DataFrames (bins, flows, cohort x age grids); definitions of every
figure are in ``docs/metrics.md`` ("Customer-base audit").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from dashboard.domain.clv.models.basic import ModelIdentificationError
from dashboard.domain.clv.models.shifted_beta_geo import ShiftedBetaGeoModel

#: Shares of the top customers whose share of revenue the first lens reports.
TOP_SHARES = (0.10, 0.20)

#: Days within which a second purchase counts as an early repeat (the fourth lens).
EARLY_REPEAT_DAYS = (90, 180)

#: Days per bucket of :func:`dashboard.storage.audit_queries.second_purchase`.
BUCKET_DAYS = 30

#: Months projected by the retention curves of the subscription section.
PROJECTION_MONTHS = 60


# --------------------------------------------------------------------------------------
# Periods and cohorts as dates
# --------------------------------------------------------------------------------------


def period_index(day: date, grain: str) -> int:
    """Month index ``year * 12 + month - 1`` of ``day`` (``grain="month"``) or that // 3."""
    months = year_months(grain)
    return (day.year * 12 + day.month - 1) // months


def year_months(grain: str) -> int:
    """Months per period of ``grain`` ("month" or "quarter")."""
    if grain not in ("month", "quarter"):
        raise ValueError(f"grain must be 'month' or 'quarter', not {grain!r}")
    return 1 if grain == "month" else 3


def period_start(index: int, grain: str) -> date:
    """First day of the month or quarter of index ``index``."""
    month_index = int(index) * year_months(grain)
    return date(month_index // 12, month_index % 12 + 1, 1)


def period_label(index: int, grain: str) -> str:
    """ "Jan 2025" for a month, "2025 Q1" for a quarter."""
    start = period_start(index, grain)
    if grain == "month":
        return f"{start:%b %Y}"
    return f"{start.year} Q{(start.month - 1) // 3 + 1}"


# --------------------------------------------------------------------------------------
# Lens 1: one period
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodSnapshot:
    """The period's customer base in a few numbers (lens 1).

    ``customers``: buyers in the period; ``one_time_share``: share of them with exactly one
    order (0-1); ``orders_per_customer``, ``revenue_per_customer`` (currency units),
    ``revenue_per_order``; ``top_shares``: share of revenue (0-1) of the top 10% and 20% of
    customers by revenue.
    """

    customers: int
    one_time_buyers: int
    orders: int
    revenue: float
    gross_margin: float
    top_shares: dict[float, float]

    @property
    def one_time_share(self) -> float:
        return self.one_time_buyers / self.customers if self.customers else float("nan")

    @property
    def orders_per_customer(self) -> float:
        return self.orders / self.customers if self.customers else float("nan")

    @property
    def revenue_per_customer(self) -> float:
        return self.revenue / self.customers if self.customers else float("nan")

    @property
    def revenue_per_order(self) -> float:
        return self.revenue / self.orders if self.orders else float("nan")


def period_snapshot(summary: pd.DataFrame, concentration: pd.DataFrame) -> PeriodSnapshot:
    """:class:`PeriodSnapshot` from ``period_summary`` and ``revenue_concentration`` rows."""
    row = summary.iloc[0]
    return PeriodSnapshot(
        customers=int(row["customers"]),
        one_time_buyers=int(row["one_time_buyers"]),
        orders=int(row["orders"]),
        revenue=float(row["revenue"]),
        gross_margin=float(row["gross_margin"]),
        top_shares={share: top_share(concentration, share) for share in TOP_SHARES},
    )


def top_share(concentration: pd.DataFrame, share: float, points: int = 100) -> float:
    """Share of revenue (0-1) of the top ``share`` of customers: the ``ceil(share * n)``
    customers with the highest revenue (groups ``0 .. share * points - 1``)."""
    total = concentration["revenue"].sum()
    if total <= 0:
        return float("nan")
    top = concentration.loc[concentration["bucket"] < round(share * points), "revenue"].sum()
    return float(top / total)


def concentration_curve(concentration: pd.DataFrame) -> pd.DataFrame:
    """Cumulative share of customers (highest revenue first) against cumulative share of
    revenue, from (0, 0) to (1, 1). Columns ``customer_share``, ``revenue_share`` (0-1)."""
    customers = concentration["customers"].cumsum() / concentration["customers"].sum()
    revenue = concentration["revenue"].cumsum() / concentration["revenue"].sum()
    return pd.DataFrame(
        {
            "customer_share": np.concatenate([[0.0], customers.to_numpy(dtype=float)]),
            "revenue_share": np.concatenate([[0.0], revenue.to_numpy(dtype=float)]),
        }
    )


def orders_distribution(frame: pd.DataFrame, cap: int) -> pd.DataFrame:
    """Customers by orders in the period, every count 1 .. cap present (``cap`` is "cap+").

    Columns ``label``, ``customers``, ``share`` (of the period's buyers, 0-1), ``revenue``.
    """
    full = (
        frame.set_index("orders")
        .reindex(range(1, cap + 1), fill_value=0)
        .rename_axis("orders")
        .reset_index()
    )
    full["label"] = [str(n) if n < cap else f"{cap}+" for n in full["orders"]]
    total = full["customers"].sum()
    full["share"] = full["customers"] / total if total else 0.0
    return full[["label", "customers", "share", "revenue"]]


def spend_distribution(frame: pd.DataFrame, bins: int) -> pd.DataFrame:
    """Customers by revenue in the period, bins ``0 .. bins`` (the last: at or above the 99th
    percentile). Columns ``label``, ``low``, ``high`` (currency units; ``high`` NaN on the
    last), ``customers``, ``share`` (0-1)."""
    if frame.empty:
        return pd.DataFrame(columns=["label", "low", "high", "customers", "share"])
    width = float(frame["width"].iloc[0])
    p99 = float(frame["p99"].iloc[0])
    full = frame.set_index("bin").reindex(range(bins + 1), fill_value=0).reset_index()
    low = full["bin"] * width
    high = (full["bin"] + 1) * width
    full["low"] = low.where(full["bin"] < bins, p99)
    full["high"] = high.where(full["bin"] < bins, np.nan)
    full["label"] = [
        f"{lo:,.0f}–{hi:,.0f}" if b < bins else f"≥ {p99:,.0f}"
        for b, lo, hi in zip(full["bin"], full["low"], full["high"], strict=True)
    ]
    total = full["customers"].sum()
    full["share"] = full["customers"] / total if total else 0.0
    return full[["label", "low", "high", "customers", "share"]]


# --------------------------------------------------------------------------------------
# Lens 2: period to period
# --------------------------------------------------------------------------------------

FLOWS = ("retained", "lost", "new", "reactivated")


def flow_table(flows: pd.DataFrame) -> pd.DataFrame:
    """Every flow (retained, lost, new, reactivated) with customers and revenue in both
    periods, zeros where a flow has no customer."""
    table = (
        flows.set_index("flow").reindex(list(FLOWS), fill_value=0).rename_axis("flow").reset_index()
    )
    table["revenue_change"] = table["revenue_current"] - table["revenue_previous"]
    return table


def revenue_bridge(flows: pd.DataFrame) -> pd.DataFrame:
    """The waterfall from the previous period's revenue to this period's.

    Steps: previous revenue (total); lost customers (minus their previous revenue);
    retained customers' change in spend (their revenue now minus then); new customers and
    reactivated customers (plus their revenue); this period's revenue (total). Columns
    ``step``, ``measure`` ("absolute", "relative", "total", as Plotly's waterfall),
    ``value`` (currency units), ``customers``. The relative steps add up exactly.
    """
    table = flow_table(flows).set_index("flow")
    previous = float(table["revenue_previous"].sum())
    current = float(table["revenue_current"].sum())

    def flow(name: str, column: str) -> float:
        return float(table.at[name, column])

    def customers(*names: str) -> int:
        return int(table.loc[list(names), "customers"].sum())

    rows = [
        ("Previous period", "absolute", previous, customers("retained", "lost")),
        ("Lost customers", "relative", -flow("lost", "revenue_previous"), customers("lost")),
        (
            "Retained: change in spend",
            "relative",
            flow("retained", "revenue_change"),
            customers("retained"),
        ),
        ("New customers", "relative", flow("new", "revenue_current"), customers("new")),
        (
            "Reactivated customers",
            "relative",
            flow("reactivated", "revenue_current"),
            customers("reactivated"),
        ),
        ("This period", "total", current, customers("retained", "new", "reactivated")),
    ]
    return pd.DataFrame(rows, columns=["step", "measure", "value", "customers"])


# --------------------------------------------------------------------------------------
# Lenses 3 and 4: cohorts
# --------------------------------------------------------------------------------------


def cohort_grid(
    activity: pd.DataFrame, sizes: pd.DataFrame, grain: str, as_of: date
) -> pd.DataFrame:
    """Every cohort at every age it has been observed, with the revenue decomposition.

    A cohort acquired in period ``c`` is observed at ages ``0 .. index(as_of) - c``; ages
    without an order hold zeros. ``complete`` is False for the age that contains ``as_of``
    when it is not that period's last day (a partial month or quarter).

    Columns ``cohort``, ``cohort_start`` (date), ``cohort_label``, ``age``, ``size``
    (customers acquired), ``active``, ``orders``, ``revenue``, ``gross_margin``,
    ``share_active`` (active / size), ``orders_per_active``, ``revenue_per_order``,
    ``margin_share`` (gross margin / revenue), ``revenue_per_member`` (revenue / size),
    ``orders_per_member``, ``cumulative_revenue_per_member``, ``complete``. So
    ``revenue = size x share_active x orders_per_active x revenue_per_order`` and
    ``gross_margin = revenue x margin_share``.
    """
    last = period_index(as_of, grain)
    rows = [
        (int(c), int(n), age)
        for c, n in zip(sizes["cohort"], sizes["customers"], strict=True)
        for age in range(0, max(last - int(c), 0) + 1)
    ]
    grid = pd.DataFrame(rows, columns=["cohort", "size", "age"])
    grid = grid.merge(activity, on=["cohort", "age"], how="left")
    for column in ("active", "orders"):
        grid[column] = grid[column].fillna(0).astype("int64")
    for column in ("revenue", "gross_margin"):
        grid[column] = grid[column].fillna(0.0).astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        grid["share_active"] = grid["active"] / grid["size"]
        grid["orders_per_active"] = grid["orders"] / grid["active"].where(grid["active"] > 0)
        grid["revenue_per_order"] = grid["revenue"] / grid["orders"].where(grid["orders"] > 0)
        grid["margin_share"] = grid["gross_margin"] / grid["revenue"].where(grid["revenue"] != 0)
        grid["revenue_per_member"] = grid["revenue"] / grid["size"]
        grid["orders_per_member"] = grid["orders"] / grid["size"]
    grid["cumulative_revenue_per_member"] = grid.groupby("cohort")["revenue_per_member"].cumsum()
    next_start = [
        period_start(c + a + 1, grain) for c, a in zip(grid["cohort"], grid["age"], strict=True)
    ]
    grid["complete"] = [(start - as_of).days <= 1 for start in next_start]
    grid["cohort_start"] = [period_start(c, grain) for c in grid["cohort"]]
    grid["cohort_label"] = [period_label(c, grain) for c in grid["cohort"]]
    return grid


def second_purchase_table(
    buckets: pd.DataFrame, sizes: pd.DataFrame, grain: str, as_of: date
) -> pd.DataFrame:
    """Early repeat per cohort: shares with a second purchase within 90 and 180 days, and
    the share with one by now.

    A share "within d days" is shown only for cohorts whose last member has been observed
    for at least d days by ``as_of`` (else NaN: the cohort is too young to tell). Columns
    ``cohort``, ``cohort_label``, ``size``, ``repeat_90``, ``repeat_180``, ``repeat_any``
    (0-1), ``observed_days`` (days from the cohort's last day to ``as_of``).
    """
    counted = buckets.dropna(subset=["bucket"])
    rows = []
    for cohort, size in zip(sizes["cohort"], sizes["customers"], strict=True):
        mine = counted[counted["cohort"] == cohort]
        end_of_cohort = period_start(int(cohort) + 1, grain)
        observed = (as_of - end_of_cohort).days + 1
        row = {
            "cohort": int(cohort),
            "cohort_label": period_label(int(cohort), grain),
            "size": int(size),
            "observed_days": observed,
            "repeat_any": mine["customers"].sum() / size if size else np.nan,
        }
        for days in EARLY_REPEAT_DAYS:
            within = mine.loc[mine["bucket"] < days // BUCKET_DAYS, "customers"].sum()
            row[f"repeat_{days}"] = within / size if size and observed >= days else np.nan
        rows.append(row)
    columns = ["cohort", "cohort_label", "size", "repeat_90", "repeat_180", "repeat_any"]
    return pd.DataFrame(rows, columns=[*columns, "observed_days"])


def second_purchase_distribution(buckets: pd.DataFrame, cohort: int, size: int) -> pd.DataFrame:
    """One cohort's time to second purchase: share of original members per 30-day bucket and
    cumulative. Columns ``label``, ``customers``, ``share``, ``cumulative_share`` (0-1)."""
    mine = buckets[(buckets["cohort"] == cohort) & buckets["bucket"].notna()]
    last = 12
    counts = mine.groupby("bucket")["customers"].sum().reindex(range(last + 1), fill_value=0)
    labels = [f"{BUCKET_DAYS * b + 1}–{BUCKET_DAYS * (b + 1)}" for b in range(last)]
    labels.append(f"{BUCKET_DAYS * last + 1}+")
    share = counts.to_numpy(dtype=float) / size if size else np.zeros(last + 1)
    return pd.DataFrame(
        {
            "label": labels,
            "customers": counts.to_numpy(dtype="int64"),
            "share": share,
            "cumulative_share": np.cumsum(share),
        }
    )


# --------------------------------------------------------------------------------------
# Lens 5: the whole base
# --------------------------------------------------------------------------------------


def cohort_layers(monthly_grid: pd.DataFrame, layer: str = "quarter") -> pd.DataFrame:
    """The customer cohort chart (C3): revenue and active customers by calendar month, one
    layer per acquisition quarter (or year), from a month-grain :func:`cohort_grid`.

    Columns ``month`` (date), ``layer`` (label, oldest first), ``revenue``, ``active``.
    Active customers add up across layers (each customer is in one cohort).
    """
    frame = monthly_grid.copy()
    frame["calendar"] = frame["cohort"] + frame["age"]
    if layer == "quarter":
        frame["layer_index"] = frame["cohort"] // 3
        frame["layer"] = [period_label(i, "quarter") for i in frame["layer_index"]]
    else:
        frame["layer_index"] = frame["cohort"] // 12
        frame["layer"] = [f"Acquired {i}" for i in frame["layer_index"]]
    out = (
        frame.groupby(["calendar", "layer_index", "layer"], as_index=False)[["revenue", "active"]]
        .sum()
        .sort_values(["calendar", "layer_index"])
    )
    out["month"] = [period_start(i, "month") for i in out["calendar"]]
    return out[["month", "layer", "layer_index", "revenue", "active"]].reset_index(drop=True)


def recent_share_by_month(monthly_grid: pd.DataFrame) -> pd.DataFrame:
    """Share of each calendar month's revenue from customers acquired in the 12 months to it
    (the month itself and the 11 before). Columns ``month`` (date), ``share`` (0-1)."""
    frame = monthly_grid.assign(calendar=monthly_grid["cohort"] + monthly_grid["age"])
    recent = frame["age"] <= 11
    totals = frame.groupby("calendar")["revenue"].sum()
    recent_revenue = (
        frame[recent].groupby("calendar")["revenue"].sum().reindex(totals.index, fill_value=0.0)
    )
    share = (recent_revenue / totals.where(totals != 0)).rename("share").reset_index()
    share["month"] = [period_start(i, "month") for i in share["calendar"]]
    return share[["month", "share"]]


# --------------------------------------------------------------------------------------
# Subscriptions
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubscriptionSettings:
    """How subscription lifetime value is computed.

    ``margin_share``: gross margin per unit of subscription revenue (0-1);
    ``annual_discount_rate``: discount rate a year (converted to a monthly rate);
    ``horizon_months``: months of future payments counted (None: no limit).
    """

    margin_share: float = 0.8
    annual_discount_rate: float = 0.10
    horizon_months: int | None = None

    @property
    def monthly_discount_rate(self) -> float:
        return (1.0 + self.annual_discount_rate) ** (1.0 / 12.0) - 1.0


DEFAULT_SUBSCRIPTION_SETTINGS = SubscriptionSettings()


def retention_curves(tenures: pd.DataFrame, by: tuple[str, ...]) -> pd.DataFrame:
    """Observed share still subscribed after t months (Kaplan-Meier, monthly), per group.

    At each tenure ``t`` the subscriptions at risk are those observed for at least ``t``
    months; ``S(t) = S(t - 1) x (1 - churned at t / at risk at t)``. Columns ``*by``,
    ``tenure`` (0 ..), ``survival`` (0-1), ``at_risk``, ``started`` (group size).
    """
    rows = []
    for key, group in tenures.groupby(list(by), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        churned = group[group["status"] == "churned"].groupby("tenure")["subscriptions"].sum()
        censored = group[group["status"] == "active"].groupby("tenure")["subscriptions"].sum()
        longest = int(group["tenure"].max())
        started = int(group["subscriptions"].sum())
        survival = 1.0
        rows.append((*key, 0, 1.0, started, started))
        for t in range(1, longest + 1):
            lost_before = churned[churned.index < t].sum()
            censored_before = censored[censored.index < t].sum()
            at_risk = started - lost_before - censored_before
            if at_risk <= 0:
                break
            survival *= 1.0 - churned.get(t, 0) / at_risk
            rows.append((*key, t, survival, int(at_risk), started))
    return pd.DataFrame(rows, columns=[*by, "tenure", "survival", "at_risk", "started"])


@dataclass(frozen=True)
class PlanFit:
    """The sBG fit of one plan: ``model`` (None when it could not be fitted, ``error`` says
    why), ``subscriptions`` fitted, ``churned``."""

    plan: str
    model: ShiftedBetaGeoModel | None
    subscriptions: int
    churned: int
    error: str | None = None


def fit_plans(tenures: pd.DataFrame) -> dict[str, PlanFit]:
    """An sBG model per plan, on every start cohort's tenures (right-censored)."""
    fits = {}
    for plan, group in tenures.groupby("plan", sort=True):
        longest = max(int(group["tenure"].max()), 1)
        churned = np.zeros(longest)
        censored = np.zeros(longest)
        for status, tenure, count in zip(
            group["status"], group["tenure"], group["subscriptions"], strict=True
        ):
            if tenure < 1:
                continue  # not yet at a renewal: tells nothing about churn
            (churned if status == "churned" else censored)[tenure - 1] += count
        try:
            model = ShiftedBetaGeoModel().fit_counts(churned, censored)
            error = None
        except ModelIdentificationError as exc:
            model, error = None, str(exc)
        fits[str(plan)] = PlanFit(
            str(plan), model, int(churned.sum() + censored.sum()), int(churned.sum()), error
        )
    return fits


def projected_retention(fits: dict[str, PlanFit], months: int = PROJECTION_MONTHS) -> pd.DataFrame:
    """The fitted S(t) per plan, t = 0 .. months. Columns ``plan``, ``tenure``, ``survival``."""
    tenure = np.arange(months + 1)
    frames = [
        pd.DataFrame({"plan": plan, "tenure": tenure, "survival": fit.model.survival(tenure)})
        for plan, fit in fits.items()
        if fit.model is not None
    ]
    if not frames:
        return pd.DataFrame(columns=["plan", "tenure", "survival"])
    return pd.concat(frames, ignore_index=True)


def subscriber_values(
    active: pd.DataFrame,
    fits: dict[str, PlanFit],
    settings: SubscriptionSettings = DEFAULT_SUBSCRIPTION_SETTINGS,
) -> pd.DataFrame:
    """Projected retention and value of every active subscriber.

    For a subscriber of plan ``p`` with ``renewals`` renewals made, under the plan's sBG:
    ``p_active_12m`` = S(renewals + 12) / S(renewals); ``derl`` = discounted expected
    remaining payments (months, Fader & Hardie 2010, the next one undiscounted, at
    ``settings``' monthly rate, over ``horizon_months`` when set); ``monthly_margin`` =
    monthly value x margin share; ``lifetime_value`` = monthly margin x DERL (currency
    units). Subscribers of a plan without a fit get NaN.
    """
    out = active.copy()
    out["p_active_12m"] = np.nan
    out["derl"] = np.nan
    for plan, fit in fits.items():
        if fit.model is None:
            continue
        mine = out["plan"] == plan
        renewals = out.loc[mine, "renewals"].to_numpy(dtype=float)
        unique, inverse = np.unique(renewals, return_inverse=True)
        out.loc[mine, "p_active_12m"] = fit.model.conditional_survival(unique, 12)[inverse]
        derl = fit.model.expected_remaining_lifetime(
            unique, settings.monthly_discount_rate, horizon=settings.horizon_months
        )
        out.loc[mine, "derl"] = derl[inverse]
    out["monthly_margin"] = out["monthly_value"] * settings.margin_share
    out["lifetime_value"] = out["monthly_margin"] * out["derl"]
    return out


def plan_summary(values: pd.DataFrame, fits: dict[str, PlanFit]) -> pd.DataFrame:
    """Per plan: the sBG parameters, mean churn, active subscribers, monthly value and
    subscription equity. Columns ``plan``, ``alpha``, ``beta``, ``mean_churn`` (alpha /
    (alpha + beta), a month), ``log_likelihood``, ``fitted``, ``active``,
    ``monthly_value``, ``mean_derl``, ``equity``."""
    rows = []
    for plan, fit in fits.items():
        mine = values[values["plan"] == plan]
        params = fit.model.params_ if fit.model is not None else {"alpha": np.nan, "beta": np.nan}
        alpha, beta = params["alpha"], params["beta"]
        rows.append(
            {
                "plan": plan,
                "alpha": alpha,
                "beta": beta,
                "mean_churn": alpha / (alpha + beta),
                "log_likelihood": fit.model.log_likelihood_ if fit.model is not None else np.nan,
                "fitted": fit.subscriptions,
                "active": len(mine),
                "monthly_value": float(mine["monthly_value"].sum()),
                "mean_derl": float(mine["derl"].mean()) if len(mine) else np.nan,
                "equity": float(mine["lifetime_value"].sum()),
            }
        )
    return pd.DataFrame(rows)

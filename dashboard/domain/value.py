"""The portfolio's value: profit per customer, the whale curve, customer equity, acquisition.

Pure functions over the frames the storage layer returns (no SQL, no Streamlit). Definitions
follow ``docs/metrics.md`` and are written out in ``docs/customer-value.md``; money is in currency
units throughout.

- **Customer profit** = gross margin − service cost − acquisition cost, either *to date* (all
  history up to the period's end) or *in the period* (each cost counted in the period it was
  incurred; acquisition cost only for customers acquired in the period).
- **Whale curve**: customers ranked from most to least profitable; x = cumulative share of
  customers, y = cumulative profit as a share of total profit.
- **Customer equity** = sum of the predicted lifetime value (CLV) of current customers.
- **Lifetime value for LTV/CAC** = gross margin earned since acquisition + predicted CLV over
  the horizon: what winning the customer has brought and is expected to bring.
- **Payback month**: first month since acquisition (month 0 = the calendar month of
  acquisition) at which cumulative gross margin − service cost per customer reaches the
  acquisition cost per customer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

#: Ways to count profit, with the label the page shows (and puts in the URL).
PROFIT_BASES: dict[str, str] = {"to_date": "To date", "in_period": "In the period"}

#: Per-customer columns of :func:`customer_profit` (money in currency units).
PROFIT_COLUMNS = ["gross_margin", "service_cost", "acquisition_cost", "profit"]

#: Identity columns carried through to the per-customer profit frame and the download.
IDENTITY_COLUMNS = ["customer_id", "name", "region", "acquisition_channel", "acquired_at"]

#: Points a plotted whale curve keeps at most (100k customers must not ship 100k points).
WHALE_CURVE_POINTS = 500

#: A payback curve stops at the first month that fewer customers than this have lived through.
MIN_CURVE_CUSTOMERS = 10

#: What the payback column says for a group too small to draw a curve for.
NO_CURVE = f"too few customers (< {MIN_CURVE_CUSTOMERS})"

#: Days without an order after which a customer is no longer "active" (docs/metrics.md: 12 months).
ACTIVE_WINDOW_DAYS = 365


# --------------------------------------------------------------------------------------
# Profit per customer
# --------------------------------------------------------------------------------------


def profit(frame: pd.DataFrame) -> pd.Series:
    """Customer profit = gross margin − service cost − acquisition cost (docs/metrics.md).

    The one place the formula is written: ``frame`` holds the three columns (currency units)
    for whatever period the caller counts them in (to date, or in the period).
    """
    return frame["gross_margin"] - frame["service_cost"] - frame["acquisition_cost"]


def customer_profit(
    summary: pd.DataFrame, *, basis: str = "to_date", period_start: date | None = None
) -> pd.DataFrame:
    """Gross margin, service cost, acquisition cost and profit of each customer.

    Parameters
    ----------
    summary : DataFrame
        :func:`dashboard.storage.customer_queries.customer_summary` (one row per customer
        acquired on or before the period's end), optionally with ``segment`` columns.
    basis : {"to_date", "in_period"}
        ``to_date``: everything up to the period's end, every customer in scope (one who never
        ordered has lost their acquisition cost). ``in_period``: only what happened in the
        period; acquisition cost counts for customers acquired in the period; customers with
        no order, no service contact and no acquisition in the period are left out.
    period_start : date, optional
        First day of the period; required for ``in_period``.

    Returns
    -------
    DataFrame
        The identity columns (and any ``segment``/``segment_name``) plus ``gross_margin``,
        ``service_cost``, ``acquisition_cost`` and ``profit`` (currency units). Missing
        costs count as zero.
    """
    if basis not in PROFIT_BASES:
        raise ValueError(f"basis must be one of {sorted(PROFIT_BASES)}, got {basis!r}")
    extra = [c for c in ("segment", "segment_name") if c in summary.columns]
    frame = summary[IDENTITY_COLUMNS + extra].copy()
    acquisition_cost = _money(summary["acquisition_cost"])
    if basis == "to_date":
        frame["gross_margin"] = _money(summary["gross_margin"])
        frame["service_cost"] = _money(summary["service_cost"])
        frame["acquisition_cost"] = acquisition_cost
    else:
        if period_start is None:
            raise ValueError("period_start is required for the in-period basis")
        acquired_in_period = pd.to_datetime(summary["acquired_at"]) >= pd.Timestamp(period_start)
        frame["gross_margin"] = _money(summary["gross_margin_period"])
        frame["service_cost"] = _money(summary["service_cost_period"])
        frame["acquisition_cost"] = acquisition_cost.where(acquired_in_period, 0.0)
        active = (
            (summary["orders_period"] > 0) | (summary["contacts_period"] > 0) | acquired_in_period
        )
        frame = frame[active.to_numpy()]
    frame["profit"] = profit(frame)
    return frame.reset_index(drop=True)


def _money(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").astype("float64").fillna(0.0)


def cost_data_gaps(summary: pd.DataFrame) -> list[str]:
    """Plain sentences naming the costs the store does not record for these customers.

    Profit is then overstated by the missing cost; the page says so instead of guessing.
    """
    if summary.empty:
        return []
    gaps = []
    revenue = _money(summary["revenue"]).sum()
    if revenue > 0 and np.isclose(_money(summary["gross_margin"]).sum(), revenue):
        gaps.append("no order cost is recorded, so gross margin equals revenue")
    if _money(summary["service_cost"]).sum() == 0:
        gaps.append("no service cost is recorded")
    if _money(summary["acquisition_cost"]).sum() == 0:
        gaps.append("no acquisition cost is recorded")
    return gaps


@dataclass(frozen=True)
class ProfitTotals:
    """Portfolio profit in a scope. Money in currency units; shares are fractions (0-1)."""

    customers: int
    gross_margin: float
    service_cost: float
    acquisition_cost: float
    profit: float
    losing_customers: int

    @property
    def profit_per_customer(self) -> float | None:
        return self.profit / self.customers if self.customers else None

    @property
    def losing_share(self) -> float | None:
        """Share of customers whose profit is below zero."""
        return self.losing_customers / self.customers if self.customers else None


#: Sums over a group of customers that every profit figure is built from, in currency units:
#: what :func:`profit_sums` adds up from per-customer profit and what the store's ``GROUP BY``
#: returns (:func:`dashboard.storage.portfolio_queries.profit_sums`).
PROFIT_SUMS = (
    "customers",
    "gross_margin",
    "service_cost",
    "acquisition_cost",
    "profit",
    "losing_customers",
)


def profit_sums(profit: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Per-customer profit (:func:`customer_profit`) summed per group of ``by``.

    Returns one row per group (one row in all without ``by``): the ``by`` columns and
    :data:`PROFIT_SUMS`. Customers count as losing when their profit is below zero.
    """
    values = profit["profit"]
    frame = profit[[*by, "gross_margin", "service_cost", "acquisition_cost", "profit"]].assign(
        customers=1,
        losing_customers=(values < 0).astype("int64"),
    )
    if not by:
        return frame[list(PROFIT_SUMS)].sum().to_frame().T.astype(_SUM_TYPES)
    return frame.groupby(list(by), observed=True, sort=False)[list(PROFIT_SUMS)].sum().reset_index()


_SUM_TYPES = {"customers": "int64", "losing_customers": "int64"}


def profit_totals(sums: pd.DataFrame) -> ProfitTotals:
    """Totals of :func:`profit_sums` (any grouping: the column sums)."""
    return ProfitTotals(
        customers=int(sums["customers"].sum()),
        gross_margin=float(sums["gross_margin"].sum()),
        service_cost=float(sums["service_cost"].sum()),
        acquisition_cost=float(sums["acquisition_cost"].sum()),
        profit=float(sums["profit"].sum()),
        losing_customers=int(sums["losing_customers"].sum()),
    )


def profit_by_group(
    sums: pd.DataFrame, by: str, *, groups: Sequence[object] | None = None
) -> pd.DataFrame:
    """Profit per customer by segment, region or acquisition channel.

    Parameters
    ----------
    sums : DataFrame
        :func:`profit_sums` by ``by`` or by finer groups that include it (e.g. segment,
        region and channel at once: the sums are added up per ``by``).
    by : str
        Column to group by (``segment_name``, ``region``, ``acquisition_channel``...).
    groups : sequence, optional
        Every group that exists; groups without a customer in scope are kept with zero
        customers and undefined (NaN) per-customer figures, so an empty segment shows as
        empty instead of vanishing.

    Returns
    -------
    DataFrame
        One row per group, most profitable first: ``customers``, ``gross_margin``,
        ``service_cost``, ``acquisition_cost``, ``profit`` (currency units),
        ``profit_per_customer``, ``losing_customers``, ``losing_share`` (0-1) and
        ``profit_share`` (group profit / total profit; NaN when the total is not positive).
    """
    columns = ["customers", "gross_margin", "service_cost", "acquisition_cost", "profit"]
    table = sums.groupby(by, observed=True, sort=False)[[*columns, "losing_customers"]].sum()
    if groups is not None:
        table = table.reindex(_with_groups(table.index, groups), fill_value=0)
    table = table.astype({"customers": "int64", "losing_customers": "int64"})
    customers = table["customers"].where(table["customers"] > 0)
    table["profit_per_customer"] = table["profit"] / customers
    table["losing_share"] = table["losing_customers"] / customers
    total = float(sums["profit"].sum())
    table["profit_share"] = table["profit"] / total if total > 0 else np.nan
    table = table.sort_values(
        ["profit_per_customer", "customers"], ascending=False, na_position="last"
    )
    return table.reset_index()


def _with_groups(present: pd.Index, groups: Sequence[object]) -> pd.Index:
    """The known ``groups`` followed by any other group present (e.g. "Not segmented")."""
    known = list(groups)
    return pd.Index(known + [g for g in present if g not in set(known)], name=present.name)


def loss_makers(profit: pd.DataFrame) -> pd.DataFrame:
    """The customers who lose money (profit < 0), worst first, ready to download."""
    losing = profit[profit["profit"] < 0]
    order = np.lexsort((losing["customer_id"].to_numpy(), losing["profit"].to_numpy()))
    return losing.iloc[order].reset_index(drop=True)


# --------------------------------------------------------------------------------------
# Whale curve
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WhaleCurve:
    """The whale curve and its headline figures.

    Attributes
    ----------
    points : DataFrame
        ``customer_share`` (0-1, customers ranked most profitable first),
        ``cumulative_profit`` (currency units) and ``profit_share`` (cumulative profit /
        total profit, NaN when the total is not positive); at most ``max_points`` rows,
        always with the origin, the peak and the end.
    customers, total_profit :
        Customers ranked and their total profit.
    peak_profit :
        Highest cumulative profit: the profit of the profitable customers alone.
    peak_share :
        ``peak_profit / total_profit`` (e.g. 1.6 = 160 %); None when the total is not positive.
    peak_customer_share :
        Share of customers at the peak: those with profit above zero.
    losing_customers, losing_share :
        Customers with profit below zero, and their share of all customers.
    profit_destroyed :
        What the unprofitable tail destroys: minus the sum of negative profits (>= 0).
    top_20_share :
        Cumulative profit of the most profitable 20 % of customers / total profit.
    bottom_10_loss_share :
        What the least profitable 10 % of customers lose, as a share of total profit
        (positive = a loss): ``y(0.9) - y(1)``. Both read off the curve with linear
        interpolation between customers.
    """

    points: pd.DataFrame
    customers: int
    total_profit: float
    peak_profit: float
    peak_share: float | None
    peak_customer_share: float
    losing_customers: int
    losing_share: float
    profit_destroyed: float
    top_20_share: float | None
    bottom_10_loss_share: float | None


def whale_curve(
    profit: pd.Series | np.ndarray, *, max_points: int = WHALE_CURVE_POINTS
) -> WhaleCurve:
    """Rank customers by profit (most profitable first) and accumulate.

    Parameters
    ----------
    profit : array_like
        Profit per customer (currency units), one value per customer; at least one.
    max_points : int
        Largest number of points kept for plotting (at least 3).

    Returns
    -------
    WhaleCurve
    """
    values = np.sort(np.asarray(profit, dtype=np.float64))[::-1]
    n = values.size
    if n == 0:
        raise ValueError("the whale curve needs at least one customer")
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    share_of_customers = np.arange(n + 1) / n
    total = float(cumulative[-1])
    peak_index = int(np.argmax(cumulative))
    peak = float(cumulative[peak_index])
    positive_total = total > 0

    def curve_at(x: float) -> float:
        return float(np.interp(x, share_of_customers, cumulative))

    keep = _downsample(n, peak_index, max_points)
    points = pd.DataFrame(
        {
            "customer_share": share_of_customers[keep],
            "cumulative_profit": cumulative[keep],
            "profit_share": cumulative[keep] / total if positive_total else np.nan,
        }
    )
    losing = int((values < 0).sum())
    return WhaleCurve(
        points=points,
        customers=n,
        total_profit=total,
        peak_profit=peak,
        peak_share=peak / total if positive_total else None,
        peak_customer_share=peak_index / n,
        losing_customers=losing,
        losing_share=losing / n,
        profit_destroyed=float(-values[values < 0].sum()),
        top_20_share=curve_at(0.2) / total if positive_total else None,
        bottom_10_loss_share=(curve_at(0.9) - total) / total if positive_total else None,
    )


def _downsample(n: int, peak_index: int, max_points: int) -> np.ndarray:
    """Indices 0..n to plot: all when few, else evenly spaced plus the peak and the end."""
    if max_points < 3:
        raise ValueError("max_points must be at least 3")
    if n + 1 <= max_points:
        return np.arange(n + 1)
    even = np.round(np.linspace(0, n, max_points - 1)).astype(np.int64)
    return np.unique(np.concatenate([even, [peak_index, n]]))[:max_points]


# --------------------------------------------------------------------------------------
# Lifetime value, customer equity, LTV/CAC
# --------------------------------------------------------------------------------------


def lifetime_values(
    summary: pd.DataFrame, scored: pd.DataFrame, *, calibration_end: date
) -> pd.DataFrame:
    """Per-customer facts joined with the stored lifetime-value predictions.

    Parameters
    ----------
    summary : DataFrame
        :func:`~dashboard.storage.customer_queries.customer_summary`.
    scored : DataFrame
        Stored predictions (``customer_id``, ``clv``, ``probability_alive``, ``recency``,
        ``T``... from :func:`dashboard.storage.clv_store.scored_customers`).
    calibration_end : date
        Last day of the data the stored fit saw.

    Returns
    -------
    DataFrame
        ``summary`` with ``clv`` (currency units), ``probability_alive``, ``active`` (an
        order in the 365 days to ``calibration_end``), ``scored`` (the fit knew the customer)
        and ``ltv`` = gross margin to date + CLV. A customer acquired by ``calibration_end``
        without any order has CLV 0 (the model predicts repeat purchases of buyers only);
        one acquired later is not scored (NaN) until the next fit.
    """
    columns = ["customer_id", "clv", "probability_alive", "recency", "T"]
    frame = summary.merge(scored[columns], on="customer_id", how="left")
    frame["scored"] = frame["clv"].notna()
    known = pd.to_datetime(frame["acquired_at"]) <= pd.Timestamp(calibration_end)
    frame["clv"] = frame["clv"].where(frame["scored"] | ~known, 0.0)
    frame["probability_alive"] = frame["probability_alive"].where(frame["scored"] | ~known, 0.0)
    weeks_silent = frame["T"] - frame["recency"]
    frame["active"] = frame["scored"] & (weeks_silent <= ACTIVE_WINDOW_DAYS / 7)
    frame["ltv"] = _money(frame["gross_margin"]) + frame["clv"]
    return frame.drop(columns=["recency", "T"])


@dataclass(frozen=True)
class Equity:
    """Customer equity of a scope. Money in currency units.

    ``customers`` counts the scored customers (those the stored fit knew); ``expected_alive``
    is the sum of their probabilities of being alive.
    """

    customers: int
    equity: float
    active_customers: int
    expected_alive: float

    @property
    def mean_clv(self) -> float | None:
        return self.equity / self.customers if self.customers else None


#: Sums over a group of customers that equity, keep-versus-win and the acquisition tables are
#: built from (money in currency units): what :func:`value_sums` adds up from
#: :func:`lifetime_values` and what the store's ``GROUP BY`` returns
#: (:func:`dashboard.storage.customer_queries.value_sums`).
#:
#: ``customers``, ``revenue``, ``gross_margin``, ``service_cost``, ``acquisition_cost``: every
#: customer, to the period's end; ``won_in_period``, ``acquisition_spend_in_period``: those
#: acquired in the period and their acquisition cost; ``paid_back``: customers whose gross margin
#: − service cost covers their acquisition cost. Over the customers the stored fit scored:
#: ``scored_customers``, ``scored_acquisition_cost``, ``ltv``, ``clv``, ``probability_alive``;
#: of those, the active ones (``active_customers``, ``active_clv``) and those acquired in the
#: period (``new_customers``, ``new_ltv``, ``new_acquisition_cost``).
VALUE_SUMS = (
    "customers",
    "revenue",
    "gross_margin",
    "service_cost",
    "acquisition_cost",
    "won_in_period",
    "acquisition_spend_in_period",
    "paid_back",
    "scored_customers",
    "scored_acquisition_cost",
    "ltv",
    "clv",
    "probability_alive",
    "active_customers",
    "active_clv",
    "new_customers",
    "new_ltv",
    "new_acquisition_cost",
)

#: Counts among :data:`VALUE_SUMS` (the rest are money or sums of probabilities).
VALUE_COUNTS = (
    "customers",
    "won_in_period",
    "paid_back",
    "scored_customers",
    "active_customers",
    "new_customers",
)


def value_sums(values: pd.DataFrame, by: Sequence[str], *, period_start: date) -> pd.DataFrame:
    """:data:`VALUE_SUMS` per group of ``by`` from per-customer facts.

    ``values`` is :func:`lifetime_values` (or the customer summary alone when no fit is
    stored: the scored sums are then 0). ``acquisition_quarter`` may be among ``by``
    (:func:`acquisition_quarter` of ``acquired_at``). Customers acquired on or after
    ``period_start`` are the period's.
    """
    cost = _money(values["acquisition_cost"])
    margin = _money(values["gross_margin"])
    won = pd.to_datetime(values["acquired_at"]) >= pd.Timestamp(period_start)
    if "scored" in values.columns:
        scored = values["scored"].to_numpy(dtype=bool)
        clv = values["clv"].where(scored, 0.0)
        active = scored & values["active"].to_numpy(dtype=bool)
    else:
        scored = np.zeros(len(values), dtype=bool)
        clv = pd.Series(0.0, index=values.index)
        active = scored
    new = scored & won.to_numpy()
    ltv = (margin + clv).where(scored, 0.0)
    frame = pd.DataFrame(
        {
            **{
                key: acquisition_quarter(values["acquired_at"])
                if key == "acquisition_quarter" and key not in values.columns
                else values[key]
                for key in by
            },
            "customers": 1,
            "revenue": _money(values["revenue"]),
            "gross_margin": margin,
            "service_cost": _money(values["service_cost"]),
            "acquisition_cost": cost,
            "won_in_period": won.astype("int64"),
            "acquisition_spend_in_period": cost.where(won, 0.0),
            "paid_back": (margin - _money(values["service_cost"]) >= cost).astype("int64"),
            "scored_customers": scored.astype("int64"),
            "scored_acquisition_cost": cost.where(scored, 0.0),
            "ltv": ltv,
            "clv": clv,
            "probability_alive": (
                values["probability_alive"].where(scored, 0.0) if scored.any() else 0.0
            ),
            "active_customers": active.astype("int64"),
            "active_clv": clv.where(active, 0.0),
            "new_customers": new.astype("int64"),
            "new_ltv": ltv.where(new, 0.0),
            "new_acquisition_cost": cost.where(new, 0.0),
        },
        index=values.index,
    )
    return frame.groupby(list(by), observed=True, sort=False)[list(VALUE_SUMS)].sum().reset_index()


def customer_equity(sums: pd.DataFrame) -> Equity:
    """Customer equity = sum of CLV of the current (scored) customers of :func:`value_sums`."""
    return Equity(
        customers=int(sums["scored_customers"].sum()),
        equity=float(sums["clv"].sum()),
        active_customers=int(sums["active_customers"].sum()),
        expected_alive=float(sums["probability_alive"].sum()),
    )


def equity_by_group(
    sums: pd.DataFrame, by: str, *, groups: Sequence[object] | None = None
) -> pd.DataFrame:
    """Customer equity split by ``by``: ``customers``, ``equity``, ``mean_clv``, ``equity_share``.

    ``sums`` is :func:`value_sums` by ``by`` or by finer groups. ``customers`` counts the
    scored customers; a group without any is left out unless it is in ``groups``, where it is
    kept with zero equity and NaN mean CLV. ``equity_share`` is a fraction of the total (NaN
    when the total is not positive).
    """
    grouped = sums.groupby(by, observed=True, sort=False)[
        ["scored_customers", "clv", "probability_alive"]
    ].sum()
    table = grouped[grouped["scored_customers"] > 0].rename(
        columns={
            "scored_customers": "customers",
            "clv": "equity",
            "probability_alive": "expected_alive",
        }
    )
    if groups is not None:
        table = table.reindex(_with_groups(table.index, groups), fill_value=0)
    table = table.astype({"customers": "int64"})
    table["mean_clv"] = table["equity"] / table["customers"].where(table["customers"] > 0)
    total = float(sums["clv"].sum())
    table["equity_share"] = table["equity"] / total if total > 0 else np.nan
    return table.sort_values("equity", ascending=False).reset_index()


def acquisition_quarter(acquired_at: pd.Series) -> pd.Series:
    """Acquisition cohort label, e.g. ``"2024 Q1"`` (ordered: strings sort chronologically)."""
    stamps = pd.to_datetime(acquired_at)
    return stamps.dt.year.astype(str) + " Q" + stamps.dt.quarter.astype(str)


def acquisition_economics(
    sums: pd.DataFrame,
    by: str,
    *,
    with_values: bool,
    payback: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Acquisition cost, lifetime value and payback by channel or cohort.

    Parameters
    ----------
    sums : DataFrame
        :func:`value_sums` by ``by`` or by finer groups.
    by : str
        Grouping column (``acquisition_channel`` or ``acquisition_quarter``).
    with_values : bool
        Whether a lifetime-value fit is stored (adds its columns).
    payback : DataFrame, optional
        :func:`payback_months` by the same groups (column ``group``), to add its month
        (``payback_month``, NaN = not yet) and the month in words (``payback``).

    Returns
    -------
    DataFrame
        Per group, in the order of the groups: ``customers`` (acquired up to the period's end),
        ``mean_cac``, ``won_in_period``, ``acquisition_spend_in_period``, ``paid_back_share``
        (share whose gross margin − service cost to date covers their acquisition cost), and
        with a fit: ``scored_customers`` (NaN for a group without any), ``mean_ltv`` and
        ``ltv_to_cac`` (mean LTV / mean CAC over the scored customers; NaN when their CAC is
        zero), and ``payback_month`` / ``payback`` (with ``payback``).
    """
    grouped = sums.groupby(by, observed=True)[list(VALUE_SUMS)].sum()
    customers = grouped["customers"]
    table = pd.DataFrame(
        {
            "customers": customers.astype("int64"),
            "mean_cac": grouped["acquisition_cost"] / customers,
            "won_in_period": grouped["won_in_period"].astype("int64"),
            "acquisition_spend_in_period": grouped["acquisition_spend_in_period"],
            "paid_back_share": grouped["paid_back"] / customers,
        }
    )
    if with_values:
        scored = grouped["scored_customers"].where(grouped["scored_customers"] > 0)
        table["scored_customers"] = scored if scored.isna().any() else scored.astype("int64")
        table["mean_ltv"] = grouped["ltv"] / scored
        scored_cac = grouped["scored_acquisition_cost"] / scored
        table["ltv_to_cac"] = table["mean_ltv"] / scored_cac.where(scored_cac > 0)
    if payback is not None:
        months = payback.set_index("group")[["payback_month", "months_observed"]]
        table = table.join(months)
        table["payback"] = [
            NO_CURVE if pd.isna(seen) else describe_payback(month, int(seen))
            for month, seen in zip(table["payback_month"], table["months_observed"], strict=True)
        ]
        table = table.drop(columns="months_observed")
    return table.rename_axis(by).reset_index()


# --------------------------------------------------------------------------------------
# Payback curves
# --------------------------------------------------------------------------------------


def month_index(day: date | pd.Timestamp) -> int:
    """Months since year 0: ``year * 12 + month - 1`` (the SQL helper's convention)."""
    stamp = pd.Timestamp(day)
    return stamp.year * 12 + stamp.month - 1


def last_complete_month(as_of: date) -> int:
    """:func:`month_index` of the last calendar month fully observed by ``as_of``."""
    stamp = pd.Timestamp(as_of)
    return month_index(stamp) if stamp.is_month_end else month_index(stamp) - 1


def month_label(index: int) -> str:
    """``"2024 Q1"``-style quarter label of a :func:`month_index`."""
    year, month0 = divmod(int(index), 12)
    return f"{year} Q{month0 // 3 + 1}"


def payback_curves(
    facts: pd.DataFrame,
    cohorts: pd.DataFrame,
    *,
    by: str,
    as_of: date,
    min_customers: int = MIN_CURVE_CUSTOMERS,
) -> pd.DataFrame:
    """Cumulative net margin per customer by months since acquisition, against CAC.

    Right-censoring: a customer acquired in a given month has lived through only the calendar
    months up to ``as_of``. So each month's net margin (gross margin − service cost) is
    averaged over the customers who have lived through that whole month, and the months are
    then added up (a life-table average): month *m* of the curve is what a typical customer of
    the group has earned net by the end of their *m*-th month since acquisition. Recent cohorts
    contribute to the early months only.

    Parameters
    ----------
    facts : DataFrame
        :func:`dashboard.storage.value_queries.payback_facts`: ``acquisition_channel``,
        ``acquisition_month`` (:func:`month_index`), ``months_since`` (0 = the month of
        acquisition), ``gross_margin`` and ``service_cost`` summed over the cohort's customers.
    cohorts : DataFrame
        :func:`dashboard.storage.value_queries.acquisition_cohorts`: ``acquisition_channel``,
        ``acquisition_month``, ``customers``, ``acquisition_cost`` (sum).
    by : {"channel", "cohort"}
        Group by acquisition channel or by acquisition quarter.
    as_of : date
        Last day observed (the period's end); a partly observed last month is left out.
    min_customers : int
        A curve stops at the first month fewer customers than this have lived through.

    Returns
    -------
    DataFrame
        ``group``, ``months_since``, ``customers`` (who have lived through that month),
        ``cumulative_net_margin`` (per customer), ``acquisition_cost`` (mean CAC of the
        group's customers, constant along the curve) and ``net_position``
        (= cumulative_net_margin − acquisition_cost; break-even at 0). Currency units.
    """
    columns = [
        "group",
        "months_since",
        "customers",
        "cumulative_net_margin",
        "acquisition_cost",
        "net_position",
    ]
    if by not in ("channel", "cohort"):
        raise ValueError(f"by must be 'channel' or 'cohort', got {by!r}")
    last_month = last_complete_month(as_of)
    cohorts = cohorts[cohorts["acquisition_month"] <= last_month].reset_index(drop=True)
    if cohorts.empty:
        return pd.DataFrame(columns=columns)
    key = ["acquisition_channel", "acquisition_month"]
    months_observed = (last_month - cohorts["acquisition_month"] + 1).to_numpy()
    horizon = int(months_observed.max())
    position = pd.Series(cohorts.index, index=pd.MultiIndex.from_frame(cohorts[key]))

    # Dense (cohort x month) net margin; months a cohort has not fully lived through are masked.
    net = np.zeros((len(cohorts), horizon))
    facts = facts[facts["months_since"] < horizon]
    rows = position.reindex(pd.MultiIndex.from_frame(facts[key])).to_numpy()
    known = ~pd.isna(rows)
    np.add.at(
        net,
        (rows[known].astype(np.int64), facts["months_since"].to_numpy()[known].astype(np.int64)),
        (_money(facts["gross_margin"]) - _money(facts["service_cost"])).to_numpy()[known],
    )
    observed = np.arange(horizon)[None, :] < months_observed[:, None]
    sizes = cohorts["customers"].to_numpy(dtype=np.float64)
    costs = cohorts["acquisition_cost"].to_numpy(dtype=np.float64)

    if by == "channel":
        labels = cohorts["acquisition_channel"].astype(str)
    else:
        labels = cohorts["acquisition_month"].map(month_label)
    frames = []
    for group, members in cohorts.groupby(labels, sort=True).groups.items():
        idx = np.asarray(members)
        mask = observed[idx]
        customers = (sizes[idx, None] * mask).sum(axis=0)
        enough = customers >= max(min_customers, 1)
        # Stop at the first month with too few customers (later months would be noisier still).
        stop = horizon if enough.all() else int(np.argmin(enough))
        if stop == 0:
            continue
        monthly_net = (net[idx] * mask).sum(axis=0)[:stop] / customers[:stop]
        cumulative = np.cumsum(monthly_net)
        mean_cac = costs[idx].sum() / sizes[idx].sum()
        frames.append(
            pd.DataFrame(
                {
                    "group": group,
                    "months_since": np.arange(stop),
                    "customers": customers[:stop].astype(np.int64),
                    "cumulative_net_margin": cumulative,
                    "acquisition_cost": mean_cac,
                    "net_position": cumulative - mean_cac,
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def payback_months(curves: pd.DataFrame) -> pd.DataFrame:
    """Break-even month of each curve of :func:`payback_curves`.

    Returns
    -------
    DataFrame
        ``group``, ``payback_month`` (first month with ``net_position >= 0``; NaN = not yet
        within the months observed), ``months_observed`` (length of the curve),
        ``customers`` (at month 0) and ``acquisition_cost`` (mean CAC at month 0).
    """
    rows = []
    for group, curve in curves.groupby("group", sort=False):
        curve = curve.sort_values("months_since")
        even = curve.loc[curve["net_position"] >= 0, "months_since"]
        rows.append(
            {
                "group": group,
                "payback_month": float(even.iloc[0]) if len(even) else np.nan,
                "months_observed": int(len(curve)),
                "customers": int(curve["customers"].iloc[0]),
                "acquisition_cost": float(curve["acquisition_cost"].iloc[0]),
            }
        )
    return pd.DataFrame(
        rows, columns=["group", "payback_month", "months_observed", "customers", "acquisition_cost"]
    )


def describe_payback(month: float | None, months_observed: int | None = None) -> str:
    """A payback month in words: "month 7", or "not yet (12 months seen)"."""
    if month is None or pd.isna(month):
        return "not yet" if months_observed is None else f"not yet ({months_observed} months seen)"
    return f"month {int(month)}"


# --------------------------------------------------------------------------------------
# Keep versus win
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeepVersusWin:
    """What an existing customer is worth keeping against what a new one is worth winning.

    The rule (docs/customer-value.md): it is worth spending up to an active customer's
    expected CLV to keep them (the margin lost if they leave now), and up to a new
    customer's expected LTV (margin earned since acquisition + CLV) to win one, of which
    the acquisition cost is already spent. Money in currency units.

    Attributes
    ----------
    active_customers, keep_value :
        Active customers (an order in the 365 days to the fit's data end) and their mean CLV.
    new_customers, new_customer_ltv, new_customer_cac :
        Customers acquired in the period (and scored), their mean LTV and mean CAC.
    """

    active_customers: int
    keep_value: float | None
    new_customers: int
    new_customer_ltv: float | None
    new_customer_cac: float | None

    @property
    def new_customer_net(self) -> float | None:
        """Net value of winning a new customer: LTV − CAC."""
        if self.new_customer_ltv is None or self.new_customer_cac is None:
            return None
        return self.new_customer_ltv - self.new_customer_cac

    @property
    def keep_to_win_ratio(self) -> float | None:
        """How many new customers (net of CAC) one kept active customer is worth.

        None when either side is undefined or winning a new customer does not pay back.
        """
        net = self.new_customer_net
        if self.keep_value is None or net is None or net <= 0:
            return None
        return self.keep_value / net


def keep_versus_win(sums: pd.DataFrame) -> KeepVersusWin:
    """Compare keeping an active customer with winning a new one (see :class:`KeepVersusWin`).

    ``sums`` is :func:`value_sums` (any grouping) of the customers in scope; new customers
    are the scored ones acquired in the period.
    """
    active = int(sums["active_customers"].sum())
    new = int(sums["new_customers"].sum())
    return KeepVersusWin(
        active_customers=active,
        keep_value=float(sums["active_clv"].sum()) / active if active else None,
        new_customers=new,
        new_customer_ltv=float(sums["new_ltv"].sum()) / new if new else None,
        new_customer_cac=float(sums["new_acquisition_cost"].sum()) / new if new else None,
    )


# --------------------------------------------------------------------------------------
# Segments
# --------------------------------------------------------------------------------------


def attach_segments(frame: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """Add ``segment`` and ``segment_name`` (latest saved segment run) to a per-customer frame.

    Customers without an assignment get the name "Not segmented". With no saved run
    (``segments`` empty) the frame is returned unchanged.
    """
    if segments.empty:
        return frame
    merged = frame.merge(
        segments[["customer_id", "segment", "segment_name"]], on="customer_id", how="left"
    )
    merged["segment_name"] = merged["segment_name"].fillna("Not segmented")
    return merged

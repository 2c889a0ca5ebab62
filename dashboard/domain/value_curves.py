"""Value curves (strategy canvas) and win/loss: pure functions over the query frames.

Gap = importance − performance (docs/metrics.md): positive means the group expects more than it
gets (under-served), negative means it gets more than it values (over-served: cost without
value). Win rate = won / (won + lost); open opportunities are excluded.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dashboard.domain.metrics import ratio

#: A gap of at least this many points on the 1-10 scale counts as under- or over-serving.
GAP_THRESHOLD = 1.0

#: How customers can be grouped (key: the grouping's name in the queries; value: its label).
#: Segments are the latest saved segmentation's.
GROUPINGS = {"segment": "Segment", "region": "Region", "acquisition_channel": "Channel"}


def value_curves(ratings: pd.DataFrame) -> pd.DataFrame:
    """Tidy value curves: one row per group and attribute with ``gap`` and its reading.

    Adds ``gap`` (importance − performance, points on the 1-10 scale) and ``status``:
    "under-served" (gap ≥ +threshold), "over-served" (gap ≤ −threshold) or "in line".
    """
    curves = ratings.copy()
    curves["gap"] = curves["importance"] - curves["performance"]
    curves["status"] = "in line"
    curves.loc[curves["gap"] >= GAP_THRESHOLD, "status"] = "under-served"
    curves.loc[curves["gap"] <= -GAP_THRESHOLD, "status"] = "over-served"
    return curves


def ranked_gaps(curves: pd.DataFrame) -> pd.DataFrame:
    """Under- and over-served (group, attribute) pairs ranked by the value of those affected.

    ``value_at_stake`` = gross margin (last 12 months) of the group's raters × share of the
    group's raters who rated the attribute; pairs "in line" are left out. Sorted by value at
    stake, then by the size of the gap.
    """
    gaps = curves[curves["status"] != "in line"].copy()
    if gaps.empty:
        return gaps.assign(value_at_stake=pd.Series(dtype="float64"))
    share = gaps["customers"] / gaps["group_raters"].where(gaps["group_raters"] > 0)
    gaps["value_at_stake"] = gaps["group_margin_12m"] * share.fillna(0)
    gaps["abs_gap"] = gaps["gap"].abs()
    gaps = gaps.sort_values(["value_at_stake", "abs_gap"], ascending=False)
    return gaps.drop(columns="abs_gap").reset_index(drop=True)


@dataclass(frozen=True)
class WinLossSummary:
    """Win/loss totals over a period: counts, win rate (0-1) and amounts (currency units)."""

    won: int
    lost: int
    open: int
    win_rate: float | None
    won_amount: float
    lost_amount: float


def win_loss_summary(win_loss: pd.DataFrame) -> WinLossSummary:
    """Totals and win rate of the period (open opportunities excluded from the rate)."""
    counts = win_loss.groupby("outcome")["opportunities"].sum()
    amounts = win_loss.groupby("outcome")["amount"].sum()
    won, lost = int(counts.get("won", 0)), int(counts.get("lost", 0))
    return WinLossSummary(
        won=won,
        lost=lost,
        open=int(counts.get("open", 0)),
        win_rate=ratio(won, won + lost),
        won_amount=float(amounts.get("won", 0.0)),
        lost_amount=float(amounts.get("lost", 0.0)),
    )


def win_rate_by(win_loss: pd.DataFrame, by: str | list[str]) -> pd.DataFrame:
    """Win rate (0-1) per ``by`` (e.g. "month", "group"), with won, lost and decided counts.

    Rows with no decided opportunity have a missing win rate, not zero.
    """
    keys = [by] if isinstance(by, str) else list(by)
    decided = win_loss[win_loss["outcome"].isin(["won", "lost"])]
    table = (
        decided.pivot_table(
            index=keys, columns="outcome", values="opportunities", aggfunc="sum", fill_value=0
        )
        .reindex(columns=["won", "lost"], fill_value=0)
        .reset_index()
    )
    table.columns.name = None
    table["decided"] = table["won"] + table["lost"]
    table["win_rate"] = table["won"] / table["decided"].where(table["decided"] > 0)
    return table


def loss_reasons(win_loss: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Lost opportunities per loss reason (and ``by``), with each reason's share of losses."""
    lost = win_loss[win_loss["outcome"] == "lost"].copy()
    lost["loss_reason"] = lost["loss_reason"].fillna("not recorded")
    keys = ([by] if by else []) + ["loss_reason"]
    table = lost.groupby(keys, as_index=False)[["opportunities", "amount"]].sum()
    totals = (
        table.groupby(by)["opportunities"].transform("sum") if by else table["opportunities"].sum()
    )
    table["share"] = table["opportunities"] / totals
    return table.sort_values(
        keys[:-1] + ["opportunities"], ascending=[True] * (len(keys) - 1) + [False]
    ).reset_index(drop=True)

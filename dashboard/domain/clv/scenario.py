"""What-if on customer equity: change dropout, purchase rate, spend, margin and acquisition.

Pure arithmetic on what a stored fit gives for a scope (:class:`EquityBase`), so a page can
recompute a scenario in microseconds. The levers act on the *future* of the customers in
scope, one after the other in this order (each waterfall step is what its lever adds to
the ones before it):

1. **dropout** ``x (1 + dropout_change)``: each alive customer leaves that much faster from
   now on. Needs the model: the fit stores each customer's discounted revenue at the
   changes of :data:`DROPOUT_CHANGES`, so only those values are offered;
2. **purchase rate** ``x (1 + purchase_rate_change)``: alive customers buy that much more
   often, with the same chance of leaving over time (future purchases scale by it);
3. **spend per order** ``x (1 + spend_change)``;
4. **margin** ``+ margin_change`` (a fraction: 0.02 = two percentage points) on each
   customer's margin share, applied to their discounted expected revenue;
5. **acquisition**: per channel, ``extra_customers`` won at ``cac`` each; a new customer is
   worth the channel's value per customer (:attr:`EquityBase.new_customer_value`) scaled
   by levers 1-4 (they change the future of every customer alike), net of its cost.

Intervals: the relative spread of today's equity draws (the parameters' uncertainty) is
carried to the scenario, ``scenario_d = scenario * draw_d / today``; the levers themselves
are taken as given, not uncertain.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "DROPOUT_CHANGES",
    "ChannelAcquisition",
    "EquityBase",
    "Scenario",
    "ScenarioResult",
    "dropout_column",
    "run_scenario",
]

#: Dropout changes a fit stores values for (fractions; 0 is the fit itself).
DROPOUT_CHANGES: tuple[float, ...] = (-0.5, -0.25, -0.1, 0.0, 0.1, 0.25, 0.5)


def dropout_column(change: float) -> str:
    """Stored discounted-revenue column at a dropout change, e.g. ``revenue_dropout_m25``."""
    if change == 0:
        return "discounted_revenue"
    sign = "m" if change < 0 else "p"
    return f"revenue_dropout_{sign}{round(abs(change) * 100):d}"


@dataclass(frozen=True)
class ChannelAcquisition:
    """Extra customers won in a channel and what each costs (currency)."""

    channel: str
    extra_customers: float = 0.0
    cac: float = 0.0


@dataclass(frozen=True)
class Scenario:
    """The levers (fractions; zero everywhere is today)."""

    dropout_change: float = 0.0
    purchase_rate_change: float = 0.0
    spend_change: float = 0.0
    margin_change: float = 0.0
    acquisition: tuple[ChannelAcquisition, ...] = ()

    def __post_init__(self) -> None:
        if self.dropout_change not in DROPOUT_CHANGES:
            allowed = ", ".join(f"{100 * c:+.0f}%" for c in DROPOUT_CHANGES)
            raise ValueError(
                f"dropout change {100 * self.dropout_change:+g}% is not stored: choose {allowed}"
            )
        for name in ("purchase_rate_change", "spend_change"):
            if not (np.isfinite(getattr(self, name)) and getattr(self, name) > -1):
                raise ValueError(f"{name} must be above -100%, got {getattr(self, name)}")
        if not (np.isfinite(self.margin_change) and -1 <= self.margin_change <= 1):
            raise ValueError(f"margin_change is a fraction in [-1, 1], got {self.margin_change}")
        for item in self.acquisition:
            if item.extra_customers < 0 or item.cac < 0:
                raise ValueError(
                    f"extra customers and CAC of {item.channel} must be >= 0, got "
                    f"{item.extra_customers} and {item.cac}"
                )

    @property
    def is_today(self) -> bool:
        return (
            self.dropout_change == 0
            and self.purchase_rate_change == 0
            and self.spend_change == 0
            and self.margin_change == 0
            and not any(item.extra_customers for item in self.acquisition)
        )


@dataclass(frozen=True)
class EquityBase:
    """What a stored fit says about a scope, for scenarios (money in currency units).

    Attributes
    ----------
    equity : float
        Customer equity today (sum of CLV in scope).
    equity_draws : ndarray
        The scope's equity at every parameter draw.
    margin_value_at_dropout : mapping
        Sum of margin share x discounted revenue of the customers in scope, by dropout change
        of :data:`DROPOUT_CHANGES` (at 0 this is ``equity``).
    revenue_at_dropout : mapping
        Sum of discounted expected revenue, by dropout change.
    margin_to_date : float
        Gross margin the scored customers in scope have earned so far (LTV's first part).
    acquisition_cost : float
        What the scored customers in scope cost to win (sum of their CAC).
    new_customer_value : mapping
        Value of one new customer by channel (mean LTV of the channel's customers).
    """

    equity: float
    equity_draws: NDArray[np.float64] = field(hash=False)
    margin_value_at_dropout: Mapping[float, float] = field(hash=False)
    revenue_at_dropout: Mapping[float, float] = field(hash=False)
    margin_to_date: float = 0.0
    acquisition_cost: float = 0.0
    new_customer_value: Mapping[str, float] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class ScenarioResult:
    """Today's and the scenario's equity and LTV/CAC, with intervals, and the waterfall.

    ``steps``: (label, amount) from today's equity to the scenario's, one per lever (the
    first is today's equity, the others are changes). LTV/CAC figures are None when the
    customers cost nothing to win.
    """

    level: float
    equity_today: float
    equity_today_low: float
    equity_today_high: float
    equity: float
    equity_low: float
    equity_high: float
    ltv_to_cac_today: float | None
    ltv_to_cac_today_low: float | None
    ltv_to_cac_today_high: float | None
    ltv_to_cac: float | None
    ltv_to_cac_low: float | None
    ltv_to_cac_high: float | None
    new_customers: float
    acquisition_spend: float
    steps: tuple[tuple[str, float], ...]

    def as_rows(self) -> list[dict[str, object]]:
        """The result as rows (figure, today, scenario, ...) for a table or a CSV export."""
        rows = [
            ("Customer equity", self.equity_today, self.equity_today_low, self.equity_today_high,
             self.equity, self.equity_low, self.equity_high),
            ("LTV / CAC", self.ltv_to_cac_today, self.ltv_to_cac_today_low,
             self.ltv_to_cac_today_high, self.ltv_to_cac, self.ltv_to_cac_low,
             self.ltv_to_cac_high),
        ]  # fmt: skip
        names = ("figure", "today", "today_low", "today_high", "scenario", "scenario_low",
                 "scenario_high")  # fmt: skip
        return [dict(zip(names, row, strict=True)) for row in rows]


def _quantiles(values: NDArray[np.float64], level: float) -> tuple[float, float]:
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def _ratio(numerator: NDArray[np.float64] | float, cost: float):
    return None if cost <= 0 else numerator / cost


def run_scenario(base: EquityBase, scenario: Scenario, *, level: float = 0.9) -> ScenarioResult:
    """Customer equity and LTV/CAC under ``scenario``, with ``level`` intervals and the waterfall.

    Raises
    ------
    ValueError
        A channel of the scenario has no value per new customer in ``base``.
    """
    today = float(base.equity)
    draws = np.asarray(base.equity_draws, dtype=np.float64)
    relative = draws / today if today != 0 else np.ones_like(draws)
    rate = 1.0 + scenario.purchase_rate_change
    spend = 1.0 + scenario.spend_change
    after_dropout = float(base.margin_value_at_dropout[scenario.dropout_change])
    after_rate = after_dropout * rate
    after_spend = after_rate * spend
    revenue = float(base.revenue_at_dropout[scenario.dropout_change])
    after_margin = (after_dropout + scenario.margin_change * revenue) * rate * spend
    scale = after_margin / today if today != 0 else 1.0

    new_customers = 0.0
    spend_on_acquisition = 0.0
    new_value = 0.0
    for item in scenario.acquisition:
        if not item.extra_customers:
            continue
        if item.channel not in base.new_customer_value:
            raise ValueError(f"no value per customer for channel {item.channel!r}")
        new_customers += item.extra_customers
        spend_on_acquisition += item.extra_customers * item.cac
        new_value += item.extra_customers * base.new_customer_value[item.channel] * scale
    result = after_margin + new_value - spend_on_acquisition
    scenario_draws = (after_margin + new_value) * relative - spend_on_acquisition

    ltv_today = _ratio(base.margin_to_date + draws, base.acquisition_cost)
    ltv_point_today = _ratio(base.margin_to_date + today, base.acquisition_cost)
    cost = base.acquisition_cost + spend_on_acquisition
    ltv_draws = _ratio(base.margin_to_date + (after_margin + new_value) * relative, cost)
    ltv_point = _ratio(base.margin_to_date + after_margin + new_value, cost)
    today_low, today_high = _quantiles(draws, level)
    low, high = _quantiles(scenario_draws, level)
    ltv_today_bounds = (None, None) if ltv_today is None else _quantiles(ltv_today, level)
    ltv_bounds = (None, None) if ltv_draws is None else _quantiles(ltv_draws, level)
    steps = (
        ("Today", today),
        (f"Dropout {100 * scenario.dropout_change:+.0f}%", after_dropout - today),
        (f"Purchase rate {100 * scenario.purchase_rate_change:+.0f}%", after_rate - after_dropout),
        (f"Spend per order {100 * scenario.spend_change:+.0f}%", after_spend - after_rate),
        (f"Margin {100 * scenario.margin_change:+.1f} pp", after_margin - after_spend),
        (f"{new_customers:,.0f} new customers, net", new_value - spend_on_acquisition),
    )
    return ScenarioResult(
        level=level,
        equity_today=today,
        equity_today_low=today_low,
        equity_today_high=today_high,
        equity=result,
        equity_low=low,
        equity_high=high,
        ltv_to_cac_today=None if ltv_point_today is None else float(ltv_point_today),
        ltv_to_cac_today_low=ltv_today_bounds[0],
        ltv_to_cac_today_high=ltv_today_bounds[1],
        ltv_to_cac=None if ltv_point is None else float(ltv_point),
        ltv_to_cac_low=ltv_bounds[0],
        ltv_to_cac_high=ltv_bounds[1],
        new_customers=new_customers,
        acquisition_spend=spend_on_acquisition,
        steps=steps,
    )

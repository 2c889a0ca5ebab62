"""Customer lifetime value: the public API of the lifetime-value engine.

A pure library on numpy/scipy in the shape of ``lifetimes`` and PyMC-Marketing's ``clv``:

>>> summary = rfm_summary(orders, "customer_id", "ordered_at", "revenue",
...                       observation_period_end="2024-12-31", time_unit="W")
>>> bgnbd = BetaGeoModel().fit(summary["frequency"], summary["recency"], summary["T"])
>>> gamma_gamma = GammaGammaModel().fit(summary["frequency"], summary["monetary_value"])
>>> clv = customer_lifetime_value(bgnbd, gamma_gamma, summary["frequency"],
...                               summary["recency"], summary["T"],
...                               summary["monetary_value"], margin=0.3)

Definitions, units and the CDNOW reproduction are in ``docs/clv.md``.
"""

from __future__ import annotations

from dashboard.domain.clv.data import (
    DAYS_PER_MONTH,
    TIME_UNIT_DAYS,
    calibration_holdout_split,
    rfm_from_statistics,
    rfm_summary,
)
from dashboard.domain.clv.holdout import HoldoutComparison, PurchaseDayCounts, holdout_comparison
from dashboard.domain.clv.intervals import Interval, ParameterDraws, interval, parameter_draws
from dashboard.domain.clv.model_choice import (
    BGNBD,
    PARETO_NBD,
    PurchaseModelChoice,
    choose_purchase_model,
)
from dashboard.domain.clv.models import (
    BetaGeoModel,
    GammaGammaModel,
    ModelConvergenceError,
    ModelIdentificationError,
    NotFittedError,
    ParetoNBDModel,
)
from dashboard.domain.clv.value import (
    WEEKS_PER_MONTH,
    customer_lifetime_value,
    monthly_discount_rate,
)

__all__ = [
    "BGNBD",
    "PARETO_NBD",
    "DAYS_PER_MONTH",
    "TIME_UNIT_DAYS",
    "WEEKS_PER_MONTH",
    "BetaGeoModel",
    "GammaGammaModel",
    "HoldoutComparison",
    "Interval",
    "ModelConvergenceError",
    "ModelIdentificationError",
    "NotFittedError",
    "ParameterDraws",
    "ParetoNBDModel",
    "PurchaseDayCounts",
    "PurchaseModelChoice",
    "calibration_holdout_split",
    "choose_purchase_model",
    "customer_lifetime_value",
    "holdout_comparison",
    "interval",
    "monthly_discount_rate",
    "parameter_draws",
    "rfm_from_statistics",
    "rfm_summary",
]

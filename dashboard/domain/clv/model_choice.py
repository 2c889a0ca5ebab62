"""Choose the purchase model (BG/NBD or Pareto/NBD) by how well each forecasts a holdout.

Both models are fitted on the calibration columns of a :func:`calibration_holdout_split`
summary and compared on the holdout period: total repeat purchases, the per-customer mean
absolute error of the conditional expectations, and (with transactions) the week-by-week
cumulative tracking curve. The rule, also in ``docs/decisions.md``:

1. the model with the lower per-customer holdout MAE wins, unless the two MAEs are within
   ``tie_tolerance`` (1 %) of each other;
2. then the one with the higher calibration log-likelihood (both have four parameters, so
   this is also the AIC/BIC choice);
3. an exact tie (or a model that cannot be fitted) goes to BG/NBD, the simpler to explain
   and the one the rest of the engine was validated on.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dashboard.domain.clv.holdout import (
    HoldoutComparison,
    PurchaseDayCounts,
    holdout_comparison,
)
from dashboard.domain.clv.models import (
    BetaGeoModel,
    ModelIdentificationError,
    ParetoNBDModel,
)

__all__ = ["BGNBD", "PARETO_NBD", "PurchaseModelChoice", "choose_purchase_model"]

BGNBD = "bgnbd"
PARETO_NBD = "pareto_nbd"
_MODELS = {BGNBD: BetaGeoModel, PARETO_NBD: ParetoNBDModel}
_LABELS = {BGNBD: "BG/NBD", PARETO_NBD: "Pareto/NBD"}


@dataclass(frozen=True)
class PurchaseModelChoice:
    """The chosen purchase model, why, and the evidence.

    Attributes
    ----------
    chosen : str
        ``"bgnbd"`` or ``"pareto_nbd"``.
    reason : str
        The rule that decided, in a sentence with the figures.
    models : dict
        The fitted models by name (a model that could not be fitted is absent).
    comparisons : dict
        :class:`HoldoutComparison` by name.
    scores : DataFrame
        One row per fitted model (index ``model``): ``log_likelihood`` (calibration),
        ``holdout_actual``, ``holdout_predicted`` (total repeat purchases),
        ``holdout_total_error_pct``, ``holdout_mae`` (per customer, purchases),
        ``tracking_holdout_mape`` (percent, nan without transactions).
    tracking : DataFrame or None
        Cumulative repeat purchases per period: ``period_index``, ``period_end``,
        ``period``, ``series`` ("actual" or a model name), ``cumulative_repeat_purchases``.
    errors : dict
        Why a model could not be fitted, by name.
    """

    chosen: str
    reason: str
    models: dict[str, Any]
    comparisons: dict[str, HoldoutComparison]
    scores: pd.DataFrame
    tracking: pd.DataFrame | None
    errors: dict[str, str]


def choose_purchase_model(
    summary: pd.DataFrame,
    transactions: pd.DataFrame | None = None,
    *,
    customer_id_col: Hashable | None = None,
    datetime_col: Hashable | None = None,
    calibration_end: object | None = None,
    holdout_end: object | None = None,
    time_unit: str = "W",
    tie_tolerance: float = 0.01,
    penalizer: float = 0.0,
    day_counts: PurchaseDayCounts | None = None,
) -> PurchaseModelChoice:
    """Fit BG/NBD and Pareto/NBD on the calibration period and pick one by the holdout.

    Parameters
    ----------
    summary : DataFrame
        Output of :func:`calibration_holdout_split` (``frequency``, ``recency``, ``T``,
        ``frequency_holdout``, ``duration_holdout``).
    transactions, customer_id_col, datetime_col, calibration_end, holdout_end, time_unit, day_counts
        As for :func:`holdout_comparison`; with transactions (or day counts) the tracking
        curves are added.
    tie_tolerance : float, default 0.01
        Relative MAE difference under which the MAEs count as equal.
    penalizer : float, default 0
        Passed to both models.

    Returns
    -------
    PurchaseModelChoice

    Raises
    ------
    ModelIdentificationError
        Neither model can be fitted on the calibration data.
    """
    if not 0 <= tie_tolerance < 1:
        raise ValueError(f"tie_tolerance must be in [0, 1), got {tie_tolerance}")
    args = (summary["frequency"], summary["recency"], summary["T"])
    actual = summary["frequency_holdout"].to_numpy(dtype=np.float64)
    duration = summary["duration_holdout"].to_numpy(dtype=np.float64)
    models: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, model_class in _MODELS.items():
        try:
            models[name] = model_class(penalizer=penalizer).fit(*args)
        except ModelIdentificationError as exc:
            errors[name] = str(exc)
    if not models:
        raise ModelIdentificationError(
            "neither BG/NBD nor Pareto/NBD can be fitted: " + "; ".join(errors.values())
        )

    comparisons = {}
    rows = []
    for name, model in models.items():
        comparison = holdout_comparison(
            model,
            summary,
            transactions,
            customer_id_col=customer_id_col,
            datetime_col=datetime_col,
            calibration_end=calibration_end,
            holdout_end=holdout_end,
            time_unit=time_unit,
            day_counts=day_counts,
        )
        comparisons[name] = comparison
        predicted = model.expected_purchases(duration, *args)
        rows.append(
            {
                "model": name,
                "log_likelihood": model.log_likelihood_,
                "holdout_actual": float(actual.sum()),
                "holdout_predicted": float(predicted.sum()),
                "holdout_total_error_pct": comparison.holdout_total_error_pct,
                "holdout_mae": float(np.mean(np.abs(predicted - actual))),
                "tracking_holdout_mape": (
                    np.nan
                    if comparison.tracking_holdout_mape is None
                    else comparison.tracking_holdout_mape
                ),
            }
        )
    scores = pd.DataFrame(rows).set_index("model")
    chosen, reason = _apply_rule(scores, errors, tie_tolerance)
    return PurchaseModelChoice(
        chosen=chosen,
        reason=reason,
        models=models,
        comparisons=comparisons,
        scores=scores,
        tracking=_tracking(comparisons),
        errors=errors,
    )


def _apply_rule(
    scores: pd.DataFrame, errors: dict[str, str], tie_tolerance: float
) -> tuple[str, str]:
    if len(scores) == 1:
        only = str(scores.index[0])
        other = next(iter(errors))
        return only, f"{_LABELS[only]}: {_LABELS[other]} could not be fitted ({errors[other]})"
    mae_b, mae_p = scores.loc[BGNBD, "holdout_mae"], scores.loc[PARETO_NBD, "holdout_mae"]
    ll_b, ll_p = scores.loc[BGNBD, "log_likelihood"], scores.loc[PARETO_NBD, "log_likelihood"]
    gap = abs(mae_b - mae_p) / max(min(mae_b, mae_p), 1e-300)
    if gap > tie_tolerance:
        chosen = BGNBD if mae_b < mae_p else PARETO_NBD
        other = PARETO_NBD if chosen == BGNBD else BGNBD
        return chosen, (
            f"{_LABELS[chosen]}: lower per-customer holdout error "
            f"({scores.loc[chosen, 'holdout_mae']:.4f} against "
            f"{scores.loc[other, 'holdout_mae']:.4f} purchases, {100 * gap:.1f} % apart)"
        )
    if ll_b != ll_p:
        chosen = BGNBD if ll_b > ll_p else PARETO_NBD
        other = PARETO_NBD if chosen == BGNBD else BGNBD
        return chosen, (
            f"{_LABELS[chosen]}: holdout errors within {100 * tie_tolerance:g} % "
            f"({mae_b:.4f} and {mae_p:.4f}), higher calibration log-likelihood "
            f"({scores.loc[chosen, 'log_likelihood']:,.2f} against "
            f"{scores.loc[other, 'log_likelihood']:,.2f})"
        )
    return BGNBD, "BG/NBD: the two models forecast the holdout equally well"


def _tracking(comparisons: dict[str, HoldoutComparison]) -> pd.DataFrame | None:
    frames = []
    actual_added = False
    for name, comparison in comparisons.items():
        if comparison.tracking is None:
            return None
        tracking = comparison.tracking
        columns = ["period_index", "period_end", "period", "series", "cumulative_repeat_purchases"]
        if not actual_added:
            frames.append(tracking.loc[tracking["series"] == "actual", columns])
            actual_added = True
        predicted = tracking.loc[tracking["series"] == "predicted", columns].copy()
        predicted["series"] = name
        frames.append(predicted)
    return pd.concat(frames, ignore_index=True)

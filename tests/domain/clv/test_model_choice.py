"""choose_purchase_model: the rule on hand-built scores, and the choice on CDNOW."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dashboard.domain.clv import ModelIdentificationError, calibration_holdout_split
from dashboard.domain.clv.model_choice import (
    BGNBD,
    PARETO_NBD,
    _apply_rule,
    choose_purchase_model,
)

CDNOW = Path(__file__).resolve().parents[2] / "data" / "cdnow"


def _scores(mae_b, mae_p, ll_b=-100.0, ll_p=-100.0):
    return pd.DataFrame(
        {"holdout_mae": [mae_b, mae_p], "log_likelihood": [ll_b, ll_p]},
        index=pd.Index([BGNBD, PARETO_NBD], name="model"),
    )


def test_rule_lower_mae_wins_beyond_one_percent():
    assert _apply_rule(_scores(0.50, 0.52), {}, 0.01)[0] == BGNBD
    chosen, reason = _apply_rule(_scores(0.52, 0.50, ll_b=-1.0, ll_p=-9.0), {}, 0.01)
    assert chosen == PARETO_NBD and "lower per-customer holdout error" in reason


def test_rule_within_one_percent_goes_to_the_higher_log_likelihood():
    # 0.500 against 0.504: 0.8 % apart, a tie on MAE.
    chosen, reason = _apply_rule(_scores(0.500, 0.504, ll_b=-120.0, ll_p=-110.0), {}, 0.01)
    assert chosen == PARETO_NBD and "log-likelihood" in reason
    assert _apply_rule(_scores(0.504, 0.500, ll_b=-110.0, ll_p=-120.0), {}, 0.01)[0] == BGNBD
    assert _apply_rule(_scores(0.5, 0.5), {}, 0.01)[0] == BGNBD  # exact tie


@pytest.fixture(scope="module")
def cdnow_choice():
    transactions = pd.read_csv(
        CDNOW / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "dollars"],
        dtype={"date": str},
    )
    transactions["date"] = pd.to_datetime(transactions["date"], format="%Y%m%d")
    ends = {"calibration_end": "1997-09-30", "holdout_end": "1998-06-30"}
    summary = calibration_holdout_split(transactions, "customer_id", "date", **ends)
    return summary, choose_purchase_model(
        summary, transactions, customer_id_col="customer_id", datetime_col="date", **ends
    )


def test_cdnow_scores_are_the_models_own(cdnow_choice):
    summary, choice = cdnow_choice
    scores = choice.scores
    assert set(scores.index) == {BGNBD, PARETO_NBD}
    assert (scores["holdout_actual"] == 1882).all()
    for name, model in choice.models.items():
        predicted = model.expected_purchases(
            summary["duration_holdout"], summary["frequency"], summary["recency"], summary["T"]
        )
        mae = np.mean(np.abs(predicted - summary["frequency_holdout"]))
        assert scores.loc[name, "holdout_mae"] == pytest.approx(mae)
        assert scores.loc[name, "holdout_predicted"] == pytest.approx(predicted.sum())
    assert scores.loc[BGNBD, "log_likelihood"] == pytest.approx(-9582.43, abs=0.01)
    assert scores.loc[PARETO_NBD, "log_likelihood"] == pytest.approx(-9594.98, abs=0.01)


def test_cdnow_choice_follows_the_rule(cdnow_choice):
    _, choice = cdnow_choice
    expected, _ = _apply_rule(choice.scores, {}, 0.01)
    assert choice.chosen == expected
    assert choice.reason.startswith({BGNBD: "BG/NBD", PARETO_NBD: "Pareto/NBD"}[choice.chosen])
    tracking = choice.tracking
    assert set(tracking["series"]) == {"actual", BGNBD, PARETO_NBD}
    assert tracking.groupby("series").size().nunique() == 1  # one row per period and series
    actual = tracking[tracking["series"] == "actual"]
    assert actual["cumulative_repeat_purchases"].iloc[-1] == 4339


def test_no_model_can_be_fitted():
    summary = pd.DataFrame(
        {
            "frequency": [0, 0],
            "recency": [0.0, 0.0],
            "T": [3.0, 4.0],
            "frequency_holdout": [1, 0],
            "duration_holdout": [2.0, 2.0],
        }
    )
    with pytest.raises(ModelIdentificationError, match="neither"):
        choose_purchase_model(summary)

"""CDNOW reproduction of the published Pareto/NBD fit (Fader, Hardie & Lee 2005, note 008).

Data: tests/data/cdnow (see SOURCE.md there), 2,357 customers, 39-week calibration ending
1997-09-30. Published: r = 0.553, alpha = 10.578, s = 0.606, beta = 11.669, LL = -9594.98.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dashboard.domain.clv import BetaGeoModel, ParetoNBDModel, rfm_summary

CDNOW = Path(__file__).resolve().parents[2] / "data" / "cdnow"
PUBLISHED = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
PUBLISHED_LL = -9594.98


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    """The calibration summary rebuilt from the transactions (recency and T unrounded)."""
    frame = pd.read_csv(
        CDNOW / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "dollars"],
        dtype={"date": str},
    )
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    return rfm_summary(frame, "customer_id", "date", observation_period_end="1997-09-30")


@pytest.fixture(scope="module")
def pareto(summary: pd.DataFrame) -> ParetoNBDModel:
    return ParetoNBDModel().fit(summary["frequency"], summary["recency"], summary["T"])


def test_reproduces_the_published_fit(pareto):
    for name, published in PUBLISHED.items():
        assert round(pareto.params_[name], 3) == published, name
        assert pareto.params_[name] == pytest.approx(published, abs=6e-4), name
    assert pareto.log_likelihood_ == pytest.approx(PUBLISHED_LL, abs=0.01)
    assert pareto.n_customers_ == 2357
    errors = pareto.standard_errors_
    assert all(np.isfinite(v) and v > 0 for v in errors.values())
    # The dropout parameters are far less certain than the purchase ones (beta +- ~6).
    assert errors["beta"] / pareto.params_["beta"] > 3 * errors["r"] / pareto.params_["r"]


def test_fit_on_the_rounded_published_summary_is_within_rounding():
    published = pd.read_csv(CDNOW / "cdnow_customers_summary.csv", index_col="ID")
    model = ParetoNBDModel().fit(published["frequency"], published["recency"], published["T"])
    for name, value in PUBLISHED.items():
        assert model.params_[name] == pytest.approx(value, abs=2e-3), name
    assert model.log_likelihood_ == pytest.approx(PUBLISHED_LL, abs=0.01)


def test_published_parameters_are_at_the_maximum(summary, pareto):
    at_published = ParetoNBDModel.from_params(PUBLISHED).log_likelihood(
        summary["frequency"], summary["recency"], summary["T"]
    )
    assert pareto.log_likelihood_ >= at_published
    assert pareto.log_likelihood_ - at_published < 1e-3


def test_predictions_for_the_note_s_example_customer(pareto):
    # Customer with x = 2, t_x = 30.43, T = 38.86 (the example in both notes): computed by
    # hand from the fitted parameters with the note's P(alive) and E[X(t)] formulas,
    # the integral done by scipy's quad.
    from scipy import integrate

    r, alpha, s, beta = (pareto.params_[k] for k in ("r", "alpha", "s", "beta"))
    x, t_x, T = 2, 30.43, 38.86
    a = (alpha + T) ** -(r + x) * (beta + T) ** -s
    i, _ = integrate.quad(
        lambda tau: (alpha + tau) ** -(r + x) * (beta + tau) ** -(s + 1), t_x, T, epsrel=1e-13
    )
    alive = a / (a + s * i)
    assert pareto.probability_alive(x, t_x, T) == pytest.approx(alive, rel=1e-9)
    conditional = (
        (r + x)
        * (beta + T)
        / ((alpha + T) * (s - 1))
        * (1 - ((beta + T) / (beta + T + 39)) ** (s - 1))
    )
    assert pareto.expected_purchases(39, x, t_x, T) == pytest.approx(alive * conditional, 1e-9)
    # Close to BG/NBD's published 1.226 for the same customer.
    assert pareto.expected_purchases(39, x, t_x, T) == pytest.approx(1.226, abs=0.25)


def test_pareto_and_bgnbd_tell_a_similar_story(summary, pareto):
    bgnbd = BetaGeoModel().fit(summary["frequency"], summary["recency"], summary["T"])
    args = (summary["frequency"], summary["recency"], summary["T"])
    # Expected repeat purchases in the 39-week holdout, summed over customers.
    pareto_total = pareto.expected_purchases(39.0, *args).sum()
    bgnbd_total = bgnbd.expected_purchases(39.0, *args).sum()
    assert pareto_total == pytest.approx(bgnbd_total, rel=0.05)
    # Pareto/NBD fits CDNOW slightly worse than BG/NBD (-9594.98 against -9582.43).
    assert pareto.log_likelihood_ < bgnbd.log_likelihood_

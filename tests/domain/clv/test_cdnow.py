"""CDNOW reproductions: the published BG/NBD and Gamma-Gamma results on the 1/10 sample.

Data: tests/data/cdnow (see SOURCE.md there). 2,357 customers of the 1997 Q1 cohort,
39-week calibration ending 1997-09-30, 39-week holdout to 1998-06-30.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dashboard.domain.clv import (
    BetaGeoModel,
    GammaGammaModel,
    calibration_holdout_split,
    customer_lifetime_value,
    holdout_comparison,
    rfm_summary,
)

CDNOW = Path(__file__).resolve().parents[2] / "data" / "cdnow"
CALIBRATION_END = "1997-09-30"
HOLDOUT_END = "1998-06-30"

PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_BGNBD_LL = -9582.43
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}
PUBLISHED_GAMMA_GAMMA_LL = -4055.92


@pytest.fixture(scope="module")
def transactions() -> pd.DataFrame:
    frame = pd.read_csv(
        CDNOW / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "dollars"],
        dtype={"date": str},
    )
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    return frame


@pytest.fixture(scope="module")
def published_summary() -> pd.DataFrame:
    return pd.read_csv(CDNOW / "cdnow_customers_summary.csv", index_col="ID")


@pytest.fixture(scope="module")
def published_spend() -> pd.DataFrame:
    return pd.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv", index_col="ID")


@pytest.fixture(scope="module")
def bgnbd(published_summary: pd.DataFrame) -> BetaGeoModel:
    s = published_summary
    return BetaGeoModel().fit(s["frequency"], s["recency"], s["T"])


@pytest.fixture(scope="module")
def gamma_gamma(published_spend: pd.DataFrame) -> GammaGammaModel:
    return GammaGammaModel().fit(published_spend["x"], published_spend["zbar"])


def test_rfm_summary_rebuilds_the_published_summary(transactions, published_summary):
    summary = rfm_summary(
        transactions,
        "customer_id",
        "date",
        observation_period_end=CALIBRATION_END,
        time_unit="W",
    )
    assert len(summary) == 2357
    assert summary.index.equals(published_summary.index.rename("customer_id"))
    assert list(summary.columns) == ["frequency", "recency", "T"]
    np.testing.assert_array_equal(summary["frequency"], published_summary["frequency"])
    np.testing.assert_array_equal(summary["recency"].round(2), published_summary["recency"])
    np.testing.assert_array_equal(summary["T"].round(2), published_summary["T"])


def test_rfm_summary_rebuilds_the_published_mean_spend(transactions, published_spend):
    summary = rfm_summary(
        transactions, "customer_id", "date", "dollars", observation_period_end=CALIBRATION_END
    )
    np.testing.assert_array_equal(summary["frequency"], published_spend["x"])
    # The file rounds half up (22.345 -> 22.35); compare to the cent.
    assert np.max(np.abs(summary["monetary_value"] - published_spend["zbar"])) <= 0.005 + 1e-9
    assert (summary.loc[summary["frequency"] == 0, "monetary_value"] == 0).all()


def test_bgnbd_reproduces_the_published_fit(bgnbd):
    for name, published in PUBLISHED_BGNBD.items():
        assert bgnbd.params_[name] == pytest.approx(published, rel=0.005), name
    assert bgnbd.log_likelihood_ == pytest.approx(PUBLISHED_BGNBD_LL, abs=0.01)
    assert bgnbd.n_customers_ == 2357
    # Asymptotic standard errors exist and are a few percent (r) to ~30 % (b) of the values.
    errors = bgnbd.standard_errors_
    assert errors["r"] == pytest.approx(0.0126, abs=0.0005)
    assert errors["b"] == pytest.approx(0.705, abs=0.01)


def test_bgnbd_fit_on_distinct_rows_with_weights_is_the_same(published_summary, bgnbd):
    counts = (
        published_summary.groupby(["frequency", "recency", "T"]).size().rename("n").reset_index()
    )
    weighted = BetaGeoModel().fit(
        counts["frequency"], counts["recency"], counts["T"], weights=counts["n"]
    )
    for name, value in bgnbd.params_.items():
        assert weighted.params_[name] == pytest.approx(value, rel=1e-5)
    assert weighted.log_likelihood_ == pytest.approx(bgnbd.log_likelihood_, abs=1e-6)


def test_gamma_gamma_reproduces_the_published_fit(gamma_gamma):
    for name, published in PUBLISHED_GAMMA_GAMMA.items():
        assert gamma_gamma.params_[name] == pytest.approx(published, rel=0.005), name
    # The published figure is the density of the mean spend zbar (Fader & Hardie 2013
    # eq. 4), not of the total spend x * zbar (which would subtract sum(ln x) = 603.4).
    assert gamma_gamma.log_likelihood_ == pytest.approx(PUBLISHED_GAMMA_GAMMA_LL, abs=0.01)
    assert gamma_gamma.n_customers_ == 946


def test_published_conditional_expectation():
    # FHL 2005a, section 5: customer with x = 2, t_x = 30.43, T = 38.86 expects 1.226
    # purchases in the next 39 weeks.
    model = BetaGeoModel.from_params(PUBLISHED_BGNBD)
    expected = model.expected_purchases(39, 2, 30.43, 38.86)
    assert float(expected) == pytest.approx(1.226, abs=0.0005)


def test_published_parameters_give_the_published_log_likelihood(published_summary):
    s = published_summary
    model = BetaGeoModel.from_params(PUBLISHED_BGNBD)
    # Parameters rounded to 3 decimals lose a few thousandths of a log-likelihood unit.
    ll = model.log_likelihood(s["frequency"], s["recency"], s["T"])
    assert ll == pytest.approx(PUBLISHED_BGNBD_LL, abs=0.01)


def test_lifetime_value_on_cdnow(bgnbd, gamma_gamma, published_spend):
    s = published_spend
    clv = customer_lifetime_value(bgnbd, gamma_gamma, s["x"], s["t_x"], s["T"], s["zbar"])
    assert clv.shape == (2357,)
    assert np.isfinite(clv).all() and (clv > 0).all()
    # Customer 1 (x = 2, t_x = 30.43, T = 38.86, zbar = 22.35), step by step.
    monthly = 1.1 ** (1 / 12) - 1
    weeks = 365.25 / 12 / 7
    expected = [bgnbd.expected_purchases(m * weeks, 2, 30.43, 38.86) for m in range(37)]
    spend = gamma_gamma.expected_spend(2, 22.35)
    by_hand = sum(
        (expected[m] - expected[m - 1]) * spend / (1 + monthly) ** m for m in range(1, 37)
    )
    assert clv[0] == pytest.approx(float(by_hand), rel=1e-10)


@pytest.fixture(scope="module")
def split(transactions) -> pd.DataFrame:
    return calibration_holdout_split(
        transactions, "customer_id", "date", CALIBRATION_END, HOLDOUT_END, "dollars"
    )


def test_calibration_holdout_split_on_cdnow(split, published_summary, transactions):
    assert len(split) == 2357
    np.testing.assert_array_equal(split["frequency"], published_summary["frequency"])
    np.testing.assert_array_equal(split["T"].round(2), published_summary["T"])
    assert (split["duration_holdout"] == 39).all()
    # Repeat purchases in weeks 40-78, same-day purchases merged: 1,882 (the raw file has
    # 1,959 transaction lines after 1997-09-30; 77 of them fall on a day the customer had
    # already bought on).
    assert split["frequency_holdout"].sum() == 1882
    assert (transactions["date"] > CALIBRATION_END).sum() == 1959


def test_holdout_comparison_on_cdnow(split, transactions):
    model = BetaGeoModel().fit(split["frequency"], split["recency"], split["T"])
    comparison = holdout_comparison(
        model,
        split,
        transactions,
        customer_id_col="customer_id",
        datetime_col="date",
        calibration_end=CALIBRATION_END,
        holdout_end=HOLDOUT_END,
    )
    totals = comparison.totals.set_index(["period", "series"])["repeat_purchases"]
    assert totals["calibration", "actual"] == 2457
    assert totals["holdout", "actual"] == 1882
    assert totals["holdout", "predicted"] == pytest.approx(1653.4, abs=0.5)
    assert comparison.holdout_total_error_pct == pytest.approx(-12.15, abs=0.05)
    assert abs(comparison.calibration_total_error_pct) < 2

    by_frequency = comparison.by_frequency
    assert list(by_frequency["calibration_purchases"].cat.categories) == [
        "0", "1", "2", "3", "4", "5", "6", "7+",
    ]  # fmt: skip
    actual = by_frequency[by_frequency["series"] == "actual"]
    assert actual["customers"].sum() == 2357
    assert actual["customers"].iloc[0] == 2357 - 946
    assert 5 < comparison.by_frequency_mape < 25

    tracking = comparison.tracking
    cumulative = tracking.pivot(
        index="period_index", columns="series", values="cumulative_repeat_purchases"
    )
    assert len(cumulative) == 78
    assert cumulative.loc[39, "actual"] == 2457
    assert cumulative.loc[78, "actual"] == 2457 + 1882
    # At the end of week 39 the tracking prediction is the calibration prediction.
    assert cumulative.loc[39, "predicted"] == pytest.approx(totals["calibration", "predicted"])
    ends = tracking.drop_duplicates("period_index").set_index("period_index")
    assert ends.loc[39, "period_end"] == pd.Timestamp(CALIBRATION_END)
    assert ends.loc[39, "period"] == "calibration" and ends.loc[40, "period"] == "holdout"
    assert ends.loc[78, "period_end"] == pd.Timestamp(HOLDOUT_END)
    assert comparison.tracking_holdout_mape < 10

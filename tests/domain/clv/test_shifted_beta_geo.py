"""ShiftedBetaGeoModel against Fader & Hardie (2007), "How to project customer retention".

Data: /work/shared/data/sbg/ (Table 1 of the paper, % of 1,000 customers alive per year). The
paper fits years 0-7: regular alpha 0.704, beta 1.182; high end alpha 0.668, beta 3.806; and
projects years 8-12.
"""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.domain.clv.models import (
    ModelIdentificationError,
    NotFittedError,
    ShiftedBetaGeoModel,
)

YEARS = np.arange(13)
# Table 1 of Fader & Hardie (2007), % still active at the start of each year.
REGULAR = [100.0, 63.1, 46.8, 38.2, 32.6, 28.9, 26.2, 24.1, 22.3, 20.7, 19.4, 18.3, 17.3]
HIGH_END = [100.0, 86.9, 74.3, 65.3, 59.3, 55.1, 51.7, 49.1, 46.8, 44.5, 42.7, 40.9, 39.4]


def fitted(percent_alive):
    active = np.round(np.asarray(percent_alive[:8]) * 10)  # 1,000 customers, years 0-7
    return ShiftedBetaGeoModel().fit(active)


@pytest.mark.parametrize(
    ("data", "alpha", "beta", "log_likelihood"),
    [(REGULAR, 0.704, 1.182, -1680.27), (HIGH_END, 0.668, 3.806, -1611.16)],
)
def test_reproduces_the_published_parameters(data, alpha, beta, log_likelihood):
    model = fitted(data)
    assert model.params_["alpha"] == pytest.approx(alpha, abs=5e-4)
    assert model.params_["beta"] == pytest.approx(beta, abs=5e-4)
    assert model.log_likelihood_ == pytest.approx(log_likelihood, abs=0.01)
    assert model.n_customers_ == 1000


@pytest.mark.parametrize(
    ("data", "alpha", "beta"), [(REGULAR, 0.704, 1.182), (HIGH_END, 0.668, 3.806)]
)
def test_projects_years_8_to_12(data, alpha, beta):
    # The projection from the fit is the published model's S(t) = B(a, b + t) / B(a, b) ...
    projected = 100 * fitted(data).survival(YEARS)
    published = 100 * ShiftedBetaGeoModel.from_params({"alpha": alpha, "beta": beta}).survival(
        YEARS
    )
    assert projected[0] == pytest.approx(100.0)
    assert projected == pytest.approx(published, abs=0.05)
    # ... which tracks the actual survival of years 8-12 within 2 points (the paper's Fig. 3),
    # where a model without heterogeneity (constant retention) falls far below.
    assert np.abs(projected[8:] - np.asarray(data[8:])).max() < 2.0
    constant = 100 * (data[7] / 100) ** (YEARS / 7)
    assert (np.asarray(data[8:]) - constant[8:]).min() > 2.0


def test_survival_churn_and_retention_agree_by_hand():
    model = ShiftedBetaGeoModel.from_params({"alpha": 0.704, "beta": 1.182})
    a, b = 0.704, 1.182
    # P(T=1) = a/(a+b); P(T=2) = a/(a+b) * b/(a+b+1); S(2) = b/(a+b) * (b+1)/(a+b+1).
    assert model.churn_probability([1, 2]) == pytest.approx(
        [a / (a + b), a / (a + b) * b / (a + b + 1)]
    )
    assert model.survival(2) == pytest.approx(b / (a + b) * (b + 1) / (a + b + 1))
    assert model.retention_rate([1, 2, 3]) == pytest.approx(
        [b / (a + b), (b + 1) / (a + b + 1), (b + 2) / (a + b + 2)]
    )
    # Rising retention: the survivors are the customers who churn less.
    assert np.all(np.diff(model.retention_rate(np.arange(1, 10))) > 0)
    assert model.conditional_survival(3, 2) == pytest.approx(model.survival(5) / model.survival(3))


def test_fit_counts_with_censoring_equals_the_single_cohort_fit():
    active = np.round(np.asarray(HIGH_END[:8]) * 10)
    churned = -np.diff(active)
    censored = np.zeros(7)
    censored[-1] = active[-1]
    one = ShiftedBetaGeoModel().fit(active)
    other = ShiftedBetaGeoModel().fit_counts(churned, censored)
    assert one.params_ == pytest.approx(other.params_)


def test_derl_matches_the_sum_and_the_hand_formula():
    model = ShiftedBetaGeoModel.from_params({"alpha": 0.668, "beta": 3.806})
    d = 0.10
    closed = model.expected_remaining_lifetime([0, 1, 4], d)
    # sum_{t >= n} S(t) / S(n - 1) / (1 + d)^(t - n), n = renewals + 1, summed by hand.
    for renewals, value in zip([0, 1, 4], closed, strict=True):
        n = renewals + 1
        t = np.arange(n, n + 3000)
        by_hand = np.sum(model.survival(t) / model.survival(n - 1) / (1 + d) ** (t - n))
        assert value == pytest.approx(by_hand, rel=1e-9)
    # The next payment alone: S(1)/S(0) = beta / (alpha + beta) for a new customer.
    first = model.expected_remaining_lifetime(0, d, horizon=1)
    assert first == pytest.approx(3.806 / (0.668 + 3.806))
    # A longer-tenured customer is worth more: DERL rises with renewals.
    assert np.all(np.diff(closed) > 0)


def test_errors_are_plain():
    with pytest.raises(NotFittedError):
        ShiftedBetaGeoModel().survival(1)
    with pytest.raises(ModelIdentificationError, match="must not increase"):
        ShiftedBetaGeoModel().fit([100, 80, 90])
    with pytest.raises(ModelIdentificationError, match="no customer has churned"):
        ShiftedBetaGeoModel().fit([100, 100, 100])

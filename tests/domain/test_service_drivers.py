"""Driver analysis: the robust regression by hand, and planted effects found (or not)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dashboard.domain.service_drivers import (
    MIN_DRIVER_CONTACTS,
    RobustLinearModel,
    analyse_drivers,
    driver_features,
    effects_frame,
)


def test_robust_regression_by_hand():
    # x = 0, 0, 1, 1; y = 0, 1, 1, 2: intercept 0.5, slope 1, residuals ±0.5.
    # (X'X)^-1 = [[.5, -.5], [-.5, 1]]; meat = 0.25 X'X, so the sandwich is 0.25 (X'X)^-1;
    # HC1 multiplies by n / (n - k) = 4 / 2: Var(slope) = 2 × 0.25 × 1 = 0.5.
    X = pd.DataFrame({"x": [0.0, 0.0, 1.0, 1.0]})
    model = RobustLinearModel().fit(X, [0.0, 1.0, 1.0, 2.0])
    assert model.intercept_ == pytest.approx(0.5)
    assert model.coef_["x"] == pytest.approx(1.0)
    assert model.std_errors_["x"] == pytest.approx(math.sqrt(0.5))
    half = 1.959963984540054 * math.sqrt(0.5)
    assert tuple(model.conf_int_.loc["x"]) == pytest.approx((1 - half, 1 + half))
    assert model.n_samples_ == 4
    assert model.predict(pd.DataFrame({"x": [2.0]})) == pytest.approx([2.5])


def test_robust_regression_exact_line_has_no_error():
    X = pd.DataFrame({"x": np.arange(10.0)})
    model = RobustLinearModel().fit(X, 1 + 2 * np.arange(10.0))
    assert model.coef_["x"] == pytest.approx(2.0)
    assert model.std_errors_["x"] == pytest.approx(0.0, abs=1e-9)
    assert model.get_params() == {"confidence": 0.95}


def test_robust_regression_refuses_too_few_rows():
    with pytest.raises(ValueError, match="cannot fit"):
        RobustLinearModel().fit(pd.DataFrame({"x": [1.0]}), [1.0])


def contacts(
    n: int, *, fcr_points: float, handle_points_per_minute: float = 0.0, seed: int = 0
) -> pd.DataFrame:
    """Generated contacts whose chance of an order within 90 days is planted.

    Base chance 40% plus 3 points per prior order (up to 5), plus ``fcr_points`` when
    resolved, plus ``handle_points_per_minute`` per handle minute above 7. Handle time is
    drawn independently of resolution; revenue is 100 per order.
    """
    rng = np.random.default_rng(seed)
    opened = pd.Timestamp("2025-06-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    prior = rng.poisson(2.5, n)
    last = (opened - pd.to_timedelta(rng.integers(1, 500, n), unit="D")).where(prior > 0)
    resolved = rng.random(n) < 0.7
    handle = rng.lognormal(np.log(420), 0.5, n).round()
    chance = (
        0.40
        + 0.03 * np.minimum(prior, 5)
        + fcr_points / 100 * resolved
        + handle_points_per_minute / 100 * (handle / 60 - 7)
    )
    ordered = rng.random(n) < np.clip(chance, 0, 1)
    return pd.DataFrame(
        {
            "contact_id": np.arange(n),
            "opened_at": opened,
            "channel": rng.choice(["phone", "email", "chat"], n),
            "handle_seconds": handle,
            "resolved": resolved,
            "orders_after": ordered.astype(int),
            "revenue_after": 100.0 * ordered,
            "prior_orders": prior,
            "last_order_before": last,
            "prior_contacts": rng.poisson(0.3, n),
        }
    )


def test_finds_the_planted_fcr_effect_and_no_handle_time_effect():
    analysis = analyse_drivers(contacts(6_000, fcr_points=15.0, seed=1), 90)
    fcr = analysis.effect("resolved", "ordered_again")
    assert fcr.verdict == "raises"
    assert fcr.ci[0] < 15.0 < fcr.ci[1]  # the planted 15 points are inside the interval
    assert fcr.sentence.startswith("Resolving the contact at first contact")
    assert "raises the chance that the customer orders again within 90 days" in fcr.sentence
    handle = analysis.effect("handle_minutes", "ordered_again")
    assert handle.verdict in ("none", "negligible")
    revenue = analysis.effect("resolved", "revenue_after")
    assert revenue.verdict == "raises" and revenue.ci[0] < 1500 / 100 < revenue.ci[1]
    assert analysis.summary == (
        "First-contact resolution moves retention and revenue after a "
        "contact; handle time hardly or not at all."
    )


def test_reports_no_effect_where_none_is_planted():
    analysis = analyse_drivers(contacts(6_000, fcr_points=0.0, seed=2), 90)
    for effect in analysis.effects:
        assert effect.verdict == "none", effect.sentence
        assert "has no measurable effect" in effect.sentence
    assert analysis.summary.startswith("Neither first-contact resolution nor handle time")


def test_finds_a_handle_time_effect_when_one_is_planted():
    # The analysis is not hard-wired to dismiss handle time: plant -1 point per minute.
    analysis = analyse_drivers(
        contacts(6_000, fcr_points=0.0, handle_points_per_minute=-1.0, seed=3), 90
    )
    handle = analysis.effect("handle_minutes", "ordered_again")
    assert handle.verdict == "lowers"
    assert handle.ci[0] < -5.0 < handle.ci[1]  # -1 point per minute = -5 per 5 minutes
    assert analysis.effect("resolved", "ordered_again").verdict == "none"


def test_too_few_contacts_and_no_variation():
    assert analyse_drivers(contacts(MIN_DRIVER_CONTACTS - 1, fcr_points=10.0), 90) is None
    everyone_resolved = contacts(1_000, fcr_points=0.0).assign(resolved=True)
    effect = analyse_drivers(everyone_resolved, 90).effect("resolved", "ordered_again")
    assert effect.verdict == "not estimable" and effect.estimate is None


def test_driver_features():
    outcomes = pd.DataFrame(
        {
            "resolved": [True, False, True, False],
            "handle_seconds": [600, 300, 120, 60],
            "prior_contacts": [0, 9, 1, 0],
            "channel": ["phone", "phone", "chat", "phone"],
            "opened_at": pd.to_datetime(["2024-03-05"] * 4),
            "last_order_before": pd.to_datetime(["2024-02-10", "2023-10-01", None, "2022-01-01"]),
            "prior_orders": [2, 1, 0, 7],
        }
    )
    features = driver_features(outcomes)
    assert list(features["handle_minutes"]) == [10.0, 5.0, 2.0, 1.0]
    assert list(features["prior_contacts"]) == [0.0, 5.0, 1.0, 0.0]  # capped at 5
    assert list(features["channel: chat"]) == [0.0, 0.0, 1.0, 0.0]  # phone is the baseline
    # 24 days, 156 days, none, 794 days before the contact.
    assert list(features["recency: last order 91-180 days before"]) == [0, 1, 0, 0]
    assert list(features["recency: no order before"]) == [0, 0, 1, 0]
    assert list(features["frequency: 4+ orders"]) == [0, 0, 0, 1]
    assert "channel: phone" not in features.columns


def test_effects_frame():
    frame = effects_frame(analyse_drivers(contacts(2_000, fcr_points=15.0, seed=4), 90))
    assert (
        list(frame["label"])
        == ["First-contact resolution (resolved vs not)", "Handle time (+5 min)"] * 2
    )
    assert list(frame["outcome"]) == ["ordered_again"] * 2 + ["revenue_after"] * 2
    assert (frame["low"] <= frame["estimate"]).all() and (frame["estimate"] <= frame["high"]).all()

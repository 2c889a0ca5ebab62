"""Segmentation model: recovery of planted groups, determinism, stable labels, edge cases."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from dashboard.domain import segments as model

AS_OF = date(2026, 9, 30)

#: Planted groups: (share, recency days, orders/year, order value, margin, contacts/year,
#: CSAT, NPS, referrals). Clearly different on several features, as real groups are.
PLANTED = {
    "loyal big spenders": (0.2, 20, 14.0, 250.0, 2500.0, 1.0, 4.6, 9.3, 2.0),
    "lapsed one-timers": (0.4, 600, 0.8, 40.0, 15.0, 0.1, 3.6, 6.5, 0.0),
    "costly to serve": (0.25, 90, 4.0, 80.0, 300.0, 8.0, 2.4, 3.5, 0.0),
    "steady small buyers": (0.15, 45, 10.0, 25.0, 200.0, 0.5, 4.2, 8.0, 0.3),
}
# The planted groups are separated by at least this adjusted Rand index: 0.8 is "nearly the
# same partition" (1 = identical, 0 = chance).
ARI_THRESHOLD = 0.8


def planted_features(n: int, seed: int = 1, start_id: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    """Features of ``n`` customers drawn from :data:`PLANTED` with lognormal noise."""
    rng = np.random.default_rng(seed)
    shares = np.array([p[0] for p in PLANTED.values()])
    groups = rng.choice(len(PLANTED), size=n, p=shares / shares.sum())
    params = np.array([p[1:] for p in PLANTED.values()])[groups]
    noise = lambda: rng.lognormal(0.0, 0.25, size=n)  # noqa: E731 - a tiny local helper
    features = pd.DataFrame(
        {
            "recency_days": params[:, 0] * noise(),
            "orders_per_year": params[:, 1] * noise(),
            "average_order_value": params[:, 2] * noise(),
            "gross_margin": params[:, 3] * noise(),
            "tenure_days": rng.uniform(200, 1000, size=n),
            "acquisition_cost": rng.gamma(4.0, 20.0, size=n),
            "latest_csat": np.clip(np.round(params[:, 5] + rng.normal(0, 0.4, n)), 1, 5),
            "latest_nps": np.clip(np.round(params[:, 6] + rng.normal(0, 0.8, n)), 0, 10),
            "contacts_per_year": params[:, 4] * noise(),
            "fcr_share": rng.uniform(0.5, 1.0, size=n),
            "referrals_made": rng.poisson(params[:, 7]).astype(float),
        },
        index=pd.Index(np.arange(start_id, start_id + n), name="customer_id"),
    )
    # Missing surveys: a third of the customers never answered.
    unanswered = rng.random(n) < 0.33
    features.loc[unanswered, ["latest_csat", "latest_nps"]] = np.nan
    features["lifetime_value"] = np.nan
    features["contribution_12m"] = features["gross_margin"] / 3 - 10 * features["contacts_per_year"]
    features["service_cost_per_year"] = 10 * features["contacts_per_year"]
    features["active_share"] = (features["recency_days"] < 365).astype(float)
    return features, groups


def test_pipeline_recovers_planted_groups():
    features, groups = planted_features(1500)
    result = model.segment_customers(features, AS_OF)
    assert result.n_segments == 4  # chosen by the silhouette among 2-10
    assert adjusted_rand_score(groups, result.assignments.to_numpy()) > ARI_THRESHOLD
    assert result.silhouette == pytest.approx(max(result.silhouette_by_k.values()), abs=0.01)


def test_fixed_number_of_segments_is_honoured():
    features, _ = planted_features(800)
    result = model.segment_customers(features, AS_OF, n_segments=6)
    assert result.n_segments == 6
    assert not result.chosen_automatically
    assert sorted(result.assignments.unique()) == [1, 2, 3, 4, 5, 6]


def test_same_data_and_settings_give_the_same_segments():
    features, _ = planted_features(800)
    first = model.segment_customers(features, AS_OF)
    second = model.segment_customers(features.sample(frac=1.0, random_state=3).sort_index(), AS_OF)
    pd.testing.assert_series_equal(first.assignments, second.assignments)
    assert first.silhouette_by_k == second.silhouette_by_k


def test_segment_one_is_the_most_valuable():
    features, groups = planted_features(2000)
    result = model.segment_customers(features, AS_OF, n_segments=4)
    value = features["contribution_12m"].groupby(result.assignments).mean()
    assert list(value.sort_values(ascending=False).index) == [1, 2, 3, 4]
    # The loyal big spenders (planted group 0) are segment 1.
    assert (result.assignments[groups == 0] == 1).mean() > 0.95


def test_labels_stay_stable_when_customers_are_added():
    features, groups = planted_features(1000, seed=1)
    first = model.segment_customers(features, AS_OF, n_segments=4)
    newcomers, _ = planted_features(300, seed=2, start_id=10_001)
    grown = pd.concat([features, newcomers])
    # Without the previous run, numbers follow value; with it, each segment keeps its number.
    second = model.segment_customers(
        grown, AS_OF, n_segments=4, previous=first.assignments, random_state=7
    )
    same = second.assignments.reindex(first.assignments.index) == first.assignments
    assert same.mean() > 0.95
    assert second.inherited == {1: 1, 2: 2, 3: 3, 4: 4}


def test_matching_keeps_numbers_even_when_value_order_changes():
    ids = np.arange(1, 7)
    clusters = np.array([0, 0, 1, 1, 2, 2])
    value = pd.Series([1.0, 1.0, 5.0, 5.0, 3.0, 3.0])
    # Value alone would number cluster 1 as 1, cluster 2 as 2, cluster 0 as 3 ...
    by_value, _ = model.stable_labels(clusters, ids, value)
    assert by_value == {0: 3, 1: 1, 2: 2}
    # ... but cluster 0 holds the customers of the previous segment 1: it stays 1.
    previous = pd.Series([1, 1, 2, 2, 3, 3], index=ids)
    matched, inherited = model.stable_labels(clusters, ids, value, previous)
    assert matched == {0: 1, 1: 2, 2: 3}
    assert inherited == {0: 1, 1: 2, 2: 3}


def test_a_new_cluster_without_predecessor_gets_a_free_number():
    ids = np.arange(1, 9)
    clusters = np.array([0, 0, 1, 1, 2, 2, 2, 2])
    value = pd.Series([1.0, 1.0, 2.0, 2.0, 9.0, 9.0, 9.0, 9.0])
    # Previous run: segments 1 and 2 only; cluster 2 is made of customers new to the store.
    previous = pd.Series([2, 2, 1, 1], index=[1, 2, 3, 4])
    matched, inherited = model.stable_labels(clusters, ids, value, previous)
    assert matched == {0: 2, 1: 1, 2: 3}
    assert inherited == {0: 2, 1: 1}


def test_fewer_customers_than_segments():
    features, _ = planted_features(3)
    result = model.segment_customers(features, AS_OF)
    # Three customers: silhouette needs 2 <= k <= n - 1, so only k = 2 can be judged.
    assert result.n_segments == 2
    assert set(result.silhouette_by_k) == {2}
    asked = model.segment_customers(features, AS_OF, n_segments=8)
    assert asked.n_segments == 3  # at most one segment per distinct customer
    assert asked.notes and "3 distinct profiles" in asked.notes[0]


def test_one_customer_is_one_segment():
    features, _ = planted_features(1)
    result = model.segment_customers(features, AS_OF)
    assert result.n_segments == 1
    assert result.silhouette is None
    assert result.assignments.tolist() == [1]


def test_constant_features_and_no_surveys_at_all():
    features, groups = planted_features(600)
    features["acquisition_cost"] = 50.0  # constant
    features["latest_csat"] = np.nan  # nobody answered
    features["latest_nps"] = np.nan
    result = model.segment_customers(features, AS_OF)
    assert result.assignments.notna().all()
    assert adjusted_rand_score(groups, result.assignments.to_numpy()) > ARI_THRESHOLD
    differences = result.profiles.set_index(["segment", "feature"])["difference"]
    assert (differences.xs("acquisition_cost", level="feature") == 0).all()
    assert "latest_csat" not in set(result.profiles["feature"])  # no answer, nothing to show


def test_identical_customers_make_one_segment():
    features, _ = planted_features(50)
    features.loc[:, :] = features.iloc[[0]].to_numpy().repeat(50, axis=0)
    result = model.segment_customers(features, AS_OF)
    assert result.n_segments == 1
    assert result.notes


def test_no_customers_is_a_clear_error():
    features, _ = planted_features(5)
    with pytest.raises(model.SegmentationError, match="no customers"):
        model.segment_customers(features.iloc[:0], AS_OF)


def test_earlier_snapshot_uses_the_same_pipeline():
    features, _ = planted_features(1000)
    earlier = features.iloc[:700].copy()
    result = model.segment_customers(
        features, AS_OF, n_segments=4, earlier={date(2026, 6, 30): earlier}
    )
    snapshot = result.snapshots[date(2026, 6, 30)]
    assert len(snapshot) == 700
    # Same features, same pipeline: same segment.
    pd.testing.assert_series_equal(snapshot, result.assignments.iloc[:700])


def test_customer_features_from_facts():
    facts = pd.DataFrame(
        {
            "customer_id": [1, 2],
            "acquired_at": pd.to_datetime(["2025-09-30", "2026-08-31"]),
            "acquisition_cost": [100.0, 20.0],
            "orders": [4, 0],
            "revenue": [400.0, 0.0],
            "gross_margin": [150.0, 0.0],
            "last_order": pd.to_datetime(["2026-09-20", None]),
            "margin_12m": [120.0, 0.0],
            "contacts": [2, 0],
            "service_cost": [30.0, 0.0],
            "fcr_contacts": [1, 0],
            "service_cost_12m": [30.0, 0.0],
            "referrals_made": [1, 0],
            "latest_csat": [4.0, None],
            "latest_nps": [9.0, None],
        }
    )
    f = model.customer_features(facts, AS_OF)
    one, two = f.loc[1], f.loc[2]
    assert one["tenure_days"] == 365
    assert one["recency_days"] == 10
    assert one["orders_per_year"] == pytest.approx(4 / (365 / 365.25))
    assert one["average_order_value"] == 100.0  # 400 / 4
    assert one["fcr_share"] == 0.5  # 1 of 2 contacts
    assert one["contribution_12m"] == 90.0  # 120 - 30
    assert one["active_share"] == 1.0
    # Customer 2: won 30 days ago, no order yet: rates over 90 days, recency from acquisition.
    assert two["recency_days"] == 30
    assert two["orders_per_year"] == 0.0
    assert two["average_order_value"] == 0.0
    assert np.isnan(two["fcr_share"]) and np.isnan(two["latest_nps"])
    assert two["active_share"] == 0.0


def test_choose_k_takes_the_highest_silhouette_and_fewer_on_ties():
    scores = {2: 0.30, 3: 0.35, 4: 0.355, 5: 0.31}
    assert model.choose_k(scores) == 4  # the default: plain highest
    assert model.choose_k(scores, tolerance=0.01) == 3  # 0.35 >= 0.355 - 0.01
    assert model.choose_k({2: 0.30, 3: 0.33, 4: 0.33}) == 3  # a tie goes to fewer

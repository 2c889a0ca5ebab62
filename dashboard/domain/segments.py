"""Customer segmentation: features, a scikit-learn pipeline, stable labels and profiles.

The model is a :class:`sklearn.pipeline.Pipeline`: a :class:`ColumnTransformer` (signed log
for skewed money and counts), iterative imputation of missing answers, standard scaling, and a
:class:`~sklearn.cluster.KMeans` clusterer. :class:`CustomerSegmenter` chooses the number of
segments over 2-10 by the highest mean simplified silhouette on a seeded sample (the stated
criterion, :func:`simplified_silhouette`), unless the user fixes it. It fits on a seeded
sample of at most ``fit_sample_size`` customers and assigns everyone in batches, so a million
customers take seconds. Features and profiles live in :mod:`dashboard.domain.segment_features`
(no scikit-learn there, so pages that only read segments stay quick to load).

Labels are made stable in two steps (:func:`stable_labels`): without an earlier run, segment 1
is the most valuable, 2 the next, and so on; with an earlier run, each new cluster takes the
number of the earlier segment most of its customers came from (optimal one-to-one matching of
customer overlap), and only clusters with no such predecessor get fresh numbers, in value order.

Nothing here touches a database or Streamlit: ``dashboard.storage.segment_store`` feeds the
frames in and stores the results.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from threadpoolctl import threadpool_limits

from dashboard.domain.segment_features import (  # noqa: F401 - re-exported for callers
    ACTIVE_WINDOW_DAYS,
    ALL_FEATURES,
    CLUSTER_FEATURES,
    FACT_COLUMNS,
    K_RANGE,
    PROFILE_ONLY_FEATURES,
    SILHOUETTE_TOLERANCE,
    SegmentationError,
    customer_features,
    segment_profiles,
    signed_log1p,
    value_measure,
)

# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


def _preprocessor(features: Iterable[str], random_state: int = 0) -> Pipeline:
    """Signed log of skewed money and counts, imputation of missing answers, scaling.

    Missing values (no survey answer, no contact to resolve) are imputed from the customer's
    other features (iterative ridge regression, 3 rounds), not with one median for everyone:
    a dissatisfied heavy service user who skipped the survey should not look like an average
    customer.
    Columns with no value at all are kept as a constant, which then weighs nothing.
    """
    features = list(features)
    skewed = [f for f in features if ALL_FEATURES[f][2] in ("money", "count")]
    bounded = [f for f in features if ALL_FEATURES[f][2] == "score"]
    shape = ColumnTransformer(
        [
            ("log", FunctionTransformer(signed_log1p, feature_names_out="one-to-one"), skewed),
            ("as_is", "passthrough", bounded),
        ],
        verbose_feature_names_out=False,
    )
    return Pipeline(
        [
            ("shape", shape),
            (
                "impute",
                IterativeImputer(
                    estimator=Ridge(alpha=1.0),
                    max_iter=3,
                    tol=1e-2,
                    random_state=random_state,
                    keep_empty_features=True,
                ),
            ),
            ("scale", StandardScaler()),
        ]
    )


def segmentation_pipeline(
    n_segments: int,
    features: Iterable[str] = tuple(CLUSTER_FEATURES),
    *,
    n_init: int = 4,
    random_state: int = 0,
) -> Pipeline:
    """The preprocessing and clustering pipeline for ``n_segments`` segments (unfitted)."""
    return Pipeline(
        [
            ("prepare", _preprocessor(features, random_state)),
            ("cluster", KMeans(n_clusters=n_segments, n_init=n_init, random_state=random_state)),
        ]
    )


class CustomerSegmenter(ClusterMixin, BaseEstimator):
    """Segments customers with a scikit-learn pipeline; picks the number of segments.

    Parameters
    ----------
    n_segments:
        Number of segments; None chooses it over ``k_range`` by the highest mean silhouette.
    k_range:
        Smallest and largest number of segments tried (inclusive).
    features:
        Columns of the input used by the clusterer (default :data:`CLUSTER_FEATURES`).
    fit_sample_size:
        Customers the pipeline is fitted on (a seeded random sample when there are more).
    selection_sample_size:
        Customers (a seeded sample of the fit sample) on which each number of segments is
        tried; the chosen number is then refitted on the whole fit sample.
    n_init:
        K-means restarts per number of segments (the best is kept).
    random_state:
        Seed of every random choice: same data and settings, same segments.
    tolerance:
        Parsimony: the smallest number of segments whose silhouette is within this much of
        the best is chosen (see :func:`choose_k`).
    n_threads:
        Threads for the numeric libraries while fitting and assigning (None = their default).
        One is the default: on a small shared server, more threads than free cores make
        k-means many times slower, not faster.

    Attributes
    ----------
    pipeline_:
        The fitted :class:`~sklearn.pipeline.Pipeline` (``prepare`` then ``cluster``).
    n_segments_:
        Number of segments used.
    silhouette_by_k_:
        Mean silhouette (-1 to 1, higher = better separated) for each number tried.
    silhouette_:
        Mean silhouette of the chosen number (None when undefined, e.g. one segment).
    label_map_:
        Cluster index -> segment number; identity + 1 until :meth:`set_labels` is called.
    notes_:
        Plain-language notes about adjustments (fewer customers than segments, ...).
    """

    def __init__(
        self,
        n_segments: int | None = None,
        k_range: tuple[int, int] = K_RANGE,
        features: tuple[str, ...] = tuple(CLUSTER_FEATURES),
        fit_sample_size: int = 100_000,
        selection_sample_size: int = 20_000,
        n_init: int = 3,
        random_state: int = 0,
        n_threads: int | None = 1,
        tolerance: float = SILHOUETTE_TOLERANCE,
    ) -> None:
        self.n_segments = n_segments
        self.k_range = k_range
        self.features = features
        self.fit_sample_size = fit_sample_size
        self.selection_sample_size = selection_sample_size
        self.n_init = n_init
        self.random_state = random_state
        self.n_threads = n_threads
        self.tolerance = tolerance

    def fit(self, X: pd.DataFrame, y: object = None) -> CustomerSegmenter:
        """Fit the pipeline on (a sample of) the customers in ``X``; return self."""
        features = list(self.features)
        missing = [f for f in features if f not in X.columns]
        if missing:
            raise SegmentationError(f"the features lack these columns: {', '.join(missing)}")
        if len(X) == 0:
            raise SegmentationError("there are no customers to segment")
        rng = np.random.default_rng(self.random_state)
        # A seeded random order: its first rows are the fit sample, whose first rows are the
        # selection sample. Same data and seed, same samples.
        order = rng.permutation(len(X))[: self.fit_sample_size]
        sample = X[features].iloc[order]
        self.notes_: list[str] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            prepare = _preprocessor(features, self.random_state).fit(sample)
            prepared = prepare.transform(sample)
        distinct = _count_distinct_rows(prepared, limit=self.k_range[1] + 1)
        low, high = self.k_range
        if self.n_segments is not None:
            wanted = int(self.n_segments)
            if wanted < 1:
                raise SegmentationError("the number of segments must be at least 1")
            candidates = [min(wanted, distinct)]
            if candidates[0] < wanted:
                self.notes_.append(
                    f"{wanted} segments were asked for but the customers have only "
                    f"{distinct} distinct profiles, so {candidates[0]} segments were made."
                )
        else:
            high_possible = min(high, distinct, len(sample) - 1)
            candidates = list(range(low, high_possible + 1))
            if not candidates:
                candidates = [max(1, min(distinct, len(sample)))]
                self.notes_.append(
                    f"Only {len(sample)} customers with {distinct} distinct profiles: "
                    f"{candidates[0]} segment(s) made, the silhouette is not defined."
                )
        # The number of segments is chosen on a smaller seeded sample (k-means and silhouette
        # for each k); the chosen k is then refitted on the whole fit sample from those centres.
        selection = prepared[: self.selection_sample_size]
        self.silhouette_by_k_: dict[int, float] = {}
        fitted: dict[int, KMeans] = {}
        with threadpool_limits(limits=self.n_threads), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for k in candidates:
                model = KMeans(n_clusters=k, n_init=self.n_init, random_state=self.random_state)
                labels = model.fit_predict(selection)
                fitted[k] = model
                score = simplified_silhouette(selection, labels, model.cluster_centers_)
                if score is not None:
                    self.silhouette_by_k_[k] = score
            if self.n_segments is None and self.silhouette_by_k_:
                chosen = choose_k(self.silhouette_by_k_, self.tolerance)
            else:
                chosen = candidates[0]
            final = fitted[chosen]
            if len(prepared) > len(selection):
                final = KMeans(
                    n_clusters=chosen,
                    init=final.cluster_centers_,
                    n_init=1,
                    random_state=self.random_state,
                ).fit(prepared)
        self.n_segments_ = chosen
        self.silhouette_ = self.silhouette_by_k_.get(chosen)
        self.pipeline_ = Pipeline([("prepare", prepare), ("cluster", final)])
        self.label_map_ = {i: i + 1 for i in range(chosen)}
        return self

    def predict_clusters(self, X: pd.DataFrame, batch_size: int = 250_000) -> np.ndarray:
        """Raw cluster index (0 to k-1) of each customer, computed in batches."""
        columns = list(self.features)
        with threadpool_limits(limits=self.n_threads):
            parts = [
                self.pipeline_.predict(X.iloc[start : start + batch_size][columns])
                for start in range(0, len(X), batch_size)
            ]
        return np.concatenate(parts) if parts else np.array([], dtype=int)

    def predict(self, X: pd.DataFrame, batch_size: int = 250_000) -> np.ndarray:
        """Segment number of each customer (after :meth:`set_labels`)."""
        clusters = self.predict_clusters(X, batch_size)
        lookup = np.array([self.label_map_[i] for i in range(self.n_segments_)])
        return lookup[clusters] if len(clusters) else clusters

    def set_labels(self, label_map: dict[int, int]) -> CustomerSegmenter:
        """Fix the segment number of each cluster index (see :func:`stable_labels`)."""
        if sorted(label_map) != list(range(self.n_segments_)):
            raise SegmentationError("the label map must give a number to every cluster")
        self.label_map_ = dict(label_map)
        return self

    def standardized(self, X: pd.DataFrame) -> pd.DataFrame:
        """The prepared (transformed, scaled) features the clusterer sees, one column each."""
        prepare = self.pipeline_.named_steps["prepare"]
        values = prepare.transform(X[list(self.features)])
        return pd.DataFrame(values, index=X.index, columns=prepare.get_feature_names_out())


def choose_k(silhouette_by_k: dict[int, float], tolerance: float = SILHOUETTE_TOLERANCE) -> int:
    """The stated criterion: the smallest number of segments whose mean silhouette is within
    ``tolerance`` of the highest (fewer segments are easier to act on)."""
    best = max(silhouette_by_k.values())
    return min(k for k, score in silhouette_by_k.items() if score >= best - tolerance)


def _count_distinct_rows(values: np.ndarray, limit: int) -> int:
    """Number of distinct rows, counted up to ``limit`` (enough to cap the segment number)."""
    if len(values) == 0:
        return 0
    rounded = np.round(values, 9)
    distinct = np.unique(rounded[: min(len(rounded), 200_000)], axis=0)
    return int(min(len(distinct), limit))


def simplified_silhouette(
    values: np.ndarray, labels: np.ndarray, centres: np.ndarray
) -> float | None:
    """Mean simplified silhouette (Hruschka et al., 2004), from -1 to 1; None if undefined.

    For each customer, a = distance to its own segment's centre and b = distance to the
    nearest other centre; its score is (b - a) / max(a, b): near 1 when it sits clearly in
    its segment, near 0 on a border. Unlike the full silhouette (all pairwise distances,
    so only a few thousand customers), it is cheap enough to measure on every customer of the
    selection sample, which makes the choice of the number of segments stable.
    """
    k = len(centres)
    if k < 2 or len(np.unique(labels)) < 2 or len(values) <= k:
        return None
    distances = np.sqrt(((values[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2))
    rows = np.arange(len(values))
    own = distances[rows, labels]
    distances[rows, labels] = np.inf
    nearest_other = distances.min(axis=1)
    scale = np.maximum(own, nearest_other)
    scores = np.divide(nearest_other - own, scale, out=np.zeros_like(own), where=scale > 0)
    return float(scores.mean())


# --------------------------------------------------------------------------------------------
# Stable labels
# --------------------------------------------------------------------------------------------


def value_order(clusters: np.ndarray, value: pd.Series) -> list[int]:
    """Cluster indices from the most to the least valuable (mean value per customer).

    Ties (and missing values) are broken by the cluster index, so the order is deterministic.
    """
    frame = pd.DataFrame({"cluster": clusters, "value": value.to_numpy(dtype=float)})
    means = frame.groupby("cluster")["value"].mean().fillna(-np.inf)
    return sorted(means.index, key=lambda c: (-means[c], c))


def stable_labels(
    clusters: np.ndarray,
    customer_ids: np.ndarray,
    value: pd.Series,
    previous: pd.Series | None = None,
    min_overlap: float = 0.5,
) -> tuple[dict[int, int], dict[int, int]]:
    """Segment number of each cluster: by value, or inherited from the previous run.

    Parameters
    ----------
    clusters:
        Cluster index (0 to k-1) per customer.
    customer_ids:
        Customer id per row of ``clusters``.
    value:
        Value per customer (same rows), for the value order.
    previous:
        The previous run's segment number per customer id (None for a first run).
    min_overlap:
        A cluster inherits an earlier segment's number only when at least this share of its
        customers that were in the previous run came from that segment.

    Returns
    -------
    (label_map, inherited): cluster index -> segment number, and cluster index -> previous
    segment number for the clusters that inherited one.
    """
    order = value_order(clusters, value)
    if previous is None or previous.empty:
        return {c: rank + 1 for rank, c in enumerate(order)}, {}
    frame = pd.DataFrame(
        {"cluster": clusters, "previous": previous.reindex(customer_ids).to_numpy()}
    ).dropna()
    if frame.empty:
        return {c: rank + 1 for rank, c in enumerate(order)}, {}
    overlap = pd.crosstab(frame["cluster"], frame["previous"].astype(int))
    rows, cols = linear_sum_assignment(-overlap.to_numpy())
    inherited: dict[int, int] = {}
    for r, c in zip(rows, cols, strict=True):
        cluster, old = int(overlap.index[r]), int(overlap.columns[c])
        known = overlap.iloc[r].sum()
        if known and overlap.iloc[r, c] / known >= min_overlap:
            inherited[cluster] = old
    used = set(inherited.values())
    free = (n for n in range(1, len(order) + len(used) + 1) if n not in used)
    label_map = dict(inherited)
    for cluster in order:
        if cluster not in label_map:
            label_map[cluster] = next(free)
    return dict(sorted(label_map.items())), inherited


# --------------------------------------------------------------------------------------------
# The whole run
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentationResult:
    """A segmentation of the customers at ``as_of``, ready to store.

    Attributes
    ----------
    as_of:
        Date the features were computed at.
    assignments:
        Segment number per customer id at ``as_of`` (index ``customer_id``).
    snapshots:
        Earlier period end -> segment number per customer id at that date, with the same
        fitted pipeline (for migration).
    profiles:
        Frame of :func:`segment_profiles`.
    n_segments:
        Number of segments.
    silhouette_by_k:
        Mean silhouette per number of segments tried (the selection criterion).
    silhouette:
        Mean silhouette of the segments made (None when undefined).
    chosen_automatically:
        True when the number of segments was chosen by the criterion, False when fixed.
    inherited:
        Segment number -> the previous run's number it continues (matched customers).
    value_measure:
        Column of the features that ranks segments by value.
    settings:
        Settings that reproduce the run (features, algorithm, seed, k range, sample sizes).
    notes:
        Plain-language notes about adjustments made.
    """

    as_of: date
    assignments: pd.Series
    snapshots: dict[date, pd.Series]
    profiles: pd.DataFrame
    n_segments: int
    silhouette_by_k: dict[int, float]
    silhouette: float | None
    chosen_automatically: bool
    inherited: dict[int, int]
    value_measure: str
    settings: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def segment_customers(
    features: pd.DataFrame,
    as_of: date,
    *,
    n_segments: int | None = None,
    previous: pd.Series | None = None,
    earlier: dict[date, pd.DataFrame] | None = None,
    random_state: int = 0,
    fit_sample_size: int = 100_000,
    selection_sample_size: int = 20_000,
) -> SegmentationResult:
    """Segment the customers: fit, number the segments stably, assign earlier dates, profile.

    Parameters
    ----------
    features:
        Frame of :func:`customer_features` at ``as_of``.
    n_segments:
        Fixed number of segments, or None to choose it by the silhouette over 2-10.
    previous:
        Segment number per customer id of the previous run (for stable numbers), or None.
    earlier:
        Earlier period end -> features at that date; customers are assigned there with the
        same fitted pipeline, for migration.
    """
    if features.empty:
        raise SegmentationError("there are no customers to segment")
    segmenter = CustomerSegmenter(
        n_segments=n_segments,
        random_state=random_state,
        fit_sample_size=fit_sample_size,
        selection_sample_size=selection_sample_size,
    ).fit(features)
    clusters = segmenter.predict_clusters(features)
    measure = value_measure(features)
    label_map, inherited_by_cluster = stable_labels(
        clusters, features.index.to_numpy(), features[measure], previous
    )
    segmenter.set_labels(label_map)
    lookup = np.array([label_map[i] for i in range(segmenter.n_segments_)])
    assignments = pd.Series(lookup[clusters], index=features.index, name="segment")
    snapshots = {
        when: pd.Series(segmenter.predict(frame), index=frame.index, name="segment")
        for when, frame in sorted((earlier or {}).items())
        if not frame.empty
    }
    settings = {
        "algorithm": "k-means on signed-log / scaled features (scikit-learn Pipeline)",
        "features": list(segmenter.features),
        "criterion": "highest mean simplified silhouette (Euclidean distances to segment "
        "centres, on the prepared features, selection sample), ties to the fewer segments",
        "k_range": list(segmenter.k_range),
        "n_segments_requested": n_segments,
        "random_state": random_state,
        "fit_sample_size": fit_sample_size,
        "selection_sample_size": selection_sample_size,
        "n_init": segmenter.n_init,
        "value_measure": measure,
    }
    return SegmentationResult(
        as_of=as_of,
        assignments=assignments,
        snapshots=snapshots,
        profiles=segment_profiles(features, assignments),
        n_segments=segmenter.n_segments_,
        silhouette_by_k=dict(segmenter.silhouette_by_k_),
        silhouette=segmenter.silhouette_,
        chosen_automatically=n_segments is None,
        inherited={label_map[c]: old for c, old in inherited_by_cluster.items()},
        value_measure=measure,
        settings=settings,
        notes=tuple(segmenter.notes_),
    )

"""Segmentation inputs and outputs that need no model: features, profiles, constants.

Pure pandas and numpy (no scikit-learn), so that the pages and the store read segments
without importing the model; :mod:`dashboard.domain.segments` holds the model itself.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

#: Days per year used to turn counts into yearly rates.
DAYS_PER_YEAR = 365.25
#: Shortest tenure used as the denominator of yearly rates: a customer won last week with one
#: order is not "52 orders a year".
MIN_RATE_TENURE_DAYS = 90
#: Window that defines an active customer (docs/metrics.md): an order in the 365 days to the as-of.
ACTIVE_WINDOW_DAYS = 365
#: Range of the number of segments searched when it is chosen automatically.
K_RANGE = (2, 10)
#: Silhouettes closer than this to the best count as equally good, and the fewest segments
#: among them is chosen. 0 = plain highest silhouette (ties to the fewer segments).
SILHOUETTE_TOLERANCE = 0.0

#: Features the clusterer uses: name -> (label, unit, kind). ``kind`` picks the transform:
#: ``money`` and ``count`` are skewed (signed log), ``score`` is bounded (as is).
CLUSTER_FEATURES: dict[str, tuple[str, str, str]] = {
    "recency_days": ("Recency", "days since the last order", "count"),
    "orders_per_year": ("Frequency", "orders per year of tenure", "count"),
    "average_order_value": ("Average order value", "currency units", "money"),
    "gross_margin": ("Gross margin to date", "currency units", "money"),
    "tenure_days": ("Tenure", "days since acquisition", "score"),
    "acquisition_cost": ("Acquisition cost", "currency units", "money"),
    "latest_csat": ("Latest CSAT", "1-5 scale", "score"),
    "latest_nps": ("Latest NPS answer", "0-10 scale", "score"),
    "contacts_per_year": ("Service contacts", "per year of tenure", "count"),
    "fcr_share": ("First-contact resolution", "share of contacts, 0-1", "score"),
    "referrals_made": ("Referrals made", "count to date", "count"),
}

#: Figures shown in profiles but not clustered on: name -> (label, unit, kind). Lifetime value
#: is left out of the clusterer on purpose: it is a function of recency, frequency and spend,
#: which are already in, and it cannot be computed at the previous period's end for migration.
PROFILE_ONLY_FEATURES: dict[str, tuple[str, str, str]] = {
    "lifetime_value": ("Lifetime value", "currency units (value engine)", "money"),
    "contribution_12m": (
        "12-month contribution",
        "gross margin - service cost, 365 days, currency units",
        "money",
    ),
    "service_cost_per_year": ("Service cost", "currency units per year of tenure", "money"),
    "active_share": ("Active", "share with an order in the last 365 days", "score"),
}

ALL_FEATURES = {**CLUSTER_FEATURES, **PROFILE_ONLY_FEATURES}


class SegmentationError(ValueError):
    """The customers cannot be segmented as asked; the message says why."""


# --------------------------------------------------------------------------------------------
# Features
# --------------------------------------------------------------------------------------------


#: Columns :func:`customer_features` needs, one row per customer (money in currency units).
FACT_COLUMNS = {
    "customer_id": "customer identifier",
    "acquired_at": "acquisition date",
    "acquisition_cost": "cost to win the customer",
    "orders": "orders up to the as-of date",
    "revenue": "revenue up to the as-of date",
    "gross_margin": "revenue - cost up to the as-of date",
    "last_order": "date of the latest order up to the as-of date (missing without one)",
    "margin_12m": "gross margin in the 365 days to the as-of date",
    "contacts": "service contacts up to the as-of date",
    "service_cost": "service cost up to the as-of date",
    "fcr_contacts": "contacts resolved at first contact, up to the as-of date",
    "service_cost_12m": "service cost in the 365 days to the as-of date",
    "referrals_made": "referrals made up to the as-of date",
    "latest_csat": "latest CSAT answer (1-5) up to the as-of date (missing without one)",
    "latest_nps": "latest NPS answer (0-10) up to the as-of date (missing without one)",
}


def customer_features(
    facts: pd.DataFrame, as_of: date, lifetime_value: pd.Series | None = None
) -> pd.DataFrame:
    """Per-customer segmentation features at ``as_of`` from per-customer facts.

    Parameters
    ----------
    facts:
        One row per customer with the columns of :data:`FACT_COLUMNS` (see
        ``dashboard.storage.segment_store.customer_facts``).
    as_of:
        Date the features are computed at.
    lifetime_value:
        Predicted lifetime value per customer id (currency units), when the value engine has
        run; customers it lacks get a missing value.

    Returns
    -------
    DataFrame indexed by ``customer_id`` with the columns of :data:`CLUSTER_FEATURES` and
    :data:`PROFILE_ONLY_FEATURES` (``lifetime_value`` all missing without the value engine).
    Undefined figures are missing, not zero: latest CSAT/NPS without an answer, first-contact
    resolution without a contact. Yearly rates divide by the tenure in years, at least
    :data:`MIN_RATE_TENURE_DAYS` days.
    """
    as_of_ts = pd.Timestamp(as_of)
    frame = facts.set_index("customer_id")
    acquired = pd.to_datetime(frame["acquired_at"])
    last_order = pd.to_datetime(frame["last_order"])
    tenure_days = (as_of_ts - acquired).dt.days.clip(lower=0).astype(float)
    rate_years = np.maximum(tenure_days, MIN_RATE_TENURE_DAYS) / DAYS_PER_YEAR
    orders = frame["orders"].astype(float)
    contacts = frame["contacts"].astype(float)
    # Without an order, recency counts from acquisition: the customer has been silent that long.
    recency = (as_of_ts - last_order.fillna(acquired)).dt.days.clip(lower=0).astype(float)
    features = pd.DataFrame(
        {
            "recency_days": recency,
            "orders_per_year": orders / rate_years,
            "average_order_value": (
                frame["revenue"].astype(float) / orders.where(orders > 0)
            ).fillna(0.0),
            "gross_margin": frame["gross_margin"].astype(float),
            "tenure_days": tenure_days,
            "acquisition_cost": frame["acquisition_cost"].astype(float),
            "latest_csat": pd.to_numeric(frame["latest_csat"]).astype(float),
            "latest_nps": pd.to_numeric(frame["latest_nps"]).astype(float),
            "contacts_per_year": contacts / rate_years,
            "fcr_share": frame["fcr_contacts"].astype(float) / contacts.where(contacts > 0),
            "referrals_made": frame["referrals_made"].astype(float),
            "lifetime_value": np.nan,
            "contribution_12m": frame["margin_12m"].astype(float)
            - frame["service_cost_12m"].astype(float),
            "service_cost_per_year": frame["service_cost"].astype(float) / rate_years,
            "active_share": ((recency < ACTIVE_WINDOW_DAYS) & last_order.notna()).astype(float),
        },
        index=frame.index,
    )
    if lifetime_value is not None:
        features["lifetime_value"] = lifetime_value.reindex(features.index).astype(float)
    return features.sort_index()


def signed_log1p(values: np.ndarray) -> np.ndarray:
    """sign(x) * log(1 + |x|): tames skewed money and counts, keeps the sign of losses."""
    values = np.asarray(values, dtype=float)
    return np.sign(values) * np.log1p(np.abs(values))


def segment_profiles(features: pd.DataFrame, segments: pd.Series) -> pd.DataFrame:
    """How each segment differs from all customers, feature by feature.

    Parameters
    ----------
    features:
        Frame of :func:`customer_features` (index ``customer_id``).
    segments:
        Segment number per customer id.

    Returns
    -------
    Long frame with ``segment`` (0 = all customers), ``feature``, ``customers``, ``mean``
    (natural units, missing values left out) and ``difference``: the segment's mean minus the
    mean of all customers, in standard deviations of all customers, computed on the signed
    log of skewed money and counts so that a few very large customers do not dominate.
    Features with no value at all (lifetime value without the value engine) are left out.
    """
    columns = [c for c in ALL_FEATURES if c in features.columns and features[c].notna().any()]
    natural = features[columns].astype(float)
    transformed = natural.copy()
    for column in columns:
        if ALL_FEATURES[column][2] in ("money", "count"):
            transformed[column] = signed_log1p(natural[column].to_numpy())
    centre = transformed.mean()
    spread = transformed.std(ddof=0)
    spread = spread.where(spread > 1e-9 * (1.0 + centre.abs()))  # constant: no difference
    labels = segments.reindex(natural.index).to_numpy()
    known = ~pd.isna(labels)
    # One grouped pass for all segments (a million customers in well under a second).
    by_segment = natural[known].groupby(labels[known])
    means = pd.concat([natural.mean().to_frame().T.set_axis([0]), by_segment.mean()])
    shifted = pd.concat(
        [
            transformed.mean().to_frame().T.set_axis([0]),
            transformed[known].groupby(labels[known]).mean(),
        ]
    )
    differences = ((shifted - centre) / spread).fillna(0.0)
    sizes = pd.concat([pd.Series([len(natural)], index=[0]), by_segment.size()])
    rows = [
        {
            "segment": int(segment),
            "feature": column,
            "customers": int(sizes[segment]),
            "mean": float(means.at[segment, column])
            if pd.notna(means.at[segment, column])
            else np.nan,
            "difference": float(differences.at[segment, column]),
        }
        for segment in means.index
        for column in columns
    ]
    return pd.DataFrame(rows, columns=["segment", "feature", "customers", "mean", "difference"])


def value_measure(features: pd.DataFrame) -> str:
    """The value that ranks segments: lifetime value when known for most customers, else the
    12-month contribution (gross margin - service cost in the 365 days to the as-of)."""
    if "lifetime_value" in features and features["lifetime_value"].notna().mean() >= 0.5:
        return "lifetime_value"
    return "contribution_12m"

"""Surveys: relationship answers (from latent satisfaction) and post-contact answers (from FCR).

CSAT (1-5) and NPS (0-10) are ordinal cuts of a standard-normal latent score; half the answers
carry both scores, the rest only one.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from scipy import stats

from dashboard.simulator.customers import CustomerTraits
from dashboard.simulator.parameters import DAYS_PER_YEAR, DemoParameters, to_dates
from dashboard.simulator.service import ServiceContacts

# Target cumulative answer shares for a neutral latent (standard normal).
_CSAT_CUMULATIVE = (0.04, 0.11, 0.29, 0.71)  # 1..5: CSAT (top-two-box) about 71 %
_NPS_CUMULATIVE = (0.02, 0.03, 0.04, 0.06, 0.08, 0.12, 0.18, 0.30, 0.55, 0.80)  # NPS about +27


def simulate_surveys(
    rng: np.random.Generator,
    p: DemoParameters,
    last_id: int,
    start: date,
    horizon: int,
    customer_id: np.ndarray,
    people: CustomerTraits,
    dropout_time: np.ndarray,
    contacts: ServiceContacts,
) -> pd.DataFrame:
    """The ``surveys`` table, ids from ``last_id + 1`` in date order.

    Relationship surveys (from latent satisfaction) and post-contact surveys (from FCR).
    """
    acquisition_day, satisfaction = people.acquisition_day, people.satisfaction
    contact_customer, contact_day, contact_id = contacts.customer, contacts.day, contacts.contact_id
    contact_resolved = contacts.resolved
    handle_seconds, median_seconds = contacts.handle_seconds, contacts.median_seconds
    # Relationship answers: Poisson over the customer's tenure from 14 days after acquisition;
    # customers who stopped buying answer less often.
    first_day = acquisition_day + 14
    tenure_years = np.maximum(horizon - first_day, 0) / DAYS_PER_YEAR
    k = rng.poisson(p.relationship_surveys_per_year * tenure_years)
    who = np.repeat(np.arange(len(customer_id)), k)
    day = first_day[who] + np.floor(rng.random(who.size) * (horizon - first_day[who])).astype(int)
    lapsed = day > dropout_time[who]
    keep = ~lapsed | (rng.random(who.size) < p.lapsed_response_factor)
    who, day = who[keep], day[keep]
    latent = 0.85 * satisfaction[who] + 0.53 * rng.standard_normal(who.size)
    relationship = (who, day, latent, np.full(who.size, -1, dtype=np.int64))

    # Post-contact answers: resolution dominates; handle time nudges scores only slightly.
    asked = np.flatnonzero(rng.random(contact_customer.size) < p.post_contact_survey_rate)
    answer_day = contact_day[asked] + rng.integers(0, 8, asked.size)
    asked, answer_day = asked[answer_day < horizon], answer_day[answer_day < horizon]
    resolved = contact_resolved[asked]
    latent_contact = (
        0.3 * satisfaction[contact_customer[asked]]
        + np.where(resolved, 0.5, -1.0)
        - 0.08 * np.log2(handle_seconds[asked] / median_seconds[asked])
        + 0.8 * rng.standard_normal(asked.size)
    )
    post_contact = (contact_customer[asked], answer_day, latent_contact, contact_id[asked])

    who, day, latent, about = (
        np.concatenate(x) for x in zip(relationship, post_contact, strict=True)
    )
    # Half the answers carry both scores, the rest only CSAT or only NPS.
    mode = rng.choice(3, size=who.size, p=[0.5, 0.3, 0.2])
    nps_latent = 0.8 * latent + 0.6 * rng.standard_normal(who.size)
    csat = pd.array(_scores(latent, _CSAT_CUMULATIVE, 1), dtype="Int64")
    nps = pd.array(_scores(nps_latent, _NPS_CUMULATIVE, 0), dtype="Int64")
    csat[mode == 2] = pd.NA
    nps[mode == 1] = pd.NA
    contact = pd.array(about, dtype="Int64")
    contact[about < 0] = pd.NA
    order = np.lexsort((who, day))
    return pd.DataFrame(
        {
            "survey_id": last_id + 1 + np.arange(who.size, dtype=np.int64),
            "customer_id": customer_id[who[order]],
            "answered_at": to_dates(start, day[order]),
            "csat": csat[order],
            "nps": nps[order],
            "contact_id": contact[order],
        }
    )


def _scores(latent: np.ndarray, cumulative_shares: tuple[float, ...], low: int) -> np.ndarray:
    """Map a standard-normal latent to an ordinal scale with the given cumulative shares."""
    cuts = stats.norm.ppf(np.asarray(cumulative_shares))
    return low + np.searchsorted(cuts, latent)

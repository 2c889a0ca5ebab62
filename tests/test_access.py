"""The access policy: who sees which regions, read from the [access] table of the secrets."""

from __future__ import annotations

import pytest

from dashboard.access import (
    ADMIN,
    EXECUTIVE,
    NO_ACCESS,
    OPEN_ACCESS,
    REGIONAL,
    AccessConfigError,
    parse_policy,
)
from dashboard.scope import Scope

TABLE = {
    "executives": ["ceo@example.com"],
    "admins": ["Analyst@Example.com"],
    "regions": {"north.manager@example.com": ["North"], "west.lead@example.com": ["West", "South"]},
}


def resolve(table, **claims):
    return parse_policy(table).resolve(claims)


def test_roles_by_email():
    assert resolve(TABLE, email="ceo@example.com").role == EXECUTIVE
    assert resolve(TABLE, email="ceo@example.com").allowed_regions is None
    admin = resolve(TABLE, email="analyst@example.com")  # case-insensitive
    assert (admin.role, admin.allowed_regions, admin.may_write) == (ADMIN, None, True)
    west = resolve(TABLE, email="West.Lead@example.com")
    assert (west.role, west.allowed_regions, west.may_write) == (REGIONAL, ("South", "West"), False)
    assert west.describe() == "regional manager (South, West)"


def test_unlisted_and_anonymous_users_see_nothing():
    for claims in ({"email": "stranger@example.com"}, {}, {"sub": "123"}):
        access = resolve(TABLE, **claims)
        assert access.role == NO_ACCESS
        assert not access.may_read and not access.may_write
        assert access.allowed_regions == ()
    assert resolve(None, email="ceo@example.com").role == NO_ACCESS  # no [access]: nobody


def test_an_unverified_email_is_not_trusted():
    assert resolve(TABLE, email="ceo@example.com", email_verified=False).role == NO_ACCESS
    assert resolve(TABLE, email="ceo@example.com", email_verified=True).role == EXECUTIVE


def test_groups_and_the_widest_grant_wins():
    table = {
        **TABLE,
        "group_claim": "groups",
        "groups": {"admins": ["bi-admins"], "regions": {"sales-east": ["East"]}},
    }
    assert resolve(table, email="x@example.com", groups=["bi-admins"]).role == ADMIN
    assert resolve(table, email="x@example.com", groups="sales-east").allowed_regions == ("East",)
    both = resolve(table, email="north.manager@example.com", groups=["sales-east"])
    assert both.allowed_regions == ("East", "North")
    assert resolve(table, email="ceo@example.com", groups=["bi-admins"]).role == ADMIN
    assert resolve(table, email="x@example.com", groups=["other"]).role == NO_ACCESS


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"admin": ["a@example.com"]}, "unknown keys admin"),
        ({"admins": "a@example.com"}, "must be a list"),
        ({"regions": {"a@example.com": "North"}}, "must be a list"),
        ({"groups": {"admins": ["g"]}}, "needs group_claim"),
        ({"group_claim": "groups", "groups": {"admin": ["g"]}}, "unknown keys admin"),
    ],
)
def test_a_broken_table_is_refused(table, message):
    with pytest.raises(AccessConfigError, match=message):
        parse_policy(table)


def test_open_access_sees_everything_and_may_write():
    assert OPEN_ACCESS.allowed_regions is None and OPEN_ACCESS.may_write


def test_a_filter_cannot_widen_the_allowed_regions():
    north = resolve(TABLE, email="north.manager@example.com")
    scope = Scope(date_1(), date_1(), allowed_regions=north.allowed_regions)
    assert scope.effective_regions() == ("North",)
    assert (
        Scope(
            date_1(), date_1(), regions=("South",), allowed_regions=("North",)
        ).effective_regions()
        == ()
    )


def date_1():
    from datetime import date

    return date(2024, 6, 30)

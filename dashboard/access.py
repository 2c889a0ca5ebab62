"""Who may see what: the access policy read from ``[access]`` in ``.streamlit/secrets.toml``.

Pure Python (no Streamlit): :func:`parse_policy` turns the ``[access]`` table into an
:class:`AccessPolicy`, and :meth:`AccessPolicy.resolve` turns a signed-in user's identity
claims into an :class:`Access`: a role and the regions the user may see, which the app puts in
:attr:`dashboard.scope.Scope.allowed_regions` so that every query applies it.

```toml
[access]
executives = ["ceo@example.com"]        # every region
admins = ["analyst@example.com"]        # every region; may import, refit, resegment, rename
group_claim = "groups"                  # optional: the identity token's group claim
[access.regions]                        # regional managers: only these regions
"north.manager@example.com" = ["North"]
[access.groups]                         # optional: the same by group (needs group_claim)
executives = ["bi-executives"]
admins = ["bi-admins"]
[access.groups.regions]
"sales-west" = ["West", "South"]
```

A user matching several entries gets the widest: admin, then executive, then the union of the
regions of every entry that names them. Anyone not listed has no access (fail closed), and so
has a user whose provider says the e-mail address is not verified.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Roles, from the widest to the narrowest.
ADMIN = "admin"
EXECUTIVE = "executive"
REGIONAL = "regional"
NO_ACCESS = "none"
#: No sign-in configured: everyone who reaches the address sees every region and may write.
OPEN = "open"

ROLE_NAMES = {
    ADMIN: "administrator (every region; may import, refit, resegment and rename)",
    EXECUTIVE: "executive (every region)",
    REGIONAL: "regional manager",
    NO_ACCESS: "no access",
    OPEN: "open access",
}

_KEYS = {"executives", "admins", "regions", "group_claim", "groups"}
_GROUP_KEYS = {"executives", "admins", "regions"}


class AccessConfigError(ValueError):
    """The ``[access]`` table cannot be read; the app then lets nobody in (fail closed)."""


@dataclass(frozen=True)
class Access:
    """What one user may do.

    Attributes
    ----------
    role:
        One of :data:`ADMIN`, :data:`EXECUTIVE`, :data:`REGIONAL`, :data:`NO_ACCESS`,
        :data:`OPEN`.
    email:
        The signed-in user's e-mail address (None in open mode).
    allowed_regions:
        Regions the user may see, sorted; None = every region. Empty for no access.
    """

    role: str
    email: str | None = None
    allowed_regions: tuple[str, ...] | None = None

    @property
    def may_read(self) -> bool:
        """Whether the user may see any data at all."""
        return self.role != NO_ACCESS

    @property
    def may_write(self) -> bool:
        """Whether the user may run write actions (import, refit, resegment, rename)."""
        return self.role in (ADMIN, OPEN)

    @property
    def is_restricted(self) -> bool:
        """Whether the user sees only some regions."""
        return self.allowed_regions is not None

    def describe(self) -> str:
        """The role in words, with the regions of a regional manager."""
        if self.role == REGIONAL:
            return f"{ROLE_NAMES[REGIONAL]} ({', '.join(self.allowed_regions or ())})"
        return ROLE_NAMES[self.role]


#: Open mode (no ``[auth]``): every region, writes allowed.
OPEN_ACCESS = Access(role=OPEN)


@dataclass(frozen=True)
class _Grants:
    executives: frozenset[str] = frozenset()
    admins: frozenset[str] = frozenset()
    regions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class AccessPolicy:
    """The ``[access]`` table: grants by e-mail address and, optionally, by group."""

    by_email: _Grants = field(default_factory=_Grants)
    by_group: _Grants = field(default_factory=_Grants)
    group_claim: str | None = None

    def resolve(self, claims: Mapping[str, Any]) -> Access:
        """The access of the user whose identity-token claims are ``claims``.

        E-mail addresses compare case-insensitively; groups exactly. A user whose
        ``email_verified`` claim is false is matched by group only.
        """
        email = _text(claims.get("email"))
        verified = claims.get("email_verified") is not False
        key = email.lower() if email and verified else None
        groups = _groups(claims.get(self.group_claim)) if self.group_claim else set()
        if key in self.by_email.admins or groups & self.by_group.admins:
            return Access(ADMIN, email)
        if key in self.by_email.executives or groups & self.by_group.executives:
            return Access(EXECUTIVE, email)
        regions: set[str] = set(self.by_email.regions.get(key, ())) if key else set()
        for group in groups:
            regions.update(self.by_group.regions.get(group, ()))
        if regions:
            return Access(REGIONAL, email, tuple(sorted(regions)))
        return Access(NO_ACCESS, email, ())


def parse_policy(table: Mapping[str, Any] | None) -> AccessPolicy:
    """Read the ``[access]`` table (None or empty: nobody is listed).

    Raises :class:`AccessConfigError` on an unknown key (a typo such as ``admin`` would
    otherwise lock people out silently), a value of the wrong type or a group grant without
    ``group_claim``.
    """
    table = dict(table or {})
    _reject_unknown(table, _KEYS, "[access]")
    group_claim = table.get("group_claim")
    if group_claim is not None and (not isinstance(group_claim, str) or not group_claim):
        raise AccessConfigError("[access] group_claim must be the name of a claim, a string")
    groups = dict(table.get("groups") or {})
    _reject_unknown(groups, _GROUP_KEYS, "[access.groups]")
    if groups and not group_claim:
        raise AccessConfigError(
            "[access.groups] needs group_claim in [access]: the claim of the identity token "
            'that lists the user\'s groups (e.g. group_claim = "groups")'
        )
    return AccessPolicy(
        by_email=_grants(table, "[access]", lower=True),
        by_group=_grants(groups, "[access.groups]", lower=False),
        group_claim=group_claim,
    )


def _grants(table: Mapping[str, Any], where: str, *, lower: bool) -> _Grants:
    """Grants of one table; ``lower``: the names are e-mail addresses (compared in lower case).
    Region names are kept as written: they must match the store's."""

    def names(values: Any, what: str, lower: bool = lower) -> list[str]:
        if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
            raise AccessConfigError(f"{where} {what} must be a list of strings")
        return [v.strip().lower() if lower else v.strip() for v in values if v.strip()]

    def who(name: str) -> str:
        return name.strip().lower() if lower else name.strip()

    regions = table.get("regions") or {}
    if not isinstance(regions, Mapping):
        raise AccessConfigError(f"{where} regions must be a table: who = [regions]")
    return _Grants(
        executives=frozenset(names(table.get("executives", []), "executives")),
        admins=frozenset(names(table.get("admins", []), "admins")),
        regions={
            who(name): tuple(names(listed, f'regions."{name}"', lower=False))
            for name, listed in regions.items()
        },
    )


def _reject_unknown(table: Mapping[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise AccessConfigError(
            f"{where} has unknown keys {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _groups(value: Any) -> set[str]:
    """A group claim as a set: a list of names, or one name (some providers send a string)."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, Iterable):
        return {str(v) for v in value}
    return set()

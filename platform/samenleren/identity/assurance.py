"""The minimum assurance level of a login (`acr`), as OpenID NLGov lets a tenant ask for.

A tenant may set a minimum level (`Tenant.sso_acr_minimum`). The login then asks the IdP for
that level or a higher one (`acr_values`, OpenID Connect Core 3.1.2.1) and refuses an ID token
whose `acr` is not at least the minimum. Levels are strings; the platform compares only levels
on one known ladder (the eIDAS levels the Dutch brokers state, and the eToegang classes), so a
value it cannot place is refused, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Known levels, lowest first, per ladder.
LADDERS: tuple[tuple[str, ...], ...] = (
    (
        "http://eidas.europa.eu/LoA/low",
        "http://eidas.europa.eu/LoA/substantial",
        "http://eidas.europa.eu/LoA/high",
    ),
    (
        "urn:etoegang:core:assurance-class:loa1",
        "urn:etoegang:core:assurance-class:loa2",
        "urn:etoegang:core:assurance-class:loa2plus",
        "urn:etoegang:core:assurance-class:loa3",
        "urn:etoegang:core:assurance-class:loa4",
    ),
)

KNOWN_LEVELS: tuple[str, ...] = tuple(level for ladder in LADDERS for level in ladder)


def _ladder_of(level: str) -> tuple[str, ...] | None:
    return next((ladder for ladder in LADDERS if level in ladder), None)


def requested_levels(minimum: str | None) -> list[str]:
    """The levels to ask for (`acr_values`, in order of preference): the minimum and every
    higher level of its ladder; empty when the tenant sets no minimum."""
    if not minimum:
        return []
    ladder = _ladder_of(minimum)
    if ladder is None:
        return [minimum]
    return list(ladder[ladder.index(minimum) :])


def shortfall(minimum: str | None, claims: Mapping[str, Any]) -> str | None:
    """Why the ID token's `acr` does not meet the minimum (for the log), or None when it does
    (or when there is no minimum)."""
    if not minimum:
        return None
    acr = claims.get("acr")
    if not isinstance(acr, str) or not acr:
        return f"the ID token states no assurance level (acr); at least {minimum} is required"
    if acr not in requested_levels(minimum):
        return f"assurance level {acr[:200]} is below the required {minimum}"
    return None

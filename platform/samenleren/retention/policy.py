"""Retention periods per tenant per kind of data: the profile's defaults, the legal bounds,
and the programme admin's changes.

A tenant starts from a named profile (`Tenant.retention_profile`, from its manifest): the
selection list its kind of public body works under. The programme admin may change a period
within the legal bounds of the kind; a period outside them is refused whole, with a message,
and nothing changes. Sources and assumptions: `docs/privacy/retention.md`.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from samenleren.audit.events import AuditAction
from samenleren.audit.pruning import MINIMUM_MONTHS as AUDIT_MINIMUM_MONTHS
from samenleren.audit.services import record
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.tenancy import require_tenant
from samenleren.identity.models import User
from samenleren.retention.models import RetentionPeriod
from samenleren.tenants.services import require_programme_admin

MONTHS = "months"
DAYS = "days"


@dataclass(frozen=True)
class Kind:
    key: str
    label: object
    #: What the period counts from, for the settings page and the register.
    starts: object
    unit: str
    #: The legal bounds: below `minimum` the Archiefwet's selection list (or the BIO, for the
    #: audit log) is broken; above `maximum` the AVG's storage limitation is.
    minimum: int
    maximum: int
    #: The selection list's term is the earliest moment of destruction: the profile's default
    #: is then the minimum too (a province may not go below its 10 years).
    floor_is_default: bool = False

    def minimum_for(self, profile: str) -> int:
        if self.floor_is_default:
            return max(self.minimum, profile_defaults(profile)[self.key])
        return self.minimum


#: The kinds of data, in the order the settings page and the register show them.
KINDS: dict[str, Kind] = {
    kind.key: kind
    for kind in (
        Kind(
            "trajectory_records",
            _l("Trajectory records"),
            _l("after the employee left"),
            MONTHS,
            minimum=84,
            maximum=240,
            floor_is_default=True,
        ),
        Kind(
            "coaching_notes",
            _l("Confidential coaching notes"),
            _l("after the trajectory ended"),
            MONTHS,
            minimum=1,
            maximum=24,
        ),
        Kind(
            "ratings",
            _l("Ratings of expected results"),
            _l("after the employee left"),
            MONTHS,
            minimum=84,
            maximum=240,
            floor_is_default=True,
        ),
        Kind("mails", _l("Mails"), _l("after sending"), MONTHS, minimum=1, maximum=24),
        Kind(
            "audit_log",
            _l("Audit log"),
            _l("after the event"),
            MONTHS,
            minimum=AUDIT_MINIMUM_MONTHS,
            maximum=120,
        ),
        Kind("exports", _l("Exports"), _l("after they were made"), DAYS, minimum=1, maximum=30),
    )
}

#: The defaults per profile (see docs/privacy/retention.md for where each comes from).
PROFILES: dict[str, dict[str, int]] = {
    # Provinces: personnel development records 10 years after leaving.
    "province": {
        "trajectory_records": 120,
        "coaching_notes": 12,
        "ratings": 120,
        "mails": 6,
        "audit_log": 36,
        "exports": 7,
    },
    # Municipalities: 7 years after leaving.
    "municipality": {
        "trajectory_records": 84,
        "coaching_notes": 12,
        "ratings": 84,
        "mails": 6,
        "audit_log": 36,
        "exports": 7,
    },
}
PROFILE_LABELS = {"province": _l("Province"), "municipality": _l("Municipality")}


def profile_defaults(profile: str) -> dict[str, int]:
    return dict(PROFILES.get(profile, PROFILES["province"]))


def periods() -> dict[str, int]:
    """The current tenant's period per kind: its own where set, else its profile's (1 query)."""
    tenant = require_tenant()
    values = profile_defaults(tenant.retention_profile)
    for kind, amount in db.session.execute(select(RetentionPeriod.kind, RetentionPeriod.amount)):
        if kind in values:
            values[kind] = amount
    return values


def describe(kind: str, amount: int) -> str:
    """ "12 months", "7 days": a period in its kind's unit."""
    if KINDS[kind].unit == DAYS:
        return gettext("%(num)s days", num=amount)
    return gettext("%(num)s months", num=amount)


def update_periods(values: dict[str, str], actor: User) -> list[str]:
    """Save the admin's periods (a number per kind, in the kind's unit), or refuse all of them
    (`InvalidInput`) when one is not a whole number or lies outside its legal bounds. Each
    changed period is audited. Returns the kinds that changed."""
    require_programme_admin(actor)
    profile = require_tenant().retention_profile
    current = periods()
    errors: dict[str, str] = {}
    wanted: dict[str, int] = {}
    for key, kind in KINDS.items():
        raw = (values.get(key) or "").strip()
        try:
            amount = int(raw)
        except ValueError:
            errors[key] = gettext("Give a whole number.")
            continue
        minimum = kind.minimum_for(profile)
        if amount < minimum:
            errors[key] = gettext(
                "At least %(minimum)s: a shorter period is below the legal minimum.",
                minimum=describe(key, minimum),
            )
        elif amount > kind.maximum:
            errors[key] = gettext(
                "At most %(maximum)s: personal data may not be kept longer than needed.",
                maximum=describe(key, kind.maximum),
            )
        else:
            wanted[key] = amount
    if errors:
        raise InvalidInput(errors)
    stored = {row.kind: row for row in db.session.scalars(select(RetentionPeriod))}
    changed = []
    for key, amount in wanted.items():
        if amount == current[key]:
            continue
        row = stored.get(key)
        if row is None:
            row = RetentionPeriod(kind=key, amount=amount)
            db.session.add(row)
        row.amount = amount
        row.changed_by_id = actor.id
        record(
            AuditAction.RETENTION_CHANGED,
            actor=actor,
            details={"kind": key, "previous": current[key], KINDS[key].unit: amount},
        )
        changed.append(key)
    db.session.flush()
    return changed

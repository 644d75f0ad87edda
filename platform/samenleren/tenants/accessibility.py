"""The tenant's accessibility statement (toegankelijkheidsverklaring), after the national model:
the compliance status, what it covers, known issues, where to give feedback and when it was
last assessed. Until the programme admin fills it in, the platform default applies: the
platform's own WCAG 2.1 AA status, tested with axe-core on every page and role."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.formatting import local_today
from samenleren.core.tenant import Tenant
from samenleren.identity.models import User
from samenleren.tenants.services import require_programme_admin

#: The statuses of the national model (the Digital Accessibility decree).
STATUSES = {
    "A": _l("Fully compliant"),
    "B": _l("Partially compliant"),
    "C": _l("First measures taken"),
    "D": _l("No measures taken yet"),
    "E": _l("Not compliant"),
}
#: What the platform itself checks with axe-core in Chromium, on every page, for every role.
AXE_CHECKS = (
    ("wcag2a", "WCAG 2.0 A"),
    ("wcag2aa", "WCAG 2.0 AA"),
    ("wcag21a", "WCAG 2.1 A"),
    ("wcag21aa", "WCAG 2.1 AA"),
)
TEXT_LIMIT = 4000
_CONTACT = re.compile(r"^(mailto:)?[^@\s]+@[^@\s]+\.[^@\s]+$|^https://\S+$")


@dataclass(frozen=True)
class Statement:
    status: str
    scope: str
    known_issues: str
    contact: str
    assessed_on: date | None
    #: True while the tenant has not written its own (the platform default is shown).
    default: bool


def statement_of(tenant: Tenant) -> Statement:
    stored = tenant.accessibility_statement or {}
    if not stored:
        return Statement(
            status="B",
            scope="",
            known_issues="",
            contact="",
            assessed_on=None,
            default=True,
        )
    assessed = stored.get("assessed_on")
    return Statement(
        status=stored.get("status", "B"),
        scope=stored.get("scope", ""),
        known_issues=stored.get("known_issues", ""),
        contact=stored.get("contact", ""),
        assessed_on=date.fromisoformat(assessed) if assessed else None,
        default=False,
    )


def update_statement(tenant: Tenant, values: dict[str, str], actor: User) -> None:
    """Save the statement from the form's fields, or refuse it whole (`InvalidInput`)."""
    require_programme_admin(actor)
    errors: dict[str, str] = {}
    status = values.get("status", "").strip()
    if status not in STATUSES:
        errors["status"] = gettext("Choose a status from the list.")
    texts = {name: values.get(name, "").strip() for name in ("scope", "known_issues")}
    for name, text in texts.items():
        if len(text) > TEXT_LIMIT:
            errors[name] = gettext("Use at most %(limit)s characters.", limit=TEXT_LIMIT)
    if not texts["scope"]:
        errors["scope"] = gettext("Say which pages and services the statement covers.")
    contact = values.get("contact", "").strip()
    if not _CONTACT.match(contact) or len(contact) > 320:
        errors["contact"] = gettext("Give an e-mail address or an https:// address.")
    assessed_on = None
    raw_day = values.get("assessed_on", "").strip()
    try:
        assessed_on = date.fromisoformat(raw_day)
    except ValueError:
        errors["assessed_on"] = gettext("Give a date as year-month-day, e.g. 2026-03-31.")
    if assessed_on is not None and assessed_on > local_today():
        errors["assessed_on"] = gettext("The date of the assessment cannot be in the future.")
    if errors:
        raise InvalidInput(errors)
    assert assessed_on is not None
    tenant.accessibility_statement = {
        "status": status,
        **texts,
        "contact": contact,
        "assessed_on": assessed_on.isoformat(),
    }
    record(
        AuditAction.ACCESSIBILITY_STATEMENT_CHANGED,
        actor=actor,
        details={"status": status, "assessed_on": assessed_on.isoformat()},
    )
    db.session.flush()

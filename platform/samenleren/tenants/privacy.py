"""The tenant's privacy statement: a platform part that says what Samen Leren processes and who
sees it (the same for every tenant, true of the code), and the tenant's own part, written by the
programme admin: the privacy officer's (FG) contact and anything the organisation adds."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.tenant import Tenant
from samenleren.identity.models import User
from samenleren.tenants.services import require_programme_admin

TEXT_LIMIT = 8000
_CONTACT = re.compile(r"^(mailto:)?[^@\s]+@[^@\s]+\.[^@\s]+$|^https://\S+$")


@dataclass(frozen=True)
class PrivacyStatement:
    #: The privacy officer's e-mail or https address ("" until the admin writes it).
    dpo_contact: str
    #: The organisation's own addition (plain text, paragraphs separated by blank lines).
    text: str

    @property
    def paragraphs(self) -> list[str]:
        return [part.strip() for part in re.split(r"\n\s*\n", self.text) if part.strip()]


def privacy_statement_of(tenant: Tenant) -> PrivacyStatement:
    stored = tenant.privacy_statement or {}
    return PrivacyStatement(dpo_contact=stored.get("dpo_contact", ""), text=stored.get("text", ""))


def update_privacy_statement(tenant: Tenant, values: dict[str, str], actor: User) -> None:
    """Save the tenant's part, or refuse it whole (`InvalidInput`)."""
    require_programme_admin(actor)
    errors: dict[str, str] = {}
    contact = values.get("dpo_contact", "").strip()
    if not _CONTACT.match(contact) or len(contact) > 320:
        errors["dpo_contact"] = gettext("Give an e-mail address or an https:// address.")
    text = values.get("text", "").replace("\r\n", "\n").strip()
    if len(text) > TEXT_LIMIT:
        errors["text"] = gettext("Use at most %(limit)s characters.", limit=TEXT_LIMIT)
    if errors:
        raise InvalidInput(errors)
    tenant.privacy_statement = {"dpo_contact": contact, "text": text}
    record(AuditAction.PRIVACY_STATEMENT_CHANGED, actor=actor)
    db.session.flush()

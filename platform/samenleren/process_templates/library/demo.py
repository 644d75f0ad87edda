"""The model library in the demo: the built-in Flevoland model and one tenant's own variant,
made and shared through the services as a programme admin would."""

from __future__ import annotations

import copy

from sqlalchemy import select

from samenleren.core.extensions import db
from samenleren.core.tenancy import require_tenant
from samenleren.identity.models import Role, RoleAssignment, User
from samenleren.process_templates import drafts
from samenleren.process_templates.library.services import ensure_builtin, publish_to_library
from samenleren.process_templates.models import LibraryEntry, ProcessTemplate
from samenleren.process_templates.services import (
    FLEVOLAND_KEY,
    builtin_definition,
)

VARIANT_KEY = "met_certificaat"
VARIANT_NAME = {
    "nl": "Flevolands model met certificaat",
    "en": "Flevoland model with a certificate",
    "fy": "Flevolânsk model mei sertifikaat",
}
VARIANT_DESCRIPTION = {
    "nl": "Het Flevolandse model, met als laatste stap het uitreiken van het certificaat twee "
    "weken na de training.",
    "en": "The Flevoland model, with handing out the certificate two weeks after the training "
    "as its last step.",
}
CERTIFICATE_STEP = {
    "key": "certificate",
    "name": {"nl": "Certificaat uitgereikt", "en": "Certificate handed out", "fy": "Sertifikaat"},
    "kind": "milestone",
    "participants": ["learner"],
    "responsible": ["programme_admin"],
    "timing": {"anchor": "edition_end", "offset_days": 14},
}


def seed_library() -> None:
    """The built-in entry, and, when the library has no shared entry yet, the current tenant's
    variant of the Flevoland model (with a certificate step) published and shared by its first
    programme admin. Flevoland itself shares nothing: its model is the built-in one."""
    ensure_builtin()
    tenant = require_tenant()
    shared = db.session.scalar(select(LibraryEntry.id).where(LibraryEntry.built_in.is_(False)))
    if tenant.slug == FLEVOLAND_KEY or shared is not None:
        db.session.commit()
        return
    admin = db.session.scalar(
        select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role == Role.PROGRAMME_ADMIN, User.active.is_(True))
        .order_by(User.name)
        .limit(1)
    )
    if admin is None:
        db.session.commit()
        return
    template = db.session.scalar(select(ProcessTemplate).where(ProcessTemplate.key == VARIANT_KEY))
    if template is None:
        template = ProcessTemplate(key=VARIANT_KEY, name=dict(VARIANT_NAME), is_default=False)
        db.session.add(template)
        db.session.flush()
    version = drafts.latest_published(template)
    if version is None:
        definition = copy.deepcopy(builtin_definition(FLEVOLAND_KEY))
        definition["steps"].append(copy.deepcopy(CERTIFICATE_STEP))
        draft = drafts.draft_of(template) or drafts.new_draft(
            template, definition, admin, origin="Flevoland model (built in)"
        )
        version = drafts.publish_draft(draft, admin)
    publish_to_library(version, dict(VARIANT_NAME), dict(VARIANT_DESCRIPTION), admin)
    db.session.commit()

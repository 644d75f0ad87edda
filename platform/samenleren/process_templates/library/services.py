"""The model library shared by all tenants.

A tenant's programme administrator shares a *published* version of a process template in the
library; every tenant's administrators can browse the library and adopt an entry, which gives
their own tenant a new template whose first version is a draft (`drafts.new_draft`) to adapt and
publish. Only the template leaves the tenant: the definition, the names and descriptions the
admin typed, and the organisation's name; never a person's name or id. The built-in Flevoland
model is always in the library (`ensure_builtin`), whatever the database holds.

`LibraryEntry` belongs to no tenant, so its queries are not tenant-scoped: which entries a
tenant may *change* (withdraw) is decided here, by `publisher_tenant_id`.
"""

from __future__ import annotations

import re
import uuid

from flask_babel import force_locale, gettext
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.core.config import LANGUAGES
from samenleren.core.db import utcnow
from samenleren.core.errors_input import FORM, InvalidInput
from samenleren.core.extensions import db
from samenleren.core.tenancy import current_tenant, require_tenant
from samenleren.identity.models import Role, User
from samenleren.process_templates import drafts
from samenleren.process_templates.definition import SCHEMA_VERSION, TemplateDefinition
from samenleren.process_templates.models import (
    LibraryEntry,
    ProcessTemplate,
    TemplateVersion,
    VersionStatus,
)
from samenleren.process_templates.services import (
    FLEVOLAND_KEY,
    FLEVOLAND_NAME,
    builtin_definition,
)

NAME_LIMIT = 120
DESCRIPTION_LIMIT = 2_000
#: Who made the Flevoland model (README): the publisher of the built-in entry.
BUILTIN_PUBLISHER = "Provincie Flevoland"
BUILTIN_DESCRIPTION = {
    "nl": "Het model waarmee de provincie Flevoland samen leren begon: leerdoelen, intake met de "
    "leidinggevende, training, vertrouwelijke voortgangsgesprekken, evaluatie, borgingsbijeenkomst "
    "en terugkomdag.",
    "en": "The model the province of Flevoland started learning together with: learning goals, "
    "an intake with the manager, training, confidential progress conversations, evaluation, a "
    "consolidation meeting and a return day.",
    "fy": "It model dêr't de provinsje Flevolân tegearre learen mei begûn: leardoelen, yntake "
    "mei de liedinggjouwende, training, fertroulike fuortgongspetearen, evaluaasje, "
    "boargingsgearkomste en weromkommedei.",
}
_MARKUP = re.compile(r"[<>]")


def _require_programme_admin(actor: User) -> None:
    if not actor.has_role(Role.PROGRAMME_ADMIN):
        raise InvalidInput.form(gettext("Only the programme administrator manages process models."))


# --- the built-in entry -----------------------------------------------------------------------


def ensure_builtin() -> bool:
    """Put the Flevoland model in the library if it is not there (idempotent, race-safe).

    True when it was added (flushed; the caller commits).
    """
    exists = db.session.scalar(select(LibraryEntry.id).where(LibraryEntry.key == FLEVOLAND_KEY))
    if exists is not None:
        return False
    return _add_builtin()


def _add_builtin() -> bool:
    definition = builtin_definition(FLEVOLAND_KEY)
    entry = LibraryEntry(
        key=FLEVOLAND_KEY,
        name=dict(FLEVOLAND_NAME),
        description=dict(BUILTIN_DESCRIPTION),
        definition=definition,
        schema_version=definition["schema_version"],
        publisher_name=BUILTIN_PUBLISHER,
        publisher_tenant_id=None,
        source_template_key=FLEVOLAND_KEY,
        source_version_number=1,
        built_in=True,
    )
    try:
        with db.session.begin_nested():
            db.session.add(entry)
    except IntegrityError:
        return False  # another request added it at the same moment
    return True


# --- reading ----------------------------------------------------------------------------------


def library_entries() -> list[LibraryEntry]:
    """Every entry that is not withdrawn: the built-in model first, then the newest first.

    Puts the built-in model back when it is missing (flushed; the caller commits).
    """
    query = (
        select(LibraryEntry)
        .where(LibraryEntry.withdrawn_at.is_(None))
        .order_by(LibraryEntry.built_in.desc(), LibraryEntry.published_at.desc())
    )
    entries = list(db.session.scalars(query))
    if not any(entry.built_in for entry in entries):
        _add_builtin()
        entries = list(db.session.scalars(query))
    return entries


def get_entry(entry_id: uuid.UUID) -> LibraryEntry | None:
    """An entry that is in the library now (withdrawn entries are gone for everyone)."""
    if entry_id is None:
        return None
    entry = db.session.scalar(
        select(LibraryEntry).where(LibraryEntry.id == entry_id, LibraryEntry.withdrawn_at.is_(None))
    )
    return entry


def own_entry(entry_id: uuid.UUID) -> LibraryEntry | None:
    """An entry in the library published by the current tenant (None for anyone else's)."""
    entry = get_entry(entry_id)
    tenant = current_tenant()
    if entry is None or tenant is None or entry.publisher_tenant_id != tenant.id:
        return None
    return entry


def entries_of_version(version: TemplateVersion) -> list[LibraryEntry]:
    """The current tenant's library entries (not withdrawn) made from `version`."""
    tenant = require_tenant()
    return list(
        db.session.scalars(
            select(LibraryEntry).where(
                LibraryEntry.publisher_tenant_id == tenant.id,
                LibraryEntry.source_template_key == version.template.key,
                LibraryEntry.source_version_number == version.number,
                LibraryEntry.withdrawn_at.is_(None),
            )
        )
    )


def own_entries() -> list[LibraryEntry]:
    tenant = require_tenant()
    return list(
        db.session.scalars(
            select(LibraryEntry)
            .where(
                LibraryEntry.publisher_tenant_id == tenant.id,
                LibraryEntry.withdrawn_at.is_(None),
            )
            .order_by(LibraryEntry.published_at.desc())
        )
    )


# --- publishing and withdrawing ---------------------------------------------------------------


def _clean_texts(texts: dict[str, str], limit: int, prefix: str) -> tuple[dict, dict]:
    """Texts per language, trimmed (blank ones left out), and the errors per field."""
    clean, errors = {}, {}
    for lang in LANGUAGES:
        text = (texts.get(lang) or "").strip()
        if not text:
            continue
        if len(text) > limit:
            errors[f"{prefix}_{lang}"] = gettext("At most %(count)d characters.", count=limit)
        elif _MARKUP.search(text):
            errors[f"{prefix}_{lang}"] = gettext("Leave out < and >: no markup.")
        else:
            clean[lang] = text
    return clean, errors


def publish_to_library(
    version: TemplateVersion, name: dict[str, str], description: dict[str, str], actor: User
) -> LibraryEntry:
    """Share a published version of the current tenant in the library; audited here.

    The definition is validated again (a version stored before a rule existed must not spread).
    What is copied: the definition and the texts given here, the organisation's name and id.
    """
    _require_programme_admin(actor)
    tenant = require_tenant()
    if version.status is not VersionStatus.PUBLISHED:
        raise InvalidInput.form(gettext("Only a published version can be shared."))
    clean_name, errors = _clean_texts(name, NAME_LIMIT, "name")
    clean_description, description_errors = _clean_texts(
        description, DESCRIPTION_LIMIT, "description"
    )
    errors.update(description_errors)
    if not clean_name.get(tenant.default_locale) and f"name_{tenant.default_locale}" not in errors:
        errors[f"name_{tenant.default_locale}"] = gettext(
            "Give the model a name in the organisation's language."
        )
    try:
        definition = TemplateDefinition.model_validate(version.definition)
    except ValidationError:
        errors[FORM] = gettext("This version is not valid, so it cannot be shared.")
    if errors:
        raise InvalidInput(errors)
    template = version.template
    if entries_of_version(version):
        raise InvalidInput.form(gettext("This version is in the library already."))
    entry = LibraryEntry(
        key=f"{tenant.slug}.{template.key}.{version.number}.{uuid.uuid4().hex[:8]}",
        name=clean_name,
        description=clean_description,
        definition=definition.model_dump(mode="json"),
        schema_version=SCHEMA_VERSION,
        publisher_name=tenant.name,
        publisher_tenant_id=tenant.id,
        source_template_key=template.key,
        source_version_number=version.number,
        built_in=False,
        published_at=utcnow(),
    )
    db.session.add(entry)
    db.session.flush()
    record(
        AuditAction.LIBRARY_PUBLISHED,
        actor=actor,
        subject_type="template_version",
        subject_id=version.id,
        details={"entry": str(entry.id), "template": template.key, "number": version.number},
    )
    return entry


def withdraw(entry: LibraryEntry, actor: User) -> None:
    """Take the current tenant's own entry out of the library; templates adopted from it stay."""
    _require_programme_admin(actor)
    tenant = current_tenant()
    if entry.built_in or tenant is None or entry.publisher_tenant_id != tenant.id:
        raise InvalidInput.form(gettext("Only the organisation that shared a model withdraws it."))
    if entry.withdrawn_at is not None:
        return
    entry.withdrawn_at = utcnow()
    db.session.flush()
    record(
        AuditAction.LIBRARY_WITHDRAWN,
        actor=actor,
        subject_type="library_entry",
        subject_id=entry.id,
        details={"entry": str(entry.id), "template": entry.source_template_key},
    )


# --- adopting ---------------------------------------------------------------------------------


def _unique_key(base: str) -> str:
    base = re.sub(r"[^a-z0-9_]+", "_", base.lower()).strip("_")
    if not base or not base[0].isalpha():
        base = f"model_{base}".rstrip("_")
    base = base[:34]
    taken = set(db.session.scalars(select(ProcessTemplate.key)))
    if base not in taken:
        return base
    number = 2
    while f"{base}_{number}" in taken:
        number += 1
    return f"{base}_{number}"


def provenance_label(entry: LibraryEntry, locale: str) -> str:
    """ "Flevolands model — Provincie Flevoland, versie 3" in `locale`."""
    with force_locale(locale):
        return gettext(
            "%(name)s — %(publisher)s, version %(number)d",
            name=entry.name_in(locale),
            publisher=entry.publisher_name,
            number=entry.source_version_number,
        )


def adopt(entry: LibraryEntry, actor: User) -> TemplateVersion:
    """A new template of the current tenant from `entry`; its first version is a draft.

    Returns the draft, for the admin to adapt and publish. The template records where it came
    from (`adopted_from_id`, `adopted_from_label`), and so does the draft's `origin`.
    """
    _require_programme_admin(actor)
    if entry.withdrawn_at is not None:
        raise InvalidInput.form(gettext("This model is no longer in the library."))
    tenant = require_tenant()
    label = provenance_label(entry, tenant.default_locale)
    template = ProcessTemplate(
        key=_unique_key(entry.source_template_key),
        name={lang: text[:200] for lang, text in entry.name.items()},
        is_default=False,
        adopted_from_id=entry.id,
        adopted_from_label=label[:300],
    )
    db.session.add(template)
    db.session.flush()
    draft = drafts.new_draft(template, entry.definition, actor, origin=label)
    record(
        AuditAction.LIBRARY_ADOPTED,
        actor=actor,
        subject_type="process_template",
        subject_id=template.id,
        details={"entry": str(entry.id), "template": template.key},
    )
    return draft

"""Drafts of process templates: starting, publishing and discarding them, and the default.

A draft is a `TemplateVersion` with status "draft" (at most one per template), edited by the
editor (`editor/`), made by importing a file (`versions.files`) or by adopting a model from the
library (`library.services`). Publishing refuses while `validation.validate_definition` finds any
problem. A published version never changes again: running trajectories point at it, new
trajectories start on the newest published version of the default template
(`services.current_version`).
"""

from __future__ import annotations

import copy
import re
import uuid
from typing import Protocol

from flask_babel import gettext
from sqlalchemy import Connection, event, func, inspect, select
from sqlalchemy.orm import Mapper
from sqlalchemy.orm.state import InstanceState

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.core.db import utcnow
from samenleren.core.errors_input import FORM, InvalidInput
from samenleren.core.extensions import db
from samenleren.core.tenancy import current_tenant
from samenleren.identity.models import User
from samenleren.process_templates.definition import SCHEMA_VERSION, TemplateDefinition
from samenleren.process_templates.models import ProcessTemplate, TemplateVersion, VersionStatus
from samenleren.process_templates.validation import Problem, validate_definition

#: `origin` of a draft started from a published version: "version 3".
EDITED_ORIGIN = re.compile(r"^version (\d+)$")


class Actor(Protocol):
    """Who changes a template, as the audit log names them: a user, or the command line (no id)."""

    @property
    def id(self) -> uuid.UUID | None: ...

    @property
    def name(self) -> str: ...


class PublishedVersionChanged(RuntimeError):
    """Something tried to change the content of a published version (never allowed)."""


class DraftNotPublishable(InvalidInput):
    """Publishing refused: the draft still has `problems` (each one also in `errors`)."""

    def __init__(self, errors: dict[str, str], problems: list[Problem]) -> None:
        super().__init__(errors)
        self.problems = problems


def draft_of(template: ProcessTemplate) -> TemplateVersion | None:
    return db.session.scalar(
        select(TemplateVersion).where(
            TemplateVersion.template_id == template.id,
            TemplateVersion.status == VersionStatus.DRAFT,
        )
    )


def latest_published(template: ProcessTemplate) -> TemplateVersion | None:
    return db.session.scalar(
        select(TemplateVersion)
        .where(
            TemplateVersion.template_id == template.id,
            TemplateVersion.status == VersionStatus.PUBLISHED,
        )
        .order_by(TemplateVersion.number.desc())
        .limit(1)
    )


def _lock(template: ProcessTemplate) -> None:
    """Serialise draft changes of one template (two admins starting a draft at once)."""
    db.session.execute(
        select(ProcessTemplate.id).where(ProcessTemplate.id == template.id).with_for_update()
    )


def new_draft(
    template: ProcessTemplate, definition: dict, actor: Actor, origin: str = ""
) -> TemplateVersion:
    """A draft of `template` with this (possibly still invalid) definition; the next number."""
    _lock(template)
    if draft_of(template) is not None:
        raise InvalidInput.form(
            gettext("This process template already has a draft: finish or discard it first.")
        )
    number = db.session.execute(
        select(func.coalesce(func.max(TemplateVersion.number), 0)).where(
            TemplateVersion.template_id == template.id
        )
    ).scalar_one()
    draft = TemplateVersion(
        template_id=template.id,
        number=number + 1,
        status=VersionStatus.DRAFT,
        definition=copy.deepcopy(definition),
        origin=origin[:200],
    )
    db.session.add(draft)
    db.session.flush()
    record(
        AuditAction.TEMPLATE_DRAFT_STARTED,
        actor=actor,
        subject_type="template_version",
        subject_id=draft.id,
        details={"template": template.key, "number": draft.number, "origin": draft.origin},
    )
    return draft


def start_draft(template: ProcessTemplate, actor: User) -> TemplateVersion:
    """A draft that starts as a copy of the template's newest published version."""
    latest = latest_published(template)
    if latest is None:
        return new_draft(template, {"schema_version": SCHEMA_VERSION, "steps": []}, actor)
    return new_draft(template, latest.definition, actor, origin=f"version {latest.number}")


def _require_draft(version: TemplateVersion) -> None:
    if version.status is not VersionStatus.DRAFT:
        raise InvalidInput.form(gettext("This version is published; it cannot be changed."))


def problems_of(draft: TemplateVersion) -> list[Problem]:
    """What stands between the draft and publishing it, in the tenant's default language."""
    tenant = current_tenant()
    return validate_definition(draft.definition, tenant.default_locale if tenant else "nl")


def publish_draft(draft: TemplateVersion, actor: Actor) -> TemplateVersion:
    """Publish a valid draft: from now on it is immutable; audited. Refuses with the problems."""
    _require_draft(draft)
    problems = problems_of(draft)
    if problems:
        raise DraftNotPublishable(
            {
                FORM: gettext(
                    "Not published: the draft has %(count)d problems. Correct them first.",
                    count=len(problems),
                ),
                **{f"problem-{n}": p.message for n, p in enumerate(problems, start=1)},
            },
            problems,
        )
    normal = TemplateDefinition.model_validate(draft.definition).model_dump(mode="json")
    draft.definition = normal
    draft.__dict__.pop("_parsed", None)
    draft.status = VersionStatus.PUBLISHED
    draft.published_at = utcnow()
    draft.published_by_id = actor.id
    db.session.flush()
    record(
        AuditAction.TEMPLATE_PUBLISHED,
        actor=actor,
        subject_type="template_version",
        subject_id=draft.id,
        details={"template": draft.template.key, "number": draft.number},
    )
    return draft


def discard_draft(draft: TemplateVersion, actor: User) -> None:
    _require_draft(draft)
    record(
        AuditAction.TEMPLATE_DRAFT_DISCARDED,
        actor=actor,
        subject_type="template_version",
        subject_id=draft.id,
        details={"template": draft.template.key, "number": draft.number},
    )
    db.session.delete(draft)
    db.session.flush()


def save_draft_definition(draft: TemplateVersion, definition: dict) -> None:
    """Replace the draft's document (the editor's every save)."""
    _require_draft(draft)
    draft.definition = copy.deepcopy(definition)
    draft.__dict__.pop("_parsed", None)
    db.session.flush()


def make_default(template: ProcessTemplate, actor: User) -> None:
    """New trajectories start on this template's newest published version from now on."""
    if template.is_default:
        return
    if latest_published(template) is None:
        raise InvalidInput.form(
            gettext("Publish a version of this template before making it the default.")
        )
    for other in db.session.scalars(select(ProcessTemplate).where(ProcessTemplate.is_default)):
        other.is_default = False
    db.session.flush()
    template.is_default = True
    db.session.flush()
    record(
        AuditAction.TEMPLATE_MADE_DEFAULT,
        actor=actor,
        subject_type="process_template",
        subject_id=template.id,
        details={"template": template.key},
    )


# --- a published version never changes ----------------------------------------------------------


@event.listens_for(TemplateVersion, "before_update")
def _published_is_immutable(
    mapper: Mapper[TemplateVersion], connection: Connection, target: TemplateVersion
) -> None:
    state: InstanceState[TemplateVersion] = inspect(target)
    status = state.attrs.status.history
    was = status.deleted[0] if status.deleted else target.status
    if was is VersionStatus.PUBLISHED or was == VersionStatus.PUBLISHED.value:
        if state.attrs.definition.history.has_changes() or status.has_changes():
            raise PublishedVersionChanged(f"version {target.id} is published")

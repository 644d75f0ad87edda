"""Process templates: the built-in Flevoland model and the tenant's current version."""

from __future__ import annotations

import tomllib
import uuid
from functools import cache
from pathlib import Path

from sqlalchemy import select

from samenleren.core.db import utcnow
from samenleren.core.extensions import db
from samenleren.process_templates.definition import TemplateDefinition
from samenleren.process_templates.models import ProcessTemplate, TemplateVersion, VersionStatus

BUILTIN = Path(__file__).parent / "builtin"
FLEVOLAND_KEY = "flevoland"
FLEVOLAND_NAME = {"nl": "Flevolands model", "en": "Flevoland model", "fy": "Flevolânsk model"}


class NoPublishedTemplate(LookupError):
    """The tenant has no published process template to start trajectories on."""


@cache
def builtin_definition(name: str) -> dict:
    """A built-in template document, validated (a broken built-in fails loudly at first use)."""
    with (BUILTIN / f"{name}.toml").open("rb") as handle:
        document = tomllib.load(handle)
    TemplateDefinition.model_validate(document)
    return document


def ensure_default_template() -> ProcessTemplate:
    """Give the current tenant the Flevoland model as its first template (onboarding)."""
    existing = db.session.scalar(select(ProcessTemplate).where(ProcessTemplate.is_default))
    if existing is not None:
        return existing
    template = ProcessTemplate(key=FLEVOLAND_KEY, name=dict(FLEVOLAND_NAME), is_default=True)
    db.session.add(template)
    db.session.flush()
    db.session.add(
        TemplateVersion(
            template_id=template.id,
            number=1,
            status=VersionStatus.PUBLISHED,
            definition=builtin_definition(FLEVOLAND_KEY),
            origin="Flevoland model (built in)",
            published_at=utcnow(),
        )
    )
    db.session.flush()
    return template


def current_version(template_id: uuid.UUID | None = None) -> TemplateVersion:
    """The latest published version of a template (`template_id`), by default of the tenant's
    default template: new trajectories use it."""
    chosen = (
        ProcessTemplate.is_default if template_id is None else ProcessTemplate.id == template_id
    )
    version = db.session.scalar(
        select(TemplateVersion)
        .join(ProcessTemplate, ProcessTemplate.id == TemplateVersion.template_id)
        .where(chosen, TemplateVersion.status == VersionStatus.PUBLISHED)
        .order_by(TemplateVersion.number.desc())
        .limit(1)
    )
    if version is None:
        raise NoPublishedTemplate
    return version

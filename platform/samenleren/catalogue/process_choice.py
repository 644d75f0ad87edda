"""Which process template a training or an edition follows: the tenant's default, or one of its
templates with a published version (the short-course model next to the standard one).

A trajectory keeps the version it started on; the choice only decides where new ones start
(`models.process_template_of`, read by trajectories.lifecycle).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask_babel import get_locale, gettext
from sqlalchemy import func, select

from samenleren.core.extensions import db
from samenleren.core.tenancy import current_tenant
from samenleren.process_templates.models import ProcessTemplate, TemplateVersion, VersionStatus


@dataclass(frozen=True)
class TemplateChoice:
    template_id: uuid.UUID
    name: str
    #: The version new trajectories start on now.
    version: int
    is_default: bool


def template_choices() -> list[TemplateChoice]:
    """The tenant's templates that have a published version, the default first (one query)."""
    tenant = current_tenant()
    fallback = tenant.default_locale if tenant is not None else "nl"
    locale = str(get_locale() or fallback)
    newest = (
        select(TemplateVersion.template_id, func.max(TemplateVersion.number).label("number"))
        .where(TemplateVersion.status == VersionStatus.PUBLISHED)
        .group_by(TemplateVersion.template_id)
        .subquery()
    )
    rows = db.session.execute(
        select(ProcessTemplate, newest.c.number).join(
            newest, newest.c.template_id == ProcessTemplate.id
        )
    ).all()
    choices = []
    for row in rows:
        template: ProcessTemplate = row[0]
        name = template.name_in(locale, fallback)
        choices.append(TemplateChoice(template.id, name, row[1], template.is_default))
    return sorted(choices, key=lambda choice: (not choice.is_default, choice.name.lower()))


def check_template_choice(template_id: uuid.UUID | None, errors: dict[str, str]) -> None:
    """None (the default) or one of `template_choices()`; anything else is refused."""
    if template_id is None:
        return
    if template_id not in {choice.template_id for choice in template_choices()}:
        errors["process_template_id"] = gettext(
            "Choose a process template from the list (one with a published version)."
        )


def option_label(choice: TemplateChoice) -> str:
    return gettext("%(name)s (version %(number)d)", name=choice.name, number=choice.version)


def follows(template_id: uuid.UUID | None, choices: list[TemplateChoice]) -> TemplateChoice | None:
    """The template `template_id` (None: the default) among `choices`, with its version."""
    for choice in choices:
        if choice.template_id == template_id or (template_id is None and choice.is_default):
            return choice
    return None

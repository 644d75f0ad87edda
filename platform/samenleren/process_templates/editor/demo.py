"""The template editor in the demo: a draft in progress of the default template.

Made through the editor's own services, as a programme admin would with the forms: one more
progress conversation allowed, the return day six months after the edition, a rating of the
coach on the evaluation, and a new step not finished yet (nobody responsible), so the draft page
shows a problem to solve before it can be published.
"""

from __future__ import annotations

from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from samenleren.core.extensions import db
from samenleren.core.tenancy import require_tenant
from samenleren.identity.models import Role, RoleAssignment, User
from samenleren.process_templates import drafts
from samenleren.process_templates.editor.document import document, step_index
from samenleren.process_templates.editor.fields import add_field
from samenleren.process_templates.editor.steps import add_step, step_values, update_step
from samenleren.process_templates.models import ProcessTemplate, TemplateVersion


def _form(values: dict) -> MultiDict:
    pairs = []
    for key, value in values.items():
        if isinstance(value, bool):
            if value:
                pairs.append((key, "1"))
        elif isinstance(value, list):
            pairs.extend((key, item) for item in value)
        else:
            pairs.append((key, str(value)))
    return MultiDict(pairs)


def _change_step(draft: TemplateVersion, key: str, language: str, **changes: object) -> None:
    data = document(draft)
    values = step_values(data["steps"][step_index(data, key)])
    update_step(draft, key, _form({**values, **changes}), language)


def seed_draft() -> None:
    """A draft of the default template, once: only while it has just its first version."""
    template = db.session.scalar(select(ProcessTemplate).where(ProcessTemplate.is_default))
    if template is None:
        return
    versions = db.session.scalar(
        select(func.count())
        .select_from(TemplateVersion)
        .where(TemplateVersion.template_id == template.id)
    )
    if versions != 1:
        return
    admin = db.session.scalar(
        select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role == Role.PROGRAMME_ADMIN, User.active.is_(True))
        .order_by(User.name)
        .limit(1)
    )
    if admin is None:
        return
    language = require_tenant().default_locale
    draft = drafts.start_draft(template, admin)
    _change_step(draft, "progress", language, repeat_max="5")
    _change_step(draft, "return_day", language, offset_months="6")
    add_field(
        draft,
        "evaluation",
        _form(
            {
                "label_nl": "Cijfer voor de leercoach (1–5)",
                "label_en": "Rating for the learning coach (1–5)",
                "label_fy": "Sifer foar de learcoach (1–5)",
                "type": "rating",
                "editors": ["learner"],
                "readers": ["learner", "coach", "programme_admin"],
            }
        ),
        language,
    )
    add_step(
        draft,
        _form(
            {
                "name_nl": "Terugblik met de leidinggevende",
                "name_en": "Looking back with the manager",
                "name_fy": "Weromsjen mei de lieding",
                "kind": "conversation",
                "participants": ["learner", "manager"],
                "anchor": "step:return_day",
                "offset_months": "2",
                "reminders": "7, 1",
                "repeat_min": "1",
                "repeat_max": "1",
            }
        ),
        language,
    )
    db.session.commit()

"""Template files in the demo: a short process imported from a file, twice.

Made through the import service, as a programme admin would with the upload form: version 1 (a
short course: learning goals, training, evaluation) is imported and published; version 2 (the
evaluation optional, a return day added) is imported as a draft. The template's page then shows
both origins, and comparing version 1 with version 2 shows the changes.
"""

from __future__ import annotations

import copy

import tomli_w
from sqlalchemy import select

from samenleren.core.db import utcnow
from samenleren.core.extensions import db
from samenleren.core.tenancy import require_tenant
from samenleren.identity.models import Role, RoleAssignment, User
from samenleren.process_templates.models import ProcessTemplate
from samenleren.process_templates.services import builtin_definition
from samenleren.process_templates.versions.files import import_template_file

KEY = "short_course"
NAME = {"nl": "Korte cursus", "en": "Short course", "fy": "Koarte kursus"}


def _file(step_keys: list[str], optional: set[str], exported_from: dict) -> bytes:
    steps = {step["key"]: step for step in copy.deepcopy(builtin_definition("flevoland")["steps"])}
    chosen = []
    for key in step_keys:
        step = steps[key]
        if key in optional:
            step["optional"] = True
        chosen.append(step)
    document = {
        "schema_version": 1,
        "template": {"key": KEY, "name": NAME, "exported_from": exported_from},
        "steps": chosen,
    }
    return tomli_w.dumps(document).encode()


def seed_imported_template() -> None:
    """Once per tenant: the short course, version 1 published and version 2 a draft."""
    if db.session.scalar(select(ProcessTemplate.id).where(ProcessTemplate.key == KEY)):
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
    source = {
        "tenant": "Provincie Gelderland",
        "version": 1,
        "exported_at": utcnow().replace(microsecond=0),
    }
    first = _file(["learning_goals", "training", "evaluation"], set(), source)
    import_template_file(
        first, admin, default_language=language, filename="korte-cursus-v1.toml", publish=True
    )
    second = _file(
        ["learning_goals", "training", "evaluation", "return_day"],
        {"evaluation"},
        {**source, "version": 2},
    )
    import_template_file(second, admin, default_language=language, filename="korte-cursus-v2.toml")
    db.session.commit()

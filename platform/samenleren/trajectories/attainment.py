"""Goal attainment: which fields of a template version rate how far a learning goal was reached,
and who gives each rating. The programme dashboard and the exports both count them.
"""

from __future__ import annotations

import uuid

from samenleren.identity.models import Role
from samenleren.process_templates.definition import FieldType, TemplateDefinition
from samenleren.trajectories.confidentiality import FieldRef


def attainment_fields(
    version_id: uuid.UUID, definition: TemplateDefinition
) -> dict[FieldRef, Role]:
    """The goal-attainment ratings of a template version: per-goal ratings, each with who gives
    it (the manager where the manager fills it in, else the learner)."""
    fields = {}
    for step in definition.steps:
        for spec in step.fields:
            if spec.type is not FieldType.RATING or not spec.per_goal:
                continue
            if Role.MANAGER in spec.editors:
                fields[FieldRef(version_id, step.key, spec.key)] = Role.MANAGER
            elif Role.LEARNER in spec.editors:
                fields[FieldRef(version_id, step.key, spec.key)] = Role.LEARNER
    return fields

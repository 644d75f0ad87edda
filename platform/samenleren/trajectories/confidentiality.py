"""Who may read which recorded value: the only way values leave the database for display.

domain.md, "who may see what", as a ceiling per step kind and field type
(`samenleren.process_templates.definition.reader_ceiling`), narrowed by each field's `readers`.
Pages, exports and search all take values from here, so a progress note between learner and
coach cannot reach the manager, the trainer or the programme admin by any of them: a value the
viewer may not read is dropped here, before any template, export or error message sees it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from samenleren.extensions import db
from samenleren.identity.models import Role
from samenleren.process_templates.definition import FieldSpec, StepSpec, TemplateDefinition
from samenleren.trajectories.models import FieldValue, StepInstance


def may_read(step: StepSpec, spec: FieldSpec, relations: Iterable[Role]) -> bool:
    return bool(set(relations) & step.readers_of(spec))


@dataclass(frozen=True)
class FieldView:
    spec: FieldSpec
    #: The value, only when the viewer may read it.
    value: object
    readable: bool
    editable: bool


def readable_values(
    definition: TemplateDefinition,
    steps: Iterable[StepInstance],
    relations: frozenset[Role],
) -> dict[uuid.UUID, dict[str, object]]:
    """{step instance id: {field key: value}} holding only what `relations` may read (1 query)."""
    by_id = {step.id: step for step in steps}
    if not by_id or not relations:
        return {}
    rows = db.session.execute(
        select(FieldValue.step_instance_id, FieldValue.field_key, FieldValue.value).where(
            FieldValue.step_instance_id.in_(list(by_id))
        )
    ).all()
    visible: dict[uuid.UUID, dict[str, object]] = {}
    for step_id, key, value in rows:
        step_spec = definition.step(by_id[step_id].step_key)
        spec = step_spec.field(key) if step_spec else None
        if spec is not None and may_read(step_spec, spec, relations):
            visible.setdefault(step_id, {})[key] = value
    return visible


def field_views(
    step_spec: StepSpec, values: dict[str, object], relations: frozenset[Role]
) -> list[FieldView]:
    """The fields of one step the viewer may read or fill in, with what they may see."""
    views = []
    for spec in step_spec.fields:
        readable = may_read(step_spec, spec, relations)
        editable = bool(relations & set(spec.editors))
        if readable or editable:
            views.append(
                FieldView(
                    spec=spec,
                    value=values.get(spec.key) if readable else None,
                    readable=readable,
                    editable=editable,
                )
            )
    return views


def may_read_goals(definition: TemplateDefinition, relations: frozenset[Role]) -> bool:
    """The learning goals are readable where the template's goals field is (domain.md:
    the manager sees the goals of direct reports; the admin counts them per organisation goal)."""
    for step in definition.steps:
        for spec in step.fields:
            if spec.type.value == "goals":
                return may_read(step, spec, relations)
    return Role.LEARNER in relations or Role.COACH in relations

"""Who may read which recorded value: the only way values leave the database for display.

The programme's confidentiality rule is a ceiling per step kind and field type (a progress
conversation marked confidential stays between learner and coach, whatever a template says:
`samenleren.process_templates.definition.reader_ceiling`), narrowed by each field's `readers`.
Pages, exports and search all take values from here, so a progress note between learner and
coach cannot reach the manager, the trainer or the programme admin by any of them: a value the
viewer may not read is dropped here, before any template, export or error message sees it.

A confidential step says more than its fields: where and how it takes place (place, video link)
and why it was skipped are the learner's and the coach's business too. `step_texts` gives a
step's own texts to whoever may read them, `read_step` is how a page reads one step (values
and texts), and records every read of a confidential step in the audit log (which step, by
whom, in what part; never what it says), by the learner and the coach too. Who the coach is
is decided at the moment of reading (`relations_to`): a former coach reads nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import JSON, Select, String, and_, null, or_, select

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.core.extensions import db
from samenleren.identity.models import Role, User
from samenleren.process_templates.definition import FieldSpec, StepSpec, TemplateDefinition
from samenleren.trajectories.models import FieldValue, StepInstance, Trajectory

#: Who reads a confidential step's values and texts: its learner and its coach, nobody else.
CONFIDANTS = frozenset({Role.LEARNER, Role.COACH})


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
        if step_spec is not None and spec is not None and may_read(step_spec, spec, relations):
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
    """The learning goals are readable where the template's goals field is (the manager sees
    the goals of direct reports; the admin counts them per organisation goal)."""
    for step in definition.steps:
        for spec in step.fields:
            if spec.type.value == "goals":
                return may_read(step, spec, relations)
    return Role.LEARNER in relations or Role.COACH in relations


def filled_fields(
    definition_of: Mapping[uuid.UUID, TemplateDefinition],
    steps: Iterable[StepInstance],
    relations: frozenset[Role],
) -> dict[uuid.UUID, set[str]]:
    """{step instance id: keys of the fields that hold a value} (1 query), never the values.

    Only fields `relations` may read or fill in are named: whether a progress note was written
    is not the manager's business either. `definition_of` maps each step's trajectory id to the
    definition of its template version.
    """
    by_id = {step.id: step for step in steps}
    if not by_id or not relations:
        return {}
    rows = db.session.execute(
        select(FieldValue.step_instance_id, FieldValue.field_key).where(
            FieldValue.step_instance_id.in_(list(by_id))
        )
    ).all()
    filled: dict[uuid.UUID, set[str]] = {}
    for step_id, key in rows:
        step = by_id[step_id]
        step_spec = definition_of[step.trajectory_id].step(step.step_key)
        spec = step_spec.field(key) if step_spec else None
        if step_spec is None or spec is None:
            continue
        if may_read(step_spec, spec, relations) or relations & set(spec.editors):
            filled.setdefault(step_id, set()).add(key)
    return filled


@dataclass(frozen=True)
class FieldRef:
    """One field of one step of one template version: what a report asks values of."""

    template_version_id: uuid.UUID
    step_key: str
    field_key: str


def readable_refs(
    definitions: Mapping[uuid.UUID, TemplateDefinition],
    refs: Iterable[FieldRef],
    relations: frozenset[Role],
) -> list[FieldRef]:
    """The fields of `refs` whose values `relations` may read (unknown versions or fields: no)."""
    readable = []
    for ref in refs:
        definition = definitions.get(ref.template_version_id)
        step_spec = definition.step(ref.step_key) if definition else None
        spec = step_spec.field(ref.field_key) if step_spec else None
        if step_spec is not None and spec is not None and may_read(step_spec, spec, relations):
            readable.append(ref)
    return readable


def join_readable_values(
    query: Select,
    definitions: Mapping[uuid.UUID, TemplateDefinition],
    refs: Iterable[FieldRef],
    relations: frozenset[Role],
) -> tuple[Select, list[FieldRef]]:
    """`query` (which selects from `Trajectory`) with the values of `refs` outer-joined on,
    and the refs that were readable.

    For reports that aggregate over many trajectories in the query they run anyway: adds the
    columns `value_step_id`, `value_step_key`, `value_field` and `value` (NULL where there is
    none). Only fields `relations` may read are joined, checked per (template version, step,
    field) before the query is built, so a value nobody may read here never leaves the database.
    """
    readable = readable_refs(definitions, refs, relations)
    if not readable:
        return (
            query.add_columns(
                null().cast(StepInstance.id.type).label("value_step_id"),
                null().cast(String).label("value_step_key"),
                null().cast(String).label("value_field"),
                null().cast(JSON).label("value"),
            ),
            [],
        )
    wanted = or_(
        *(
            and_(
                Trajectory.template_version_id == ref.template_version_id,
                StepInstance.step_key == ref.step_key,
                FieldValue.field_key == ref.field_key,
            )
            for ref in readable
        )
    )
    step_keys = sorted({ref.step_key for ref in readable})
    joined = (
        query.outerjoin(
            StepInstance,
            and_(
                StepInstance.trajectory_id == Trajectory.id,
                StepInstance.step_key.in_(step_keys),
            ),
        )
        .outerjoin(FieldValue, and_(FieldValue.step_instance_id == StepInstance.id, wanted))
        .add_columns(
            StepInstance.id.label("value_step_id"),
            StepInstance.step_key.label("value_step_key"),
            FieldValue.field_key.label("value_field"),
            FieldValue.value.label("value"),
        )
    )
    return joined, readable


@dataclass(frozen=True)
class StepTexts:
    """What a step instance itself says besides its fields, as far as the viewer may read it."""

    location: str
    video_url: str
    skip_reason: str
    #: The step's texts were held back from the viewer (a confidential step).
    withheld: bool


def may_read_step_texts(spec: StepSpec, relations: frozenset[Role]) -> bool:
    """Anyone with a relation reads an ordinary step's place and skip reason; a confidential
    step's only its learner and coach."""
    return not spec.confidential or bool(relations & CONFIDANTS)


def step_texts(spec: StepSpec, step: StepInstance, relations: frozenset[Role]) -> StepTexts:
    """The free texts of `step` (place, video link, skip reason) for a viewer with `relations`."""
    if not may_read_step_texts(spec, relations):
        return StepTexts(location="", video_url="", skip_reason="", withheld=True)
    return StepTexts(
        location=step.location,
        video_url=step.video_url,
        skip_reason=step.skip_reason,
        withheld=False,
    )


@dataclass(frozen=True)
class StepRead:
    values: dict[str, object]
    texts: StepTexts


def read_step(
    trajectory: Trajectory,
    spec: StepSpec,
    step: StepInstance,
    relations: frozenset[Role],
    viewer: User,
) -> StepRead:
    """One step's values and texts as `viewer` may read them, the read recorded in the audit log.

    Recorded: every read of a confidential step that shows something recorded in it (by anyone,
    learner and coach included), and every read of values by someone who is neither learner nor
    coach. The event names the viewer and the step, never the values. It is written in the
    caller's transaction: the caller commits it.
    """
    definition = trajectory.template_version.content
    values = readable_values(definition, [step], relations).get(step.id, {})
    texts = step_texts(spec, step, relations)
    shown = bool(values) or bool(texts.location or texts.video_url or texts.skip_reason)
    confidential_read = spec.confidential and shown
    outsider_read = bool(values) and not relations & CONFIDANTS
    if confidential_read or outsider_read:
        record(
            AuditAction.VALUES_VIEWED,
            actor=viewer,
            subject_type="trajectory",
            subject_id=trajectory.id,
            details={"step": step.step_key, "occurrence": step.occurrence},
        )
    return StepRead(values=values, texts=texts)

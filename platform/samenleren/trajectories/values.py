"""The values filled in on a step: the form names of the template's fields, parsing what was
submitted, and saving what the actor may fill in.

Reading values back, with who may see what, goes through `samenleren.trajectories.confidentiality`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date

from flask_babel import get_locale, gettext
from sqlalchemy import select

from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.tenancy import current_tenant
from samenleren.core.text import control_characters_message, has_control_characters
from samenleren.identity.models import User
from samenleren.process_templates.definition import FieldSpec, FieldType
from samenleren.trajectories.models import (
    FieldValue,
    StepInstance,
    StepState,
    Trajectory,
    TrajectoryStatus,
)
from samenleren.trajectories.permissions import (
    may_edit,
    parties,
    relations_to,
    require_active,
    step_spec,
)

#: Field types whose values live in their own tables (`samenleren.trajectories.results`).
RESULT_TYPES = frozenset({FieldType.EXPECTED_RESULTS, FieldType.RESULT_RATING})
TEXT_LIMITS = {FieldType.TEXT: 500, FieldType.LONG_TEXT: 10_000}


def field_name(spec: FieldSpec, goal_id: uuid.UUID | str | None = None) -> str:
    """The form field name of a template field (per goal: one input per learning goal)."""
    return f"f.{spec.key}" if goal_id is None else f"f.{spec.key}.{goal_id}"


def label(spec: FieldSpec) -> str:
    tenant = current_tenant()
    return spec.label_in(str(get_locale() or "nl"), tenant.default_locale if tenant else "nl")


def values_of(step: StepInstance) -> dict[str, object]:
    return dict(
        db.session.execute(
            select(FieldValue.field_key, FieldValue.value).where(
                FieldValue.step_instance_id == step.id
            )
        ).all()
    )


def parse_value(spec: FieldSpec, raw: str) -> object:
    """The typed value of one submitted input; raises ValueError with a translated message.

    An empty input means "no value" (None).
    """
    raw = (raw or "").strip()
    if raw == "":
        return None
    if spec.type in TEXT_LIMITS:
        limit = TEXT_LIMITS[spec.type]
        if len(raw) > limit:
            raise ValueError(gettext("At most %(count)d characters.", count=limit))
        # A short text is one line (an input); a long one (a text area) may hold line breaks.
        if has_control_characters(raw, multiline=spec.type is FieldType.LONG_TEXT):
            raise ValueError(control_characters_message())
        return raw
    if spec.type is FieldType.RATING:
        if raw not in {"1", "2", "3", "4", "5"}:
            raise ValueError(gettext("Choose a rating from 1 to 5."))
        return int(raw)
    if spec.type is FieldType.YES_NO:
        if raw not in {"yes", "no"}:
            raise ValueError(gettext("Choose yes or no."))
        return raw == "yes"
    if spec.type is FieldType.DATE:
        try:
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            raise ValueError(gettext("Give a date as YYYY-MM-DD.")) from None
    if spec.type is FieldType.CHOICE:
        if raw not in {choice.key for choice in spec.choices}:
            raise ValueError(gettext("Choose one of the options."))
        return raw
    raise ValueError(gettext("This field cannot be filled in here."))


def record_values(
    trajectory: Trajectory, step: StepInstance, actor: User, submitted: Mapping[str, str]
) -> int:
    """Save the fields `actor` may fill in from a submitted form; returns how many changed.

    Inputs for fields the actor may not edit are refused (the form never offers them), as is
    every invalid value; then nothing is written.
    """
    relations = relations_to(trajectory, actor)
    spec = step_spec(trajectory, step)
    if trajectory.status is TrajectoryStatus.WITHDRAWN:
        # A completed trajectory still takes late answers (the manager's rating three months
        # on often comes after the return day); a withdrawn one is closed for good.
        require_active(trajectory)
    if step.state is StepState.SKIPPED:
        raise InvalidInput.form(gettext("This step was skipped; reopen it first."))
    goal_ids = [str(goal.id) for goal in trajectory.goals]
    errors: dict[str, str] = {}
    new_values: dict[str, object] = {}
    known: set[str] = set()
    for field_spec in spec.fields:
        if field_spec.type in {FieldType.GOALS, *RESULT_TYPES}:
            continue  # kept in their own tables (`goals`, `results`)
        names = (
            {field_name(field_spec, g): g for g in goal_ids}
            if field_spec.per_goal
            else {field_name(field_spec): None}
        )
        known.update(names)
        given = [name for name in names if name in submitted]
        if not given:
            continue
        if not may_edit(field_spec, relations):
            errors[given[0]] = gettext(
                "Only %(parties)s fill this in.", parties=parties(field_spec.editors)
            )
            continue
        if field_spec.per_goal:
            per_goal = {}
            for name, goal_id in names.items():
                try:
                    value = parse_value(field_spec, submitted.get(name, ""))
                except ValueError as error:
                    errors[name] = str(error)
                    continue
                if value is not None:
                    per_goal[goal_id] = value
            new_values[field_spec.key] = per_goal or None
        else:
            try:
                new_values[field_spec.key] = parse_value(field_spec, submitted[given[0]])
            except ValueError as error:
                errors[given[0]] = str(error)
    strays = [name for name in submitted if name.startswith("f.") and name not in known]
    for name in strays:
        errors[name] = gettext("This field is not part of the step.")
    if errors:
        raise InvalidInput(errors)
    existing = {
        value.field_key: value
        for value in db.session.scalars(
            select(FieldValue).where(FieldValue.step_instance_id == step.id)
        )
    }
    changed = 0
    for key, value in new_values.items():
        row = existing.get(key)
        if value is None:
            if row is not None:
                db.session.delete(row)
                changed += 1
        elif row is None:
            db.session.add(
                FieldValue(
                    step_instance_id=step.id, field_key=key, value=value, updated_by_id=actor.id
                )
            )
            changed += 1
        elif row.value != value:
            row.value = value
            row.updated_by_id = actor.id
            changed += 1
    db.session.flush()
    return changed

"""A trajectory's learning goals, each linked to goals of the organisation.

The template's learning-goals field says in which step the goals are set and who sets them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from flask_babel import gettext
from sqlalchemy import delete, select

from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.tenancy import current_tenant
from samenleren.identity.models import Role, User
from samenleren.process_templates.definition import FieldSpec, FieldType, StepSpec
from samenleren.tenants.models import OrganisationGoal
from samenleren.trajectories.models import (
    FieldValue,
    LearningGoal,
    LearningGoalLink,
    StepInstance,
    Trajectory,
    TrajectoryStatus,
)
from samenleren.trajectories.permissions import may_edit, parties, relations_to, require_active

MAX_GOALS = 10


@dataclass
class GoalInput:
    title: str
    description: str = ""
    organisation_goal_ids: list[str] = field(default_factory=list)


def goals_field(trajectory: Trajectory) -> tuple[StepSpec, FieldSpec] | None:
    """The template's learning-goals field (the step where goals are set), if any."""
    for spec in trajectory.template_version.content.steps:
        for field_spec in spec.fields:
            if field_spec.type is FieldType.GOALS:
                return spec, field_spec
    return None


def may_edit_goals(trajectory: Trajectory, relations: frozenset[Role]) -> bool:
    found = goals_field(trajectory)
    return (
        found is not None
        and trajectory.status is TrajectoryStatus.ACTIVE
        and may_edit(found[1], relations)
    )


def set_learning_goals(trajectory: Trajectory, actor: User, goals: Sequence[GoalInput]) -> None:
    """Replace the trajectory's learning goals, each linked to organisation goals.

    Values recorded per goal (progress, attainment) stay with goals that are kept; a removed
    goal takes its per-goal values with it.
    """
    relations = relations_to(trajectory, actor)
    require_active(trajectory)
    found = goals_field(trajectory)
    if found is None or not may_edit(found[1], relations):
        editors = parties(found[1].editors) if found else ""
        raise InvalidInput.form(
            gettext("Only %(parties)s set the learning goals.", parties=editors)
        )
    tenant = current_tenant()
    active_goals = {
        str(goal.id)
        for goal in db.session.scalars(select(OrganisationGoal).where(OrganisationGoal.active))
    }
    errors: dict[str, str] = {}
    cleaned: list[GoalInput] = []
    if len(goals) > MAX_GOALS:
        raise InvalidInput.form(gettext("At most %(count)d learning goals.", count=MAX_GOALS))
    for index, goal in enumerate(goals):
        title = goal.title.strip()
        links = list(dict.fromkeys(goal.organisation_goal_ids))
        if not title and not links and not goal.description.strip():
            continue  # an empty row of the form
        if not title:
            errors[f"goal-{index}-title"] = gettext("Give the learning goal a title.")
        elif len(title) > 300:
            errors[f"goal-{index}-title"] = gettext("At most %(count)d characters.", count=300)
        if len(goal.description) > 2000:
            errors[f"goal-{index}-description"] = gettext(
                "At most %(count)d characters.", count=2000
            )
        if any(link not in active_goals for link in links):
            errors[f"goal-{index}-organisation_goals"] = gettext(
                "Choose from the organisation's goals."
            )
        elif not links and tenant is not None and tenant.goals_require_organisation_goal:
            errors[f"goal-{index}-organisation_goals"] = gettext(
                "Link the learning goal to at least one organisation goal."
            )
        cleaned.append(GoalInput(title, goal.description.strip(), links))
    if errors:
        raise InvalidInput(errors)
    existing = list(trajectory.goals)
    for position, goal in enumerate(cleaned):
        if position < len(existing):
            row = existing[position]
            row.title, row.description, row.position = goal.title, goal.description, position
            db.session.execute(
                delete(LearningGoalLink).where(LearningGoalLink.learning_goal_id == row.id)
            )
        else:
            row = LearningGoal(
                trajectory_id=trajectory.id,
                title=goal.title,
                description=goal.description,
                position=position,
            )
            db.session.add(row)
            db.session.flush()
        for link in goal.organisation_goal_ids:
            db.session.add(
                LearningGoalLink(learning_goal_id=row.id, organisation_goal_id=uuid.UUID(link))
            )
    removed = existing[len(cleaned) :]
    for row in removed:
        db.session.delete(row)
    db.session.flush()
    if removed:
        _drop_per_goal_values(trajectory, {str(row.id) for row in removed})
    db.session.expire(trajectory, ["goals"])


def _drop_per_goal_values(trajectory: Trajectory, goal_ids: set[str]) -> None:
    values = db.session.scalars(
        select(FieldValue)
        .join(StepInstance, StepInstance.id == FieldValue.step_instance_id)
        .where(StepInstance.trajectory_id == trajectory.id)
    ).all()
    for row in values:
        if isinstance(row.value, dict) and goal_ids & set(row.value):
            row.value = {k: v for k, v in row.value.items() if k not in goal_ids}
    db.session.flush()

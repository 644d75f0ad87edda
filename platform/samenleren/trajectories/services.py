"""Trajectories: starting one, planning, filling in and closing its steps, goals and coaches.

Every write is a service function (style.md): it checks who may do it against the template's
roles, validates, and writes nothing when it refuses (`InvalidInput`, with the message next to
the field). Reading values goes through `samenleren.trajectories.confidentiality`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import get_locale, gettext
from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload

from samenleren.catalogue.models import Edition, Enrolment
from samenleren.core import signals
from samenleren.core.db import as_utc, utcnow
from samenleren.core.errors_input import FORM, InvalidInput
from samenleren.core.extensions import db
from samenleren.core.formatting import local_day, local_today
from samenleren.core.tenancy import current_tenant
from samenleren.identity.models import Role, User
from samenleren.process_templates.definition import (
    FieldSpec,
    FieldType,
    StepKind,
    StepSpec,
    TemplateDefinition,
)
from samenleren.process_templates.services import current_version
from samenleren.process_templates.timing import due_dates, occurrence_due
from samenleren.tenants.models import OrganisationGoal
from samenleren.trajectories.models import (
    FieldValue,
    GroupMeeting,
    GroupMeetingAttendance,
    GroupMeetingState,
    LearningGoal,
    LearningGoalLink,
    StepInstance,
    StepState,
    Trajectory,
    TrajectoryStatus,
)

MAX_GOALS = 10
TEXT_LIMITS = {FieldType.TEXT: 500, FieldType.LONG_TEXT: 10_000}


# --- who someone is to a trajectory -------------------------------------------------------------


def relations_to(trajectory: Trajectory, user: User) -> frozenset[Role]:
    """The parts `user` plays in `trajectory` (the parties of the template). Empty: a stranger.

    Holding the coach or manager *role* is not enough: one must be this trajectory's coach, or
    this learner's line manager. Needs `trajectory.learner` and `trajectory.edition` loaded.
    """
    relations = set()
    if trajectory.learner_id == user.id:
        relations.add(Role.LEARNER)
    if trajectory.coach_id is not None and trajectory.coach_id == user.id:
        relations.add(Role.COACH)
    if trajectory.learner.manager_id is not None and trajectory.learner.manager_id == user.id:
        relations.add(Role.MANAGER)
    if trajectory.edition.trainer_id is not None and trajectory.edition.trainer_id == user.id:
        relations.add(Role.TRAINER)
    if user.has_role(Role.PROGRAMME_ADMIN):
        relations.add(Role.PROGRAMME_ADMIN)
    return frozenset(relations)


def role_names() -> dict[Role, str]:
    """Each role with its article, for sentences, in the tenant's own words (terminology)."""
    from samenleren.core.terminology import role_name

    return {role: role_name(role) for role in Role}


def _parties(roles: Sequence[Role]) -> str:
    names = role_names()
    return ", ".join(names[role] for role in roles)


# --- timing ---------------------------------------------------------------------------------


# --- starting and ending ---------------------------------------------------------------------


def enrolment_day(enrolment: Enrolment, fallback: datetime) -> date:
    """The Dutch calendar day a trajectory's timing counts from: the day of enrolment."""
    return local_day(as_utc(enrolment.enrolled_at) or fallback)


def start_trajectory(enrolment: Enrolment) -> Trajectory:
    """The trajectory of a newly enrolled learner, on the tenant's current template version.

    Idempotent per enrolment. Group steps are linked to the edition's meeting for that step,
    created by the first trajectory of the edition that needs it.
    """
    existing = db.session.scalar(select(Trajectory).where(Trajectory.enrolment_id == enrolment.id))
    if existing is not None:
        if existing.status is TrajectoryStatus.WITHDRAWN:
            existing.status = TrajectoryStatus.ACTIVE
            existing.completed_at = None
        return existing
    version = current_version()
    definition = version.content
    edition = enrolment.edition
    enrolled_on = enrolment_day(enrolment, utcnow())
    trajectory = Trajectory(
        learner_id=enrolment.learner_id,
        edition_id=edition.id,
        enrolment_id=enrolment.id,
        template_version_id=version.id,
        status=TrajectoryStatus.ACTIVE,
    )
    db.session.add(trajectory)
    db.session.flush()
    build_steps(trajectory, definition, enrolled_on, edition)
    signals.trajectory_started.send(trajectory)
    return trajectory


def build_steps(
    trajectory: Trajectory, definition: TemplateDefinition, enrolled_on: date, edition: Edition
) -> None:
    """Create the step instances of a trajectory that has none, from `definition`.

    Used when a trajectory starts and when a not-yet-started one moves to a newer version
    (`samenleren.process_templates.moving`), so both build exactly the same steps.
    """
    dates = due_dates(definition, enrolled_on, edition)
    for position, step in enumerate(definition.steps):
        meeting = _group_meeting(edition, step, dates[step.key]) if _is_group(step) else None
        for occurrence in range(1, step.repeat.min + 1):
            db.session.add(
                StepInstance(
                    trajectory_id=trajectory.id,
                    step_key=step.key,
                    position=position,
                    occurrence=occurrence,
                    due_on=occurrence_due(dates[step.key], step, occurrence),
                    group_meeting_id=meeting.id if meeting else None,
                    **_meeting_schedule(meeting),
                )
            )
    db.session.flush()


def _is_group(step: StepSpec) -> bool:
    return step.kind is StepKind.GROUP_MEETING


def _group_meeting(edition: Edition, step: StepSpec, due_on: date) -> GroupMeeting:
    meeting = db.session.scalar(
        select(GroupMeeting).where(
            GroupMeeting.edition_id == edition.id, GroupMeeting.step_key == step.key
        )
    )
    if meeting is None:
        meeting = GroupMeeting(
            edition_id=edition.id, step_key=step.key, name=dict(step.name), due_on=due_on
        )
        db.session.add(meeting)
        db.session.flush()
    return meeting


def _meeting_schedule(meeting: GroupMeeting | None) -> dict:
    if meeting is None or meeting.state is GroupMeetingState.PLANNED:
        return {}
    state = StepState.DONE if meeting.state is GroupMeetingState.DONE else StepState.SCHEDULED
    return {
        "state": state,
        "starts_at": meeting.starts_at,
        "ends_at": meeting.ends_at,
        "location": meeting.location,
        "video_url": meeting.video_url,
    }


def retime_edition(edition: Edition) -> int:
    """The edition's dates moved: steps not yet planned follow them. Returns how many moved.

    Only steps still waiting for an appointment (state "planned") and group meetings not yet
    scheduled get a new due date; an agreed appointment or a closed step is left as it is.
    """
    trajectories = db.session.scalars(
        select(Trajectory)
        .where(Trajectory.edition_id == edition.id, Trajectory.status == TrajectoryStatus.ACTIVE)
        .options(joinedload(Trajectory.template_version), joinedload(Trajectory.enrolment))
    ).all()
    if not trajectories:
        return 0
    by_trajectory = {t.id: t for t in trajectories}
    steps = db.session.scalars(
        select(StepInstance).where(
            StepInstance.trajectory_id.in_(list(by_trajectory)),
            StepInstance.state == StepState.PLANNED,
        )
    ).all()
    moved = 0
    dates_of: dict[uuid.UUID, dict[str, date]] = {}
    for step in steps:
        trajectory = by_trajectory[step.trajectory_id]
        definition = trajectory.template_version.content
        if trajectory.id not in dates_of:
            enrolled_on = enrolment_day(trajectory.enrolment, trajectory.created_at)
            dates_of[trajectory.id] = due_dates(definition, enrolled_on, edition)
        spec = definition.step(step.step_key)
        if spec is None:
            continue
        due = occurrence_due(dates_of[trajectory.id][step.step_key], spec, step.occurrence)
        if due != step.due_on:
            step.due_on = due
            moved += 1
    first = trajectories[0]
    first_dates = dates_of.get(first.id) or due_dates(
        first.template_version.content,
        enrolment_day(first.enrolment, first.created_at),
        edition,
    )
    for meeting in db.session.scalars(
        select(GroupMeeting).where(
            GroupMeeting.edition_id == edition.id,
            GroupMeeting.state == GroupMeetingState.PLANNED,
        )
    ):
        if meeting.step_key in first_dates:
            meeting.due_on = first_dates[meeting.step_key]
    db.session.flush()
    return moved


def withdraw_trajectory(trajectory: Trajectory) -> None:
    """The learner left the edition: the trajectory stops; what was recorded is kept."""
    trajectory.status = TrajectoryStatus.WITHDRAWN
    signals.trajectory_withdrawn.send(trajectory)
    db.session.flush()


def _update_completion(trajectory: Trajectory) -> None:
    """A trajectory is complete when none of its steps is open any more."""
    open_steps = db.session.scalar(
        select(StepInstance.id)
        .where(
            StepInstance.trajectory_id == trajectory.id,
            StepInstance.state.in_([StepState.PLANNED, StepState.SCHEDULED]),
        )
        .limit(1)
    )
    if trajectory.status is TrajectoryStatus.ACTIVE and open_steps is None:
        trajectory.status = TrajectoryStatus.COMPLETED
        trajectory.completed_at = utcnow()
    elif trajectory.status is TrajectoryStatus.COMPLETED and open_steps is not None:
        trajectory.status = TrajectoryStatus.ACTIVE
        trajectory.completed_at = None


# --- steps: who may do what -----------------------------------------------------------------


def step_spec(trajectory: Trajectory, step: StepInstance) -> StepSpec:
    spec = trajectory.template_version.content.step(step.step_key)
    if spec is None:  # a published version never loses a step; this is data corruption
        raise LookupError(f"step {step.step_key} not in version {trajectory.template_version_id}")
    return spec


def may_plan(spec: StepSpec, relations: frozenset[Role]) -> bool:
    return bool(relations & set(spec.responsible))


def may_edit(spec: FieldSpec, relations: frozenset[Role]) -> bool:
    return bool(relations & set(spec.editors))


def require_active(trajectory: Trajectory) -> None:
    if trajectory.status is not TrajectoryStatus.ACTIVE:
        raise InvalidInput.form(gettext("This trajectory has ended; it can no longer be changed."))


def _require_responsible(spec: StepSpec, relations: frozenset[Role], what: str) -> None:
    if not may_plan(spec, relations):
        raise InvalidInput.form(
            gettext(
                "Only %(parties)s may %(what)s this step.",
                parties=_parties(spec.responsible),
                what=what,
            )
        )


@dataclass
class Appointment:
    starts_at: datetime
    ends_at: datetime
    location: str = ""
    video_url: str = ""


def check_appointment(appointment: Appointment) -> None:
    errors = {}
    if appointment.ends_at <= appointment.starts_at:
        errors["ends_at"] = gettext("The end must come after the start.")
    if not appointment.location.strip() and not appointment.video_url.strip():
        errors["location"] = gettext("Give a place or a video link.")
    if appointment.video_url and not appointment.video_url.startswith(("https://", "http://")):
        errors["video_url"] = gettext("A video link starts with https://.")
    if len(appointment.location) > 300:
        errors["location"] = gettext("At most %(count)d characters.", count=300)
    if len(appointment.video_url) > 500:
        errors["video_url"] = gettext("At most %(count)d characters.", count=500)
    if errors:
        raise InvalidInput(errors)


def schedule_step(
    trajectory: Trajectory, step: StepInstance, actor: User, appointment: Appointment
) -> None:
    """Agree date, time and place (or video link) of a conversation."""
    relations = relations_to(trajectory, actor)
    spec = step_spec(trajectory, step)
    require_active(trajectory)
    if _is_group(spec):
        raise InvalidInput.form(
            gettext("A group meeting is scheduled once for the whole group, on its own page.")
        )
    _require_responsible(spec, relations, gettext("schedule"))
    if not step.state.is_open:
        raise InvalidInput.form(gettext("This step is closed."))
    check_appointment(appointment)
    rescheduling = step.state is StepState.SCHEDULED
    step.starts_at = appointment.starts_at
    step.ends_at = appointment.ends_at
    step.location = appointment.location.strip()
    step.video_url = appointment.video_url.strip()
    step.state = StepState.SCHEDULED
    announced = signals.appointment_rescheduled if rescheduling else signals.appointment_scheduled
    announced.send(trajectory, step=step)
    db.session.flush()


def complete_step(trajectory: Trajectory, step: StepInstance, actor: User) -> None:
    """Close a step as done: by someone responsible, with every required field filled in."""
    relations = relations_to(trajectory, actor)
    spec = step_spec(trajectory, step)
    require_active(trajectory)
    _require_responsible(spec, relations, gettext("close"))
    if not step.state.is_open:
        raise InvalidInput.form(gettext("This step is closed already."))
    values = _values_of(step)
    goal_ids = [goal.id for goal in trajectory.goals]
    errors = {}
    for field_spec in spec.fields:
        if not field_spec.required:
            continue
        if field_spec.type is FieldType.GOALS:
            if not goal_ids:
                errors[field_name(field_spec)] = gettext("Add at least one learning goal first.")
            continue
        value = values.get(field_spec.key)
        if field_spec.per_goal:
            missing = [g for g in goal_ids if not isinstance(value, dict) or str(g) not in value]
            if missing or not goal_ids:
                errors[field_name(field_spec)] = gettext("Fill this in for every learning goal.")
        elif value is None:
            errors[field_name(field_spec)] = gettext(
                "%(label)s must be filled in (by %(parties)s) before the step can be closed.",
                label=_label(field_spec),
                parties=_parties(field_spec.editors),
            )
    if errors:
        raise InvalidInput(errors)
    step.state = StepState.DONE
    step.completed_at = utcnow()
    step.completed_by_id = actor.id
    db.session.flush()
    _update_completion(trajectory)
    signals.step_completed.send(trajectory, step=step, actor=actor)


def skip_step(trajectory: Trajectory, step: StepInstance, actor: User, reason: str) -> None:
    relations = relations_to(trajectory, actor)
    spec = step_spec(trajectory, step)
    require_active(trajectory)
    _require_responsible(spec, relations, gettext("skip"))
    if not step.state.is_open:
        raise InvalidInput.form(gettext("This step is closed already."))
    reason = reason.strip()
    if not reason:
        raise InvalidInput({"reason": gettext("Say why the step is skipped.")})
    if len(reason) > 2000:
        raise InvalidInput({"reason": gettext("At most %(count)d characters.", count=2000)})
    step.state = StepState.SKIPPED
    step.skip_reason = reason
    step.completed_at = utcnow()
    step.completed_by_id = actor.id
    signals.appointment_cancelled.send(trajectory, step=step, actor=None)
    db.session.flush()
    _update_completion(trajectory)


def reopen_step(trajectory: Trajectory, step: StepInstance, actor: User) -> None:
    """Undo closing a step (a mistake, or a conversation that needs a sequel)."""
    relations = relations_to(trajectory, actor)
    spec = step_spec(trajectory, step)
    if trajectory.status is TrajectoryStatus.WITHDRAWN:
        require_active(trajectory)
    _require_responsible(spec, relations, gettext("reopen"))
    if step.state.is_open:
        raise InvalidInput.form(gettext("This step is open already."))
    step.state = StepState.SCHEDULED if step.starts_at else StepState.PLANNED
    step.completed_at = None
    step.completed_by_id = None
    step.skip_reason = ""
    signals.appointment_scheduled.send(trajectory, step=step)
    db.session.flush()
    _update_completion(trajectory)


def cancel_appointment(trajectory: Trajectory, step: StepInstance, actor: User) -> None:
    """The agreed appointment of a conversation is off: the step waits for a new one, and
    everyone who was invited is told (`appointment_cancelled`)."""
    spec = step_spec(trajectory, step)
    if not may_plan(spec, relations_to(trajectory, actor)):
        raise InvalidInput.form(gettext("Only those responsible for the step cancel it."))
    if trajectory.status is not TrajectoryStatus.ACTIVE:
        raise InvalidInput.form(gettext("This trajectory has ended; it can no longer be changed."))
    if spec.kind is StepKind.GROUP_MEETING:
        raise InvalidInput.form(
            gettext("A group meeting is scheduled once for the whole group, on its own page.")
        )
    if step.state is not StepState.SCHEDULED:
        raise InvalidInput.form(gettext("This step has no appointment to cancel."))
    step.state = StepState.PLANNED
    step.starts_at = step.ends_at = None
    step.location = step.video_url = ""
    signals.appointment_cancelled.send(trajectory, step=step, actor=actor)
    db.session.flush()


def add_occurrence(trajectory: Trajectory, step_key: str, actor: User) -> StepInstance:
    """One more of a repeating step (another progress conversation), up to its maximum."""
    version = trajectory.template_version.content
    spec = version.step(step_key)
    if spec is None:
        raise InvalidInput.form(gettext("This step does not exist."))
    relations = relations_to(trajectory, actor)
    require_active(trajectory)
    _require_responsible(spec, relations, gettext("plan"))
    existing = db.session.scalars(
        select(StepInstance)
        .where(StepInstance.trajectory_id == trajectory.id, StepInstance.step_key == step_key)
        .order_by(StepInstance.occurrence)
    ).all()
    if len(existing) >= spec.repeat.max:
        raise InvalidInput.form(
            gettext("This step can take place at most %(count)d times.", count=spec.repeat.max)
        )
    if existing:
        due = existing[-1].due_on + timedelta(days=max(spec.repeat.interval_days, 1))
    else:
        due = due_dates(version, local_day(trajectory.created_at), trajectory.edition)[step_key]
    step = StepInstance(
        trajectory_id=trajectory.id,
        step_key=step_key,
        position=version.position(step_key),
        occurrence=(existing[-1].occurrence + 1) if existing else 1,
        due_on=max(due, local_today()),
    )
    db.session.add(step)
    db.session.flush()
    _update_completion(trajectory)
    return step


# --- field values ---------------------------------------------------------------------------


def field_name(spec: FieldSpec, goal_id: uuid.UUID | str | None = None) -> str:
    """The form field name of a template field (per goal: one input per learning goal)."""
    return f"f.{spec.key}" if goal_id is None else f"f.{spec.key}.{goal_id}"


def _label(spec: FieldSpec) -> str:
    tenant = current_tenant()
    return spec.label_in(str(get_locale() or "nl"), tenant.default_locale if tenant else "nl")


def _values_of(step: StepInstance) -> dict[str, object]:
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
    known = set()
    for field_spec in spec.fields:
        if field_spec.type is FieldType.GOALS:
            continue
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
                "Only %(parties)s fill this in.", parties=_parties(field_spec.editors)
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


# --- learning goals ---------------------------------------------------------------------------


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
        parties = _parties(found[1].editors) if found else ""
        raise InvalidInput.form(
            gettext("Only %(parties)s set the learning goals.", parties=parties)
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


# --- coaches --------------------------------------------------------------------------------


# --- group meetings ---------------------------------------------------------------------------


def meeting_trajectories(meeting: GroupMeeting) -> list[tuple[Trajectory, StepInstance]]:
    rows = db.session.execute(
        select(Trajectory, StepInstance)
        .join(StepInstance, StepInstance.trajectory_id == Trajectory.id)
        .where(StepInstance.group_meeting_id == meeting.id)
        .where(Trajectory.status != TrajectoryStatus.WITHDRAWN)
    ).all()
    return [(trajectory, step) for trajectory, step in rows]


def may_run_meeting(meeting: GroupMeeting, actor: User) -> bool:
    """Programme admins, and the edition's trainer, plan and close group meetings."""
    return actor.has_role(Role.PROGRAMME_ADMIN) or (
        meeting.edition.trainer_id is not None and meeting.edition.trainer_id == actor.id
    )


def schedule_meeting(meeting: GroupMeeting, actor: User, appointment: Appointment) -> None:
    if not may_run_meeting(meeting, actor):
        raise InvalidInput.form(
            gettext("Only the programme administrator or the trainer plans group meetings.")
        )
    if meeting.state is GroupMeetingState.DONE:
        raise InvalidInput.form(gettext("This meeting has taken place."))
    check_appointment(appointment)
    meeting.starts_at = appointment.starts_at
    meeting.ends_at = appointment.ends_at
    meeting.location = appointment.location.strip()
    meeting.video_url = appointment.video_url.strip()
    meeting.state = GroupMeetingState.SCHEDULED
    signals.meeting_scheduled.send(meeting)
    for _trajectory, step in meeting_trajectories(meeting):
        if step.state.is_open:
            step.starts_at, step.ends_at = meeting.starts_at, meeting.ends_at
            step.location, step.video_url = meeting.location, meeting.video_url
            step.state = StepState.SCHEDULED
    db.session.flush()


def close_meeting(
    meeting: GroupMeeting, actor: User, present_ids: set[uuid.UUID], outcome: str
) -> None:
    """Record who attended and what the group shared; attendees' steps are done, the others'
    skipped as absent (they can be reopened)."""
    if not may_run_meeting(meeting, actor):
        raise InvalidInput.form(
            gettext("Only the programme administrator or the trainer closes group meetings.")
        )
    if meeting.state is not GroupMeetingState.SCHEDULED:
        raise InvalidInput.form(gettext("Schedule the meeting before recording it."))
    if len(outcome) > 10_000:
        raise InvalidInput({"outcome": gettext("At most %(count)d characters.", count=10_000)})
    members = meeting_trajectories(meeting)
    learner_ids = {trajectory.learner_id for trajectory, _ in members}
    if present_ids - learner_ids:
        raise InvalidInput({"present": gettext("Only learners of this group can attend.")})
    now = utcnow()
    db.session.execute(
        delete(GroupMeetingAttendance).where(GroupMeetingAttendance.meeting_id == meeting.id)
    )
    for trajectory, step in members:
        present = trajectory.learner_id in present_ids
        db.session.add(
            GroupMeetingAttendance(
                meeting_id=meeting.id, user_id=trajectory.learner_id, present=present
            )
        )
        if trajectory.status is TrajectoryStatus.ACTIVE and step.state.is_open:
            step.state = StepState.DONE if present else StepState.SKIPPED
            step.skip_reason = "" if present else gettext("Absent from the group meeting.")
            step.completed_at = now
            step.completed_by_id = actor.id
    meeting.outcome = outcome.strip()
    meeting.state = GroupMeetingState.DONE
    meeting.held_at = now
    db.session.flush()
    for trajectory, _step in members:
        _update_completion(trajectory)
    db.session.flush()


__all__ = [
    "FORM",
    "Appointment",
    "GoalInput",
    "add_occurrence",
    "build_steps",
    "close_meeting",
    "complete_step",
    "record_values",
    "relations_to",
    "schedule_meeting",
    "schedule_step",
    "set_learning_goals",
    "skip_step",
    "start_trajectory",
    "withdraw_trajectory",
]

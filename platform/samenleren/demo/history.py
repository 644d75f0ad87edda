"""Two years of history before the demo's programme year, so the report shows trends at once.

Each of the two calendar years before this one gets four editions of the demo's trainings, six
learners each, every trajectory completed (one withdrawn per edition) with its learning goal
tied to an organisation goal, one expected result, and the ratings at the evaluation, after
three months and after six months by learner and manager; the return day held with its
attendance. Transfer grows from year to year, as a programme that learns would show.

These are finished years nobody clicks through any more, so they are written as rows, one
multi-row INSERT per table (as the catalogue rows of `demo.writer`), not step by step through
the services: the seed stays within its statement budget. The budget's demo
(`budget.demo.seed_budget`) later books the invoices of these editions like any other.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from samenleren.catalogue.models import Edition, EditionSession, Enrolment, EnrolmentStatus
from samenleren.coaching.models import CoachProfile
from samenleren.core.db import utcnow
from samenleren.core.extensions import db
from samenleren.demo import texts
from samenleren.demo.dates import edition_name, moment, workday
from samenleren.identity.models import User
from samenleren.process_templates.definition import FieldType, RatingMoment
from samenleren.process_templates.services import current_version
from samenleren.trajectories.models import (
    CoachAssignment,
    ExpectedResult,
    GroupMeeting,
    GroupMeetingAttendance,
    LearningGoal,
    LearningGoalLink,
    ResultLevel,
    ResultRating,
    StepInstance,
    StepState,
    Trajectory,
    TrajectoryStatus,
)
from samenleren.trajectories.steps import asks_presence

#: Trainings run in each past year (titles of the demo's catalogue), and when they start.
TRAININGS = (
    ("Effectief communiceren", 2, 10),
    ("Adviesvaardigheden", 3, 6),
    ("Presentatietechnieken", 5, 12),
    ("Projectmatig werken", 9, 8),
)
LEARNERS_PER_EDITION = 6
#: The chance that a manager sees the result applied after three months, per year back.
TRANSFER = {2: 0.45, 1: 0.62}
MOMENTS = (RatingMoment.EVALUATION, RatingMoment.THREE_MONTHS, RatingMoment.SIX_MONTHS)


def _level(rng: random.Random, chance: float, moment: RatingMoment) -> ResultLevel:
    """A rating: applied (or exceeded) with `chance`, less at the evaluation (too early)."""
    if moment is RatingMoment.EVALUATION:
        chance *= 0.6
    if rng.random() < chance:
        return ResultLevel.EXCEEDED if rng.random() < 0.2 else ResultLevel.APPLIED
    return ResultLevel.PARTLY if rng.random() < 0.7 else ResultLevel.NOT_YET


def seed_history(writer: Any, today: date) -> int:
    """Write the two years before `today`'s year (`writer`: the demo's `ProgrammeWriter`);
    returns the number of trajectories. Flushes through multi-row INSERTs."""
    rng = random.Random(f"{writer.tenant.slug}/history")  # noqa: S311 - demo data
    # Who took part in a conversation: a stream of its own (the rest of the history as before).
    presence = random.Random(f"{writer.tenant.slug}/history-presence")  # noqa: S311
    version = current_version()
    definition = version.content
    steps = list(definition.steps)
    rating_steps: dict[str, str] = {}
    for step in steps:
        for spec in step.fields:
            if spec.type is FieldType.RESULT_RATING and spec.moment is not None:
                rating_steps.setdefault(spec.moment.value, step.key)
    return_day_key = rating_steps.get(RatingMoment.THREE_MONTHS.value)
    coaches = list(
        db.session.scalars(
            select(User).join(CoachProfile, CoachProfile.user_id == User.id).order_by(User.subject)
        )
    )
    learners = [u for u in writer.cast.employees if u.manager_id is not None]
    goals = writer.org_goals
    if not coaches or not learners or not goals:
        return 0
    rows: dict[Any, list[dict[str, Any]]] = {
        model: []
        # In the order of their foreign keys: they are inserted in this order.
        for model in (
            Edition,
            EditionSession,
            GroupMeeting,
            Enrolment,
            Trajectory,
            CoachAssignment,
            StepInstance,
            LearningGoal,
            LearningGoalLink,
            ExpectedResult,
            ResultRating,
            GroupMeetingAttendance,
        )
    }
    turn = 0
    for back in (2, 1):
        year = today.year - back
        for title, month, weeks in TRAININGS:
            training = writer.trainings.get(title)
            if training is None:
                continue
            starts_on = workday(date(year, month, 8), later=True)
            ends_on = starts_on + timedelta(weeks=weeks)
            edition_id = uuid.uuid4()
            rows[Edition].append(
                {
                    "id": edition_id,
                    "training_id": training.id,
                    "name": edition_name(starts_on),
                    "starts_on": starts_on,
                    "ends_on": ends_on,
                    "location": writer.place,
                    "trainer_id": writer.cast.trainer.id,
                }
            )
            for index, topic in enumerate(texts.SESSION_TOPICS[:2] + texts.SESSION_TOPICS[-1:]):
                day = workday(starts_on + timedelta(days=(ends_on - starts_on).days * index // 2))
                rows[EditionSession].append(
                    {
                        "id": uuid.uuid4(),
                        "edition_id": edition_id,
                        "starts_at": moment(day, 9, 30),
                        "ends_at": moment(day, 16, 30),
                        "location": writer.place,
                        "topic": topic,
                    }
                )
            return_day = workday(ends_on + timedelta(days=91), later=True)
            meeting_id = uuid.uuid4()
            if return_day_key is not None:
                rows[GroupMeeting].append(
                    {
                        "id": meeting_id,
                        "edition_id": edition_id,
                        "step_key": return_day_key,
                        "name": "Terugkomdag",
                        "due_on": return_day,
                        "state": StepState.DONE,
                        "starts_at": moment(return_day, 13),
                        "ends_at": moment(return_day, 16),
                        "location": writer.place,
                        "held_at": moment(return_day, 16),
                    }
                )
            span = (return_day + timedelta(days=91) - starts_on).days + 21
            for index in range(LEARNERS_PER_EDITION):
                learner = learners[turn % len(learners)]
                # As the matching rules allow: not the manager, not from the same department.
                coach = next(
                    (
                        c.id
                        for step in range(len(coaches))
                        if (c := coaches[(turn + step) % len(coaches)]).id
                        not in {learner.id, learner.manager_id}
                        and c.department_id != learner.department_id
                    ),
                    None,
                )
                turn += 1
                withdrawn = index == LEARNERS_PER_EDITION - 1 and back == 2
                enrolled_on = starts_on - timedelta(days=40)
                enrolment_id, trajectory_id = uuid.uuid4(), uuid.uuid4()
                finished = moment(return_day + timedelta(days=95), 15)
                rows[Enrolment].append(
                    {
                        "id": enrolment_id,
                        "edition_id": edition_id,
                        "learner_id": learner.id,
                        "status": EnrolmentStatus.WITHDRAWN
                        if withdrawn
                        else EnrolmentStatus.ENROLLED,
                        "reason": texts.WITHDRAWAL_REASON if withdrawn else "",
                        "applied_at": moment(enrolled_on, 10),
                        "enrolled_at": moment(enrolled_on, 10),
                        "changed_at": moment(enrolled_on, 10),
                    }
                )
                rows[Trajectory].append(
                    {
                        "id": trajectory_id,
                        "learner_id": learner.id,
                        "coach_id": coach,
                        "edition_id": edition_id,
                        "enrolment_id": enrolment_id,
                        "template_version_id": version.id,
                        "status": TrajectoryStatus.WITHDRAWN
                        if withdrawn
                        else TrajectoryStatus.COMPLETED,
                        "created_at": moment(enrolled_on, 10),
                        "completed_at": None if withdrawn else finished,
                    }
                )
                if coach is not None:
                    rows[CoachAssignment].append(
                        {
                            "id": uuid.uuid4(),
                            "trajectory_id": trajectory_id,
                            "coach_id": coach,
                            "assigned_by_id": writer.cast.admin.id,
                            "reason": "",
                            "assigned_at": moment(enrolled_on + timedelta(days=2), 10),
                        }
                    )
                step_ids: dict[str, uuid.UUID] = {}
                for position, step in enumerate(steps):
                    due = workday(
                        enrolled_on + timedelta(days=14 + span * position // len(steps)),
                        later=True,
                    )
                    done = not withdrawn or due < starts_on
                    step_ids[step.key] = uuid.uuid4()
                    rows[StepInstance].append(
                        {
                            "id": step_ids[step.key],
                            "trajectory_id": trajectory_id,
                            "step_key": step.key,
                            "position": position,
                            "occurrence": 1,
                            "due_on": due,
                            "state": StepState.DONE if done else StepState.PLANNED,
                            "completed_at": moment(due, 11) if done else None,
                            "present_roles": [
                                str(role)
                                for role in step.participants
                                if str(role) != "manager" or presence.random() < 0.8
                            ]
                            if done and asks_presence(step)
                            else None,
                            "group_meeting_id": meeting_id
                            if step.key == return_day_key and done
                            else None,
                        }
                    )
                if withdrawn:
                    continue
                if return_day_key is not None:
                    rows[GroupMeetingAttendance].append(
                        {
                            "id": uuid.uuid4(),
                            "meeting_id": meeting_id,
                            "user_id": learner.id,
                            "present": rng.random() < 0.85,
                        }
                    )
                goal_id, result_id = uuid.uuid4(), uuid.uuid4()
                goal_texts = texts.GOALS.get(title) or texts.GENERIC_GOALS
                rows[LearningGoal].append(
                    {
                        "id": goal_id,
                        "trajectory_id": trajectory_id,
                        "title": rng.choice(goal_texts)[0],
                        "position": 0,
                    }
                )
                rows[LearningGoalLink].append(
                    {
                        "id": uuid.uuid4(),
                        "learning_goal_id": goal_id,
                        "organisation_goal_id": goals[turn % len(goals)].id,
                    }
                )
                rows[ExpectedResult].append(
                    {
                        "id": result_id,
                        "trajectory_id": trajectory_id,
                        "learning_goal_id": goal_id,
                        "position": 0,
                        "observable": rng.choice(texts.EXPECTED_RESULTS),
                        "contribution": rng.choice(texts.MANAGER_CONTRIBUTIONS),
                        "created_by_id": learner.manager_id,
                    }
                )
                for asked in MOMENTS:
                    step_key = rating_steps.get(asked.value)
                    if step_key is None:
                        continue
                    for role, rater in (("learner", learner.id), ("manager", learner.manager_id)):
                        chance = TRANSFER[back] + (0.08 if role == "learner" else 0)
                        rows[ResultRating].append(
                            {
                                "id": uuid.uuid4(),
                                "expected_result_id": result_id,
                                "step_instance_id": step_ids[step_key],
                                "moment": asked.value,
                                "rater_role": role,
                                "rater_id": rater,
                                "level": _level(rng, chance, asked),
                                "example": "",
                                "contribution_done": rng.random() < 0.7
                                if role == "manager"
                                else None,
                                "rated_at": utcnow(),
                            }
                        )
    tenant_id = writer.tenant.id
    for model, batch in rows.items():
        if batch:
            # A Core INSERT of the table: one executemany per table (the ORM's bulk insert
            # would fetch each new row back).
            db.session.execute(
                model.__table__.insert(), [{"tenant_id": tenant_id, **row} for row in batch]
            )
    return len(rows[Trajectory])

"""The writer of a demo programme: each step a real user would take, through the services.

`ProgrammeWriter` knows how to make an edition, enrol and start a trajectory, assign a coach and
hold every conversation and group meeting of the Flevoland model, with the person the template
makes responsible as the actor. `samenleren.demo.programme` tells with it the story of a year.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select

from samenleren.catalogue.models import (
    Edition,
    EditionSession,
    Enrolment,
    EnrolmentStatus,
    SessionAttendance,
    Training,
)
from samenleren.coaching.assignment import assign_coach
from samenleren.coaching.matching import suggest_coaches
from samenleren.coaching.models import CoachProfile
from samenleren.core.db import as_utc
from samenleren.core.extensions import db
from samenleren.core.tenant import Tenant
from samenleren.demo import texts
from samenleren.demo.dates import edition_name, moment, workday
from samenleren.demo.reference import CITIES
from samenleren.identity.models import User
from samenleren.tenants.models import OrganisationGoal
from samenleren.trajectories.goals import GoalInput, set_learning_goals
from samenleren.trajectories.lifecycle import start_trajectory
from samenleren.trajectories.meetings import close_meeting, meeting_trajectories, schedule_meeting
from samenleren.trajectories.models import (
    CoachAssignment,
    GroupMeeting,
    StepInstance,
    Trajectory,
    TrajectoryStatus,
)
from samenleren.trajectories.results import (
    RatingInput,
    ResultInput,
    rate_results,
    results_of,
    set_expected_results,
)
from samenleren.trajectories.steps import (
    Appointment,
    add_occurrence,
    asks_presence,
    complete_step,
    schedule_step,
)
from samenleren.trajectories.values import record_values


def coach_of(trajectory: Trajectory) -> User:
    """The trajectory's coach: the demo assigns one before any conversation is held."""
    coach = trajectory.coach
    if coach is None:
        raise LookupError(f"trajectory {trajectory.id} has no coach yet")
    return coach


def manager_of(trajectory: Trajectory) -> User:
    """The learner's manager, who writes in the intake and the evaluation."""
    manager = trajectory.learner.manager
    if manager is None:
        raise LookupError(f"the learner of trajectory {trajectory.id} has no manager")
    return manager


def enrolled_at(trajectory: Trajectory) -> datetime:
    """When the learner was enrolled: every demo trajectory starts from an enrolment."""
    when = trajectory.enrolment.enrolled_at
    if when is None:
        raise LookupError(f"trajectory {trajectory.id} has no enrolment moment")
    return when


def agreed_day(day: date | None) -> date:
    """The day of a conversation still to come: the story always names it."""
    if day is None:
        raise ValueError("a conversation still to come needs its day")
    return day


@dataclass
class Cast:
    admin: User
    trainer: User
    #: Employees who are not coaches, in a fixed shuffled order; `take` hands them out.
    employees: list[User]
    used: set = field(default_factory=set)

    def take(self, count: int) -> list[User]:
        chosen = [u for u in self.employees if u.id not in self.used][:count]
        self.used.update(u.id for u in chosen)
        return chosen


class ProgrammeWriter:
    """Writes one tenant's editions and trajectories through the services."""

    def __init__(self, tenant: Tenant, cast: Cast, today: date) -> None:
        self.tenant = tenant
        self.cast = cast
        self.today = today
        self.rng = random.Random(f"{tenant.slug}/programme")  # noqa: S311 - demo data
        # Who took part in a conversation: a stream of its own (the rest of the demo as before).
        self.presence = random.Random(f"{tenant.slug}/presence")  # noqa: S311 - demo data
        self.trainings = {t.title: t for t in db.session.scalars(select(Training))}
        self.org_goals = list(
            db.session.scalars(
                select(OrganisationGoal)
                .where(OrganisationGoal.active)
                .order_by(OrganisationGoal.position)
            )
        )
        self.place = f"Provinciehuis {CITIES.get(tenant.slug, '')}".strip()
        #: trajectory id -> (step key, occurrence) -> step instance
        self.steps: dict[uuid.UUID, dict[tuple[str, int], StepInstance]] = {}
        #: The moments the services stamped "now", and when they happened in the demo's story:
        #: set at the end, in one flush.
        self.moments: list[tuple[object, str, datetime]] = []
        #: (trajectory id, coach id) -> when the assignment began / ended
        self.assigned: dict[tuple[uuid.UUID, uuid.UUID], datetime] = {}
        self.unassigned: dict[tuple[uuid.UUID, uuid.UUID], datetime] = {}

    def backdate(self, row: object, column: str, when: datetime) -> None:
        self.moments.append((row, column, when))

    def apply_backdating(self) -> None:
        for row, column, when in self.moments:
            setattr(row, column, when)
        for assignment in db.session.scalars(select(CoachAssignment)):
            key = (assignment.trajectory_id, assignment.coach_id)
            if key in self.assigned:
                assignment.assigned_at = self.assigned[key]
            if key in self.unassigned and assignment.ended_at is not None:
                assignment.ended_at = self.unassigned[key]

    def days(self, offset: int) -> date:
        return self.today + timedelta(days=offset)

    # --- catalogue -------------------------------------------------------------------------

    def edition(
        self,
        title: str,
        *,
        starts_in: int,
        weeks: int,
        sessions: int,
        capacity: int | None = None,
    ) -> Edition:
        starts_on = workday(self.days(starts_in), later=True)
        ends_on = starts_on + timedelta(weeks=weeks)
        room = self.rng.choice(("De Schouw", "Het Baken", "De Horst"))
        edition = Edition(
            training_id=self.trainings[title].id,
            name=edition_name(starts_on),
            starts_on=starts_on,
            ends_on=ends_on,
            location=f"{self.place}, zaal {room}",
            trainer_id=self.cast.trainer.id,
            capacity=capacity,
        )
        db.session.add(edition)
        db.session.flush()
        span = (ends_on - starts_on).days
        for index in range(sessions):
            day = workday(starts_on + timedelta(days=span * index // max(sessions - 1, 1)))
            topic = (
                texts.SESSION_TOPICS[-1]
                if index == sessions - 1
                else texts.SESSION_TOPICS[min(index, len(texts.SESSION_TOPICS) - 2)]
            )
            db.session.add(
                EditionSession(
                    edition_id=edition.id,
                    starts_at=moment(day, 9, 30),
                    ends_at=moment(day, 16, 30),
                    location=edition.location,
                    topic=topic,
                )
            )
        db.session.flush()
        return edition

    def apply(
        self,
        edition: Edition,
        learner: User,
        status: EnrolmentStatus,
        applied_on: date,
        *,
        motivation: str = "",
        reason: str = "",
        enrolled_at: datetime | None = None,
    ) -> Enrolment:
        enrolment = Enrolment(
            edition_id=edition.id,
            learner_id=learner.id,
            status=status,
            motivation=motivation,
            reason=reason,
            applied_at=moment(applied_on, 10),
            enrolled_at=enrolled_at,
        )
        db.session.add(enrolment)
        db.session.flush()
        return enrolment

    def start(self, edition: Edition, learner: User, enrolled_on: date) -> Trajectory:
        """Enrol `learner` (as the programme admin would) and start the trajectory."""
        enrolled = moment(enrolled_on, 11)
        enrolment = self.apply(
            edition,
            learner,
            EnrolmentStatus.ENROLLED,
            enrolled_on - timedelta(days=self.rng.randint(3, 10)),
            motivation=self.rng.choice(texts.MOTIVATIONS),
            enrolled_at=enrolled,
        )
        trajectory = start_trajectory(enrolment)
        self.backdate(trajectory, "created_at", enrolled)
        return trajectory

    def attendance(self, edition: Edition, left: dict | None = None) -> None:
        """Attendance of the edition's past sessions; `left`: learner id -> day they withdrew."""
        left = left or {}
        learners = list(
            db.session.scalars(
                select(Trajectory.learner_id)
                .join(User, User.id == Trajectory.learner_id)
                .where(Trajectory.edition_id == edition.id)
                .order_by(User.subject)
            )
        )
        sessions = db.session.scalars(
            select(EditionSession)
            .where(EditionSession.edition_id == edition.id)
            .order_by(EditionSession.starts_at)
        )
        now = moment(self.today, 0)
        for session in sessions:
            starts_at = as_utc(session.starts_at)
            if starts_at >= now:
                continue
            for learner_id in learners:
                if learner_id in left and starts_at >= moment(left[learner_id], 0):
                    continue
                db.session.add(
                    SessionAttendance(
                        session_id=session.id,
                        learner_id=learner_id,
                        present=self.rng.random() > 0.1,
                        recorded_at=session.ends_at,
                    )
                )
        db.session.flush()

    # --- coaches -----------------------------------------------------------------------------

    def assign(self, trajectory: Trajectory, on: date, *, avoid: Sequence[User] = ()) -> User:
        """The programme admin assigns the best-matching coach (matching rules apply)."""
        suggestions = [c.user for c in suggest_coaches(trajectory.learner) if c.user not in avoid]
        coach = suggestions[0]
        assign_coach(trajectory, coach, self.cast.admin)
        db.session.expire(trajectory, ["coach"])
        self.assigned[trajectory.id, coach.id] = moment(on, 9)
        return coach

    def change_coach(self, trajectory: Trajectory, on: date) -> User:
        """The current coach leaves the pool; the admin hands the learner to another coach."""
        leaving = coach_of(trajectory)
        db.session.execute(
            select(CoachProfile).where(CoachProfile.user_id == leaving.id)
        ).scalar_one().active = False
        db.session.flush()
        coach = suggest_coaches(trajectory.learner)[0].user
        assign_coach(trajectory, coach, self.cast.admin, texts.COACH_CHANGE_REASON)
        db.session.expire(trajectory, ["coach"])
        self.unassigned[trajectory.id, leaving.id] = moment(on, 9)
        self.assigned[trajectory.id, coach.id] = moment(on, 9)
        return coach

    # --- steps --------------------------------------------------------------------------------

    def find_step(
        self, trajectory: Trajectory, key: str, occurrence: int = 1
    ) -> StepInstance | None:
        steps = self.steps.get(trajectory.id)
        if steps is None:
            steps = self.steps[trajectory.id] = {
                (step.step_key, step.occurrence): step for step in trajectory.steps
            }
        return steps.get((key, occurrence))

    def step(self, trajectory: Trajectory, key: str, occurrence: int = 1) -> StepInstance:
        """A step the template gives every trajectory (`find_step` for one that may be absent)."""
        step = self.find_step(trajectory, key, occurrence)
        if step is None:
            raise LookupError(f"trajectory {trajectory.id} has no step {key} #{occurrence}")
        return step

    def _held_on(self, step: StepInstance, day: date | None) -> date:
        """When a closed conversation took place: a few days before it was due, in the past."""
        if day is None:
            day = step.due_on - timedelta(days=self.rng.randint(0, 5))
        return workday(min(day, self.today - timedelta(days=1)))

    def plan(self, trajectory: Trajectory, step: StepInstance, actor: User, day: date) -> datetime:
        """`actor` agrees date, time and place (or a video link) of a conversation; returns
        when it starts."""
        hour = self.rng.choice((9, 10, 11, 13, 14, 15))
        room = f"{self.rng.randint(1, 4)}.{self.rng.randint(10, 40)}"
        if self.rng.random() < 0.3:
            token = f"{self.rng.getrandbits(40):010x}"
            where = {"video_url": f"https://video.{self.tenant.slug}.example.nl/{token}"}
        else:
            where = {"location": f"{self.place}, spreekkamer {room}"}
        starts_at, ends_at = moment(day, hour), moment(day, hour + 1)
        schedule_step(trajectory, step, actor, Appointment(starts_at, ends_at, **where))
        return starts_at

    def close(self, trajectory: Trajectory, step: StepInstance, actor: User) -> None:
        """`actor` (responsible for the step) closes it; dated back to the conversation. Who
        took part: everyone, the manager now and then excepted."""
        present = None
        spec = trajectory.template_version.content.step(step.step_key)
        if spec is not None and asks_presence(spec):
            present = [
                str(role)
                for role in spec.participants
                if str(role) != "manager" or self.presence.random() < 0.85
            ]
        complete_step(trajectory, step, actor, present)
        self.backdate(step, "completed_at", step.ends_at or moment(step.due_on, 17))

    def goals(self, trajectory: Trajectory, *, done: bool = True, day: date | None = None) -> None:
        """Step 1: learner and coach set the learning goals, linked to organisation goals."""
        step = self.step(trajectory, "learning_goals")
        coach = coach_of(trajectory)
        if not done:
            self.plan(trajectory, step, coach, agreed_day(day))
            return
        starts_at = self.plan(trajectory, step, coach, self._held_on(step, day))
        title = trajectory.edition.training.title
        pool = texts.GOALS.get(title, texts.GENERIC_GOALS)
        goals = []
        for goal_title, description in self.rng.sample(pool, 2):
            count = min(self.rng.randint(1, 2), len(self.org_goals))
            links = self.rng.sample(self.org_goals, count)
            goals.append(GoalInput(goal_title, description, [str(g.id) for g in links]))
        set_learning_goals(trajectory, trajectory.learner, goals)
        for goal in trajectory.goals:
            self.backdate(goal, "created_at", starts_at)
        if self.rng.random() < 0.5:
            record_values(
                trajectory, step, coach, {"f.latent_needs": self.rng.choice(texts.LATENT_NEEDS)}
            )
        self.close(trajectory, step, coach)

    def intake(self, trajectory: Trajectory, *, done: bool = True, day: date | None = None) -> None:
        """Step 2: the coach plans the intake; the manager writes what they expect and give."""
        step = self.step(trajectory, "intake")
        coach = coach_of(trajectory)
        if not done:
            self.plan(trajectory, step, coach, agreed_day(day))
            return
        self.plan(trajectory, step, coach, self._held_on(step, day))
        record_values(
            trajectory,
            step,
            manager_of(trajectory),
            {
                "f.manager_expectations": self.rng.choice(texts.MANAGER_EXPECTATIONS),
                "f.manager_contribution": self.rng.choice(texts.MANAGER_CONTRIBUTIONS),
            },
        )
        goals = list(trajectory.goals)
        if goals:
            set_expected_results(
                trajectory,
                step,
                manager_of(trajectory),
                [
                    ResultInput(
                        str(goal.id),
                        self.rng.choice(texts.EXPECTED_RESULTS),
                        self.rng.choice(texts.MANAGER_CONTRIBUTIONS) if n == 0 else "",
                    )
                    for n, goal in enumerate(goals[:2])
                ],
            )
        self.close(trajectory, step, coach)

    def rate(self, trajectory: Trajectory, step: StepInstance, rater: User, lift: int) -> None:
        """`rater` rates every expected result in `step`; a higher `lift` (0-2: evaluation,
        three, six months) makes transfer likelier, as it grows after the training."""
        levels = ["not_yet", "partly", "applied", "exceeded"]
        weights = [(4, 4, 5, 1), (2, 3, 7, 2), (1, 3, 7, 3)][lift]
        is_manager = rater.id == manager_of(trajectory).id
        given = {}
        for result in results_of(trajectory):
            done = ""
            if is_manager and result.contribution and lift > 0:
                done = "yes" if self.rng.random() < 0.7 else "no"
            given[str(result.id)] = RatingInput(
                level=self.rng.choices(levels, weights)[0],
                example=self.rng.choice(texts.RATING_EXAMPLES),
                contribution_done=done,
            )
        if given:
            rate_results(trajectory, step, rater, given)

    def look_back(self, trajectory: Trajectory) -> None:
        """Six months on (a little early in the demo): both rate once more; the manager closes
        the step, which completes the trajectory."""
        step = self.step(trajectory, "follow_up")
        manager = manager_of(trajectory)
        self.rate(trajectory, step, trajectory.learner, 2)
        self.rate(trajectory, step, manager, 2)
        complete_step(trajectory, step, manager)
        when = moment(self.today - timedelta(days=1), 10)
        self.backdate(step, "completed_at", when)
        self.backdate(trajectory, "completed_at", when)

    def training(self, trajectory: Trajectory) -> None:
        """Step 3 closes when the edition has ended; the trainer closes it."""
        step = self.step(trajectory, "training")
        complete_step(trajectory, step, self.cast.trainer)
        self.backdate(step, "completed_at", moment(trajectory.edition.ends_on, 17))

    def progress(
        self,
        trajectory: Trajectory,
        occurrence: int = 1,
        *,
        done: bool = True,
        day: date | None = None,
    ) -> None:
        """Step 4: a confidential progress conversation, per learning goal."""
        step = self.find_step(trajectory, "progress", occurrence)
        coach, learner = coach_of(trajectory), trajectory.learner
        if step is None:
            step = add_occurrence(trajectory, "progress", coach)
            self.steps[trajectory.id][("progress", step.occurrence)] = step
        if not done:
            self.plan(trajectory, step, self.rng.choice((coach, learner)), agreed_day(day))
            return
        self.plan(trajectory, step, coach, self._held_on(step, day))
        record_values(
            trajectory,
            step,
            learner,
            {
                f"f.progress_per_goal.{goal.id}": self.rng.choice(texts.PROGRESS)
                for goal in trajectory.goals
            },
        )
        record_values(
            trajectory,
            step,
            coach,
            {
                "f.notes": self.rng.choice(texts.PROGRESS_NOTES),
                "f.next_steps": self.rng.choice(texts.NEXT_STEPS),
            },
        )
        self.close(trajectory, step, coach)

    def evaluation(
        self, trajectory: Trajectory, *, done: bool = True, learner_only: bool = False
    ) -> None:
        """Step 5: learner and manager rate the goals; the manager closes the conversation."""
        step = self.step(trajectory, "evaluation")
        learner = trajectory.learner
        if learner_only or done:
            record_values(
                trajectory,
                step,
                learner,
                {
                    f"f.attainment_learner.{goal.id}": str(self.rng.randint(3, 5))
                    for goal in trajectory.goals
                },
            )
            self.rate(trajectory, step, learner, 0)
        if not done:
            return
        manager = manager_of(trajectory)
        self.plan(trajectory, step, manager, self._held_on(step, None))
        ratings = {
            f"f.attainment_manager.{goal.id}": str(self.rng.randint(3, 5))
            for goal in trajectory.goals
        }
        record_values(
            trajectory,
            step,
            manager,
            ratings
            | {
                "f.expectations_met": str(self.rng.randint(3, 5)),
                "f.evaluation_notes": self.rng.choice(texts.EVALUATION_NOTES),
            },
        )
        self.rate(trajectory, step, manager, 0)
        self.close(trajectory, step, manager)

    def application_plan(self, trajectory: Trajectory) -> None:
        step = self.step(trajectory, "consolidation")
        record_values(
            trajectory,
            step,
            trajectory.learner,
            {"f.application_plan": self.rng.choice(texts.APPLICATION_PLANS)},
        )

    def return_answers(self, trajectory: Trajectory) -> None:
        step = self.step(trajectory, "return_day")
        record_values(
            trajectory,
            step,
            trajectory.learner,
            {
                "f.applied": self.rng.choice(texts.APPLIED),
                "f.tips_given": self.rng.choice(texts.TIPS_GIVEN),
                "f.tips_received": self.rng.choice(texts.TIPS_RECEIVED),
            },
        )
        record_values(
            trajectory,
            step,
            manager_of(trajectory),
            {"f.expectations_met_later": str(self.rng.randint(3, 5))},
        )
        self.rate(trajectory, step, trajectory.learner, 1)
        self.rate(trajectory, step, manager_of(trajectory), 1)

    def meeting(
        self,
        edition: Edition,
        key: str,
        actor: User,
        *,
        outcome: str = "",
        absent: Sequence[User] = (),
    ) -> GroupMeeting:
        """A group step: scheduled on its due day; held and closed when that day is past."""
        meeting = db.session.execute(
            select(GroupMeeting).where(
                GroupMeeting.edition_id == edition.id, GroupMeeting.step_key == key
            )
        ).scalar_one()
        day = workday(meeting.due_on, later=meeting.due_on >= self.today)
        ends_at = moment(day, 17)
        schedule_meeting(
            meeting,
            actor,
            Appointment(starts_at=moment(day, 13), ends_at=ends_at, location=edition.location),
        )
        if day >= self.today:
            return meeting
        members = meeting_trajectories(meeting)
        absent_ids = {u.id for u in absent}
        present = {t.learner_id for t, _ in members} - absent_ids
        close_meeting(meeting, actor, present, outcome)
        # Held when it ended (the meeting's `ends_at`, as scheduled above).
        self.backdate(meeting, "held_at", ends_at)
        for trajectory, step in members:
            self.backdate(step, "completed_at", ends_at)
            if trajectory.status is TrajectoryStatus.COMPLETED:
                self.backdate(trajectory, "completed_at", ends_at)
        return meeting

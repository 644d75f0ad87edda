"""The Flevoland model at work in a demo tenant: coaches, editions and trajectories at every step.

Everything goes through the services a real user's click would call (`start_trajectory`,
`assign_coach`, `set_learning_goals`, `record_values`, `schedule_step`, `complete_step`,
`schedule_meeting`, `close_meeting`, ...), with the person the template makes responsible as the
actor, so the demo shows the rules as they are. The catalogue (editions, sessions, enrolments,
attendance) and the coach pool are written as rows: a trajectory's enrolment anchor must lie in
the past, and `start_trajectory` takes it from `Enrolment.enrolled_at`.

Dates are built from today, so the demo always looks current: one edition finished long ago
(return day done), one returning soon, one that just ended, one running, one about to start
(full, with a waiting list) and one open for applications. The services stamp what they close
with "now"; the seed then dates those moments back to when the conversation or meeting took
place, so the history reads as it would have happened.

The programme is seeded once per tenant: when the tenant has any edition, it is left alone.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload

from samenleren.catalogue.models import (
    Edition,
    EditionSession,
    Enrolment,
    EnrolmentStatus,
    SessionAttendance,
    Training,
    TrainingDepartment,
)
from samenleren.coaching.assignment import assign_coach
from samenleren.coaching.matching import suggest_coaches
from samenleren.coaching.models import CoachDay, CoachDayAttendance, CoachProfile
from samenleren.core.db import as_utc
from samenleren.core.extensions import db
from samenleren.core.formatting import local_day, local_today
from samenleren.core.tenant import Tenant
from samenleren.demo import texts
from samenleren.identity.models import Department, User
from samenleren.tenants.models import OrganisationGoal
from samenleren.trajectories.goals import GoalInput, set_learning_goals
from samenleren.trajectories.lifecycle import start_trajectory, withdraw_trajectory
from samenleren.trajectories.meetings import close_meeting, meeting_trajectories, schedule_meeting
from samenleren.trajectories.models import (
    CoachAssignment,
    GroupMeeting,
    StepInstance,
    StepState,
    Trajectory,
    TrajectoryStatus,
)
from samenleren.trajectories.steps import (
    Appointment,
    add_occurrence,
    complete_step,
    schedule_step,
    skip_step,
)
from samenleren.trajectories.values import record_values

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

#: Trainings open only to some departments (the others are open to everyone).
RESTRICTED = {
    "Omgevingswet in de praktijk": (
        "Ruimte en Economie",
        "Natuur en Water",
        "Wegen en Vaarwegen",
        "Juridische Zaken",
    ),
    "Coachend leidinggeven": ("Personeel en Organisatie", "Bedrijfsvoering", "Ruimte en Economie"),
}
#: Where the province's own rooms are; other tenants get a generic name.
CITIES = {"flevoland": "Lelystad", "gelderland": "Arnhem"}
SEASONS = {
    12: "Winter",
    1: "Winter",
    2: "Winter",
    3: "Voorjaar",
    4: "Voorjaar",
    5: "Voorjaar",
    6: "Zomer",
    7: "Zomer",
    8: "Zomer",
    9: "Najaar",
    10: "Najaar",
    11: "Najaar",
}


def workday(day: date, *, later: bool = False) -> date:
    """`day`, or the nearest weekday before it (after it, when `later`)."""
    while day.weekday() >= 5:
        day += timedelta(days=1 if later else -1)
    return day


def moment(day: date, hour: int, minute: int = 0) -> datetime:
    """A local (Europe/Amsterdam) time on `day`, as the UTC moment the database stores."""
    return datetime.combine(day, time(hour, minute), tzinfo=AMSTERDAM).astimezone(UTC)


def edition_name(starts_on: date) -> str:
    return f"{SEASONS[starts_on.month]} {starts_on.year}"


# --- reference data: restricted trainings, the coach pool, coach days ---------------------------


def seed_training_departments(departments: dict[str, Department]) -> None:
    trainings = {t.title: t for t in db.session.scalars(select(Training))}
    existing = set(
        db.session.execute(select(TrainingDepartment.training_id, TrainingDepartment.department_id))
    )
    for title, names in RESTRICTED.items():
        training = trainings.get(title)
        if training is None or training.open_to_all:
            continue
        for name in names:
            if (training.id, departments[name].id) not in existing:
                db.session.add(
                    TrainingDepartment(training_id=training.id, department_id=departments[name].id)
                )


def seed_coach_pool(tenant: Tenant, coaches: Sequence[User], today: date) -> None:
    """A profile for every coach: capacity 2-4, trained in the past; adds only missing ones."""
    rng = random.Random(f"{tenant.slug}/coaches")  # noqa: S311 - demo data, not security
    have = set(db.session.scalars(select(CoachProfile.user_id)))
    for coach in coaches:
        capacity = rng.choice((2, 3, 3, 4))
        trained_on = today - timedelta(days=rng.randint(200, 1400))
        introduction = rng.choice(texts.COACH_INTRODUCTIONS)
        if coach.id not in have:
            db.session.add(
                CoachProfile(
                    user_id=coach.id,
                    capacity=capacity,
                    trained_on=trained_on,
                    introduction=introduction,
                )
            )
    db.session.flush()


def seed_coach_days(tenant: Tenant, coaches: Sequence[User], today: date) -> None:
    """The twice-yearly coach days: one held (with attendance and its record), one to come."""
    if db.session.scalar(select(CoachDay.id).limit(1)) is not None:
        return
    rng = random.Random(f"{tenant.slug}/coach-days")  # noqa: S311 - demo data, not security
    held_on = workday(today - timedelta(days=130))
    coming_on = workday(today + timedelta(days=50), later=True)
    place = f"Provinciehuis {CITIES.get(tenant.slug, '')}".strip()
    held = CoachDay(
        title=f"Leercoachdag {SEASONS[held_on.month].lower()} {held_on.year}",
        held_on=held_on,
        location=f"{place}, Statenzaal",
        programme=texts.COACH_DAY_PROGRAMME,
        record=texts.COACH_DAY_RECORD,
    )
    coming = CoachDay(
        title=f"Leercoachdag {SEASONS[coming_on.month].lower()} {coming_on.year}",
        held_on=coming_on,
        location="Landgoed De Hoge Veluwe, zaal Het Atrium"
        if tenant.slug == "gelderland"
        else "Natuurcentrum Oostvaardersplassen",
        programme=texts.UPCOMING_COACH_DAY_PROGRAMME,
    )
    db.session.add_all([held, coming])
    db.session.flush()
    absent = set(rng.sample(range(len(coaches)), 2))
    for index, coach in enumerate(coaches):
        db.session.add(
            CoachDayAttendance(coach_day_id=held.id, coach_id=coach.id, present=index not in absent)
        )
    db.session.flush()


# --- the programme ------------------------------------------------------------------------------


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


class Programme:
    """Writes one tenant's editions and trajectories through the services."""

    def __init__(self, tenant: Tenant, cast: Cast, today: date) -> None:
        self.tenant = tenant
        self.cast = cast
        self.today = today
        self.rng = random.Random(f"{tenant.slug}/programme")  # noqa: S311 - demo data
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
        enrolment = self.apply(
            edition,
            learner,
            EnrolmentStatus.ENROLLED,
            enrolled_on - timedelta(days=self.rng.randint(3, 10)),
            motivation=self.rng.choice(texts.MOTIVATIONS),
            enrolled_at=moment(enrolled_on, 11),
        )
        trajectory = start_trajectory(enrolment)
        self.backdate(trajectory, "created_at", enrolment.enrolled_at)
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
        leaving = trajectory.coach
        db.session.scalar(
            select(CoachProfile).where(CoachProfile.user_id == leaving.id)
        ).active = False
        db.session.flush()
        coach = suggest_coaches(trajectory.learner)[0].user
        assign_coach(trajectory, coach, self.cast.admin, texts.COACH_CHANGE_REASON)
        db.session.expire(trajectory, ["coach"])
        self.unassigned[trajectory.id, leaving.id] = moment(on, 9)
        self.assigned[trajectory.id, coach.id] = moment(on, 9)
        return coach

    # --- steps --------------------------------------------------------------------------------

    def step(self, trajectory: Trajectory, key: str, occurrence: int = 1) -> StepInstance | None:
        steps = self.steps.get(trajectory.id)
        if steps is None:
            steps = self.steps[trajectory.id] = {
                (step.step_key, step.occurrence): step for step in trajectory.steps
            }
        return steps.get((key, occurrence))

    def _held_on(self, step: StepInstance, day: date | None) -> date:
        """When a closed conversation took place: a few days before it was due, in the past."""
        if day is None:
            day = step.due_on - timedelta(days=self.rng.randint(0, 5))
        return workday(min(day, self.today - timedelta(days=1)))

    def plan(self, trajectory: Trajectory, step: StepInstance, actor: User, day: date) -> None:
        """`actor` agrees date, time and place (or a video link) of a conversation."""
        hour = self.rng.choice((9, 10, 11, 13, 14, 15))
        room = f"{self.rng.randint(1, 4)}.{self.rng.randint(10, 40)}"
        if self.rng.random() < 0.3:
            token = f"{self.rng.getrandbits(40):010x}"
            where = {"video_url": f"https://video.{self.tenant.slug}.example.nl/{token}"}
        else:
            where = {"location": f"{self.place}, spreekkamer {room}"}
        starts_at, ends_at = moment(day, hour), moment(day, hour + 1)
        schedule_step(trajectory, step, actor, Appointment(starts_at, ends_at, **where))

    def close(self, trajectory: Trajectory, step: StepInstance, actor: User) -> None:
        """`actor` (responsible for the step) closes it; dated back to the conversation."""
        complete_step(trajectory, step, actor)
        self.backdate(step, "completed_at", step.ends_at or moment(step.due_on, 17))

    def goals(self, trajectory: Trajectory, *, done: bool = True, day: date | None = None) -> None:
        """Step 1: learner and coach set the learning goals, linked to organisation goals."""
        step = self.step(trajectory, "learning_goals")
        coach = trajectory.coach
        if not done:
            self.plan(trajectory, step, coach, day)
            return
        self.plan(trajectory, step, coach, self._held_on(step, day))
        title = trajectory.edition.training.title
        pool = texts.GOALS.get(title, texts.GENERIC_GOALS)
        goals = []
        for goal_title, description in self.rng.sample(pool, 2):
            count = min(self.rng.randint(1, 2), len(self.org_goals))
            links = self.rng.sample(self.org_goals, count)
            goals.append(GoalInput(goal_title, description, [str(g.id) for g in links]))
        set_learning_goals(trajectory, trajectory.learner, goals)
        for goal in trajectory.goals:
            self.backdate(goal, "created_at", step.starts_at)
        if self.rng.random() < 0.5:
            record_values(
                trajectory, step, coach, {"f.latent_needs": self.rng.choice(texts.LATENT_NEEDS)}
            )
        self.close(trajectory, step, coach)

    def intake(self, trajectory: Trajectory, *, done: bool = True, day: date | None = None) -> None:
        """Step 2: the coach plans the intake; the manager writes what they expect and give."""
        step = self.step(trajectory, "intake")
        coach, manager = trajectory.coach, trajectory.learner.manager
        if not done:
            self.plan(trajectory, step, coach, day)
            return
        self.plan(trajectory, step, coach, self._held_on(step, day))
        record_values(
            trajectory,
            step,
            manager,
            {
                "f.manager_expectations": self.rng.choice(texts.MANAGER_EXPECTATIONS),
                "f.manager_contribution": self.rng.choice(texts.MANAGER_CONTRIBUTIONS),
            },
        )
        self.close(trajectory, step, coach)

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
        step = self.step(trajectory, "progress", occurrence)
        if step is None:
            step = add_occurrence(trajectory, "progress", trajectory.coach)
            self.steps[trajectory.id][("progress", step.occurrence)] = step
        coach, learner = trajectory.coach, trajectory.learner
        if not done:
            self.plan(trajectory, step, self.rng.choice((coach, learner)), day)
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
        learner, manager = trajectory.learner, trajectory.learner.manager
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
        if not done:
            return
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
            trajectory.learner.manager,
            {"f.expectations_met_later": str(self.rng.randint(3, 5))},
        )

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
        meeting = db.session.scalar(
            select(GroupMeeting).where(
                GroupMeeting.edition_id == edition.id, GroupMeeting.step_key == key
            )
        )
        day = workday(meeting.due_on, later=meeting.due_on >= self.today)
        schedule_meeting(
            meeting,
            actor,
            Appointment(
                starts_at=moment(day, 13), ends_at=moment(day, 17), location=edition.location
            ),
        )
        if day >= self.today:
            return meeting
        members = meeting_trajectories(meeting)
        absent_ids = {u.id for u in absent}
        present = {t.learner_id for t, _ in members} - absent_ids
        close_meeting(meeting, actor, present, outcome)
        self.backdate(meeting, "held_at", meeting.ends_at)
        for trajectory, step in members:
            self.backdate(step, "completed_at", meeting.ends_at)
            if trajectory.status is TrajectoryStatus.COMPLETED:
                self.backdate(trajectory, "completed_at", meeting.ends_at)
        return meeting

    # --- the editions -------------------------------------------------------------------------

    def run(self) -> None:
        self.finished()
        self.returning()
        self.closing()
        self.running()
        self.upcoming()
        self.applying()
        self.apply_backdating()
        db.session.flush()

    def finished(self) -> None:
        """Ended five months ago: every step done, the return day held; trajectories complete."""
        edition = self.edition("Effectief communiceren", starts_in=-210, weeks=7, sessions=5)
        enrolled_on = edition.starts_on - timedelta(days=42)
        trajectories = [self.start(edition, u, enrolled_on) for u in self.cast.take(5)]
        for trajectory in trajectories:
            self.assign(trajectory, enrolled_on + timedelta(days=2))
        for trajectory in trajectories:
            self.goals(trajectory)
            self.intake(trajectory)
            self.progress(trajectory)
            self.training(trajectory)
            self.evaluation(trajectory)
            self.application_plan(trajectory)
        self.attendance(edition)
        trainer, admin = self.cast.trainer, self.cast.admin
        self.meeting(edition, "consolidation", trainer, outcome=texts.CONSOLIDATION_OUTCOME)
        for trajectory in trajectories[:-1]:
            self.return_answers(trajectory)
        self.meeting(
            edition,
            "return_day",
            admin,
            outcome=texts.RETURN_DAY_OUTCOME,
            absent=[trajectories[-1].learner],
        )

    def returning(self) -> None:
        """Ended five weeks ago: consolidation held, return day scheduled; one intake skipped,
        one evaluation overdue."""
        edition = self.edition("Adviesvaardigheden", starts_in=-80, weeks=6, sessions=4)
        enrolled_on = edition.starts_on - timedelta(days=40)
        trajectories = [self.start(edition, u, enrolled_on) for u in self.cast.take(5)]
        for trajectory in trajectories:
            self.assign(trajectory, enrolled_on + timedelta(days=3))
        for index, trajectory in enumerate(trajectories):
            self.goals(trajectory)
            if index == 1:
                step = self.step(trajectory, "intake")
                skip_step(trajectory, step, trajectory.coach, texts.SKIP_INTAKE_REASON)
                self.backdate(step, "completed_at", moment(step.due_on, 12))
            else:
                self.intake(trajectory)
            self.progress(trajectory)
            self.training(trajectory)
            if index != 3:
                self.evaluation(trajectory)
            self.application_plan(trajectory)
        self.attendance(edition)
        self.meeting(
            edition, "consolidation", self.cast.trainer, outcome=texts.CONSOLIDATION_OUTCOME
        )
        self.meeting(edition, "return_day", self.cast.admin)

    def closing(self) -> None:
        """Ended two and a half weeks ago: evaluations under way, consolidation scheduled."""
        edition = self.edition("Presentatietechnieken", starts_in=-60, weeks=6, sessions=4)
        enrolled_on = edition.starts_on - timedelta(days=35)
        trajectories = [self.start(edition, u, enrolled_on) for u in self.cast.take(4)]
        for trajectory in trajectories:
            self.assign(trajectory, enrolled_on + timedelta(days=2))
        ready, rating, behind, twice = trajectories
        for trajectory in trajectories:
            self.goals(trajectory)
            self.intake(trajectory)
            if trajectory is not behind:
                self.progress(trajectory)
            self.training(trajectory)
        # a second progress conversation, after the training
        self.progress(twice, 2, day=edition.ends_on + timedelta(days=2))
        for trajectory in (ready, twice):
            self.evaluation(trajectory)
            self.application_plan(trajectory)
        self.evaluation(rating, done=False, learner_only=True)  # the manager has yet to rate
        self.attendance(edition)
        self.meeting(edition, "consolidation", self.cast.trainer)

    def running(self) -> None:
        """Halfway: the training runs; progress conversations are due; one learner left and one
        changed coach."""
        edition = self.edition("Projectmatig werken", starts_in=-35, weeks=8, sessions=5)
        enrolled_on = edition.starts_on - timedelta(days=35)
        people = self.cast.take(7)
        trajectories = [self.start(edition, u, enrolled_on) for u in people]
        showcase, changed, late_intake, late_progress, steady, steady_too, leaving = trajectories
        showcase_coach = self.assign(showcase, enrolled_on + timedelta(days=1))
        # the coach who leaves the pool later is not the one the demo shows
        self.assign(changed, enrolled_on + timedelta(days=1), avoid=[showcase_coach])
        for trajectory in trajectories[2:]:
            self.assign(trajectory, enrolled_on + timedelta(days=2))
        for trajectory in trajectories:
            self.goals(trajectory)
        for trajectory in (showcase, late_progress, steady, steady_too, leaving):
            self.intake(trajectory)
        left_on = workday(self.days(-20))
        withdraw_trajectory(leaving)
        leaving.enrolment.status = EnrolmentStatus.WITHDRAWN
        leaving.enrolment.reason = texts.WITHDRAWAL_REASON
        self.change_coach(changed, workday(self.days(-30)))
        self.intake(changed, day=workday(self.days(-27)))
        for trajectory in (showcase, steady, steady_too):
            self.progress(trajectory)
        soon = workday(self.days(3), later=True)
        self.progress(changed, done=False, day=soon)
        self.progress(showcase, 2, done=False, day=workday(self.days(30), later=True))
        del late_intake  # its intake stays open, overdue
        self.attendance(edition, left={leaving.learner_id: left_on})

    def upcoming(self) -> None:
        """Starts in three weeks and is full: goals being set, intakes planned, a waiting list,
        and one late enrolment still without a coach."""
        edition = self.edition("Onderhandelen", starts_in=24, weeks=5, sessions=4, capacity=6)
        enrolled_on = self.days(-21)
        people = self.cast.take(8)
        trajectories = [self.start(edition, u, enrolled_on) for u in people[:4]]
        late = self.start(edition, people[4], self.days(-6))
        uncoached = self.start(edition, people[5], self.days(-2))
        for trajectory in [*trajectories, late]:
            self.assign(trajectory, local_day(trajectory.enrolment.enrolled_at) + timedelta(days=1))
        for trajectory in trajectories[:3]:
            self.goals(trajectory)
            self.intake(trajectory, done=False, day=workday(self.days(14), later=True))
        # trajectories[3]: the goals are overdue and not planned yet
        self.goals(late, done=False, day=workday(self.days(3), later=True))
        del uncoached  # waits for a coach
        for waiting, days_ago in zip(people[6:], (12, 5), strict=True):
            self.apply(
                edition,
                waiting,
                EnrolmentStatus.WAITLISTED,
                self.days(-days_ago),
                motivation=self.rng.choice(texts.MOTIVATIONS),
            )

    def applying(self) -> None:
        """A training for some departments only, open for applications; one was declined."""
        title = "Omgevingswet in de praktijk"
        edition = self.edition(title, starts_in=75, weeks=4, sessions=3)
        open_to = set(
            db.session.scalars(
                select(TrainingDepartment.department_id).where(
                    TrainingDepartment.training_id == self.trainings[title].id
                )
            )
        )
        busy = set(
            db.session.scalars(
                select(Trajectory.learner_id).where(Trajectory.status == TrajectoryStatus.ACTIVE)
            )
        )
        free = [u for u in self.cast.employees if u.id not in busy]
        # only employees of the departments the training is open to can apply
        inside = [u for u in free if u.department_id in open_to]
        for days_ago, learner in zip((9, 6, 2), inside[:3], strict=False):
            self.apply(
                edition,
                learner,
                EnrolmentStatus.APPLIED,
                self.days(-days_ago),
                motivation=self.rng.choice(texts.MOTIVATIONS),
            )
        for learner in inside[3:4]:
            self.apply(
                edition,
                learner,
                EnrolmentStatus.DECLINED,
                self.days(-8),
                motivation=self.rng.choice(texts.MOTIVATIONS),
                reason=texts.DECLINE_REASON,
            )


def seed_programme(tenant: Tenant, parts: dict[str, tuple[str, User]]) -> bool:
    """The coach pool, coach days, restricted trainings and, once, the editions and
    trajectories. `parts`: subject -> (part in the demo, user). Needs the tenant active; flushes,
    does not commit. True when it built the programme now (the tenant had no edition yet)."""
    today = local_today()
    departments = {d.name: d for d in db.session.scalars(select(Department))}
    seed_training_departments(departments)
    of_part = {
        part: [user for user_part, user in parts.values() if user_part == part]
        for part in ("admin", "trainer", "coach", "employee")
    }
    seed_coach_pool(tenant, of_part["coach"], today)
    seed_coach_days(tenant, of_part["coach"], today)
    if db.session.scalar(select(Edition.id).limit(1)) is not None:
        return False
    rng = random.Random(f"{tenant.slug}/cast")  # noqa: S311 - demo data, not security
    employees = sorted(of_part["employee"], key=lambda u: u.subject)
    rng.shuffle(employees)
    Programme(
        tenant,
        Cast(admin=of_part["admin"][0], trainer=of_part["trainer"][0], employees=employees),
        today,
    ).run()
    return True


@dataclass(frozen=True)
class Story:
    """A trajectory worth logging in for: who is in it, and where it stands."""

    learner: str
    coach: str
    manager: str | None
    training: str
    edition: str


def mid_trajectory(today: date | None = None) -> Story | None:
    """The active trajectory in a running edition that has come furthest (its coach still in the
    pool), to show a learner in the middle of one; None when the tenant has no such trajectory.
    Falls back to any active coached trajectory once no edition runs. Needs the tenant active."""
    today = today or local_today()
    trajectories = db.session.scalars(
        select(Trajectory)
        .where(Trajectory.status == TrajectoryStatus.ACTIVE, Trajectory.coach_id.is_not(None))
        .options(joinedload(Trajectory.learner), joinedload(Trajectory.edition))
    ).all()
    if not trajectories:
        return None
    counts = {
        trajectory_id: (steps, closed or 0)
        for trajectory_id, steps, closed in db.session.execute(
            select(
                StepInstance.trajectory_id,
                func.count(),
                func.sum(case((StepInstance.state.in_([StepState.DONE, StepState.SKIPPED]), 1))),
            ).group_by(StepInstance.trajectory_id)
        )
    }
    in_pool = set(db.session.scalars(select(CoachProfile.user_id).where(CoachProfile.active)))

    def interest(trajectory: Trajectory) -> tuple:
        edition = trajectory.edition
        steps, closed = counts.get(trajectory.id, (0, 0))
        running = edition.starts_on <= today <= edition.ends_on
        manager = trajectory.learner.manager_id is not None
        return (
            not running,
            trajectory.coach_id not in in_pool,
            not manager,
            -closed,
            -steps,
            trajectory.learner.subject,
        )

    best = min(trajectories, key=interest)
    return Story(
        learner=best.learner.subject,
        coach=best.coach.subject,
        manager=best.learner.manager.subject if best.learner.manager else None,
        training=best.edition.training.title,
        edition=best.edition.name,
    )

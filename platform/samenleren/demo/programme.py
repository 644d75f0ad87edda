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
This module tells the year; `samenleren.demo.writer` takes each step of it, on the reference data
of `samenleren.demo.reference` and the dates of `samenleren.demo.dates`.
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from samenleren.catalogue.models import Edition, EnrolmentStatus, TrainingDepartment
from samenleren.core.extensions import db
from samenleren.core.formatting import local_day, local_today
from samenleren.core.tenant import Tenant
from samenleren.demo import texts
from samenleren.demo.dates import moment, workday
from samenleren.demo.history import seed_history
from samenleren.demo.reference import seed_coach_days, seed_coach_pool, seed_training_departments
from samenleren.demo.writer import Cast, ProgrammeWriter, coach_of, enrolled_at
from samenleren.identity.models import Department, User
from samenleren.trajectories.lifecycle import withdraw_trajectory
from samenleren.trajectories.models import Trajectory, TrajectoryStatus
from samenleren.trajectories.steps import skip_step


class Programme(ProgrammeWriter):
    """The year of one tenant: its editions, each at another point of the model."""

    def run(self) -> None:
        seed_history(self, self.today)  # the two years before, for the report's trends
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
        for trajectory in trajectories:
            self.look_back(trajectory)

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
                skip_step(trajectory, step, coach_of(trajectory), texts.SKIP_INTAKE_REASON)
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
            self.assign(trajectory, local_day(enrolled_at(trajectory)) + timedelta(days=1))
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

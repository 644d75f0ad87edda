"""The coach pool and the coach days: who coaches, how many learners, and the twice-yearly day.

Every write is a service function (style.md): it checks who may do it, validates, and writes
nothing when it refuses (`InvalidInput`, with the message next to the field).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext
from sqlalchemy import func, select

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.catalogue.models import Edition, Training
from samenleren.coaching.matching import CoachLoad, coach_loads
from samenleren.coaching.models import CoachDay, CoachDayAttendance, CoachProfile
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.text import control_characters_message, has_control_characters
from samenleren.identity.directory import Person, search_people
from samenleren.identity.models import Department, Role, RoleAssignment, RoleSource, User
from samenleren.trajectories.models import Trajectory, TrajectoryStatus

#: The most learners one coach may take at the same time (a peer coach has a day job too).
MAX_CAPACITY = 20
INTRODUCTION_LIMIT = 2_000
TITLE_LIMIT = 200
LOCATION_LIMIT = 300
PROGRAMME_LIMIT = 10_000
RECORD_LIMIT = 50_000

LOCAL_ZONE = ZoneInfo("Europe/Amsterdam")


def today() -> date:
    """Today in the Netherlands (the server may run in UTC)."""
    return datetime.now(LOCAL_ZONE).date()


def is_admin(user: User) -> bool:
    return user.has_role(Role.PROGRAMME_ADMIN)


def is_coach(user: User) -> bool:
    return user.has_role(Role.COACH)


def _require_admin(actor: User) -> None:
    if not is_admin(actor):
        raise InvalidInput.form(gettext("Only the programme administrator manages the coach pool."))


# --- the coach pool ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolEntry:
    """One coach of the pool as the pool page shows it."""

    coach: CoachLoad
    department: str | None


def coach_pool() -> list[PoolEntry]:
    """Every coach with their department and current load, by name (3 queries in all)."""
    loads = coach_loads()
    department_ids = {c.user.department_id for c in loads if c.user.department_id is not None}
    names: dict[uuid.UUID, str] = {}
    if department_ids:
        names = dict(
            db.session.execute(
                select(Department.id, Department.name).where(Department.id.in_(department_ids))
            ).all()
        )
    return [
        PoolEntry(c, names.get(c.user.department_id) if c.user.department_id else None)
        for c in loads
    ]


def coach_candidates(q: str) -> list[Person]:
    """Active employees matching `q` who are not in the coach pool yet (a bounded search: a
    province has thousands of employees)."""
    in_pool = select(CoachProfile.id).where(CoachProfile.user_id == User.id).exists()
    return search_people(q, where=~in_pool)


def find_candidate(raw_id: str | None) -> User | None:
    """The employee chosen in the form, or None when the choice names nobody of this tenant."""
    try:
        user_id = uuid.UUID(str(raw_id or "").strip())
    except ValueError:
        return None
    return db.session.scalar(select(User).where(User.id == user_id))


def _check_profile_fields(capacity: int | None, trained_on: date | None, introduction: str) -> dict:
    errors: dict[str, str] = {}
    if capacity is None or not 0 <= capacity <= MAX_CAPACITY:
        errors["capacity"] = gettext(
            "The capacity is a number from 0 to %(max)d learners.", max=MAX_CAPACITY
        )
    if trained_on is not None and trained_on > today():
        errors["trained_on"] = gettext("The training date cannot be in the future.")
    if len(introduction) > INTRODUCTION_LIMIT:
        errors["introduction"] = gettext("At most %(count)d characters.", count=INTRODUCTION_LIMIT)
    return errors


def add_coach(
    user: User | None,
    capacity: int | None,
    trained_on: date | None,
    introduction: str,
    actor: User,
) -> CoachProfile:
    """Make an employee a coach: a profile in the pool and the coach role.

    The role is given by the application (`RoleSource.APP`), so a login, which brings the
    identity provider's roles in line, keeps it.
    """
    _require_admin(actor)
    introduction = (introduction or "").strip()
    errors = _check_profile_fields(capacity, trained_on, introduction)
    if user is None:
        errors["user"] = gettext("Choose an employee.")
    elif not user.active:
        errors["user"] = gettext("%(name)s no longer works here.", name=user.name)
    elif db.session.scalar(select(CoachProfile.id).where(CoachProfile.user_id == user.id)):
        errors["user"] = gettext("%(name)s is a coach already.", name=user.name)
    if errors or user is None:  # no user chosen is one of the errors
        raise InvalidInput(errors)
    profile = CoachProfile(
        user_id=user.id, capacity=capacity, trained_on=trained_on, introduction=introduction
    )
    db.session.add(profile)
    has_app_role = any(
        a.role is Role.COACH and a.source is RoleSource.APP for a in user.role_assignments
    )
    if not has_app_role:
        # Also when the identity provider gives the role today: its groups may change, and a
        # coach in the pool must stay a coach until the administrator says otherwise.
        user.role_assignments.append(RoleAssignment(role=Role.COACH, source=RoleSource.APP))
        record(
            AuditAction.ROLE_ADDED,
            actor=actor,
            subject_type="user",
            subject_id=user.id,
            details={"role": Role.COACH.value, "source": RoleSource.APP.value},
        )
    db.session.flush()
    return profile


def current_load(profile: CoachProfile) -> int:
    """The number of active trajectories the coach coaches now."""
    return db.session.execute(
        select(func.count())
        .select_from(Trajectory)
        .where(Trajectory.coach_id == profile.user_id, Trajectory.status == TrajectoryStatus.ACTIVE)
    ).scalar_one()


def update_coach(
    profile: CoachProfile,
    *,
    capacity: int | None,
    trained_on: date | None,
    active: bool,
    introduction: str,
    actor: User,
) -> list[str]:
    """Change a coach's capacity, training date, availability and introduction.

    A capacity below the current load is allowed (the coachees keep their coach; the coach just
    gets no new ones): the answer is the list of warnings to show.
    """
    _require_admin(actor)
    introduction = (introduction or "").strip()
    errors = _check_profile_fields(capacity, trained_on, introduction)
    if errors or capacity is None:  # a missing capacity is one of the errors
        raise InvalidInput(errors)
    warnings = []
    load = current_load(profile)
    if capacity < load:
        warnings.append(
            gettext(
                "%(name)s coaches %(load)d learners now, more than the new capacity of "
                "%(capacity)d. They keep their coach; no new learners are matched until the "
                "load is below the capacity.",
                name=profile.user.name,
                load=load,
                capacity=capacity,
            )
        )
    profile.capacity = capacity
    profile.trained_on = trained_on
    profile.active = active
    profile.introduction = introduction
    db.session.flush()
    return warnings


def may_view_profile(profile: CoachProfile, user: User) -> bool:
    return is_admin(user) or profile.user_id == user.id


@dataclass(frozen=True)
class Coachee:
    trajectory_id: uuid.UUID
    status: TrajectoryStatus
    learner: str
    training: str
    edition: str
    starts_on: date


def coachees(profile: CoachProfile) -> list[Coachee]:
    """The trajectories this coach coaches or coached: active ones first (one query)."""
    rows = db.session.execute(
        select(
            Trajectory.id,
            Trajectory.status,
            User.name,
            Training.title,
            Edition.name,
            Edition.starts_on,
        )
        .join(User, User.id == Trajectory.learner_id)
        .join(Edition, Edition.id == Trajectory.edition_id)
        .join(Training, Training.id == Edition.training_id)
        .where(Trajectory.coach_id == profile.user_id)
        .order_by(Edition.starts_on.desc(), User.name)
    ).all()
    entries = [Coachee(*row) for row in rows]
    return sorted(entries, key=lambda c: c.status is not TrajectoryStatus.ACTIVE)


# --- coach days -------------------------------------------------------------------------------


#: Coach days are the coaches' own meeting: coaches and the programme administrator read them.
COACH_DAY_READERS = (Role.PROGRAMME_ADMIN, Role.COACH)


def may_view_coach_days(user: User) -> bool:
    """Whether `user` may read the coach days (and write their records): `COACH_DAY_READERS`."""
    return any(user.has_role(role) for role in COACH_DAY_READERS)


@dataclass(frozen=True)
class CoachDayInput:
    title: str
    held_on: date | None
    location: str = ""
    programme: str = ""


def _check_coach_day(data: CoachDayInput) -> CoachDayInput:
    title = (data.title or "").strip()
    location = (data.location or "").strip()
    programme = (data.programme or "").strip()
    errors: dict[str, str] = {}
    if not title:
        errors["title"] = gettext("Give the coach day a title.")
    elif has_control_characters(title):
        errors["title"] = control_characters_message()
    elif len(title) > TITLE_LIMIT:
        errors["title"] = gettext("At most %(count)d characters.", count=TITLE_LIMIT)
    if data.held_on is None:
        errors["held_on"] = gettext("Give the date of the coach day.")
    if len(location) > LOCATION_LIMIT:
        errors["location"] = gettext("At most %(count)d characters.", count=LOCATION_LIMIT)
    if len(programme) > PROGRAMME_LIMIT:
        errors["programme"] = gettext("At most %(count)d characters.", count=PROGRAMME_LIMIT)
    if errors:
        raise InvalidInput(errors)
    return CoachDayInput(title, data.held_on, location, programme)


def _require_admin_for_days(actor: User) -> None:
    if not is_admin(actor):
        raise InvalidInput.form(gettext("Only the programme administrator plans coach days."))


def schedule_coach_day(data: CoachDayInput, actor: User) -> CoachDay:
    _require_admin_for_days(actor)
    clean = _check_coach_day(data)
    day = CoachDay(
        title=clean.title, held_on=clean.held_on, location=clean.location, programme=clean.programme
    )
    db.session.add(day)
    db.session.flush()
    return day


def update_coach_day(day: CoachDay, data: CoachDayInput, actor: User) -> None:
    _require_admin_for_days(actor)
    clean = _check_coach_day(data)
    day.title = clean.title
    day.held_on = clean.held_on  # type: ignore[assignment]
    day.location = clean.location
    day.programme = clean.programme
    db.session.flush()


def coach_days() -> tuple[list[CoachDay], list[CoachDay]]:
    """Upcoming coach days (soonest first) and past ones (latest first)."""
    days = db.session.scalars(select(CoachDay).order_by(CoachDay.held_on)).all()
    now = today()
    upcoming = [d for d in days if d.held_on >= now]
    past = [d for d in days if d.held_on < now]
    past.reverse()
    return upcoming, past


@dataclass(frozen=True)
class AttendanceRow:
    coach_id: uuid.UUID
    name: str
    active: bool
    present: bool | None  #: None: not recorded


def attendance(day: CoachDay) -> list[AttendanceRow]:
    """The pool's coaches with their attendance of `day` (2 queries).

    Coaches now out of the pool are listed only when their attendance was recorded.
    """
    recorded = dict(
        db.session.execute(
            select(CoachDayAttendance.coach_id, CoachDayAttendance.present).where(
                CoachDayAttendance.coach_day_id == day.id
            )
        ).all()
    )
    rows = db.session.execute(
        select(User.id, User.name, CoachProfile.active, User.active)
        .join(CoachProfile, CoachProfile.user_id == User.id)
        .order_by(User.name)
    ).all()
    return [
        AttendanceRow(user_id, name, profile_active and user_active, recorded.get(user_id))
        for user_id, name, profile_active, user_active in rows
        if (profile_active and user_active) or user_id in recorded
    ]


def record_attendance(day: CoachDay, present: Iterable[uuid.UUID], actor: User) -> None:
    """Record who of the pool came to `day`: the coaches in `present` did, the others did not."""
    _require_admin_for_days(actor)
    if day.held_on > today():
        raise InvalidInput.form(gettext("Attendance can be recorded from the day itself."))
    coaches = {row.coach_id for row in attendance(day)}
    present = set(present)
    if present - coaches:
        raise InvalidInput({"present": gettext("Choose coaches of the pool only.")})
    existing = {
        a.coach_id: a
        for a in db.session.scalars(
            select(CoachDayAttendance).where(CoachDayAttendance.coach_day_id == day.id)
        )
    }
    for coach_id in coaches:
        row = existing.get(coach_id)
        if row is None:
            db.session.add(
                CoachDayAttendance(
                    coach_day_id=day.id, coach_id=coach_id, present=coach_id in present
                )
            )
        else:
            row.present = coach_id in present
    db.session.flush()


def may_edit_record(user: User) -> bool:
    return may_view_coach_days(user)


def update_record(day: CoachDay, text: str, actor: User) -> None:
    """Replace the shared record of what was exchanged (any coach or the administrator)."""
    if not may_edit_record(actor):
        raise InvalidInput.form(gettext("Only coaches and the programme administrator write here."))
    text = (text or "").strip()
    if len(text) > RECORD_LIMIT:
        raise InvalidInput({"record": gettext("At most %(count)d characters.", count=RECORD_LIMIT)})
    day.record = text
    db.session.flush()

"""Reminders, overdue repeats, escalation and digests: the hourly per-tenant `sweep`.

All the rules' numbers are here:

* a step's template `reminders` offsets (days before the due date; negative: after it) each give
  one reminder to the people **responsible** for the step, at SEND_HOUR local time that day;
* an open step past its due date is reminded again every REPEAT_OVERDUE_DAYS days;
* ESCALATE_TO_COACH_DAYS days overdue it is escalated to the learner's coach, and
  ESCALATE_TO_ADMINS_DAYS days overdue to the tenant's programme admins (once each);
* a reminder day the sweep missed (downtime) is still sent up to CATCH_UP_DAYS later; older ones
  are skipped rather than sent late all at once;
* users who chose "digest" get reminder-like mails bundled into one mail a day (from SEND_HOUR);
* managers get a weekly digest on Monday from SEND_HOUR: open steps of their people's
  trajectories that they take part in or are responsible for, overdue or due within
  MANAGER_DIGEST_DAYS.

Every notification has an idempotency key, so running the sweep twice (or two cron processes by
mistake) creates nothing twice. Mails name only the step, the learner and dates: never anything
a step records, and nothing at all about a confidential step beyond its name and date.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from samenleren.core.db import utcnow
from samenleren.core.extensions import db
from samenleren.core.formatting import LOCAL_ZONE
from samenleren.core.tenancy import require_tenant
from samenleren.identity.models import Role, RoleAssignment, User
from samenleren.notifications.models import Notification, NotificationKind, NotificationState
from samenleren.notifications.outbox import notify, schedule_send
from samenleren.notifications.staleness import STEP_ID, cancel_stale

#: What the sweep writes (the demo checks for these).
SWEEP_KINDS = (
    NotificationKind.REMINDER,
    NotificationKind.OVERDUE,
    NotificationKind.ESCALATION_COACH,
    NotificationKind.ESCALATION_ADMIN,
    NotificationKind.DIGEST,
    NotificationKind.MANAGER_DIGEST,
)
SEND_HOUR = 8
REPEAT_OVERDUE_DAYS = 7
ESCALATE_TO_COACH_DAYS = 7
ESCALATE_TO_ADMINS_DAYS = 21
CATCH_UP_DAYS = 2
MANAGER_DIGEST_DAYS = 14
#: Template offsets are at most 90 days (process_templates.definition): look no further ahead.
LOOK_AHEAD_DAYS = 91


def at_send_hour(day: date) -> datetime:
    """SEND_HOUR local time on `day`, in UTC."""
    return datetime.combine(day, time(SEND_HOUR), tzinfo=LOCAL_ZONE).astimezone(UTC)


@dataclass
class _Candidate:
    recipient: User
    kind: NotificationKind
    key: str
    due_at: datetime
    context: dict


@dataclass
class _OpenStep:
    step_id: uuid.UUID
    due_on: date
    name: dict
    learner: User
    coach: User | None
    manager: User | None
    trainer: User | None
    path: str
    reminders: list[int]
    responsible: list[Role]
    involved: set[Role] = field(default_factory=set)


def sweep(now: datetime | None = None, *, weekly: bool = False) -> int:
    """Create the due reminders and digests of the current tenant; returns how many.

    `weekly` makes the managers' digest of this week now, whatever the day (the demo)."""
    now = now or utcnow()
    local = now.astimezone(LOCAL_ZONE)
    today = local.date()
    steps = _open_steps(today)
    admins = list(
        db.session.scalars(
            select(User)
            .join(
                RoleAssignment,
                (RoleAssignment.tenant_id == User.tenant_id) & (RoleAssignment.user_id == User.id),
            )
            .where(RoleAssignment.role == Role.PROGRAMME_ADMIN, User.active.is_(True))
            .distinct()
        )
    )
    candidates = list(_reminders(steps, admins, today))
    if weekly or (local.weekday() == 0 and local.hour >= SEND_HOUR):
        candidates.extend(_manager_digests(steps, today, now))
    created = _create(candidates)
    if local.hour >= SEND_HOUR:
        created += _bundle_digests(today, now)
    db.session.commit()
    return created


def _open_steps(today: date) -> list[_OpenStep]:
    from samenleren.trajectories.models import StepInstance, StepState, Trajectory, TrajectoryStatus

    tenant = require_tenant()
    rows = db.session.scalars(
        select(StepInstance)
        .join(StepInstance.trajectory)
        .where(
            Trajectory.status == TrajectoryStatus.ACTIVE,
            # A trajectory restricted from further processing gets no reminders at all.
            Trajectory.restricted_at.is_(None),
            StepInstance.state.in_([StepState.PLANNED, StepState.SCHEDULED]),
            StepInstance.due_on <= today + timedelta(days=LOOK_AHEAD_DAYS),
        )
        .options(
            joinedload(StepInstance.trajectory).options(
                joinedload(Trajectory.learner).joinedload(User.manager),
                joinedload(Trajectory.coach),
                joinedload(Trajectory.edition),
                # A tenant has a few template versions and thousands of open steps: joined on,
                # each version's definition (some 10 kB of JSON) came and was decoded once per
                # step, about a gigabyte for a large province.
                selectinload(Trajectory.template_version),
            )
        )
        .order_by(StepInstance.due_on)
    ).unique()
    steps = []
    for step in rows:
        trajectory = step.trajectory
        spec = trajectory.template_version.content.step(step.step_key)
        if spec is None:
            continue
        edition = trajectory.edition
        steps.append(
            _OpenStep(
                step_id=step.id,
                due_on=step.due_on,
                name=dict(spec.name),
                learner=trajectory.learner,
                coach=trajectory.coach,
                manager=trajectory.learner.manager,
                trainer=edition.trainer if edition.trainer_id else None,
                path=f"/{tenant.slug}/trajectories/{trajectory.id}/steps/{step.id}",
                reminders=list(spec.reminders),
                responsible=list(spec.responsible),
                involved=set(spec.participants) | set(spec.responsible),
            )
        )
    return steps


def _people(step: _OpenStep, roles: list[Role], admins: list[User]) -> list[User]:
    found: dict[uuid.UUID, User] = {}
    for role in roles:
        if role is Role.PROGRAMME_ADMIN:
            people = admins
        else:
            person = {
                Role.LEARNER: step.learner,
                Role.COACH: step.coach,
                Role.MANAGER: step.manager,
                Role.TRAINER: step.trainer,
            }.get(role)
            people = [person] if person is not None else []
        for person in people:
            if person.active:
                found.setdefault(person.id, person)
    return list(found.values())


def _context(step: _OpenStep) -> dict:
    return {
        # The step the mail is about: the sender cancels it once the step is closed or gone.
        STEP_ID: str(step.step_id),
        "step": step.name,
        "learner": step.learner.name,
        "due_on": step.due_on.isoformat(),
        "path": step.path,
    }


def _reminders(steps: list[_OpenStep], admins: list[User], today: date):
    def recent(day: date) -> bool:
        return today - timedelta(days=CATCH_UP_DAYS) <= day <= today

    for step in steps:
        responsible = _people(step, step.responsible, admins)
        context = _context(step)
        for offset in step.reminders:
            day = step.due_on - timedelta(days=offset)
            if not recent(day):
                continue
            kind = NotificationKind.REMINDER if offset >= 0 else NotificationKind.OVERDUE
            for person in responsible:
                yield _Candidate(
                    person,
                    kind,
                    f"reminder:{step.step_id}:{offset}:{person.id}",
                    at_send_hour(day),
                    context,
                )
        overdue = (today - step.due_on).days
        if overdue >= REPEAT_OVERDUE_DAYS:
            repeat = overdue // REPEAT_OVERDUE_DAYS * REPEAT_OVERDUE_DAYS
            day = step.due_on + timedelta(days=repeat)
            if recent(day):
                for person in responsible:
                    yield _Candidate(
                        person,
                        NotificationKind.OVERDUE,
                        f"overdue:{step.step_id}:{repeat}:{person.id}",
                        at_send_hour(day),
                        context,
                    )
        if overdue >= ESCALATE_TO_COACH_DAYS and step.coach is not None and step.coach.active:
            yield _Candidate(
                step.coach,
                NotificationKind.ESCALATION_COACH,
                f"escalation:coach:{step.step_id}:{step.coach.id}",
                at_send_hour(max(step.due_on + timedelta(days=ESCALATE_TO_COACH_DAYS), today)),
                context,
            )
        if overdue >= ESCALATE_TO_ADMINS_DAYS:
            for admin in admins:
                yield _Candidate(
                    admin,
                    NotificationKind.ESCALATION_ADMIN,
                    f"escalation:admin:{step.step_id}:{admin.id}",
                    at_send_hour(max(step.due_on + timedelta(days=ESCALATE_TO_ADMINS_DAYS), today)),
                    context,
                )


def _manager_digests(steps: list[_OpenStep], today: date, now: datetime):
    year, week, _ = today.isocalendar()
    per_manager: dict[uuid.UUID, tuple[User, list, list]] = {}
    for step in steps:
        manager = step.manager
        if manager is None or not manager.active or Role.MANAGER not in step.involved:
            continue
        if step.due_on > today + timedelta(days=MANAGER_DIGEST_DAYS):
            continue
        _, overdue, upcoming = per_manager.setdefault(manager.id, (manager, [], []))
        item = _context(step) | {"overdue": step.due_on < today}
        (overdue if step.due_on < today else upcoming).append(item)
    for manager, overdue, upcoming in per_manager.values():
        yield _Candidate(
            manager,
            NotificationKind.MANAGER_DIGEST,
            f"manager_digest:{manager.id}:{year}-W{week:02d}",
            now,
            {"overdue": overdue, "upcoming": upcoming},
        )


def _create(candidates: list[_Candidate]) -> int:
    """notify() for every candidate whose key is new (one query for the known keys)."""
    if not candidates:
        return 0
    keys = [c.key for c in candidates]
    known: set[str] = set()
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        known.update(
            db.session.scalars(select(Notification.key).where(Notification.key.in_(chunk)))
        )
    created = 0
    for candidate in candidates:
        if candidate.key in known:
            continue
        known.add(candidate.key)
        notify(
            candidate.recipient,
            candidate.kind,
            key=candidate.key,
            due_at=candidate.due_at,
            context=candidate.context,
        )
        created += 1
    if created:
        schedule_send()
    return created


def _bundle_digests(today: date, now: datetime) -> int:
    """One mail a day to each digest user with what was held back for them (due by now)."""
    held = db.session.scalars(
        select(Notification)
        .where(
            Notification.digest.is_(True),
            Notification.state == NotificationState.PENDING,
            Notification.due_at <= now,
        )
        .options(joinedload(Notification.recipient))
        .order_by(Notification.due_at)
    ).all()
    stale = cancel_stale(held)  # their step closed or vanished meanwhile: not in the digest
    per_user: dict[uuid.UUID, list[Notification]] = defaultdict(list)
    for note in (note for note in held if note.id not in stale):
        per_user[note.recipient_id].append(note)
    created = 0
    for notes in per_user.values():
        recipient = notes[0].recipient
        key = f"digest:{recipient.id}:{today.isoformat()}"
        if db.session.scalars(select(Notification.id).where(Notification.key == key)).first():
            continue  # today's digest went out already; the rest waits for tomorrow's
        items = [
            {
                "step": note.context.get("step", ""),
                "learner": note.context.get("learner", ""),
                "due_on": note.context.get("due_on", today.isoformat()),
                "path": note.context.get("path"),
                "overdue": note.kind != NotificationKind.REMINDER,
            }
            for note in notes
        ]
        notify(
            recipient,
            NotificationKind.DIGEST,
            key=key,
            due_at=now,
            context={"items": items, "due_on": today.isoformat()},
        )
        for note in notes:
            note.state = NotificationState.BUNDLED
        created += 1
    return created

"""Notifications react to the programme: the mails at the moments that matter to a person.

* An application: the employee hears it arrived, their manager that a team member applied.
* The answer: a place, the waiting list (with the place in line), or a decline with its reason.
* Every coach assignment and change: the learner hears who coaches them, how to reach them, and
  how to ask for another coach.

Connected by `samenleren.notifications.init_app`. Receivers run inside the sender's transaction
(core.signals) and only write outbox rows, sent after the commit.

The programme admins hear when the year's budget is 80 % and 100 % committed and spent (once
each per year: the budget ledger decides when, this only writes the mails).

Whoever is made a trajectory's coach reads its confidential progress notes, so the learner is
told of every assignment and change, by whom it was made, and how to ask for another coach: an
assignment the learner did not expect is noticed by the one person it is about.
"""

from __future__ import annotations

from typing import Any

from flask_babel import force_locale, format_percent
from sqlalchemy import and_, select

from samenleren.catalogue.enrolment import waiting_list
from samenleren.catalogue.models import Enrolment, EnrolmentStatus
from samenleren.coaching.models import CoachProfile
from samenleren.core import signals
from samenleren.core.config import LANGUAGES
from samenleren.core.extensions import db
from samenleren.core.money import show_euros
from samenleren.core.tenancy import current_tenant
from samenleren.identity.models import Role, RoleAssignment, User
from samenleren.notifications.models import NotificationKind
from samenleren.notifications.outbox import notify
from samenleren.trajectories.models import CoachAssignment, Trajectory


def coach_assigned(trajectory: Trajectory, previous: User | None) -> None:
    """Mail the learner that `trajectory` has a (new) coach, once per assignment."""
    assignment = db.session.scalar(
        select(CoachAssignment).where(
            CoachAssignment.trajectory_id == trajectory.id, CoachAssignment.ended_at.is_(None)
        )
    )
    if assignment is None:
        return
    coach = assignment.coach
    by = assignment.assigned_by
    tenant = current_tenant()
    assert tenant is not None
    edition = trajectory.edition
    profile = (
        db.session.scalar(select(CoachProfile).where(CoachProfile.user_id == coach.id))
        if coach is not None
        else None
    )
    notify(
        trajectory.learner,
        NotificationKind.COACH_ASSIGNED,
        key=f"coach_assigned:{assignment.id}",
        context={
            "coach": coach.name if coach else "",
            "previous": previous.name if previous is not None else "",
            "by": by.name if by is not None else "",
            "by_self": by is not None and by.id == trajectory.learner_id,
            "training": f"{edition.training.title} · {edition.name}",
            # How to reach the coach and who they are: the learner meets them at the intake.
            "coach_email": (coach.email or "") if coach else "",
            "introduction": profile.introduction if profile is not None else "",
            "path": f"/{tenant.slug}/trajectories/{trajectory.id}",
        },
    )


def _edition_context(enrolment: Enrolment) -> dict[str, Any]:
    tenant = current_tenant()
    assert tenant is not None
    edition = enrolment.edition
    return {
        "training": f"{edition.training.title} · {edition.name}",
        "starts_on": edition.starts_on.isoformat(),
        "path": f"/{tenant.slug}/editions/{edition.id}",
    }


def application_received(enrolment: Enrolment) -> None:
    """The employee: their application arrived. Their manager: a team member applied (the
    manager takes part in the intake, so hears of it before the admin decides)."""
    stamp = enrolment.applied_at.isoformat()
    context = _edition_context(enrolment)
    learner = enrolment.learner
    notify(
        learner,
        NotificationKind.APPLICATION_RECEIVED,
        key=f"application_received:{enrolment.id}:{stamp}",
        context=context,
    )
    manager = learner.manager
    if manager is not None and manager.active and manager.id != learner.id:
        tenant = current_tenant()
        assert tenant is not None
        notify(
            manager,
            NotificationKind.TEAM_APPLICATION,
            key=f"team_application:{enrolment.id}:{stamp}",
            context={
                **context,
                "learner": learner.name,
                # When the template asks for the manager's approval, the mail leads to it.
                "approval": enrolment.manager_approval is not None,
                "path": f"/{tenant.slug}/enrolments/{enrolment.id}/approval"
                if enrolment.manager_approval is not None
                else f"/{tenant.slug}/dashboard/manager",
            },
        )


def place_given(enrolment: Enrolment) -> None:
    """The employee has a place (accepted, enrolled by the admin, or from the waiting list)."""
    tenant = current_tenant()
    assert tenant is not None
    assert enrolment.enrolled_at is not None
    notify(
        enrolment.learner,
        NotificationKind.ENROLMENT_PLACED,
        key=f"enrolment_placed:{enrolment.id}:{enrolment.enrolled_at.isoformat()}",
        context={**_edition_context(enrolment), "path": f"/{tenant.slug}/"},
    )


def application_answered(enrolment: Enrolment) -> None:
    """The employee hears the answer: the waiting list (and their place in line) or a decline
    with the reason the admin gave (the form says the learner will see it)."""
    stamp = enrolment.applied_at.isoformat()
    context = _edition_context(enrolment)
    if enrolment.status is EnrolmentStatus.WAITLISTED:
        line = [waiting.id for waiting in waiting_list(enrolment.edition)]
        position = line.index(enrolment.id) + 1 if enrolment.id in line else len(line)
        notify(
            enrolment.learner,
            NotificationKind.ENROLMENT_WAITLISTED,
            key=f"enrolment_waitlisted:{enrolment.id}:{stamp}",
            context={**context, "position": position},
        )
    elif enrolment.status is EnrolmentStatus.DECLINED:
        notify(
            enrolment.learner,
            NotificationKind.APPLICATION_DECLINED,
            key=f"application_declined:{enrolment.id}:{stamp}",
            context={**context, "reason": enrolment.reason},
        )


def _coach(trajectory: Any, *, previous: Any, **_: Any) -> None:
    coach_assigned(trajectory, previous)


def _received(enrolment: Any, **_: Any) -> None:
    application_received(enrolment)


def _answered(enrolment: Any, **_: Any) -> None:
    application_answered(enrolment)


def _enrolment(enrolment: Any, *, admitted: bool, **_: Any) -> None:
    if admitted:
        place_given(enrolment)


def budget_threshold(budget_year: Any, percent: int, used_cents: int) -> None:
    """Mail every active programme admin that committed plus spent reached `percent` of the
    year's budget (the key makes it once per admin, year and threshold)."""
    tenant = current_tenant()
    assert tenant is not None
    amounts: dict[str, dict[str, str]] = {"used": {}, "budget": {}, "percent": {}}
    for language in LANGUAGES:
        with force_locale(language):
            amounts["used"][language] = show_euros(used_cents)
            amounts["budget"][language] = show_euros(budget_year.amount_cents)
            amounts["percent"][language] = format_percent(percent / 100)
    admins = db.session.scalars(
        select(User)
        .join(
            RoleAssignment,
            and_(RoleAssignment.tenant_id == User.tenant_id, RoleAssignment.user_id == User.id),
        )
        .where(RoleAssignment.role == Role.PROGRAMME_ADMIN, User.active.is_(True))
        .distinct()
    )
    for admin in admins:
        notify(
            admin,
            NotificationKind.BUDGET_THRESHOLD,
            key=f"budget_threshold:{budget_year.year}:{percent}:{admin.id}",
            context={
                "year": str(budget_year.year),
                "threshold": percent,
                **amounts,
                "path": f"/{tenant.slug}/budget/?year={budget_year.year}",
            },
        )


def _budget(budget_year: Any, *, percent: int, used_cents: int, **_: Any) -> None:
    budget_threshold(budget_year, percent, used_cents)


def connect() -> None:
    # Strong references: module functions, connected once per process.
    signals.coach_changed.connect(_coach, weak=False)
    signals.application_received.connect(_received, weak=False)
    signals.application_answered.connect(_answered, weak=False)
    signals.enrolment_changed.connect(_enrolment, weak=False)
    signals.budget_threshold_reached.connect(_budget, weak=False)

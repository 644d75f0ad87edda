"""Notifications react to the programme: the learner hears of every coach assignment.

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
            "path": f"/{tenant.slug}/trajectories/{trajectory.id}",
        },
    )


def _coach(trajectory: Any, *, previous: Any, **_: Any) -> None:
    coach_assigned(trajectory, previous)


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
    # A strong reference: a module function, connected once per process.
    signals.coach_changed.connect(_coach, weak=False)
    signals.budget_threshold_reached.connect(_budget, weak=False)

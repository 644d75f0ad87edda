"""Restricting a trajectory from further processing (AVG art. 18), and lifting it.

A restricted trajectory is frozen where the programme processes it: no step, value, goal,
result or coach changes (`trajectories.permissions.require_active` refuses them), no reminders
(the sweep skips it; reminders already in the outbox are cancelled when they are due:
`notifications.staleness`), no group invitations, its group-meeting step and its due dates left
as they are when the group meets or the edition moves. It stays readable by those who could read
it, shown as restricted. Both ways are audited with a reason.

Withdrawing the learner from the edition still ends it (with the cancellations of appointments
already agreed, so that nobody comes for nothing): ending is not further processing.
"""

from __future__ import annotations

from flask_babel import gettext

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.core.db import utcnow
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.text import control_characters_message, has_control_characters
from samenleren.identity.models import Role, User
from samenleren.trajectories.models import Trajectory

REASON_MAX = 1000


def _clean_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput({"reason": gettext("Say why: for example the date of the request.")})
    if len(reason) > REASON_MAX:
        raise InvalidInput({"reason": gettext("At most %(count)d characters.", count=REASON_MAX)})
    if has_control_characters(reason, multiline=True):
        raise InvalidInput({"reason": control_characters_message()})
    return reason


def _require_admin(actor: User) -> None:
    if not actor.has_role(Role.PROGRAMME_ADMIN):  # the pages check it too
        raise InvalidInput.form(gettext("Only a programme administrator can do this."))


def restrict(trajectory: Trajectory, actor: User, reason: str | None) -> None:
    _require_admin(actor)
    clean = _clean_reason(reason)
    if trajectory.restricted:
        raise InvalidInput.form(gettext("This trajectory is restricted already."))
    trajectory.restricted_at = utcnow()
    trajectory.restricted_by_id = actor.id
    trajectory.restriction_reason = clean
    record(
        AuditAction.TRAJECTORY_RESTRICTED,
        actor=actor,
        subject_type="trajectory",
        subject_id=trajectory.id,
        details={"reason": clean},
    )
    db.session.flush()


def lift(trajectory: Trajectory, actor: User, reason: str | None) -> None:
    _require_admin(actor)
    clean = _clean_reason(reason)
    if not trajectory.restricted:
        raise InvalidInput.form(gettext("This trajectory is not restricted."))
    trajectory.restricted_at = None
    trajectory.restricted_by_id = None
    trajectory.restriction_reason = ""
    record(
        AuditAction.TRAJECTORY_RESTRICTION_LIFTED,
        actor=actor,
        subject_type="trajectory",
        subject_id=trajectory.id,
        details={"reason": clean},
    )
    db.session.flush()

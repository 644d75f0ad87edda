"""The registry of notification kinds: subject line and whether a kind may wait for a digest.

To add a kind: a member of `NotificationKind` (models.py), an entry here, and two templates
`templates/mail/<kind>.html` and `templates/mail/<kind>.txt` that extend `mail/layout.html` and
`mail/layout.txt`. Subjects are lazy strings formatted with the notification's `context`
(`%(step)s` etc.; `step` is already translated when the template renders, see rendering.Renderer).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from samenleren.notifications.models import NotificationKind


@dataclass(frozen=True)
class KindSpec:
    subject: object  #: a lazy string; `%(name)s` placeholders from the render context
    #: May be held back for a user who chose the daily digest (reminders: yes; invitations: no).
    digestible: bool = False


KINDS: dict[NotificationKind, KindSpec] = {
    NotificationKind.REMINDER: KindSpec(_l("Reminder: %(step)s on %(due)s"), digestible=True),
    NotificationKind.OVERDUE: KindSpec(_l("Overdue: %(step)s (due %(due)s)"), digestible=True),
    NotificationKind.ESCALATION_COACH: KindSpec(
        _l("Overdue for a week: %(step)s of %(learner)s"), digestible=True
    ),
    NotificationKind.ESCALATION_ADMIN: KindSpec(
        _l("Overdue for three weeks: %(step)s of %(learner)s"), digestible=True
    ),
    NotificationKind.DIGEST: KindSpec(_l("Your reminders of %(due)s")),
    NotificationKind.MANAGER_DIGEST: KindSpec(_l("What awaits you this week")),
    NotificationKind.INVITATION: KindSpec(_l("Invitation: %(step)s")),
    NotificationKind.CANCELLATION: KindSpec(_l("Cancelled: %(step)s")),
    NotificationKind.RETURN_DAY_PLANNED: KindSpec(_l("Planned: %(step)s of %(edition)s")),
    NotificationKind.COACH_ASSIGNED: KindSpec(_l("Your learning coach: %(coach)s")),
    NotificationKind.APPLICATION_RECEIVED: KindSpec(_l("Application received: %(training)s")),
    NotificationKind.TEAM_APPLICATION: KindSpec(_l("%(learner)s applied for %(training)s")),
    NotificationKind.ENROLMENT_PLACED: KindSpec(_l("You have a place: %(training)s")),
    NotificationKind.ENROLMENT_WAITLISTED: KindSpec(_l("Waiting list: %(training)s")),
    NotificationKind.APPLICATION_DECLINED: KindSpec(_l("Your application for %(training)s")),
    NotificationKind.BUDGET_THRESHOLD: KindSpec(
        _l("Budget %(year)s: %(percent)s committed and spent")
    ),
    NotificationKind.QUARTERLY_REPORT: KindSpec(_l("Programme report: %(period)s")),
    NotificationKind.PERSONAL_DATA_READY: KindSpec(_l("Your data package is ready")),
}


def spec(kind: str) -> KindSpec:
    return KINDS[NotificationKind(kind)]

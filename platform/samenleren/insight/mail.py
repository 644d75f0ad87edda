"""The quarterly report mail: the report's headline for the quarter just ended, with a link to
the report, to every active programme admin who did not turn it off; and that choice.

Once per tenant and quarter: the `QuarterlyMail` row says the quarter's mail was written, so
the job may run any number of times (and the outbox key makes each admin's mail once more).
The mail holds the headline's figures only - counts, shares and amounts - in the admin's
language; never a word anyone wrote, so no note, example or description can reach it.
"""

from __future__ import annotations

from datetime import date

from flask_babel import force_locale, gettext
from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.core.config import LANGUAGES
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.tenancy import require_tenant
from samenleren.identity.models import Role, RoleAssignment, User
from samenleren.insight.figures import figures
from samenleren.insight.models import QuarterlyMail, ReportMailOptOut
from samenleren.insight.report import headline
from samenleren.insight.scope import Period, Scope
from samenleren.notifications.models import NotificationKind
from samenleren.notifications.outbox import notify


def previous_quarter(today: date) -> tuple[int, int]:
    """(year, quarter) of the last quarter that ended before `today`."""
    quarter = (today.month - 1) // 3 + 1
    return (today.year, quarter - 1) if quarter > 1 else (today.year - 1, 4)


def wants_mail(user: User) -> bool:
    return (
        db.session.scalar(select(ReportMailOptOut.id).where(ReportMailOptOut.user_id == user.id))
        is None
    )


def set_mail_choice(user: User, wanted: bool) -> None:
    """Turn the quarterly report mail on or off for a programme admin (flushes)."""
    if not user.has_role(Role.PROGRAMME_ADMIN):
        raise InvalidInput({"quarterly_mail": gettext("Only programme administrators get it.")})
    existing = db.session.scalar(
        select(ReportMailOptOut).where(ReportMailOptOut.user_id == user.id)
    )
    if wanted and existing is not None:
        db.session.delete(existing)
    elif not wanted and existing is None:
        db.session.add(ReportMailOptOut(user_id=user.id))
    else:
        return
    record(
        AuditAction.INSIGHT_QUARTERLY_MAIL_ON if wanted else AuditAction.INSIGHT_QUARTERLY_MAIL_OFF,
        actor=user,
        subject_type="user",
        subject_id=user.id,
    )
    db.session.flush()


def send_quarterly_report(today: date) -> int:
    """Write the report mail of the quarter before `today` to the programme admins who want
    it, once per tenant and quarter; returns the number of mails written now (0 when the
    quarter's mail was written before)."""
    tenant = require_tenant()
    year, quarter = previous_quarter(today)
    done = QuarterlyMail(year=year, quarter=quarter, recipients=0)
    try:
        with db.session.begin_nested():
            db.session.add(done)
    except IntegrityError:  # written before (or at this moment by another run)
        return 0
    period = Period.of_quarter(year, quarter)
    found = figures(Scope(period=period))
    lines: dict[str, list[list[str]]] = {}
    names: dict[str, str] = {}
    for language in LANGUAGES:
        with force_locale(language):
            lines[language] = [[label, value] for label, value in headline(found)]
            names[language] = gettext("quarter %(quarter)d of %(year)d", quarter=quarter, year=year)
    opted_out = select(ReportMailOptOut.user_id)
    admins = db.session.scalars(
        select(User)
        .join(
            RoleAssignment,
            and_(RoleAssignment.tenant_id == User.tenant_id, RoleAssignment.user_id == User.id),
        )
        .where(
            RoleAssignment.role == Role.PROGRAMME_ADMIN,
            User.active.is_(True),
            User.id.not_in(opted_out),
        )
        .distinct()
    ).all()
    for admin in admins:
        notify(
            admin,
            NotificationKind.QUARTERLY_REPORT,
            key=f"insight_quarterly:{year}-Q{quarter}:{admin.id}",
            context={
                "period": names,
                "lines": lines,
                "path": f"/{tenant.slug}/insight/?period=quarter&year={year}&quarter={quarter}",
            },
        )
    done.recipients = len(admins)
    db.session.flush()
    return len(admins)

"""Demo data for the outbox: today's reminders and this week's manager digests.

Without Redis (`make run`) the mails that are due go out right after the commit, in the process,
and land as .eml files in var/mail/; the rest waits in the outbox for its time
(`flask --app samenleren jobs run-periodic` sends what is due by then).
"""

from __future__ import annotations


def seed_notifications() -> int:
    """Run the sweep for the current tenant now, with the weekly manager digest included; once
    (a seeded outbox is left as it is: the periodic sweep keeps it going)."""
    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.notifications.models import Notification
    from samenleren.notifications.reminders import SWEEP_KINDS, sweep

    mine = [kind.value for kind in SWEEP_KINDS]
    if db.session.scalar(select(Notification.id).where(Notification.kind.in_(mine)).limit(1)):
        return 0
    return sweep(weekly=True)

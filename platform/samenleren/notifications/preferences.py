"""How a user receives reminders: a separate mail for each, or one digest a day."""

from __future__ import annotations

from flask_babel import gettext as _

from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.identity.models import User
from samenleren.notifications.models import NotificationMode


def set_mode(user: User, raw: str | None) -> None:
    """Set `user`'s notification mode to `raw` (a `NotificationMode` value), or refuse it."""
    if raw not in {mode.value for mode in NotificationMode}:
        raise InvalidInput({"mode": _("Choose how you want to receive reminders.")})
    user.notification_mode = raw
    db.session.flush()

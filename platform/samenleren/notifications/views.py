"""`/<tenant>/me/notifications`: every logged-in user chooses separate mails or a daily digest."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.web import login_required
from samenleren.notifications.models import NotificationMode

bp = Blueprint("notifications", __name__, template_folder="templates")


def _choices() -> list[tuple[str, str, str]]:
    return [
        (
            NotificationMode.IMMEDIATE.value,
            _("A separate mail for every reminder"),
            _("Each reminder arrives when it is due."),
        ),
        (
            NotificationMode.DIGEST.value,
            _("One overview a day"),
            _("Reminders of a day arrive together in one mail at 08:00."),
        ),
    ]


def set_mode(user, raw: str | None) -> None:
    if raw not in {mode.value for mode in NotificationMode}:
        raise InvalidInput({"mode": _("Choose how you want to receive reminders.")})
    user.notification_mode = raw
    db.session.commit()


@bp.route("/<tenant>/me/notifications", methods=["GET", "POST"])
@login_required
def preferences():
    errors: dict[str, str] = {}
    value = current_user.notification_mode
    status = 200
    if request.method == "POST":
        try:
            set_mode(current_user, request.form.get("mode"))
        except InvalidInput as refused:
            errors, status = refused.errors, 422
            value = request.form.get("mode")
        else:
            flash(_("Your choice is saved."))
            return redirect(url_for("notifications.preferences"))
    return (
        render_template(
            "notifications/preferences.html", choices=_choices(), value=value, errors=errors
        ),
        status,
    )

"""`/<tenant>/me/notifications`: every logged-in user chooses separate mails or a daily digest."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from samenleren.core.web import form_action, login_required
from samenleren.notifications.models import NotificationMode
from samenleren.notifications.preferences import set_mode

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


def _page(value: str | None, errors: dict[str, str]) -> str:
    return render_template(
        "notifications/preferences.html", choices=_choices(), value=value, errors=errors
    )


@bp.route("/<tenant>/me/notifications", methods=["GET", "POST"])
@login_required
def preferences():
    if request.method == "POST":
        return form_action(
            lambda: set_mode(current_user, request.form.get("mode")),
            invalid=lambda errors: _page(request.form.get("mode"), errors),
            # A plain redirect (302), as this page has always answered.
            done=redirect(url_for("notifications.preferences")),
            message=_("Your choice is saved."),
        )
    return _page(current_user.notification_mode, {})

"""External trainers: the administrator's list and invitation, and signing in with a link."""

from __future__ import annotations

import logging
import uuid

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user

from samenleren.core.extensions import db
from samenleren.core.ratelimits import login_rate_limit
from samenleren.core.tenancy import require_tenant
from samenleren.core.web import form_action, get_or_404, role_required, see_other
from samenleren.identity.models import Role, User
from samenleren.identity.sessions import start_login_session
from samenleren.identity.trainers import (
    IssuedLink,
    LinkState,
    LinkUnusable,
    deliver,
    external_trainers,
    find_link,
    invite_external_trainer,
    is_external,
    redeem_link,
    send_new_link,
    set_access,
    state_of_link,
)

log = logging.getLogger(__name__)
bp = Blueprint("trainers", __name__, template_folder="templates")


def _load_external_trainer(external_trainer_id: uuid.UUID) -> User:
    user = get_or_404(User, external_trainer_id)
    if not is_external(user):
        abort(404)
    return user


def _no_store(body: str, status: int = 200) -> Response:
    """Pages with a sign-in link or its token in them stay out of every cache. (The site-wide
    Referrer-Policy, strict-origin-when-cross-origin, already keeps the path from other sites.)"""
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _show_issued(issued: IssuedLink, *, invited: bool) -> Response:
    url, delivered = deliver(issued)
    return _no_store(
        render_template(
            "identity/trainer_link.html",
            user=issued.user,
            url=None if delivered else url,
            expires_at=issued.link.expires_at,
            invited=invited,
        )
    )


# --- the administrator's pages ----------------------------------------------------------------


@bp.get("/<tenant>/trainers/")
@role_required(Role.PROGRAMME_ADMIN)
def list_trainers():
    return render_template(
        "identity/trainers.html", trainers=external_trainers(), State=LinkState, errors={}
    )


@bp.route("/<tenant>/trainers/invite", methods=["GET", "POST"])
@role_required(Role.PROGRAMME_ADMIN)
def invite_trainer():
    if request.method == "GET":
        return render_template("identity/trainer_invite.html", values={}, errors={})
    values = {"name": request.form.get("name", ""), "email": request.form.get("email", "")}
    return form_action(
        lambda: invite_external_trainer(values["name"], values["email"], current_user),
        invalid=lambda errors: render_template(
            "identity/trainer_invite.html", values=values, errors=errors
        ),
        # Shown once, not redirected: the link exists nowhere else (only its hash is stored).
        done=lambda issued: _show_issued(issued, invited=True),
    )


@bp.post("/<tenant>/trainers/<uuid:external_trainer_id>/link")
@role_required(Role.PROGRAMME_ADMIN)
def new_link(external_trainer_id: uuid.UUID):
    user = _load_external_trainer(external_trainer_id)
    return form_action(
        lambda: send_new_link(user, current_user),
        invalid=lambda errors: render_template(
            "identity/trainers.html", trainers=external_trainers(), State=LinkState, errors=errors
        ),
        done=lambda issued: _show_issued(issued, invited=False),
    )


@bp.post("/<tenant>/trainers/<uuid:external_trainer_id>/access")
@role_required(Role.PROGRAMME_ADMIN)
def change_access(external_trainer_id: uuid.UUID):
    user = _load_external_trainer(external_trainer_id)
    active = request.form.get("active") == "yes"
    # Kept by hand: setting the access it has already changes nothing, so there is nothing to
    # commit and no message, but the answer is the same redirect.
    if set_access(user, active, current_user):
        db.session.commit()
        if active:
            flash(
                gettext(
                    "%(name)s has access again. Send a new link to let them sign in.",
                    name=user.name,
                )
            )
        else:
            flash(
                gettext(
                    "%(name)s no longer has access: signed out everywhere, links void.",
                    name=user.name,
                )
            )
    return see_other("trainers.list_trainers")


# --- signing in with a link ----------------------------------------------------------------------


def _unusable(state: str | None) -> Response:
    """The page for a link that cannot be used: 404 when this tenant has no such link (another
    tenant's link included), 410 when it was used, replaced, expired or access was withdrawn."""
    page = render_template("identity/sign_in_link_unusable.html", state=state, State=LinkState)
    return _no_store(page, 404 if state is None else 410)


@bp.route("/<tenant>/auth/link/<token>", methods=["GET", "POST"])
@login_rate_limit
def sign_in_with_link(token: str):
    """GET shows a button, POST signs in: a mail scanner that fetches the link spends nothing.

    A way in like the login itself, so it has the login's rate limit (per tenant and client):
    nobody can try tokens, or fill the audit log with refused links, at will.
    """
    if request.method == "GET":
        state = state_of_link(token)
        if state != LinkState.VALID:
            return _unusable(state)
        return _no_store(render_template("identity/sign_in_link.html", token=token))
    link = find_link(token, for_update=True)
    if link is None:
        return _unusable(None)
    try:
        user = redeem_link(link)
    except LinkUnusable as refused:
        db.session.commit()  # the refused attempt stays in the audit log
        return _unusable(refused.state)
    start_login_session(user)  # commits: the link is spent together with the new login
    log.info("login with a link at %s: user %s", require_tenant().slug, user.id)
    return redirect(url_for("dashboards.home"), 303)

"""The employees list for the programme administrator: `/<tenant>/employees/`, searchable and
a page at a time (`identity.directory`), and an employee's link to their Entra ID identity."""

from __future__ import annotations

import uuid

from flask import Blueprint, render_template, request
from flask_babel import gettext
from flask_login import current_user

from samenleren.core.terminology import role_term
from samenleren.core.web import form_action, get_or_404, role_required, see_other
from samenleren.identity.directory import MIN_QUERY, departments, list_people, people_filter
from samenleren.identity.models import Role, User
from samenleren.identity.services import unlink_entra_identity

bp = Blueprint("people", __name__, template_folder="templates")


@bp.get("/<tenant>/employees/")
@role_required(Role.PROGRAMME_ADMIN)
def list_employees():
    chosen = people_filter(request.args)
    return render_template(
        "identity/list_people.html",
        chosen=chosen,
        found=list_people(chosen),
        departments=departments(),
        roles=[(role.value, role_term(role)) for role in Role],
        min_query=MIN_QUERY,
    )


def _identity_page(person: User, errors: dict[str, str], status: int = 200):
    return (
        render_template("identity/person_identity.html", person=person, errors=errors),
        status,
    )


@bp.route("/<tenant>/employees/<uuid:person_id>/identity", methods=["GET", "POST"])
@role_required(Role.PROGRAMME_ADMIN)
def relink_identity(person_id: uuid.UUID):
    """Which Entra ID identity an employee's account is linked to, and the confirmed action
    that unlinks it so that the next login links the person's new identity (audited)."""
    person = get_or_404(User, person_id)
    if request.method == "GET":
        return _identity_page(person, {})
    return form_action(
        lambda: unlink_entra_identity(person, current_user),
        invalid=lambda errors: _identity_page(person, errors, 422),
        done=see_other("people.relink_identity", person_id=person.id),
        message=gettext(
            "The account of %(name)s is unlinked; the next login links the identity the "
            "identity provider then names.",
            name=person.name,
        ),
    )

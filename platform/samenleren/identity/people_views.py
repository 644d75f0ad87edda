"""The employees list for the programme administrator: `/<tenant>/employees/`, searchable and
a page at a time (`identity.directory`)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from samenleren.core.terminology import role_term
from samenleren.core.web import role_required
from samenleren.identity.directory import MIN_QUERY, departments, list_people, people_filter
from samenleren.identity.models import Role

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

"""The tenant's home (a landing page for visitors, a start page for employees) and the
programme administrator's pages of the tenant: organisation goals and programme settings."""

from __future__ import annotations

import uuid
from dataclasses import replace

from flask import Blueprint, Response, abort, flash, render_template, request
from flask_babel import gettext
from flask_login import current_user

from samenleren.core.config import LANGUAGES
from samenleren.core.errors_input import FORM
from samenleren.core.extensions import db
from samenleren.core.tenancy import require_tenant
from samenleren.core.terminology import TERMS
from samenleren.core.web import form_action, get_or_404, role_required, see_other
from samenleren.identity.models import Role
from samenleren.tenants import accessibility, privacy
from samenleren.tenants.forms import OrganisationGoalForm
from samenleren.tenants.models import OrganisationGoal
from samenleren.tenants.services import (
    GOAL_TITLE_LANGUAGE,
    Direction,
    create_organisation_goal,
    move_organisation_goal,
    organisation_goals,
    update_organisation_goal,
    update_programme_settings,
)
from samenleren.tenants.terminology import (
    FORMS,
    TERM_LIMIT,
    default_words,
    field_name,
    update_terminology,
)

bp = Blueprint("tenants", __name__, template_folder="templates")


@bp.get("/<tenant>/theme.css")
def theme_css() -> Response:
    """The tenant's design tokens as CSS custom properties (no inline styles: CSP forbids them)."""
    tenant = require_tenant()
    css = render_template("tenants/theme.css", color=tenant.theme_primary_color)
    response = Response(css, mimetype="text/css")
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response


@bp.get("/<tenant>/logo")
def logo() -> Response:
    tenant = require_tenant()
    if not tenant.theme_logo:
        abort(404)
    # An SVG from a manifest is shown through <img>, where nothing in it runs; opened directly,
    # the site-wide Content-Security-Policy (no inline script) keeps any script in it inert.
    response = Response(tenant.theme_logo, mimetype=tenant.theme_logo_type)
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response


# --- the programme administrator's pages: organisation goals, programme settings --------------


@bp.get("/<tenant>/organisation-goals/")
@role_required(Role.PROGRAMME_ADMIN)
def list_organisation_goals():
    return render_template(
        "tenants/list_organisation_goals.html", goals=organisation_goals(), errors={}
    )


def _render_goal_form(goal: OrganisationGoal | None, values: dict, errors: dict, status: int = 200):
    return (
        render_template(
            "tenants/organisation_goal_form.html",
            goal=goal,
            values=values,
            errors=errors,
            languages=LANGUAGES,
            required_language=GOAL_TITLE_LANGUAGE,
        ),
        status,
    )


@bp.route("/<tenant>/organisation-goals/new", methods=["GET", "POST"])
@role_required(Role.PROGRAMME_ADMIN)
def new_organisation_goal():
    if request.method == "GET":
        return _render_goal_form(None, {"active": True}, {})
    form = OrganisationGoalForm.parse(request.form)
    return form_action(
        # A new goal is active: the flag is only offered when editing.
        lambda: create_organisation_goal(replace(form.data, active=True), current_user),
        invalid=lambda errors: _render_goal_form(None, form.values, errors, 422),
        done=see_other("tenants.list_organisation_goals"),
        message=gettext("The organisation goal is added."),
        multiline=("description_*",),
    )


@bp.route("/<tenant>/organisation-goals/<uuid:organisation_goal_id>/edit", methods=["GET", "POST"])
@role_required(Role.PROGRAMME_ADMIN)
def edit_organisation_goal(organisation_goal_id: uuid.UUID):
    goal = get_or_404(OrganisationGoal, organisation_goal_id)
    if request.method == "GET":
        return _render_goal_form(goal, OrganisationGoalForm.values_of(goal), {})
    form = OrganisationGoalForm.parse(request.form)
    return form_action(
        lambda: update_organisation_goal(goal, form.data, current_user),
        invalid=lambda errors: _render_goal_form(goal, form.values, errors, 422),
        done=see_other("tenants.list_organisation_goals"),
        message=gettext("The organisation goal is saved."),
        multiline=("description_*",),
    )


@bp.post(
    "/<tenant>/organisation-goals/<uuid:organisation_goal_id>/move",
    endpoint="move_organisation_goal",
)
@role_required(Role.PROGRAMME_ADMIN)
def move_goal(organisation_goal_id: uuid.UUID):
    goal = get_or_404(OrganisationGoal, organisation_goal_id)
    try:
        direction = Direction(request.form.get("direction", ""))
    except ValueError:
        errors = {FORM: gettext("Choose to move the goal up or down.")}
        return (
            render_template(
                "tenants/list_organisation_goals.html", goals=organisation_goals(), errors=errors
            ),
            422,
        )
    # Kept by hand: the first goal moved up (or the last down) changes nothing, so there is
    # nothing to commit and no message, but the answer is the same redirect.
    if move_organisation_goal(goal, direction, current_user):
        db.session.commit()
        flash(gettext("The order of the organisation goals is saved."))
    return see_other("tenants.list_organisation_goals", _anchor=f"goal-{goal.id}")


@bp.route("/<tenant>/settings/programme", methods=["GET", "POST"])
@role_required(Role.PROGRAMME_ADMIN)
def edit_programme_settings():
    tenant = require_tenant()
    if request.method == "POST":
        return form_action(
            lambda: update_programme_settings(
                tenant,
                learners_choose_coach=request.form.get("learners_choose_coach") == "yes",
                goals_require_organisation_goal=(
                    request.form.get("goals_require_organisation_goal") == "yes"
                ),
                actor=current_user,
            ),
            invalid=lambda errors: render_template(
                "tenants/programme_settings.html", tenant=tenant, errors=errors
            ),
            done=see_other("tenants.edit_programme_settings"),
            message=gettext("The programme settings are saved."),
        )
    return render_template("tenants/programme_settings.html", tenant=tenant)


# --- the tenant's own words for the main nouns (tenants.terminology) ---------------------------


def _terminology_values(terminology: dict) -> dict[str, str]:
    return {
        field_name(lang, key, form): (terminology or {}).get(lang, {}).get(key, {}).get(form, "")
        for lang in LANGUAGES
        for key in TERMS
        for form in FORMS
    }


def _render_terminology(values: dict, errors: dict, status: int = 200):
    return (
        render_template(
            "tenants/terminology_settings.html",
            values=values,
            errors=errors,
            terms=TERMS,
            defaults=default_words(),
            languages=LANGUAGES,
            limit=TERM_LIMIT,
        ),
        status,
    )


@bp.route("/<tenant>/settings/terminology", methods=["GET", "POST"])
@role_required(Role.PROGRAMME_ADMIN)
def edit_terminology():
    tenant = require_tenant()
    if request.method == "GET":
        return _render_terminology(_terminology_values(tenant.terminology), {})
    values = {name: request.form.get(name, "") for name in _terminology_values({})}
    submitted = {
        lang: {key: {form: values[field_name(lang, key, form)] for form in FORMS} for key in TERMS}
        for lang in LANGUAGES
    }
    return form_action(
        lambda: update_terminology(tenant, submitted, current_user),
        invalid=lambda errors: _render_terminology(values, errors, 422),
        done=see_other("tenants.edit_terminology"),
        message=lambda changed: (
            gettext("The words are saved.") if changed else gettext("Nothing was changed.")
        ),
    )


# --- the accessibility statement (tenants.accessibility) -----------------------------------------


@bp.get("/<tenant>/accessibility")
def accessibility_statement():
    """Public, like the landing page: anyone may read the statement, logged in or not."""
    tenant = require_tenant()
    return render_template(
        "tenants/accessibility_statement.html",
        statement=accessibility.statement_of(tenant),
        statuses=accessibility.STATUSES,
        checks=accessibility.AXE_CHECKS,
    )


_STATEMENT_FIELDS = ("status", "scope", "known_issues", "contact", "assessed_on")


def _render_statement_form(values: dict, errors: dict, status: int = 200):
    return (
        render_template(
            "tenants/accessibility_settings.html",
            values=values,
            errors=errors,
            statuses=accessibility.STATUSES,
        ),
        status,
    )


@bp.route("/<tenant>/settings/accessibility", methods=["GET", "POST"])
@role_required(Role.PROGRAMME_ADMIN)
def edit_accessibility_statement():
    tenant = require_tenant()
    if request.method == "GET":
        statement = accessibility.statement_of(tenant)
        values = {
            "status": statement.status,
            "scope": statement.scope,
            "known_issues": statement.known_issues,
            "contact": statement.contact,
            "assessed_on": statement.assessed_on.isoformat() if statement.assessed_on else "",
        }
        return _render_statement_form(values, {})
    values = {name: request.form.get(name, "") for name in _STATEMENT_FIELDS}
    return form_action(
        lambda: accessibility.update_statement(tenant, values, current_user),
        invalid=lambda errors: _render_statement_form(values, errors, 422),
        done=see_other("tenants.accessibility_statement"),
        message=gettext("The accessibility statement is saved."),
        multiline=("scope", "known_issues"),
    )


# --- the privacy statement (tenants.privacy) ----------------------------------------------------


@bp.get("/<tenant>/privacy")
def privacy_statement():
    """Public: anyone may read how the organisation processes personal data here."""
    tenant = require_tenant()
    return render_template(
        "tenants/privacy_statement.html", statement=privacy.privacy_statement_of(tenant)
    )


def _render_privacy_form(values: dict, errors: dict, status: int = 200):
    return render_template("tenants/privacy_settings.html", values=values, errors=errors), status


@bp.route("/<tenant>/settings/privacy", methods=["GET", "POST"])
@role_required(Role.PROGRAMME_ADMIN)
def edit_privacy_statement():
    tenant = require_tenant()
    if request.method == "GET":
        statement = privacy.privacy_statement_of(tenant)
        return _render_privacy_form(
            {"dpo_contact": statement.dpo_contact, "text": statement.text}, {}
        )
    values = {name: request.form.get(name, "") for name in ("dpo_contact", "text")}
    return form_action(
        lambda: privacy.update_privacy_statement(tenant, values, current_user),
        invalid=lambda errors: _render_privacy_form(values, errors, 422),
        done=see_other("tenants.privacy_statement"),
        message=gettext("The privacy statement is saved."),
        multiline=("text",),
    )

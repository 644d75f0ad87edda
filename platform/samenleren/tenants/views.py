"""The tenant's home: a public landing page for visitors, a start page for employees."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template
from flask_login import current_user
from sqlalchemy import select

from samenleren.core.tenancy import current_tenant
from samenleren.extensions import db
from samenleren.identity.models import Department, User
from samenleren.tenants.models import OrganisationGoal

bp = Blueprint("tenants", __name__, template_folder="templates")


@bp.get("/<tenant>/")
def home():
    tenant = current_tenant()
    if not current_user.is_authenticated:
        return render_template("tenants/landing.html", tenant=tenant)
    goals = db.session.scalars(
        select(OrganisationGoal).where(OrganisationGoal.active).order_by(OrganisationGoal.position)
    ).all()
    # Only the names are shown: no lazy loads of whole rows (and their roles) on every visit,
    # and no query at all when there is no manager or department.
    manager_name = department_name = None
    if current_user.manager_id is not None:
        manager_name = db.session.scalar(
            select(User.name).where(User.id == current_user.manager_id)
        )
    if current_user.department_id is not None:
        department_name = db.session.scalar(
            select(Department.name).where(Department.id == current_user.department_id)
        )
    return render_template(
        "tenants/home.html",
        tenant=tenant,
        goals=goals,
        manager_name=manager_name,
        department_name=department_name,
    )


@bp.get("/<tenant>/theme.css")
def theme_css() -> Response:
    """The tenant's design tokens as CSS custom properties (no inline styles: CSP forbids them)."""
    tenant = current_tenant()
    css = render_template("tenants/theme.css", color=tenant.theme_primary_color)
    response = Response(css, mimetype="text/css")
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response


@bp.get("/<tenant>/logo")
def logo() -> Response:
    tenant = current_tenant()
    if not tenant.theme_logo:
        abort(404)
    # An SVG from a manifest is shown through <img>, where nothing in it runs; opened directly,
    # the site-wide Content-Security-Policy (no inline script) keeps any script in it inert.
    response = Response(tenant.theme_logo, mimetype=tenant.theme_logo_type)
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response

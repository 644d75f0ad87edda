"""The tenant's home: a public landing page for visitors, a start page for employees."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template
from flask_login import current_user
from sqlalchemy import select

from samenleren.core.tenancy import current_tenant
from samenleren.extensions import db
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
    return render_template("tenants/home.html", tenant=tenant, goals=goals)


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
    response = Response(tenant.theme_logo, mimetype=tenant.theme_logo_type)
    # An SVG from a manifest is only ever shown through <img>; should someone open it directly,
    # nothing in it may run.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response

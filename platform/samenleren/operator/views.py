"""The platform operator console under `/operator/`: no tenant, no personal data.

Operators log in through the platform's own identity provider (SAMENLEREN_OPERATOR_OIDC_*), with
the same OIDC client code as tenant logins. Every page but login and callback needs an operator
login (`operator_required`); anyone else, a tenant's employee included, is sent to the
operators' login, which only the platform's IdP and its allowlist can pass.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext

from samenleren.core.config import LANGUAGES
from samenleren.core.extensions import db
from samenleren.core.i18n import LANGUAGE_NAMES
from samenleren.core.ratelimits import callback_rate_limit, login_rate_limit
from samenleren.core.tenant import Tenant, TenantStatus, get_tenant_by_slug
from samenleren.core.terminology import in_sentence, role_term
from samenleren.core.web import form_action, see_other
from samenleren.identity.models import Role
from samenleren.identity.oidc import CallbackRefused, SSOConfigurationError, finish_authorization
from samenleren.identity.sso_setup import admin_foreseen, auth_method_choices, login_problems
from samenleren.operator.login import (
    ConsoleNotConfigured,
    OperatorRefused,
    operator_client,
    operator_from_claims,
    operator_issuer,
)
from samenleren.operator.onboarding import (
    FORM_FIELDS,
    form_defaults,
    onboard_from_form,
    onboard_from_upload,
    role_list,
)
from samenleren.operator.sessions import (
    current_operator,
    end_operator_session,
    start_operator_session,
)
from samenleren.operator.tenant_actions import (
    accounts_to_relink,
    approve_issuer,
    change_status,
    check_sso,
    make_setup_link,
    name_first_admins,
    recent_login_failures,
    reject_issuer,
    set_client_auth_method,
    set_client_secret,
)
from samenleren.operator.usage import tenants_with_usage

log = logging.getLogger(__name__)
bp = Blueprint("operator", __name__, template_folder="templates")

F = TypeVar("F", bound=Callable[..., Any])


def operator_required(view: F) -> F:
    """A console page: for a logged-in operator only; anyone else goes to the operators' login
    (a tenant's employee too: their login means nothing here)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        operator = current_operator()
        if operator is None:
            return redirect(url_for("operator.login"), 303 if request.method == "POST" else 302)
        g.operator = operator
        return view(*args, **kwargs)

    return cast(F, wrapper)


def _tenant_or_404(slug: str) -> Tenant:
    tenant = get_tenant_by_slug(slug)
    if tenant is None:
        abort(404)
    return tenant


# --- login and logout ---------------------------------------------------------------------------


def _unavailable(reason: Exception):
    if isinstance(reason, ConsoleNotConfigured):
        log.warning("operator console: %s", reason)
    else:
        log.error("operator console: the platform's identity provider is unusable: %s", reason)
    configured = not isinstance(reason, ConsoleNotConfigured)
    return render_template("operator/unavailable.html", configured=configured), 503


def _refused(reason: str):
    log.warning("operator login refused: %s", reason)
    return render_template("operator/login_refused.html"), 403


@bp.get("/operator/login")
@login_rate_limit
def login():
    if current_operator() is not None:
        return redirect(url_for("operator.list_tenants"))
    try:
        client = operator_client()
    except SSOConfigurationError as exc:
        return _unavailable(exc)
    return client.authorize_redirect(url_for("operator.callback", _external=True))


@bp.get("/operator/callback")
@callback_rate_limit
def callback():
    if request.args.get("error"):
        return _refused(f"identity provider answered {request.args.get('error')!r}")
    try:
        claims = finish_authorization(operator_client(), operator_issuer())
    except SSOConfigurationError as exc:
        return _unavailable(exc)
    except CallbackRefused as exc:
        return _refused(str(exc))
    try:
        operator, by_group = operator_from_claims(claims)
    except OperatorRefused as exc:
        db.session.rollback()
        return _refused(str(exc))
    start_operator_session(operator, by_group=by_group)
    log.info("operator login: %s", operator.subject)
    return redirect(url_for("operator.list_tenants"))


@bp.post("/operator/logout")
def logout():
    end_operator_session()
    flash(gettext("You are logged out of the operator console."))
    return see_other("operator.logged_out")


@bp.get("/operator/logged-out")
def logged_out():
    """Where logout lands: no login is started by itself (that would log straight back in)."""
    if current_operator() is not None:
        return redirect(url_for("operator.list_tenants"))
    return render_template("operator/logged_out.html")


# --- the tenants ------------------------------------------------------------------------------


@bp.get("/operator/")
@operator_required
def list_tenants():
    rows = tenants_with_usage()
    return render_template("operator/list_tenants.html", rows=rows, Status=TenantStatus)


def _render_new(values: dict, errors: dict, upload_errors: dict, status: int = 200):
    return (
        render_template(
            "operator/new_tenant.html",
            values=values,
            errors=errors,
            upload_errors=upload_errors,
            languages=[(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
            roles=role_list(),
            coach_word=in_sentence(role_term(Role.COACH)),
        ),
        status,
    )


def _onboarded(tenant: Tenant) -> str:
    return gettext(
        "%(name)s is onboarded; its address is /%(slug)s/.", name=tenant.name, slug=tenant.slug
    )


@bp.route("/operator/tenants/new", methods=["GET", "POST"])
@operator_required
def new_tenant():
    if request.method == "GET":
        return _render_new(form_defaults(), {}, {})
    values = {field: request.form.get(field, "") for field in FORM_FIELDS}
    return form_action(
        lambda: onboard_from_form(values, g.operator),
        invalid=lambda errors: _render_new(values, errors, {}, 422),
        done=see_other("operator.list_tenants"),
        message=_onboarded,
        multiline=("group_roles", "first_admins"),
    )


@bp.post("/operator/tenants/upload")
@operator_required
def upload_manifest():
    return form_action(
        lambda: onboard_from_upload(
            request.files.get("manifest"), request.files.get("logo"), g.operator
        ),
        invalid=lambda errors: _render_new(form_defaults(), {}, errors, 422),
        done=see_other("operator.list_tenants"),
        message=_onboarded,
    )


def _status_page(slug: str, status: TenantStatus):
    tenant = _tenant_or_404(slug)
    if request.method == "GET":
        return render_template("operator/confirm_status.html", province=tenant, target=status)
    # Not `form_action`: suspending or resuming refuses nothing, so there is no form to show again.
    changed = change_status(tenant, status, g.operator)
    db.session.commit()
    if status is TenantStatus.SUSPENDED:
        message = (
            gettext(
                "%(name)s is suspended: its pages are closed and nobody can log in.",
                name=tenant.name,
            )
            if changed
            else gettext("%(name)s was suspended already.", name=tenant.name)
        )
    else:
        message = (
            gettext("%(name)s is resumed: its pages are open again.", name=tenant.name)
            if changed
            else gettext("%(name)s was active already.", name=tenant.name)
        )
    flash(message)
    return see_other("operator.list_tenants")


@bp.route("/operator/tenants/<slug>/suspend", methods=["GET", "POST"])
@operator_required
def suspend_tenant(slug: str):
    return _status_page(slug, TenantStatus.SUSPENDED)


@bp.route("/operator/tenants/<slug>/resume", methods=["GET", "POST"])
@operator_required
def resume_tenant(slug: str):
    return _status_page(slug, TenantStatus.ACTIVE)


@bp.post("/operator/tenants/<slug>/test-sso")
@operator_required
def test_sso(slug: str):
    tenant = _tenant_or_404(slug)
    report = check_sso(tenant, g.operator)
    db.session.commit()  # the audit event: who tested when, and the outcome
    return render_template("operator/sso_test.html", province=tenant, report=report)


def _issuer_page(tenant: Tenant, errors: dict[str, str], status: int = 200):
    return (
        render_template(
            "operator/approve_issuer.html",
            province=tenant,
            relink=accounts_to_relink(tenant) if tenant.sso_issuer_pending else 0,
            errors=errors,
        ),
        status,
    )


@bp.get("/operator/tenants/<slug>/issuer")
@operator_required
def pending_issuer(slug: str):
    """A new identity provider a programme administrator asked for, to approve or turn down."""
    return _issuer_page(_tenant_or_404(slug), {})


@bp.post("/operator/tenants/<slug>/issuer/approve")
@operator_required
def approve_pending_issuer(slug: str):
    tenant = _tenant_or_404(slug)
    return form_action(
        lambda: approve_issuer(tenant, g.operator, request.form.get("issuer", "")),
        invalid=lambda errors: _issuer_page(tenant, errors, 422),
        done=see_other("operator.list_tenants"),
        message=lambda relinked: gettext(
            "%(name)s now logs in through %(issuer)s; %(count)d accounts are linked to it.",
            name=tenant.name,
            issuer=tenant.sso_issuer,
            count=relinked,
        ),
    )


@bp.post("/operator/tenants/<slug>/issuer/reject")
@operator_required
def reject_pending_issuer(slug: str):
    tenant = _tenant_or_404(slug)
    return form_action(
        lambda: reject_issuer(tenant, g.operator),
        invalid=lambda errors: _issuer_page(tenant, errors, 422),
        done=see_other("operator.list_tenants"),
        message=gettext("The requested identity provider is dropped; nothing changed."),
    )


# --- finishing a tenant's login set-up ---------------------------------------------------------


def _setup_page(
    tenant: Tenant,
    errors: dict[str, str],
    status: int = 200,
    *,
    admins_text: str | None = None,
    link: str | None = None,
):
    body = render_template(
        "operator/tenant_setup.html",
        province=tenant,
        errors=errors,
        problems=login_problems(tenant),
        admin_foreseen=admin_foreseen(tenant),
        admins_text="\n".join(tenant.first_admins or []) if admins_text is None else admins_text,
        failures=recent_login_failures(tenant),
        link=link,
        auth_methods=auth_method_choices(),
        jwks_url=url_for("sso.jwks", tenant=tenant.slug, _external=True),
    )
    response = make_response(body, status)
    if link is not None:
        response.headers["Cache-Control"] = "no-store"  # the link is shown once
    return response


@bp.get("/operator/tenants/<slug>/setup")
@operator_required
def tenant_setup(slug: str):
    """What a tenant's login still needs, with the forms to give it, and its refused logins
    with their technical cause."""
    return _setup_page(_tenant_or_404(slug), {})


@bp.post("/operator/tenants/<slug>/setup/secret")
@operator_required
def set_tenant_secret(slug: str):
    tenant = _tenant_or_404(slug)
    return form_action(
        lambda: set_client_secret(tenant, request.form.get("client_secret", ""), g.operator),
        invalid=lambda errors: _setup_page(tenant, errors, 422),
        done=see_other("operator.tenant_setup", slug=slug),
        message=gettext(
            "The client secret of %(name)s is stored encrypted; it applies from the next login.",
            name=tenant.name,
        ),
    )


@bp.post("/operator/tenants/<slug>/setup/auth-method")
@operator_required
def set_tenant_auth_method(slug: str):
    """Client secret or `private_key_jwt`; the latter makes the tenant's key pair."""
    tenant = _tenant_or_404(slug)
    return form_action(
        lambda: set_client_auth_method(
            tenant, request.form.get("client_auth_method", ""), g.operator
        ),
        invalid=lambda errors: _setup_page(tenant, errors, 422),
        done=see_other("operator.tenant_setup", slug=slug),
        message=lambda changed: (
            gettext("The client authentication method is saved; it applies from the next login.")
            if changed
            else gettext("Nothing changed.")
        ),
    )


@bp.post("/operator/tenants/<slug>/setup/admins")
@operator_required
def set_first_admins(slug: str):
    tenant = _tenant_or_404(slug)
    text = request.form.get("first_admins", "")
    return form_action(
        lambda: name_first_admins(tenant, text, g.operator),
        invalid=lambda errors: _setup_page(tenant, errors, 422, admins_text=text),
        done=see_other("operator.tenant_setup", slug=slug),
        message=lambda changed: (
            gettext(
                "The first programme administrators are saved; each gets the role at their first "
                "login."
            )
            if changed
            else gettext("Nothing changed.")
        ),
        multiline=("first_admins",),
    )


@bp.post("/operator/tenants/<slug>/setup/link")
@operator_required
def make_tenant_setup_link(slug: str):
    """A new set-up link for the tenant's IT contact, shown once on the page (not flashed)."""
    tenant = _tenant_or_404(slug)
    link = make_setup_link(tenant, g.operator)
    db.session.commit()
    return _setup_page(tenant, {}, link=link)

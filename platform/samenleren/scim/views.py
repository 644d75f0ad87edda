"""The SCIM endpoint of each tenant (`/scim/v2/<slug>/...`) and the admin's token page.

The endpoint is one Flask view that hands the request to `scim2-server`'s `ScimHandler` with our
SQL storage (`samenleren.scim.storage`). We chose that over mounting scim2-server's own WSGI
application: the handler is the protocol engine without any I/O (routing of `/Users`,
`/Groups`, `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`, `.search`; validation; PATCH
and PUT semantics; SCIM errors), while the Flask view keeps everything that is ours in one place
and in the application's request cycle: the tenant from the path, the bearer token of that
tenant, the database session and its transaction, the rate limit and the audit log. Writing the
protocol ourselves on `scim2-models` alone would have meant re-implementing PATCH paths and
filters that the handler already gets right.

The path is outside `/<tenant>/`, so the tenant is resolved here, not by `core.web`: the slug
names it and the bearer token must be one of *its* tokens. An unknown slug, a suspended tenant,
a missing, wrong, revoked or other tenant's token all get the same 401 with
`WWW-Authenticate: Bearer`, so nothing tells which tenants exist. CSRF does not apply (no
cookies, a bearer token) and no session cookie is ever set.
"""

from __future__ import annotations

import json
import logging
import uuid

from flask import (
    Blueprint,
    Response,
    abort,
    after_this_request,
    flash,
    g,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user
from scim2_models import PayloadTooLargeException, SCIMException, UnauthorizedException
from scim2_models import UniquenessException as ScimUniqueness
from scim2_server.handler import ScimHandler
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse
from scim2_server.service import ScimService
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import RequestEntityTooLarge

from samenleren.core.extensions import csrf, db
from samenleren.core.ratelimits import identify_client, scim_rate_limit
from samenleren.core.tenancy import activate_tenant, require_tenant
from samenleren.core.web import form_action, role_required, see_other
from samenleren.identity.models import Role
from samenleren.scim import tokens
from samenleren.scim.models import ScimToken
from samenleren.scim.schema import PROVIDER
from samenleren.scim.storage import TenantStorage

log = logging.getLogger(__name__)
bp = Blueprint("scim", __name__, template_folder="templates")

SCIM_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_service = ScimService(PROVIDER)
_handler = ScimHandler(_service, TenantStorage())


# --- the SCIM endpoint ------------------------------------------------------------------------


def _to_flask(answer: ScimResponse) -> Response:
    body = json.dumps(answer.body) if answer.body is not None else ""
    response = Response(body, status=int(answer.status))
    for name, value in answer.headers.items():
        response.headers[name] = value
    if answer.body is None:
        response.headers.pop("Content-Type", None)
    # Answers carry personal data: no cache along the way may keep them.
    response.headers["Cache-Control"] = "no-store"
    return response


def _error(exception: Exception) -> Response:
    return _to_flask(_service.error_response(exception))


def _unauthorized() -> Response:
    return _error(
        UnauthorizedException(
            detail="A valid bearer token of this organisation is required "
            "(Authorization: Bearer <token>)"
        )
    )


def _keep_cookies_out(response: Response) -> Response:
    # Nothing of a SCIM request goes into a session (e.g. a stray ?lang=): no Set-Cookie.
    session.modified = False
    return response


def _authenticate(slug: str) -> ScimToken | None:
    """The tenant named by `slug` made current, and the request's token of *that* tenant."""
    from samenleren.core.tenant import get_tenant_by_slug

    tenant = get_tenant_by_slug(slug)
    if tenant is None or not tenant.is_active:
        return None
    activate_tenant(tenant)
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return tokens.authenticate(token.strip())


@bp.route("/scim/v2/<slug>", defaults={"scim_path": ""}, methods=SCIM_METHODS)
@bp.route("/scim/v2/<slug>/<path:scim_path>", methods=SCIM_METHODS)
def api(slug: str, scim_path: str) -> Response:
    after_this_request(_keep_cookies_out)
    token = _authenticate(slug)
    if token is not None:
        g.scim_actor_label = f"SCIM: {token.name}"  # who the audit log names for changes
        identify_client(token.id)  # the rate limit counts per tenant and token
        db.session.commit()  # the token's last use, whatever becomes of the request
    else:
        db.session.rollback()
    return _limited(slug, scim_path, token)


csrf.exempt(api)


@scim_rate_limit
def _limited(slug: str, scim_path: str, token: ScimToken | None) -> Response:
    """Counted by the shared SCIM limit: per tenant and token, or per address when refused."""
    if token is None:
        log.info("SCIM request refused (no valid token) for %s", request.path)
        return _unauthorized()
    return _serve(slug, scim_path)


def _serve(slug: str, scim_path: str) -> Response:
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return _error(PayloadTooLargeException(detail="The request body is too large"))
    scim_request = ScimRequest(
        method="GET" if request.method == "HEAD" else request.method,
        base_url=f"{request.host_url.rstrip('/')}{request.script_root}/scim/v2/{slug}",
        path="/" + scim_path.removesuffix(".scim"),
        query=request.args.to_dict(flat=True),
        headers=list(request.headers.items()),
        body=body,
    )
    try:
        answer = _handler.handle(scim_request)
        db.session.commit()
    except IntegrityError:
        # Two requests creating the same userName at once: the database has the last word.
        db.session.rollback()
        log.info("SCIM %s %s: uniqueness conflict", request.method, request.path)
        return _error(ScimUniqueness(detail="A value that must be unique is already taken"))
    except SCIMException as refused:
        db.session.rollback()
        log.info("SCIM %s %s refused: %s %s", request.method, request.path, refused.status, refused)
        return _error(refused)
    except Exception as exc:
        db.session.rollback()
        log.exception("SCIM %s %s failed", request.method, request.path)
        return _error(exc)
    return _to_flask(answer)


# --- the programme administrator's page: tokens -----------------------------------------------


def _endpoint_url() -> str:
    return url_for("scim.api", slug=require_tenant().slug, scim_path="", _external=True)


def _render_settings(
    *,
    new_token: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    response = Response(
        render_template(
            "scim/settings.html",
            tokens=tokens.list_tokens(),
            endpoint_url=_endpoint_url(),
            new_token=new_token,
            values=values or {},
            errors=errors or {},
        ),
        status=status,
    )
    if new_token:
        response.headers["Cache-Control"] = "no-store"  # the token is shown once, kept nowhere
    return response


@bp.get("/<tenant>/settings/scim")
@role_required(Role.PROGRAMME_ADMIN)
def settings() -> Response:
    return _render_settings()


@bp.post("/<tenant>/settings/scim/tokens")
@role_required(Role.PROGRAMME_ADMIN)
def create_token() -> ResponseReturnValue:
    name = request.form.get("name", "")
    return form_action(
        lambda: tokens.create_token(name, actor=current_user),
        invalid=lambda errors: _render_settings(values={"name": name}, errors=errors, status=422),
        # Shown in this answer only (not flashed: the session cookie is signed, not encrypted).
        done=lambda made: _render_settings(new_token=made[1]),
    )


@bp.post("/<tenant>/settings/scim/tokens/<uuid:token_id>/revoke")
@role_required(Role.PROGRAMME_ADMIN)
def revoke_token(token_id: uuid.UUID) -> ResponseReturnValue:
    token = tokens.get_token(token_id)
    if token is None:
        abort(404)
    # Kept by hand, not `form_action`: revoking refuses nothing, so there is no form to show
    # again; a token revoked already changes nothing and has nothing to commit.
    if tokens.revoke_token(token, actor=current_user):
        db.session.commit()
        flash(gettext("The token %(name)s is revoked: it no longer gives access.", name=token.name))
    else:
        flash(gettext("The token %(name)s was already revoked.", name=token.name))
    return see_other("scim.settings")

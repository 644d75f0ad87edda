"""Login through the tenant's own identity provider, and logout."""

from __future__ import annotations

import logging
from urllib.parse import unquote, urlsplit

from flask import Blueprint, Response, g, redirect, render_template, request, session, url_for
from flask_login import current_user

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.core import metrics
from samenleren.core.extensions import db
from samenleren.core.ratelimits import callback_rate_limit, login_rate_limit
from samenleren.core.tenancy import current_tenant, require_tenant
from samenleren.identity.assurance import requested_levels, shortfall
from samenleren.identity.oidc import (
    AUTHORIZATION_ERRORS,
    CallbackRefused,
    SSOConfigurationError,
    client_for,
    finish_login,
    logout_url,
    take_callback_state,
)
from samenleren.identity.services import EXTERNAL_SUBJECT_PREFIX, LoginRefused, user_from_claims
from samenleren.identity.sessions import end_login_session, start_login_session

log = logging.getLogger(__name__)
bp = Blueprint("identity", __name__, template_folder="templates")

NEXT_KEY = "login_next"


def _safe_next(target: str | None) -> str | None:
    """Only a path inside this tenant may be the place to return to after login."""
    tenant = current_tenant()
    if not target or tenant is None:
        return None
    if not target.startswith(f"/{tenant.slug}/") or target.startswith("//") or "\\" in target:
        return None
    # Browsers strip tabs and newlines from URLs and resolve "." and ".." segments, also when
    # percent-encoded: "/flevoland/%2e%2e/gelderland/" would leave the tenant after all.
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in target):
        return None
    path = target.split("?", 1)[0].split("#", 1)[0]
    if any(unquote(segment) in {".", ".."} for segment in path.split("/")):
        return None
    return target


def _refused(reason: str, status: int = 403, *, code: str = "refused", user=None, **facts):
    """The refusal page; the refusal is logged and audited (`code`: the reason's code in the
    audit log; `user`: the known user refused; `facts`: details, e.g. the IdP's `subject`).
    `reason`, the technical cause, is kept as `cause` for the operator console."""
    log.warning("login refused at %s: %s", require_tenant().slug, reason)
    metrics.login_failed(require_tenant().slug, code)
    _audit_refusal(code, user, cause=reason, **facts)
    return render_template("identity/login_refused.html", reason=code), status


def _unaudited_refusal(reason: str, code: str):
    """The refusal page for a callback that no login of this browser started (no valid state):
    anyone can send one, so it is logged and counted but never written to the tenant's audit
    log, and nothing of what it carries is kept."""
    slug = require_tenant().slug
    log.warning("login callback refused at %s: %s", slug, reason)
    metrics.login_failed(slug, code)
    return render_template("identity/login_refused.html"), 403


def _audit_refusal(code: str, user=None, **facts) -> None:
    details = {"reason": code} | {key: str(value)[:200] for key, value in facts.items() if value}
    record(
        AuditAction.LOGIN_REFUSED,
        actor=user,
        subject_type="user" if user is not None else "",
        subject_id=user.id if user is not None else None,
        details=details,
    )
    db.session.commit()


def _sso_unavailable(exc: SSOConfigurationError):
    """The page saying that login cannot work now, naming what the person can do about it; the
    technical cause goes to the log and to the tenant's audit log, where the operator console
    shows it (`operator.views.tenant_setup`)."""
    tenant = require_tenant()
    log.error("SSO of %s unusable: %s", tenant.slug, exc)
    metrics.login_failed(tenant.slug, "sso_unavailable")
    _audit_refusal("sso_unavailable", cause=str(exc))
    return render_template("identity/sso_unavailable.html", cause=exc.cause), 503


def _callback_refusal_code(exc: Exception) -> str:
    """The audit code of a refused callback, from the Authlib or JOSE error behind it."""
    from authlib.integrations.base_client.errors import MismatchingStateError
    from joserfc.errors import ClaimError

    cause = exc.__cause__
    if cause is None:
        return "no_id_token"
    if isinstance(cause, MismatchingStateError):
        return "state"
    if isinstance(cause, ClaimError) and cause.claim == "iss":
        return "wrong_issuer"
    return "token"


@bp.get("/<tenant>/auth/login")
@login_rate_limit
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")) or url_for("dashboards.home"))
    tenant = require_tenant()
    try:
        client = client_for(tenant)
    except SSOConfigurationError as exc:
        return _sso_unavailable(exc)
    session[NEXT_KEY] = _safe_next(request.args.get("next"))
    extra = {}
    levels = requested_levels(tenant.sso_acr_minimum)
    if levels:
        extra["acr_values"] = " ".join(levels)
    return client.authorize_redirect(url_for("identity.callback", _external=True), **extra)


@bp.get("/<tenant>/auth/callback")
@callback_rate_limit
def callback():
    tenant = require_tenant()
    if "error" in request.args:
        # The IdP's answer to a login started here names one of the standard codes; the text
        # is a stranger's as long as the state does not show that this browser started it.
        error = request.args.get("error", "")
        known = error if error in AUTHORIZATION_ERRORS else None
        if not take_callback_state(tenant):
            return _unaudited_refusal(
                f"error {known or 'not a known code'} without a valid state", "state"
            )
        return _refused(
            f"identity provider answered {known or 'an unknown error'}",
            code="idp_error",
            error=known,
        )
    try:
        claims, id_token = finish_login(client_for(tenant), tenant.sso_issuer)
    except SSOConfigurationError as exc:  # discovery or the token endpoint unusable
        return _sso_unavailable(exc)
    except CallbackRefused as exc:
        # Missing or forged state, a replayed callback (the state was used up), a token from
        # another issuer or for another audience, a bad signature or nonce: all end here.
        code = _callback_refusal_code(exc)
        if code == "state":  # no login of this browser: anyone's request, not audited
            return _unaudited_refusal(str(exc), code)
        return _refused(str(exc), code=code)
    too_low = shortfall(tenant.sso_acr_minimum, claims)
    if too_low is not None:
        # Checked before anyone is created or updated: a weaker login changes nothing.
        return _refused(too_low, code="acr", subject=claims.get("sub"))
    next_url = session.get(NEXT_KEY)
    try:
        user = user_from_claims(tenant, claims)
        db.session.flush()
    except LoginRefused as exc:
        db.session.rollback()
        # A user we know is the actor; someone unknown is named by the IdP's subject only.
        subject = None if exc.user is not None else claims.get("sub")
        return _refused(str(exc), code=exc.reason, user=exc.user, subject=subject, **exc.facts)
    record(AuditAction.LOGIN_SUCCEEDED, actor=user, subject_type="user", subject_id=user.id)
    start_login_session(user, id_token_hint=id_token)  # commits the login and its event
    # The line's `user` field names the user by a pseudonym (samenleren.core.logs), not the id.
    log.info("login at %s", tenant.slug)
    return redirect(next_url or url_for("dashboards.home"))


def _origin(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def remember_idp_origin() -> None:
    """The tenant's issuer origin, read while the request starts: the tenant's row is loaded
    then, and reading it after a commit (a page that records a read) would cost two queries."""
    tenant = current_tenant()
    g.idp_origin = _origin(tenant.sso_issuer) if tenant is not None else None


def allow_logout_at_idp(response: Response) -> Response:
    """Let the logout form's redirect reach the tenant's identity provider.

    Browsers apply the page's CSP `form-action` to every redirect that follows a form post, so
    with `'self'` alone the logout could never go on to the IdP's `end_session_endpoint`. On a
    tenant's pages the issuer's origin is added; the logout goes to the IdP only on that origin
    (`logout`). Registered before Talisman, so it runs after Talisman wrote the header.
    """
    header = response.headers.get("Content-Security-Policy")
    origin = g.get("idp_origin")
    if not header or response.mimetype != "text/html":
        return response
    if header and origin and "form-action 'self'" in header:
        response.headers["Content-Security-Policy"] = header.replace(
            "form-action 'self'", f"form-action 'self' {origin}", 1
        )
    return response


@bp.post("/<tenant>/auth/logout")
def logout():
    """End the login here, and at the IdP too when it offers RP-initiated logout: the browser
    goes to its `end_session_endpoint` with the login's ID token as hint and comes back to the
    tenant's start page. Without that endpoint (or when the IdP cannot be reached now) the
    logout is local, as before."""
    local = url_for("dashboards.home", logged_out=1)
    if not current_user.is_authenticated:
        return redirect(local)
    user = current_user._get_current_object()
    record(AuditAction.LOGOUT, actor=user, subject_type="user", subject_id=user.id)
    hint = end_login_session(user)
    db.session.commit()  # the event, also when the login had ended already
    if user.subject.startswith(EXTERNAL_SUBJECT_PREFIX):
        return redirect(local)  # external trainers signed in by link, not at the IdP
    try:
        target = logout_url(
            client_for(require_tenant()),
            id_token_hint=hint,
            return_to=url_for("dashboards.home", logged_out=1, _external=True),
        )
    except SSOConfigurationError as exc:
        log.warning("logout at the identity provider skipped: %s", exc)
        target = None
    if target is not None and _origin(target) != _origin(require_tenant().sso_issuer):
        # Not on the issuer's origin, which is all the pages' CSP lets a form post lead to.
        log.warning("logout at the identity provider skipped: end_session_endpoint elsewhere")
        target = None
    return redirect(target or local)

"""Login through the tenant's own identity provider, and logout."""

from __future__ import annotations

import logging
from urllib.parse import unquote

from authlib.common.errors import AuthlibBaseError
from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user
from joserfc.errors import JoseError

from samenleren.core.tenancy import current_tenant
from samenleren.extensions import db
from samenleren.identity.oidc import SSOConfigurationError, client_for
from samenleren.identity.services import LoginRefused, user_from_claims
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


def _refused(reason: str, status: int = 403):
    log.warning("login refused at %s: %s", current_tenant().slug, reason)
    return render_template("identity/login_refused.html"), status


@bp.get("/<tenant>/auth/login")
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")) or url_for("tenants.home"))
    tenant = current_tenant()
    try:
        client = client_for(tenant)
    except SSOConfigurationError as exc:
        log.error("SSO of %s unusable: %s", tenant.slug, exc)
        return render_template("identity/sso_unavailable.html"), 503
    session[NEXT_KEY] = _safe_next(request.args.get("next"))
    return client.authorize_redirect(url_for("identity.callback", _external=True))


@bp.get("/<tenant>/auth/callback")
def callback():
    tenant = current_tenant()
    if request.args.get("error"):
        return _refused(f"identity provider answered {request.args.get('error')!r}")
    try:
        client = client_for(tenant)
        token = client.authorize_access_token(
            claims_options={"iss": {"essential": True, "value": tenant.sso_issuer}}
        )
    except SSOConfigurationError as exc:
        log.error("SSO of %s unusable: %s", tenant.slug, exc)
        return render_template("identity/sso_unavailable.html"), 503
    except (AuthlibBaseError, JoseError, ValueError, KeyError, TypeError) as exc:
        # Missing or forged state, a replayed callback (the state was used up), a token from
        # another issuer or for another audience, a bad signature or nonce: all end here.
        return _refused(f"{type(exc).__name__}: {exc}")
    except OSError as exc:  # the token endpoint could not be reached
        log.error("token endpoint of %s unreachable: %s", tenant.slug, exc)
        return render_template("identity/sso_unavailable.html"), 503
    claims = token.get("userinfo")
    if not claims:
        return _refused("no ID token in the token response")
    next_url = session.get(NEXT_KEY)
    try:
        user = user_from_claims(tenant, claims)
        db.session.flush()
    except LoginRefused as exc:
        db.session.rollback()
        return _refused(str(exc))
    start_login_session(user)
    log.info("login at %s: user %s", tenant.slug, user.id)
    return redirect(next_url or url_for("tenants.home"))


@bp.post("/<tenant>/auth/logout")
def logout():
    if current_user.is_authenticated:
        end_login_session(current_user._get_current_object())
    return redirect(url_for("tenants.home", logged_out=1))

"""The programme administrator's SSO settings page: `/<tenant>/settings/sso`."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    jsonify,
    make_response,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from samenleren.core.ratelimits import login_rate_limit
from samenleren.core.tenancy import require_tenant
from samenleren.core.terminology import role_term
from samenleren.core.web import form_action, role_required, see_other
from samenleren.identity.assurance import KNOWN_LEVELS
from samenleren.identity.client_keys import (
    certificate_of,
    published_certificate,
    published_keys,
    retire_previous_keys,
    rotate_client_key,
)
from samenleren.identity.client_keys import jwks as published_jwks
from samenleren.identity.issuers import (
    Approver,
    approve_issuer_change,
    reject_issuer_change,
    requester_of,
    users_to_relink,
)
from samenleren.identity.models import Role
from samenleren.identity.sso_settings import (
    CLAIM_KEYS,
    GroupRow,
    SSOSettingsInput,
    secret_source,
    settings_of,
    update_sso_settings,
)
from samenleren.identity.sso_setup import (
    auth_method_choices,
    redeem_setup_link,
    setup_link_valid,
)

bp = Blueprint("sso", __name__, template_folder="templates")

#: Empty rows offered below the mapping, and added by "More empty rows".
BLANK_ROWS = 3
#: A bound on the rows a submitted form may claim to have.
MAX_ROWS = 500

CLAIM_LABELS = {
    "name": (_l("Name"), _l("The claim with the person's full name.")),
    "email": (_l("E-mail address"), _l("The claim with the e-mail address.")),
    "groups": (
        _l("Groups"),
        _l("The claim listing the person's groups; the table below maps them to roles."),
    ),
    "department": (
        _l("Department (optional)"),
        _l(
            "The claim with the department's name; a new name creates the department. Empty: "
            "not taken from the identity provider."
        ),
    ),
    "employee_number": (
        _l("Employee number (optional)"),
        _l("Empty: not taken from the identity provider."),
    ),
    "manager": (
        _l("Manager (optional)"),
        _l(
            "A claim holding the manager's subject (sub) at the same identity provider. It is "
            "followed once the manager has logged in or was provisioned. Empty: not taken."
        ),
    ),
}


def _parse(form: MultiDict) -> SSOSettingsInput:
    try:
        count = min(max(int(form.get("row_count", "0")), 0), MAX_ROWS)
    except ValueError:
        count = 0
    rows = [
        GroupRow(
            group=form.get(f"group-{index}", ""),
            roles=tuple(form.getlist(f"roles-{index}")),
            remove=form.get(f"remove-{index}") == "yes",
        )
        for index in range(count)
    ]
    return SSOSettingsInput(
        issuer=form.get("issuer", ""),
        client_id=form.get("client_id", ""),
        client_secret=form.get("client_secret", ""),
        forget_secret=form.get("forget_secret") == "yes",
        scopes=form.get("scopes", ""),
        claims={key: form.get(f"claim_{key}", "") for key in CLAIM_KEYS},
        rows=rows,
        default_roles=form.getlist("default_roles"),
        client_auth_method=form.get("client_auth_method", ""),
        acr_minimum=form.get("acr_minimum", ""),
    )


def _render(
    values: SSOSettingsInput,
    errors: dict[str, str],
    *,
    status: int = 200,
    extra_rows: int = BLANK_ROWS,
    secret_dropped: bool = False,
):
    tenant = require_tenant()
    rows = list(values.rows) + [GroupRow() for _ in range(extra_rows)]
    pending = None
    if tenant is not None and tenant.sso_issuer_pending:
        requester = requester_of(tenant)
        if requester is not None:
            asked_by = requester.name
        elif tenant.sso_issuer_requested_by_id is None:
            # Asked for by a manifest onboarded again (identity.issuers).
            asked_by = gettext("The platform operator, through the manifest,")
        else:
            asked_by = "?"
        pending = {
            "issuer": tenant.sso_issuer_pending,
            "requested_at": tenant.sso_issuer_requested_at,
            "requester": asked_by,
            "mine": requester is not None and requester.id == current_user.id,
            # Listed before approval: approving moves exactly these people to the new issuer.
            "users": users_to_relink(tenant),
        }
    keys = published_keys()
    return (
        render_template(
            "identity/sso_settings.html",
            values=values,
            rows=rows,
            errors=errors,
            secret=secret_source(tenant),
            roles=[(role.value, role_term(role)) for role in Role],
            claims=[(key, *CLAIM_LABELS[key]) for key in CLAIM_KEYS],
            secret_dropped=secret_dropped,
            pending=pending,
            auth_methods=auth_method_choices(),
            acr_levels=[(level, level) for level in KNOWN_LEVELS],
            keys=keys,
            certificates={key.kid: certificate_of(key) for key in keys},
            jwks_url=url_for("sso.jwks", tenant=tenant.slug, _external=True),
        ),
        status,
    )


@bp.route("/<tenant>/settings/sso", methods=["GET", "POST"])
@role_required(Role.PROGRAMME_ADMIN)
def edit_sso_settings():
    tenant = require_tenant()
    if request.method == "GET":
        return _render(settings_of(tenant), {})
    values = _parse(request.form)
    if request.form.get("action") == "add_rows":
        # Nothing is saved; a typed secret is not sent back into the page (write-only).
        return _render(
            values,
            {},
            extra_rows=BLANK_ROWS,
            secret_dropped=bool(values.client_secret.strip()),
        )
    return form_action(
        lambda: update_sso_settings(tenant, values, current_user),
        # The submitted rows come back as they were (empty ones too), so messages keep their row.
        invalid=lambda errors: _render(values, errors, status=422, extra_rows=0),
        done=see_other("sso.edit_sso_settings"),
        message=_saved_message,
    )


def _saved_message(changed: list[str]) -> str:
    if "issuer_requested" in changed:
        return gettext(
            "The SSO settings are saved. The new issuer applies once the platform operator or "
            "another programme administrator approves it."
        )
    if changed:
        return gettext("The SSO settings are saved. They apply from the next login.")
    return gettext("Nothing changed.")


def _issuer_refused(errors: dict[str, str]):
    return _render(settings_of(require_tenant()), errors, status=422)


@bp.post("/<tenant>/settings/sso/issuer/approve")
@role_required(Role.PROGRAMME_ADMIN)
def approve_issuer():
    """Another programme administrator approves the pending issuer (not its requester)."""
    tenant = require_tenant()
    return form_action(
        lambda: approve_issuer_change(
            tenant, Approver(user=current_user), expected=request.form.get("issuer", "")
        ),
        invalid=_issuer_refused,
        done=see_other("sso.edit_sso_settings"),
        message=lambda relinked: gettext(
            "The new identity provider is in force; %(count)d accounts are linked to it.",
            count=relinked,
        ),
    )


@bp.post("/<tenant>/settings/sso/issuer/reject")
@role_required(Role.PROGRAMME_ADMIN)
def reject_issuer():
    """Turn the pending issuer down, or withdraw one's own request."""
    tenant = require_tenant()
    return form_action(
        lambda: reject_issuer_change(tenant, Approver(user=current_user)),
        invalid=_issuer_refused,
        done=see_other("sso.edit_sso_settings"),
        message=gettext("The requested identity provider is dropped; nothing changed."),
    )


# --- the key pairs for private_key_jwt ----------------------------------------------------------


@bp.post("/<tenant>/settings/sso/keys/rotate")
@role_required(Role.PROGRAMME_ADMIN)
def rotate_key():
    """A new key pair that signs from now on; the previous one stays published."""
    tenant = require_tenant()
    return form_action(
        lambda: rotate_client_key(tenant, current_user),
        invalid=_issuer_refused,
        done=see_other("sso.edit_sso_settings"),
        message=gettext(
            "A new key pair signs from now on; the previous one stays published. Retire it once "
            "the identity provider knows the new key."
        ),
    )


@bp.post("/<tenant>/settings/sso/keys/retire")
@role_required(Role.PROGRAMME_ADMIN)
def retire_keys():
    """Take the previous key pair out of the JWKS."""
    tenant = require_tenant()
    return form_action(
        lambda: retire_previous_keys(tenant, current_user),
        invalid=_issuer_refused,
        done=see_other("sso.edit_sso_settings"),
        message=gettext("The previous key pair is retired and no longer published."),
    )


@bp.get("/<tenant>/settings/sso/keys/<key_id>/certificate.pem")
@role_required(Role.PROGRAMME_ADMIN)
def key_certificate(key_id: str):
    """The certificate of a published key, to upload at Microsoft Entra ID. Public material,
    but offered on the settings page only (a JWKS-reading IdP needs none of it); a key of
    another tenant, a retired one or none: 404."""
    found = published_certificate(key_id)
    if found is None:
        abort(404)
    key, certificate = found
    response = make_response(certificate.pem)
    response.mimetype = "application/x-pem-file"
    tenant = require_tenant()
    response.headers["Content-Disposition"] = (
        f'attachment; filename="samenleren-{tenant.slug}-{key.created_at:%Y%m%d}-'
        f'{certificate.thumbprint[:8].lower()}.pem"'
    )
    response.headers["Cache-Control"] = "private, no-cache"
    return response


#: How long others may cache the JWKS: short, so a rotation or retirement is seen soon.
JWKS_MAX_AGE = 300


@bp.get("/<tenant>/sso/jwks.json")
def jwks():
    """The tenant's public keys for `private_key_jwt` (RFC 7517), for its identity provider:
    public, no login, cacheable for a few minutes. Only the active tenant's keys (the query is
    the tenant's, behind row-level security)."""
    response = jsonify(published_jwks())
    response.headers["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
    response.mimetype = "application/jwk-set+json"
    return response


# --- the IT contact's set-up link ---------------------------------------------------------------


def _no_store(body: str, status: int = 200) -> Response:
    """A page with a set-up token in its address stays out of every cache."""
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _setup_page(setup_token: str, errors: dict[str, str], status: int = 200) -> Response:
    return _no_store(
        render_template("identity/sso_setup_link.html", setup_token=setup_token, errors=errors),
        status,
    )


@bp.route("/<tenant>/auth/setup/<setup_token>", methods=["GET", "POST"])
@login_rate_limit
def enter_client_secret(setup_token: str):
    """The province's IT contact enters the client secret through the one-time link the
    platform operator made: before anyone of the province can log in, with no account. A link
    of another tenant, a used or an expired one: 404, like a link that never existed. Rate
    limited like the login, so nobody can try tokens at will."""
    tenant = require_tenant()
    if not setup_link_valid(tenant, setup_token):
        return _no_store(render_template("identity/sso_setup_link_unusable.html"), 404)
    if request.method == "GET":
        return _setup_page(setup_token, {})
    return form_action(
        lambda: redeem_setup_link(tenant, setup_token, request.form.get("client_secret", "")),
        invalid=lambda errors: _setup_page(setup_token, errors, 422),
        done=lambda _: _no_store(render_template("identity/sso_setup_done.html")),
        message=None,
    )

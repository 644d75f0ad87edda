"""What the platform operator does: log in, see usage, onboard, suspend, resume, test SSO.

The operator belongs to no tenant and sees no tenant's people: only aggregate counts. Every
action is recorded in the affected tenant's own audit log, inside that tenant's scope.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from authlib.integrations.flask_client import FlaskOAuth2App
from flask import current_app, g
from flask_babel import gettext
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.catalogue.models import Edition
from samenleren.core.errors_input import FORM, InvalidInput
from samenleren.core.extensions import db
from samenleren.core.tenancy import activate_tenant, tenant_scope
from samenleren.core.tenant import Tenant, TenantStatus, get_tenant_by_slug
from samenleren.identity.models import PlatformOperator, Role, User
from samenleren.identity.oidc import SSOConfigurationError, cached_client
from samenleren.operator.sso_check import SSOReport, check_identity_provider
from samenleren.tenants.manifest import (
    COLOR_PATTERN,
    MAX_LOGO_BYTES,
    MIN_CONTRAST_WITH_WHITE,
    RESERVED_SLUGS,
    LoadedManifest,
    Manifest,
    ManifestError,
    check_logo,
    contrast_with_white,
    logo_type_of,
    manifest_from_bytes,
)
from samenleren.tenants.services import OnboardOutcome, apply_status, onboard_tenant
from samenleren.trajectories.models import Trajectory, TrajectoryStatus

log = logging.getLogger(__name__)

#: Cache key and Authlib name of the operators' OIDC client (tenants' clients use their ids).
OPERATOR_CLIENT_KEY = "platform-operators"
OPERATOR_CLIENT_NAME = "platform_operator"  # also the prefix of its OIDC state in the session
#: An uploaded manifest larger than this is refused before it is parsed.
MAX_MANIFEST_BYTES = 64_000


def actor_label(operator: PlatformOperator) -> str:
    """How an operator appears in a tenant's audit log."""
    return f"Operator: {operator.name}"


# --- login --------------------------------------------------------------------------------------


class ConsoleNotConfigured(SSOConfigurationError):
    """SAMENLEREN_OPERATOR_OIDC_ISSUER is not set: nobody can log in to the console."""


class OperatorRefused(Exception):
    """The platform's IdP vouched for someone who is not an operator; the message is for the
    log."""


def operator_issuer() -> str:
    issuer = current_app.config["SAMENLEREN_OPERATOR_OIDC_ISSUER"]
    if not issuer:
        raise ConsoleNotConfigured("SAMENLEREN_OPERATOR_OIDC_ISSUER is not set")
    return issuer


def operator_client() -> FlaskOAuth2App:
    """The client of the platform's own identity provider: the same code, PKCE, state, nonce
    and issuer pinning as a tenant's (`samenleren.identity.oidc`), its own cache entry."""
    config = current_app.config
    return cached_client(
        OPERATOR_CLIENT_KEY,
        OPERATOR_CLIENT_NAME,
        issuer=operator_issuer(),
        client_id=config["SAMENLEREN_OPERATOR_OIDC_CLIENT_ID"],
        secret=config["SAMENLEREN_OPERATOR_OIDC_CLIENT_SECRET"],
        scopes=config["SAMENLEREN_OPERATOR_OIDC_SCOPES"],
    )


def _groups(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    return []


def admission(claims: Mapping[str, Any]) -> bool | None:
    """How the ID token's subject may operate: False by subject (SAMENLEREN_OPERATORS), True by
    group (SAMENLEREN_OPERATOR_GROUP), None when not at all."""
    config = current_app.config
    subject = str(claims.get("sub") or "")
    if subject and subject in config["SAMENLEREN_OPERATORS"]:
        return False
    group = config["SAMENLEREN_OPERATOR_GROUP"]
    if subject and group and group in _groups(claims.get("groups")):
        return True
    return None


def operator_from_claims(claims: Mapping[str, Any]) -> tuple[PlatformOperator, bool]:
    """The operator the ID token describes (created at the first login; name and e-mail follow
    the IdP), and whether they were let in by group. Raises `OperatorRefused`; does not commit."""
    by_group = admission(claims)
    subject = str(claims.get("sub") or "")
    if by_group is None:
        raise OperatorRefused(f"subject {subject!r} is not a platform operator")
    name = str(claims.get("name") or "").strip()
    email = str(claims.get("email") or "").strip() or None
    operator = db.session.scalar(
        select(PlatformOperator).where(PlatformOperator.subject == subject)
    )
    if operator is None:
        operator = PlatformOperator(subject=subject, name=name or email or subject, email=email)
        db.session.add(operator)
    else:
        operator.name = name or operator.name
        operator.email = email or operator.email
    db.session.flush()
    return operator, by_group


# --- the tenants and their usage ----------------------------------------------------------------


@dataclass(frozen=True)
class TenantUsage:
    """A tenant and how much it is used: counts only, never a person."""

    tenant: Tenant
    users: int
    active_trajectories: int
    editions: int


def _usage_counts():
    """One statement, three aggregates; scoped to the current tenant like every query."""
    return select(
        select(func.count()).select_from(User).where(User.active).scalar_subquery(),
        select(func.count())
        .select_from(Trajectory)
        .where(Trajectory.status == TrajectoryStatus.ACTIVE)
        .scalar_subquery(),
        select(func.count())
        .select_from(Edition)
        .where(Edition.cancelled.is_(False))
        .scalar_subquery(),
    )


def tenants_with_usage() -> list[TenantUsage]:
    """Every tenant with its counts of active users, active trajectories and editions (not
    cancelled).

    Counting happens inside each tenant in turn, so the scoping and row-level security apply as
    everywhere else; no query ever sees two tenants. Cost: 1 query for the tenants, then 2 per
    tenant (the transaction's `app.tenant_id` setting, then one statement with the three
    counts), and 1 to leave the last tenant: 2n + 2 (the page adds 1 for the operator's login).
    Constant in the amount of data; for the ~400 tenants we design for it is ~800 short
    statements on `(tenant_id, ...)` indexes: acceptable for an operator's page, which is not an
    employee's (and the reason this is no dashboard that refreshes itself).
    """
    tenants = list(
        db.session.scalars(
            select(Tenant).options(defer(Tenant.theme_logo)).order_by(Tenant.name, Tenant.slug)
        )
    )
    rows: list[TenantUsage] = []
    previous = g.get("tenant")
    statement = _usage_counts()
    try:
        for tenant in tenants:
            # Switching directly from one tenant to the next (rather than nesting a
            # `tenant_scope` per tenant) saves the reset to "no tenant" in between.
            activate_tenant(tenant)
            users, trajectories, editions = db.session.execute(statement).one()
            rows.append(TenantUsage(tenant, users, trajectories, editions))
    finally:
        if tenants:
            activate_tenant(previous)
    return rows


# --- onboarding ---------------------------------------------------------------------------------

#: The fields of the onboarding form, in the order of the page.
FORM_FIELDS = (
    "slug",
    "name",
    "default_locale",
    "issuer",
    "client_id",
    "client_secret_env",
    "group_roles",
    "primary_color",
)
#: Manifest key -> form field.
_FIELD_OF_KEY = {
    "slug": "slug",
    "name": "name",
    "default_locale": "default_locale",
    "sso.issuer": "issuer",
    "sso.client_id": "client_id",
    "sso.client_secret_env": "client_secret_env",
    "roles": "group_roles",
    "theme.primary_color": "primary_color",
}
_GROUP_LINE = re.compile(r"^(?P<group>[^=]+)=(?P<roles>.*)$")


def form_defaults() -> dict[str, str]:
    return {field: "" for field in FORM_FIELDS} | {
        "default_locale": "nl",
        "primary_color": "#154273",
    }


def parse_group_roles(text: str) -> dict[str, list[str]]:
    """`SL-Leercoaches = coach` per line (several roles separated by commas) -> a mapping."""
    roles_offered = [role.value for role in Role]
    mapping: dict[str, list[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _GROUP_LINE.match(line.strip())
        if match is None or not match["group"].strip():
            raise InvalidInput(
                {
                    "group_roles": gettext(
                        "Line %(line)d: write the group, an equals sign and the roles, for "
                        "example: SL-Leercoaches = coach",
                        line=number,
                    )
                }
            )
        group = match["group"].strip()
        roles = [role.strip() for role in match["roles"].split(",") if role.strip()]
        unknown = [role for role in roles if role not in roles_offered]
        if not roles or unknown:
            raise InvalidInput(
                {
                    "group_roles": gettext(
                        "Line %(line)d: give one or more of the roles %(roles)s.",
                        line=number,
                        roles=", ".join(roles_offered),
                    )
                }
            )
        if group in mapping:
            raise InvalidInput(
                {
                    "group_roles": gettext(
                        "Line %(line)d: the group %(group)s appears twice.",
                        line=number,
                        group=group,
                    )
                }
            )
        mapping[group] = roles
    return mapping


def _form_message(field: str, values: Mapping[str, str]) -> str:
    """A translated message for a field the manifest's validation refused."""
    value = (values.get(field) or "").strip()
    if field == "slug":
        if not value:
            return gettext("Give the address: the part after the slash, for example zeeland.")
        if value in RESERVED_SLUGS:
            return gettext(
                "%(slug)s is used by the platform itself; choose another address.", slug=value
            )
        return gettext(
            "Use 2 to 40 lowercase letters, digits and single hyphens, starting with a letter."
        )
    if field == "name":
        if not value:
            return gettext("Give the name of the organisation.")
        return gettext("At most %(count)d characters.", count=200)
    if field == "default_locale":
        return gettext("Choose one of the languages offered.")
    if field == "issuer":
        return gettext(
            "Give the issuer exactly as the identity provider states it: an https:// address "
            "(http:// only for localhost), at most 500 characters."
        )
    if field == "client_id":
        if not value:
            return gettext("Give the client id the identity provider gave the platform.")
        return gettext("At most %(count)d characters.", count=200)
    if field == "client_secret_env":
        return gettext(
            "Give the name of the environment variable that holds the client secret (capital "
            "letters, digits and underscores, at most 100), never the secret itself."
        )
    if field == "primary_color":
        if COLOR_PATTERN.match(value):
            return gettext(
                "White text on this colour has a contrast of %(ratio)s:1; at least %(needed)s:1 "
                "is needed (WCAG AA). Choose a darker colour.",
                ratio=f"{contrast_with_white(value):.1f}",
                needed=f"{MIN_CONTRAST_WITH_WHITE:g}",
            )
        return gettext("Give a colour as # and six hexadecimal digits, for example #154273.")
    return gettext("Check the group names: each at most 2000 characters.")


def _manifest_from_form(values: Mapping[str, str]) -> Manifest:
    """The manifest the form describes, validated by the manifest's own rules (the same as the
    command line's), with a translated message next to each field it refuses."""
    errors: dict[str, str] = {}
    try:
        groups = parse_group_roles(values.get("group_roles") or "")
    except InvalidInput as refused:
        errors.update(refused.errors)
        groups = {}
    data = {
        "slug": (values.get("slug") or "").strip(),
        "name": values.get("name") or "",
        "default_locale": values.get("default_locale") or "",
        "sso": {
            "issuer": (values.get("issuer") or "").strip(),
            "client_id": values.get("client_id") or "",
            "client_secret_env": (values.get("client_secret_env") or "").strip(),
        },
        "roles": {"groups": groups},
        "theme": {"primary_color": (values.get("primary_color") or "").strip()},
    }
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = [str(part) for part in error["loc"]]
            key = ".".join(loc[:2]) if loc[0] in {"sso", "theme"} else loc[0]
            field = _FIELD_OF_KEY.get(key)
            if field is None:  # not a field of this form: should not happen; say it plainly
                errors.setdefault(FORM, f"{key}: {error['msg']}")
            else:
                errors.setdefault(field, _form_message(field, values))
        raise InvalidInput(errors) from None
    if errors:
        raise InvalidInput(errors)
    return manifest


def _create(
    loaded: LoadedManifest, operator: PlatformOperator, how: str, error_field: str
) -> Tenant:
    slug = loaded.manifest.slug
    if get_tenant_by_slug(slug) is not None:
        raise InvalidInput(
            {
                error_field: gettext(
                    "A province with the address %(slug)s exists already; nothing was changed. "
                    "Choose another address, or change that province with its manifest on the "
                    "command line.",
                    slug=slug,
                )
            }
        )

    def audit(tenant: Tenant, outcome: OnboardOutcome) -> None:
        record(
            AuditAction.TENANT_ONBOARDED,
            actor_label=actor_label(operator),
            subject_type="tenant",
            subject_id=tenant.id,
            details={"slug": tenant.slug, "name": tenant.name, "from": how},
        )

    try:
        result = onboard_tenant(loaded, audit=audit)
    except IntegrityError:  # the same slug onboarded at the same moment by someone else
        db.session.rollback()
        raise InvalidInput(
            {
                error_field: gettext(
                    "A province with the address %(slug)s exists already.", slug=slug
                )
            }
        ) from None
    log.info("operator %s onboarded %s (%s)", operator.subject, slug, how)
    return result.tenant


def onboard_from_form(values: Mapping[str, str], operator: PlatformOperator) -> Tenant:
    """A new province from the console's form; raises `InvalidInput` before writing anything.
    Commits (onboarding is one transaction, audit event included)."""
    manifest = _manifest_from_form(values)
    return _create(LoadedManifest(manifest, None, None), operator, "form", "slug")


def _read_upload(upload: FileStorage | None, limit: int) -> tuple[str, bytes] | None:
    if upload is None or not upload.filename:
        return None
    content = upload.stream.read(limit + 1)
    return secure_filename(upload.filename) or "upload", content


def onboard_from_upload(
    manifest_file: FileStorage | None, logo_file: FileStorage | None, operator: PlatformOperator
) -> Tenant:
    """A new province from an uploaded manifest (and its logo): the command line's validation,
    its one-line message next to the upload field; nothing is written on any error."""
    upload = _read_upload(manifest_file, MAX_MANIFEST_BYTES)
    if upload is None:
        raise InvalidInput({"manifest": gettext("Choose the manifest file (.toml) to upload.")})
    source, raw = upload
    if len(raw) > MAX_MANIFEST_BYTES:
        raise InvalidInput(
            {
                "manifest": gettext(
                    "The manifest is larger than %(size)d kB; a manifest is a short text file.",
                    size=MAX_MANIFEST_BYTES // 1000,
                )
            }
        )
    try:
        manifest = manifest_from_bytes(raw, source)
    except ManifestError as exc:
        raise InvalidInput({"manifest": str(exc)}) from None
    logo, logo_type = None, None
    if manifest.theme.logo is not None:
        try:
            logo_type_of(manifest.theme.logo, source)
        except ManifestError as exc:
            raise InvalidInput({"manifest": str(exc)}) from None
    logo_upload = _read_upload(logo_file, MAX_LOGO_BYTES)
    if logo_upload is not None:
        try:
            logo, logo_type = check_logo(logo_upload[1], logo_upload[0], source)
        except ManifestError as exc:
            raise InvalidInput({"logo": str(exc)}) from None
    elif manifest.theme.logo is not None:
        raise InvalidInput(
            {
                "logo": str(
                    ManifestError(
                        source,
                        "theme.logo",
                        f"names {manifest.theme.logo}; upload that file with the manifest",
                    )
                )
            }
        )
    return _create(LoadedManifest(manifest, logo, logo_type), operator, "upload", "manifest")


# --- suspend, resume, test SSO ------------------------------------------------------------------


def change_status(tenant: Tenant, status: TenantStatus, operator: PlatformOperator) -> bool:
    """Suspend or resume; False when the tenant had that status already. Does not commit."""
    if not apply_status(tenant, status):
        return False
    action = (
        AuditAction.TENANT_SUSPENDED
        if status is TenantStatus.SUSPENDED
        else AuditAction.TENANT_RESUMED
    )
    with tenant_scope(tenant):
        record(
            action, actor_label=actor_label(operator), subject_type="tenant", subject_id=tenant.id
        )
        db.session.flush()  # inside the scope: the audit row is the tenant's (RLS)
    log.info("operator %s: %s %s", operator.subject, action, tenant.slug)
    return True


def check_sso(tenant: Tenant, operator: PlatformOperator) -> SSOReport:
    """Check the tenant's identity provider now and log that it was checked. Does not commit."""
    report = check_identity_provider(
        tenant.sso_issuer,
        tenant.sso_scopes or ["openid"],
        current_app.config["SAMENLEREN_SSO_TEST_TIMEOUT"],
    )
    with tenant_scope(tenant):
        record(
            AuditAction.SSO_TESTED,
            actor_label=actor_label(operator),
            subject_type="tenant",
            subject_id=tenant.id,
            details={"issuer": tenant.sso_issuer, "outcome": report.outcome.value},
        )
        db.session.flush()
    return report

"""Onboarding a province from the console: from its form or from an uploaded manifest (and
logo), with the command line's validation; nothing is written on any error. The onboarding is
recorded in the new tenant's own audit log."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from flask_babel import format_decimal, gettext
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.core.errors_input import FORM, InvalidInput
from samenleren.core.extensions import db
from samenleren.core.tenant import Tenant, get_tenant_by_slug
from samenleren.core.terminology import in_sentence, role_term
from samenleren.identity.models import PlatformOperator, Role
from samenleren.identity.sso_setup import (
    check_client_secret,
    parse_first_admins,
    set_first_admins,
    store_client_secret,
)
from samenleren.operator.login import actor_label
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
from samenleren.tenants.services import OnboardOutcome, onboard_tenant

log = logging.getLogger(__name__)

#: An uploaded manifest larger than this is refused before it is parsed.
MAX_MANIFEST_BYTES = 64_000

#: The fields of the onboarding form, in the order of the page.
FORM_FIELDS = (
    "slug",
    "name",
    "default_locale",
    "issuer",
    "client_id",
    "client_secret",
    "client_secret_env",
    "group_roles",
    "first_admins",
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


def role_words() -> dict[str, Role]:
    """What the operator may type for each role: its word in the current language ("leercoach")
    and its internal key ("coach"), both case-insensitive."""
    words: dict[str, Role] = {}
    for role in Role:
        words[role.value.casefold()] = role
        words[role_term(role).casefold()] = role
    return words


def role_list() -> str:
    """The roles as the form names them, in the operator's language."""
    return ", ".join(in_sentence(role_term(role)) for role in Role)


def parse_group_roles(text: str) -> dict[str, list[str]]:
    """`SL-Leercoaches = leercoach` per line (several roles separated by commas) -> a mapping of
    groups to role keys. A role is named by its word in the operator's language or its key."""
    words = role_words()
    example = gettext(
        "for example: SL-Leercoaches = %(role)s", role=in_sentence(role_term(Role.COACH))
    )
    mapping: dict[str, list[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _GROUP_LINE.match(line.strip())
        if match is None or not match["group"].strip():
            raise InvalidInput(
                {
                    "group_roles": gettext(
                        "Line %(line)d: write the group, an equals sign and the roles, %(example)s",
                        line=number,
                        example=example,
                    )
                }
            )
        group = match["group"].strip()
        named = [role.strip().casefold() for role in match["roles"].split(",") if role.strip()]
        unknown = [role for role in named if role not in words]
        if not named or unknown:
            raise InvalidInput(
                {
                    "group_roles": gettext(
                        "Line %(line)d: give one or more of the roles %(roles)s.",
                        line=number,
                        roles=role_list(),
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
        mapping[group] = list(dict.fromkeys(words[role].value for role in named))
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
                # In the operator's language: "1,3:1" in Dutch.
                ratio=format_decimal(round(contrast_with_white(value), 1), format="0.0"),
                needed=format_decimal(MIN_CONTRAST_WITH_WHITE, format="0.0"),
            )
        return gettext("Give a colour as # and six hexadecimal digits, for example #154273.")
    return gettext("Check the group names: each at most 2000 characters.")


def default_secret_env(slug: str) -> str:
    """The environment variable a secret would be read from when none is stored and the form
    names none: SAMENLEREN_<SLUG>_OIDC_SECRET."""
    return f"SAMENLEREN_{re.sub(r'[^A-Z0-9]', '_', slug.upper())}_OIDC_SECRET"[:100]


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
            "client_secret_env": (values.get("client_secret_env") or "").strip()
            or default_secret_env((values.get("slug") or "").strip()),
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
    loaded: LoadedManifest,
    operator: PlatformOperator,
    how: str,
    error_field: str,
    *,
    secret: str = "",
    first_admins: str = "",
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
        # In the same transaction: the province can log in as soon as it is onboarded.
        if secret:
            store_client_secret(tenant, secret, actor_label=actor_label(operator))
        if first_admins:
            set_first_admins(tenant, first_admins, actor_label=actor_label(operator))

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
    errors: dict[str, str] = {}
    try:
        manifest = _manifest_from_form(values)
    except InvalidInput as refused:
        errors.update(refused.errors)
    secret, admins = values.get("client_secret") or "", values.get("first_admins") or ""
    for check in (
        lambda: check_client_secret(secret, required=False),
        lambda: parse_first_admins(admins),
    ):
        try:
            check()
        except InvalidInput as refused:
            errors.update(refused.errors)
    if errors:
        raise InvalidInput(errors)
    return _create(
        LoadedManifest(manifest, None, None),
        operator,
        "form",
        "slug",
        secret=secret.strip(),
        first_admins=admins,
    )


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

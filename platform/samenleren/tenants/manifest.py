"""Tenant manifests (`tenants/<slug>.toml`): parsing and validation, with no network call.

Every key is documented in README.md ("Onboarding a province"). Validation is strict: an unknown
key is an error (a typo must not silently leave a setting at its default), and every error is
reported as one line naming the file and the key: `tenants/x.toml: sso.issuer: ...`.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)
from pydantic_core import ErrorDetails

from samenleren.core import tomlfiles
from samenleren.core.config import LANGUAGES
from samenleren.core.outbound import current_policy
from samenleren.core.text import has_control_characters
from samenleren.identity.models import Role

#: Path segments the platform itself uses at the top level; no tenant may take them.
RESERVED_SLUGS = frozenset(
    {"static", "healthz", "readyz", "scim", "operator", "auth", "api", "admin", "favicon.ico"}
)
SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$")
ENV_NAME_PATTERN = re.compile(r"^[A-Z_][A-Z0-9_]*$")
COLOR_PATTERN = re.compile(r"^#[0-9a-fA-F]{6}$")
LOGO_TYPES = {".svg": "image/svg+xml", ".png": "image/png"}
MAX_LOGO_BYTES = 200_000
#: WCAG 2.1 AA for normal text: the theme colour carries white text on buttons and the header.
MIN_CONTRAST_WITH_WHITE = 4.5


def _one_line(value: str) -> str:
    """Names, addresses and URLs end up in mail headers and calendar lines: one line each."""
    if has_control_characters(value):
        raise ValueError("must be one line, without line breaks or other control characters")
    return value


def _text_only(value: str) -> str:
    """A description may span lines; no other control character belongs in it."""
    if has_control_characters(value, multiline=True):
        raise ValueError("must not contain control characters (line breaks and tabs are fine)")
    return value


_OneLine = AfterValidator(_one_line)
#: A description: several lines allowed.
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
    AfterValidator(_text_only),
]
#: A name or title: one line.
Line = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), _OneLine
]


#: Text that fits its database column (`Tenant`): longer is refused here, not by the DB.
Text200 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), _OneLine
]
Text500 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), _OneLine
]


class ManifestError(ValueError):
    """A manifest that cannot be onboarded; `str()` is the one line shown to the operator."""

    def __init__(self, source: str, key: str, message: str) -> None:
        self.source, self.key, self.message = source, key, message
        super().__init__(f"{source}: {key}: {message}" if key else f"{source}: {message}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_ByLanguage = TypeVar("_ByLanguage", bound=Mapping[str, object])


def _check_translations(value: _ByLanguage) -> _ByLanguage:
    unknown = sorted(set(value) - set(LANGUAGES))
    if unknown:
        raise ValueError(f"unknown language {unknown[0]!r} (use one of {', '.join(LANGUAGES)})")
    return value


Translations = Annotated[dict[str, Text], Field(min_length=1)]
#: Names and titles per language: one line each.
LineTranslations = Annotated[dict[str, Line], Field(min_length=1)]


class Programme(_Strict):
    description: Translations = Field(default_factory=dict)
    #: Learners pick their coach from the suggestions themselves (default: the admin assigns).
    learners_choose_coach: bool = False
    #: Every learning goal must be linked to at least one organisation goal.
    goals_require_organisation_goal: bool = True

    _langs = field_validator("description")(_check_translations)


class SSOClaims(_Strict):
    name: str = "name"
    email: str = "email"
    groups: str = "groups"


class SSO(_Strict):
    issuer: Text500
    client_id: Text200
    client_secret_env: Annotated[str, StringConstraints(max_length=100)]
    scopes: list[str] = Field(default_factory=lambda: ["openid", "profile", "email"])
    claims: SSOClaims = Field(default_factory=SSOClaims)

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        parts = urlsplit(value)
        local = parts.hostname in {"localhost", "127.0.0.1"}
        # The development IdP runs on http://localhost; a production platform never fetches it
        # (nor any loopback address: samenleren.core.outbound).
        if parts.scheme != "https" and not (
            parts.scheme == "http" and local and current_policy().relaxed
        ):
            raise ValueError(
                "must be an https:// URL (http:// only for localhost, outside production)"
            )
        if not parts.hostname or parts.query or parts.fragment:
            raise ValueError("must be the issuer URL exactly as the identity provider states it")
        return value

    @field_validator("client_secret_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not ENV_NAME_PATTERN.match(value):
            raise ValueError(
                "must be the name of an environment variable (A-Z, 0-9, _), not the secret itself"
            )
        return value

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str]) -> list[str]:
        if "openid" not in value:
            raise ValueError('must include "openid"')
        return value


class Roles(_Strict):
    default: list[Role] = Field(default_factory=lambda: [Role.LEARNER])
    #: IdP group -> roles for its members.
    groups: dict[Line, list[Role]] = Field(default_factory=dict)


class Theme(_Strict):
    primary_color: str = "#154273"
    logo: str | None = None

    @field_validator("primary_color")
    @classmethod
    def _color(cls, value: str) -> str:
        if not COLOR_PATTERN.match(value):
            raise ValueError('must be a colour like "#154273"')
        ratio = contrast_with_white(value)
        if ratio < MIN_CONTRAST_WITH_WHITE:
            raise ValueError(
                f"contrast with white text is {ratio:.1f}:1; WCAG AA needs at least "
                f"{MIN_CONTRAST_WITH_WHITE}:1, choose a darker colour"
            )
        return value.lower()


class OrganisationGoalSpec(_Strict):
    code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,40}$")]
    title: LineTranslations
    description: Translations = Field(default_factory=dict)

    _langs = field_validator("title", "description")(_check_translations)


#: A word of the tenant's terminology (tenants.terminology): no markup, fits a heading.
TermWord = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[\w][\w .'’/-]*$"
    ),
]


class TermWords(_Strict):
    """`coach = { one = "Maatje", other = "Maatjes" }`; a form left out keeps the usual word."""

    one: TermWord | None = None
    other: TermWord | None = None


def _check_terminology(value: dict[str, dict[str, TermWords]] | None) -> object:
    from samenleren.core.terminology import TERMS

    if value is None:
        return value
    _check_translations(value)
    for words in value.values():
        unknown = sorted(set(words) - set(TERMS))
        if unknown:
            raise ValueError(f"unknown word {unknown[0]!r} (use one of {', '.join(TERMS)})")
    return value


class Budget(_Strict):
    """`[budget] yearly = 5000`: the programme's budget per calendar year, in euros."""

    #: Whole euros as a number (`5000`) or euros and cents as a string (`"5000.50"`, `"5.000,50"`);
    #: stored in cents. A TOML float (`5000.5`) is refused: amounts are never floats.
    yearly: int | str

    @field_validator("yearly", mode="before")
    @classmethod
    def _no_float(cls, value: object) -> object:
        if isinstance(value, float | bool):
            raise ValueError('write whole euros as a number (5000) or a string ("5000.50")')
        return value

    @property
    def yearly_cents(self) -> int:
        from samenleren.core.money import parse_cents

        return parse_cents(self.yearly)

    @field_validator("yearly")
    @classmethod
    def _amount(cls, value: int | str) -> int | str:
        from samenleren.core.money import AmountError, parse_cents

        try:
            parse_cents(value)
        except AmountError:
            raise ValueError(
                "must be an amount of euros of at least 0, with at most two decimals, e.g. 5000"
            ) from None
        return value


class Manifest(_Strict):
    slug: str
    name: Text200
    default_locale: str
    programme: Programme = Field(default_factory=Programme)
    sso: SSO
    roles: Roles = Field(default_factory=Roles)
    theme: Theme = Field(default_factory=Theme)
    #: The sender of the tenant's mails, e.g. "Samen Leren Flevoland <leren@flevoland.nl>";
    #: absent: the platform's SAMENLEREN_MAIL_FROM under the tenant's name.
    mail_from: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=320), _OneLine] | None
    ) = None
    organisation_goals: list[OrganisationGoalSpec] = Field(default_factory=list)
    #: The programme's yearly budget (the budget ledger); absent: no budget kept.
    budget: Budget | None = None
    #: The tenant's own words for the main nouns, per language (tenants.terminology); when the
    #: table is present it replaces the words set on the terminology settings page.
    terminology: dict[str, dict[str, TermWords]] | None = None
    #: Which selection list's retention periods the tenant starts from (the programme admin
    #: may lengthen them later): "province" (default) or "municipality".
    retention_profile: Literal["province", "municipality"] = "province"

    _terms = field_validator("terminology")(_check_terminology)

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG_PATTERN.match(value) or "--" in value:
            raise ValueError(
                "must be 2-40 characters: lowercase letters, digits and single hyphens, "
                "starting with a letter"
            )
        if value in RESERVED_SLUGS:
            raise ValueError(f"{value!r} is reserved by the platform")
        return value

    @field_validator("mail_from")
    @classmethod
    def _mail_from(cls, value: str | None) -> str | None:
        from email.utils import parseaddr

        if value is None:
            return None
        _name, address = parseaddr(value)
        if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", address or ""):
            raise ValueError('must be an e-mail address, e.g. "Samen Leren <leren@example.nl>"')
        return value

    @field_validator("default_locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"unknown locale {value!r} (use one of {', '.join(LANGUAGES)})")
        return value

    @field_validator("organisation_goals")
    @classmethod
    def _goal_codes_unique(cls, value: list[OrganisationGoalSpec]) -> list[OrganisationGoalSpec]:
        codes = [goal.code for goal in value]
        duplicates = sorted({code for code in codes if codes.count(code) > 1})
        if duplicates:
            raise ValueError(f"organisation goal code {duplicates[0]!r} appears twice")
        return value


class LoadedManifest:
    """A validated manifest with its logo read from disk and a digest of everything in it."""

    def __init__(self, manifest: Manifest, logo: bytes | None, logo_type: str | None) -> None:
        self.manifest = manifest
        self.logo = logo
        self.logo_type = logo_type
        canonical = json.dumps(manifest.model_dump(mode="json"), sort_keys=True)
        digest = hashlib.sha256(canonical.encode())
        digest.update(logo or b"")
        self.digest = digest.hexdigest()


def load_manifest(path: str | Path) -> LoadedManifest:
    """Read and validate a manifest file; raises `ManifestError` with one line on any problem."""
    path = Path(path)
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ManifestError(source, "", f"cannot be read ({exc.strerror})") from None
    manifest = manifest_from_bytes(raw, source)
    logo, logo_type = _read_logo(manifest, path, source)
    return LoadedManifest(manifest, logo, logo_type)


def manifest_from_bytes(raw: bytes, source: str) -> Manifest:
    """Validate a manifest's text (a file's or an upload's); `source` names it in errors."""
    try:
        data = tomlfiles.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ManifestError(source, "", "is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(source, "", f"is not valid TOML ({exc})") from None
    return parse_manifest(data, source)


def parse_manifest(data: dict[str, Any], source: str) -> Manifest:
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        # A misspelt key ("isuer") also makes its intended key missing; the unknown key is the
        # cause, so it is the one line reported.
        errors = exc.errors()
        error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        raise ManifestError(source, _key(error["loc"]), _message(error)) from None


def _key(loc: tuple[Any, ...]) -> str:
    key = ""
    for part in loc:
        text = str(part)
        if has_control_characters(text):
            # A refused key (a group name with a line break) is named, not reproduced.
            text = text.encode("unicode_escape").decode("ascii")
        key += f"[{part}]" if isinstance(part, int) else ("." if key else "") + text
    return key


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "missing":
        return "is required but missing"
    if kind == "extra_forbidden":
        return "is not a known key (see README, 'Onboarding a province')"
    if kind == "enum":
        return (
            f"{error.get('input')!r} is not a role (use one of {', '.join(r.value for r in Role)})"
        )
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _read_logo(manifest: Manifest, path: Path, source: str) -> tuple[bytes | None, str | None]:
    if manifest.theme.logo is None:
        return None, None
    logo_path = (path.parent / manifest.theme.logo).resolve()
    logo_type_of(logo_path.name, source)
    try:
        content = logo_path.read_bytes()
    except OSError:
        raise ManifestError(source, "theme.logo", f"file {manifest.theme.logo} not found") from None
    return check_logo(content, logo_path.name, source)


def logo_type_of(filename: str, source: str) -> str:
    """The media type of a logo file, by its name; only SVG and PNG are accepted."""
    logo_type = LOGO_TYPES.get(Path(filename).suffix.lower())
    if logo_type is None:
        raise ManifestError(source, "theme.logo", "must be an .svg or .png file")
    return logo_type


def check_logo(content: bytes, filename: str, source: str) -> tuple[bytes, str]:
    """A logo's content and media type, once its type and size are acceptable."""
    logo_type = logo_type_of(filename, source)
    if len(content) > MAX_LOGO_BYTES:
        raise ManifestError(source, "theme.logo", f"is larger than {MAX_LOGO_BYTES // 1000} kB")
    return content, logo_type


def contrast_with_white(color: str) -> float:
    """WCAG 2.1 contrast ratio of `color` (#rrggbb) against white."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(color[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return 1.05 / (luminance + 0.05)

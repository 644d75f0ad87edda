"""The tenancy root: the tenant registry (not tenant-owned itself) and lookup by slug.

Every request resolves `/<slug>/` (core.web) through the per-process cache below, else through
`get_tenant_by_slug`; the walls in `core.tenancy` and `core.rls` are built on the tenant found
here. Onboarding (manifests, organisation goals) lives in the `tenants` domain, which writes
these rows.

The cache keeps each resolved tenant's column values with the row's version, PostgreSQL's
`xmin` (the transaction that wrote the row last: any change - by this process, another one, a
migration or by hand - gives a new one). A request that finds its slug in the cache checks the
version in the statement that sets its RLS tenant anyway (core.tenancy), so the check costs no
extra round trip; a changed or deleted row is read again. SQLite (the embedded default) has no
`xmin`: there the tenant is read on every request.
"""

from __future__ import annotations

import copy
import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, Integer, LargeBinary, String, Text, Uuid, literal_column, select
from sqlalchemy.orm import Mapped, make_transient_to_detached, mapped_column
from sqlalchemy.orm.attributes import set_committed_value

from samenleren.core.db import JSONType, UTCDateTime, utcnow
from samenleren.core.extensions import db


class TenantStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Tenant(db.Model):
    """One onboarded organisation. Read by every request to resolve `/<slug>/`."""

    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    default_locale: Mapped[str] = mapped_column(String(5))
    status: Mapped[TenantStatus] = mapped_column(
        Enum(
            TenantStatus,
            native_enum=False,
            length=20,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=TenantStatus.ACTIVE,
    )
    #: {"nl": "...", "en": "..."}: what the programme is, shown on the landing page.
    programme_description: Mapped[dict] = mapped_column(JSONType, default=dict)
    #: The OpenID Connect issuer, compared exactly with the discovery document and ID tokens.
    sso_issuer: Mapped[str] = mapped_column(String(500))
    #: A new issuer a programme administrator asked for on the SSO settings page; it applies
    #: only once the platform operator or another programme administrator approves it
    #: (samenleren.identity.issuers). None: no change waiting.
    sso_issuer_pending: Mapped[str | None] = mapped_column(String(500), nullable=True)
    #: Who asked for the pending issuer (a user of this tenant; not a foreign key: the record
    #: outlives the account) and when.
    sso_issuer_requested_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    sso_issuer_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sso_client_id: Mapped[str] = mapped_column(String(200))
    #: The *name* of the environment variable holding the client secret; never the secret.
    #: Used only while no secret is stored below (identity.oidc.client_secret).
    sso_client_secret_env: Mapped[str] = mapped_column(String(100))
    #: The client secret set on the SSO settings page, Fernet-encrypted with a key from the
    #: environment (identity.encryption); takes precedence over `sso_client_secret_env`.
    sso_client_secret_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    sso_client_secret_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: How the platform authenticates at the IdP's token endpoint: `client_secret_basic`,
    #: `client_secret_post` (the secret above) or `private_key_jwt` (a signed assertion with the
    #: tenant's own key pair, identity.client_keys; no shared secret).
    sso_client_auth_method: Mapped[str] = mapped_column(
        String(30), default="client_secret_basic", server_default="client_secret_basic"
    )
    #: The minimum assurance level (`acr`) an ID token must carry, e.g. eIDAS
    #: `http://eidas.europa.eu/LoA/substantial` (identity.assurance); None: not asked.
    sso_acr_minimum: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: The one-time link the province's IT contact enters the client secret with
    #: (identity.sso_setup): the SHA-256 of its token and when it stops working; None: no link.
    sso_setup_token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sso_setup_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: The first programme administrators, named by the platform operator before anyone could
    #: log in: e-mail addresses or IdP subjects. Each becomes programme administrator at their
    #: first login and is then taken off this list (identity.sso_setup).
    first_admins: Mapped[list] = mapped_column(JSONType, default=list)
    sso_scopes: Mapped[list] = mapped_column(JSONType, default=list)
    #: Claim names: {"name": "name", "email": "email", "groups": "groups"}.
    sso_claims: Mapped[dict] = mapped_column(JSONType, default=dict)
    #: Claims taken at login besides those three; None (or empty) means "not taken from the IdP".
    #: The department's name (a department of that name is created when new).
    sso_claim_department: Mapped[str | None] = mapped_column(String(200), nullable=True)
    sso_claim_employee_number: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: A claim holding the manager's `sub` at the same IdP.
    sso_claim_manager: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: IdP group name -> list of role names given to members at login.
    group_roles: Mapped[dict] = mapped_column(JSONType, default=dict)
    #: Roles every employee of the tenant gets at login (usually ["learner"]).
    default_roles: Mapped[list] = mapped_column(JSONType, default=list)
    #: Learners may pick their coach from the matching suggestions (else the admin assigns).
    learners_choose_coach: Mapped[bool] = mapped_column(default=False)
    #: Every learning goal must name at least one organisation goal (seed goal 1).
    goals_require_organisation_goal: Mapped[bool] = mapped_column(default=True)
    #: The tenant's own words for the main nouns (tenants.terminology), per language:
    #: {"nl": {"coach": {"one": "Maatje", "other": "Maatjes"}}}; missing means the default word.
    terminology: Mapped[dict] = mapped_column(JSONType, default=dict)
    #: The programme's budget per calendar year in euro cents (manifest `[budget] yearly`);
    #: a year's own amount set on the budget page takes precedence. None: no budget kept.
    budget_yearly_cents: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: The accessibility statement (national model), as the programme admin filled it in:
    #: {"status", "scope", "known_issues", "contact", "assessed_on"}; empty: the platform default.
    accessibility_statement: Mapped[dict] = mapped_column(JSONType, default=dict)
    #: The tenant's part of the privacy statement: {"dpo_contact", "text"}; empty: not written.
    privacy_statement: Mapped[dict] = mapped_column(JSONType, default=dict)
    #: The retention defaults the tenant starts from: "province" or "municipality" (the
    #: selection list that applies; `samenleren.retention.policy.PROFILES`), from the manifest.
    retention_profile: Mapped[str] = mapped_column(
        String(20), default="province", server_default="province"
    )
    theme_primary_color: Mapped[str] = mapped_column(String(7))
    #: The sender of the tenant's mails (manifest `mail_from`); None: SAMENLEREN_MAIL_FROM.
    mail_from: Mapped[str | None] = mapped_column(String(320), nullable=True)
    theme_logo: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    theme_logo_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    #: SHA-256 of the normalised manifest last applied: a second onboarding changes nothing.
    manifest_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def is_active(self) -> bool:
        return self.status is TenantStatus.ACTIVE

    def description_in(self, locale: str) -> str:
        texts = self.programme_description or {}
        return texts.get(locale) or texts.get(self.default_locale) or ""

    def __repr__(self) -> str:
        return f"<Tenant {self.slug}>"


def get_tenant_by_slug(slug: str) -> Tenant | None:
    return db.session.scalar(select(Tenant).where(Tenant.slug == slug))


# --- the per-process cache of request resolution ------------------------------------------------

#: slug -> (row version, column values) of tenants resolved by this process.
_cache: dict[str, tuple[str, dict[str, Any]]] = {}


def load_tenant_with_version(slug: str) -> tuple[Tenant | None, str | None]:
    """The tenant with `slug` and its row version (`xmin`; None on SQLite), in one query."""
    if db.session.get_bind().dialect.name != "postgresql":
        return get_tenant_by_slug(slug), None
    row = db.session.execute(
        select(Tenant, literal_column("tenants.xmin::text", String)).where(Tenant.slug == slug)
    ).first()
    if row is None:
        return None, None
    return row[0], row[1]


def remember_tenant(tenant: Tenant, version: str | None) -> None:
    """Keep `tenant`'s column values under its slug (nothing without a version)."""
    if version is None:
        _cache.pop(tenant.slug, None)
        return
    values = {attr.key: getattr(tenant, attr.key) for attr in Tenant.__mapper__.column_attrs}
    _cache[tenant.slug] = (version, copy.deepcopy(values))


def cached_tenant(slug: str) -> tuple[Tenant, str] | None:
    """The remembered tenant as a clean, persistent object of this request's session (no SQL),
    with the version it was remembered at; None when it is not remembered."""
    entry = _cache.get(slug)
    if entry is None:
        return None
    version, values = entry
    key = db.session.identity_key(Tenant, values["id"])
    present = db.session.identity_map.get(key)
    if present is not None:
        return present, version
    tenant = Tenant.__mapper__.class_manager.new_instance()
    for name, value in values.items():
        # A copy of each mutable value: a change made in a request never reaches the cache.
        set_committed_value(tenant, name, copy.deepcopy(value))
    make_transient_to_detached(tenant)
    db.session.add(tenant)
    return tenant, version


def forget_tenant(slug: str | None = None) -> None:
    """Drop one remembered tenant (or, without a slug, all of them)."""
    if slug is None:
        _cache.clear()
    else:
        _cache.pop(slug, None)

"""The tenancy root: the tenant registry (not tenant-owned itself) and lookup by slug.

Every request resolves `/<slug>/` through `get_tenant_by_slug`; the walls in `core.tenancy`
and `core.rls` are built on the tenant found here. Onboarding (manifests, organisation goals)
lives in the `tenants` domain, which writes these rows.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, LargeBinary, String, Text, Uuid, select
from sqlalchemy.orm import Mapped, mapped_column

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
    #: The accessibility statement (national model), as the programme admin filled it in:
    #: {"status", "scope", "known_issues", "contact", "assessed_on"}; empty: the platform default.
    accessibility_statement: Mapped[dict] = mapped_column(JSONType, default=dict)
    #: The tenant's part of the privacy statement: {"dpo_contact", "text"}; empty: not written.
    privacy_statement: Mapped[dict] = mapped_column(JSONType, default=dict)
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

"""Users, departments, roles and login sessions of a tenant; the platform operator."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Enum, Index, String, Text, UniqueConstraint, Uuid, and_, event
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship, remote

from samenleren.core.db import JSONType, UTCDateTime, utcnow
from samenleren.core.extensions import db
from samenleren.core.tenancy import TenantScoped, current_tenant, tenant_foreign_key


class Role(enum.StrEnum):
    """The roles a person has in the programme. A user may hold several."""

    LEARNER = "learner"
    COACH = "coach"
    MANAGER = "manager"
    TRAINER = "trainer"
    PROGRAMME_ADMIN = "programme_admin"


class RoleSource(enum.StrEnum):
    #: Brought in line with the IdP's groups at every login.
    IDP = "idp"
    #: Given inside the application (e.g. an admin makes someone a coach); a login keeps it.
    APP = "app"


def _enum(cls: type[enum.Enum], length: int = 20) -> Enum:
    return Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class Department(TenantScoped, db.Model):
    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))


class User(TenantScoped, db.Model):
    """An employee (or external trainer) of one tenant, keyed by the identity provider that
    vouches for them (`issuer`) and its subject, never by e-mail.

    The subject is unique within the tenant (SCIM's `userName` names one person), and a login
    matches a user only when its issuer is the one the user is bound to
    (`samenleren.identity.services.user_from_claims`): pointing the tenant at another identity
    provider does not give that provider its people. Moving users to a new issuer is the
    explicit, audited re-linking of an approved issuer change (`samenleren.identity.issuers`).
    """

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("tenant_id", "subject"),
        tenant_foreign_key("department_id", "departments"),
        tenant_foreign_key("manager_id", "users"),
        Index("ix_users_tenant_id_manager_id", "tenant_id", "manager_id"),
        Index("ix_users_tenant_id_department_id", "tenant_id", "department_id"),
    )

    #: The `sub` claim of the tenant's identity provider.
    subject: Mapped[str] = mapped_column(String(255))
    #: The issuer of the identity provider the user is bound to (the tenant's issuer when the
    #: user was created by a login or by SCIM); None for external trainers, who have no IdP.
    issuer: Mapped[str | None] = mapped_column(String(500), nullable=True)
    #: Microsoft Entra ID: the directory (`tid`) and object id (`oid`) of the person, bound at
    #: the first login that carries them; a later login with other values does not match.
    idp_tenant_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    idp_object_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    #: The HR system's number for the person (SCIM, or a claim of the IdP); shown to admins.
    employee_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    department_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    #: The line manager (another user of the same tenant); a learner's manager joins the intake.
    manager_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    #: The user's own language choice; None follows the tenant's default.
    locale: Mapped[str | None] = mapped_column(String(5), nullable=True)
    #: "immediate" or "digest" (samenleren.notifications.models.NotificationMode): reminders
    #: one by one or bundled once a day. Invitations and cancellations are always immediate.
    notification_mode: Mapped[str] = mapped_column(
        String(10), default="immediate", server_default="immediate"
    )
    #: False once deprovisioned: no login, data kept for the programme.
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Any change of the row (SCIM `meta.lastModified`).
    updated_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=True
    )
    #: The provisioning system's own id for the person (SCIM `externalId`).
    external_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    #: What SCIM sent that has no column of its own (name parts, all e-mail entries), kept to
    #: answer the IdP with what it sent; see samenleren.scim.storage.
    scim_attributes: Mapped[dict] = mapped_column(JSONType, default=dict)
    #: When a SCIM DELETE removed the user: deactivated and no longer seen through SCIM, while
    #: the user's trajectories stay for the programme.
    scim_removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    department: Mapped[Department | None] = relationship(
        primaryjoin=lambda: and_(
            User.tenant_id == Department.tenant_id, foreign(User.department_id) == Department.id
        ),
    )
    manager: Mapped[User | None] = relationship(
        primaryjoin=lambda: and_(
            User.tenant_id == remote(User.tenant_id), foreign(User.manager_id) == remote(User.id)
        ),
    )
    role_assignments: Mapped[list[RoleAssignment]] = relationship(
        primaryjoin=lambda: and_(
            User.tenant_id == RoleAssignment.tenant_id, User.id == foreign(RoleAssignment.user_id)
        ),
        back_populates="user",
        cascade="all, delete-orphan",
        lazy="selectin",
    )

    @property
    def roles(self) -> set[Role]:
        return {assignment.role for assignment in self.role_assignments}

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    # Flask-Login: the id kept in the cookie is that of the *login session*, set by the login
    # service (see samenleren.identity.sessions), so that logout can end it server-side.
    # Not a column, so not annotated at runtime (the declarative scan would try to map it).
    if TYPE_CHECKING:
        login_session_id: uuid.UUID | None
    login_session_id = None  #: set by the user loader
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return str(self.login_session_id)

    def __repr__(self) -> str:
        return f"<User {self.subject}>"


@event.listens_for(User, "init")
def _bind_to_the_current_issuer(target: User, args: tuple, kwargs: dict) -> None:
    """A user made without an issuer is bound to the issuer of the tenant in scope: whoever
    creates people (a login, SCIM, the demo) creates them for the tenant's identity provider."""
    if "issuer" not in kwargs:
        tenant = current_tenant()
        kwargs["issuer"] = tenant.sso_issuer if tenant is not None else None


class RoleAssignment(TenantScoped, db.Model):
    __tablename__ = "role_assignments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id", "role", "source"),
        tenant_foreign_key("user_id", "users", ondelete="CASCADE"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    role: Mapped[Role] = mapped_column(_enum(Role))
    source: Mapped[RoleSource] = mapped_column(_enum(RoleSource, 10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(
        primaryjoin=lambda: and_(
            RoleAssignment.tenant_id == User.tenant_id, foreign(RoleAssignment.user_id) == User.id
        ),
        back_populates="role_assignments",
    )


class LoginSession(TenantScoped, db.Model):
    """Server-side state of one login: the cookie only names it; logout ends it for good."""

    __tablename__ = "login_sessions"
    __table_args__ = (
        tenant_foreign_key("user_id", "users", ondelete="CASCADE"),
        Index("ix_login_sessions_tenant_id_user_id", "tenant_id", "user_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: The ID token of the login, sent back to the IdP's `end_session_endpoint` at logout
    #: (`id_token_hint`) so that the IdP knows whose session to end; dropped when it ends.
    #: Encrypted like the client secret (`identity.encryption`): the token names the person
    #: and is a bearer credential at some IdPs, so a copy of the database must not reveal it.
    id_token_hint_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)

    user: Mapped[User] = relationship(
        primaryjoin=lambda: and_(
            LoginSession.tenant_id == User.tenant_id, foreign(LoginSession.user_id) == User.id
        ),
    )


class ClientKey(TenantScoped, db.Model):
    """One of the tenant's key pairs for `private_key_jwt` client authentication (RFC 7523).

    The platform generates it; the private key is kept encrypted like the client secret
    (`identity.encryption`), the public key is published at the tenant's JWKS address. The
    newest key that is not retired signs; a rotation leaves the previous key published beside
    it until it is retired, so an IdP that cached the JWKS keeps accepting assertions.
    """

    __tablename__ = "client_keys"
    __table_args__ = (UniqueConstraint("tenant_id", "kid"),)

    #: The key id in the JWKS and in the assertion's header (RFC 7638 thumbprint).
    kid: Mapped[str] = mapped_column(String(100))
    #: The private key as a PEM, encrypted (Fernet); None once retired.
    private_key_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: The public key as a JWK (what the JWKS address publishes).
    public_jwk: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Set when the key is taken out of the JWKS; it signs nothing from then on.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: A self-signed X.509 certificate of the public key (PEM), for identity providers that take
    #: an uploaded certificate instead of a JWKS address (Microsoft Entra ID); public. None for
    #: a key made before certificates were.
    certificate_pem: Mapped[str | None] = mapped_column(Text, nullable=True)


class SignInLink(TenantScoped, db.Model):
    """A single-use link that signs an external trainer in (no account at the tenant's IdP).

    Only the SHA-256 of the token is stored: the link itself is shown once (or mailed) and a copy
    of this table gives no way in. A link is spent at the first sign-in, replaced by the next
    link sent to the same person, and worthless after `expires_at`.
    """

    __tablename__ = "sign_in_links"
    __table_args__ = (
        UniqueConstraint("tenant_id", "token_hash"),
        tenant_foreign_key("user_id", "users", ondelete="CASCADE"),
        Index("ix_sign_in_links_tenant_id_user_id", "tenant_id", "user_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    #: Hex SHA-256 of the token in the link; never the token.
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Set when a newer link for the same person replaced this one, or access was withdrawn.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Who made the link (not a foreign key: the record outlives the admin's account).
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)

    user: Mapped[User] = relationship(
        primaryjoin=lambda: and_(
            SignInLink.tenant_id == User.tenant_id, foreign(SignInLink.user_id) == User.id
        ),
    )


class PlatformOperator(db.Model):
    """Runs the platform and onboards tenants; has no tenant and sees no tenant's people."""

    __tablename__ = "platform_operators"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    #: Subject at the platform's own identity provider.
    subject: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

"""SCIM bearer tokens of a tenant, and the groups its identity provider provisions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, String, UniqueConstraint, Uuid, and_
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from samenleren.core.db import UTCDateTime, utcnow
from samenleren.core.extensions import db
from samenleren.core.tenancy import TenantScoped, tenant_foreign_key
from samenleren.identity.models import User


class ScimToken(TenantScoped, db.Model):
    """A bearer token that lets the tenant's provisioning system (its IdP) use SCIM.

    Only the SHA-256 of the token is stored. A plain, unsalted hash is enough here because the
    token is 256 random bits: nobody can guess it or find it from the hash by trying, so a slow
    password hash would only cost time on every SCIM request without adding safety.
    """

    __tablename__ = "scim_tokens"
    __table_args__ = (UniqueConstraint("tenant_id", "token_hash"),)

    name: Mapped[str] = mapped_column(String(100))
    #: Hex SHA-256 of the token; never the token.
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Who made it: a user id (not a foreign key: the record outlives accounts), and a label
    #: that stays readable ("command line" for the CLI).
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_by_label: Mapped[str] = mapped_column(String(200), default="")
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class ScimGroup(TenantScoped, db.Model):
    """A group of the tenant's IdP, provisioned through SCIM.

    Its members get the roles `Tenant.group_roles` gives the group's display name or external
    id, exactly as the `groups` claim of an ID token does (source IDP).
    """

    __tablename__ = "scim_groups"
    __table_args__ = (Index("ix_scim_groups_tenant_id_display_name", "tenant_id", "display_name"),)

    display_name: Mapped[str] = mapped_column(String(255))
    external_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    memberships: Mapped[list[ScimGroupMember]] = relationship(
        primaryjoin=lambda: and_(
            ScimGroup.tenant_id == ScimGroupMember.tenant_id,
            ScimGroup.id == foreign(ScimGroupMember.group_id),
        ),
        back_populates="group",
        cascade="all, delete-orphan",
    )


class ScimGroupMember(TenantScoped, db.Model):
    __tablename__ = "scim_group_members"
    __table_args__ = (
        UniqueConstraint("tenant_id", "group_id", "user_id"),
        tenant_foreign_key("group_id", "scim_groups", ondelete="CASCADE"),
        tenant_foreign_key("user_id", "users", ondelete="CASCADE"),
        Index("ix_scim_group_members_tenant_id_user_id", "tenant_id", "user_id"),
    )

    group_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)

    group: Mapped[ScimGroup] = relationship(
        primaryjoin=lambda: and_(
            ScimGroupMember.tenant_id == ScimGroup.tenant_id,
            foreign(ScimGroupMember.group_id) == ScimGroup.id,
        ),
        back_populates="memberships",
    )
    user: Mapped[User] = relationship(
        primaryjoin=lambda: and_(
            ScimGroupMember.tenant_id == User.tenant_id, foreign(ScimGroupMember.user_id) == User.id
        ),
    )

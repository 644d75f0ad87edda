"""Process templates and their versions."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, Uuid, and_
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from samenleren.core.db import JSONType, UTCDateTime, utcnow
from samenleren.core.extensions import db
from samenleren.core.tenancy import TenantScoped, tenant_foreign_key
from samenleren.identity.models import _enum
from samenleren.process_templates.definition import TemplateDefinition, in_language


class VersionStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class ProcessTemplate(TenantScoped, db.Model):
    """A named process model of the tenant (e.g. "Flevoland model"); its content is versioned."""

    __tablename__ = "process_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    #: Stable short name ("flevoland"), unique in the tenant.
    key: Mapped[str] = mapped_column(String(40))
    #: {"nl": "...", "en": "..."}
    name: Mapped[dict] = mapped_column(JSONType)
    #: New trajectories start on the latest published version of the default template.
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The model-library entry this template was adopted from (`library.services.adopt`); the
    #: entry may be withdrawn later, the template keeps its own copy.
    adopted_from_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("library_entries.id", ondelete="SET NULL"), nullable=True
    )
    #: e.g. "Flevolands model — Provincie Flevoland, versie 3" (kept when the entry goes away).
    adopted_from_label: Mapped[str] = mapped_column(String(300), default="")

    def name_in(self, locale: str, fallback: str = "nl") -> str:
        return self.name.get(locale) or self.name.get(fallback) or self.key


class TemplateVersion(TenantScoped, db.Model):
    """One version of a template. Once published it never changes; trajectories point at it."""

    __tablename__ = "template_versions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "template_id", "number"),
        tenant_foreign_key("template_id", "process_templates", ondelete="CASCADE"),
        tenant_foreign_key("published_by_id", "users"),
    )

    template_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[VersionStatus] = mapped_column(_enum(VersionStatus, 10))
    #: The steps, as a `TemplateDefinition` document.
    definition: Mapped[dict] = mapped_column(JSONType)
    #: Where this version came from, e.g. "Flevoland model (built in)".
    origin: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    published_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)

    template: Mapped[ProcessTemplate] = relationship(
        primaryjoin=lambda: and_(
            TemplateVersion.tenant_id == ProcessTemplate.tenant_id,
            foreign(TemplateVersion.template_id) == ProcessTemplate.id,
        ),
    )

    @property
    def content(self) -> TemplateDefinition:
        """The parsed definition (parsed once per loaded row)."""
        parsed = self.__dict__.get("_parsed")
        if parsed is None:
            parsed = TemplateDefinition.model_validate(self.definition)
            self.__dict__["_parsed"] = parsed
        return parsed


class LibraryEntry(db.Model):
    """A process model shared in the library that every tenant's administrators can browse.

    Not tenant-owned (no `tenant_id`, no row-level security): the library is shared by design.
    Only the template leaves the publishing tenant: its definition, names and the publishing
    *organisation* (name and tenant id), never a person. The built-in Flevoland model is an entry
    with `built_in` set and no publishing tenant.
    """

    __tablename__ = "library_entries"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    #: Stable name: "flevoland" for the built-in model, else "<slug>.<template key>.<number>".
    key: Mapped[str] = mapped_column(String(120), unique=True)
    #: {"nl": "...", "en": "..."}
    name: Mapped[dict] = mapped_column(JSONType)
    description: Mapped[dict] = mapped_column(JSONType, default=dict)
    #: A copy of the published version's `TemplateDefinition` document.
    definition: Mapped[dict] = mapped_column(JSONType)
    schema_version: Mapped[int] = mapped_column(Integer)
    #: The publishing organisation's display name at the time of publishing.
    publisher_name: Mapped[str] = mapped_column(String(200))
    #: The publishing tenant (None: built in). Deliberately not called `tenant_id`: this table
    #: belongs to no tenant (tests/core/test_rls.py treats every `tenant_id` table as tenant data).
    publisher_tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenants.id", ondelete="SET NULL"), nullable=True, index=True
    )
    source_template_key: Mapped[str] = mapped_column(String(40))
    source_version_number: Mapped[int] = mapped_column(Integer)
    built_in: Mapped[bool] = mapped_column(default=False)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    def name_in(self, locale: str) -> str:
        return in_language(self.name, locale, "nl") or in_language(self.name, "en", "fy", self.key)

    def description_in(self, locale: str) -> str:
        return in_language(self.description or {}, locale, "nl") or in_language(
            self.description or {}, "en", "fy"
        )

    @property
    def step_count(self) -> int:
        return len(self.definition.get("steps", []))

    @property
    def content(self) -> TemplateDefinition:
        parsed = self.__dict__.get("_parsed")
        if parsed is None:
            parsed = TemplateDefinition.model_validate(self.definition)
            self.__dict__["_parsed"] = parsed
        return parsed

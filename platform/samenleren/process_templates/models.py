"""Process templates and their versions."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint, Uuid, and_
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from samenleren.core.db import JSONType, UTCDateTime, utcnow
from samenleren.core.tenancy import TenantScoped, tenant_foreign_key
from samenleren.extensions import db
from samenleren.identity.models import _enum
from samenleren.process_templates.definition import TemplateDefinition


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

"""An export of programme data, built in the background and downloadable for a limited time."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, Text, Uuid, and_
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from samenleren.core.db import JSONType, UTCDateTime, utcnow
from samenleren.core.extensions import db
from samenleren.core.tenancy import TenantScoped, tenant_foreign_key
from samenleren.identity.models import User, _enum


class ExportState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    #: Done once; the file is deleted (`expires_at` passed).
    EXPIRED = "expired"

    @property
    def in_progress(self) -> bool:
        return self in {ExportState.QUEUED, ExportState.RUNNING}


class ExportFormat(enum.StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    #: A personal data package (JSON and HTML in one ZIP); never offered for programme data.
    ZIP = "zip"


#: The formats the programme admin chooses from for programme data.
PROGRAMME_FORMATS = (ExportFormat.CSV, ExportFormat.XLSX)


class Dataset(enum.StrEnum):
    TRAJECTORIES = "trajectories"
    STEPS = "steps"
    GOALS = "goals"
    #: The programme report's tables (built by the domain that provides it: `insight`).
    INSIGHT = "insight"
    #: The budget ledger's expenses (amounts in euros with two decimals).
    BUDGET = "budget"


class ExportKind(enum.StrEnum):
    """What an export is for. The programme admin's list and downloads show `PROGRAMME` only;
    a domain above registers how the other kinds are built (`exports.services.register_kind`)."""

    PROGRAMME = "programme"
    #: A person's own data, asked for by themselves (`privacy`): theirs alone to download.
    MY_DATA = "my_data"
    #: A person's data produced by a programme admin on their request (`privacy`).
    DATA_REQUEST = "data_request"


class Export(TenantScoped, db.Model):
    """One requested export and, once built, its file.

    The file is kept in the database (bytea on PostgreSQL) rather than on a disk: web processes
    and workers share no file system (each may run in its own container), the file is behind the
    same row-level security as the data it was made of, goes with the tenant when the tenant
    goes, and the cleanup job deletes it with one UPDATE. Exports are small (a few MB for
    thousands of trajectories) and live 24 hours, so the database carries little.
    """

    __tablename__ = "exports"
    __table_args__ = (
        tenant_foreign_key("requested_by_id", "users"),
        tenant_foreign_key("subject_id", "users"),
        Index("ix_exports_tenant_id_requested_at", "tenant_id", "requested_at"),
        Index("ix_exports_tenant_id_subject_id", "tenant_id", "subject_id"),
        Index("ix_exports_tenant_id_state_expires_at", "tenant_id", "state", "expires_at"),
    )

    requested_by_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[ExportKind] = mapped_column(
        _enum(ExportKind, 20), default=ExportKind.PROGRAMME, server_default="programme"
    )
    #: Whose personal data the file holds (the personal kinds); None for programme data.
    subject_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    format: Mapped[ExportFormat] = mapped_column(_enum(ExportFormat, 10))
    #: The datasets asked for, in `Dataset` order.
    datasets: Mapped[list] = mapped_column(JSONType)
    #: What a provided dataset was asked for with (the report's period and filters), as checked
    #: by its provider when the export was requested.
    parameters: Mapped[dict] = mapped_column(JSONType, default=dict)
    #: The language of the column headers and labels: the requester's at the time of asking.
    locale: Mapped[str] = mapped_column(String(10))
    state: Mapped[ExportState] = mapped_column(_enum(ExportState, 10), default=ExportState.QUEUED)
    #: 0-100 while running.
    progress: Mapped[int] = mapped_column(Integer, default=0)
    #: Data rows written (headers not counted), over all datasets.
    rows: Mapped[int] = mapped_column(Integer, default=0)
    filename: Mapped[str] = mapped_column(String(200), default="")
    content_type: Mapped[str] = mapped_column(String(100), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    #: The file; loaded only for a download (the list never reads it).
    content: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    #: Why it failed, for the admin: never personal data (no values, no names).
    error: Mapped[str] = mapped_column(Text, default="")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Set when done: from then on the file is deleted and downloads are refused.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    requested_by: Mapped[User] = relationship(
        primaryjoin=lambda: and_(
            Export.tenant_id == User.tenant_id, foreign(Export.requested_by_id) == User.id
        ),
    )

    @property
    def dataset_list(self) -> list[Dataset]:
        return [Dataset(name) for name in self.datasets]

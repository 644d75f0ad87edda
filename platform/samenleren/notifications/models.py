"""Notifications: one row per mail to one person, written before anything is sent (the outbox)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint, Uuid, and_
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from samenleren.core.db import JSONType, UTCDateTime, utcnow
from samenleren.core.extensions import db
from samenleren.core.tenancy import TenantScoped, tenant_foreign_key
from samenleren.identity.models import User, _enum


class NotificationKind(enum.StrEnum):
    """What a mail is about. Each kind has `templates/mail/<kind>.html` and `.txt` and an entry
    in `samenleren.notifications.kinds.KINDS` (subject, digest or always immediate)."""

    REMINDER = "reminder"
    OVERDUE = "overdue"
    ESCALATION_COACH = "escalation_coach"
    ESCALATION_ADMIN = "escalation_admin"
    DIGEST = "digest"
    MANAGER_DIGEST = "manager_digest"
    # Sent by the calendars: meeting invitations and cancellations, the planned return day.
    INVITATION = "invitation"
    CANCELLATION = "cancellation"
    RETURN_DAY_PLANNED = "return_day_planned"
    # Sent on `coach_changed`: the learner is told who coaches them now.
    COACH_ASSIGNED = "coach_assigned"
    # An application and its answer (catalogue signals): the employee, and their manager.
    APPLICATION_RECEIVED = "application_received"
    TEAM_APPLICATION = "team_application"
    ENROLMENT_PLACED = "enrolment_placed"
    ENROLMENT_WAITLISTED = "enrolment_waitlisted"
    APPLICATION_DECLINED = "application_declined"
    # Sent on `budget_threshold_reached`: the programme admins hear that the year's budget is
    # 80 % or 100 % committed and spent.
    BUDGET_THRESHOLD = "budget_threshold"
    # The programme report's headline, every quarter, to the programme admins (insight writes
    # it; notifications only knows the kind and its templates).
    QUARTERLY_REPORT = "quarterly_report"
    # A personal data package is ready to download (`privacy`): to whom asked for it.
    PERSONAL_DATA_READY = "personal_data_ready"


class NotificationState(enum.StrEnum):
    PENDING = "pending"  #: waiting for its due time (or for a retry)
    SENDING = "sending"  #: claimed by a worker until `claimed_until`
    SENT = "sent"
    FAILED = "failed"  #: gave up after delivery.MAX_ATTEMPTS; retryable by an operator
    CANCELLED = "cancelled"
    BUNDLED = "bundled"  #: went out inside the recipient's daily digest


class NotificationMode(enum.StrEnum):
    """A user's choice (users.notification_mode): reminders one by one, or one mail a day."""

    IMMEDIATE = "immediate"
    DIGEST = "digest"


class Notification(TenantScoped, db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key"),
        tenant_foreign_key("recipient_id", "users", ondelete="CASCADE"),
        Index("ix_notifications_tenant_id_state_due_at", "tenant_id", "state", "due_at"),
        Index("ix_notifications_tenant_id_recipient_id", "tenant_id", "recipient_id"),
    )

    recipient_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(40))
    #: Idempotency key, unique per tenant: `notify()` with a known key returns the existing row.
    key: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[NotificationState] = mapped_column(
        _enum(NotificationState, 10), default=NotificationState.PENDING
    )
    #: Held back for the recipient's daily digest instead of going out by itself.
    digest: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: What the mail templates need (JSON values only; never a confidential field's content).
    context: Mapped[dict] = mapped_column(JSONType, default=dict)
    #: [{"filename", "content_type", "method"?, "text"}] - see outbox.notify.
    attachments: Mapped[list] = mapped_column(JSONType, default=list)
    #: The stable Message-ID (derived from tenant and key): a resend carries the same one.
    message_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    recipient: Mapped[User] = relationship(
        primaryjoin=lambda: and_(
            Notification.tenant_id == User.tenant_id, foreign(Notification.recipient_id) == User.id
        ),
    )


__all__ = ["Notification", "NotificationKind", "NotificationMode", "NotificationState"]

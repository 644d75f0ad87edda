"""Personal data packages: asked for by the person (`my_data`) or produced by a programme
administrator on the person's request (`data_request`), built in the background by the
exports' machinery, downloadable for `LIFETIME`, then deleted by its periodic cleanup.

Who gets which package (`collect.Audience`): the person's own holds everything, their
confidential coaching notes included; the administrator's holds what the administrator may read
(no confidential notes, no free texts of learner, coach or manager), as the administrator may
never see those. Every request and download is in the audit log, with the administrator's
reason.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from flask_babel import gettext
from sqlalchemy import select

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.core.db import utcnow
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.formatting import local_day, local_today
from samenleren.core.tenancy import require_tenant
from samenleren.core.text import control_characters_message, has_control_characters
from samenleren.exports import services as exports
from samenleren.exports.files import ExportFile
from samenleren.exports.models import Export, ExportFormat, ExportKind, ExportState
from samenleren.identity.models import Role, User
from samenleren.notifications.models import NotificationKind
from samenleren.notifications.outbox import notify
from samenleren.privacy.collect import Audience, collect
from samenleren.privacy.package import count_records, package_file

#: How long a ready package can be downloaded; then the exports' cleanup deletes the file.
LIFETIME = timedelta(days=7)
#: How many packages a page lists (newest first).
LISTED = 20
REASON_MAX = 1000

AUDIENCE_OF = {ExportKind.MY_DATA: Audience.SELF, ExportKind.DATA_REQUEST: Audience.PROGRAMME_ADMIN}


def _busy(kind: ExportKind, subject: User) -> bool:
    return (
        db.session.scalar(
            select(Export.id)
            .where(
                Export.kind == kind,
                Export.subject_id == subject.id,
                Export.state.in_([ExportState.QUEUED, ExportState.RUNNING]),
                Export.requested_at > utcnow() - exports.STALE,
            )
            .limit(1)
        )
        is not None
    )


def _new_package(
    kind: ExportKind, actor: User, subject: User, locale: str, reason: str = ""
) -> Export:
    export = Export(
        kind=kind,
        requested_by_id=actor.id,
        subject_id=subject.id,
        format=ExportFormat.ZIP,
        datasets=[],
        parameters={},
        locale=locale,
        state=ExportState.QUEUED,
        progress=0,
        rows=0,
        requested_at=utcnow(),
    )
    db.session.add(export)
    db.session.flush()
    details = {"package": str(export.id), "audience": AUDIENCE_OF[kind].value}
    if reason:
        details["reason"] = reason
    record(
        AuditAction.PERSONAL_DATA_REQUESTED,
        actor=actor,
        subject_type="user",
        subject_id=subject.id,
        details=details,
    )
    exports.enqueue_build(export)
    return export


def request_my_data(actor: User, locale: str) -> Export:
    """The person asks for their own data (audited; built after the caller's commit)."""
    if _busy(ExportKind.MY_DATA, actor):
        raise InvalidInput.form(
            gettext("Your package is still being made; wait until it is ready.")
        )
    return _new_package(ExportKind.MY_DATA, actor, actor, locale)


def request_for_person(actor: User, subject: User, reason: str, locale: str) -> Export:
    """A programme administrator produces a person's package on their request, with a reason."""
    if not actor.has_role(Role.PROGRAMME_ADMIN):  # the pages check it too
        raise InvalidInput.form(gettext("Only a programme administrator can do this."))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput({"reason": gettext("Say why: for example the date of the request.")})
    if len(reason) > REASON_MAX:
        raise InvalidInput({"reason": gettext("At most %(count)d characters.", count=REASON_MAX)})
    if has_control_characters(reason, multiline=True):
        raise InvalidInput({"reason": control_characters_message()})
    if _busy(ExportKind.DATA_REQUEST, subject):
        raise InvalidInput.form(
            gettext("A package of this person is still being made; wait until it is ready.")
        )
    return _new_package(ExportKind.DATA_REQUEST, actor, subject, locale, reason)


def my_packages(user: User) -> list[Export]:
    """The person's own packages, newest first (1 query; the files are not read)."""
    return list(
        db.session.scalars(
            select(Export)
            .where(Export.kind == ExportKind.MY_DATA, Export.subject_id == user.id)
            .order_by(Export.requested_at.desc(), Export.id)
            .limit(LISTED)
        )
    )


def packages_of(subject: User) -> list[tuple[Export, str]]:
    """The packages administrators produced of `subject`, newest first, with who did (1 query)."""
    return [
        (export, name)
        for export, name in db.session.execute(
            select(Export, User.name)
            .join(User, User.id == Export.requested_by_id)
            .where(Export.kind == ExportKind.DATA_REQUEST, Export.subject_id == subject.id)
            .order_by(Export.requested_at.desc(), Export.id)
            .limit(LISTED)
        )
    ]


def own_package(package_id: uuid.UUID, user: User) -> Export | None:
    """`user`'s own package of that id; anyone else's (an administrator's too) is None."""
    return db.session.scalar(
        select(Export).where(
            Export.id == package_id,
            Export.kind == ExportKind.MY_DATA,
            Export.subject_id == user.id,
            Export.requested_by_id == user.id,
        )
    )


def produced_package(package_id: uuid.UUID) -> Export | None:
    """A package an administrator produced (never a person's own: that holds their notes)."""
    return db.session.scalar(
        select(Export).where(Export.id == package_id, Export.kind == ExportKind.DATA_REQUEST)
    )


def download(export: Export, actor: User) -> bytes:
    """The file of a downloadable package (the caller checked `is_downloadable`); audited."""
    content = exports.file_content(export)
    record(
        AuditAction.PERSONAL_DATA_DOWNLOADED,
        actor=actor,
        subject_type="user",
        subject_id=export.subject_id,
        details={"package": str(export.id), "audience": AUDIENCE_OF[export.kind].value},
    )
    return content


def build_package(export: Export, progress) -> tuple[ExportFile, int]:
    """The export's file (the job's work, in the requester's language)."""
    tenant = require_tenant()
    subject = db.session.scalar(select(User).where(User.id == export.subject_id))
    if subject is None:
        raise LookupError("the package's person is gone")
    data = collect(subject, AUDIENCE_OF[export.kind], export.locale, progress)
    stem = f"{tenant.slug}-{gettext('my-data')}-{local_today().isoformat()}"
    file = package_file(data, stem, utcnow().isoformat())
    return file, count_records(data)


def package_ready(export: Export) -> None:
    """Tell whoever asked that the package is ready (the outbox; sent after the commit)."""
    tenant = require_tenant()
    requester = db.session.scalar(select(User).where(User.id == export.requested_by_id))
    if requester is None or not requester.active:
        return
    if export.kind is ExportKind.MY_DATA:
        path, about = f"/{tenant.slug}/my-data/", None
    else:
        path = f"/{tenant.slug}/privacy/people/{export.subject_id}"
        about = db.session.scalar(select(User.name).where(User.id == export.subject_id))
    assert export.expires_at is not None
    notify(
        requester,
        NotificationKind.PERSONAL_DATA_READY,
        key=f"personal_data_ready:{export.id}",
        context={
            "path": path,
            "about": about,
            "due_on": local_day(export.expires_at).isoformat(),
        },
    )


def register() -> None:
    """Both kinds of package are built by the exports' job and cleaned up by its cleanup."""
    builder = exports.KindBuilder(build=build_package, lifetime=LIFETIME, on_done=package_ready)
    exports.register_kind(ExportKind.MY_DATA, builder)
    exports.register_kind(ExportKind.DATA_REQUEST, builder)

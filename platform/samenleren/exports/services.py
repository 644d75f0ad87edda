"""Exports of programme data: asked for by a programme admin, built in the background, kept
for a limited time (`LIFETIME`), then deleted by the periodic cleanup.

A request writes an `Export` row (queued) and enqueues the build on the `reports` queue after
the commit; the build reads the datasets as the programme admin (`samenleren.exports.datasets`),
reports its progress in the row, writes the file into the row and marks it done. Requests and
downloads are in the audit log.

Other kinds of generated file use the same machinery (`register_kind`): a domain above says how
its kind is built and how long it lives; queueing, progress, the file in the row, expiry, the
cleanup and the requeueing of lost builds stay here. The programme admin's list and downloads
show programme exports only (`ExportKind.PROGRAMME`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import force_locale, gettext
from sqlalchemy import or_, select, update

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.core.db import as_utc, rowcount, utcnow
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.formatting import local_today
from samenleren.core.jobs.runtime import enqueue
from samenleren.core.tenancy import require_tenant
from samenleren.core.tenant import Tenant
from samenleren.exports.datasets import build_tables, provider_of
from samenleren.exports.files import ExportFile, export_file
from samenleren.exports.models import (
    PROGRAMME_FORMATS,
    Dataset,
    Export,
    ExportFormat,
    ExportKind,
    ExportState,
)
from samenleren.identity.models import User

log = logging.getLogger(__name__)

#: How long a finished export can be downloaded.
LIFETIME = timedelta(hours=24)
#: A queued or running export older than this is given up (its worker died and no retry came).
STALE = timedelta(hours=2)
#: A queued export whose build has not started this long after the request gets its job again
#: (`requeue_lost`): the job was lost, e.g. Redis was unreachable when the request committed.
REQUEUE_AFTER = timedelta(minutes=2)
#: How many exports the list shows (newest first).
LISTED = 50


@dataclass(frozen=True)
class KindBuilder:
    """How an export of a kind other than programme data is built, registered by the domain
    that owns that kind (the personal data packages: `privacy`), which sits above this one.

    The queue, the job, the progress, the file in the row, its expiry and the cleanup stay
    here: one machinery for every generated file.
    """

    #: (export, progress(done, total)) -> (the file, how many records it holds).
    build: Callable[[Export, Callable[[int, int], None]], tuple[ExportFile, int]]
    #: How long the finished file can be downloaded.
    lifetime: timedelta
    #: Called in the transaction that marks the export done (e.g. to put a mail in the outbox).
    on_done: Callable[[Export], None] | None = None


_BUILDERS: dict[ExportKind, KindBuilder] = {}


def register_kind(kind: ExportKind, builder: KindBuilder) -> None:
    """Build exports of `kind` with `builder` (called from the owning domain's `init_app`)."""
    _BUILDERS[kind] = builder


def lifetime_of(export: Export) -> timedelta:
    builder = _BUILDERS.get(export.kind)
    return builder.lifetime if builder is not None else LIFETIME


def request_export(
    actor: User,
    export_format: str,
    datasets: Iterable[str],
    locale: str,
    parameters: Mapping[str, str] | None = None,
) -> Export:
    """Record the request (audited) and enqueue its build after the caller's commit.

    Refused (InvalidInput): an unknown format, no or unknown datasets, parameters a provided
    dataset refuses, or an export of the same person still being made.
    """
    export = new_export(actor, export_format, datasets, locale, parameters)
    enqueue_build(export)
    return export


#: The job that builds an export (`exports.jobs.build`), enqueued by its registered name.
BUILD_JOB = "samenleren.exports.jobs.build"


def enqueue_build(export: Export) -> None:
    """Build `export` once the caller's transaction commits."""
    enqueue(BUILD_JOB, tenant_id=export.tenant_id, export_id=str(export.id))


def new_export(
    actor: User,
    export_format: str,
    datasets: Iterable[str],
    locale: str,
    parameters: Mapping[str, str] | None = None,
) -> Export:
    """The queued export, audited, without enqueueing its build (`request_export` does; the
    demo builds it right away with `build_export`)."""
    errors: dict[str, str] = {}
    try:
        chosen_format = ExportFormat(export_format)
        if chosen_format not in PROGRAMME_FORMATS:
            raise ValueError(export_format)
    except ValueError:
        errors["format"] = gettext("Choose CSV or Excel.")
    names = set(datasets)
    if not names or not names <= {dataset.value for dataset in Dataset}:
        errors["datasets"] = gettext("Choose at least one kind of data.")
    if errors:
        raise InvalidInput(errors)
    kept: dict[str, str] = {}
    for name in sorted(names):
        provider = provider_of(Dataset(name))
        if provider is not None:
            kept.update(provider.check(parameters or {}))
    busy = db.session.scalar(
        select(Export.id)
        .where(
            Export.kind == ExportKind.PROGRAMME,
            Export.requested_by_id == actor.id,
            Export.state.in_([ExportState.QUEUED, ExportState.RUNNING]),
            Export.requested_at > utcnow() - STALE,
        )
        .limit(1)
    )
    if busy is not None:
        raise InvalidInput.form(
            gettext("An export you asked for is still being made; wait until it is ready.")
        )
    export = Export(
        requested_by_id=actor.id,
        format=chosen_format,
        datasets=[dataset.value for dataset in Dataset if dataset.value in names],
        parameters=kept,
        locale=locale,
        state=ExportState.QUEUED,
        progress=0,
        rows=0,
        requested_at=utcnow(),
    )
    db.session.add(export)
    db.session.flush()
    record(
        AuditAction.EXPORT_REQUESTED,
        actor=actor,
        subject_type="export",
        subject_id=export.id,
        details={"format": chosen_format.value, "datasets": ",".join(export.datasets)},
    )
    return export


def get_export(export_id: uuid.UUID) -> Export | None:
    return db.session.scalar(select(Export).where(Export.id == export_id))


def _set_progress(export_id: uuid.UUID, progress: int) -> None:
    """Show the progress to the admin now: its own short transaction."""
    db.session.execute(
        update(Export).where(Export.id == export_id).values(progress=max(0, min(progress, 100)))
    )
    db.session.commit()


def build_export(export_id: uuid.UUID) -> Export | None:
    """Build the file of a queued export of the current tenant (the job's work).

    Safe to run again: a retried or requeued job of an export that is done or expired does
    nothing; one that failed, or was running when its worker died, starts over.
    On an error the export is marked failed (with no personal data in the message) and the
    error raised again, so the job is retried or shows as failed to the operator.
    """
    export = get_export(export_id)
    if export is None or export.state in (ExportState.DONE, ExportState.EXPIRED):
        return export
    tenant = require_tenant()
    export.state = ExportState.RUNNING
    export.started_at = utcnow()
    export.progress = 5
    export.error = ""
    db.session.commit()
    builder = _BUILDERS.get(export.kind) if export.kind is not ExportKind.PROGRAMME else None
    try:
        if export.kind is not ExportKind.PROGRAMME and builder is None:
            raise LookupError(f"no builder registered for exports of kind {export.kind}")
        if builder is not None:
            with force_locale(export.locale):
                file, rows = builder.build(
                    export, lambda done, total: _set_progress(export_id, 5 + 85 * done // total)
                )
            _finish(export_id, file, rows, builder.lifetime, builder.on_done)
        else:
            _build_programme_export(export, tenant)
    except Exception as error:
        db.session.rollback()
        failed = get_export(export_id)
        if failed is not None:
            failed.state = ExportState.FAILED
            failed.finished_at = utcnow()
            # The kind of error only: its text may quote data.
            failed.error = type(error).__name__
            db.session.commit()
        log.exception("export %s failed", export_id)
        raise
    export = get_export(export_id)
    if export is not None:
        log.info("export %s done: %d rows, %d bytes", export_id, export.rows, export.size)
    return export


def _finish(
    export_id: uuid.UUID,
    file: ExportFile,
    rows: int,
    lifetime: timedelta,
    on_done: Callable[[Export], None] | None = None,
) -> None:
    """Put the file in the row and mark it done (one commit, with what `on_done` writes)."""
    export = get_export(export_id)
    if export is None:  # deleted while it was being built
        raise LookupError(f"export {export_id} is gone")
    now = utcnow()
    export.content = file.content
    export.filename = file.filename
    export.content_type = file.content_type
    export.size = len(file.content)
    export.rows = rows
    export.state = ExportState.DONE
    export.progress = 100
    export.finished_at = now
    export.expires_at = now + lifetime
    if on_done is not None:
        on_done(export)
    db.session.commit()


def _build_programme_export(export: Export, tenant: Tenant) -> None:
    export_id = export.id
    with force_locale(export.locale):
        tables = build_tables(
            export.dataset_list,
            export.locale,
            tenant.default_locale,
            lambda done, total: _set_progress(export_id, 5 + 75 * done // total),
            export.parameters or {},
        )
        word = gettext("export")
        stem = f"{tenant.slug}-{word}-{local_today().isoformat()}"
        file = export_file(tables, ExportFormat(export.format), stem)
    _finish(export_id, file, sum(len(table.rows) for table in tables), LIFETIME)


def recent_exports() -> list[tuple[Export, str]]:
    """The tenant's exports, newest first, each with the name of who asked (1 query; the files
    are not read)."""
    return [
        (export, name)
        for export, name in db.session.execute(
            select(Export, User.name)
            .join(User, User.id == Export.requested_by_id)
            .where(Export.kind == ExportKind.PROGRAMME)
            .order_by(Export.requested_at.desc(), Export.id)
            .limit(LISTED)
        )
    ]


def is_downloadable(export: Export, now: datetime | None = None) -> bool:
    now = now or utcnow()
    expires_at = as_utc(export.expires_at)
    return export.state is ExportState.DONE and expires_at is not None and expires_at > now


def file_content(export: Export) -> bytes:
    """The stored file of `export` (read only now: the column is deferred)."""
    return db.session.scalar(select(Export.content).where(Export.id == export.id)) or b""


def download(export: Export, actor: User) -> bytes:
    """The file of a downloadable export (the caller checked `is_downloadable`); audited."""
    content = file_content(export)
    record(
        AuditAction.EXPORT_DOWNLOADED,
        actor=actor,
        subject_type="export",
        subject_id=export.id,
        details={"format": export.format.value, "datasets": ",".join(export.datasets)},
    )
    return content


def requeue_lost(now: datetime | None = None) -> int:
    """Enqueue the build again of the current tenant's exports still queued `REQUEUE_AFTER`
    after their request (and not yet given up); returns how many.

    An export whose job is only waiting behind others gets a second job: whichever runs second
    finds the export done and does nothing (`build_export`)."""
    now = now or utcnow()
    lost = list(
        db.session.scalars(
            select(Export).where(
                Export.state == ExportState.QUEUED,
                Export.requested_at <= now - REQUEUE_AFTER,
                Export.requested_at > now - STALE,
            )
        )
    )
    for export in lost:
        enqueue_build(export)
    db.session.commit()
    return len(lost)


def clean_up(now: datetime | None = None) -> tuple[int, int]:
    """Delete the files of the current tenant's exports that expired, and give up exports that
    were queued or running for longer than `STALE`. Returns (expired, given up)."""
    now = now or utcnow()
    expired = rowcount(
        db.session.execute(
            update(Export)
            .where(
                or_(Export.state == ExportState.DONE, Export.content.is_not(None)),
                Export.expires_at <= now,
            )
            .values(state=ExportState.EXPIRED, content=None)
        )
    )
    given_up = rowcount(
        db.session.execute(
            update(Export)
            .where(
                Export.state.in_([ExportState.QUEUED, ExportState.RUNNING]),
                Export.requested_at <= now - STALE,
            )
            .values(state=ExportState.FAILED, error="stale", finished_at=now)
        )
    )
    db.session.commit()
    return expired, given_up

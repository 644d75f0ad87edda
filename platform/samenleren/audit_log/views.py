"""The audit log page and its CSV export: for the programme admin only (anyone else: 404)."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, Response, render_template, request, stream_with_context
from flask_babel import force_locale, get_locale
from flask_login import current_user

from samenleren.audit.events import ACTION_LABELS, AuditAction
from samenleren.audit.services import record
from samenleren.audit_log import services
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.formatting import local_today
from samenleren.core.tenancy import require_tenant
from samenleren.core.web import require_roles
from samenleren.identity.models import Role

bp = Blueprint("audit", __name__, template_folder="templates")
require_roles(bp, Role.PROGRAMME_ADMIN)


def _render(event_filter, page, *, errors=None, status=200):
    values = {key: request.args.get(key, "") for key in ("action", "from", "to")}
    return (
        render_template(
            "audit/list_events.html",
            actions=[(action.value, ACTION_LABELS[action]) for action in AuditAction],
            values=values,
            errors=errors or {},
            event_filter=event_filter,
            page=page,
        ),
        status,
    )


@bp.get("/<tenant>/audit/")
def list_events():
    try:
        event_filter = services.parse_filter(request.args)
    except InvalidInput as refused:
        return _render(None, None, errors=refused.errors, status=422)
    page = services.event_page(event_filter, services.parse_page(request.args.get("page")))
    return _render(event_filter, page)


@bp.get("/<tenant>/audit/export.csv")
def export_events():
    try:
        event_filter = services.parse_filter(request.args)
    except InvalidInput as refused:
        return _render(None, None, errors=refused.errors, status=422)
    # The export is itself an event, committed before the first line leaves.
    record(
        AuditAction.AUDIT_EXPORTED,
        actor=current_user,
        details=event_filter.as_details() | {"format": "csv"},
    )
    # The language is settled before the commit and the stream: the selector reads the user's
    # row, which must not be loaded again while the body streams (after the view returned).
    locale = str(get_locale())
    db.session.commit()
    filename = f"audit-{require_tenant().slug}-{local_today().isoformat()}.csv"

    def lines() -> Iterator[str]:
        with force_locale(locale):
            yield from services.export_lines(event_filter)

    return Response(
        stream_with_context(lines()),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/<tenant>/audit/export.json")
def export_events_json():
    """The log as JSON in the order of its hash chain, every stored field included: the CISO
    can recompute the chain outside the platform."""
    try:
        event_filter = services.parse_filter(request.args)
    except InvalidInput as refused:
        return _render(None, None, errors=refused.errors, status=422)
    record(
        AuditAction.AUDIT_EXPORTED,
        actor=current_user,
        details=event_filter.as_details() | {"format": "json"},
    )
    tenant = require_tenant()
    tenant_id, slug = tenant.id, tenant.slug
    db.session.commit()
    filename = f"audit-{slug}-{local_today().isoformat()}.json"
    return Response(
        stream_with_context(services.export_json_chunks(event_filter, tenant_id)),
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )

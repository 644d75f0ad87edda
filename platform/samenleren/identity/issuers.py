"""Changing a tenant's identity provider (its OIDC issuer) is a deliberate act of two parties.

Users are bound to the issuer that vouched for them (`User.issuer`); a login from another
issuer does not match them. Whoever controls the issuer could otherwise log in as anyone, so a
programme administrator cannot simply point the tenant elsewhere: the SSO settings page only
*requests* the new issuer (`request_issuer_change`), and it applies when the platform operator
or another programme administrator approves it (`approve_issuer_change`). A manifest onboarded
again with another issuer requests it the same way (by the operator, who has no account in the
tenant: any programme administrator or the console approves it). Approval re-links the
tenant's existing users to the new issuer, each one listed in the audit log; nothing moves
silently. The requester may withdraw the request, and either approver may turn it down
(`reject_issuer_change`). Every step is audited in the tenant's log.

The caller activates the tenant (a request of the tenant, or `tenant_scope` for the operator).
Nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import select

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.core.db import utcnow
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.tenant import Tenant
from samenleren.identity.models import Role, User
from samenleren.identity.oidc import forget_client
from samenleren.identity.services import EXTERNAL_SUBJECT_PREFIX


@dataclass(frozen=True)
class Approver:
    """Who approves or turns down: a programme administrator of the tenant (`user`), or the
    platform operator (`user` None, named by `label` in the audit log)."""

    user: User | None = None
    label: str = ""


def request_issuer_change(
    tenant: Tenant, issuer: str, actor: User | None, *, actor_label: str = ""
) -> None:
    """Keep `issuer` as the tenant's pending issuer, asked for by `actor` (None: the platform,
    named by `actor_label`, e.g. a manifest onboarded again); audited."""
    tenant.sso_issuer_pending = issuer
    tenant.sso_issuer_requested_by_id = actor.id if actor is not None else None
    tenant.sso_issuer_requested_at = utcnow()
    record(
        AuditAction.SSO_ISSUER_REQUESTED,
        actor=actor,
        actor_label=actor_label,
        subject_type="tenant",
        subject_id=tenant.id,
        details={"issuer": issuer, "current": tenant.sso_issuer},
    )


def users_to_relink(tenant: Tenant) -> list[User]:
    """The users an approval moves to the pending issuer: everyone bound to the current one."""
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.issuer == tenant.sso_issuer,
                User.subject.not_like(f"{EXTERNAL_SUBJECT_PREFIX}%"),
            )
            .order_by(User.name, User.id)
        )
    )


def requester_of(tenant: Tenant) -> User | None:
    if tenant.sso_issuer_requested_by_id is None:
        return None
    return db.session.get(User, (tenant.id, tenant.sso_issuer_requested_by_id))


def _check_approver(tenant: Tenant, approver: Approver) -> None:
    if not tenant.sso_issuer_pending:
        raise InvalidInput.form(gettext("No change of the identity provider is waiting."))
    user = approver.user
    if user is None:
        return  # the platform operator (the console checked who that is)
    if not user.has_role(Role.PROGRAMME_ADMIN):
        raise InvalidInput.form(
            gettext("Only a programme administrator approves a new identity provider.")
        )
    if user.id == tenant.sso_issuer_requested_by_id:
        raise InvalidInput.form(
            gettext(
                "Another programme administrator or the platform operator approves the new "
                "identity provider, not the one who asked for it."
            )
        )


def _clear_pending(tenant: Tenant) -> None:
    tenant.sso_issuer_pending = None
    tenant.sso_issuer_requested_by_id = None
    tenant.sso_issuer_requested_at = None


def approve_issuer_change(tenant: Tenant, approver: Approver, *, expected: str) -> int:
    """Put the pending issuer in force and re-link the users of the previous one to it; the
    number of users re-linked. `expected` is the issuer the approver saw: a request replaced in
    the meantime is not approved by accident. Raises `InvalidInput` before changing anything."""
    _check_approver(tenant, approver)
    if expected != tenant.sso_issuer_pending:
        raise InvalidInput.form(
            gettext("The requested identity provider changed meanwhile; look at it again.")
        )
    previous, issuer = tenant.sso_issuer, tenant.sso_issuer_pending
    moved = users_to_relink(tenant)
    for user in moved:
        user.issuer = issuer
        # The new provider names the person anew: Entra ID's ids are bound at its first login.
        user.idp_tenant_id = user.idp_object_id = None
        record(
            AuditAction.USER_RELINKED,
            actor=approver.user,
            actor_label=approver.label,
            subject_type="user",
            subject_id=user.id,
            details={"issuer": issuer, "previous": previous},
        )
    tenant.sso_issuer = issuer
    record(
        AuditAction.SSO_ISSUER_APPROVED,
        actor=approver.user,
        actor_label=approver.label,
        subject_type="tenant",
        subject_id=tenant.id,
        details={
            "issuer": issuer,
            "previous": previous,
            "relinked": len(moved),
            "requested_by": str(tenant.sso_issuer_requested_by_id or ""),
        },
    )
    _clear_pending(tenant)
    forget_client(tenant.id)  # the next login builds a client for the new issuer
    db.session.flush()
    return len(moved)


def reject_issuer_change(tenant: Tenant, approver: Approver) -> None:
    """Drop the pending issuer: turned down by an approver, or withdrawn by the requester."""
    if not tenant.sso_issuer_pending:
        raise InvalidInput.form(gettext("No change of the identity provider is waiting."))
    user = approver.user
    if user is not None and not user.has_role(Role.PROGRAMME_ADMIN):
        raise InvalidInput.form(
            gettext("Only a programme administrator approves a new identity provider.")
        )
    record(
        AuditAction.SSO_ISSUER_REJECTED,
        actor=user,
        actor_label=approver.label,
        subject_type="tenant",
        subject_id=tenant.id,
        details={"issuer": tenant.sso_issuer_pending},
    )
    _clear_pending(tenant)
    db.session.flush()

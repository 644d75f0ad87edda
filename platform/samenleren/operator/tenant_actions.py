"""What an operator does to a tenant after onboarding: suspend it, resume it, test its SSO,
finish its login set-up (client secret, a set-up link for its IT contact, the first programme
administrators), approve or turn down a new identity provider its programme administrator asked
for. Every action is recorded in that tenant's own audit log, inside the tenant's scope."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, url_for
from sqlalchemy import select

from samenleren.audit.events import REFUSAL_REASONS, AuditAction
from samenleren.audit.models import AuditEvent
from samenleren.audit.services import record
from samenleren.core.extensions import db
from samenleren.core.tenancy import tenant_scope
from samenleren.core.tenant import Tenant, TenantStatus
from samenleren.identity.issuers import (
    Approver,
    approve_issuer_change,
    reject_issuer_change,
    users_to_relink,
)
from samenleren.identity.models import PlatformOperator
from samenleren.identity.sso_setup import (
    choose_client_auth_method,
    issue_setup_link,
    login_problems,
    set_first_admins,
    store_client_secret,
)
from samenleren.operator.login import actor_label
from samenleren.operator.sso_check import SSOReport, check_identity_provider
from samenleren.tenants.services import apply_status

log = logging.getLogger(__name__)


def change_status(tenant: Tenant, status: TenantStatus, operator: PlatformOperator) -> bool:
    """Suspend or resume; False when the tenant had that status already. Does not commit."""
    if not apply_status(tenant, status):
        return False
    action = (
        AuditAction.TENANT_SUSPENDED
        if status is TenantStatus.SUSPENDED
        else AuditAction.TENANT_RESUMED
    )
    with tenant_scope(tenant):
        record(
            action, actor_label=actor_label(operator), subject_type="tenant", subject_id=tenant.id
        )
        db.session.flush()  # inside the scope: the audit row is the tenant's (RLS)
    log.info("operator %s: %s %s", operator.subject, action, tenant.slug)
    return True


def check_sso(tenant: Tenant, operator: PlatformOperator) -> SSOReport:
    """Check the tenant's identity provider now and log that it was checked. Does not commit."""
    report = check_identity_provider(
        tenant.sso_issuer,
        tenant.sso_scopes or ["openid"],
        current_app.config["SAMENLEREN_SSO_TEST_TIMEOUT"],
        login_problems(tenant),
        tenant.sso_client_auth_method,
    )
    with tenant_scope(tenant):
        record(
            AuditAction.SSO_TESTED,
            actor_label=actor_label(operator),
            subject_type="tenant",
            subject_id=tenant.id,
            details={"issuer": tenant.sso_issuer, "outcome": report.outcome.value},
        )
        db.session.flush()
    return report


def accounts_to_relink(tenant: Tenant) -> int:
    """How many accounts an approval of the tenant's pending issuer re-links (a count only:
    the console shows no person of any tenant)."""
    with tenant_scope(tenant):
        return len(users_to_relink(tenant))


def approve_issuer(tenant: Tenant, operator: PlatformOperator, expected: str) -> int:
    """Approve the tenant's pending issuer; the number of accounts re-linked. Does not commit;
    refusals raise `InvalidInput` before anything changes."""
    with tenant_scope(tenant):
        relinked = approve_issuer_change(
            tenant, Approver(label=actor_label(operator)), expected=expected
        )
    log.info("operator %s: approved a new issuer for %s", operator.subject, tenant.slug)
    return relinked


def reject_issuer(tenant: Tenant, operator: PlatformOperator) -> None:
    """Turn the tenant's pending issuer down. Does not commit."""
    with tenant_scope(tenant):
        reject_issuer_change(tenant, Approver(label=actor_label(operator)))


# --- finishing the login set-up ---------------------------------------------------------------

#: How many refused logins the console shows per tenant.
RECENT_FAILURES = 10


@dataclass(frozen=True)
class LoginFailure:
    """A refused login as the console shows it: when, why in words, the technical cause. Never
    who: the console shows no person of any tenant."""

    occurred_at: datetime
    reason: str
    cause: str


def set_client_secret(tenant: Tenant, secret: str, operator: PlatformOperator) -> None:
    """Store the tenant's client secret (encrypted); refused input raises `InvalidInput`.
    Does not commit."""
    with tenant_scope(tenant):
        store_client_secret(tenant, secret, actor_label=actor_label(operator))
        db.session.flush()
    log.info("operator %s set the client secret of %s", operator.subject, tenant.slug)


def set_client_auth_method(tenant: Tenant, method: str, operator: PlatformOperator) -> bool:
    """Choose how the tenant's client authenticates at its IdP (`private_key_jwt` makes the
    tenant's key pair); False when nothing changed. Does not commit."""
    with tenant_scope(tenant):
        changed = choose_client_auth_method(tenant, method, actor_label=actor_label(operator))
        db.session.flush()
    return changed


def name_first_admins(tenant: Tenant, text: str, operator: PlatformOperator) -> bool:
    """Replace the tenant's list of first programme administrators. Does not commit."""
    with tenant_scope(tenant):
        changed = set_first_admins(tenant, text, actor_label=actor_label(operator))
        db.session.flush()
    return changed


def make_setup_link(tenant: Tenant, operator: PlatformOperator) -> str:
    """A new one-time set-up link for the tenant's IT contact (the address, shown once).
    Does not commit."""
    with tenant_scope(tenant):
        token = issue_setup_link(tenant, actor_label=actor_label(operator))
        db.session.flush()
    log.info("operator %s made a set-up link for %s", operator.subject, tenant.slug)
    return url_for("sso.enter_client_secret", tenant=tenant.slug, setup_token=token, _external=True)


def recent_login_failures(tenant: Tenant) -> list[LoginFailure]:
    """The tenant's latest refused logins, newest first, with their technical cause."""
    with tenant_scope(tenant):
        events = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == AuditAction.LOGIN_REFUSED.value)
            .order_by(AuditEvent.occurred_at.desc())
            .limit(RECENT_FAILURES)
        ).all()
    failures = []
    for event in events:
        code = str(event.details.get("reason") or "refused")
        label = REFUSAL_REASONS.get(code)
        failures.append(
            LoginFailure(
                event.occurred_at,
                str(label) if label is not None else code,
                str(event.details.get("cause") or ""),
            )
        )
    return failures

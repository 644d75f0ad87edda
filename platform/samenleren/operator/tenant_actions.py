"""What an operator does to a tenant after onboarding: suspend it, resume it, test its SSO,
approve or turn down a new identity provider its programme administrator asked for. Every action
is recorded in that tenant's own audit log, inside the tenant's scope."""

from __future__ import annotations

import logging

from flask import current_app

from samenleren.audit.events import AuditAction
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

"""Onboarding, suspending and resuming tenants; shared by the CLI and the operator console."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import func, select

from samenleren.core.tenancy import tenant_scope
from samenleren.extensions import db
from samenleren.identity.models import User
from samenleren.process_templates.services import ensure_default_template
from samenleren.tenants.manifest import LoadedManifest
from samenleren.tenants.models import OrganisationGoal, Tenant, TenantStatus


class OnboardOutcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class OnboardResult:
    tenant: Tenant
    outcome: OnboardOutcome


class UnknownTenant(LookupError):
    pass


def get_tenant_by_slug(slug: str) -> Tenant | None:
    return db.session.scalar(select(Tenant).where(Tenant.slug == slug))


def onboard_tenant(loaded: LoadedManifest) -> OnboardResult:
    """Create or update the tenant a manifest describes; idempotent, one transaction.

    A tenant whose stored digest equals the manifest's is left untouched, so a second run of the
    same manifest writes nothing. Organisation goals are matched on their code; a goal no longer
    in the manifest is deactivated, not deleted, because learning goals may refer to it.
    """
    manifest = loaded.manifest
    tenant = get_tenant_by_slug(manifest.slug)
    if tenant is not None and tenant.manifest_digest == loaded.digest:
        return OnboardResult(tenant, OnboardOutcome.UNCHANGED)
    outcome = OnboardOutcome.UPDATED
    if tenant is None:
        tenant = Tenant(slug=manifest.slug, status=TenantStatus.ACTIVE)
        db.session.add(tenant)
        outcome = OnboardOutcome.CREATED
    tenant.name = manifest.name
    tenant.default_locale = manifest.default_locale
    tenant.programme_description = dict(manifest.programme.description)
    tenant.learners_choose_coach = manifest.programme.learners_choose_coach
    tenant.goals_require_organisation_goal = manifest.programme.goals_require_organisation_goal
    tenant.sso_issuer = manifest.sso.issuer
    tenant.sso_client_id = manifest.sso.client_id
    tenant.sso_client_secret_env = manifest.sso.client_secret_env
    tenant.sso_scopes = list(manifest.sso.scopes)
    tenant.sso_claims = manifest.sso.claims.model_dump()
    tenant.group_roles = {
        group: [r.value for r in roles] for group, roles in manifest.roles.groups.items()
    }
    tenant.default_roles = [role.value for role in manifest.roles.default]
    tenant.theme_primary_color = manifest.theme.primary_color
    tenant.theme_logo = loaded.logo
    tenant.theme_logo_type = loaded.logo_type
    tenant.manifest_digest = loaded.digest
    db.session.flush()
    with tenant_scope(tenant):
        _sync_organisation_goals(loaded)
        ensure_default_template()
        db.session.commit()
    return OnboardResult(tenant, outcome)


def _sync_organisation_goals(loaded: LoadedManifest) -> None:
    existing = {goal.code: goal for goal in db.session.scalars(select(OrganisationGoal))}
    for position, spec in enumerate(loaded.manifest.organisation_goals):
        goal = existing.pop(spec.code, None)
        if goal is None:
            goal = OrganisationGoal(code=spec.code)
            db.session.add(goal)
        goal.title = dict(spec.title)
        goal.description = dict(spec.description)
        goal.position = position
        goal.active = True
    for goal in existing.values():
        goal.active = False


def set_tenant_status(slug: str, status: TenantStatus) -> bool:
    """Suspend or resume; returns False when the tenant already had that status."""
    tenant = get_tenant_by_slug(slug)
    if tenant is None:
        raise UnknownTenant(slug)
    if tenant.status is status:
        return False
    tenant.status = status
    db.session.commit()
    return True


def list_tenants() -> list[tuple[Tenant, int]]:
    """Every tenant with its number of users (an aggregate only; no personal data)."""
    tenants = list(db.session.scalars(select(Tenant).order_by(Tenant.slug)))
    counts: dict = {}
    for tenant in tenants:
        # Counted inside each tenant's own scope so RLS applies as everywhere else.
        with tenant_scope(tenant):
            counts[tenant.id] = db.session.scalar(select(func.count()).select_from(User))
    return [(tenant, counts[tenant.id]) for tenant in tenants]

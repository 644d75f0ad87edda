"""Onboarding, suspending and resuming tenants; shared by the CLI and the operator console."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import func, select, update

from samenleren.core import signals
from samenleren.core.config import LANGUAGES
from samenleren.core.db import utcnow
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.tenancy import tenant_scope
from samenleren.core.tenant import Tenant, TenantStatus, get_tenant_by_slug
from samenleren.identity.issuers import request_issuer_change
from samenleren.identity.models import LoginSession, Role, User
from samenleren.tenants.manifest import LoadedManifest
from samenleren.tenants.models import OrganisationGoal


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


#: Who asks for a new issuer when a manifest names one (the audit log's actor).
MANIFEST_ACTOR = "manifest (platform operator)"

#: Called with the tenant and the outcome inside the onboarding transaction.
AuditHook = Callable[[Tenant, OnboardOutcome], object]


def onboard_tenant(loaded: LoadedManifest, *, audit: AuditHook | None = None) -> OnboardResult:
    """Create or update the tenant a manifest describes; idempotent, one transaction.

    A tenant whose stored digest equals the manifest's is left untouched, so a second run of the
    same manifest writes nothing. Organisation goals are matched on their code; a goal no longer
    in the manifest is deactivated, not deleted, because learning goals may refer to it.
    A manifest that names another issuer for an existing tenant does not switch it: users are
    bound to their issuer, so that would lock them out, or let whoever runs the new issuer log
    in as them. It requests the change (`identity.issuers`), which applies only when the
    platform operator or a programme administrator approves it, re-linking users explicitly.
    `audit(tenant, outcome)` runs inside the tenant's scope just before the commit, so what it
    records lands in the same transaction (the operator console logs who onboarded).
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
    issuer_change = None
    if outcome is OnboardOutcome.CREATED:
        tenant.sso_issuer = manifest.sso.issuer
    elif manifest.sso.issuer not in (tenant.sso_issuer, tenant.sso_issuer_pending):
        issuer_change = manifest.sso.issuer
    tenant.sso_client_id = manifest.sso.client_id
    tenant.sso_client_secret_env = manifest.sso.client_secret_env
    tenant.sso_scopes = list(manifest.sso.scopes)
    tenant.sso_claims = manifest.sso.claims.model_dump()
    tenant.group_roles = {
        group: [r.value for r in roles] for group, roles in manifest.roles.groups.items()
    }
    tenant.default_roles = [role.value for role in manifest.roles.default]
    if manifest.terminology is not None:
        tenant.terminology = {
            lang: {key: words.model_dump(exclude_none=True) for key, words in terms.items()}
            for lang, terms in manifest.terminology.items()
        }
    elif tenant.terminology is None:
        tenant.terminology = {}
    tenant.budget_yearly_cents = manifest.budget.yearly_cents if manifest.budget else None
    tenant.theme_primary_color = manifest.theme.primary_color
    tenant.retention_profile = manifest.retention_profile
    tenant.mail_from = manifest.mail_from
    tenant.theme_logo = loaded.logo
    tenant.theme_logo_type = loaded.logo_type
    tenant.manifest_digest = loaded.digest
    db.session.flush()
    with tenant_scope(tenant):
        if issuer_change is not None:
            request_issuer_change(tenant, issuer_change, None, actor_label=MANIFEST_ACTOR)
        _sync_organisation_goals(loaded)
        # The programme gives a new tenant its first process template (and whatever else
        # a tenant starts with), in this transaction.
        signals.tenant_onboarded.send(tenant, created=outcome is OnboardOutcome.CREATED)
        if audit is not None:
            audit(tenant, outcome)
            db.session.flush()
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


def apply_status(tenant: Tenant, status: TenantStatus) -> bool:
    """Suspend or resume `tenant` (no commit); False when it already had that status.

    Suspending ends every open login of the tenant, so that a resume does not revive the
    sessions of before. Shared by the CLI and the operator console.
    """
    if tenant.status is status:
        return False
    tenant.status = status
    if status is TenantStatus.SUSPENDED:
        with tenant_scope(tenant):
            db.session.execute(
                update(LoginSession)
                .where(LoginSession.ended_at.is_(None))
                .values(ended_at=utcnow())
            )
    return True


def set_tenant_status(slug: str, status: TenantStatus) -> bool:
    """Suspend or resume; returns False when the tenant already had that status."""
    tenant = get_tenant_by_slug(slug)
    if tenant is None:
        raise UnknownTenant(slug)
    changed = apply_status(tenant, status)
    db.session.commit()
    return changed


def list_tenants() -> list[tuple[Tenant, int]]:
    """Every tenant with its number of users (an aggregate only; no personal data)."""
    tenants = list(db.session.scalars(select(Tenant).order_by(Tenant.slug)))
    counts: dict = {}
    for tenant in tenants:
        # Counted inside each tenant's own scope so RLS applies as everywhere else.
        with tenant_scope(tenant):
            counts[tenant.id] = db.session.scalar(select(func.count()).select_from(User))
    return [(tenant, counts[tenant.id]) for tenant in tenants]


# --- the programme administrator's settings: organisation goals, programme options -----------

CODE_LIMIT = 40
GOAL_TITLE_LIMIT = 300
GOAL_DESCRIPTION_LIMIT = 4_000
#: The language every organisation goal has a title in (the others are optional).
GOAL_TITLE_LANGUAGE = "nl"
_CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def require_programme_admin(actor: User) -> None:
    """Refuse anyone but a programme administrator: the programme's settings are theirs."""
    if not actor.has_role(Role.PROGRAMME_ADMIN):
        raise InvalidInput.form(
            gettext("Only the programme administrator changes the programme's settings.")
        )


def organisation_goals() -> list[OrganisationGoal]:
    """Every organisation goal of the tenant, active or not, in the order the tenant set."""
    return list(
        db.session.scalars(
            select(OrganisationGoal).order_by(OrganisationGoal.position, OrganisationGoal.code)
        )
    )


@dataclass(frozen=True)
class OrganisationGoalInput:
    code: str
    #: {language: text}; the Dutch title is required, the others optional.
    title: dict[str, str]
    description: dict[str, str]
    active: bool = True


def _check_goal(
    data: OrganisationGoalInput, goal: OrganisationGoal | None
) -> OrganisationGoalInput:
    code = (data.code or "").strip()
    title = {lang: (text or "").strip() for lang, text in data.title.items() if lang in LANGUAGES}
    description = {
        lang: (text or "").strip() for lang, text in data.description.items() if lang in LANGUAGES
    }
    errors: dict[str, str] = {}
    if not code:
        errors["code"] = gettext("Give the goal a short code, such as OD1.")
    elif len(code) > CODE_LIMIT:
        errors["code"] = gettext("At most %(count)d characters.", count=CODE_LIMIT)
    elif not _CODE_PATTERN.match(code):
        errors["code"] = gettext(
            "Use letters, digits, dots, hyphens and underscores only, starting with a letter or "
            "digit."
        )
    else:
        taken = db.session.scalar(
            select(OrganisationGoal.id).where(func.lower(OrganisationGoal.code) == code.lower())
        )
        if taken is not None and (goal is None or taken != goal.id):
            errors["code"] = gettext("Another organisation goal has the code %(code)s.", code=code)
    if not title.get(GOAL_TITLE_LANGUAGE):
        errors[f"title_{GOAL_TITLE_LANGUAGE}"] = gettext("Give the goal a title in Dutch.")
    for lang, text in title.items():
        if len(text) > GOAL_TITLE_LIMIT:
            errors[f"title_{lang}"] = gettext(
                "At most %(count)d characters.", count=GOAL_TITLE_LIMIT
            )
    for lang, text in description.items():
        if len(text) > GOAL_DESCRIPTION_LIMIT:
            errors[f"description_{lang}"] = gettext(
                "At most %(count)d characters.", count=GOAL_DESCRIPTION_LIMIT
            )
    if errors:
        raise InvalidInput(errors)
    return OrganisationGoalInput(
        code=code,
        title={lang: text for lang, text in title.items() if text},
        description={lang: text for lang, text in description.items() if text},
        active=data.active,
    )


def create_organisation_goal(data: OrganisationGoalInput, actor: User) -> OrganisationGoal:
    """A new organisation goal, last in the list."""
    require_programme_admin(actor)
    clean = _check_goal(data, None)
    last = db.session.scalar(select(func.max(OrganisationGoal.position)))
    goal = OrganisationGoal(
        code=clean.code,
        title=clean.title,
        description=clean.description,
        position=(last + 1) if last is not None else 0,
        active=clean.active,
    )
    db.session.add(goal)
    db.session.flush()
    return goal


def update_organisation_goal(
    goal: OrganisationGoal, data: OrganisationGoalInput, actor: User
) -> None:
    """Change a goal's code, texts or active flag. Goals are deactivated, never deleted:
    learning goals keep referring to them."""
    require_programme_admin(actor)
    clean = _check_goal(data, goal)
    goal.code = clean.code
    goal.title = clean.title
    goal.description = clean.description
    goal.active = clean.active
    db.session.flush()


class Direction(enum.StrEnum):
    UP = "up"
    DOWN = "down"


def move_organisation_goal(goal: OrganisationGoal, direction: Direction, actor: User) -> bool:
    """Swap the goal with its neighbour above or below; False when it is first or last already.

    Positions are renumbered 0..n-1 on the way, so goals with equal positions (or gaps) from
    older manifests get a well-defined order.
    """
    require_programme_admin(actor)
    goals = organisation_goals()
    index = next(i for i, g in enumerate(goals) if g.id == goal.id)
    other = index - 1 if direction is Direction.UP else index + 1
    if not 0 <= other < len(goals):
        return False
    goals[index], goals[other] = goals[other], goals[index]
    for position, each in enumerate(goals):
        if each.position != position:
            each.position = position
    db.session.flush()
    return True


def update_programme_settings(
    tenant: Tenant,
    *,
    learners_choose_coach: bool,
    goals_require_organisation_goal: bool,
    actor: User,
) -> None:
    """The two switches of the programme (see `Tenant`)."""
    require_programme_admin(actor)
    tenant.learners_choose_coach = learners_choose_coach
    tenant.goals_require_organisation_goal = goals_require_organisation_goal
    db.session.flush()

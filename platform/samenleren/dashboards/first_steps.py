"""The programme administrator's first steps with a new tenant: a checklist on the dashboard.

Each step is ticked off from the data (never a stored flag), so a step undone later shows again:
the organisation goals first (every learning goal refers to them), then the coach pool, a first
training, the identity provider's groups mapped to roles, and the tenant's own words and look.
The checklist goes away once every step is done. No query of its own: the dashboard has read
the organisation goals, the coach pool and whether a training exists already.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from samenleren.core.tenant import Tenant
from samenleren.identity.models import Role


@dataclass(frozen=True)
class FirstStep:
    key: str
    label: str
    hint: str
    #: Where the administrator does it.
    endpoint: str
    done: bool


_STEPS = (
    (
        "goals",
        _l("Set the organisation goals"),
        _l("Every learning goal contributes to one of them: they come first."),
        "tenants.list_organisation_goals",
    ),
    (
        "coaches",
        _l("Build the coach pool"),
        _l("The colleagues who coach learners, with how many each takes at a time."),
        "coaching.list_coaches",
    ),
    (
        "training",
        _l("Add the first training"),
        _l("With an edition employees can apply for."),
        "catalogue.list_trainings",
    ),
    (
        "roles",
        _l("Map the identity provider's groups to roles"),
        _l("So that coaches, managers and trainers get their role when they log in."),
        "sso.edit_sso_settings",
    ),
    (
        "look",
        _l("Make it your own"),
        _l("Your organisation's own words for the programme's nouns."),
        "tenants.edit_terminology",
    ),
)


def first_steps(tenant: Tenant, *, goals: bool, coaches: bool, training: bool) -> list[FirstStep]:
    """The checklist, in order; empty once every step is done. `goals`, `coaches`, `training`:
    whether the tenant has active organisation goals, active coaches, a training."""
    mapped = any(
        any(role != Role.LEARNER.value for role in roles)
        for roles in (tenant.group_roles or {}).values()
    )
    done = {
        "goals": goals,
        "coaches": coaches,
        "training": training,
        "roles": mapped,
        "look": bool(tenant.terminology) or tenant.theme_logo_type is not None,
    }
    steps = [
        FirstStep(key, str(label), str(hint), endpoint, done[key])
        for key, label, hint, endpoint in _STEPS
    ]
    return [] if all(step.done for step in steps) else steps

"""Who someone is to a trajectory, and what that lets them do with its steps.

The template names the parties of each step (who is responsible, who fills in which field); a
user's relations to one trajectory decide which of those parts they play. Every write service of
the trajectories checks these rules before it changes anything.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import gettext

from samenleren.core.errors_input import InvalidInput
from samenleren.identity.models import Role, User
from samenleren.process_templates.definition import FieldSpec, StepSpec
from samenleren.trajectories.models import StepInstance, Trajectory, TrajectoryStatus


def relations_to(trajectory: Trajectory, user: User) -> frozenset[Role]:
    """The parts `user` plays in `trajectory` (the parties of the template). Empty: a stranger.

    Holding the coach or manager *role* is not enough: one must be this trajectory's coach, or
    this learner's line manager. Needs `trajectory.learner` and `trajectory.edition` loaded.
    """
    relations = set()
    if trajectory.learner_id == user.id:
        relations.add(Role.LEARNER)
    if trajectory.coach_id is not None and trajectory.coach_id == user.id:
        relations.add(Role.COACH)
    if trajectory.learner.manager_id is not None and trajectory.learner.manager_id == user.id:
        relations.add(Role.MANAGER)
    if trajectory.edition.trainer_id is not None and trajectory.edition.trainer_id == user.id:
        relations.add(Role.TRAINER)
    if user.has_role(Role.PROGRAMME_ADMIN):
        relations.add(Role.PROGRAMME_ADMIN)
    return frozenset(relations)


def role_names() -> dict[Role, str]:
    """Each role with its article, for sentences, in the tenant's own words (terminology)."""
    from samenleren.core.terminology import role_name

    return {role: role_name(role) for role in Role}


def parties(roles: Sequence[Role]) -> str:
    names = role_names()
    return ", ".join(names[role] for role in roles)


def step_spec(trajectory: Trajectory, step: StepInstance) -> StepSpec:
    spec = trajectory.template_version.content.step(step.step_key)
    if spec is None:  # a published version never loses a step; this is data corruption
        raise LookupError(f"step {step.step_key} not in version {trajectory.template_version_id}")
    return spec


def may_plan(spec: StepSpec, relations: frozenset[Role]) -> bool:
    return bool(relations & set(spec.responsible))


def may_edit(spec: FieldSpec, relations: frozenset[Role]) -> bool:
    return bool(relations & set(spec.editors))


def require_active(trajectory: Trajectory) -> None:
    """Refuse a change of a trajectory that ended or is restricted from further processing."""
    if trajectory.status is not TrajectoryStatus.ACTIVE:
        raise InvalidInput.form(gettext("This trajectory has ended; it can no longer be changed."))
    if trajectory.restricted:
        raise InvalidInput.form(
            gettext(
                "This trajectory is restricted from further processing; nothing in it can be "
                "changed until the programme administrator lifts the restriction."
            )
        )


def require_responsible(spec: StepSpec, relations: frozenset[Role], what: str) -> None:
    if not may_plan(spec, relations):
        raise InvalidInput.form(
            gettext(
                "Only %(parties)s may %(what)s this step.",
                parties=parties(spec.responsible),
                what=what,
            )
        )

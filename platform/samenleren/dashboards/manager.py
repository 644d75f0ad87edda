"""The manager's dashboard: the trajectories of my direct reports and what awaits me in them
(statuses and links only; the manager reads no recorded value here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from samenleren.core.extensions import db
from samenleren.core.formatting import local_today
from samenleren.dashboards.cards import Card, Task, by_status_then, cards_of, trajectory_query
from samenleren.identity.models import Role, User
from samenleren.process_templates.definition import (
    FieldSpec,
    FieldType,
    StepSpec,
)
from samenleren.trajectories.confidentiality import filled_fields
from samenleren.trajectories.models import (
    Trajectory,
    TrajectoryStatus,
)


@dataclass(frozen=True)
class ManagerDashboard:
    cards: list[Card]
    awaiting: list[Task]


def manager_dashboard(user: User, today: date | None = None) -> ManagerDashboard:
    """The trajectories of my direct reports and what awaits me in them (3 or 4 queries).

    Statuses and links only: the manager never reads a value here, and whether a field is
    filled in is asked only of the fields the manager fills in.
    """
    today = today or local_today()
    trajectories = db.session.scalars(
        trajectory_query(Trajectory.status != TrajectoryStatus.WITHDRAWN)
        .join(User, User.id == Trajectory.learner_id)
        .where(User.manager_id == user.id)
    ).all()
    trajectories = by_status_then(trajectories, lambda t: (t.learner.name, t.edition.starts_on))
    cards = cards_of(trajectories, Role.MANAGER, today)
    candidates = [
        (card, entry)
        for card in cards
        if card.trajectory.status is TrajectoryStatus.ACTIVE
        for entry in card.timeline.entries
        if entry.is_open and (Role.MANAGER in entry.spec.responsible or _manager_fields(entry.spec))
    ]
    needs_fields = [entry.step for _, entry in candidates if _manager_fields(entry.spec)]
    definition_of = {card.trajectory.id: card.trajectory.template_version.content for card in cards}
    filled = filled_fields(definition_of, needs_fields, frozenset({Role.MANAGER}))
    awaiting = []
    for card, entry in candidates:
        open_fields = [
            spec
            for spec in _manager_fields(entry.spec)
            if spec.key not in filled.get(entry.step.id, set())
        ]
        plans = Role.MANAGER in entry.spec.responsible
        if plans or open_fields:
            awaiting.append(Task(card.trajectory, entry, open_fields, plans))
    awaiting.sort(key=lambda task: (task.entry.step.due_on, task.trajectory.learner.name))
    return ManagerDashboard(cards, awaiting)


def _manager_fields(spec: StepSpec) -> list[FieldSpec]:
    """The fields of a step that wait for the manager: required ones the manager (also) fills
    in, and those only the manager fills in. Optional fields shared with others (comments)
    do not make the manager's list."""
    return [
        f
        for f in spec.fields
        if Role.MANAGER in f.editors
        and f.type is not FieldType.GOALS
        and (f.required or set(f.editors) == {Role.MANAGER})
    ]

"""What several dashboards show: trajectories as cards (the timeline as seen in the dashboard's
role), and the steps listed as tasks.

Every dashboard returns plain data for its template in a fixed number of queries whatever the
amount of data (at most 8 a page, login and tenant included; the dashboard tests count them):
the rows of all trajectories, steps or editions are loaded together, never one query per row.
Recorded values reach a dashboard only through `samenleren.trajectories.confidentiality`; most
dashboards show statuses and links only.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import (
    ColumnElement,
    Select,
    select,
)
from sqlalchemy.orm import joinedload, raiseload

from samenleren.catalogue.models import (
    Edition,
    Training,
)
from samenleren.core.extensions import db
from samenleren.identity.models import Role, User
from samenleren.process_templates.definition import (
    FieldSpec,
)
from samenleren.trajectories.models import (
    StepInstance,
    Trajectory,
    TrajectoryStatus,
)
from samenleren.trajectories.timeline import Timeline, TimelineEntry, timeline_of


@dataclass(frozen=True)
class Card:
    """One trajectory on a dashboard: its timeline as seen in the dashboard's role."""

    trajectory: Trajectory
    timeline: Timeline

    @property
    def current(self) -> TimelineEntry | None:
        """Where the trajectory stands: the step its learner's own page names as next."""
        return self.timeline.current


def trajectory_query(*criteria: ColumnElement[bool]) -> Select:
    """Trajectories with the learner, coach, edition, training and template version (1 query).

    People are loaded without their roles (nothing here asks them), so no query follows per row.
    """
    return (
        select(Trajectory)
        .where(*criteria)
        .options(
            joinedload(Trajectory.learner).options(raiseload(User.role_assignments)),
            joinedload(Trajectory.coach).options(raiseload(User.role_assignments)),
            joinedload(Trajectory.edition)
            .joinedload(Edition.training)
            .options(raiseload(Training.departments)),
            joinedload(Trajectory.template_version),
        )
    )


def _steps_by_trajectory(trajectories: Sequence[Trajectory]) -> dict[uuid.UUID, list[StepInstance]]:
    """The steps of all `trajectories` in one query, each list in the template's order."""
    if not trajectories:
        return {}
    steps: dict[uuid.UUID, list[StepInstance]] = defaultdict(list)
    for step in db.session.scalars(
        select(StepInstance)
        .where(StepInstance.trajectory_id.in_([t.id for t in trajectories]))
        .order_by(StepInstance.trajectory_id, StepInstance.position, StepInstance.occurrence)
    ):
        steps[step.trajectory_id].append(step)
    return steps


def cards_of(trajectories: Sequence[Trajectory], role: Role, today: date) -> list[Card]:
    steps = _steps_by_trajectory(trajectories)
    relations = frozenset({role})
    return [
        Card(
            trajectory,
            timeline_of(
                trajectory,
                trajectory.template_version.content,
                steps.get(trajectory.id, []),
                relations,
                today,
            ),
        )
        for trajectory in trajectories
    ]


_STATUS_ORDER = {TrajectoryStatus.ACTIVE: 0, TrajectoryStatus.COMPLETED: 1}


def by_status_then(trajectories: Iterable[Trajectory], key) -> list[Trajectory]:
    return sorted(trajectories, key=lambda t: (_STATUS_ORDER.get(t.status, 2), key(t)))


@dataclass(frozen=True)
class Task:
    """A step of a trajectory, for the lists of what comes up or waits."""

    trajectory: Trajectory
    entry: TimelineEntry
    #: Fields still to fill in (the manager's list), else empty.
    fields: list[FieldSpec] = field(default_factory=list)
    #: The viewer plans and closes this step (the manager's list).
    plans: bool = False

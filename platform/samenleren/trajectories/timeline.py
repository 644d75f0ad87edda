"""A trajectory as a timeline: its steps in order, progress, and what to do next.

Shared by the trajectory page and the dashboards, so "next thing to do" means the same
everywhere. Pure: it takes loaded rows and the parsed template, and runs no query.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from samenleren.identity.models import Role
from samenleren.process_templates.definition import StepSpec, TemplateDefinition
from samenleren.trajectories.confidentiality import StepTexts, step_texts
from samenleren.trajectories.models import StepInstance, StepState, Trajectory, TrajectoryStatus


@dataclass(frozen=True)
class TimelineEntry:
    step: StepInstance
    spec: StepSpec
    overdue: bool
    #: The viewer has something to do here: plan or close it, or fill in a field.
    mine: bool
    #: The step's place, video link and skip reason, as far as the viewer may read them.
    texts: StepTexts
    #: It is the viewer's turn now: their first open step, or one of theirs that is overdue.
    #: Later steps of theirs are `mine` but wait for their turn ("your turn" once, not on
    #: every future step).
    turn: bool = False

    @property
    def is_open(self) -> bool:
        return self.step.state.is_open


@dataclass(frozen=True)
class Timeline:
    entries: list[TimelineEntry]
    done: int
    total: int
    #: What the viewer should do next (their first open step), else the first open step.
    next_entry: TimelineEntry | None
    #: Repeating steps of which the viewer may plan another occurrence.
    addable: list[StepSpec]
    #: Where the trajectory stands, the same for every viewer: the step the learner's own page
    #: names as next (the learner's first open step in time, else the first open step). The
    #: manager's team table shows this one; None when the trajectory is not running.
    current: TimelineEntry | None = None

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def overdue(self) -> int:
        return sum(1 for entry in self.entries if entry.overdue)


_LEARNER = frozenset({Role.LEARNER})


def _when(entry: TimelineEntry) -> date:
    """When a step happens: its appointment if one is agreed, else its due date."""
    starts_at = entry.step.starts_at
    return starts_at.date() if starts_at is not None else entry.step.due_on


def has_work(spec: StepSpec, relations: frozenset[Role]) -> bool:
    """Whether someone with `relations` plans, closes or fills in something in this step."""
    if relations & set(spec.responsible):
        return True
    return any(relations & set(field.editors) for field in spec.fields)


def timeline_of(
    trajectory: Trajectory,
    definition: TemplateDefinition,
    steps: Sequence[StepInstance],
    relations: frozenset[Role],
    today: date,
) -> Timeline:
    active = trajectory.status is TrajectoryStatus.ACTIVE
    entries = []
    for step in steps:
        spec = definition.step(step.step_key)
        if spec is None:
            continue
        entries.append(
            TimelineEntry(
                step=step,
                spec=spec,
                overdue=active and step.is_overdue(today),
                mine=active and step.state.is_open and has_work(spec, relations),
                texts=step_texts(spec, step, relations),
            )
        )
    done = sum(1 for e in entries if e.step.state in {StepState.DONE, StepState.SKIPPED})
    open_entries = sorted((e for e in entries if e.is_open), key=_when)
    next_entry = None
    if active:
        first_mine = next((e for e in open_entries if e.mine), None)
        entries = [
            replace(e, turn=True) if e.mine and (e is first_mine or e.overdue) else e
            for e in entries
        ]
        turns = {e.step.id: e for e in entries if e.turn}
        next_entry = (turns[first_mine.step.id] if first_mine else None) or next(
            iter(open_entries), None
        )
    current = None
    if active:
        learners = next((e for e in open_entries if has_work(e.spec, _LEARNER)), None)
        chosen = learners or next(iter(open_entries), None)
        current = next((e for e in entries if chosen and e.step.id == chosen.step.id), None)
    counts = Counter(step.step_key for step in steps)
    addable = [
        spec
        for spec in definition.steps
        if active
        and spec.repeat.max > 1
        and counts[spec.key] < spec.repeat.max
        and relations & set(spec.responsible)
    ]
    return Timeline(entries, done, len(entries), next_entry, addable, current)

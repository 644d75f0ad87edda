"""When each step of a template is due: from its anchor (enrolment, the edition's start or end,
or another step) and its offset; a repeating step's later occurrences at its interval.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Protocol

from samenleren.process_templates.definition import Anchor, StepSpec, TemplateDefinition


class EditionDates(Protocol):
    """What timing needs of an edition (catalogue's `Edition` has it), only to read."""

    @property
    def starts_on(self) -> date: ...

    @property
    def ends_on(self) -> date: ...


def due_dates(
    definition: TemplateDefinition, enrolled_on: date, edition: EditionDates
) -> dict[str, date]:
    """The first due date of every step, from its anchor and offset."""
    dates: dict[str, date] = {}
    for step in definition.steps:
        timing = step.timing
        if timing.step is not None:
            # Anchored to a step: the definition allows only an earlier one, dated already.
            base = dates[timing.step]
        else:
            base = {
                Anchor.ENROLMENT: enrolled_on,
                Anchor.EDITION_START: edition.starts_on,
                Anchor.EDITION_END: edition.ends_on,
            }[timing.anchor]
        dates[step.key] = timing.apply(base)
    return dates


def occurrence_due(first_due: date, step: StepSpec, occurrence: int) -> date:
    return first_due + timedelta(days=step.repeat.interval_days * (occurrence - 1))

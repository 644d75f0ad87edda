"""The timeline a learner would get from a template version: the preview of the editor.

It computes the dates with the very functions a starting trajectory uses
(`process_templates.timing.due_dates` and `occurrence_due`), for an imagined edition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from samenleren.process_templates.definition import StepSpec, TemplateDefinition
from samenleren.process_templates.timing import due_dates, occurrence_due


@dataclass(frozen=True)
class ImaginedEdition:
    """What `due_dates` needs of an edition: its first and last day."""

    starts_on: date
    ends_on: date


@dataclass(frozen=True)
class PreviewEntry:
    spec: StepSpec
    occurrence: int
    due_on: date
    #: Created when the trajectory starts (else: only when someone plans another occurrence).
    from_the_start: bool


def preview(
    definition: TemplateDefinition, starts_on: date, ends_on: date, enrolled_on: date
) -> list[PreviewEntry]:
    """Every step occurrence a trajectory could have, in template order, with its due date."""
    dates = due_dates(definition, enrolled_on, ImaginedEdition(starts_on, ends_on))
    entries = []
    for step in definition.steps:
        for occurrence in range(1, max(step.repeat.max, step.repeat.min, 1) + 1):
            entries.append(
                PreviewEntry(
                    spec=step,
                    occurrence=occurrence,
                    due_on=occurrence_due(dates[step.key], step, occurrence),
                    from_the_start=occurrence <= step.repeat.min,
                )
            )
    return entries

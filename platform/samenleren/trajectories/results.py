"""Expected results and their ratings: what the manager expects a trajectory to deliver at work,
measured again later by the learner and the manager.

The process template decides where: its `expected_results` field names the step in which the
results are set (and who sets them), and each `result_rating` field names a step, a moment and
who rates (`process_templates.definition`). Each rater rates every expected result once per
moment; a later save replaces their own earlier rating. Reading the results and their examples
follows the template's readers of these fields; the programme admin only ever gets counts
(`samenleren.insight`), never the words.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import select

from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.identity.models import Role, User
from samenleren.process_templates.definition import (
    FieldSpec,
    FieldType,
    StepSpec,
    TemplateDefinition,
)
from samenleren.trajectories.models import (
    ExpectedResult,
    LearningGoal,
    ResultLevel,
    ResultRating,
    StepInstance,
    StepState,
    Trajectory,
    TrajectoryStatus,
)
from samenleren.trajectories.permissions import parties, relations_to, require_active, step_spec

MIN_RESULTS, MAX_RESULTS = 1, 5
TEXT_LIMIT = 1000


@dataclass
class ResultInput:
    learning_goal_id: str
    observable: str
    contribution: str = ""


@dataclass
class RatingInput:
    level: str
    example: str = ""
    #: "yes", "no" or "" (the manager's report on their own contribution).
    contribution_done: str = ""


def results_field(definition: TemplateDefinition) -> tuple[StepSpec, FieldSpec] | None:
    """The template's expected-results field and its step, if the template asks for them."""
    for spec in definition.steps:
        for field_spec in spec.fields:
            if field_spec.type is FieldType.EXPECTED_RESULTS:
                return spec, field_spec
    return None


def rating_field(spec: StepSpec) -> FieldSpec | None:
    """The step's result-rating field, if it asks for one."""
    return next((f for f in spec.fields if f.type is FieldType.RESULT_RATING), None)


def may_read_results(definition: TemplateDefinition, relations: frozenset[Role]) -> bool:
    """The expected results' words are readable by the readers of the template's field."""
    found = results_field(definition)
    if found is None:
        return False
    step, field_spec = found
    return bool(relations & step.readers_of(field_spec) - {Role.PROGRAMME_ADMIN})


def results_of(trajectory: Trajectory) -> list[ExpectedResult]:
    return list(
        db.session.scalars(
            select(ExpectedResult)
            .where(ExpectedResult.trajectory_id == trajectory.id)
            .order_by(ExpectedResult.position)
        )
    )


def ratings_of(step: StepInstance) -> dict[tuple[uuid.UUID, str], ResultRating]:
    """{(expected result id, rater role): rating} given in this step."""
    return {
        (row.expected_result_id, row.rater_role): row
        for row in db.session.scalars(
            select(ResultRating).where(ResultRating.step_instance_id == step.id)
        )
    }


def _clean_text(value: str, name: str, errors: dict[str, str], *, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        errors[name] = gettext("Describe what will be seen at work.")
    elif len(text) > TEXT_LIMIT:
        errors[name] = gettext("At most %(count)d characters.", count=TEXT_LIMIT)
    return text


def set_expected_results(
    trajectory: Trajectory, step: StepInstance, actor: User, results: Sequence[ResultInput]
) -> None:
    """Replace the trajectory's expected results (1 to 5, each tied to a learning goal).

    Only in the step the template names and by its editors; a result that is kept (same
    place in the list) keeps its ratings, a removed one takes them along.
    """
    relations = relations_to(trajectory, actor)
    require_active(trajectory)
    found = results_field(trajectory.template_version.content)
    if found is None or found[0].key != step.step_key:
        raise InvalidInput.form(gettext("This step does not ask for expected results."))
    field_spec = found[1]
    if not relations & set(field_spec.editors):
        raise InvalidInput.form(
            gettext(
                "Only %(parties)s set the expected results.", parties=parties(field_spec.editors)
            )
        )
    if step.state is StepState.SKIPPED:
        raise InvalidInput.form(gettext("This step was skipped; reopen it first."))
    goal_ids = {
        str(goal_id)
        for goal_id in db.session.scalars(
            select(LearningGoal.id).where(LearningGoal.trajectory_id == trajectory.id)
        )
    }
    errors: dict[str, str] = {}
    cleaned: list[tuple[uuid.UUID, str, str]] = []
    for index, given in enumerate(results):
        if not (given.observable.strip() or given.contribution.strip() or given.learning_goal_id):
            continue  # an empty row of the form
        observable = _clean_text(
            given.observable, f"result-{index}-observable", errors, required=True
        )
        contribution = _clean_text(
            given.contribution, f"result-{index}-contribution", errors, required=False
        )
        if given.learning_goal_id not in goal_ids:
            errors[f"result-{index}-goal"] = gettext("Choose one of the learner's learning goals.")
            continue
        cleaned.append((uuid.UUID(given.learning_goal_id), observable, contribution))
    if not goal_ids:
        raise InvalidInput.form(gettext("Set the learning goals first."))
    if not errors and not MIN_RESULTS <= len(cleaned) <= MAX_RESULTS:
        errors["results"] = gettext(
            "Give from %(low)d to %(high)d expected results.", low=MIN_RESULTS, high=MAX_RESULTS
        )
    if errors:
        raise InvalidInput(errors)
    existing = results_of(trajectory)
    for position, (goal_id, observable, contribution) in enumerate(cleaned):
        if position < len(existing):
            row = existing[position]
            if row.learning_goal_id != goal_id or row.observable != observable:
                # Another result in this place: earlier ratings were of something else.
                for rating in db.session.scalars(
                    select(ResultRating).where(ResultRating.expected_result_id == row.id)
                ):
                    db.session.delete(rating)
            row.learning_goal_id, row.observable = goal_id, observable
            row.contribution = contribution
        else:
            db.session.add(
                ExpectedResult(
                    trajectory_id=trajectory.id,
                    learning_goal_id=goal_id,
                    position=position,
                    observable=observable,
                    contribution=contribution,
                    created_by_id=actor.id,
                )
            )
    for row in existing[len(cleaned) :]:
        db.session.delete(row)
    db.session.flush()


def rater_role(field_spec: FieldSpec, relations: frozenset[Role]) -> Role | None:
    """In which capacity the viewer rates with this field (learner or manager), if at all."""
    for role in (Role.LEARNER, Role.MANAGER):
        if role in relations and role in field_spec.editors:
            return role
    return None


def rate_results(
    trajectory: Trajectory, step: StepInstance, actor: User, given: Mapping[str, RatingInput]
) -> int:
    """Save the actor's ratings of the expected results in this step; returns how many changed.

    `given` maps an expected result's id to the rating. An empty level leaves that result
    unrated (an earlier rating of one's own is removed). A completed trajectory still takes
    ratings (the moments after the return day come later); a withdrawn one does not.
    """
    relations = relations_to(trajectory, actor)
    spec = step_spec(trajectory, step)
    field_spec = rating_field(spec)
    if field_spec is None or field_spec.moment is None:
        raise InvalidInput.form(gettext("This step does not ask for ratings."))
    if trajectory.status is TrajectoryStatus.WITHDRAWN:
        require_active(trajectory)
    if step.state is StepState.SKIPPED:
        raise InvalidInput.form(gettext("This step was skipped; reopen it first."))
    role = rater_role(field_spec, relations)
    if role is None:
        raise InvalidInput.form(
            gettext(
                "Only %(parties)s rate the expected results.",
                parties=parties(field_spec.editors),
            )
        )
    results = {str(row.id): row for row in results_of(trajectory)}
    levels = {level.value for level in ResultLevel}
    errors: dict[str, str] = {}
    for result_id, rating in given.items():
        if result_id not in results:
            errors["ratings"] = gettext("This expected result is not part of the trajectory.")
            continue
        if rating.level and rating.level not in levels:
            errors[f"rating-{result_id}-level"] = gettext("Choose one of the options.")
        if len(rating.example.strip()) > TEXT_LIMIT:
            errors[f"rating-{result_id}-example"] = gettext(
                "At most %(count)d characters.", count=TEXT_LIMIT
            )
        if rating.contribution_done not in {"", "yes", "no"}:
            errors[f"rating-{result_id}-contribution"] = gettext("Choose yes or no.")
        elif rating.contribution_done and role is not Role.MANAGER:
            errors[f"rating-{result_id}-contribution"] = gettext(
                "Only the manager reports on their own contribution."
            )
        if rating.example.strip() and not rating.level:
            errors[f"rating-{result_id}-level"] = gettext("Choose a rating for this example.")
    if errors:
        raise InvalidInput(errors)
    mine = {key[0]: row for key, row in ratings_of(step).items() if key[1] == role.value}
    changed = 0
    for result_id, rating in given.items():
        result = results[result_id]
        row = mine.get(result.id)
        if not rating.level:
            if row is not None:
                db.session.delete(row)
                changed += 1
            continue
        done = None if not rating.contribution_done else rating.contribution_done == "yes"
        values = (ResultLevel(rating.level), rating.example.strip(), done)
        if row is None:
            db.session.add(
                ResultRating(
                    expected_result_id=result.id,
                    step_instance_id=step.id,
                    moment=field_spec.moment.value,
                    rater_role=role.value,
                    rater_id=actor.id,
                    level=values[0],
                    example=values[1],
                    contribution_done=values[2],
                )
            )
            changed += 1
        elif (row.level, row.example, row.contribution_done) != values:
            row.level, row.example, row.contribution_done = values
            row.rater_id = actor.id
            changed += 1
    db.session.flush()
    return changed


def missing_for_completion(trajectory: Trajectory, spec: StepSpec, step: StepInstance) -> dict:
    """Field errors that keep a step open: a required expected-results field with no result,
    a required rating field with a result some rater has not rated."""
    errors: dict[str, str] = {}
    for field_spec in spec.fields:
        if not field_spec.required:
            continue
        if field_spec.type is FieldType.EXPECTED_RESULTS and not results_of(trajectory):
            errors[f"f.{field_spec.key}"] = gettext("Give at least one expected result.")
        elif field_spec.type is FieldType.RESULT_RATING:
            results = results_of(trajectory)
            given = ratings_of(step)
            raters = [r for r in (Role.LEARNER, Role.MANAGER) if r in field_spec.editors]
            if any((row.id, role.value) not in given for row in results for role in raters):
                errors[f"f.{field_spec.key}"] = gettext(
                    "Every expected result must be rated (by %(parties)s).",
                    parties=parties(raters),
                )
    return errors

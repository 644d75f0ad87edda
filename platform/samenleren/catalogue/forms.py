"""Form input of the catalogue pages, parsed into the typed input of the services.

Only the format is checked here (a number, a date, a choice from a list); what the input must
mean (dates in order, a title present, a trainer holding the role) is a business rule and lives
in the services (`trainings`, `editions`, `sessions`). Either raises `InvalidInput`, keyed by
form field name.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from samenleren.catalogue.editions import EditionInput
from samenleren.catalogue.sessions import SessionInput
from samenleren.catalogue.trainings import TrainingInput
from samenleren.core.errors_input import InvalidInput
from samenleren.core.formatting import LOCAL_ZONE
from samenleren.core.money import AmountError, amount_message, parse_cents


def _text(form: MultiDict, name: str) -> str:
    return form.get(name, "", type=str)


def _checked(form: MultiDict, name: str) -> bool:
    return form.get(name) in {"1", "on", "y", "yes", "true"}


def _capacity(form: MultiDict, errors: dict[str, str]) -> int | None:
    raw = _text(form, "capacity").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        errors["capacity"] = gettext("Give the number of places as a whole number.")
        return None


def _cents(form: MultiDict, name: str, errors: dict[str, str]) -> int:
    """An amount in euros ("1.234,56" or "1234.56"; empty is 0) as cents."""
    raw = _text(form, name).strip()
    if not raw:
        return 0
    try:
        return parse_cents(raw)
    except AmountError as refused:
        errors[name] = amount_message(refused)
        return 0


def _minimum(form: MultiDict, errors: dict[str, str]) -> int | None:
    raw = _text(form, "minimum").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        errors["minimum"] = gettext("Give the minimum as a whole number.")
        return None


def _uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def _date(form: MultiDict, name: str, errors: dict[str, str], missing: str) -> date | None:
    raw = _text(form, name).strip()
    if not raw:
        errors[name] = missing
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = gettext("Give a date as day, month and year, e.g. 2027-03-12.")
        return None


def _moment(form: MultiDict, name: str, errors: dict[str, str], missing: str) -> datetime | None:
    """A `datetime-local` value: Dutch local time, turned into UTC."""
    raw = _text(form, name).strip()
    if not raw:
        errors[name] = missing
        return None
    try:
        local = datetime.fromisoformat(raw)
    except ValueError:
        errors[name] = gettext("Give a date and a time, e.g. 2027-03-12 09:30.")
        return None
    if local.tzinfo is None:
        local = local.replace(tzinfo=LOCAL_ZONE)
    return local.astimezone(UTC)


def _template_choice(form: MultiDict, errors: dict[str, str]) -> uuid.UUID | None:
    """The chosen process template; empty: the default (or the training's, for an edition)."""
    raw = _text(form, "process_template_id").strip()
    if not raw:
        return None
    template_id = _uuid(raw)
    if template_id is None:
        errors["process_template_id"] = gettext(
            "Choose a process template from the list (one with a published version)."
        )
    return template_id


def training_input(form: MultiDict) -> TrainingInput:
    errors: dict[str, str] = {}
    capacity = _capacity(form, errors)
    process_template_id = _template_choice(form, errors)
    department_ids = []
    for raw in form.getlist("department_ids"):
        department_id = _uuid(raw)
        if department_id is None:
            errors["department_ids"] = gettext("Choose departments from the list.")
        else:
            department_ids.append(department_id)
    if errors:
        raise InvalidInput(errors)
    return TrainingInput(
        title=_text(form, "title"),
        description=_text(form, "description"),
        provider=_text(form, "provider"),
        open_to_all=_text(form, "open_to") != "departments",
        department_ids=department_ids,
        capacity=capacity,
        active=_checked(form, "active"),
        process_template_id=process_template_id,
    )


def edition_input(form: MultiDict) -> EditionInput:
    errors: dict[str, str] = {}
    starts_on = _date(form, "starts_on", errors, gettext("Give the date of the first day."))
    ends_on = _date(form, "ends_on", errors, gettext("Give the date of the last day."))
    capacity = _capacity(form, errors)
    cost_fixed = _cents(form, "cost_fixed", errors)
    cost_per_participant = _cents(form, "cost_per_participant", errors)
    minimum = _minimum(form, errors)
    process_template_id = _template_choice(form, errors)
    apply_until = (
        _date(form, "apply_until", errors, "") if _text(form, "apply_until").strip() else None
    )
    raw_trainer = _text(form, "trainer_id").strip()
    trainer_id = _uuid(raw_trainer) if raw_trainer else None
    if raw_trainer and trainer_id is None:
        errors["trainer_id"] = gettext("Choose a trainer from the list.")
    if errors or starts_on is None or ends_on is None:
        raise InvalidInput(errors)
    return EditionInput(
        name=_text(form, "name"),
        starts_on=starts_on,
        ends_on=ends_on,
        location=_text(form, "location"),
        trainer_id=trainer_id,
        capacity=capacity,
        minimum=minimum,
        apply_until=apply_until,
        cancelled=_checked(form, "cancelled"),
        cost_fixed_cents=cost_fixed,
        cost_per_participant_cents=cost_per_participant,
        process_template_id=process_template_id,
    )


def session_input(form: MultiDict) -> SessionInput:
    errors: dict[str, str] = {}
    starts_at = _moment(form, "starts_at", errors, gettext("Give the start of the session."))
    ends_at = _moment(form, "ends_at", errors, gettext("Give the end of the session."))
    if errors or starts_at is None or ends_at is None:
        raise InvalidInput(errors)
    return SessionInput(
        starts_at=starts_at,
        ends_at=ends_at,
        location=_text(form, "location"),
        topic=_text(form, "topic"),
    )


def chosen_learner_id(form: MultiDict) -> uuid.UUID:
    """The employee chosen in the "enrol an employee" form."""
    raw = _text(form, "learner_id").strip()
    learner_id = _uuid(raw) if raw else None
    if learner_id is None:
        raise InvalidInput({"learner_id": gettext("Choose an employee from the list.")})
    return learner_id


def attendance_marks(form: MultiDict, learner_ids: list[uuid.UUID]) -> dict[uuid.UUID, bool]:
    """learner id -> present, for the learners whose radio buttons were set."""
    marks = {}
    for learner_id in learner_ids:
        value = form.get(f"present-{learner_id}")
        if value in {"yes", "no"}:
            marks[learner_id] = value == "yes"
    return marks


def datetime_local_value(value: datetime | None) -> str:
    """A UTC moment as the value of an `<input type="datetime-local">` (Dutch local time)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(LOCAL_ZONE).strftime("%Y-%m-%dT%H:%M")

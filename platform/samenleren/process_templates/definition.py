"""The content of a process template version: steps, fields, timing, as a validated document.

A version's steps are stored as one JSON document checked by these pydantic models, not as rows:
a published version is immutable as a whole, can be exported, imported and compared as a file,
and a trajectory only ever needs the whole list of its version. Step and field *keys* are stable
identifiers that trajectories refer to; names and labels are per language.

Parties are the roles of domain.md, read relative to one trajectory: `learner` is the
trajectory's learner, `coach` its coach, `manager` the learner's line manager, `trainer` the
edition's trainer, `programme_admin` any programme administrator of the tenant.
"""

from __future__ import annotations

import enum
import re
from datetime import date
from typing import Annotated, TypeVar

from dateutil.relativedelta import relativedelta
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from samenleren.identity.models import Role

SCHEMA_VERSION = 1
MAX_STEPS = 40
MAX_FIELDS = 20
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"

Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
#: {"nl": "...", "en": "...", "fy": "..."}; the tenant's default language must be present.
Translated = dict[Annotated[str, StringConstraints(pattern=r"^(nl|en|fy)$")], Text]


class StepKind(enum.StrEnum):
    #: A conversation between some of learner, coach and manager (steps 1, 2, 4, 5).
    CONVERSATION = "conversation"
    #: A meeting of the edition's whole group, held once for everyone (steps 6 and 7).
    GROUP_MEETING = "group_meeting"
    #: The training's own sessions, attendance kept by the trainer (step 3).
    TRAINING_SESSION = "training_session"
    #: A moment to mark, with no meeting (e.g. "certificate received").
    MILESTONE = "milestone"


class FieldType(enum.StrEnum):
    TEXT = "text"
    LONG_TEXT = "long_text"
    RATING = "rating"  #: 1..5
    #: The learner's learning goals themselves, each linked to organisation goals.
    GOALS = "goals"
    YES_NO = "yes_no"
    DATE = "date"
    CHOICE = "choice"
    #: The manager's expected results (1-5), each tied to a learning goal, with what will be
    #: seen at work and the manager's own contribution: set where this field is.
    EXPECTED_RESULTS = "expected_results"
    #: Each editor (learner, manager) rates every expected result at the field's `moment`:
    #: not yet, partly, applied in the work, exceeded; with an optional example.
    RESULT_RATING = "result_rating"


class RatingMoment(enum.StrEnum):
    """When an expected result is rated again; the figures compare the same moment across
    template versions, whatever step of a template asks for it."""

    EVALUATION = "evaluation"
    #: About three months after the training (the return day): the transfer rate's moment.
    THREE_MONTHS = "three_months"
    #: About six months after the training, by a mail-only follow-up.
    SIX_MONTHS = "six_months"


#: Who may rate expected results (each rates for themselves).
RESULT_RATERS = frozenset({Role.LEARNER, Role.MANAGER})


class Anchor(enum.StrEnum):
    ENROLMENT = "enrolment"
    EDITION_START = "edition_start"
    EDITION_END = "edition_end"
    STEP = "step"


E = TypeVar("E", bound=enum.Enum)


def member_of(kind: type[E], value: object) -> E | None:
    """`value` as a member of the enum `kind`; None when it is none of its values (a draft's raw
    document, still being edited, may hold anything there)."""
    try:
        return kind(value)
    except ValueError:
        return None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


#: Field types whose values are people's own words: never read by the programme admin. Expected
#: results are (what will be seen at work, the manager's contribution); their ratings are not,
#: but the example given with a rating is, and the pages show the admin only counts of them.
FREE_TEXT = frozenset({FieldType.TEXT, FieldType.LONG_TEXT, FieldType.EXPECTED_RESULTS})


def reader_ceiling(step_kind: StepKind, confidential: bool, field_type: FieldType) -> set[Role]:
    """Who may ever read a field, whatever the template says (domain.md, "who may see what").

    Learner and coach: everything of their trajectory. Manager: never a confidential
    (learner-coach) step. Trainer: group-meeting outcomes only. Programme admin: statuses,
    assignments and what reports aggregate (goals, ratings, yes/no, dates, choices), never free
    text. A field's `readers` may only narrow this; the service layer applies it again.
    """
    allowed = {Role.LEARNER, Role.COACH}
    if confidential:
        return allowed
    allowed.add(Role.MANAGER)
    if step_kind is StepKind.GROUP_MEETING:
        allowed.add(Role.TRAINER)
    if field_type not in FREE_TEXT:
        allowed.add(Role.PROGRAMME_ADMIN)
    return allowed


def in_language(texts: dict[str, str], locale: str, fallback: str, default: str = "") -> str:
    """The text in `locale`, else in the tenant's default language, else `default`."""
    return texts.get(locale) or texts.get(fallback) or default


class Choice(_Strict):
    key: Key
    label: Translated

    def label_in(self, locale: str, fallback: str = "nl") -> str:
        return in_language(self.label, locale, fallback, self.key)


class FieldSpec(_Strict):
    key: Key
    type: FieldType
    label: Translated
    help: Translated = Field(default_factory=dict)
    required: bool = False
    #: Who may read the value (besides the learner, who reads everything of their own).
    readers: list[Role]
    #: Who fills it in.
    editors: list[Role]
    choices: list[Choice] = Field(default_factory=list)
    #: One value per learning goal (progress per goal, attainment per goal).
    per_goal: bool = False
    #: For a result rating: the moment it stands for.
    moment: RatingMoment | None = None

    def label_in(self, locale: str, fallback: str = "nl") -> str:
        return in_language(self.label, locale, fallback, self.key)

    def help_in(self, locale: str, fallback: str = "nl") -> str:
        return in_language(self.help, locale, fallback)

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        if not self.editors:
            raise ValueError(f"field {self.key}: nobody fills it in")
        if self.type is FieldType.CHOICE and not self.choices:
            raise ValueError(f"field {self.key}: a choice needs choices")
        if self.per_goal and self.type not in {
            FieldType.TEXT,
            FieldType.LONG_TEXT,
            FieldType.RATING,
        }:
            raise ValueError(f"field {self.key}: only text and ratings can be kept per goal")
        if (self.type is FieldType.RESULT_RATING) != (self.moment is not None):
            raise ValueError(f"field {self.key}: a result rating, and only that, names its moment")
        if self.type is FieldType.RESULT_RATING and not set(self.editors) <= RESULT_RATERS:
            raise ValueError(f"field {self.key}: only the learner and the manager rate results")
        return self


class Timing(_Strict):
    anchor: Anchor
    #: The step this one is timed from, when `anchor` is "step".
    step: Key | None = None
    offset_days: int = Field(default=0, ge=-366, le=731)
    offset_months: int = Field(default=0, ge=-12, le=24)

    @model_validator(mode="after")
    def _step_given(self) -> Timing:
        if (self.anchor is Anchor.STEP) != (self.step is not None):
            raise ValueError("a timing names a step exactly when it is anchored to a step")
        return self

    def apply(self, day: date) -> date:
        return day + relativedelta(months=self.offset_months, days=self.offset_days)


class Repeat(_Strict):
    min: int = Field(default=1, ge=0, le=20)
    max: int = Field(default=1, ge=1, le=20)
    #: Days between one occurrence and the next.
    interval_days: int = Field(default=0, ge=0, le=366)

    @model_validator(mode="after")
    def _range(self) -> Repeat:
        if self.min > self.max:
            raise ValueError("a step cannot repeat at least more often than at most")
        return self


class StepSpec(_Strict):
    key: Key
    name: Translated
    description: Translated = Field(default_factory=dict)
    kind: StepKind
    participants: list[Role]
    #: Who plans, schedules and closes the step.
    responsible: list[Role]
    fields: list[FieldSpec] = Field(default_factory=list, max_length=MAX_FIELDS)
    timing: Timing
    #: Days before the due date to remind (negative: after it, when overdue).
    reminders: list[Annotated[int, Field(ge=-90, le=90)]] = Field(default_factory=list)
    repeat: Repeat = Field(default_factory=Repeat)
    optional: bool = False
    #: Learner-coach confidential (progress conversations): only they ever read its fields.
    confidential: bool = False

    @field_validator("responsible")
    @classmethod
    def _someone_responsible(cls, value: list[Role]) -> list[Role]:
        if not value:
            raise ValueError("nobody is responsible for the step")
        return value

    @model_validator(mode="after")
    def _fields(self) -> StepSpec:
        keys = [f.key for f in self.fields]
        if len(keys) != len(set(keys)):
            raise ValueError(f"step {self.key}: two fields share a key")
        for spec in self.fields:
            too_wide = set(spec.readers) - self.ceiling(spec)
            if too_wide:
                names = ", ".join(sorted(role.value for role in too_wide))
                raise ValueError(
                    f"step {self.key}, field {spec.key}: may not be readable by {names}"
                )
        return self

    def ceiling(self, spec: FieldSpec) -> set[Role]:
        return reader_ceiling(self.kind, self.confidential, spec.type)

    def readers_of(self, spec: FieldSpec) -> set[Role]:
        """Who may read `spec` here: its readers within the ceiling, and always the learner."""
        return (set(spec.readers) & self.ceiling(spec)) | {Role.LEARNER}

    def field(self, key: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.key == key), None)

    def name_in(self, locale: str, fallback: str = "nl") -> str:
        return in_language(self.name, locale, fallback, self.key)

    def description_in(self, locale: str, fallback: str = "nl") -> str:
        return in_language(self.description, locale, fallback)


class ApplicationRules(_Strict):
    """How an application for an edition following this template is handled."""

    #: The learner's manager approves (or asks to discuss) an application before the programme
    #: administrator decides on it; the administrator may still decide without it. Off in the
    #: Flevoland model: there the manager hears of the application and joins at the intake.
    manager_approval: bool = False


class TemplateDefinition(_Strict):
    schema_version: int
    steps: list[StepSpec] = Field(max_length=MAX_STEPS)
    application: ApplicationRules = ApplicationRules()

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value != SCHEMA_VERSION:
            raise ValueError(f"schema version {value} is not supported (expected {SCHEMA_VERSION})")
        return value

    @model_validator(mode="after")
    def _steps(self) -> TemplateDefinition:
        if not self.steps:
            raise ValueError("a template needs at least one step")
        seen: set[str] = set()
        for step in self.steps:
            if step.key in seen:
                raise ValueError(f"step {step.key}: two steps share this key")
            if step.timing.anchor is Anchor.STEP and step.timing.step not in seen:
                raise ValueError(
                    f"step {step.key}: timed from {step.timing.step}, which does not come before it"
                )
            seen.add(step.key)
        found = [f for s in self.steps for f in s.fields if f.type is FieldType.EXPECTED_RESULTS]
        if len(found) > 1:
            raise ValueError("a template asks for the expected results in one place only")
        moments = [f.moment for s in self.steps for f in s.fields if f.moment is not None]
        if len(moments) != len(set(moments)):
            raise ValueError("a template asks for each rating moment in one place only")
        return self

    def step(self, key: str) -> StepSpec | None:
        return next((s for s in self.steps if s.key == key), None)

    def position(self, key: str) -> int:
        return next((i for i, s in enumerate(self.steps) if s.key == key), len(self.steps))


def application_rules(definition: object) -> ApplicationRules:
    """The application rules of a stored document (a draft's may be unfinished: then the
    defaults)."""
    raw = definition.get("application") if isinstance(definition, dict) else None
    try:
        return ApplicationRules.model_validate(raw or {})
    except ValueError:
        return ApplicationRules()


def is_valid_key(value: str) -> bool:
    return re.fullmatch(KEY_PATTERN, value) is not None

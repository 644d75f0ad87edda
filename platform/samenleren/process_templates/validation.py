"""Validating a template document: every problem, translated, naming its step and field.

A draft's `definition` is a raw dict in the `TemplateDefinition` shape that may be invalid while
the programme admin edits it; `validate_definition` lists every problem, and publishing a draft
(`drafts.publish_draft`) or importing a file (`versions.files`) refuses while there is any.
The rules of the document itself are the model's (`definition.py`); the checks here come first
to name the place in the admin's words, and pydantic's findings that no check covered follow.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from flask_babel import gettext
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from samenleren.core.config import LANGUAGES
from samenleren.core.i18n import LANGUAGE_NAMES
from samenleren.core.terminology import role_name
from samenleren.identity.models import Role
from samenleren.process_templates.definition import (
    MAX_FIELDS,
    MAX_STEPS,
    RESULT_RATERS,
    SCHEMA_VERSION,
    FieldType,
    RatingMoment,
    StepKind,
    TemplateDefinition,
    is_valid_key,
    member_of,
    reader_ceiling,
)


@dataclass(frozen=True)
class Problem:
    """One validation finding, already translated for display."""

    step: str | None  #: the step key it concerns (None: the template as a whole)
    field: str | None  #: the field key it concerns
    message: str


def _roles(values: Iterable[Role | str]) -> str:
    order = list(Role)
    known = sorted((Role(v) for v in values if v in set(Role)), key=order.index)
    return ", ".join(role_name(role) for role in known)


def _texts(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _has_text(texts: object, language: str) -> bool:
    value = _texts(texts).get(language)
    return isinstance(value, str) and bool(value.strip())


def _key_of(item: object) -> str | None:
    if isinstance(item, dict) and isinstance(item.get("key"), str) and item["key"]:
        return item["key"]
    return None


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _dicts(value: object) -> list[dict]:
    return [item if isinstance(item, dict) else {} for item in _list(value)]


def _title(texts: object, language: str, key: str | None, position: int) -> str:
    texts = _texts(texts)
    for lang in (language, *LANGUAGES):
        value = texts.get(lang)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return key or f"#{position + 1}"


@dataclass
class _Collector:
    """Problems found so far, and the document paths they cover (to skip pydantic duplicates)."""

    language: str
    steps: list[dict]
    problems: list[Problem] = field(default_factory=list)
    covered: set[tuple] = field(default_factory=set)

    def where(self, step_index: int | None, field_index: int | None) -> tuple[str | None, ...]:
        if step_index is None or step_index >= len(self.steps):
            return None, None, None, None
        step = self.steps[step_index]
        step_key = _key_of(step)
        step_title = _title(step.get("name"), self.language, step_key, step_index)
        fields = _dicts(step.get("fields"))
        if field_index is None or field_index >= len(fields):
            return step_key, None, step_title, None
        spec = fields[field_index]
        field_key = _key_of(spec)
        return (
            step_key,
            field_key,
            step_title,
            _title(spec.get("label"), self.language, field_key, field_index),
        )

    def add(
        self,
        message: str,
        step_index: int | None = None,
        field_index: int | None = None,
        path: tuple = (),
    ) -> None:
        step_key, field_key, step_title, field_title = self.where(step_index, field_index)
        if field_title is not None:
            message = gettext(
                "Step “%(step)s”, field “%(field)s”: %(problem)s",
                step=step_title,
                field=field_title,
                problem=message,
            )
        elif step_title is not None:
            message = gettext("Step “%(step)s”: %(problem)s", step=step_title, problem=message)
        self.problems.append(Problem(step_key, field_key, message))
        if path:
            self.covered.add(path)


def _key_problem(key: object) -> str | None:
    if not isinstance(key, str) or not key:
        return gettext("the key is missing.")
    if not is_valid_key(key):
        return gettext(
            "the key “%(key)s” is not valid: use lower-case letters, digits and underscores, "
            "starting with a letter (at most 40).",
            key=key,
        )
    return None


def _check_field(c: _Collector, i: int, j: int, step: dict, spec: dict, keys: set) -> None:
    base = ("steps", i, "fields", j)
    key = spec.get("key")
    problem = _key_problem(key)
    if problem:
        c.add(problem, i, j, (*base, "key"))
    elif key in keys:
        c.add(gettext("another field of this step has the key “%(key)s”.", key=key), i, j)
    keys.add(key)
    if not _has_text(spec.get("label"), c.language):
        c.add(
            gettext("the label in %(language)s is missing.", language=LANGUAGE_NAMES[c.language]),
            i,
            j,
            (*base, "label"),
        )
    kind = member_of(FieldType, spec.get("type"))
    if kind is None:
        c.add(gettext("choose what kind of answer the field takes."), i, j, (*base, "type"))
    editors = [e for e in _list(spec.get("editors")) if e in set(Role)]
    if not editors:
        c.add(gettext("nobody fills this field in."), i, j, (*base, "editors"))
    moment = spec.get("moment")
    if kind is FieldType.RESULT_RATING and member_of(RatingMoment, moment) is None:
        c.add(
            gettext("say at which moment the expected results are rated."),
            i,
            j,
            (*base, "moment"),
        )
    elif kind is not FieldType.RESULT_RATING and moment is not None:
        c.add(gettext("only a result rating has a moment."), i, j, (*base, "moment"))
    if kind is FieldType.RESULT_RATING and not set(editors) <= {r.value for r in RESULT_RATERS}:
        c.add(
            gettext("only the learner and the manager rate expected results."),
            i,
            j,
            (*base, "editors"),
        )
    if kind is FieldType.CHOICE:
        choices = _dicts(spec.get("choices"))
        if not choices:
            c.add(gettext("a choice field needs at least one choice."), i, j, (*base, "choices"))
        choice_keys: set = set()
        for n, choice in enumerate(choices):
            ckey = choice.get("key")
            problem = _key_problem(ckey)
            if problem:
                c.add(
                    gettext("choice %(number)d: %(problem)s", number=n + 1, problem=problem),
                    i,
                    j,
                    (*base, "choices", n, "key"),
                )
            elif ckey in choice_keys:
                c.add(gettext("two choices share the key “%(key)s”.", key=ckey), i, j)
            choice_keys.add(ckey)
            if not _has_text(choice.get("label"), c.language):
                c.add(
                    gettext(
                        "choice “%(choice)s” has no label in %(language)s.",
                        choice=ckey or n + 1,
                        language=LANGUAGE_NAMES[c.language],
                    ),
                    i,
                    j,
                    (*base, "choices", n, "label"),
                )
    if spec.get("per_goal") and kind not in {
        None,
        FieldType.TEXT,
        FieldType.LONG_TEXT,
        FieldType.RATING,
    }:
        c.add(
            gettext("only text and ratings can be kept per learning goal."),
            i,
            j,
            (*base, "per_goal"),
        )
    step_kind = member_of(StepKind, step.get("kind"))
    if kind is not None and step_kind is not None:
        ceiling = reader_ceiling(step_kind, bool(step.get("confidential")), kind)
        readers = {Role(r) for r in _list(spec.get("readers")) if r in set(Role)}
        too_wide = readers - ceiling
        if too_wide:
            c.add(
                gettext(
                    "%(roles)s may not read this field here; in this step only %(allowed)s may.",
                    roles=_roles(too_wide),
                    allowed=_roles(ceiling),
                ),
                i,
                j,
                (*base, "readers"),
            )


def _check_timing(c: _Collector, i: int, step: dict, positions: dict[str, int]) -> None:
    timing = _texts(step.get("timing"))
    path = ("steps", i, "timing")
    anchor = timing.get("anchor")
    target = timing.get("step")
    if anchor is None:
        c.add(gettext("say when the step is due (its timing)."), i, None, path)
    elif anchor == "step":
        own = _key_of(step)
        if not target:
            c.add(gettext("its timing should name the step it is timed from."), i, None, path)
        elif target == own:
            c.add(gettext("its timing is anchored to the step itself."), i, None, path)
        elif target not in positions:
            c.add(
                gettext(
                    "its timing is anchored to a step “%(key)s” that does not exist.", key=target
                ),
                i,
                None,
                path,
            )
        elif positions[target] > i:
            other = c.steps[positions[target]]
            c.add(
                gettext(
                    "its timing is anchored to “%(other)s”, which comes later; a step can only "
                    "be timed from an earlier step.",
                    other=_title(other.get("name"), c.language, target, positions[target]),
                ),
                i,
                None,
                path,
            )


def _check_step(c: _Collector, i: int, step: dict, keys: set, positions: dict) -> None:
    key = step.get("key")
    problem = _key_problem(key)
    if problem:
        c.add(problem, i, None, ("steps", i, "key"))
    elif key in keys:
        c.add(gettext("another step has the key “%(key)s”.", key=key), i)
    keys.add(key)
    if not _has_text(step.get("name"), c.language):
        c.add(
            gettext("the name in %(language)s is missing.", language=LANGUAGE_NAMES[c.language]),
            i,
            None,
            ("steps", i, "name"),
        )
    if not [r for r in _list(step.get("responsible")) if r in set(Role)]:
        c.add(gettext("nobody is responsible for this step."), i, None, ("steps", i, "responsible"))
    _check_timing(c, i, step, positions)
    repeat = _texts(step.get("repeat"))
    low, high = repeat.get("min", 1), repeat.get("max", 1)
    if isinstance(low, int) and isinstance(high, int) and low > high:
        c.add(
            gettext(
                "it takes place at least %(min)d times but at most %(max)d times.",
                min=low,
                max=high,
            ),
            i,
            None,
            ("steps", i, "repeat"),
        )
    fields = _dicts(step.get("fields"))
    if len(fields) > MAX_FIELDS:
        c.add(
            gettext("a step can have at most %(max)d fields.", max=MAX_FIELDS),
            i,
            None,
            ("steps", i, "fields"),
        )
    field_keys: set = set()
    for j, spec in enumerate(fields):
        _check_field(c, i, j, step, spec, field_keys)


_NAMES = {
    "key": lambda: gettext("key"),
    "name": lambda: gettext("name"),
    "label": lambda: gettext("label"),
    "kind": lambda: gettext("kind of step"),
    "type": lambda: gettext("kind of answer"),
    "participants": lambda: gettext("who takes part"),
    "responsible": lambda: gettext("who is responsible"),
    "readers": lambda: gettext("who may read it"),
    "editors": lambda: gettext("who fills it in"),
    "timing": lambda: gettext("timing"),
    "anchor": lambda: gettext("timed from"),
    "offset_days": lambda: gettext("days after"),
    "offset_months": lambda: gettext("months after"),
    "reminders": lambda: gettext("reminders"),
    "repeat": lambda: gettext("repeat"),
    "min": lambda: gettext("at least"),
    "max": lambda: gettext("at most"),
    "interval_days": lambda: gettext("days between occurrences"),
    "choices": lambda: gettext("choices"),
    "schema_version": lambda: gettext("format version"),
    "steps": lambda: gettext("steps"),
}


def _pydantic_message(error: ErrorDetails) -> str:
    names = [part for part in error["loc"] if isinstance(part, str)]
    what = next(
        (_NAMES[part]() for part in reversed(names) if part in _NAMES),
        names[-1] if names else gettext("the template"),
    )
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind == "missing":
        return gettext("“%(what)s” is missing.", what=what)
    if kind == "extra_forbidden":
        return gettext("“%(what)s” is not something a template can contain.", what=names[-1])
    if kind == "greater_than_equal":
        return gettext("“%(what)s” must be at least %(limit)s.", what=what, limit=ctx.get("ge"))
    if kind == "less_than_equal":
        return gettext("“%(what)s” must be at most %(limit)s.", what=what, limit=ctx.get("le"))
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return gettext("“%(what)s” must be a whole number.", what=what)
    if kind == "too_long":
        return gettext(
            "“%(what)s” may have at most %(limit)s items.", what=what, limit=ctx.get("max_length")
        )
    if kind == "string_too_long":
        return gettext("“%(what)s” is too long.", what=what)
    if kind == "string_pattern_mismatch" and names and names[-1] == "[key]":
        return gettext("only the languages nl, en and fy can be used.")
    if kind == "string_pattern_mismatch":
        return gettext("“%(what)s” is not a valid key.", what=what)
    if kind == "enum":
        return gettext(
            "“%(what)s” must be one of: %(allowed)s.", what=what, allowed=ctx.get("expected", "")
        )
    if kind == "value_error" and error["loc"] == ("schema_version",):
        return gettext("this file format is not supported.")
    return gettext("“%(what)s” is not valid.", what=what)


def _index(loc: tuple, name: str, after: int = 0) -> int | None:
    for position in range(after, len(loc) - 1):
        if loc[position] == name and isinstance(loc[position + 1], int):
            return loc[position + 1]
    return None


def _add_pydantic_errors(c: _Collector, definition: dict) -> None:
    try:
        TemplateDefinition.model_validate(definition)
    except ValidationError as invalid:
        errors = invalid.errors(include_url=False)
    else:
        return
    found = bool(c.problems)
    for error in errors:
        loc = tuple(error["loc"])
        if any(loc[: len(path)] == path for path in c.covered):
            continue
        i = _index(loc, "steps")
        j = _index(loc, "fields", 2) if i is not None else None
        if error["type"] == "value_error" and found:
            # A rule of the model itself (e.g. timing order): found above with a better message.
            step_key, field_key, *_ = c.where(i, j)
            if i is None or any(
                p.step == step_key and (j is None or p.field == field_key) for p in c.problems
            ):
                continue
        c.add(_pydantic_message(error), i, j)
    if not c.problems:
        # Never let an invalid document through, even when no message fits.
        c.add(gettext("The template is not valid."))


def validate_definition(definition: dict, default_language: str) -> list[Problem]:
    """Every problem of a template document, translated, each naming its step and field."""
    language = default_language if default_language in LANGUAGES else LANGUAGES[0]
    if not isinstance(definition, dict):
        return [Problem(None, None, gettext("The template is not valid."))]
    steps = _dicts(definition.get("steps"))
    c = _Collector(language, steps)
    if definition.get("schema_version") != SCHEMA_VERSION:
        c.add(gettext("This file format is not supported."), path=("schema_version",))
    if not steps:
        c.add(gettext("The process has no steps yet: add at least one."), path=("steps",))
    elif len(steps) > MAX_STEPS:
        c.add(gettext("A process can have at most %(max)d steps.", max=MAX_STEPS))
    positions: dict[str, int] = {}
    for i, step in enumerate(steps):
        key = _key_of(step)
        if key is not None and key not in positions:
            positions[key] = i
    keys: set = set()
    for i, step in enumerate(steps):
        _check_step(c, i, step, keys, positions)
    _add_pydantic_errors(c, definition)
    return c.problems

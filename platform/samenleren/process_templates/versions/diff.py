"""What changed between two versions of a process template, as a list a programme admin reads.

`compare_definitions(old, new, ...)` takes two definitions as stored (`TemplateVersion.definition`)
and returns one `StepDiff` per step that differs, in the order of the newer version (removed
steps last), each with translated `Change`s: the step added, removed or moved; its name,
description, kind, participants, responsible, timing, reminders, repetition, optional and
confidential; its fields added, removed, moved or changed (type, label, help, required,
readers, editors, choices, per goal).

A draft may be invalid while it is being edited, so the comparison reads the raw documents and
tolerates missing or malformed parts (they compare as their defaults) instead of parsing them.
"Moved" means: out of order relative to the other steps (or fields) that both versions have, so
adding a step at the front does not make every later step "moved".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l

from samenleren.core.i18n import LANGUAGE_NAMES
from samenleren.core.terminology import in_sentence, role_term
from samenleren.identity.models import Role
from samenleren.process_templates.definition import Anchor, FieldType, StepKind, in_language

KIND_LABELS = {
    StepKind.CONVERSATION: _l("conversation"),
    StepKind.GROUP_MEETING: _l("group meeting"),
    StepKind.TRAINING_SESSION: _l("training sessions"),
    StepKind.MILESTONE: _l("milestone"),
}

FIELD_TYPE_LABELS = {
    FieldType.TEXT: _l("short text"),
    FieldType.LONG_TEXT: _l("long text"),
    FieldType.RATING: _l("rating (1–5)"),
    FieldType.GOALS: _l("learning goals"),
    FieldType.YES_NO: _l("yes or no"),
    FieldType.DATE: _l("date"),
    FieldType.CHOICE: _l("choice"),
    FieldType.EXPECTED_RESULTS: _l("expected results"),
    FieldType.RESULT_RATING: _l("rating of the expected results"),
}

ANCHOR_LABELS = {
    Anchor.ENROLMENT: _l("the enrolment"),
    Anchor.EDITION_START: _l("the first day of the edition"),
    Anchor.EDITION_END: _l("the last day of the edition"),
}

LANGUAGE_ORDER = ("nl", "en", "fy")
DEFAULT_REPEAT = {"min": 1, "max": 1, "interval_days": 0}


@dataclass(frozen=True)
class Change:
    """One difference. `what` is "added", "removed", "moved" or "changed"; `field` names the
    field it concerns (its label in the newer version, else the older), empty for the step."""

    what: str
    message: str
    field: str = ""


@dataclass(frozen=True)
class StepDiff:
    key: str
    name: str
    #: "added", "removed" or "changed"
    status: str
    changes: tuple[Change, ...] = field(default_factory=tuple)


# --- reading raw documents ----------------------------------------------------------------


def _items(container: Any, name: str) -> list[dict]:
    """The tables under `name` that have a string key, first of each key only."""
    values = container.get(name) if isinstance(container, dict) else None
    if not isinstance(values, list):
        return []
    seen: set[str] = set()
    items = []
    for item in values:
        if isinstance(item, dict) and isinstance(item.get("key"), str) and item["key"] not in seen:
            seen.add(item["key"])
            items.append(item)
    return items


def _texts(item: dict, name: str) -> dict[str, str]:
    value = item.get(name)
    if not isinstance(value, dict):
        return {}
    return {k: str(v) for k, v in value.items() if isinstance(k, str) and v not in (None, "")}


def _roles(item: dict, name: str) -> list[str]:
    value = item.get(name)
    return [str(v) for v in value] if isinstance(value, list) else []


def _flag(item: dict, name: str) -> bool:
    return item.get(name) is True


def _label(labels: dict, value: Any) -> str:
    for key, label in labels.items():
        if key == value:
            return str(label)
    return str(value) if value not in (None, "") else gettext("none")


def _role_word(role: str) -> str:
    """The role in the tenant's own words (terminology settings), inside a sentence."""
    if role not in set(Role):
        return role
    return in_sentence(role_term(role))


def _role_list(roles: Sequence[str]) -> str:
    if not roles:
        return gettext("nobody")
    return ", ".join(_role_word(role) for role in roles)


def _same_set(old: Sequence[str], new: Sequence[str]) -> bool:
    return sorted(set(old)) == sorted(set(new))


def _stable_order(old_keys: Sequence[str], new_keys: Sequence[str]) -> set[str]:
    """The keys both have that keep their relative order (a longest common subsequence)."""
    common_old = [k for k in old_keys if k in set(new_keys)]
    common_new = [k for k in new_keys if k in set(old_keys)]
    n, m = len(common_old), len(common_new)
    lengths = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            if common_old[i] == common_new[j]:
                lengths[i][j] = lengths[i + 1][j + 1] + 1
            else:
                lengths[i][j] = max(lengths[i + 1][j], lengths[i][j + 1])
    kept, i, j = set(), 0, 0
    while i < n and j < m:
        if common_old[i] == common_new[j]:
            kept.add(common_old[i])
            i, j = i + 1, j + 1
        elif lengths[i + 1][j] >= lengths[i][j + 1]:
            i += 1
        else:
            j += 1
    return kept


# --- describing values --------------------------------------------------------------------


def _number(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def describe_timing(timing: Any, step_names: dict[str, str]) -> str:
    """E.g. "14 days after the enrolment", "1 month after Intake conversation"."""
    if not isinstance(timing, dict):
        return gettext("none")
    anchor = timing.get("anchor")
    if anchor == Anchor.STEP:
        step = timing.get("step")
        name = step_names.get(step, step) if isinstance(step, str) else str(step)
        base = gettext("the step %(name)s", name=name)
    else:
        base = _label(ANCHOR_LABELS, anchor)
    months, days = _number(timing.get("offset_months")), _number(timing.get("offset_days"))
    parts = []
    if months:
        parts.append(ngettext("%(num)d month", "%(num)d months", abs(months)))
    if days:
        parts.append(ngettext("%(num)d day", "%(num)d days", abs(days)))
    if not parts:
        return gettext("on %(base)s", base=base)
    amount = (
        gettext("%(first)s and %(second)s", first=parts[0], second=parts[1])
        if len(parts) == 2
        else parts[0]
    )
    if (months or days) < 0:
        return gettext("%(amount)s before %(base)s", amount=amount, base=base)
    return gettext("%(amount)s after %(base)s", amount=amount, base=base)


def _repeat(item: dict) -> dict:
    value = item.get("repeat")
    value = value if isinstance(value, dict) else {}
    return {key: value.get(key, default) for key, default in DEFAULT_REPEAT.items()}


def describe_repeat(repeat: dict) -> str:
    if repeat["min"] == repeat["max"] == 1:
        return gettext("once")
    return gettext(
        "%(min)s to %(max)s times, %(interval)s days apart",
        min=repeat["min"],
        max=repeat["max"],
        interval=repeat["interval_days"],
    )


def describe_reminders(reminders: Any) -> str:
    if not isinstance(reminders, list) or not reminders:
        return gettext("none")
    return gettext(
        "%(days)s days before the due date", days=", ".join(str(day) for day in reminders)
    )


def _choices(item: dict, locale: str, fallback: str) -> list[str]:
    return [
        in_language(_texts(choice, "label"), locale, fallback, choice["key"])
        for choice in _items(item, "choices")
    ]


# --- comparing ----------------------------------------------------------------------------


def _text_changes(what: str, old: dict[str, str], new: dict[str, str], **extra: str) -> list:
    changes = []
    others = sorted((set(old) | set(new)) - set(LANGUAGE_ORDER))
    for language in [*LANGUAGE_ORDER, *others]:
        before, after = old.get(language), new.get(language)
        if before == after:
            continue
        names = {"what": what, "language": LANGUAGE_NAMES.get(language, language)}
        if before is None:
            message = gettext("%(what)s (%(language)s) added: “%(new)s”.", new=after, **names)
        elif after is None:
            message = gettext(
                "%(what)s (%(language)s) removed (was “%(old)s”).", old=before, **names
            )
        else:
            message = gettext(
                "%(what)s (%(language)s) changed from “%(old)s” to “%(new)s”.",
                old=before,
                new=after,
                **names,
            )
        changes.append(Change("changed", message, **extra))
    return changes


def _from_to(message: str, old: str, new: str, **extra: str) -> Change:
    return Change("changed", message % {"old": old, "new": new}, **extra)


def _flag_change(old: bool, new: bool, now: str, no_longer: str, **extra: str) -> list[Change]:
    if old == new:
        return []
    return [Change("changed", now if new else no_longer, **extra)]


def _field_changes(old: dict, new: dict, label: str, locale: str, fallback: str) -> list[Change]:
    at = {"field": label}
    changes: list[Change] = []
    if old.get("type") != new.get("type"):
        changes.append(
            _from_to(
                gettext("Type changed from %(old)s to %(new)s."),
                _label(FIELD_TYPE_LABELS, old.get("type")),
                _label(FIELD_TYPE_LABELS, new.get("type")),
                **at,
            )
        )
    changes += _text_changes(gettext("Label"), _texts(old, "label"), _texts(new, "label"), **at)
    changes += _text_changes(gettext("Help text"), _texts(old, "help"), _texts(new, "help"), **at)
    changes += _flag_change(
        _flag(old, "required"),
        _flag(new, "required"),
        gettext("Now required."),
        gettext("No longer required."),
        **at,
    )
    for name, message in (
        ("readers", gettext("Readers changed from %(old)s to %(new)s.")),
        ("editors", gettext("Who fills it in changed from %(old)s to %(new)s.")),
    ):
        before, after = _roles(old, name), _roles(new, name)
        if not _same_set(before, after):
            changes.append(_from_to(message, _role_list(before), _role_list(after), **at))
    old_choices = [(c["key"], _texts(c, "label")) for c in _items(old, "choices")]
    new_choices = [(c["key"], _texts(c, "label")) for c in _items(new, "choices")]
    if old_choices != new_choices:
        changes.append(
            _from_to(
                gettext("Choices changed from %(old)s to %(new)s."),
                ", ".join(_choices(old, locale, fallback)) or gettext("none"),
                ", ".join(_choices(new, locale, fallback)) or gettext("none"),
                **at,
            )
        )
    changes += _flag_change(
        _flag(old, "per_goal"),
        _flag(new, "per_goal"),
        gettext("Now kept per learning goal."),
        gettext("No longer kept per learning goal."),
        **at,
    )
    return changes


def _fields_diff(old: dict, new: dict, locale: str, fallback: str) -> list[Change]:
    old_fields = {f["key"]: f for f in _items(old, "fields")}
    new_fields = {f["key"]: f for f in _items(new, "fields")}
    old_keys, new_keys = list(old_fields), list(new_fields)
    stable = _stable_order(old_keys, new_keys)

    def label(spec: dict) -> str:
        return in_language(_texts(spec, "label"), locale, fallback, spec["key"])

    changes: list[Change] = []
    for position, key in enumerate(new_keys, start=1):
        spec = new_fields[key]
        if key not in old_fields:
            message = gettext("Field added at position %(position)d.", position=position)
            changes.append(Change("added", message, field=label(spec)))
            continue
        if key not in stable:
            message = gettext(
                "Field moved from position %(old)d to %(new)d.",
                old=old_keys.index(key) + 1,
                new=position,
            )
            changes.append(Change("moved", message, field=label(spec)))
        changes += _field_changes(old_fields[key], spec, label(spec), locale, fallback)
    for key in old_keys:
        if key not in new_fields:
            changes.append(
                Change("removed", gettext("Field removed."), field=label(old_fields[key]))
            )
    return changes


def _step_changes(
    old: dict, new: dict, names: tuple[dict, dict], locale: str, fallback: str
) -> list[Change]:
    changes: list[Change] = []
    changes += _text_changes(gettext("Name"), _texts(old, "name"), _texts(new, "name"))
    changes += _text_changes(
        gettext("Description"), _texts(old, "description"), _texts(new, "description")
    )
    if old.get("kind") != new.get("kind"):
        changes.append(
            _from_to(
                gettext("Kind changed from %(old)s to %(new)s."),
                _label(KIND_LABELS, old.get("kind")),
                _label(KIND_LABELS, new.get("kind")),
            )
        )
    for name, message in (
        ("participants", gettext("Participants changed from %(old)s to %(new)s.")),
        ("responsible", gettext("Responsible changed from %(old)s to %(new)s.")),
    ):
        before, after = _roles(old, name), _roles(new, name)
        if not _same_set(before, after):
            changes.append(_from_to(message, _role_list(before), _role_list(after)))
    old_timing, new_timing = _timing(old), _timing(new)
    if old_timing != new_timing:
        changes.append(
            _from_to(
                gettext("Timing changed from %(old)s to %(new)s."),
                describe_timing(old_timing, names[0]),
                describe_timing(new_timing, names[1]),
            )
        )
    if (old.get("reminders") or []) != (new.get("reminders") or []):
        changes.append(
            _from_to(
                gettext("Reminders changed from %(old)s to %(new)s."),
                describe_reminders(old.get("reminders")),
                describe_reminders(new.get("reminders")),
            )
        )
    if _repeat(old) != _repeat(new):
        changes.append(
            _from_to(
                gettext("Repetition changed from %(old)s to %(new)s."),
                describe_repeat(_repeat(old)),
                describe_repeat(_repeat(new)),
            )
        )
    changes += _flag_change(
        _flag(old, "optional"),
        _flag(new, "optional"),
        gettext("The step is now optional."),
        gettext("The step is no longer optional."),
    )
    changes += _flag_change(
        _flag(old, "confidential"),
        _flag(new, "confidential"),
        gettext("The step is now confidential: only learner and coach read its answers."),
        gettext("The step is no longer confidential."),
    )
    return changes + _fields_diff(old, new, locale, fallback)


def _timing(step: dict) -> Any:
    timing = step.get("timing")
    if not isinstance(timing, dict):
        return timing
    return {
        "anchor": timing.get("anchor"),
        "step": timing.get("step"),
        "offset_days": _number(timing.get("offset_days")),
        "offset_months": _number(timing.get("offset_months")),
    }


def _names(steps: Iterable[dict], locale: str, fallback: str) -> dict[str, str]:
    return {s["key"]: in_language(_texts(s, "name"), locale, fallback, s["key"]) for s in steps}


def compare_definitions(old: Any, new: Any, locale: str, fallback: str = "nl") -> list[StepDiff]:
    """The steps that differ from `old` to `new`, with what changed in each (see module doc)."""
    old_steps = {s["key"]: s for s in _items(old, "steps")}
    new_steps = {s["key"]: s for s in _items(new, "steps")}
    names = (
        _names(old_steps.values(), locale, fallback),
        _names(new_steps.values(), locale, fallback),
    )
    old_keys, new_keys = list(old_steps), list(new_steps)
    stable = _stable_order(old_keys, new_keys)
    result: list[StepDiff] = []
    for position, key in enumerate(new_keys, start=1):
        name = names[1][key]
        if key not in old_steps:
            message = gettext("Step added at position %(position)d.", position=position)
            result.append(StepDiff(key, name, "added", (Change("added", message),)))
            continue
        changes = []
        if key not in stable:
            message = gettext(
                "Moved from position %(old)d to %(new)d.", old=old_keys.index(key) + 1, new=position
            )
            changes.append(Change("moved", message))
        changes += _step_changes(old_steps[key], new_steps[key], names, locale, fallback)
        if changes:
            result.append(StepDiff(key, name, "changed", tuple(changes)))
    for position, key in enumerate(old_keys, start=1):
        if key not in new_steps:
            message = gettext("Step removed (it was at position %(position)d).", position=position)
            result.append(StepDiff(key, names[0][key], "removed", (Change("removed", message),)))
    return result

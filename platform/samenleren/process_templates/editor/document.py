"""A draft's document as the editor works on it: a tolerant copy, finding a step or field in it,
its texts in a language, and moving an item up or down.

A draft may be invalid while it is edited (see `validation`), so these read the raw document and
never assume more of it than that it is a dict with a list of steps, each with a list of fields.
"""

from __future__ import annotations

import copy
import enum

from samenleren.process_templates.definition import SCHEMA_VERSION
from samenleren.process_templates.models import TemplateVersion


class Direction(enum.StrEnum):
    UP = "up"
    DOWN = "down"


class NotInDraft(LookupError):
    """The step or field named in the URL is not in the draft (the page answers 404)."""


def document(draft: TemplateVersion) -> dict:
    """A copy of the draft's document in a shape the editor can work on."""
    data = copy.deepcopy(draft.definition) if isinstance(draft.definition, dict) else {}
    data.setdefault("schema_version", SCHEMA_VERSION)
    if not isinstance(data.get("steps"), list):
        data["steps"] = []
    data["steps"] = [step for step in data["steps"] if isinstance(step, dict)]
    for step in data["steps"]:
        if not isinstance(step.get("fields"), list):
            step["fields"] = []
        step["fields"] = [spec for spec in step["fields"] if isinstance(spec, dict)]
    return data


def step_index(data: dict, key: str) -> int:
    for index, step in enumerate(data["steps"]):
        if step.get("key") == key:
            return index
    raise NotInDraft(key)


def field_index(step: dict, key: str) -> int:
    for index, spec in enumerate(step["fields"]):
        if spec.get("key") == key:
            return index
    raise NotInDraft(key)


def text_in(texts: object, locale: str, fallback: str, default: str = "") -> str:
    if not isinstance(texts, dict):
        return default
    return texts.get(locale) or texts.get(fallback) or default


def move(items: list, index: int, direction: Direction) -> bool:
    """Swap `items[index]` with its neighbour above or below; False when there is none."""
    target = index - 1 if direction is Direction.UP else index + 1
    if not 0 <= target < len(items):
        return False
    items[index], items[target] = items[target], items[index]
    return True

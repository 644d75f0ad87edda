"""Read a form off a page the way a browser would submit it (no JavaScript involved)."""

from __future__ import annotations

from html.parser import HTMLParser


class _FormReader(HTMLParser):
    def __init__(self, action: str) -> None:
        super().__init__(convert_charrefs=True)
        self.action = action
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self.inputs: dict[str, dict[str, str | None]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.inside = attributes.get("action") == self.action
            return
        if not self.inside or tag != "input":
            return
        name = attributes.get("name")
        if not name:
            return
        if "id" in attributes:
            self.inputs[attributes["id"] or ""] = attributes
        kind = attributes.get("type", "text")
        if kind in {"checkbox", "radio"} and "checked" not in attributes:
            return
        if kind in {"submit", "button"}:
            return
        self.fields.append((name, attributes.get("value") or ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False


def read_form(page: str, action: str) -> list[tuple[str, str]]:
    """The (name, value) pairs the form posting to `action` would send as it is."""
    reader = _FormReader(action)
    reader.feed(page)
    assert reader.fields, f"no form posting to {action}"
    return reader.fields


def inputs_of(page: str, action: str) -> dict[str, dict[str, str | None]]:
    """The attributes of every input of that form, by id."""
    reader = _FormReader(action)
    reader.feed(page)
    return reader.inputs


def replace(fields: list[tuple[str, str]], **values: str | list[str]) -> list[tuple[str, str]]:
    """`fields` with the named fields set to `values` (a list for several checkboxes)."""
    names = {name.replace("__", "-") for name in values}
    kept = [(name, value) for name, value in fields if name not in names]
    for key, value in values.items():
        name = key.replace("__", "-")
        for item in value if isinstance(value, list) else [value]:
            kept.append((name, item))
    return kept

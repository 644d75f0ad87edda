"""The one exception services raise for input they refuse, shown next to the field."""

from __future__ import annotations

#: Key of a message that belongs to the form as a whole, not to one field.
FORM = "__form__"


class InvalidInput(ValueError):
    """Refused input: `errors` maps a form field name (or `FORM`) to a translated message.

    Services raise it before writing anything, so a refused request changes nothing.
    """

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()))
        self.errors = errors

    @classmethod
    def form(cls, message: str) -> InvalidInput:
        return cls({FORM: message})

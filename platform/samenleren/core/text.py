"""Control characters in text from outside: one check for every input, one cleaner for headers.

A CR/LF in a display name ends up as a raw mail header line; in a video link or an e-mail
address it breaks the calendar invitation or the mail. So names, e-mail addresses, URLs and
titles are refused when they hold a control character (C0, DEL, C1, and the Unicode line and
paragraph separators), wherever they come in: forms refuse with a clear message, SCIM answers
400, an identity provider's claims are normalised (`single_line`). Multi-line text fields allow
line breaks and tabs, nothing else. Where mail headers are built, `header_safe` strips them
again, so a value that arrived another way still cannot add a header.
"""

from __future__ import annotations

import re

from flask_babel import gettext

#: C0 controls, DEL, C1 controls, LINE SEPARATOR and PARAGRAPH SEPARATOR.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: The same, except the line breaks and tab a multi-line text may hold.
_CONTROL_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")


def has_control_characters(value: str | None, *, multiline: bool = False) -> bool:
    """Whether `value` holds a character no single-line (or multi-line) text may hold."""
    if not value:
        return False
    return bool((_CONTROL_MULTILINE if multiline else _CONTROL).search(value))


def single_line(value: str | None) -> str | None:
    """`value` with every control character replaced by a space and runs of blanks made one,
    stripped (for values we cannot refuse, such as an identity provider's claims)."""
    if value is None:
        return None
    return " ".join(_CONTROL.sub(" ", value).split())


def header_safe(value: str) -> str:
    """A value for a mail header: control characters become spaces (never a line break)."""
    return _CONTROL.sub(" ", value)


def control_characters_message() -> str:
    """The message next to a form field that holds a control character."""
    return gettext("Remove the line break or other control character from this field.")

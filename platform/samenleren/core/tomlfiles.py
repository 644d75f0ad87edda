"""Reading TOML that someone uploaded (tenant manifests, process template files).

`tomllib` parses nested arrays and inline tables recursively: a few kilobytes of `[[[[…` raise
RecursionError, which no caller expects (a 500 with a traceback), and a structure just below
that limit would make the validation after it recurse as deep. `loads` refuses anything nested
deeper than `MAX_DEPTH` levels with a `TOMLDecodeError`, which every caller already turns into
a clear "not valid TOML" message.
"""

from __future__ import annotations

import tomllib
from typing import Any

#: Far more than any manifest or template needs (they nest four or five levels).
MAX_DEPTH = 32


class TooDeep(tomllib.TOMLDecodeError):
    """The document nests tables or arrays deeper than `MAX_DEPTH` levels."""


def loads(text: str, *, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """`tomllib.loads`, refusing documents nested more than `max_depth` levels deep."""
    try:
        document = tomllib.loads(text)
    except RecursionError:
        raise TooDeep(f"nested more than {max_depth} levels deep") from None
    if _depth_exceeds(document, max_depth):
        raise TooDeep(f"nested more than {max_depth} levels deep")
    return document


def _depth_exceeds(document: Any, max_depth: int) -> bool:
    """Without recursion, so that checking a deep document cannot itself overflow."""
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > max_depth:
            return True
        if isinstance(value, dict):
            stack.extend((child, depth + 1) for child in value.values())
        elif isinstance(value, list):
            stack.extend((child, depth + 1) for child in value)
    return False

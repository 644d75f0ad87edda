"""Compile the message catalogues; Frisian falls back to Dutch, message by message.

Babel's loader takes one catalogue per language, without a chain, so the fallback is applied when
compiling: a message with no Frisian translation yet is compiled into `fy` with its Dutch text.
A Frisian reader then sees Dutch, which they read every day, rather than the English source.

Usage: python -m samenleren.core.catalogues TRANSLATIONS_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

#: language -> the language whose translation fills its gaps
FALLBACKS = {"fy": "nl"}


def _read(path: Path):
    with path.open("rb") as handle:
        return read_po(handle)


def compile_all(directory: Path) -> list[str]:
    written = []
    for po_path in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        language = po_path.parent.parent.name
        catalog = _read(po_path)
        fallback_language = FALLBACKS.get(language)
        if fallback_language:
            fallback = _read(directory / fallback_language / "LC_MESSAGES" / "messages.po")
            for message in catalog:
                if message.id and not is_translated(message) and message.id in fallback:
                    source = fallback[message.id]
                    if is_translated(source):
                        message.string = source.string
        with po_path.with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        written.append(language)
    return written


def is_translated(message) -> bool:
    """A message counts as translated when it has a text that nobody marked as doubtful."""
    if message is None or message.fuzzy:
        return False
    if isinstance(message.string, (list, tuple)):
        return all(message.string)
    return bool(message.string)


if __name__ == "__main__":
    languages = compile_all(Path(sys.argv[1]))
    print(f"compiled {', '.join(languages)}")

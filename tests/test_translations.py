"""Every message in the code and templates has a Dutch and an English translation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from samenleren.core.catalogues import is_translated
from samenleren.core.config import LANGUAGES

REPO_ROOT = Path(__file__).resolve().parents[1]
COMPLETE = ("nl", "en")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory):
    """Messages extracted now from the source, so a string nobody merged is caught too."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-o",
            str(pot),
            "--no-location",
            ".",
        ],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as handle:
        return [m for m in read_po(handle) if m.id]


def _catalog(language: str):
    with (REPO_ROOT / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f)


@pytest.mark.parametrize("language", COMPLETE)
def test_every_message_isis_translated(extracted, language: str) -> None:
    catalog = _catalog(language)
    missing = [m.id for m in extracted if not is_translated(catalog.get(m.id, m.context))]
    assert not missing, (
        f"{len(missing)} message(s) lack a '{language}' translation "
        f"(run `make translations`, then translate): {missing[:10]}"
    )


def test_frisian_is_offered() -> None:
    assert "fy" in LANGUAGES
    assert (REPO_ROOT / "translations" / "fy" / "LC_MESSAGES" / "messages.po").is_file()


def test_placeholders_survive_translation(extracted) -> None:
    """A translation that drops or renames a %(name)s placeholder would break the page."""
    import re

    placeholder = re.compile(r"%\(\w+\)s")
    for language in LANGUAGES:
        catalog = _catalog(language)
        for message in extracted:
            translation = catalog.get(message.id, message.context)
            if not is_translated(translation) or isinstance(message.id, tuple):
                continue
            assert set(placeholder.findall(translation.string)) == set(
                placeholder.findall(message.id)
            ), f"{language}: placeholders differ in {message.id!r}"


def test_one_word_for_one_thing() -> None:
    """The glossary (translations/glossary.toml): no translation uses a second word for a term,
    so a page never says "editie" in one place and "uitvoering" in the next."""
    import re
    import tomllib

    glossary = tomllib.loads((REPO_ROOT / "translations" / "glossary.toml").read_text())
    assert set(glossary) <= set(LANGUAGES)
    for language, terms in glossary.items():
        catalog = _catalog(language)
        for term, others in terms.items():
            for other in others:
                pattern = re.compile(rf"\b{re.escape(other)}\b", re.IGNORECASE)
                found = [
                    message.id
                    for message in catalog
                    if message.id
                    and any(
                        pattern.search(text)
                        for text in (
                            message.string
                            if isinstance(message.string, tuple)
                            else (message.string,)
                        )
                        if text
                    )
                ]
                assert not found, (
                    f"{language}: '{other}' where the glossary says '{term}', in {found[:5]}"
                )

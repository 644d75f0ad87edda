"""Control characters (core/text.py): the one check every input uses, and the header cleaner."""

from __future__ import annotations

import pytest

from samenleren.core.text import has_control_characters, header_safe, single_line

BAD = ["\r", "\n", "\x00", "\x1b", "\x7f", "\x85", "\x9b", "\u2028", "\u2029"]


@pytest.mark.parametrize("bad", BAD)
def test_single_line_values_refuse_every_control_character(bad: str) -> None:
    assert has_control_characters(f"Anna{bad}Bcc: eve@example.nl")


@pytest.mark.parametrize("bad", ["\x00", "\x1b", "\x7f", "\x85", "\u2028"])
def test_multi_line_text_allows_line_breaks_and_tabs_only(bad: str) -> None:
    assert not has_control_characters("regel 1\r\nregel 2\n\tingesprongen", multiline=True)
    assert has_control_characters(f"regel{bad}", multiline=True)


def test_ordinary_text_passes() -> None:
    for text in ("Anna de Vries-Ĳsselmeer", "https://meet.example.nl/abc?x=1", "", None, "日本"):
        assert not has_control_characters(text)


def test_claims_are_normalised_and_headers_cleaned() -> None:
    assert single_line("  Anna\r\nBcc: eve@example.nl\u2028 ") == "Anna Bcc: eve@example.nl"
    assert single_line(None) is None
    assert "\n" not in header_safe("Anna\r\nBcc: eve@example.nl")
    assert "\r" not in header_safe("Anna\r\nBcc: eve@example.nl")


def test_a_name_never_adds_a_mail_header() -> None:
    from samenleren.notifications.rendering import _address, _fold

    folded = _fold("To", _address("Anna\r\nBcc: eve@example.nl", "anna@example.nl"))
    assert folded.count("\r\n") == 1 and folded.endswith("\r\n")
    assert "\nBcc:" not in folded

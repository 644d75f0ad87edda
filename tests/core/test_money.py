"""Amounts in euro cents: both ways of writing them, never a float."""

from __future__ import annotations

from decimal import Decimal

import pytest

from samenleren.core.money import AmountError, divide, input_value, parse_cents, show_euros


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("1.234,56", 123456),
        ("1234,56", 123456),
        ("1234.56", 123456),
        ("1,234.56", 123456),
        ("1.234", 123400),  # the Dutch thousands point
        ("1.234.567", 123456700),
        ("12,5", 1250),
        ("0,10", 10),
        ("€ 1.234,56", 123456),
        ("1 234,56", 123456),
        ("5000", 500000),
        (" 40 ", 4000),
        (Decimal("0.1") + Decimal("0.2"), 30),
        (5000, 500000),
    ],
)
def test_amounts_are_read_in_dutch_and_english_writing(text, cents):
    assert parse_cents(text) == cents


def test_negative_amounts_only_when_allowed():
    assert parse_cents("-12,50", allow_negative=True) == -1250
    assert parse_cents("\u221212,50", allow_negative=True) == -1250
    with pytest.raises(AmountError):
        parse_cents("-12,50")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "format"),
        ("twaalf", "format"),
        ("1,2,3", "format"),
        ("1.234.5", "format"),
        ("12,345", "decimals"),
        ("0.125", "decimals"),
        ("1e3", "format"),
        ("NaN", "format"),
        ("12.", "format"),
        ("99999999999", "size"),
        (",5", "format"),
    ],
)
def test_unreadable_amounts_are_refused_with_a_reason(text, reason):
    with pytest.raises(AmountError) as refused:
        parse_cents(text)
    assert refused.value.reason == reason


def test_a_float_is_never_taken_for_an_amount():
    with pytest.raises(AmountError):
        parse_cents(True)  # type: ignore[arg-type]
    # A float is not an int, Decimal or str: it goes through str() and is read as text, so
    # 0.1 + 0.2 (0.30000000000000004) is refused instead of silently rounded.
    with pytest.raises(AmountError):
        parse_cents(str(0.1 + 0.2))


def test_sharing_rounds_half_up_to_a_cent_and_nobody_gives_none():
    assert divide(100, 3) == 33
    assert divide(200, 3) == 67
    assert divide(5, 2) == 3
    assert divide(500000, 0) is None


def test_amounts_are_shown_in_the_language_of_the_page(app):
    from flask_babel import force_locale

    with app.test_request_context():
        with force_locale("nl"):
            assert show_euros(123456) == "€\u00a01.234,56"
            assert show_euros(-1250) == "\u2212€\u00a012,50"
        with force_locale("en"):
            assert show_euros(123456) == "€\u00a01,234.56"
        assert show_euros(None) == ""
    assert input_value(123456) == "1234,56"
    assert input_value(-5) == "-0,05"
    assert parse_cents(input_value(123456)) == 123456

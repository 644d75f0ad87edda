"""Money as whole euro cents (integers): reading amounts people type, showing them back.

Amounts are never floats. Input is read as a `Decimal` and must come out in whole cents.
Both ways of writing an amount are understood: the Dutch "1.234,56" and the English "1234.56"
(also "1,234.56", "€ 12,50" and a minus sign for a credit). A lone point followed by groups of
three digits ("1.234") is the Dutch thousands separator; a lone comma is always the decimal
comma ("12,5" is 12.50).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask import Flask
from flask_babel import format_decimal, gettext

_CURRENCY = re.compile(r"(?i)^(€|eur(o)?)\s*|\s*(€|eur(o)?)$")
_THOUSANDS_POINTS = re.compile(r"^[1-9]\d{0,2}(\.\d{3})+$")
#: 10 million euro: more is a typing error, and it keeps every sum well inside 64 bits.
MAX_CENTS = 1_000_000_000


class AmountError(ValueError):
    """An amount that cannot be read; `reason` is "format", "decimals", "zero" or "size"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_cents(text: str | int | Decimal, *, allow_negative: bool = False) -> int:
    """Euro cents from "1.234,56", "1234.56", "12,5", "-40" (with `allow_negative`) or a
    `Decimal`/`int`; raises `AmountError` for anything else, for more than two decimals, and
    beyond `MAX_CENTS`."""
    if isinstance(text, bool):
        raise AmountError("format")
    if isinstance(text, int | Decimal):
        value = Decimal(text)
    else:
        value = _decimal(str(text))
    if not value.is_finite():
        raise AmountError("format")
    if value != value.quantize(Decimal("0.01")):
        raise AmountError("decimals")
    if value < 0 and not allow_negative:
        raise AmountError("format")
    cents = int(value * 100)
    if abs(cents) > MAX_CENTS:
        raise AmountError("size")
    return cents


def _decimal(raw: str) -> Decimal:
    text = raw.strip().replace("\u00a0", "").replace(" ", "")
    text = _CURRENCY.sub("", text).strip()
    sign = ""
    if text[:1] in {"-", "+", "\u2212"}:
        sign, text = ("-" if text[0] != "+" else ""), text[1:]
    if not text or not re.fullmatch(r"[0-9.,]+", text) or not text[0].isdigit():
        raise AmountError("format")
    if "," in text and "." in text:
        decimal_mark = "," if text.rfind(",") > text.rfind(".") else "."
        grouping = "." if decimal_mark == "," else ","
        whole, _, fraction = text.rpartition(decimal_mark)
        if decimal_mark in whole or not re.fullmatch(rf"\d{{1,3}}(\{grouping}\d{{3}})*", whole):
            raise AmountError("format")
        text = whole.replace(grouping, "") + "." + fraction
    elif "," in text:
        if text.count(",") > 1:
            raise AmountError("format")
        text = text.replace(",", ".")
    elif text.count(".") > 1 or _THOUSANDS_POINTS.match(text):
        if not _THOUSANDS_POINTS.match(text):
            raise AmountError("format")
        text = text.replace(".", "")
    if text.endswith("."):
        raise AmountError("format")
    try:
        return Decimal(sign + text)
    except InvalidOperation:
        raise AmountError("format") from None


def amount_message(refused: AmountError) -> str:
    """What to tell someone whose amount could not be read."""
    if refused.reason == "decimals":
        return gettext("Give the amount in euros with at most two decimals, e.g. 1.234,56.")
    if refused.reason == "size":
        return gettext("This amount is too large; give it in euros, e.g. 1.234,56.")
    return gettext("Give an amount in euros, e.g. 1.234,56 or 1234.56.")


def to_decimal(cents: int) -> Decimal:
    """Cents as a `Decimal` number of euros (two places), for files and spreadsheets."""
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def input_value(cents: int | None) -> str:
    """The value of an amount field: "1234,56" (no grouping, so it reads back the same)."""
    if cents is None:
        return ""
    return f"{to_decimal(cents)}".replace(".", ",")


def divide(cents: int, count: int) -> int | None:
    """`cents` shared by `count` (rounded half up to a cent); None when there is nobody."""
    if count <= 0:
        return None
    return int((Decimal(cents) / count).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def show_euros(cents: int | None) -> str:
    """`{{ amount|euros }}` → "€ 1.234,56" in Dutch, "€1,234.56" in English; "" for None."""
    if cents is None:
        return ""
    amount = format_decimal(to_decimal(cents), format="#,##0.00")
    return f"\u2212€\u00a0{amount.lstrip('-')}" if cents < 0 else f"€\u00a0{amount}"


def init_app(app: Flask) -> None:
    app.add_template_filter(show_euros, "euros")

"""Cells written to CSV or XLSX files that a spreadsheet program shows as text, never runs."""

from __future__ import annotations

#: A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    """A cell that a spreadsheet shows as text: a leading formula character gets a `'`."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text

"""Dates as each language writes them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask_babel import force_locale

from samenleren.core.formatting import show_date, show_moment


@pytest.mark.parametrize(
    ("locale", "style", "expected"),
    [
        ("nl", "medium", "12 mrt 2027"),
        ("fy", "medium", "12 mrt 2027"),  # CLDR capitalises "Mrt"; Frisian does not
        ("fy", "long", "12 maart 2027"),
        ("fy", "short", "12-03-27"),
        ("en", "medium", "Mar 12, 2027"),
    ],
)
def test_month_names_are_written_as_the_language_writes_them(app, locale, style, expected):
    with app.test_request_context(), force_locale(locale):
        assert show_date(date(2027, 3, 12), style) == expected


def test_a_frisian_moment_has_its_month_in_lower_case_too(app):
    with app.test_request_context(), force_locale("fy"):
        assert show_moment(datetime(2027, 10, 5, 12, 0, tzinfo=UTC)).startswith("5 okt 2027")

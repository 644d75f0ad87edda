"""The report's tables as export tables (CSV, XLSX), built by the exports job runtime."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext

from samenleren.core.formatting import local_today
from samenleren.exports.datasets import Column, Table
from samenleren.exports.models import Dataset
from samenleren.insight.figures import figures
from samenleren.insight.report import headline, sections
from samenleren.insight.scope import parse_scope


def check_parameters(parameters: Mapping[str, str]) -> dict[str, str]:
    """The period and filters kept with an export request (refused ones raise InvalidInput);
    without a year, the year of the request, so the file shows what was asked for."""
    scope = parse_scope(parameters, local_today())
    kept = dict(scope.form)
    if scope.period.kind != "custom":
        kept["year"] = str(scope.period.year)
    return kept


def build_tables(parameters: Mapping[str, str]) -> list[Table]:
    scope = parse_scope(parameters, local_today())
    found = figures(scope)
    period = scope.period
    tables = [
        Table(
            dataset=Dataset.INSIGHT,
            title=gettext("In short"),
            name="headline",
            columns=[Column(gettext("What")), Column(gettext("Figure"))],
            rows=[
                (
                    gettext("Period"),
                    f"{period.starts_on.isoformat()} – {period.ends_on.isoformat()}",
                ),
                *headline(found),
            ],
        )
    ]
    for section in sections(found):
        tables.append(
            Table(
                dataset=Dataset.INSIGHT,
                title=section.title,
                name=section.key,
                columns=[Column(header) for header in section.columns],
                rows=[tuple(row) for row in section.rows],
            )
        )
    return tables

"""Every table of the report as a file, through the exports' background jobs."""

from __future__ import annotations

import pytest

from tests.exports.helpers import every_text, xlsx_workbook
from tests.exports.test_exports import download, only_export, run_reports
from tests.insight.test_pages import _client, programme  # noqa: F401
from tests.trajectories.test_pages import post

pytestmark = pytest.mark.usefixtures("english")


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_the_report_is_exported_with_its_period_and_filters(app, tenants, programme, fmt):  # noqa: F811
    admin = _client(app, tenants, "pim.admin")
    page = admin.get("/flevoland/insight/?year=2025&training=" + str(programme.ids["training A"]))
    html = page.get_data(as_text=True)
    assert 'name="p.training"' in html and 'name="datasets" value="insight"' in html
    answer = post(
        app,
        admin,
        "/flevoland/exports/",
        [
            ("format", fmt),
            ("datasets", "insight"),
            ("p.year", "2025"),
            ("p.training", str(programme.ids["training A"])),
        ],
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)
    assert run_reports(app) == 1
    export = only_export(app, tenants["flevoland"])
    assert export.state.value == "done"
    assert export.parameters == {"year": "2025", "training": str(programme.ids["training A"])}
    got = download(admin, export)
    assert got.status_code == 200
    text = every_text(export.filename, got.data)
    assert "zqinsight" not in text
    assert "Applied or exceeded" in text  # the transfer table's header
    assert "60% (3 of 5)" in text  # training A, by the learners
    assert "fewer than 5" in text  # its managers' ratings: 4 learners
    assert "Training B" not in text
    if fmt == "xlsx":
        sheets = xlsx_workbook(got.data).sheetnames
        assert sheets[0] == "In short" and len(sheets) == 12


def test_a_refused_period_makes_no_export(app, tenants, programme):  # noqa: F811
    from sqlalchemy import func, select

    from samenleren.core.extensions import db
    from samenleren.exports.models import Export
    from tests.factories import in_tenant

    admin = _client(app, tenants, "pim.admin")
    answer = post(
        app,
        admin,
        "/flevoland/exports/",
        [("format", "csv"), ("datasets", "insight"), ("p.year", "twintig")],
    )
    assert answer.status_code == 422
    assert "Give a year between 2000 and 2100." in answer.get_data(as_text=True)
    with in_tenant(app, tenants["flevoland"]):
        assert db.session.scalar(select(func.count()).select_from(Export)) == 0


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_no_confidential_note_or_typed_text_in_any_table(app, tenants, programme, fmt):  # noqa: F811
    """The coach's confidential notes (every field of the progress conversation) and what the
    admin typed on an expense never reach the page, the report's CSV or its files."""
    from tests.insight.test_costs import SECRET, add_costs
    from tests.insight.test_mail import NOTE, _confidential_notes

    flevoland = tenants["flevoland"]
    add_costs(app, flevoland, programme)
    _confidential_notes(app, flevoland, programme)
    admin = _client(app, tenants, "pim.admin")
    page = admin.get("/flevoland/insight/?year=2025").get_data(as_text=True)
    csv_text = admin.get("/flevoland/insight/report.csv?year=2025").get_data(as_text=True)
    answer = post(
        app,
        admin,
        "/flevoland/exports/",
        [("format", fmt), ("datasets", "insight"), ("p.year", "2025")],
    )
    assert answer.status_code == 303
    assert run_reports(app) == 1
    export = only_export(app, flevoland)
    text = every_text(export.filename, download(admin, export).data)
    assert "Budget 2025" in text and "Cost per applied expected result" in text
    for where in (page, csv_text, text):
        assert NOTE not in where and SECRET not in where and "zqinsight" not in where

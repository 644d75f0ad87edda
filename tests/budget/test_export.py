"""The budget's expenses in the programme data export (background job, CSV and XLSX)."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from tests.budget.helpers import book
from tests.factories import build_world, get, in_tenant

pytestmark = pytest.mark.usefixtures("english")


def _export(app, tenant, world, fmt: str):
    from samenleren.core.extensions import db
    from samenleren.exports import services
    from samenleren.exports.models import Export
    from samenleren.identity.models import User

    with in_tenant(app, tenant):
        export = services.new_export(get(User, world.admin), fmt, ["budget"], "en")
        export_id = export.id
        db.session.commit()
        services.build_export(export_id)
        export = get(Export, export_id)
        return export.filename, export.content


def test_the_expenses_are_exported_as_csv_with_euros_and_category_names(app, tenants):
    from samenleren.budget.planning import rename_categories
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        book(world, 123456, on=date(2027, 3, 1), category="venues", edition=world.edition)
        book(world, -1250, on=date(2027, 2, 1), category="other")
        rename_categories({"venues": "Zalen"}, get(User, world.admin))
        db.session.commit()
    with in_tenant(app, tenants["gelderland"]):
        book(build_world(tenants["gelderland"]), 999, on=date(2027, 1, 1))
        db.session.commit()
    filename, content = _export(app, flevoland, world, "csv")
    assert filename.endswith("-budget.csv")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [
        "Date",
        "Amount (euros)",
        "Category",
        "Training",
        "Edition",
        "Invoice reference",
        "Description",
    ]
    assert rows[1:] == [
        ["2027-02-01", "-12,50", "Other", "", "", "", ""],
        ["2027-03-01", "1234,56", "Zalen", "Training van flevoland", "Editie flevoland", "", ""],
    ]  # Gelderland's expense is not in it


def test_the_expenses_are_exported_as_numbers_in_xlsx(app, tenants):
    from openpyxl import load_workbook

    from samenleren.core.extensions import db

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        book(world, 10, on=date(2027, 3, 1))
        book(world, 20, on=date(2027, 3, 2))
        db.session.commit()
    _, content = _export(app, flevoland, world, "xlsx")
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    assert sheet.title == "Expenses"
    amounts = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert [Decimal(str(a)) for a in amounts] == [Decimal("0.10"), Decimal("0.20")]

"""Importing expenses from CSV and XLSX: all or nothing, a message per refused line."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from tests.factories import build_world, get, in_tenant

pytestmark = pytest.mark.usefixtures("english")


def _xlsx(rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _run(app, tenant, filename: str, content: bytes, world=None):
    """Import as the world's admin (the world is built unless given); returns (result or the
    refusal, rows in the ledger after, the world)."""
    from samenleren.budget.importing import ImportRefused, import_actuals
    from samenleren.budget.models import Actual
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    with in_tenant(app, tenant):
        world = world or build_world(tenant)
        try:
            outcome = import_actuals(filename, content, get(User, world.admin))
            db.session.commit()
        except ImportRefused as refused:
            db.session.rollback()
            outcome = refused
        actuals = db.session.scalars(select(Actual).order_by(Actual.spent_on)).all()
        return (
            outcome,
            [(a.spent_on, a.amount_cents, a.category, a.edition_id) for a in actuals],
            world,
        )


def test_a_csv_file_with_dutch_amounts_and_semicolons_is_imported(app, tenants):
    content = (
        "Datum;Bedrag;Categorie;Editie;Factuurnummer\n"
        "12-03-2027;1.234,56;Venues;;F-001\n"
        "2027-03-13;-12,50;materials;;CN-2\n"
        "\n"
        "2027-04-01;€ 250;Overig;Training van flevoland · Editie flevoland;F-003\n"
    ).encode("cp1252")
    outcome, actuals, world = _run(app, tenants["flevoland"], "kosten.csv", content)
    assert not hasattr(outcome, "problems"), outcome.problems
    assert (outcome.rows, outcome.total_cents) == (3, 123456 - 1250 + 25000)
    assert actuals == [
        (date(2027, 3, 12), 123456, "venues", None),
        (date(2027, 3, 13), -1250, "materials", None),
        (date(2027, 4, 1), 25000, "other", world.edition),
    ]


def test_a_csv_file_with_english_amounts_and_commas_is_imported(app, tenants):
    content = (
        "\ufeffdate,amount,category,invoice reference\n"
        '2027-05-01,"1,234.56",External trainers,INV-9\n'
        "2027-05-02,99.9,Coach training and coach days,INV-10\n"
    ).encode()
    outcome, actuals, _ = _run(app, tenants["flevoland"], "costs.csv", content)
    assert outcome.rows == 2
    assert [a[1:3] for a in actuals] == [(123456, "trainers"), (9990, "coaching")]


def test_an_xlsx_file_is_imported_from_typed_cells_without_float_sums(app, tenants):
    from samenleren.audit.models import AuditEvent
    from samenleren.core.extensions import db

    content = _xlsx(
        [
            ["Date", "Amount", "Category", "Edition", "Invoice reference"],
            [datetime(2027, 6, 1), 0.1, "venues", None, "A"],
            [date(2027, 6, 2), 0.2, "venues", "", "B"],
            ["03-06-2027", "1.000,10", "materials", "Editie flevoland", 42],
            [None, None, None, None, None],
            [date(2027, 6, 4), 1234.56, "other", None, None],
        ]
    )
    outcome, actuals, world = _run(app, tenants["flevoland"], "kosten.xlsx", content)
    assert outcome.rows == 4
    assert outcome.total_cents == 10 + 20 + 100010 + 123456
    assert [a[1] for a in actuals] == [10, 20, 100010, 123456]
    assert actuals[2][3] == world.edition
    with in_tenant(app, tenants["flevoland"]):
        imported = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "budget.imported")
        )
        assert imported.details == {"filename": "kosten.xlsx", "rows": 4, "total": 223496}
        added = db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "budget.actual_added")
        )
        assert added == 4


def test_bad_lines_are_refused_one_by_one_and_nothing_is_imported(app, tenants):
    content = (
        b"date;amount;category;edition;invoice reference\n"
        b"2027-03-01;100,00;venues;;OK-1\n"
        b"31-02-2027;100,00;venues;;bad date\n"
        b"2027-03-02;twaalf;venues;;bad amount\n"
        b"2027-03-03;12,345;venues;;too many decimals\n"
        b"2027-03-04;10,00;travel;;unknown category\n"
        b"2027-03-05;10,00;venues;Najaar 1999;unknown edition\n"
        b"2027-03-06;0;venues;;zero\n"
        b"morgen;nul;reizen;;three at once\n"
        b"2027-03-07;10,00;venues;;OK-2\n"
    )
    outcome, actuals, _ = _run(app, tenants["flevoland"], "kosten.csv", content)
    assert actuals == []  # not even the good lines
    problems = {p.line: p.message for p in outcome.problems}
    assert sorted(problems) == [3, 4, 5, 6, 7, 8, 9]
    assert "the date '31-02-2027' is not a date" in problems[3]
    assert "the amount 'twaalf'" in problems[4]
    assert "at most two decimals" in problems[5]
    assert "the category 'travel' is unknown" in problems[6]
    assert "Venues" in problems[6]  # the names to choose from
    assert "the edition 'Najaar 1999' is unknown" in problems[7]
    assert "other than 0" in problems[8]
    assert problems[9].count(";") == 2  # date, amount and category, all three said at once
    assert "7 problems" in outcome.errors["file"]


@pytest.mark.parametrize(
    ("filename", "content", "line", "message"),
    [
        ("leeg.csv", b"", 1, "The file is empty."),
        ("leeg.csv", b"\n\n", 1, "The file is empty."),
        ("kop.csv", b"date;amount;category\n", 2, "has no lines to import"),
        ("fout.csv", b"datum;prijs;soort\n2027-01-01;1;venues\n", 1, "must name the columns"),
        ("dubbel.csv", b"date;date;amount;category\n", 1, "Found: date, date, amount"),
        ("kapot.xlsx", b"PK\x03\x04 not a workbook", 1, "cannot be read as an Excel"),
        ("plaatje.csv", b"\x89PNG\x00\x00\x00", 1, "not a CSV or Excel"),
    ],
)
def test_files_that_cannot_be_read_are_refused_with_their_line(
    app, tenants, filename, content, line, message
):
    outcome, actuals, _ = _run(app, tenants["flevoland"], filename, content)
    assert actuals == []
    (problem,) = outcome.problems
    assert problem.line == line
    assert message in problem.message


def test_an_empty_xlsx_and_one_with_wrong_columns_are_refused(app, tenants):
    outcome, _, world = _run(app, tenants["flevoland"], "leeg.xlsx", _xlsx([]))
    assert outcome.problems[0].message == "The file is empty."
    outcome, _, _ = _run(
        app, tenants["flevoland"], "fout.xlsx", _xlsx([["wanneer", "hoeveel"], [1, 2]]), world
    )
    assert "must name the columns" in outcome.problems[0].message


def test_an_edition_name_used_twice_needs_its_training(app, tenants):
    from samenleren.catalogue.models import Edition, Training
    from samenleren.core.extensions import db

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        other = Training(title="Schrijven", capacity=10)
        db.session.add(other)
        db.session.flush()
        edition = get(Edition, world.edition)
        db.session.add(
            Edition(
                training_id=other.id,
                name=edition.name,
                starts_on=edition.starts_on,
                ends_on=edition.ends_on,
            )
        )
        db.session.commit()
    from samenleren.budget.importing import ImportRefused, import_actuals
    from samenleren.identity.models import User

    with in_tenant(app, flevoland):
        admin = get(User, world.admin)
        with pytest.raises(ImportRefused) as refused:
            import_actuals(
                "x.csv",
                b"date;amount;category;edition\n2027-01-01;5;venues;Editie flevoland\n",
                admin,
            )
        assert "several editions" in refused.value.problems[0].message
        db.session.rollback()
        result = import_actuals(
            "x.csv",
            b"date;amount;category;edition\n2027-01-01;5;venues;Schrijven Editie flevoland\n",
            admin,
        )
        assert result.rows == 1


def test_another_tenants_edition_is_unknown_here(app, tenants):
    with in_tenant(app, tenants["gelderland"]):
        theirs = build_world(tenants["gelderland"]).edition
    content = f"date;amount;category;edition\n2027-01-01;5;venues;{theirs}\n".encode()
    outcome, actuals, _ = _run(app, tenants["flevoland"], "x.csv", content)
    assert actuals == []
    assert "is unknown" in outcome.problems[0].message

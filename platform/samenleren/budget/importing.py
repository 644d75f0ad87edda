"""Importing actuals from a CSV or Excel (XLSX) file: every line is checked first, and either
every line is booked or none is (one transaction; the view commits only when nothing was
refused).

The first row names the columns, in any order: date, amount, category, edition, invoice
reference (the English, Dutch or Frisian words; edition and invoice reference may be left out).
CSV files are read with the csv module, separated by semicolons (Dutch Excel), commas or tabs,
in UTF-8 or Windows-1252. Amounts may be written "1.234,56" or "1234.56"; XLSX number cells are
read through their shortest decimal text, never as a float sum.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask_babel import force_locale, gettext
from sqlalchemy import and_, select

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.budget.actuals import ActualInput, add_actuals, check_actual
from samenleren.budget.ledger import category_names
from samenleren.budget.models import DEFAULT_NAMES
from samenleren.catalogue.access import require_admin
from samenleren.catalogue.models import Edition, Training
from samenleren.core.config import LANGUAGES
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.money import AmountError, amount_message, parse_cents
from samenleren.identity.models import User

MAX_BYTES = 2_000_000
MAX_LINES = 5_000

#: Column -> the header words that name it (compared without case, spaces or punctuation).
COLUMNS = {
    "date": ("date", "datum", "boekdatum", "factuurdatum"),
    "amount": ("amount", "bedrag", "bedrach", "euro", "euros"),
    "category": ("category", "categorie", "kategory", "kategorie"),
    "edition": ("edition", "editie", "edysje", "training"),
    "invoice_reference": (
        "invoicereference",
        "invoice",
        "reference",
        "factuurnummer",
        "factuurreferentie",
        "factuur",
        "referentie",
        "faktuernûmer",
        "faktuer",
    ),
}
REQUIRED = ("date", "amount", "category")
_DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y")


@dataclass(frozen=True)
class Problem:
    """A refused line: its number in the file (the header is line 1) and why."""

    line: int
    message: str


class ImportRefused(InvalidInput):
    """Nothing was imported; `problems` says which line was refused and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(
            {
                "file": gettext(
                    "Nothing was imported: the file has %(count)d problems, listed below. "
                    "Correct them and import the whole file again.",
                    count=len(problems),
                )
                if len(problems) != 1
                else gettext(
                    "Nothing was imported: the file has a problem, shown below. Correct it and "
                    "import the whole file again."
                )
            }
        )


@dataclass(frozen=True)
class ImportResult:
    rows: int
    total_cents: int


def _word(text: object) -> str:
    return re.sub(r"[\W_]+", "", str(text or "")).casefold()


def _is_blank(cells: Iterable[object]) -> bool:
    return all(cell is None or str(cell).strip() == "" for cell in cells)


# --- reading the file ---------------------------------------------------------------------------


def read_table(filename: str, content: bytes) -> list[list[object]]:
    """The file's rows as lists of cells (strings for CSV; typed cells for XLSX)."""
    if not content:
        raise ImportRefused([Problem(1, gettext("The file is empty."))])
    if len(content) > MAX_BYTES:
        raise ImportRefused(
            [Problem(1, gettext("The file is larger than 2 MB; split it into smaller files."))]
        )
    if content[:2] == b"PK" or filename.lower().endswith(".xlsx"):
        return _read_xlsx(content)
    return _read_csv(content)


def _read_xlsx(content: bytes) -> list[list[object]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise ImportRefused(
            [Problem(1, gettext("The file cannot be read as an Excel (XLSX) workbook."))]
        ) from None
    try:
        sheet = workbook.worksheets[0]
        rows = []
        for row in sheet.iter_rows(values_only=True):
            rows.append(list(row))
            if len(rows) > MAX_LINES + 1:
                break
        return rows
    finally:
        workbook.close()


def _read_csv(content: bytes) -> list[list[object]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="replace")
    if "\x00" in text:
        raise ImportRefused([Problem(1, gettext("The file is not a CSV or Excel (XLSX) file."))])
    first = text.splitlines()[0] if text.splitlines() else ""
    delimiter = max(";,\t", key=first.count) if first else ";"
    return [list(row) for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]


# --- reading the cells --------------------------------------------------------------------------


def _columns(header: list[object]) -> dict[str, int]:
    found: dict[str, int] = {}
    unknown = []
    for index, cell in enumerate(header):
        word = _word(cell)
        if not word:
            continue
        column = next((name for name, words in COLUMNS.items() if word in words), None)
        if column is None or column in found:
            unknown.append(str(cell).strip())
            continue
        found[column] = index
    missing = [name for name in REQUIRED if name not in found]
    if missing or unknown:
        raise ImportRefused(
            [
                Problem(
                    1,
                    gettext(
                        "The first row must name the columns: date, amount, category, and "
                        "optionally edition and invoice reference. Found: %(found)s.",
                        found=", ".join(str(c).strip() for c in header if _word(c)) or "-",
                    ),
                )
            ]
        )
    return found


def _date(cell: object) -> date | None:
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    text = str(cell or "").strip()
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _cents(cell: object) -> int:
    if isinstance(cell, bool):
        raise AmountError("format")
    if isinstance(cell, float):
        # The shortest text that reads back as this number ("1234.56"), never float arithmetic.
        return parse_cents(Decimal(repr(cell)), allow_negative=True)
    if isinstance(cell, int | Decimal):
        return parse_cents(cell, allow_negative=True)
    return parse_cents(str(cell or ""), allow_negative=True)


def _category_lookup(names: dict[str, str]) -> dict[str, str]:
    """Every name a category goes by (the tenant's `names`, and the usual one in every
    language)."""
    lookup = {}
    for key, name in names.items():
        lookup[_word(name)] = key
        lookup[_word(key)] = key
    for language in LANGUAGES:
        with force_locale(language):
            for key, label in DEFAULT_NAMES.items():
                lookup.setdefault(_word(str(label)), str(key))
    return lookup


def _edition_lookup() -> tuple[dict[str, list[uuid.UUID]], set[uuid.UUID]]:
    """Editions by their id, by their name and by "training · edition" (one query)."""
    rows = db.session.execute(
        select(Edition.id, Edition.name, Training.title).join(
            Training,
            and_(Training.tenant_id == Edition.tenant_id, Training.id == Edition.training_id),
        )
    )
    lookup: dict[str, list[uuid.UUID]] = {}
    ids = set()
    for edition_id, name, title in rows:
        ids.add(edition_id)
        for key in {str(edition_id), _word(name), _word(f"{title} {name}")}:
            lookup.setdefault(key, []).append(edition_id)
    return lookup, ids


def _text(row: list[object], column: int | None) -> str:
    if column is None or column >= len(row) or row[column] is None:
        return ""
    return str(row[column]).strip()


def parse_rows(table: list[list[object]]) -> tuple[list[tuple[int, ActualInput]], set[uuid.UUID]]:
    """Each data line read and checked; refused (all problems at once) if any line is wrong."""
    if not table or _is_blank(table[0]):
        raise ImportRefused([Problem(1, gettext("The file is empty."))])
    columns = _columns(table[0])
    data_lines = [(number, row) for number, row in enumerate(table[1:], start=2)]
    data_lines = [(number, row) for number, row in data_lines if not _is_blank(row)]
    if not data_lines:
        raise ImportRefused(
            [Problem(2, gettext("The file names its columns but has no lines to import."))]
        )
    if len(data_lines) > MAX_LINES:
        raise ImportRefused(
            [
                Problem(
                    MAX_LINES + 2,
                    gettext(
                        "The file has more than %(count)d lines; split it into smaller files.",
                        count=MAX_LINES,
                    ),
                )
            ]
        )
    names = category_names()
    categories = _category_lookup(names)
    editions, edition_ids = _edition_lookup()
    problems: list[Problem] = []
    parsed: list[tuple[int, ActualInput]] = []
    for number, row in data_lines:

        def cell(name: str, row: list[object] = row) -> object:
            index = columns.get(name)
            return row[index] if index is not None and index < len(row) else None

        messages = []
        spent_on = _date(cell("date"))
        if spent_on is None:
            messages.append(
                gettext(
                    "the date %(value)s is not a date such as 2027-03-12 or 12-03-2027",
                    value=repr(_text(row, columns.get("date"))),
                )
            )
        amount = 0
        try:
            amount = _cents(cell("amount"))
        except AmountError as refused:
            messages.append(
                gettext(
                    "the amount %(value)s: %(reason)s",
                    value=repr(_text(row, columns.get("amount"))),
                    reason=amount_message(refused),
                )
            )
        category_text = _text(row, columns.get("category"))
        category = categories.get(_word(category_text))
        if category is None:
            messages.append(
                gettext(
                    "the category %(value)s is unknown (use one of: %(names)s)",
                    value=repr(category_text),
                    names=", ".join(names.values()),
                )
            )
        edition_text = _text(row, columns.get("edition"))
        edition_id = None
        if edition_text:
            matches = editions.get(edition_text.lower()) or editions.get(_word(edition_text), [])
            if len(matches) == 1:
                edition_id = matches[0]
            elif not matches:
                messages.append(
                    gettext(
                        "the edition %(value)s is unknown (give its name as on the edition's "
                        "page, with the training's title in front when names repeat)",
                        value=repr(edition_text),
                    )
                )
            else:
                messages.append(
                    gettext(
                        "several editions are called %(value)s: put the training's title in front",
                        value=repr(edition_text),
                    )
                )
        if messages:
            problems.append(Problem(number, "; ".join(messages)))
            continue
        assert spent_on is not None and category is not None
        data = ActualInput(
            spent_on=spent_on,
            amount_cents=amount,
            category=category,
            edition_id=edition_id,
            invoice_reference=_text(row, columns.get("invoice_reference")),
        )
        rejected = check_actual(data, edition_ids)
        if rejected:
            problems.append(Problem(number, "; ".join(rejected.values())))
            continue
        parsed.append((number, data))
    if problems:
        raise ImportRefused(problems)
    return parsed, edition_ids


def import_actuals(filename: str, content: bytes, actor: User) -> ImportResult:
    """Book every line of the file, or none: a refused line raises `ImportRefused` before
    anything is written. The caller commits."""
    require_admin(actor)
    parsed, edition_ids = parse_rows(read_table(filename, content))
    rows = [data for _number, data in parsed]
    total = sum(data.amount_cents for data in rows)
    record(
        AuditAction.BUDGET_IMPORTED,
        actor=actor,
        details={"filename": filename[:200], "rows": len(rows), "total": total},
    )
    add_actuals(rows, actor, source="import", known_editions=edition_ids)
    return ImportResult(rows=len(rows), total_cents=total)

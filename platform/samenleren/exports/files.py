"""Export tables as files: CSV (one file per dataset; a ZIP of them for several) and XLSX.

CSV, for Excel as Dutch offices use it: UTF-8 with a byte order mark (Excel then reads the
accents right), `;` between cells (the list separator of Dutch Excel, which uses the comma as its
decimal sign; with `,` Excel puts each whole line in one column), CRLF line ends, dates as
`2027-03-01` and moments as `2027-03-01 13:30` (Dutch time). One dataset gives one `.csv` file;
several give a `.zip` with one `.csv` per dataset (per table, for a dataset of several tables).

XLSX: one sheet per dataset, the header row bold and frozen, a filter on the headers, dates and
moments as real spreadsheet dates.

Formula injection: a text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return
would be run as a formula by a spreadsheet. In CSV such a cell gets a leading `'` (as the audit
log's export does); in XLSX every text cell is stored as text (never as a formula) and such a
cell is marked "quote prefix", as Excel itself does for text typed with a leading `'`.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from samenleren.core.spreadsheets import FORMULA_STARTS, neutralise
from samenleren.exports.datasets import DAY, MOMENT, TEXT, Table
from samenleren.exports.models import ExportFormat

CSV_TYPE = "text/csv; charset=utf-8"
ZIP_TYPE = "application/zip"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_DELIMITER = ";"

#: Characters a sheet name may not hold, and its longest length.
_SHEET_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})
_SHEET_MAX = 31


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content_type: str
    content: bytes


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, Decimal):
        # Amounts in euros: a decimal comma, as the semicolons are for Dutch spreadsheets.
        return str(value).replace(".", ",")
    return str(value)


def csv_bytes(table: Table) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=CSV_DELIMITER, lineterminator="\r\n")
    writer.writerow([neutralise(column.header) for column in table.columns])
    for row in table.rows:
        writer.writerow([_csv_cell(value) for value in row])
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def _sheet_title(title: str, taken: set[str]) -> str:
    base = title.translate(_SHEET_FORBIDDEN).strip()[:_SHEET_MAX] or "Sheet"
    name, number = base, 2
    while name.lower() in taken:
        suffix = f" {number}"
        name, number = base[: _SHEET_MAX - len(suffix)] + suffix, number + 1
    taken.add(name.lower())
    return name


def xlsx_bytes(tables: list[Table]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    bold = Font(bold=True)
    taken: set[str] = set()
    for table in tables:
        sheet = workbook.create_sheet(_sheet_title(table.title, taken))
        sheet.append([column.header for column in table.columns])
        for cell in sheet[1]:
            cell.font = bold
            cell.data_type = "s"
        widths = [len(column.header) for column in table.columns]
        for row in table.rows:
            sheet.append([_xlsx_value(value) for value in row])
            for index, value in enumerate(row):
                widths[index] = max(widths[index], min(len(_csv_cell(value)), 60))
        for index, column in enumerate(table.columns, start=1):
            letter = get_column_letter(index)
            sheet.column_dimensions[letter].width = widths[index - 1] + 2
            cells = sheet[letter][1:]
            if column.kind == DAY:
                for cell in cells:
                    cell.number_format = "yyyy-mm-dd"
            elif column.kind == MOMENT:
                for cell in cells:
                    cell.number_format = "yyyy-mm-dd hh:mm"
            elif column.kind == TEXT:
                for cell in cells:
                    _as_text(cell)
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = sheet.dimensions
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_value(value: object) -> object:
    if isinstance(value, str):
        # Control characters are not allowed in the file format; drop them.
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def _as_text(cell) -> None:
    """Store a text cell as text: openpyxl would write a value starting with `=` as a formula."""
    if cell.value is None:
        return
    cell.data_type = "s"
    if str(cell.value).startswith(FORMULA_STARTS):
        cell.quotePrefix = True


def export_file(tables: list[Table], export_format: ExportFormat, stem: str) -> ExportFile:
    """The file for `tables`; `stem` names it (e.g. `flevoland-export-2027-03-01`)."""
    if export_format is ExportFormat.XLSX:
        return ExportFile(f"{stem}.xlsx", XLSX_TYPE, xlsx_bytes(tables))
    if len(tables) == 1:
        table = tables[0]
        return ExportFile(f"{stem}-{table.file_part}.csv", CSV_TYPE, csv_bytes(table))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for table in tables:
            archive.writestr(f"{stem}-{table.file_part}.csv", csv_bytes(table))
    return ExportFile(f"{stem}.zip", ZIP_TYPE, buffer.getvalue())

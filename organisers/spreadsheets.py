"""Spreadsheets in and out: the one place where organisers' files are read and exports written.

Reading accepts .xlsx and .csv (UTF-8 with or without a BOM, or Windows-1252; comma, semicolon or
tab), refuses what is not a spreadsheet, an empty file, a sheet without a header, a cell holding
a formula, and files over the size and row limits, each with a sentence an organiser can act on.
Rows keep their spreadsheet numbers (the header is row 1), blank rows included, so a report can
name the row the organiser sees.

Writing neutralises formulas: a text cell that a spreadsheet program would run (it starts with
=, +, -, @, a tab or a carriage return) gets a leading apostrophe and stays text, in CSV and XLSX.
"""

import csv
import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

import tablib
from django.conf import settings
from import_export.formats import base_formats
from import_export.tmp_storages import CacheStorage

from common.problems import DomainError
from organisers.cells import FORMULA_STARTS, cell_value_text

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_MAGIC = b"PK\x03\x04"
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024  # a workbook that inflates past this is a zip bomb


class SpreadsheetRefused(DomainError):
    code = "import_unreadable"
    status = 400
    title = "The file cannot be imported"


@dataclass
class Sheet:
    """A header and its rows as text, each row with its number in the spreadsheet."""

    headers: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)

    def as_dataset(self) -> tablib.Dataset:
        dataset = tablib.Dataset(headers=self.headers)
        for _number, cells in self.rows:
            dataset.append(cells)
        dataset.row_numbers = [number for number, _cells in self.rows]  # as the organiser sees them
        return dataset


def max_bytes() -> int:
    return settings.IMPORT_MAX_BYTES


def max_rows() -> int:
    return settings.IMPORT_MAX_ROWS


def read_sheet(content: bytes, filename: str = "") -> Sheet:
    """The first sheet of an uploaded .xlsx or .csv, as text cells."""
    if not content:
        raise SpreadsheetRefused("The file is empty.")
    if len(content) > max_bytes():
        limit = max_bytes() / 1_000_000
        raise SpreadsheetRefused(f"The file is larger than {limit:g} MB. Split it into smaller files.")
    name = filename.lower()
    if content.startswith(XLSX_MAGIC):
        table = _xlsx_rows(content)
    elif name.endswith((".xlsx", ".xlsm", ".xls", ".ods")):
        raise SpreadsheetRefused("This file is not a spreadsheet we can read: save it as .xlsx or .csv.")
    else:
        table = _csv_rows(content)
    return _with_header(table)


def _with_header(table) -> Sheet:
    header = None
    rows: list[tuple[int, list[str]]] = []
    for number, cells in table:
        if header is None:
            if not any(cells):
                continue  # blank lines above the header
            header = [cell.strip() for cell in cells]
            if not any(header):
                break
            continue
        if len(rows) >= max_rows():
            raise SpreadsheetRefused(f"The file has more than {max_rows():,} rows. Split it into smaller files.")
        width = len(header)
        cells = (cells + [""] * width)[:width] if len(cells) < width else cells
        if any(cells[width:]):
            raise SpreadsheetRefused(f"Row {number} has more cells than the header has columns.")
        rows.append((number, [cell.strip() for cell in cells[:width]]))
    if header is None:
        raise SpreadsheetRefused("The sheet is empty: the first row should name the columns.")
    while header and not header[-1]:
        header.pop()  # empty trailing header cells (a sheet's used range can run wider)
        rows = [(number, cells[: len(header)]) for number, cells in rows]
    if not header:
        raise SpreadsheetRefused("The sheet has no header row naming the columns.")
    return Sheet(headers=header, rows=rows)


def _xlsx_rows(content: bytes):
    # openpyxl is imported on first use: it is slow to import, and only imports and exports need it.
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if sum(item.file_size for item in archive.infolist()) > MAX_UNZIPPED_BYTES:
                raise SpreadsheetRefused("The workbook is too large once unpacked.")
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    except SpreadsheetRefused:
        raise
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise SpreadsheetRefused("This file is not a spreadsheet we can read: save it as .xlsx or .csv.") from exc
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise SpreadsheetRefused("The workbook has no sheet.")
        for number, row in enumerate(sheet.iter_rows(), start=1):
            cells = []
            for cell in row:
                if cell.data_type == "f" or (isinstance(cell.value, str) and cell.value.startswith("=")):
                    where = getattr(cell, "coordinate", f"row {number}")
                    raise SpreadsheetRefused(
                        f"Cell {where} holds a formula. Paste values only (copy, then Paste Special → Values)."
                    )
                cells.append(cell_value_text(cell.value))
            yield number, cells
    except SpreadsheetRefused:
        raise
    except Exception as exc:  # openpyxl meets a malformed part inside a real zip
        raise SpreadsheetRefused("This workbook is damaged; save it again as .xlsx or .csv.") from exc
    finally:
        workbook.close()


def _csv_rows(content: bytes):
    if b"\x00" in content:
        raise SpreadsheetRefused("This file is not a spreadsheet we can read: save it as .xlsx or .csv.")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="replace")  # Excel's "CSV" on Windows
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max([",", ";", "\t"], key=first_line.count) if first_line else ","
    try:
        for number, cells in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
            for column, cell in enumerate(cells, start=1):
                if cell.startswith("="):  # a spreadsheet program would run it when opening the file
                    raise SpreadsheetRefused(
                        f"Row {number}, column {column} holds a formula ({cell[:30]}). Save values only."
                    )
            yield number, cells
    except csv.Error as exc:
        raise SpreadsheetRefused(f"The CSV file cannot be read: {exc}.") from exc


# Writing


@dataclass(frozen=True)
class Literal:
    """A text cell written exactly as it is (a password, say): stored as text, which no
    spreadsheet program runs, so it needs no apostrophe. XLSX only."""

    text: str


def inert(value: Any) -> Any:
    """A cell value that no spreadsheet program will run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def inert_dataset(dataset: tablib.Dataset) -> tablib.Dataset:
    safe = tablib.Dataset(headers=[inert(header) for header in dataset.headers or []], title=dataset.title)
    for row in dataset:
        safe.append([inert(value) for value in row])
    return safe


def workbook_bytes(sheets: dict[str, tuple[list[str], list[list[Any]]]]) -> bytes:
    """An .xlsx with one sheet per entry (title → headers, rows), every cell inert, headers bold."""
    from openpyxl import Workbook  # on first use, as in _xlsx_rows
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for title, (headers, rows) in sheets.items():
        sheet = book.create_sheet(title=title[:31])
        header_cells = []
        for header in headers:
            cell = WriteOnlyCell(sheet, value=inert(header))
            cell.font = bold
            header_cells.append(cell)
        sheet.append(header_cells)
        for row in rows:
            sheet.append([_literal_cell(sheet, value) if isinstance(value, Literal) else inert(value) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _literal_cell(sheet, value: Literal):
    from openpyxl.cell import WriteOnlyCell  # on first use, as in _xlsx_rows

    cell = WriteOnlyCell(sheet, value=value.text)
    cell.data_type = "s"  # text even when it starts with "=": never a formula
    return cell


class UploadStorage(CacheStorage):
    """Where the admin's two-step import keeps an upload between preview and confirm: in the
    cache (any server process can confirm), for an hour rather than a day: it may hold passwords."""

    CACHE_LIFETIME = 60 * 60


# django-import-export formats: the same reading and the same neutralising for the admin's
# import and export buttons (settings.IMPORT_EXPORT_FORMATS).


class SafeCSV(base_formats.CSV):
    def create_dataset(self, in_stream, **kwargs):
        content = in_stream.encode() if isinstance(in_stream, str) else in_stream
        return read_sheet(content, "upload.csv").as_dataset()

    def export_data(self, dataset, **kwargs):
        return super().export_data(inert_dataset(dataset), **kwargs)


class SafeXLSX(base_formats.XLSX):
    def create_dataset(self, in_stream, **kwargs):
        return read_sheet(in_stream, "upload.xlsx").as_dataset()

    def export_data(self, dataset, **kwargs):
        return super().export_data(inert_dataset(dataset), **kwargs)

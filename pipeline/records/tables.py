"""Read a collection export table (CSV, or XLSX through openpyxl, its one importer) into a header and numbered rows."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from pipeline.records import RecordsError

MAX_ROWS = 100_000  # a whole collection; more than any exhibit shows, and bounded memory for a hostile file


@dataclass(frozen=True)
class Table:
    """A table as its users see it in a spreadsheet: the header is row 1, the first record row 2."""

    name: str
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (spreadsheet row number, cells)


def read_table(path: Path) -> Table:
    """The table in a .csv (UTF-8, with or without BOM; comma, semicolon or tab separated) or .xlsx file."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return read_csv(path)
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(path)
    raise RecordsError([f"{path.name}: not a table vitrina can import (use .csv or .xlsx)"])


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        # Name the row with the first bad byte: usually the export was saved as Windows-1252 or GB18030.
        row = data[: error.start].count(b"\n") + 1
        bad = data[error.start: error.start + 1].hex()
        raise RecordsError([f"{path.name} row {row}: not UTF-8 (byte 0x{bad}); export the file as UTF-8 "
                            "(in Excel: Save As, \"CSV UTF-8\")"]) from None


def read_csv(path: Path) -> Table:
    text = _decode(path, path.read_bytes())
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    header: list[str] | None = None
    try:
        for number, cells in enumerate(reader, start=1):
            if header is None:
                header = [cell.strip() for cell in cells]
                continue
            if not any(cell.strip() for cell in cells):
                continue  # blank lines between records are common in hand-edited exports
            rows.append((number, cells))
            if len(rows) > MAX_ROWS:
                raise RecordsError([f"{path.name}: more than {MAX_ROWS} rows; import the collection in parts"])
    except csv.Error as error:
        raise RecordsError([f"{path.name} row {reader.line_num}: unreadable CSV ({error})"]) from None
    if header is None:
        raise RecordsError([f"{path.name}: the file is empty"])
    return Table(path.name, header, rows)


def read_xlsx(path: Path) -> Table:
    """The first worksheet of an .xlsx workbook; numbers and dates come back as the text the cell shows."""
    try:
        import openpyxl
    except ImportError:
        raise RecordsError([f"{path.name}: reading .xlsx needs openpyxl: pip install vitrina[xlsx] "
                            "(or export the sheet as CSV UTF-8)"]) from None
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises zipfile, KeyError and its own errors for a damaged file
        raise RecordsError([f"{path.name}: not a readable .xlsx workbook ({type(error).__name__})"]) from None
    try:
        sheet = workbook.worksheets[0]
        header: list[str] | None = None
        rows: list[tuple[int, list[str]]] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell_text(value) for value in values]
            if header is None:
                header = [cell.strip() for cell in cells]
                continue
            if any(cell.strip() for cell in cells):
                rows.append((number, cells))
                if len(rows) > MAX_ROWS:
                    raise RecordsError([f"{path.name}: more than {MAX_ROWS} rows; import the collection in parts"])
    finally:
        workbook.close()
    if header is None:
        raise RecordsError([f"{path.name}: the first worksheet is empty"])
    return Table(path.name, header, rows)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # an accession number typed as 1987 must not become "1987.0"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())[:10] if getattr(value, "hour", 0) == 0 else str(value.isoformat())
    return str(value)

"""Tables of a register as CSV or XLSX: one function from rows and column definitions.

A register's export is a list of :class:`Column` (a title in Chinese and English, and how to
read the cell from a row as the JSON list shows it) and an iterator of such rows. Then
:func:`csv_chunks` streams the CSV, and :func:`write_xlsx` writes the workbook to a file
(a ZIP cannot be sent before it is finished; openpyxl's write-only mode keeps only the row
being written in memory).

* Quantities: integers of grams, plus a tonnes column of exact decimal **text** made with
  integer arithmetic (``"2000.000000"``), never a float.
* Instants: ISO 8601 in UTC, as in the JSON (``2024-09-01T00:00:00Z``).
* Text that a spreadsheet would run as a formula (first character ``=``, ``+``, ``-``, ``@``,
  tab or carriage return: OWASP's CSV-injection advice) gets a leading apostrophe, in CSV
  and XLSX alike: beneficiaries, purposes and names are participants' text.
* CSV is UTF-8 **with a byte-order mark**: Excel reads a CSV without one in the system's
  ANSI code page, which turns Chinese into mojibake; with it, Excel, LibreOffice, pandas
  (``encoding="utf-8-sig"``) and Python's ``csv`` read it right.
* XLSX cells holding integers beyond 2**53 are written as text: Excel's numbers are doubles
  and would round them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from api.i18n import Language, Text

__all__ = [
    "CSV_MEDIA_TYPE",
    "XLSX_MEDIA_TYPE",
    "Cell",
    "Column",
    "csv_chunks",
    "grams_columns",
    "neutralise",
    "text_of",
    "tonnes_text",
    "value",
    "write_xlsx",
]

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
EXACT_IN_A_DOUBLE = 2**53
CHUNK_BYTES = 64 * 1024

Cell = str | int | bool | None
Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Column:
    """A column: its title in each language, and its cell of a row (the row as the JSON
    list shows it) in a language."""

    title: Text
    cell: Callable[[Row, Language], Cell]


def value(path: str) -> Callable[[Row, Language], Cell]:
    """The cell at ``path`` (``"holder.id"``) of a row; lists and objects as JSON text."""
    keys = path.split(".")

    def cell(row: Row, language: Language) -> Cell:
        found: Any = row
        for key in keys:
            found = None if found is None else found.get(key)
        if isinstance(found, (dict, list)):
            return json.dumps(found, ensure_ascii=False, sort_keys=True)
        return text_of(found) if isinstance(found, datetime) else found

    return cell


def tonnes_text(grams: int) -> str:
    """Exact tonnes of ``grams``: ``1_500_000`` -> ``"1.500000"`` (integer arithmetic)."""
    whole, rest = divmod(abs(grams), 1_000_000)
    return f"{'-' if grams < 0 else ''}{whole}.{rest:06d}"


def grams_columns(path: str, grams: Text, tonnes: Text) -> list[Column]:
    """The grams column of ``path`` and its exact tonnes column."""
    read = value(path)

    def in_tonnes(row: Row, language: Language) -> Cell:
        quantity = read(row, language)
        return None if quantity is None else tonnes_text(int(quantity))

    return [Column(grams, read), Column(tonnes, in_tonnes)]


def text_of(instant: datetime) -> str:
    """ISO 8601 in UTC, ``Z`` as in the JSON."""
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet shows it and never runs it (OWASP CSV injection)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cells(row: Row, columns: list[Column], language: Language) -> list[Cell]:
    cells = [column.cell(row, language) for column in columns]
    return [neutralise(cell) if isinstance(cell, str) else cell for cell in cells]


def _titles(columns: list[Column], language: Language) -> list[str]:
    return [column.title(language) for column in columns]


def csv_chunks(rows: Iterable[Row], columns: list[Column],
               language: Language) -> Iterator[bytes]:
    """The CSV of ``rows``: BOM and header first, then chunks of about 64 KiB."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180
    buffer.write(BOM)
    writer.writerow(_titles(columns, language))
    for row in rows:
        writer.writerow(["" if cell is None else cell for cell in _cells(row, columns, language)])
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _xlsx_cell(cell: Cell) -> Cell:
    if isinstance(cell, str):
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", cell)  # control characters: no XML
    if isinstance(cell, int) and not isinstance(cell, bool) and abs(cell) > EXACT_IN_A_DOUBLE:
        return str(cell)
    return cell


def write_xlsx(rows: Iterable[Row], columns: list[Column], language: Language,
               path: Path, sheet: str) -> None:
    """Write the workbook of ``rows`` (one sheet named ``sheet``, header first) to
    ``path``."""
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet[:31])
    worksheet.append(_titles(columns, language))
    for row in rows:
        worksheet.append([_xlsx_cell(cell) for cell in _cells(row, columns, language)])
    workbook.save(path)

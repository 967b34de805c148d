"""One tabular export path: a table (column names, rows) written as CSV with one spreadsheet guard.

Every CSV the product writes (reports, chart downloads, leaderboards, row errors) goes through ``csv_bytes``
or ``csv_chunks``, and every XLSX cell through ``cell_safe`` (reporting/reports/xlsx_export.py), so a name that
a spreadsheet would run as a formula is neutralized the same way everywhere (OWASP "CSV injection"):

- a text cell starting with ``=``, ``+``, ``-``, ``@``, tab, CR or LF gets a leading apostrophe, unless it is a
  plain number such as ``-12.5``; so does every line inside a cell that starts with one of them (a cell split
  at its line breaks by a careless reader must not run either);
- a field holding CR or LF is quoted (``csv`` only quotes characters of its line terminator, so rows end
  in CRLF, RFC 4180's own terminator);
- UTF-8 with a byte-order mark, so Excel reads accented and non-Latin names right.

Numbers stay numbers (``repr`` of a float, ``str`` of an int); ``None`` is an empty cell.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_LINE_START = re.compile(r"(\r\n|\r|\n)(?=[=+\-@\t])")
BOM = "\ufeff"


def cell_safe(value: object) -> object:
    """``value`` as a spreadsheet may hold it: text that would run as a formula gets a leading apostrophe."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.match(value):
        value = "'" + value
    return _LINE_START.sub(r"\1'", value)


def _cells(row: Sequence[object]) -> list[object]:
    return ["" if cell is None else cell_safe(cell) for cell in row]


def csv_chunks(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[bytes]:
    """The CSV as encoded blocks (BOM and header first), for streaming a long table."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(_cells(columns))
    for count, row in enumerate(rows, 1):
        writer.writerow(_cells(row))
        if count % 1000 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def csv_bytes(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """The whole CSV (UTF-8 with BOM, CRLF rows, every cell guarded)."""
    return b"".join(csv_chunks(columns, rows))


def frame_csv(frame: Any) -> bytes:  # Any: pandas is not imported, so that this module stays pure
    """A pandas DataFrame (a chart's or a leaderboard's data) as guarded CSV; NaN is an empty cell."""
    values = frame.astype(object).where(frame.notna(), None)
    return csv_bytes([str(column) for column in frame.columns], values.itertuples(index=False, name=None))

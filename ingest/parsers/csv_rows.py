"""Shared CSV reading for the inventory parsers: decoding, header checks and typed cell readers."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any, TypeVar

from emissions.text import yes_no
from ingest.records import ParsedRow, ParseError, RowIssue

T = TypeVar("T")

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class CellError(ValueError):
    """A cell that cannot be read; ``column`` names it for the row error."""

    def __init__(self, column: str, reason: str):
        super().__init__(reason)
        self.column = column
        self.reason = reason


def csv_dict_rows(content: bytes, *, required: list[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(row_number, row)`` with stripped cells; the header is row 1.

    Decodes UTF-8 (with or without BOM); header names are matched case-insensitively.
    Raises ParseError when the file cannot be decoded or lacks a required column.
    """
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"the file is not UTF-8 text (byte {exc.start}): save it as UTF-8 CSV") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise ParseError("the file is empty: expected a header row")
    columns = [name.strip().lower() for name in header]
    missing = [name for name in required if name not in columns]
    if missing:
        raise ParseError(f"missing column(s) {', '.join(missing)}{header_hint(columns)}")
    for row_number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        yield row_number, {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(columns)}


def header_hint(header: list[str]) -> str:
    """What a header that lacks required columns is, in one short clause (never the whole header back): a
    wide file named some other source's columns is almost always an upload under the wrong source."""
    shown = ", ".join(name for name in header[:3] if name) + (", …" if len(header) > 3 else "")
    return (
        f"; this file's {len(header)} column(s) start {shown or '(blank)'}: is it another kind of file? "
        "Choose its source, or let the upload form detect it"
    )


def csv_records(
    content: bytes, *, required: list[str], build: Callable[[dict[str, str]], Any]
) -> Iterator[ParsedRow | RowIssue]:
    """Yield ``ParsedRow(row_number, build(row))`` per row, or a RowIssue when ``build`` raises CellError."""
    for row_number, row in csv_dict_rows(content, required=required):
        try:
            record = build(row)
        except CellError as exc:
            yield row_issue(row_number, row, exc)
            continue
        yield ParsedRow(row_number=row_number, record=record)


def row_issue(row_number: int, row: dict[str, str], error: CellError) -> RowIssue:
    """The row error for a cell that could not be read, with the offending value."""
    return RowIssue(
        row_number=row_number,
        column=error.column,
        reason=f"{error.column} {error.reason}",
        raw=str(row),
        value=row.get(error.column, ""),
    )


def optional(reader: Callable[..., T], row: dict[str, str], column: str, **options) -> T | None:
    """``None`` for an empty (or absent) cell, else ``reader(row, column, **options)``."""
    if row.get(column, "") == "":
        return None
    return reader(row, column, **options)


def text_cell(row: dict[str, str], column: str, *, max_length: int | None = None) -> str:
    """A required non-empty text cell, at most ``max_length`` characters when given."""
    value = row.get(column, "")
    if not value:
        raise CellError(column, "is empty")
    if max_length is not None and len(value) > max_length:
        raise CellError(column, f"is {len(value)} characters long; the maximum is {max_length}")
    return value


def float_cell(
    row: dict[str, str], column: str, *, minimum: float | None = None, default: float | None = None
) -> float:
    """A number cell; empty cells take ``default`` or are an error."""
    value = row.get(column, "")
    if value == "":
        if default is None:
            raise CellError(column, "is empty")
        return default
    try:
        number = float(value)
    except ValueError as exc:
        raise CellError(column, f"{value!r} is not a number") from exc
    if number != number or number in (float("inf"), float("-inf")):
        raise CellError(column, f"{value!r} is not a finite number")
    if minimum is not None and number < minimum:
        raise CellError(column, f"{number:g} is below the minimum {minimum:g}")
    return number


def bool_cell(row: dict[str, str], column: str, *, default: bool) -> bool:
    """A yes/no cell: the yes/no words of emissions/text.py (true/false, yes/no, y/n, 1/0, on/off, in any
    case); empty takes ``default``."""
    value = row.get(column, "").lower()
    if value == "":
        return default
    flag = yes_no(value)
    if flag is None:
        raise CellError(column, f"{value!r} is not true/false")
    return flag


def choice_cell(row: dict[str, str], column: str, *, choices: list[str]) -> str:
    """A cell whose value must be one of ``choices`` (case-insensitive)."""
    value = text_cell(row, column).lower()
    if value not in choices:
        raise CellError(column, f"{value!r} is not one of {', '.join(choices)}")
    return value


def int_cell(row: dict[str, str], column: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """A required whole-number cell (``2024`` or ``2024.0``) within ``minimum``..``maximum`` when given."""
    value = text_cell(row, column)
    try:
        number = int(value)
    except ValueError:
        number = float_cell(row, column)
        if not number.is_integer():
            raise CellError(column, f"{value!r} is not a whole number") from None
        number = int(number)
    if minimum is not None and number < minimum:
        raise CellError(column, f"{number} is below the minimum {minimum}")
    if maximum is not None and number > maximum:
        raise CellError(column, f"{number} is above the maximum {maximum}")
    return number


def date_cell(row: dict[str, str], column: str) -> date:
    """A required calendar date written as ISO 8601 ``YYYY-MM-DD``."""
    value = text_cell(row, column)
    if not _ISO_DATE.fullmatch(value):
        raise CellError(column, f"{value!r} is not a date in the format YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CellError(column, f"{value!r} is not a valid date (YYYY-MM-DD): {exc}") from exc

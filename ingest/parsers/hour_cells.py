"""The hour cell of the hourly imports: an ISO 8601 instant on a whole hour, with its UTC offset."""

from __future__ import annotations

from datetime import UTC, datetime

from ingest.parsers.csv_rows import CellError, text_cell


def hour_cell(row: dict[str, str], column: str) -> datetime:
    """The start of an hour, ``2026-06-01T14:00:00Z`` or with an offset (``+02:00``), returned in UTC.

    A time without an offset is an error (a wall-clock hour is ambiguous at a DST change), as is one
    that is not on a whole hour."""
    value = text_cell(row, column)
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError as exc:
        raise CellError(column, f"{value!r} is not an ISO 8601 time such as 2026-06-01T14:00:00Z") from exc
    if moment.tzinfo is None:
        raise CellError(column, f"{value!r} has no UTC offset: write Z or +hh:mm")
    if moment.minute or moment.second or moment.microsecond:
        raise CellError(column, f"{value!r} is not the start of an hour")
    return moment.astimezone(UTC)

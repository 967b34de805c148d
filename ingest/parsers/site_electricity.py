"""The ``site_electricity`` inventory CSV: ``site,period_start,period_end,energy_kwh``.

See docs/import-formats.md. Pure: bytes in, parsed rows and row issues out.
"""

from __future__ import annotations

from collections.abc import Iterator

from emissions.records import MeterReadingRecord
from ingest.parsers.csv_rows import CellError, csv_records, date_cell, float_cell, text_cell
from ingest.records import ParsedRow, RowIssue

REQUIRED_COLUMNS = ["site", "period_start", "period_end", "energy_kwh"]


def parse(content: bytes) -> Iterator[ParsedRow | RowIssue]:
    """Yield one MeterReadingRecord per row, or a RowIssue naming the row, column and reason."""
    return csv_records(content, required=REQUIRED_COLUMNS, build=_record)


def _record(row: dict[str, str]) -> MeterReadingRecord:
    period_start = date_cell(row, "period_start")
    period_end = date_cell(row, "period_end")
    if period_end < period_start:
        raise CellError("period_end", f"{period_end} is before period_start {period_start}")
    return MeterReadingRecord(
        site=text_cell(row, "site", max_length=200),
        period_start=period_start,
        period_end=period_end,
        energy_kwh=float_cell(row, "energy_kwh", minimum=0.0),
    )

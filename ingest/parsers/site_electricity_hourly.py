"""The ``site_electricity_hourly`` CSV: ``site,hour_start,energy_kwh`` (facility kWh in the hour starting then).

See docs/import-formats.md. Pure: bytes in, parsed rows and row issues out.
"""

from __future__ import annotations

from collections.abc import Iterator

from emissions.hourly_records import HourlyMeterReadingRecord
from ingest.parsers.csv_rows import csv_records, float_cell, text_cell
from ingest.parsers.hour_cells import hour_cell
from ingest.records import ParsedRow, RowIssue

REQUIRED_COLUMNS = ["site", "hour_start", "energy_kwh"]


def parse(content: bytes) -> Iterator[ParsedRow | RowIssue]:
    """Yield one HourlyMeterReadingRecord per row, or a RowIssue naming the row, column and reason."""
    return csv_records(content, required=REQUIRED_COLUMNS, build=_record)


def _record(row: dict[str, str]) -> HourlyMeterReadingRecord:
    return HourlyMeterReadingRecord(
        site=text_cell(row, "site", max_length=200),
        hour_start=hour_cell(row, "hour_start"),
        energy_kwh=float_cell(row, "energy_kwh", minimum=0.0),
    )

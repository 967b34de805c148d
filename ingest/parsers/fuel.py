"""The ``fuel`` inventory CSV (Scope 1 stationary combustion): ``site,date,fuel,quantity,unit``.

See docs/import-formats.md. Pure: bytes in, parsed rows and row issues out; the fuel and unit are
matched against the fuel factors when loading.
"""

from __future__ import annotations

from collections.abc import Iterator

from emissions.records import FuelUseRecord
from ingest.parsers.csv_rows import csv_records, date_cell, float_cell, text_cell
from ingest.records import ParsedRow, RowIssue

REQUIRED_COLUMNS = ["site", "date", "fuel", "quantity", "unit"]


def parse(content: bytes) -> Iterator[ParsedRow | RowIssue]:
    """Yield one FuelUseRecord per row, or a RowIssue naming the row, column and reason."""
    return csv_records(content, required=REQUIRED_COLUMNS, build=_record)


def _record(row: dict[str, str]) -> FuelUseRecord:
    return FuelUseRecord(
        site=text_cell(row, "site", max_length=200),
        used_on=date_cell(row, "date"),
        fuel=text_cell(row, "fuel", max_length=100),
        quantity=float_cell(row, "quantity", minimum=0.0),
        unit=text_cell(row, "unit", max_length=30),
    )

"""The ``carbon_credits`` inventory CSV (ESRS E1-7): ``credit_id,cancelled_on,tonnes_co2e,kind`` [``standard``,
``project``].

See docs/import-formats.md. Pure: bytes in, parsed rows and row issues out.
"""

from __future__ import annotations

from collections.abc import Iterator

from emissions.records import CarbonCreditRecord
from ingest.parsers.csv_rows import CellError, choice_cell, csv_records, date_cell, float_cell, optional, text_cell
from ingest.records import ParsedRow, RowIssue

REQUIRED_COLUMNS = ["credit_id", "cancelled_on", "tonnes_co2e", "kind"]
# ESRS E1-7 reports removals and emission reductions separately.
CREDIT_KINDS = ["removal", "reduction"]


def parse(content: bytes) -> Iterator[ParsedRow | RowIssue]:
    """Yield one CarbonCreditRecord per row, or a RowIssue naming the row, column and reason."""
    return csv_records(content, required=REQUIRED_COLUMNS, build=_record)


def _record(row: dict[str, str]) -> CarbonCreditRecord:
    credit_id = text_cell(row, "credit_id", max_length=100)
    cancelled_on = date_cell(row, "cancelled_on")
    tonnes_co2e = float_cell(row, "tonnes_co2e", minimum=0.0)
    if tonnes_co2e == 0:
        raise CellError("tonnes_co2e", "must be greater than 0")
    return CarbonCreditRecord(
        credit_id=credit_id,
        cancelled_on=cancelled_on,
        tonnes_co2e=tonnes_co2e,
        kind=choice_cell(row, "kind", choices=CREDIT_KINDS),
        standard=optional(text_cell, row, "standard", max_length=100) or "",
        project=optional(text_cell, row, "project", max_length=300) or "",
    )

"""The ``grid_factors`` inventory CSV: ``zone,year,kind,intensity_g_per_kwh,source`` [``month``, ``licence``].

See docs/import-formats.md. Pure: bytes in, parsed rows and row issues out.
"""

from __future__ import annotations

from collections.abc import Iterator

from emissions.choices import FactorKind
from emissions.records import GridFactorRecord
from ingest.parsers.csv_rows import choice_cell, csv_records, float_cell, int_cell, optional, text_cell
from ingest.records import ParsedRow, RowIssue

REQUIRED_COLUMNS = ["zone", "year", "kind", "intensity_g_per_kwh", "source"]
FIRST_YEAR, LAST_YEAR = 1990, 2100
LICENCE_NOT_STATED = "not stated"


def parse(content: bytes) -> Iterator[ParsedRow | RowIssue]:
    """Yield one GridFactorRecord per row, or a RowIssue naming the row, column and reason."""
    return csv_records(content, required=REQUIRED_COLUMNS, build=_record)


def _record(row: dict[str, str]) -> GridFactorRecord:
    return GridFactorRecord(
        zone_code=text_cell(row, "zone", max_length=16).upper(),
        year=int_cell(row, "year", minimum=FIRST_YEAR, maximum=LAST_YEAR),
        month=optional(int_cell, row, "month", minimum=1, maximum=12),
        kind=choice_cell(row, "kind", choices=list(FactorKind.values)),
        intensity_g_per_kwh=float_cell(row, "intensity_g_per_kwh", minimum=0.0),
        source=text_cell(row, "source"),
        licence=optional(text_cell, row, "licence", max_length=300) or LICENCE_NOT_STATED,
    )

"""The ``disposal_factors`` inventory CSV (Scope 3 Cat 5): ``asset_class,disposal_route,kg_co2e_per_unit,source``.

See docs/import-formats.md. Pure: bytes in, parsed rows and row issues out.
"""

from __future__ import annotations

from collections.abc import Iterator

from emissions.choices import AssetClass, DisposalRoute
from emissions.records import DisposalFactorRecord
from ingest.parsers.csv_rows import choice_cell, csv_records, float_cell, text_cell
from ingest.records import ParsedRow, RowIssue

REQUIRED_COLUMNS = ["asset_class", "disposal_route", "kg_co2e_per_unit", "source"]


def parse(content: bytes) -> Iterator[ParsedRow | RowIssue]:
    """Yield one DisposalFactorRecord per row, or a RowIssue naming the row, column and reason."""
    return csv_records(content, required=REQUIRED_COLUMNS, build=_record)


def _record(row: dict[str, str]) -> DisposalFactorRecord:
    return DisposalFactorRecord(
        asset_class=choice_cell(row, "asset_class", choices=list(AssetClass.values)),
        disposal_route=choice_cell(row, "disposal_route", choices=list(DisposalRoute.values)),
        kg_co2e_per_unit=float_cell(row, "kg_co2e_per_unit", minimum=0.0),
        source=text_cell(row, "source"),
    )

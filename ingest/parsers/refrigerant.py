"""The ``refrigerant`` inventory CSV (Scope 1 fugitive): ``site,date,gas,kg_leaked``.

See docs/import-formats.md. Pure: bytes in, parsed rows and row issues out; the gas is matched
against the global warming potentials when loading.
"""

from __future__ import annotations

from collections.abc import Iterator

from emissions.records import RefrigerantLossRecord
from ingest.parsers.csv_rows import csv_records, date_cell, float_cell, text_cell
from ingest.records import ParsedRow, RowIssue

REQUIRED_COLUMNS = ["site", "date", "gas", "kg_leaked"]


def parse(content: bytes) -> Iterator[ParsedRow | RowIssue]:
    """Yield one RefrigerantLossRecord per row, or a RowIssue naming the row, column and reason."""
    return csv_records(content, required=REQUIRED_COLUMNS, build=_record)


def _record(row: dict[str, str]) -> RefrigerantLossRecord:
    return RefrigerantLossRecord(
        site=text_cell(row, "site", max_length=200),
        occurred_on=date_cell(row, "date"),
        gas=text_cell(row, "gas", max_length=50),
        kg_leaked=float_cell(row, "kg_leaked", minimum=0.0),
    )

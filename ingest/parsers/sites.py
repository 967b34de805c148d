"""The ``sites`` inventory CSV: ``site,ownership,grid_zone,pue,wue_l_per_kwh,buys_electricity``.

See docs/import-formats.md. Pure: bytes in, parsed rows and row issues out.
"""

from __future__ import annotations

from collections.abc import Iterator

from emissions.choices import SiteOwnership
from emissions.records import SiteRecord
from ingest.parsers.csv_rows import CellError, bool_cell, choice_cell, csv_dict_rows, float_cell, row_issue, text_cell
from ingest.records import ParsedRow, RowIssue

REQUIRED_COLUMNS = ["site", "ownership", "grid_zone", "pue"]


def parse(content: bytes) -> Iterator[ParsedRow | RowIssue]:
    """Yield one SiteRecord per row, or a RowIssue naming the row, column and reason."""
    for row_number, row in csv_dict_rows(content, required=REQUIRED_COLUMNS):
        try:
            record = SiteRecord(
                name=text_cell(row, "site"),
                ownership=choice_cell(row, "ownership", choices=list(SiteOwnership.values)),
                grid_zone_code=text_cell(row, "grid_zone").upper(),
                pue=float_cell(row, "pue", minimum=1.0),
                wue_l_per_kwh=float_cell(row, "wue_l_per_kwh", minimum=0.0, default=0.0),
                buys_electricity=bool_cell(row, "buys_electricity", default=True),
            )
        except CellError as exc:
            yield row_issue(row_number, row, exc)
            continue
        yield ParsedRow(row_number=row_number, record=record)

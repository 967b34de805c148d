"""CSV: one table of every datapoint, the management sheet, the hourly Scope 2 section (supplementary), the
appendix and the restatements."""

from __future__ import annotations

from emissions.tables import csv_bytes
from reporting.reports.datapoints import COLUMNS, ReportContent
from reporting.reports.tabular import appendix_rows, datapoint_cells, hourly_scope2_rows, meta_rows


def report_csv(content: ReportContent) -> bytes:
    """UTF-8 CSV (with BOM) and a header row, through the one guarded CSV writer (emissions/tables.py)."""
    rows = [
        *meta_rows(content),
        *(datapoint_cells(row, as_text=True) for row in [*content.datapoints, *content.management]),
        *hourly_scope2_rows(content),
        *appendix_rows(content),
    ]
    return csv_bytes(COLUMNS, rows)

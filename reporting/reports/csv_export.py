"""CSV: one table of every datapoint, the management sheet, the appendix and the restatements."""

from __future__ import annotations

import csv
import io

from reporting.reports.datapoints import COLUMNS, ReportContent
from reporting.reports.safety import cell_neutralize
from reporting.reports.tabular import appendix_rows, datapoint_cells, meta_rows


def report_csv(content: ReportContent) -> bytes:
    """UTF-8 CSV with a header row; text cells that a spreadsheet would evaluate are neutralized."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    rows = [
        *meta_rows(content),
        *(datapoint_cells(row, as_text=True) for row in [*content.datapoints, *content.management]),
        *appendix_rows(content),
    ]
    for row in rows:
        writer.writerow([cell_neutralize(cell) for cell in row])
    return buffer.getvalue().encode("utf-8")

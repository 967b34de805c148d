"""The ``grid_intensity_hourly`` CSV: an organization's own hourly grid intensity per zone,
``zone,hour_start,intensity_g_per_kwh`` and optional ``residual_g_per_kwh``, ``carbon_free_share_pct``.

See docs/import-formats.md. Pure: bytes in, parsed rows and row issues out.
"""

from __future__ import annotations

from collections.abc import Iterator

from emissions.hourly_records import GridIntensityHourlyRecord
from ingest.parsers.csv_rows import CellError, csv_records, float_cell, optional, text_cell
from ingest.parsers.hour_cells import hour_cell
from ingest.records import ParsedRow, RowIssue

REQUIRED_COLUMNS = ["zone", "hour_start", "intensity_g_per_kwh"]
MAX_SHARE_PCT = 100.0


def parse(content: bytes) -> Iterator[ParsedRow | RowIssue]:
    """Yield one GridIntensityHourlyRecord per row, or a RowIssue naming the row, column and reason."""
    return csv_records(content, required=REQUIRED_COLUMNS, build=_record)


def _record(row: dict[str, str]) -> GridIntensityHourlyRecord:
    share = optional(float_cell, row, "carbon_free_share_pct", minimum=0.0)
    if share is not None and share > MAX_SHARE_PCT:
        raise CellError("carbon_free_share_pct", f"{share:g} is above 100: write the share in percent, 0–100")
    return GridIntensityHourlyRecord(
        zone_code=text_cell(row, "zone", max_length=16).upper(),
        hour_start=hour_cell(row, "hour_start"),
        intensity_g_per_kwh=float_cell(row, "intensity_g_per_kwh", minimum=0.0),
        residual_g_per_kwh=optional(float_cell, row, "residual_g_per_kwh", minimum=0.0),
        carbon_free_share_pct=share,
    )
